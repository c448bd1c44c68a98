"""Property: any body sent to any job function over HTTP is answered 200 or 400 naming the
field, never 5xx: generated JSON values in every field (and unknown ones), strings the store
cannot hold, numbers past 64 bits, timestamps as numbers or of absurd years, deep nesting,
arbitrary bytes and any Content-Type. Against ``serve``'s application on loopback and a real
PostgreSQL with the local DuckDB warehouse, through a real ``platform-events serve`` process.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from platform_events import server
from platform_events.db import with_database
from tests.conftest import create_test_database, drop_test_database
from tests.integration.serve_process import running_serve

TOKEN = "job-properties-token-0123"
FUNCTIONS = sorted(server.routes())
PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def base_url(
    server_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    name = create_test_database(server_url, template_db)
    home = Path(tmp_path_factory.mktemp("job-properties"))
    env = {
        "DATABASE_URL": with_database(server_url, name),
        "PLATFORM_EVENTS_HOME": str(home),
        "DUCKDB_PATH": str(home / "warehouse.duckdb"),
        "WAREHOUSE": "duckdb",
        "LOCAL_AUTH_TOKEN": TOKEN,
    }
    try:
        with running_serve(env, home / "serve.log", threads=4) as url:
            yield url
    finally:
        drop_test_database(server_url, name)


def _fields(function: str) -> list[str]:
    model = server.routes()[function].model
    return [field.alias or name for name, field in model.model_fields.items()]


texts = st.lists(
    st.text(max_size=8) | st.sampled_from(["\x00", "\ud800", "user.login", "sso", "hour"]),
    max_size=3,
).map("".join)
now = datetime.now(UTC)
times = st.one_of(
    st.datetimes(
        min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
    ).map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            (now - timedelta(hours=2)).isoformat(),
            (now + timedelta(days=30)).isoformat(),
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-12:00",
        ]
    ),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | texts
    | times
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@st.composite
def bodies(draw: st.DrawFn, function: str) -> bytes:
    fields = _fields(function)
    body: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(fields), max_size=len(fields), unique=True)):
        body[name] = draw(values | st.integers(min_value=1, max_value=200).map(_nested))
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        body[draw(texts)] = draw(values)
    text = json.dumps(body, allow_nan=True, ensure_ascii=draw(st.booleans()))
    shape = draw(st.sampled_from(["json", "json", "json", "bytes", "huge-int", "array"]))
    if shape == "bytes":
        return draw(st.binary(max_size=64))
    if shape == "huge-int" and fields:
        return f'{{"{fields[0]}": {"7" * 5000}}}'.encode()
    if shape == "array":
        return f"[{text}]".encode("utf-8", "surrogatepass")
    return text.encode("utf-8", "surrogatepass")


def _post(
    base: str, function: str, data: bytes, content_type: str | None, chunked: bool = False
) -> tuple[int, dict[str, Any]]:
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if content_type:
        headers["Content-Type"] = content_type
    try:
        if chunked:
            connection.request(
                "POST", f"/{function}", body=iter([data]), headers=headers, encode_chunked=True
            )
        else:
            connection.request("POST", f"/{function}", body=data, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.parametrize("function", FUNCTIONS)
def test_any_body_is_answered_200_or_400_naming_the_field(base_url: str, function: str) -> None:
    @PROPERTY_SETTINGS
    @given(
        data=bodies(function),
        content_type=st.sampled_from(
            [None, "application/json", "text/plain", "application/x-www-form-urlencoded"]
        ),
    )
    def check(data: bytes, content_type: str | None) -> None:
        status, answer = _post(base_url, function, data, content_type)
        assert status in (200, 400), (status, answer, data[:300])
        if status == 400:
            error = answer["error"]
            assert error["field"] and error["code"] and error["message"], answer

    check()


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_chunked_body_is_read(base_url: str, function: str) -> None:
    status, answer = _post(base_url, function, b'{"no_such_option": 1}', None, chunked=True)
    assert status == 400 and answer["error"]["field"] == "no_such_option"


def test_a_body_over_the_limit_is_a_400_even_chunked(base_url: str) -> None:
    huge = b'{"user_id": "' + b"x" * 2_000_000 + b'"}'
    for chunked in (False, True):
        status, answer = _post(base_url, "erase_user", huge, "application/json", chunked=chunked)
        assert status == 400 and answer["error"]["code"] == "too_large"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"since": 1_700_000_000}, "since"),
        ({"since": "1700000000"}, "since"),
        ({"since": "0001-01-01T00:00:00+14:00"}, "since"),
        ({"since": "1066-10-14T09:00:00Z"}, "since"),
        ({"since": (datetime.now(UTC) + timedelta(days=2)).isoformat()}, "since"),
        ({"since": "2026-06-02T00:00:00Z", "until": "2026-06-01T00:00:00Z"}, "until"),
    ],
)
def test_aggregate_ranges_are_iso_8601_and_meaningful(
    base_url: str, body: dict[str, Any], field: str
) -> None:
    status, answer = _post(base_url, "aggregate_events", json.dumps(body).encode(), None)
    assert status == 400 and answer["error"]["field"] == field, answer


def test_a_reprocess_range_wholly_in_the_future_is_a_400(base_url: str) -> None:
    start = datetime.now(UTC) + timedelta(days=3)
    body = {"from": start.isoformat(), "to": (start + timedelta(days=1)).isoformat()}
    status, answer = _post(base_url, "reprocess_events", json.dumps(body).encode(), None)
    assert status == 400 and answer["error"]["field"] == "from", answer
