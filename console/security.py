"""The console's access rules, pure: which scope each action needs, the CSRF token bound to the
session cookie, the cookie's attributes.

Least privilege: ``ops:read`` views, ``ops:halt`` halts and resumes, ``sim:control`` drives the
simulators. No scope implies another (not even the API's ``ops``).

CSRF: a state-changing form carries ``csrf = HMAC-SHA256(key=session token, "console-csrf")``.
A cross-site page can neither read the HttpOnly cookie nor this value, and the server needs no
store to check it (any console process can). Requests authenticated with an ``Authorization``
header need no CSRF token: a browser never attaches that header on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import StrEnum

from gateway.auth import Principal

SESSION_COOKIE = "og_console"
LOGIN_COOKIE = "og_console_login"  # double-submit value of the login form (before a session)
CSRF_FIELD = "csrf"
SESSION_MAX_AGE = 8 * 3600  # a shift; the token's own expiry still applies


class Scope(StrEnum):
    read = "ops:read"  # every page
    halt = "ops:halt"  # POST /halt, POST /resume
    sim = "sim:control"  # POST /simulators/...


class Forbidden(Exception):
    """The caller lacks the scope an action needs (403)."""

    def __init__(self, scope: Scope) -> None:
        super().__init__(f"this needs the {scope.value} scope")
        self.scope = scope


def require(principal: Principal, scope: Scope) -> None:
    """Exact scope match: nothing implies anything else."""
    if not principal.has_scope(scope.value):
        raise Forbidden(scope)


def csrf_token(session_token: str) -> str:
    """The CSRF value of forms shown to the holder of ``session_token``."""
    return hmac.new(session_token.encode(), b"ordergate-console-csrf", hashlib.sha256).hexdigest()


def csrf_ok(session_token: str, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(csrf_token(session_token), str(submitted))


def login_nonce() -> str:
    return secrets.token_urlsafe(24)


def cookie_attributes(secure: bool, max_age: int = SESSION_MAX_AGE) -> dict[str, object]:
    """HttpOnly (no script reads it), SameSite=Strict (no cross-site request carries it), Secure
    when served over HTTPS, scoped to the whole console."""
    return {
        "httponly": True,
        "samesite": "strict",
        "secure": secure,
        "max_age": max_age,
        "path": "/",
    }
