"""The studio's token: every `/studio/api/*` call carries `Authorization: Bearer TOKEN` (reading too).

Reading needs it as much as saving: the policy texts, the tests and the
registers may be confidential, and an answer to `/check` or `/decide`
quotes them. The token is compared in constant time (the sha256 of each,
`secrets.compare_digest`), so an answer's time does not say how close a
guess came. A missing or wrong token is 401 with `WWW-Authenticate: Bearer`.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .errors import StudioError

_bearer = HTTPBearer(auto_error=False, description="the studio's token (PDP_STUDIO_TOKEN, or the one `pdp studio` "
                                                   "printed in its URL)")


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def require_token(request: Request,
                  credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
    """Refuse (401) a call without the studio's token."""
    expected = request.app.state.settings.studio_token
    given = credentials.credentials if credentials is not None else None
    if expected is None or given is None or not secrets.compare_digest(_digest(given),
                                                                       _digest(expected.get_secret_value())):
        message = ("the studio's token is required: send `Authorization: Bearer TOKEN`" if given is None
                   else "the studio's token is wrong")
        raise StudioError(401, "unauthorized", [{"field": "authorization", "message": message}],
                          headers={"WWW-Authenticate": "Bearer"})
