"""``serve``: every function on one WSGI app, bearer token required, bad bodies named."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from werkzeug.test import Client

from platform_events import server
from platform_events.config import Settings
from tests.integration.jobs_http import TOKEN, call, client, field_of

MAIN = Path(__file__).resolve().parents[2] / "functions" / "main.py"

JSON_FUNCTIONS = sorted(
    [
        "aggregate_events",
        "cleanup_metrics",
        "apply_retention",
        "reprocess_events",
        "erase_user",
        "pipeline_status",
    ]
)


@pytest.mark.parametrize("function", [*JSON_FUNCTIONS, "no_such_function"])
@pytest.mark.parametrize("token", [None, "wrong-token", TOKEN + "x", ""])
def test_calls_without_the_bearer_token_get_401_and_run_nothing(
    settings: Settings, function: str, token: str | None
) -> None:
    status, answer = call(client(settings), function, {}, token=token)
    assert status == 401
    assert answer["error"]["code"] == "unauthorized"


def test_a_basic_auth_header_is_not_a_bearer_token(settings: Settings) -> None:
    response = client(settings).post(
        "/pipeline_status", json={}, headers={"Authorization": f"Basic {TOKEN}"}
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_every_json_function_is_mounted_on_its_deployed_route(settings: Settings) -> None:
    assert set(JSON_FUNCTIONS) <= set(server.routes())
    http = client(settings)
    status, answer = call(http, "pipeline_status", {})
    assert status == 200 and answer["backlog"] == 0
    response = http.get("/pipeline_status", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    status, answer = call(http, "cleanup_metrics", {})
    assert status == 200 and answer["metrics_removed"] == 0
    status, answer = call(http, "no_such_function", {})
    assert status == 404


@pytest.mark.parametrize("function", JSON_FUNCTIONS)
def test_every_function_rejects_unknown_fields_naming_them(
    settings: Settings, function: str
) -> None:
    status, answer = call(client(settings), function, {"no_such_option": 1})
    assert status == 400
    assert field_of(answer) == "no_such_option"
    assert answer["error"]["code"] == "unknown_field"


@pytest.mark.parametrize("function", JSON_FUNCTIONS)
def test_every_function_rejects_a_body_that_is_not_a_json_object(
    settings: Settings, function: str
) -> None:
    http = client(settings)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    for raw in (b"{not json", b"[1, 2]"):
        response = http.post(f"/{function}", data=raw, headers=headers)
        assert response.status_code == 400
        assert response.get_json()["error"]["field"] == "body"


def test_health_needs_no_token_and_says_nothing_else(settings: Settings) -> None:
    response = Client(server.create_app(settings, token=TOKEN)).get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"ok": True}


def test_ingest_keeps_its_own_write_key_authentication(settings: Settings) -> None:
    http = client(settings)
    response = http.post(
        "/ingest_events/v1/track",
        json={"event": "User Login", "userId": "u1", "properties": {}},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 401


def test_without_a_configured_token_one_is_generated_once_and_kept_private(
    settings: Settings,
) -> None:
    from platform_events.jobs.local_secrets import auth_token

    first = auth_token(settings)
    assert len(first) >= 32 and auth_token(settings) == first
    path = settings.home / "local_auth_token"
    assert path.stat().st_mode & 0o077 == 0
    status, _ = call(Client(server.create_app(settings)), "pipeline_status", {}, token=first)
    assert status == 200


@pytest.mark.parametrize("function", [*JSON_FUNCTIONS, "stream_platform_events"])
def test_each_cloud_function_entry_point_logs_under_its_own_name(
    settings: Settings,
    function: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """functions/main.py as functions-framework loads it: a rejected body is logged with the
    entry point's name (it used to say job="run", the name every job function has)."""
    import functions_framework

    from platform_events import config, logs

    monkeypatch.setenv("DATABASE_URL", str(settings.database_url))
    monkeypatch.setenv("PLATFORM_EVENTS_HOME", str(settings.home))
    config.get_settings.cache_clear()
    monkeypatch.setattr(logs, "configure", lambda *a, **k: None)  # keep caplog's handler
    app = functions_framework.create_app(function, str(MAIN))
    with caplog.at_level(logging.WARNING, logger="platform_events.web"):
        response = app.test_client().post("/", json={"no_such_option": 1})
    config.get_settings.cache_clear()
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "no_such_option"
    assert [getattr(r, "fields", {}).get("job") for r in caplog.records] == [function]
