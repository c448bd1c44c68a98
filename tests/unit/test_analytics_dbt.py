"""analytics/dbt.py without I/O: the dbt command line and its environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from platform_events.analytics import dbt
from platform_events.config import load_settings
from platform_events.errors import ConfigError


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
