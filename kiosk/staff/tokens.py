"""Bearer tokens for the remote-status API: created by a technician, stored hashed, revocable.

A token is 32 random bytes made at run time (``adm-kiosk token create NAME``) and shown once;
the journal keeps only its SHA-256. A fast hash is enough here (unlike a PIN or password):
the token has 256 bits of entropy, so nobody can guess it back from the hash, and every
status request and Prometheus scrape can check it in microseconds.

Each token has a scope: ``read`` (status, events, metrics) or ``operate`` (also the
commands: service mode, diagnostics, lifting a kiosk-wide lockout, settings). Tokens made
before scopes existed are ``read``, so upgrading a kiosk never widens what a token can do.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from drivers.base import AdmError
from kiosk.journal.store import Store

TOKEN_PREFIX = "adm_"
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
TOKEN_RE = re.compile(TOKEN_PREFIX + r"[A-Za-z0-9_-]{43,120}")
SCOPES = ("read", "operate")
LAST_USED_RESOLUTION_S = 60.0  # a scrape every 15 s must not cost a journal write (fsync) each


class TokenError(AdmError, ValueError):
    """A token command cannot be done (bad or duplicate name, unknown token)."""

    code = "token-refused"


@dataclass(frozen=True)
class Caller:
    """Who sent a status request: the token's name (audited, never the secret) and its scope."""

    name: str
    scope: str

    @property
    def may_operate(self) -> bool:
        return self.scope == "operate"


@dataclass(frozen=True)
class TokenInfo:
    name: str
    prefix: str  # the first characters, so a technician can tell tokens apart without the secret
    created_at: float
    revoked_at: float | None
    last_used_at: float | None
    scope: str

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class Tokens:
    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, name: str, actor: str = "technician", token: str | None = None, scope: str = "read") -> str:
        """A new token for ``name`` (a revoked name may be reused); returns the secret, shown once.

        ``token`` installs a secret made elsewhere instead of a fresh one: Prometheus sends
        one token per scrape job, so a regency's kiosks must all accept the same one.
        """
        if not NAME_RE.fullmatch(name):
            raise TokenError("a token name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
        if scope not in SCOPES:
            raise TokenError(f"a token's scope is one of {', '.join(SCOPES)}")
        if token is not None and not TOKEN_RE.fullmatch(token):
            raise TokenError(f"a token is '{TOKEN_PREFIX}' and at least 43 URL-safe characters (from 'token create')")
        token = token or TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.store.tx() as db:
            row = db.execute("SELECT revoked_at FROM api_tokens WHERE name=?", (name,)).fetchone()
            if row is not None and row[0] is None:
                raise TokenError(f"a token named {name!r} exists; revoke it first")
            db.execute("DELETE FROM api_tokens WHERE name=?", (name,))
            db.execute("INSERT INTO api_tokens(name, token_hash, prefix, created_at, scope) VALUES (?,?,?,?,?)",
                       (name, _digest(token), token[:len(TOKEN_PREFIX) + 4], time.time(), scope))
            self.store.audit("security", "token-created", actor=actor, db=db, name=name, scope=scope)
        return token

    def revoke(self, name: str, actor: str = "technician") -> None:
        with self.store.tx() as db:
            cur = db.execute("UPDATE api_tokens SET revoked_at=? WHERE name=? AND revoked_at IS NULL", (time.time(), name))
            if not cur.rowcount:
                raise TokenError(f"no active token named {name!r}")
            self.store.audit("security", "token-revoked", actor=actor, db=db, name=name)

    def list(self) -> list[TokenInfo]:
        return [TokenInfo(*row) for row in self.store.query(
            "SELECT name, prefix, created_at, revoked_at, last_used_at, scope FROM api_tokens ORDER BY name")]

    def verify(self, token: str) -> Caller | None:
        """The token's name and scope when it is known and not revoked, else None."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
            return None
        digest = _digest(token)
        row = self.store.query_one("SELECT name, token_hash, revoked_at, last_used_at, scope FROM api_tokens "
                                   "WHERE token_hash=?",
                                   (digest,))
        if row is None or row[2] is not None or not hmac.compare_digest(row[1], digest):
            return None
        now = time.time()
        if row[3] is None or now - row[3] > LAST_USED_RESOLUTION_S:
            with self.store.tx() as db:
                db.execute("UPDATE api_tokens SET last_used_at=? WHERE name=?", (now, row[0]))
        return Caller(str(row[0]), str(row[4]))
