"""The role step's checks, before anything touches the database (platform_events.logins)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from platform_events.errors import LoginError
from platform_events.logins import GROUP_ROLES, Login, check

PASSWORD = SecretStr("a-password")


def test_a_login_named_like_its_group_role_is_refused() -> None:
    # The old default names: <name>_<key> with name platform-events is exactly the group role.
    for role in sorted(GROUP_ROLES):
        with pytest.raises(LoginError, match="name of a group role"):
            check([Login(role, role, "password", PASSWORD)])


def test_only_the_group_roles_of_0006_can_be_granted() -> None:
    for role in ("platform_events_owner", "cloudsqlsuperuser", "pg_read_all_data", "postgres"):
        with pytest.raises(LoginError, match="not a group role"):
            check([Login("someone_login", role, "iam")])


def test_a_password_login_without_its_password_is_refused() -> None:
    for password in (None, SecretStr("")):
        with pytest.raises(LoginError, match="has none"):
            check([Login("platform_events_app_login", "platform_events_app", "password", password)])


def test_a_login_listed_twice_is_refused() -> None:
    login = Login("svc@p.iam", "platform_events_pipeline", "iam")
    with pytest.raises(LoginError, match="listed twice"):
        check([login, login])


def test_valid_logins_pass_in_order() -> None:
    logins = [
        Login("platform_events_app_login", "platform_events_app", "password", PASSWORD),
        Login("platform-events-ingest@p.iam", "platform_events_ingest", "iam"),
    ]
    assert check(logins) == logins
