"""config.py: settings are read once, typed and checked, naming the variable at fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from platform_events.config import load_settings
from platform_events.errors import ConfigError


def test_an_invalid_setting_fails_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAM_BATCH_SIZE", "many")
    with pytest.raises(ConfigError, match="STREAM_BATCH_SIZE"):
        load_settings()


def test_a_warehouse_without_its_required_settings_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WAREHOUSE", "bigquery")
    monkeypatch.delenv("BIGQUERY_PROJECT_ID", raising=False)
    with pytest.raises(ConfigError, match="BIGQUERY_PROJECT_ID"):
        load_settings()
    monkeypatch.setenv("WAREHOUSE", "snowflake")
    with pytest.raises(ConfigError, match="WAREHOUSE"):
        load_settings()


def test_database_url_must_be_a_postgres_url() -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        load_settings(database_url="mysql://nope")


def test_secrets_never_appear_in_the_settings_repr() -> None:
    settings = load_settings(local_auth_token="s3cret-token", ingest_write_keys="k1,k2")
    assert "s3cret-token" not in repr(settings)
    assert settings.write_keys() == frozenset({"k1", "k2"})


def test_models_schema_must_be_an_identifier(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="MODELS_SCHEMA"):
        load_settings(platform_events_home=tmp_path, models_schema="analytics; drop table x")
