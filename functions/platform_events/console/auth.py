"""The console's sign-in: a session cookie derived from the bearer token, and CSRF tokens.

Pure functions over the token and the clock. The session value is ``<expires>.<HMAC-SHA256(token,
"session|<expires>")>``: nothing is stored server-side, rotating LOCAL_AUTH_TOKEN signs everyone
out, and the token itself never leaves the sign-in form's POST body (never a URL, never a cookie).
Sign-in is CSRF-safe by a double-submit nonce (a SameSite=Strict cookie that must equal the form's
hidden field) plus the Origin check; sign-out's CSRF token is an HMAC of the session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SESSION_COOKIE = "pe_console"
LOGIN_COOKIE = "pe_console_login"
SESSION_SECONDS = 12 * 3600
LOGIN_SECONDS = 600


def _sign(token: str, message: str) -> str:
    return hmac.new(token.encode(), message.encode(), hashlib.sha256).hexdigest()


def new_session(token: str, now: float) -> str:
    """A session cookie value valid for SESSION_SECONDS from ``now``."""
    expires = int(now) + SESSION_SECONDS
    return f"{expires}.{_sign(token, f'session|{expires}')}"


def valid_session(token: str, value: str | None, now: float) -> bool:
    """True when ``value`` is a session this token signed and it has not expired."""
    if not value or "." not in value:
        return False
    expires, signature = value.split(".", 1)
    if not expires.isdigit() or int(expires) <= now:
        return False
    return hmac.compare_digest(signature, _sign(token, f"session|{expires}"))


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def same_nonce(cookie: str | None, field: str | None) -> bool:
    return bool(cookie) and bool(field) and hmac.compare_digest(str(cookie), str(field))


def csrf_token(token: str, session: str) -> str:
    """The token a signed-in form (sign-out) carries: bound to the session."""
    return _sign(token, f"csrf|{session}")


def valid_csrf(token: str, session: str | None, field: str | None) -> bool:
    if not session or not field:
        return False
    return hmac.compare_digest(field, csrf_token(token, session))


def bearer_ok(header: str | None, token: str) -> bool:
    """``Authorization: Bearer <token>`` (constant time), for scripts."""
    if not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[len("Bearer ") :].strip().encode(), token.encode())


def same_origin(origin: str | None, host_url: str) -> bool:
    """A POST's Origin (when the browser sends one) must be this server's."""
    return origin is None or origin.rstrip("/") == host_url.rstrip("/")
