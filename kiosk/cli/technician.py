"""``adm-kiosk technician|operator add|list|remove|passwd|unlock``: staff accounts on this kiosk.

A technician enters maintenance mode; an operator signs in on the citizen screens to help one
citizen (assisted mode) and never enters maintenance (kiosk/staff/technicians.py ``ROLES``).

The password is read from a prompt (typed twice, not echoed) or, with ``--password-stdin``,
from the first line of standard input (for provisioning scripts); it is hashed with
argon2id and never stored, printed or logged in clear.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time

from kiosk.config import load
from kiosk.journal.store import Store
from kiosk.staff.technicians import AccountError, TechnicianAccounts


def _accounts(args: argparse.Namespace) -> TechnicianAccounts:
    cfg = load(args.config)
    return TechnicianAccounts(Store(cfg.data_dir / "journal.sqlite3"))


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password (typed on the kiosk's on-screen keyboard later): ")
    if getpass.getpass("Again: ") != first:
        raise AccountError("the two passwords differ")
    return first


def cmd_add(args: argparse.Namespace) -> int:
    acc = _accounts(args)
    try:
        tid = acc.add(args.id, _password(args), args.name or "", role=args.role)
    except AccountError as exc:
        print(f"not added: {exc}", file=sys.stderr)
        return 2
    finally:
        acc.store.close()
    print(f"{args.role} {tid} added")
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    acc = _accounts(args)
    try:
        acc.set_password(args.id, _password(args))
    except AccountError as exc:
        print(f"not changed: {exc}", file=sys.stderr)
        return 2
    finally:
        acc.store.close()
    print("password changed")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    acc = _accounts(args)
    try:
        techs = [t for t in acc.list() if t.role == args.role]
    finally:
        acc.store.close()
    for t in techs:
        last = time.strftime("%Y-%m-%d %H:%M", time.localtime(t.last_login_at)) if t.last_login_at else "never"
        print(f"{t.id:20} last login {last:16} {t.name}")
    if not techs:
        print(f"no {args.role}s: add one with `adm-kiosk {args.role} add ID`")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    acc = _accounts(args)
    try:
        acc.remove(args.id)
    except AccountError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    finally:
        acc.store.close()
    print("removed")
    return 0


def cmd_unlock(args: argparse.Namespace) -> int:
    acc = _accounts(args)
    try:
        acc.unlock(args.id)
    finally:
        acc.store.close()
    print("login lockout lifted")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    for role, helptext_role, example in (("technician", "technician accounts for maintenance mode", "T-BOGOR-01"),
                                         ("operator", "operator accounts for assisted mode (helping a citizen)",
                                          "OP-BOGOR-01")):
        parser = sub.add_parser(role, help=helptext_role)
        rsub = parser.add_subparsers(dest=f"{role}_command", required=True)
        for name, func, helptext in (("add", cmd_add, "create an account (password from a prompt or stdin)"),
                                     ("passwd", cmd_passwd, "set a new password"),
                                     ("remove", cmd_remove, "delete an account"),
                                     ("unlock", cmd_unlock, "lift a login lockout"),
                                     ("list", cmd_list, "list accounts")):
            sp = rsub.add_parser(name, help=helptext)
            sp.add_argument("--config", help="TOML settings file (the journal lives in its kiosk.data_dir)")
            if name != "list":
                sp.add_argument("id", help=f"{role} ID, e.g. {example}")
            if name in ("add", "passwd"):
                sp.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
            if name == "add":
                sp.add_argument("--name", help=f"the {role}'s name, shown in the account list and the audit")
            sp.set_defaults(func=func, role=role)
