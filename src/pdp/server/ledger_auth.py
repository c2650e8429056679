"""Who may use the consent ledger's endpoints: service tokens with a scope, apart from the admin token.

A `write` token records events; a `read` token reads a subject's state,
history and export and verifies that subject's chain; verifying every
subject's chain at once, and erasing a subject, take the admin token. A
token is given only the scopes it is listed under: one that may read and
write is listed under both. The admin token is not a ledger token:
on a read or write endpoint it is a token of the wrong scope (403), so that
the one secret that can also read and erase the decision log is not handed
to every service that records a consent.

Fail closed: with no ledger token configured, the read and write endpoints
refuse everyone (401, saying how to configure them), unless the server was
started with `--ledger-open` (local development only). Tokens are compared
in constant time: each configured token's sha256 with the given one's, all
of them every time, so neither the answer's time nor its path says which
token came close.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .errors import ApiError

READ, WRITE, ADMIN = "read", "write", "admin"
LEDGER_SCOPES = (READ, WRITE)
MIN_TOKEN_CHARS = 16
MAX_TOKENS_FILE_BYTES = 1_000_000
HOW_TO_CONFIGURE = ("set PDP_LEDGER_WRITE_TOKENS and PDP_LEDGER_READ_TOKENS (or PDP_LEDGER_TOKENS_FILE) and send "
                    "one as `Authorization: Bearer TOKEN`; docs/service.md, \"The ledger's tokens\"")
_VERBS = {READ: "read the ledger", WRITE: "record events", ADMIN: "erase a subject"}


def read_tokens_file(path: Path) -> dict[str, list[str]]:
    """The tokens of a tokens file, by scope: one token a line, `SCOPES TOKEN` (`read`, `write` or `read,write`);
    blank lines and lines starting with `#` are left out. ValueError names the line of a problem."""
    try:
        with path.open(encoding="utf-8") as handle:
            text = handle.read(MAX_TOKENS_FILE_BYTES + 1)
    except OSError as error:
        raise ValueError(f"cannot read `{path}`: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"`{path}` is not UTF-8 text") from None
    if len(text) > MAX_TOKENS_FILE_BYTES:
        raise ValueError(f"`{path}` is larger than {MAX_TOKENS_FILE_BYTES} bytes")
    found: dict[str, list[str]] = {scope: [] for scope in LEDGER_SCOPES}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        scopes = parts[0].split(",") if parts else []
        if len(parts) != 2 or not scopes or any(scope not in LEDGER_SCOPES for scope in scopes):
            # the line is not quoted: it may hold a token
            raise ValueError(f"`{path}` line {number}: expected `SCOPES TOKEN`, SCOPES being `read`, `write` or "
                             "`read,write`")
        for scope in scopes:
            found[scope].append(parts[1])
    return found


def token_problem(token: str) -> str | None:
    """Why `token` cannot be a token (too short), or None."""
    if len(token) < MIN_TOKEN_CHARS:
        return (f"a token must be at least {MIN_TOKEN_CHARS} characters (32 random ones recommended, e.g. "
                "`openssl rand -hex 32`)")
    return None


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class LedgerTokens:
    """The configured tokens, by scope, kept as digests; `open`: reads and writes need no token."""

    def __init__(self, by_scope: dict[str, Iterable[str]], *, admin: str | None = None, open: bool = False):
        self.open = open
        self._known = [(_digest(token), scope) for scope, tokens in by_scope.items() for token in tokens]
        if admin is not None:
            self._known.append((_digest(admin), ADMIN))
        self.configured = {scope for _, scope in self._known}

    @classmethod
    def of(cls, settings) -> LedgerTokens:
        admin = settings.admin_token.get_secret_value() if settings.admin_token is not None else None
        return cls({READ: [t.get_secret_value() for t in settings.ledger_read_tokens],
                    WRITE: [t.get_secret_value() for t in settings.ledger_write_tokens]},
                   admin=admin, open=settings.ledger_open)

    def scopes_of(self, token: str) -> set[str]:
        """The scopes `token` was given (empty: it is no token of this server). Every configured token is
        compared, whatever matched before."""
        given = _digest(token)
        scopes = set()
        for digest, scope in self._known:
            if secrets.compare_digest(digest, given):
                scopes.add(scope)
        return scopes

    def check(self, scope: str, token: str | None, doing: str | None = None) -> None:
        """Nothing when `token` may act in `scope`; ApiError 401 (no token, none configured, an unknown
        token) or 403 (a token of this server without that scope) otherwise. `doing`: what the endpoint does, as
        the message says it (default: the scope's own verb)."""
        doing = doing or _VERBS[scope]
        if self.open and scope in LEDGER_SCOPES:
            return
        if scope not in self.configured:
            if scope == ADMIN:
                raise _unauthorized(f"to {doing} needs the admin token (PDP_ADMIN_TOKEN), and none is configured")
            raise _unauthorized(f"to {doing} needs a ledger service token with the `{scope}` scope, and "
                                f"none is configured: {HOW_TO_CONFIGURE}")
        if token is None:
            raise _unauthorized(f"to {doing} needs a bearer token with the `{scope}` scope")
        scopes = self.scopes_of(token)
        if not scopes:
            raise _unauthorized("the bearer token is not one this server knows")
        if scope not in scopes:
            raise ApiError(403, "forbidden", [{"field": "authorization", "message": f"this token may not "
                           f"{doing}: that needs the `{scope}` scope (the token has "
                           f"{', '.join(f'`{s}`' for s in sorted(scopes))})"}])

    def check_either(self, scopes: tuple[str, ...], token: str | None) -> None:
        """Nothing when `token` may act in one of `scopes` (an endpoint whose body says which it needs checks that
        one once the body is read); else the first scope's refusal. So a caller without a token of either is
        refused before the body is read."""
        refusals = []
        for scope in scopes:
            try:
                return self.check(scope, token)
            except ApiError as refusal:
                refusals.append(refusal)
        raise refusals[0]


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", [{"field": "authorization", "message": message}],
                    headers={"WWW-Authenticate": "Bearer"})


bearer = HTTPBearer(auto_error=False)


def require(scope: str, *others: str) -> Callable[..., None]:
    """A FastAPI dependency: the request's bearer token may act in `scope` (or in one of `others`: see
    `LedgerTokens.check` and `check_either`)."""

    def check(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
        request.app.state.ledger_tokens.check_either((scope, *others), bearer_of(credentials))

    return check


def bearer_of(credentials: HTTPAuthorizationCredentials | None) -> str | None:
    return credentials.credentials if credentials else None


__all__ = ["ADMIN", "LEDGER_SCOPES", "LedgerTokens", "READ", "WRITE", "bearer", "bearer_of", "read_tokens_file", "require",
           "token_problem"]
