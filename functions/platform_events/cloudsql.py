"""Cloud SQL IAM database authentication: log in as a service account with a short-lived token.

With ``DATABASE_IAM_USER`` set (deployed: each function's service account, its email without
``.gserviceaccount.com``), a connection's user is that name and its password an OAuth 2.0 access
token of the runtime's credentials (the metadata server's, on Cloud Functions), which Cloud SQL
checks against ``cloudsql.instances.login`` (roles/cloudsql.instanceUser). This is Cloud SQL's
"manual" IAM login and what the Cloud SQL Python Connector does for its drivers; done here, it
needs only google-auth (already a dependency of the BigQuery client) and keeps psycopg talking to
the private IP directly, without the connector's local proxy hop on every connection. A token is
checked at login only, so a pooled connection outlives it; each new connection gets a valid one.

No password of a function exists anywhere, and nothing here logs a token.
"""

from __future__ import annotations

import threading
from typing import Any

from platform_events.config import Settings

# The scope Cloud SQL's IAM login accepts (the one `gcloud sql generate-login-token` asks for).
LOGIN_SCOPES = ("https://www.googleapis.com/auth/sqlservice.login",)

_lock = threading.Lock()
_credentials: Any = None


def _runtime_credentials() -> Any:
    global _credentials
    if _credentials is None:
        import google.auth

        _credentials, _ = google.auth.default(scopes=LOGIN_SCOPES)
    return _credentials


def login_token() -> str:
    """A valid access token of the runtime's credentials, refreshed when (nearly) expired."""
    from google.auth.transport.requests import Request

    with _lock:  # one refresh at a time; google-auth credentials are not thread-safe
        credentials = _runtime_credentials()
        if not credentials.valid:
            credentials.refresh(Request())
        return str(credentials.token)


def connect_kwargs(settings: Settings) -> dict[str, str]:
    """The user and password of a new connection under IAM authentication; empty otherwise."""
    if not settings.database_iam_user:
        return {}
    return {"user": settings.database_iam_user, "password": login_token()}
