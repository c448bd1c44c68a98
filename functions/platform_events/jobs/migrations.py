"""migrate_database: the deployment's migration step, run by infra/migrations on every apply that
changes the schema, the functions' source (a new event schema file, say), the login users or
their passwords.

It applies ``migrations/`` and then the event catalogue (``PLATFORM_EVENTS_CATALOG``) as the
schema owner (``DATABASE_URL``, the one database password the deployed functions still hold,
readable by this function's service account only), then gives each login user of the request its
group role (:mod:`platform_events.logins`). Passwords are never in the request: they come from
``LOGIN_PASSWORDS`` (Secret Manager). Any failure answers 500 and fails the Cloud Run job
execution Terraform waits for, so the apply fails with it.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from platform_events import catalog_files, db, logins, logs, migrate
from platform_events.config import Settings
from platform_events.errors import ConfigError, InvalidRequest, LoginError

log = logging.getLogger(__name__)


class LoginSpec(BaseModel):
    """One login user of the request (never its password)."""

    model_config = ConfigDict(extra="forbid")

    user: str = Field(min_length=1, max_length=63, description="Login role name.")
    role: str = Field(description="Group role of migrations/0006 it gets.")
    auth: Literal["password", "iam"] = Field(
        description="password: created here with its LOGIN_PASSWORDS entry; iam: a Cloud SQL IAM "
        "service-account user Cloud SQL created."
    )


class MigrateRequest(BaseModel):
    """Body of ``migrate_database``."""

    model_config = ConfigDict(extra="forbid")

    logins: list[LoginSpec] = Field(default_factory=list, max_length=100)


def _passwords(settings: Settings) -> dict[str, str]:
    if settings.login_passwords is None:
        return {}
    try:
        found = json.loads(settings.login_passwords.get_secret_value())
    except json.JSONDecodeError:
        raise ConfigError("LOGIN_PASSWORDS: must be a JSON object of user => password") from None
    if not isinstance(found, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in found.items()
    ):
        raise ConfigError("LOGIN_PASSWORDS: must be a JSON object of user => password")
    return found


def run(params: MigrateRequest, settings: Settings) -> dict[str, Any]:
    """Migrate, then set up the login users; what was applied and done."""
    started = time.monotonic()
    passwords = _passwords(settings)
    wanted = [
        logins.Login(
            spec.user,
            spec.role,
            spec.auth,
            SecretStr(passwords[spec.user])
            if spec.auth == "password" and spec.user in passwords
            else None,
        )
        for spec in params.logins
    ]
    try:
        logins.check(wanted)  # before migrating: a bad request changes nothing
    except LoginError as exc:
        raise InvalidRequest(str(exc), field="logins") from None
    with db.connect(settings, autocommit=True) as conn:
        # The tracking plan ships with the functions: adding an event is a file, not Terraform.
        applied, plan = migrate.deploy(
            conn, catalog=catalog_files.directory(settings.platform_events_catalog)
        )
        done = logins.ensure(conn, wanted)
    changes = [] if plan is None else [c.__dict__ for c in plan.changes]
    logs.log_summary(
        log,
        "migrate finished",
        started,
        job="migrate",
        applied=len(applied),
        catalog_changes=len(changes),
        logins=len(done),
    )
    return {
        "applied": [f"{m.version}_{m.name}" for m in applied],
        "catalog": changes,
        "logins": done,
    }
