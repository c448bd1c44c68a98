"""Property: whatever a client sends to ``ingest_events``, it never gets a 5xx, each message is
answered, the good ones are stored, nothing is half-written and every rejection is dead-lettered.

Bodies are generated (hypothesis) from good Segment messages with generated values planted in
them: JSON values of every kind, strings with U+0000 and lone surrogates, numbers past 64 bits,
NaN and Infinity tokens, huge integer literals, timestamps of every year and offset, nesting
past every store's limit, keys the store cannot hold, and bodies in UTF-16 or invalid UTF-8.
They go over loopback HTTP to a real ``platform-events serve`` process (gunicorn) against a
real PostgreSQL.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from psycopg.rows import dict_row

from platform_events.db import Conn, with_database
from tests.builders import segment_track
from tests.conftest import create_test_database, drop_test_database
from tests.integration.serve_process import running_serve

WRITE_KEY = "wk_properties"
BIG_INT = "__big_int_literal__"
NAN = "__nan_token__"
PROPERTY_SETTINGS = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass(frozen=True)
class Live:
    url: str
    database_url: str


@pytest.fixture(scope="module")
def live(
    server_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    name = create_test_database(server_url, template_db)
    home = tmp_path_factory.mktemp("ingest-properties")
    url = with_database(server_url, name)
    env = {
        "DATABASE_URL": url,
        "PLATFORM_EVENTS_HOME": str(home),
        "INGEST_WRITE_KEYS": WRITE_KEY,
        "LOCAL_AUTH_TOKEN": "t" * 24,
    }
    try:
        with running_serve(env, Path(home) / "serve.log", threads=4) as base:
            yield Live(base, url)
    finally:
        drop_test_database(server_url, name)


def _conn(live: Live) -> Conn:
    return psycopg.connect(live.database_url, autocommit=True, row_factory=dict_row)


# Strings: ordinary text with the characters no store holds mixed in.
_specials = st.sampled_from(["\x00", "\ud800", "\udfff", "\ud83d\ude00", "\u2028", "é", "\\u0000"])
texts = st.lists(st.text(max_size=6) | _specials, max_size=4).map("".join)
numbers = (
    st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([BIG_INT, NAN])
)
scalars = st.none() | st.booleans() | numbers | texts
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=12,
)


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for level in range(depth):
        value = [value] if level % 2 else {"n": value}
    return value


timestamps = st.one_of(
    st.datetimes(
        min_value=datetime(1, 1, 1),
        max_value=datetime(9999, 12, 31),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12)), None]
        ),
    ).map(lambda d: d.isoformat()),
    texts,
    st.integers(),
)
depths = st.integers(min_value=1, max_value=300) | st.sampled_from([31, 32, 33])
planted = st.one_of(json_values, json_values, json_values, timestamps, depths.map(_nested))
places = st.sampled_from(
    [
        ("properties", "note"),
        ("properties", "method"),
        ("context", "page"),
        ("context", "userAgent"),
        ("context", "ip"),
        ("context", "sessionId"),
        ("context", "metadata"),
        (None, "userId"),
        (None, "anonymousId"),
        (None, "messageId"),
        (None, "timestamp"),
        (None, "event"),
        (None, "type"),
        ("properties", None),  # a key of properties
    ]
)


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    message = segment_track()
    if draw(st.integers(min_value=0, max_value=4)) == 0:  # sizes around Segment's 32 KB limit
        message["properties"]["padding"] = "x" * draw(
            st.sampled_from([100, 32_000, 32_600, 33_000, 40_000]) | st.integers(0, 40_000)
        )
    for _ in range(draw(st.integers(min_value=1, max_value=2))):
        parent, key = draw(places)
        value = draw(planted)
        if parent is None and key is not None:
            message[key] = value
        elif key is None:
            message.setdefault("properties", {})[draw(texts)] = value
        else:
            holder = message.setdefault(parent, {})
            if isinstance(holder, dict):
                holder[key] = value
    return message


def _encode(body: Any, encoding: str, ascii_only: bool) -> bytes:
    text = json.dumps(body, ensure_ascii=ascii_only, allow_nan=True)
    text = text.replace(f'"{BIG_INT}"', "9" * 5000).replace(f'"{NAN}"', "NaN")
    if encoding == "invalid-utf-8":
        return text.encode("utf-8", "surrogatepass") + b"\xff\xfe"
    return text.encode(encoding, "surrogatepass")


def _post(url: str, data: bytes) -> tuple[int, dict[str, Any]]:
    headers = {
        "Content-Type": "application/json",
        "Authorization": "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode(),
    }
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _counts(conn: Conn) -> dict[str, int]:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM platform_events) AS events,"
        " (SELECT count(*) FROM platform_events_quarantine) AS quarantined,"
        " (SELECT count(*) FROM platform_events_dead_letter) AS dead"
    ).fetchone()
    assert row is not None
    return {k: int(v) for k, v in row.items()}  # type: ignore[call-overload]


@PROPERTY_SETTINGS
@given(
    good=st.integers(min_value=0, max_value=3),
    bad=st.lists(mutated(), min_size=1, max_size=4),
    encoding=st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-16", "utf-32", "invalid-utf-8"]),
    ascii_only=st.booleans(),
)
def test_a_batch_of_anything_never_answers_5xx_and_keeps_every_message(
    live: Live, good: int, bad: list[dict[str, Any]], encoding: str, ascii_only: bool
) -> None:
    goods = [segment_track() for _ in range(good)]
    batch = goods + bad
    with _conn(live) as conn:
        before = _counts(conn)
        status, answer = _post(
            live.url + "/ingest_events/v1/batch", _encode({"batch": batch}, encoding, ascii_only)
        )
        after = _counts(conn)
        assert status < 500, answer
        if status != 200:
            # Refused whole (the body is not JSON at all): nothing stored, the body dead-lettered.
            assert status == 400 and answer["error"]["field"] == "body", answer
            event(f"body refused: {answer['error']['code']}")
            assert after == {**before, "dead": before["dead"] + 1}
            return
        results = answer["results"]
        assert len(results) == len(batch)
        for result in results[good:]:
            event(f"{result['status']} {result.get('error', {}).get('code', '')}")
        assert all(r["status"] == "accepted" for r in results[:good]), results[:good]
        for result in results:
            if result["status"] == "rejected":
                assert result["error"]["code"] and result["error"]["field"], result
        accepted = [r["event_id"] for r in results if r["status"] == "accepted"]
        rejected = sum(r["status"] == "rejected" for r in results)
        quarantined = sum(r["status"] == "quarantined" for r in results)
        assert after["events"] - before["events"] == len(accepted)
        assert after["quarantined"] - before["quarantined"] == quarantined
        assert after["dead"] - before["dead"] == rejected
        stored = conn.execute(
            "SELECT count(*) AS n FROM platform_events WHERE event_id = ANY(%s::uuid[])",
            (accepted,),
        ).fetchone()
        assert stored == {"n": len(accepted)}


@PROPERTY_SETTINGS
@given(message=mutated())
def test_a_single_call_answers_200_or_a_400_naming_the_field(
    live: Live, message: dict[str, Any]
) -> None:
    with _conn(live) as conn:
        before = _counts(conn)
        status, answer = _post(
            live.url + "/ingest_events/v1/track", _encode(message, "utf-8", True)
        )
        after = _counts(conn)
    assert status in (200, 400), answer
    if status == 400:
        assert answer["error"]["field"], answer
        assert after == {**before, "dead": before["dead"] + 1}
    else:
        assert after["dead"] == before["dead"]
        assert (
            after["events"] + after["quarantined"] - before["events"] - before["quarantined"] <= 1
        )


def test_a_dead_letter_names_the_reason_and_the_source_and_keeps_the_message(live: Live) -> None:
    poison = segment_track(properties={"method": "sso", "note": "a\x00b"})
    unmapped = segment_track(event="Signed In", properties={})
    good = segment_track()
    status, answer = _post(
        live.url + "/ingest_events/v1/batch",
        _encode({"batch": [poison, unmapped, good]}, "utf-8", False),
    )
    assert status == 200
    assert [r["status"] for r in answer["results"]] == ["rejected", "rejected", "accepted"]
    assert answer["results"][0]["error"]["field"] == "properties.note"
    assert "'Signed In' maps to user.login" in answer["results"][1]["error"]["message"]
    with _conn(live) as conn:
        rows = conn.execute(
            "SELECT source, reason_code, reason_field, reason, message_id, user_id, message"
            " FROM platform_events_dead_letter WHERE message_id = ANY(%s) ORDER BY message_id",
            ([poison["messageId"], unmapped["messageId"]],),
        ).fetchall()
    by_id = {r["message_id"]: r for r in rows}
    first = by_id[poison["messageId"]]
    assert first["reason_field"] == "properties.note" and first["user_id"] == "user_1"
    assert WRITE_KEY not in first["source"] and len(first["source"]) == 16
    assert json.loads(first["message"])["properties"]["note"] == "a\x00b"
    second = by_id[unmapped["messageId"]]
    assert second["reason_field"] == "event_data.method"
    assert "maps to user.login" in second["reason"]


def test_nesting_past_what_python_parses_is_one_400_for_the_body(live: Live) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    status, answer = _post(live.url + "/ingest_events/v1/batch", f'{{"batch": {deep}}}'.encode())
    assert status == 400 and answer["error"] == {
        "code": "too_deep",
        "field": "body",
        "message": answer["error"]["message"],
    }


def test_messages_sent_by_an_unknown_key_are_not_dead_lettered(live: Live) -> None:
    with _conn(live) as conn:
        before = _counts(conn)
        request = urllib.request.Request(  # noqa: S310 - loopback
            live.url + "/ingest_events/v1/batch",
            data=b"{not json",
            headers={"Authorization": "Basic " + base64.b64encode(b"nope:").decode()},
            method="POST",
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)  # noqa: S310
        assert refused.value.code == 401
        assert _counts(conn) == before


def test_an_unreachable_store_answers_503(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        "PLATFORM_EVENTS_HOME": str(tmp_path),
        "INGEST_WRITE_KEYS": WRITE_KEY,
        "LOCAL_AUTH_TOKEN": "t" * 24,
    }
    with running_serve(env, tmp_path / "serve.log", threads=2) as base:
        status, answer = _post(
            base + "/ingest_events/v1/batch", _encode({"batch": [segment_track()]}, "utf-8", True)
        )
    assert status == 503 and answer["error"]["code"] == "unavailable"
