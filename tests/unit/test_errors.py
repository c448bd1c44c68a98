"""errors.py: one base class, categories by what a caller can do, answered by category."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from platform_events import errors, jsonsafe, web
from platform_events.config import load_settings
from platform_events.errors import (
    BadInput,
    Conflict,
    Misconfigured,
    NotFound,
    PlatformEventsError,
    Transient,
)
from platform_events.sinks.redshift import RedshiftSink

CATEGORIES = (BadInput, NotFound, Conflict, Transient, Misconfigured)


def _defined_here() -> list[type[BaseException]]:
    return [
        value
        for value in vars(errors).values()
        if isinstance(value, type)
        and issubclass(value, BaseException)
        and value.__module__ == errors.__name__
    ]


def test_every_error_has_the_one_base_and_at_most_one_category() -> None:
    for cls in _defined_here():
        assert issubclass(cls, PlatformEventsError), cls
        assert sum(issubclass(cls, category) for category in CATEGORIES) <= 1, cls


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("InvalidEvent", BadInput),
        ("InvalidRequest", BadInput),
        ("InvalidJson", BadInput),
        ("LeaseLost", Conflict),
        ("SinkUnavailable", Transient),
        ("SinkThrottled", Transient),
        ("StatementFailed", Transient),
        ("StatementStillRunning", Transient),
        ("ConfigError", Misconfigured),
        ("SinkMisconfigured", Misconfigured),
        ("MigrationError", Misconfigured),
        ("SchemaOutOfDate", Misconfigured),
        ("LoginError", Misconfigured),
        ("EmbeddedPostgresError", Misconfigured),
    ],
)
def test_each_named_error_sits_under_the_category_a_caller_acts_on(
    name: str, category: type[PlatformEventsError]
) -> None:
    assert issubclass(getattr(errors, name), category)


def test_bad_input_errors_share_one_body_and_keep_their_own_default_code() -> None:
    event = errors.InvalidEvent("amount: too big", field="event_data.amount")
    request = errors.InvalidRequest("days: not a number", field="days")
    assert event.to_dict() == {
        "code": "invalid_event",
        "message": "amount: too big",
        "field": "event_data.amount",
    }
    assert request.to_dict()["code"] == "invalid_request"
    assert isinstance(event, ValueError)  # callers that catch ValueError keep working
    with pytest.raises(errors.InvalidJson) as caught:
        jsonsafe.loads(b"{not json")
    assert caught.value.to_dict()["field"] == "body"


class _Body(BaseModel):
    pass


@pytest.mark.parametrize(
    ("raised", "status", "code"),
    [
        (errors.InvalidRequest("days: bad", field="days"), 400, "invalid_request"),
        (errors.NotFound("no job 'nope'"), 404, "not_found"),
        (errors.LeaseLost("batch 7 was re-claimed"), 409, "conflict"),
        (errors.SinkThrottled("secret-host.internal: quota"), 503, "unavailable"),
        (errors.ConfigError("REDSHIFT_HOST is required"), 500, "configuration"),
        (RuntimeError("password=hunter2"), 500, "internal"),
    ],
)
def test_a_job_error_is_answered_by_its_category(raised: Exception, status: int, code: str) -> None:
    def job(_params: _Body, _settings: object) -> dict[str, object]:
        raise raised

    answer = web.run_job(_Body, job, b"{}", "application/json", settings=load_settings())
    assert answer.status == status
    assert answer.body["error"]["code"] == code
    text = json.dumps(answer.body)
    if isinstance(raised, (BadInput, NotFound, Conflict, Misconfigured)):
        assert str(raised) in text  # the caller learns what to change
    else:
        assert str(raised) not in text  # hosts and values stay in the log, under an incident


def test_a_missing_redshift_setting_is_misconfiguration_not_an_outage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WAREHOUSE", "redshift")
    monkeypatch.setenv("REDSHIFT_WORKGROUP", "events")
    monkeypatch.delenv("REDSHIFT_S3_BUCKET", raising=False)
    with pytest.raises(errors.ConfigError, match="REDSHIFT_S3_BUCKET") as caught:
        RedshiftSink.from_settings(load_settings())
    assert not isinstance(caught.value, Transient)
