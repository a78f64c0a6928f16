"""``adm-kiosk token create|list|revoke``: bearer tokens for the remote-status API.

Works on the kiosk's journal directly (no devices are started), so a technician can issue
or revoke a token while the kiosk runs; SQLite's WAL lets both processes share the file.
The secret is printed once, on standard output only, and never logged.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from kiosk.config import load
from kiosk.journal.store import Store
from kiosk.staff.tokens import SCOPES, TokenError, Tokens


def _tokens(args: argparse.Namespace) -> tuple[Store, Tokens]:
    cfg = load(args.config, overrides={"sim.mode": "inprocess"} if args.sim else None)
    store = Store(cfg.data_dir / "journal.sqlite3")
    return store, Tokens(store)


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "-"


def cmd_create(args: argparse.Namespace) -> int:
    given = sys.stdin.readline().strip() if args.stdin else None
    store, tokens = _tokens(args)
    try:
        secret = tokens.create(args.name, token=given, scope=args.scope)
    except TokenError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    finally:
        store.close()
    if given:
        print(f"token {args.name!r} installed ({args.scope})", file=sys.stderr)
        return 0
    print(secret)
    print(f"token {args.name!r} created ({args.scope}); it is shown only this once. Use it as 'Authorization: Bearer <token>'.",
          file=sys.stderr)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    store, tokens = _tokens(args)
    try:
        rows = tokens.list()
    finally:
        store.close()
    if args.json:
        out: list[dict[str, Any]] = [{"name": t.name, "prefix": t.prefix, "created_at": t.created_at,
                                      "revoked_at": t.revoked_at, "last_used_at": t.last_used_at, "scope": t.scope}
                                     for t in rows]
        print(json.dumps(out, indent=2))
        return 0
    print(f"{'NAME':24} {'SCOPE':8} {'PREFIX':10} {'CREATED':17} {'LAST USED':17} STATE")
    for t in rows:
        state = "active" if t.active else f"revoked {_when(t.revoked_at)}"
        print(f"{t.name:24} {t.scope:8} {t.prefix:10} {_when(t.created_at):17} {_when(t.last_used_at):17} {state}")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    store, tokens = _tokens(args)
    try:
        tokens.revoke(args.name)
    except TokenError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    finally:
        store.close()
    print(f"token {args.name!r} revoked")
    return 0


def register(subparsers: Any) -> None:
    tok = subparsers.add_parser("token", help="bearer tokens for the remote-status API and /metrics")
    sub = tok.add_subparsers(dest="token_command", required=True)
    for name, func, help_text in (("create", cmd_create, "create a token and print it once"),
                                  ("list", cmd_list, "list tokens (names, prefixes, last use; never secrets)"),
                                  ("revoke", cmd_revoke, "revoke a token at once")):
        sp = sub.add_parser(name, help=help_text)
        sp.add_argument("--config", help="TOML settings file (ADM_* environment variables override it)")
        sp.add_argument("--sim", action="store_true", help="the simulated kiosk's journal (as 'adm-kiosk run --sim')")
        if name != "list":
            sp.add_argument("name", metavar="NAME", help="who holds the token, e.g. prometheus-kab-bogor")
        if name == "create":
            sp.add_argument("--stdin", action="store_true",
                            help="install a token read from standard input (the same Prometheus token on every kiosk)")
            sp.add_argument("--scope", choices=SCOPES, default="read",
                            help="read: status, events, metrics; operate: also the commands (mode, diagnostics, ...)")
        else:
            sp.add_argument("--json", action="store_true")
        sp.set_defaults(func=func)
