"""The role step of a deployment: each login user holds its group role of migrations/0006.

Run as the schema owner right after migrating (``migrate_database``, infra/migrations). The owner
is what Cloud SQL makes of a built-in user: CREATEROLE, not a superuser. Hence:

- a password login is created (or its password reset) as a plain role, never through the Cloud
  SQL API, whose users join ``cloudsqlsuperuser``; the password goes as a SCRAM-SHA-256 verifier
  computed here, so no clear password reaches the server or its logs;
- an IAM login (a service account) is created by Cloud SQL itself (Terraform's ``google_sql_user``
  of type ``CLOUD_IAM_SERVICE_ACCOUNT``); it is only granted its group role here;
- ``GRANT group TO login`` needs ADMIN OPTION on the group role from PostgreSQL 16 on: the owner
  has it on the roles it created (0006 ran as the owner); PostgreSQL 15 lets CREATEROLE grant any
  non-superuser role.

Every step is idempotent: a re-run changes nothing but the passwords it is given.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import psycopg
from pydantic import SecretStr

from platform_events.db import Conn
from platform_events.errors import LoginError
from platform_events.stores import logins as store

# The NOLOGIN group roles of migrations/0006_roles_and_security.sql.
GROUP_ROLES = frozenset(
    {
        "platform_events_app",
        "platform_events_ingest",
        "platform_events_pipeline",
        "platform_events_analyst",
    }
)

Auth = Literal["password", "iam"]


@dataclass(frozen=True)
class Login:
    """One login user: its name, the group role it gets, and how it authenticates."""

    user: str
    role: str
    auth: Auth
    password: SecretStr | None = None


def check(logins: Iterable[Login]) -> list[Login]:
    """Refuse what would fail halfway: unknown group roles, a login named like a group role."""
    checked: list[Login] = []
    seen: set[str] = set()
    for login in logins:
        if login.role not in GROUP_ROLES:
            raise LoginError(
                f"login {login.user!r}: {login.role!r} is not a group role of migrations/0006 "
                f"({', '.join(sorted(GROUP_ROLES))})"
            )
        if login.user in GROUP_ROLES:
            # GRANT x TO x fails, and a group role must stay NOLOGIN: pick another login name.
            raise LoginError(f"login {login.user!r} has the name of a group role of 0006")
        if login.user in seen:
            raise LoginError(f"login {login.user!r} is listed twice")
        if login.auth == "password" and not (login.password and login.password.get_secret_value()):
            raise LoginError(f"login {login.user!r} authenticates by password but has none")
        seen.add(login.user)
        checked.append(login)
    return checked


def ensure(conn: Conn, logins: Iterable[Login]) -> list[dict[str, object]]:
    """Create or update each login and grant it its group role; what was done, per login."""
    wanted = check(logins)
    done: list[dict[str, object]] = []
    for login in wanted:
        # One transaction per login: a failed grant leaves no login without its group role.
        with conn.transaction():
            exists = store.role_exists(conn, login.user)
            if login.auth == "password":
                assert login.password is not None  # check() guarantees it
                verifier = conn.pgconn.encrypt_password(
                    login.password.get_secret_value().encode(),
                    login.user.encode(),
                    b"scram-sha-256",
                ).decode()
                store.set_password(conn, login.user, verifier, create=not exists)
                action = "updated" if exists else "created"
            else:
                if not exists:
                    raise LoginError(
                        f"IAM login {login.user!r} does not exist: Cloud SQL creates it "
                        "(google_sql_user of type CLOUD_IAM_SERVICE_ACCOUNT) before this step runs"
                    )
                action = "exists"
            member = store.is_member(conn, login.user, login.role)
            if not member:
                try:
                    store.grant(conn, login.role, login.user)
                except psycopg.errors.InsufficientPrivilege:
                    raise LoginError(
                        f"cannot grant {login.role} to {login.user!r}: from PostgreSQL 16 on the "
                        f"granting role needs ADMIN OPTION on {login.role}; the role that created it "
                        f"(or a superuser) must run GRANT {login.role} TO <owner> WITH ADMIN OPTION"
                    ) from None
        done.append(
            {"user": login.user, "role": login.role, "login": action, "granted": not member}
        )
    return done
