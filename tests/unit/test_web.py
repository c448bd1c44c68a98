"""web.py: request parsing and a job's HTTP answer (400 naming the field, 200, a 500 without
details)."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import BaseModel, ConfigDict

from platform_events import web
from platform_events.config import load_settings
from platform_events.errors import InvalidRequest


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
