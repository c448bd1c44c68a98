"""Pure pieces of the foundation: settings, query loading, logging, catalogue, request parsing."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from platform_events import catalog, logs, migrate, queries, web
from platform_events.config import load_settings
from platform_events.errors import ConfigError, InvalidEvent, InvalidRequest, MigrationError


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


def test_queries_are_loaded_by_name_and_a_missing_one_is_named() -> None:
    assert queries.sql("migration_lock").startswith("SELECT pg_advisory_lock")
    with pytest.raises(KeyError, match="no_such_query"):
        queries.sql("no_such_query")


def test_a_query_defined_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        queries._parse("-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;\n", "x.sql")


def test_json_logs_have_severity_message_and_extra_fields() -> None:
    stream = io.StringIO()
    logs.configure("INFO", stream)
    logging.getLogger("platform_events.test").warning("hello", extra={"fields": {"claimed": 3}})
    entry = json.loads(stream.getvalue().splitlines()[-1])
    assert entry["severity"] == "WARNING"
    assert entry["message"] == "hello"
    assert entry["claimed"] == 3


def test_migration_files_must_be_numbered(tmp_path: Path) -> None:
    (tmp_path / "0001_ok.sql").write_text("-- ok\n")
    (tmp_path / "second.sql").write_text("-- bad\n")
    with pytest.raises(MigrationError, match=r"second\.sql"):
        migrate.discover(tmp_path)


def test_catalogue_has_the_seeds_types_in_four_categories() -> None:
    by_category: dict[str, set[str]] = {}
    for entry in catalog.CATALOG.values():
        by_category.setdefault(entry.category, set()).add(entry.name)
    assert by_category["transaction"] >= {
        "project.created",
        "proposal.submitted",
        "milestone.approved",
        "payment.initiated",
        "payment.completed",
    }
    assert by_category["interaction"] >= {
        "profile.viewed",
        "search.performed",
        "filter.applied",
        "message.sent",
        "notification.clicked",
    }
    assert by_category["user_activity"] >= {
        "user.login",
        "user.logout",
        "session.started",
        "password.changed",
        "mfa.enabled",
    }
    assert by_category["content"] >= {"review.posted", "portfolio.created", "profile.updated"}


def test_catalogue_validation_names_the_field() -> None:
    with pytest.raises(InvalidEvent) as caught:
        catalog.validate_event("payment.completed", {"payment_id": "p", "currency": "USD"})
    assert caught.value.field == "event_data.amount"
    assert caught.value.code == "missing_field"
    with pytest.raises(InvalidEvent) as caught:
        catalog.validate_event("nope", {})
    assert caught.value.field == "event_type"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    batch_size: int = 100


def test_request_parsing_names_the_bad_field() -> None:
    with pytest.raises(InvalidRequest) as caught:
        web.parse_model(_Body, {"batch_size": "lots"})
    assert caught.value.field == "batch_size"
    with pytest.raises(InvalidRequest) as caught:
        web.parse_model(_Body, {"batchsize": 1})
    assert caught.value.field == "batchsize" and caught.value.code == "unknown_field"
    with pytest.raises(InvalidRequest) as caught:
        web.parse_model(_Body, [1, 2])
    assert caught.value.field == "body"


def test_a_job_answers_400_on_bad_json_and_200_with_its_result() -> None:
    settings = load_settings()

    def job(params: _Body, _settings: object) -> dict[str, object]:
        return {"batch_size": params.batch_size}

    bad = web.run_job(_Body, job, b"{not json", "application/json", settings=settings)
    assert bad.status == 400 and bad.body["error"]["field"] == "body"
    ok = web.run_job(_Body, job, b'{"batch_size": 7}', "application/json", settings=settings)
    assert ok.status == 200 and ok.body["batch_size"] == 7
    empty = web.run_job(_Body, job, b"", None, settings=settings)
    assert empty.body["batch_size"] == 100


def test_an_unexpected_job_error_is_a_500_without_details() -> None:
    def job(params: _Body, _settings: object) -> dict[str, object]:
        raise RuntimeError("password=hunter2")

    answer = web.run_job(_Body, job, b"{}", "application/json", settings=load_settings())
    assert answer.status == 500
    assert "hunter2" not in json.dumps(answer.body)


def test_a_cloud_function_request_is_logged_under_its_entry_points_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    def run(params: _Body, _settings: object) -> dict[str, object]:
        return {}

    request = Request(
        EnvironBuilder(
            method="POST", data=b'{"batch_size": "many"}', content_type="application/json"
        ).get_environ()
    )
    with caplog.at_level(logging.WARNING, logger="platform_events.web"):
        body, status, _ = web.handle(request, _Body, run, "aggregate_events")
    assert status == 400 and json.loads(body)["error"]["field"] == "batch_size"
    assert [getattr(r, "fields", {}).get("job") for r in caplog.records] == ["aggregate_events"]
