"""Local secrets: a setting when given, else a random value generated once under the home folder.

Used for LOCAL_AUTH_TOKEN (``serve`` and the local scheduler must agree on it) and
ERASURE_AUDIT_KEY. Deployments set both; the generated files make the local default secure without
any setup (mode 0600, never printed, never logged).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import SecretStr

from platform_events.config import Settings


def local_secret(settings: Settings, configured: SecretStr | None, filename: str) -> str:
    """``configured`` if set, else the content of ``$PLATFORM_EVENTS_HOME/<filename>`` (created)."""
    if configured is not None and configured.get_secret_value():
        return configured.get_secret_value()
    path = Path(settings.home) / filename
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return value


def auth_token(settings: Settings) -> str:
    """The bearer token ``serve`` requires and the local scheduler sends."""
    return local_secret(settings, settings.local_auth_token, "local_auth_token")


def erasure_audit_key(settings: Settings) -> str:
    """The HMAC key of the erasure audit."""
    return local_secret(settings, settings.erasure_audit_key, "erasure_audit.key")
