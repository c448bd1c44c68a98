"""Values no warehouse can store are rejected at emit, on every path, by the rules of 0046.

Generated, not listed: timestamps over PostgreSQL's whole range (4713 BC to 294276 AD) and its
infinities, JSON nested around BigQuery's limit of 500 levels, and numbers around the edge of
the double-precision range. Each value goes through emit_platform_event, emit_platform_events,
emit_platform_events_columns and quarantine promotion, and is accepted exactly when every sink
can store it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb

from platform_events.db import Conn

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = 1_000_000
# The storable range (BigQuery TIMESTAMP) as microseconds from the epoch.
_FIRST = int((datetime(1, 1, 1, tzinfo=UTC) - _EPOCH).total_seconds()) * _US
_LAST = (
    int((datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC) - _EPOCH).total_seconds()) * _US + 999_999
)
# PostgreSQL's own timestamptz range, roughly: 4713 BC to 294276 AD.
_PG_FIRST = -210_866_803_200 * _US
_PG_LAST = 9_214_646_400_000 * _US

_FOR_EVERY_EXAMPLE = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# A timestamp as SQL sees it: microseconds from the epoch, or one of the infinities.
timestamps = st.one_of(
    st.sampled_from(["infinity", "-infinity"]),
    st.integers(_PG_FIRST, _PG_LAST),
    st.integers(_FIRST - 10 * _US, _FIRST + 10 * _US),
    st.integers(_LAST - 10 * _US, _LAST + 10 * _US),
    st.integers(-3 * 365 * 86400 * _US, 60 * 365 * 86400 * _US),  # around now
)


def _timestamp_sql(value: int | str) -> tuple[str, object]:
    if isinstance(value, str):
        return "%s::timestamptz", value
    return "'epoch'::timestamptz + %s * interval '1 microsecond'", value


def _storable(value: int | str, now: datetime) -> bool:
    if isinstance(value, str):
        return False
    limit = int((now + timedelta(days=1) - _EPOCH).total_seconds() * _US)
    return _FIRST <= value <= min(_LAST, limit)


def _outcomes(conn: Conn, occurred_sql: str, arg: object, data: str, meta: str) -> list[str]:
    """The answer of each emit path for one event: 'accepted' or 'CODE field'."""
    answers = []
    try:
        conn.execute(
            f"SELECT emit_platform_event('user.login', %s::jsonb, 'alice', NULL, %s::jsonb, {occurred_sql})",
            (data, meta, arg),
        )
        answers.append("accepted")
    except psycopg.Error as exc:
        answers.append(f"{exc.sqlstate} {exc.diag.column_name}")
    for query in (
        "SELECT r.* FROM emit_platform_events(jsonb_build_array(jsonb_build_object("
        "'event_type', 'user.login', 'event_data', %s::jsonb, 'metadata', %s::jsonb, "
        f"'occurred_at', to_jsonb({occurred_sql})))) AS r",
        "SELECT r.* FROM emit_platform_events_columns(ARRAY[NULL]::uuid[], ARRAY['user.login'], "
        "ARRAY['alice'], ARRAY[NULL]::text[], "
        f"ARRAY[{occurred_sql}], jsonb_build_array(%s::jsonb), jsonb_build_array(%s::jsonb)) AS r",
    ):
        params = (data, meta, arg) if "emit_platform_events(" in query else (arg, data, meta)
        row = conn.execute(query, params).fetchone()
        assert row is not None
        answers.append(
            "accepted"
            if row["status"] == "accepted"
            else f"{row['error_code']} {row['error_field']}"
        )
    return answers


@_FOR_EVERY_EXAMPLE
@given(value=timestamps)
def test_occurred_at_is_accepted_exactly_when_every_warehouse_can_store_it(
    conn: Conn, value: int | str
) -> None:
    occurred_sql, arg = _timestamp_sql(value)
    now = datetime.now(UTC)
    answers = _outcomes(conn, occurred_sql, arg, '{"method": "sso"}', "{}")
    expected = "accepted" if _storable(value, now) else "PE007 occurred_at"
    assert answers == [expected] * 3


def _nested(depth: int, leaf: str, kinds: list[bool]) -> str:
    """JSON text with ``leaf`` inside ``depth`` arrays and objects (``kinds`` picks each)."""
    text = leaf
    for i in range(depth):
        text = f"[{text}]" if kinds[i % len(kinds)] else f'{{"k": {text}}}'
    return text


@_FOR_EVERY_EXAMPLE
@given(
    depth=st.integers(1, 600),
    kinds=st.lists(st.booleans(), min_size=1, max_size=8),
    column=st.sampled_from(["event_data", "metadata"]),
)
def test_json_nested_past_the_bigquery_limit_is_rejected_naming_the_column(
    conn: Conn, depth: int, kinds: list[bool], column: str
) -> None:
    value = '{"method": "sso", "extra": ' + _nested(depth, "1", kinds) + "}"
    data, meta = (value, "{}") if column == "event_data" else ('{"method": "sso"}', value)
    if len(meta) > 16384:
        return  # the size limit answers first (PE004)
    answers = _outcomes(conn, "%s::timestamptz", None, data, meta)
    # The leaf sits below the root object, the "extra" member and ``depth`` containers.
    expected = "accepted" if depth + 1 < 500 else f"PE005 {column}"
    assert answers == [expected] * 3


@_FOR_EVERY_EXAMPLE
@given(
    mantissa=st.decimals(min_value=1, max_value="9.99", places=2),
    exponent=st.integers(290, 330),
    negative=st.booleans(),
    nested=st.booleans(),
)
def test_json_numbers_beyond_double_precision_are_rejected(
    conn: Conn, mantissa: object, exponent: int, negative: bool, nested: bool
) -> None:
    number = f"{'-' if negative else ''}{mantissa}e{exponent}"
    extra = f'[{{"n": {number}}}]' if nested else number
    value = f'{{"method": "sso", "extra": {extra}}}'
    magnitude = float(f"{mantissa}e{exponent}")  # inf beyond the double range
    answers = _outcomes(conn, "%s::timestamptz", None, value, "{}")
    expected = "accepted" if magnitude != float("inf") else "PE005 event_data"
    assert answers == [expected] * 3


@_FOR_EVERY_EXAMPLE
@given(value=timestamps)
def test_quarantine_promotion_keeps_an_unstorable_timestamp_in_the_quarantine(
    conn: Conn, value: int | str
) -> None:
    occurred_sql, arg = _timestamp_sql(value)
    event_id = uuid.uuid4()
    conn.execute(
        "SELECT * FROM quarantine_platform_events(jsonb_build_array(jsonb_build_object("
        "'event_id', %s::text, 'event_type', 'user.login', 'event_data', %s::jsonb, "
        f"'occurred_at', to_jsonb({occurred_sql}))))",
        (str(event_id), Jsonb({"method": "sso"}), arg),
    )
    now = datetime.now(UTC)
    conn.execute("SELECT * FROM promote_quarantined_events('user.login')").fetchall()
    kept = conn.execute(
        "SELECT reason FROM platform_events_quarantine WHERE event_id = %s", (event_id,)
    ).fetchone()
    stored = conn.execute(
        "SELECT count(*) AS n FROM platform_events WHERE event_id = %s", (event_id,)
    ).fetchone()
    if _storable(value, now):
        assert (kept, stored) == (None, {"n": 1})
    else:
        assert kept is not None and kept["reason"].startswith(
            "rejected on promotion: PE007 occurred_at"
        )
        assert stored == {"n": 0}


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z"])
def test_the_range_bounds_themselves_are_storable(conn: Conn, text: str) -> None:
    row = conn.execute("SELECT platform_events_storable_timestamp(%s::timestamptz) AS ok", (text,))
    assert row.fetchone() == {"ok": True}
