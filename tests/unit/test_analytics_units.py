"""The analyst's layer without I/O: the dbt command line and environment, the console's sign-in
tokens."""

from __future__ import annotations

from pathlib import Path

import pytest

from platform_events.analytics import dbt
from platform_events.config import load_settings
from platform_events.console import auth
from platform_events.errors import ConfigError

NOW = 1_800_000_000.0


def test_dbt_command_puts_global_flags_first_and_refresh_only_where_dbt_takes_it() -> None:
    exe = Path("/x/dbt")
    assert dbt.command(exe, "run", select=["users"], full_refresh=True, quiet=True) == [
        "/x/dbt", "--quiet", "run", "--select", "users", "--full-refresh",
    ]  # fmt: skip
    assert dbt.command(exe, "test", full_refresh=True) == ["/x/dbt", "test"]
    assert dbt.command(exe, "build", dbt_vars="{lookback_days: 7}")[-2:] == [
        "--vars",
        "{lookback_days: 7}",
    ]


def test_dbt_env_points_the_profile_at_the_configured_warehouse(tmp_path: Path) -> None:
    base = {"PATH": "/usr/bin", "PYTHONPATH": "/work/functions", "VIRTUAL_ENV": "/work/.venv"}
    local = dbt.dbt_env(load_settings(platform_events_home=tmp_path), base)
    assert local["DBT_TARGET"] == "duckdb" and local["EVENTS_SCHEMA"] == "main"
    assert local["DUCKDB_PATH"] == str(tmp_path / "warehouse.duckdb")
    assert "PYTHONPATH" not in local and "VIRTUAL_ENV" not in local  # dbt's venv is its own
    bigquery = dbt.dbt_env(
        load_settings(
            platform_events_home=tmp_path, warehouse="bigquery", bigquery_project_id="p",
            bigquery_dataset_id="events_ds", models_schema="models_ds",
        ),
        base,
    )  # fmt: skip
    assert (bigquery["BIGQUERY_PROJECT_ID"], bigquery["EVENTS_SCHEMA"]) == ("p", "events_ds")
    assert bigquery["MODELS_SCHEMA"] == "models_ds" and "DUCKDB_PATH" not in bigquery
    redshift = load_settings(
        platform_events_home=tmp_path, warehouse="redshift", redshift_cluster_id="c",
        redshift_s3_bucket="b", redshift_iam_role_arn="arn:aws:iam::1:role/r",
    )  # fmt: skip
    with pytest.raises(ConfigError, match="REDSHIFT_HOST"):
        dbt.dbt_env(redshift, base)


def test_models_schema_must_be_an_identifier(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="MODELS_SCHEMA"):
        load_settings(platform_events_home=tmp_path, models_schema="analytics; drop table x")


def test_a_session_is_valid_until_it_expires_and_only_under_its_token() -> None:
    session = auth.new_session("token-a", NOW)
    assert auth.valid_session("token-a", session, NOW + auth.SESSION_SECONDS - 1)
    assert not auth.valid_session("token-a", session, NOW + auth.SESSION_SECONDS)
    assert not auth.valid_session("token-b", session, NOW)
    expires, signature = session.split(".")
    longer = f"{int(expires) + 3600}.{signature}"  # an extended expiry breaks the signature
    assert not auth.valid_session("token-a", longer, NOW)
    assert not auth.valid_session("token-a", "garbage", NOW)
    assert not auth.valid_session("token-a", None, NOW)
    assert "token-a" not in session


def test_sign_out_csrf_is_bound_to_the_session() -> None:
    one, two = auth.new_session("t", NOW), auth.new_session("t", NOW + 1)
    assert auth.valid_csrf("t", one, auth.csrf_token("t", one))
    assert not auth.valid_csrf("t", two, auth.csrf_token("t", one))
    assert not auth.valid_csrf("t", one, None)


def test_origin_must_be_this_server_when_sent() -> None:
    assert auth.same_origin(None, "http://127.0.0.1:8080/")
    assert auth.same_origin("http://127.0.0.1:8080", "http://127.0.0.1:8080/")
    assert not auth.same_origin("null", "http://127.0.0.1:8080/")
    assert not auth.same_origin("https://evil.test", "http://127.0.0.1:8080/")
    assert not auth.same_nonce(None, "x") and not auth.same_nonce("x", "y")
    assert auth.same_nonce("x", "x")
