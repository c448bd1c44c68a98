"""Redshift sink: S3 staging against moto, Data API calls against botocore's Stubber, the
Redshift-only SQL through sqlglot's Redshift parser, and the portable load run for real on
PostgreSQL (no Redshift emulator exists)."""

from __future__ import annotations

import gzip
import json
import re
import time
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import boto3
import psycopg
import pytest
import sqlglot
from botocore.stub import ANY, Stubber
from moto import mock_aws
from psycopg.rows import dict_row

from platform_events.errors import StatementFailed, StatementStillRunning
from platform_events.pipeline import batch as batches
from platform_events.sinks import RowsRejected, SinkUnavailable, erasure, schema
from platform_events.sinks import redshift_sql as rsql
from platform_events.sinks.redshift import RedshiftSink, rows_digest

BUCKET = "pe-staging"
ROLE = "arn:aws:iam::123456789012:role/redshift-copy"


def _table(n: int = 3, *, user: str = "user_a") -> Any:
    """A pipeline batch of ``n`` events (the shape the stream hands to sinks)."""
    now = datetime.now(UTC)
    columns: dict[str, list[Any]] = {name: [None] * n for name in schema.batch_column_names()}
    columns.update(
        event_id=[str(uuid.uuid4()) for _ in range(n)],
        event_type=["message.sent"] * n,
        event_category=["interaction"] * n,
        schema_version=[1] * n,
        user_id=[user] * n,
        session_id=["s1"] * n,
        occurred_at=[now - timedelta(minutes=i) for i in range(n)],
        received_at=[now] * n,
        event_data=[
            json.dumps({"message_id": f"m{i}", "recipient_id": "user_b"}) for i in range(n)
        ],
        metadata=['{"source": "test"}'] * n,
    )
    claimed = batches.ClaimedBatch(columns)
    return batches.to_arrow(claimed, {})


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _sink(s3: Any) -> tuple[RedshiftSink, Stubber]:
    data_api = boto3.client(
        "redshift-data",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    sink = RedshiftSink(
        data_api=data_api,
        s3=s3,
        database="dev",
        bucket=BUCKET,
        iam_role=ROLE,
        workgroup="events",
        secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:rs",
        timeout_s=5,
        sleep=lambda _s: None,
    )
    sink._table_checked = True
    return sink, Stubber(data_api)


def _started(stub: Stubber, method: str, statement_id: str) -> None:
    stub.add_response(
        method,
        {"Id": statement_id, "Database": "dev", "WorkgroupName": "events"},
        {
            "Sqls" if method == "batch_execute_statement" else "Sql": ANY,
            "Database": "dev",
            "WorkgroupName": "events",
            "SecretArn": ANY,
            **({"Parameters": ANY} if method == "execute_statement" else {}),
        },
    )


def _status(stub: Stubber, statement_id: str, status: str, **more: Any) -> None:
    stub.add_response(
        "describe_statement", {"Id": statement_id, "Status": status, **more}, {"Id": statement_id}
    )


def test_write_stages_gzipped_ndjson_and_runs_copy_and_merge_in_one_batch(s3: Any) -> None:
    sink, stub = _sink(s3)
    _started(stub, "batch_execute_statement", "st-1")
    _status(stub, "st-1", "STARTED")
    _status(stub, "st-1", "FINISHED", ResultRows=3)
    captured: list[dict[str, Any]] = []
    sink.data_api.meta.events.register(
        "provide-client-params.redshift-data.BatchExecuteStatement",
        lambda params, **_: captured.append(params),
    )
    seen_objects: list[list[dict[str, Any]]] = []
    real_unstage = sink._unstage

    def inspect_then_unstage(key: str) -> None:
        body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        seen_objects.append([json.loads(line) for line in gzip.decompress(body).splitlines()])
        real_unstage(key)

    sink._unstage = inspect_then_unstage  # type: ignore[method-assign]
    table = _table(3)
    with stub:
        load_id = sink.write(table, "5b0f6a5e-0000-4000-8000-000000000001")
    stub.assert_no_pending_responses()
    assert load_id == "5b0f6a5e-0000-4000-8000-000000000001"
    sqls = captured[0]["Sqls"]
    assert sqls[0] == "LOCK TABLE public.events"  # first: before the snapshot is taken
    assert sqls[1].startswith("CREATE TEMP TABLE events_staging_5b0f6a5e")
    assert sqls[2].startswith("COPY events_staging_") and ROLE in sqls[2] and "GZIP" in sqls[2]
    assert sqls[3].startswith("DELETE FROM public.events USING")
    assert sqls[-1].startswith("DROP TABLE IF EXISTS events_staging_")
    rows = seen_objects[0]
    assert [r["event_id"] for r in rows] == table.column("event_id").to_pylist()
    assert rows[0]["event_data"]["recipient_id"] == "user_b"  # JSON as JSON, not a string
    assert rows[0]["load_id"] == load_id
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0  # staging file removed


def test_a_failed_statement_raises_with_redshift_error_text(s3: Any) -> None:
    sink, stub = _sink(s3)
    _started(stub, "batch_execute_statement", "st-2")
    _status(stub, "st-2", "FAILED", Error="ERROR: permission denied for relation events")
    with stub, pytest.raises(StatementFailed, match="permission denied for relation events"):
        sink.write(_table(2))


def test_a_copy_load_error_is_a_row_error_so_the_batch_gets_split(s3: Any) -> None:
    sink, stub = _sink(s3)
    _started(stub, "batch_execute_statement", "st-3")
    _status(
        stub,
        "st-3",
        "FAILED",
        Error="Load into table 'events_staging_x' failed. Check 'sys_load_error_detail'",
    )
    with stub, pytest.raises(RowsRejected, match="sys_load_error_detail"):
        sink.write(_table(2))


class MemoryCheckpoint:
    """The batch's WriteCheckpoint kept in memory (the pipeline keeps it in PostgreSQL)."""

    def __init__(self, state: Mapping[str, Any] | None = None) -> None:
        self.state = dict(state) if state else None

    def load(self) -> Mapping[str, Any] | None:
        return self.state

    def save(self, state: Mapping[str, Any]) -> None:
        self.state = dict(state)


def test_the_load_statement_id_is_kept_with_the_batch_before_it_is_polled(s3: Any) -> None:
    sink, stub = _sink(s3)
    checkpoint = MemoryCheckpoint()
    saved_before_polling: list[Any] = []
    sink.data_api.meta.events.register(
        "before-parameter-build.redshift-data.DescribeStatement",
        lambda **_: saved_before_polling.append(checkpoint.state),
    )
    _started(stub, "batch_execute_statement", "st-9")
    _status(stub, "st-9", "FINISHED")
    batch = _table(2)
    with stub:
        sink.write(batch, "5b0f6a5e-0000-4000-8000-000000000009", checkpoint)
    assert saved_before_polling[0]["redshift_statement_id"] == "st-9"
    assert saved_before_polling[0]["redshift_rows"] == rows_digest(batch)


def test_a_retry_after_a_failed_load_sends_it_again(s3: Any) -> None:
    sink, stub = _sink(s3)
    batch = _table(2)
    checkpoint = MemoryCheckpoint(
        {
            "redshift_statement_id": "st-old",
            "redshift_s3_key": "k",
            "redshift_rows": rows_digest(batch),
        }
    )
    _status(stub, "st-old", "FAILED", Error="ERROR: connection reset")
    _started(stub, "batch_execute_statement", "st-new")
    _status(stub, "st-new", "FINISHED")
    with stub:
        sink.write(batch, "5b0f6a5e-0000-4000-8000-00000000000a", checkpoint)
    stub.assert_no_pending_responses()
    assert checkpoint.state and checkpoint.state["redshift_statement_id"] == "st-new"


def test_a_statement_that_outlives_its_cancel_is_reported_and_kept_not_resent(s3: Any) -> None:
    """moto aborts at once on cancel; the service may not: the stubbed service keeps running."""
    sink, stub = _sink(s3)
    sink.timeout_s, sink.cancel_grace_s = 0, 0
    checkpoint = MemoryCheckpoint()
    _started(stub, "batch_execute_statement", "st-slow")
    _status(stub, "st-slow", "STARTED")
    stub.add_response("cancel_statement", {"Status": True}, {"Id": "st-slow"})
    _status(stub, "st-slow", "STARTED")
    batch = _table(2)
    with stub, pytest.raises(StatementStillRunning, match="not re-sent"):
        sink.write(batch, "5b0f6a5e-0000-4000-8000-00000000000e", checkpoint)
    assert checkpoint.state and checkpoint.state["redshift_statement_id"] == "st-slow"
    _status(stub, "st-slow", "FINISHED")  # the next attempt finds it done and sends nothing
    with stub:
        sink.write(batch, "5b0f6a5e-0000-4000-8000-00000000000e", checkpoint)
    stub.assert_no_pending_responses()


# -- the Data API call sequence against moto (it records statements but runs no SQL) ------------


def _redshift_ends(statement_id: str, status: str) -> None:
    """Stands in for the Redshift engine, which moto lacks: its statements stay STARTED until
    something ends them."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.redshiftdata.models import redshiftdata_backends

    redshiftdata_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].statements[statement_id].status = status


@pytest.fixture
def moto_sink(s3: Any) -> tuple[RedshiftSink, list[str]]:
    """A sink on moto's Data API and S3, and the Data API operations it calls, in order."""
    data_api = boto3.client("redshift-data", region_name="us-east-1")
    calls: list[str] = []
    data_api.meta.events.register(
        "before-call.redshift-data.*", lambda model, **_: calls.append(model.name)
    )
    sink = RedshiftSink(
        data_api=data_api,
        s3=s3,
        database="dev",
        bucket=BUCKET,
        iam_role=ROLE,
        cluster_id="events",
        timeout_s=0,
        sleep=lambda _s: None,
    )
    sink._table_checked = True
    return sink, calls


def test_a_statement_still_running_at_the_timeout_is_cancelled_and_waited_for(
    moto_sink: tuple[RedshiftSink, list[str]],
) -> None:
    sink, calls = moto_sink
    with pytest.raises(SinkUnavailable, match="cancelled"):
        sink.run("SELECT 1", {"x": "1"})
    assert calls == [
        "ExecuteStatement",
        "DescribeStatement",
        "CancelStatement",
        "DescribeStatement",
    ]


def _earlier_attempt(sink: RedshiftSink, s3: Any, batch: Any) -> MemoryCheckpoint:
    """An earlier attempt's load left running: its statement in the Data API (moto implements
    ExecuteStatement, not BatchExecuteStatement; the polling is the same), its staged object,
    its state with the batch."""
    started = sink.data_api.execute_statement(Sql="LOCK TABLE public.events", **sink._target())
    key = f"{sink.prefix}earlier/object.json.gz"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"")
    return MemoryCheckpoint(
        {
            "redshift_statement_id": started["Id"],
            "redshift_s3_key": key,
            "redshift_rows": rows_digest(batch),
        }
    )


def test_a_retry_while_the_earlier_load_finished_sends_nothing(
    moto_sink: tuple[RedshiftSink, list[str]], s3: Any
) -> None:
    sink, calls = moto_sink
    batch = _table(3)
    checkpoint = _earlier_attempt(sink, s3, batch)
    assert checkpoint.state
    _redshift_ends(checkpoint.state["redshift_statement_id"], "FINISHED")
    calls.clear()
    sink.write(batch, "5b0f6a5e-0000-4000-8000-00000000000b", checkpoint)
    assert calls == ["DescribeStatement"]  # no BatchExecuteStatement: nothing re-sent
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0  # its object cleaned up


def test_a_retry_while_the_earlier_load_still_runs_cancels_it_instead_of_resending(
    moto_sink: tuple[RedshiftSink, list[str]], s3: Any
) -> None:
    sink, calls = moto_sink
    batch = _table(3)
    checkpoint = _earlier_attempt(sink, s3, batch)
    calls.clear()
    with pytest.raises(SinkUnavailable, match="cancelled"):
        sink.write(batch, "5b0f6a5e-0000-4000-8000-00000000000c", checkpoint)
    assert calls == ["DescribeStatement", "CancelStatement", "DescribeStatement"]


def test_a_retry_of_other_rows_under_the_same_load_id_is_sent(
    moto_sink: tuple[RedshiftSink, list[str]], s3: Any
) -> None:
    """A split batch's halves share the load id: a FINISHED load of one half is not the other's."""
    sink, calls = moto_sink
    first_half, second_half = _table(2), _table(2)
    checkpoint = _earlier_attempt(sink, s3, first_half)
    assert checkpoint.state
    _redshift_ends(checkpoint.state["redshift_statement_id"], "FINISHED")
    assert not sink._resumed(
        "5b0f6a5e-0000-4000-8000-00000000000d", rows_digest(second_half), checkpoint
    )
    assert calls[-1] == "ExecuteStatement"  # the earlier attempt's only: not even described


def test_redshift_only_statements_parse_as_redshift_sql() -> None:
    table = "public.events"
    statements = [
        rsql.create_events_table(table),
        rsql.create_staging_table("events_staging_x"),
        *rsql.load(table, "events_staging_x", "s3://b/k.json.gz", ROLE)[1:],
        rsql.erase_candidates(table),
        rsql.erase_payloads(table, [str(uuid.uuid4())]),
        rsql.create_erase_staging("events_erase_x"),
        *rsql.erase_load(table, "events_erase_x", "s3://b/e.json.gz", ROLE)[1:],
        *rsql.delete_events(table, [str(uuid.uuid4())]),
        *rsql.delete_expired(table, {"user.login": datetime.now(UTC)}),
        rsql.drop_table("events_staging_x"),
    ]
    for statement in statements:
        assert sqlglot.parse_one(statement, read="redshift") is not None, statement
    # sqlglot has no LOCK: checked against the documented syntax, LOCK [ TABLE ] table_name
    # (https://docs.aws.amazon.com/redshift/latest/dg/r_LOCK.html).
    assert re.fullmatch(r"LOCK TABLE [a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*", rsql.lock(table))
    ddl = rsql.create_events_table(table)
    assert "SUPER" in ddl and "DISTKEY (event_id)" in ddl and "SORTKEY (occurred_at)" in ddl


def test_identifiers_from_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="invalid Redshift identifier"):
        rsql.ident("events; DROP TABLE x")
    with pytest.raises(ValueError, match="not an event id"):
        rsql.delete_events("public.events", ["1' OR '1'='1"])


# -- the portable load, for real on PostgreSQL ---------------------------------------------------


def _stage_rows(conn: psycopg.Connection[Any], staging: str, table: Any, load_id: str) -> None:
    """What COPY does on Redshift: the NDJSON rows into the staging table."""
    names = list(schema.column_names())
    placeholders = ", ".join(["%s"] * len(names))
    now = datetime.now(UTC)
    for row in table.to_pylist():
        values = [row.get(n) for n in names[:-2]] + [load_id, now]
        conn.execute(f"INSERT INTO {staging} ({', '.join(names)}) VALUES ({placeholders})", values)


def test_the_portable_merge_replaces_by_event_id_on_postgres(database_url: str) -> None:
    table = "public.wh_events"
    batch = _table(5)
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        conn.execute(rsql.create_events_table(table, "postgres"))
        for attempt in range(2):  # the same batch twice (a crash before the ack), then a dup row
            with conn.transaction():
                conn.execute(rsql.create_staging_table("events_staging_t", "postgres"))
                _stage_rows(conn, "events_staging_t", batch, f"load-{attempt}")
                if attempt:
                    _stage_rows(conn, "events_staging_t", batch.slice(0, 1), "load-dup")
                for statement in rsql.merge(table, "events_staging_t"):
                    conn.execute(statement)
                conn.execute(rsql.drop_table("events_staging_t"))
        row = conn.execute(
            f"SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM {table}"
        ).fetchone()
        assert row == {"n": 5, "d": 5}


def _as_psycopg(statement: str) -> str:
    """A Data API statement's named parameters (``:name``) as psycopg's (``%(name)s``)."""
    return re.sub(r"(?<!:):([a-z_]+)", r"%(\1)s", statement.replace("%", "%%"))


def test_the_portable_erasure_pages_clear_identity_on_postgres(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Candidates in keyset pages (ids and sizes only), payloads read by id pages, scrubbed, and
    applied by the erase update: the same SQL as on Redshift (JSON text via ::text)."""
    monkeypatch.setattr(rsql, "ERASE_CANDIDATE_PAGE", 2)
    table = "public.wh_events"
    mine, theirs = _table(2, user="user_a"), _table(3, user="user_b")
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        conn.execute(rsql.create_events_table(table, "postgres"))
        conn.execute(rsql.create_staging_table("s", "postgres"))
        _stage_rows(conn, "s", mine, "l1")
        _stage_rows(conn, "s", theirs, "l1")
        for statement in rsql.merge(table, "s"):
            conn.execute(statement)
        params = {"user_id": "user_b", "pattern": erasure.mentions("user_b"), "after": "0"}
        candidates: list[dict[str, Any]] = []
        while True:
            page = conn.execute(
                _as_psycopg(rsql.erase_candidates(table, "postgres", rsql.ERASE_CANDIDATE_PAGE)),
                params,
            ).fetchall()
            candidates += page
            if len(page) < rsql.ERASE_CANDIDATE_PAGE:
                break
            params["after"] = page[-1]["event_id"]
        assert len(candidates) == 5  # user_b's 3 events, and user_a's 2 messages to user_b
        assert all(c["data_bytes"] > 0 for c in candidates)
        sizes = [(c["event_id"], c["data_bytes"] + c["meta_bytes"]) for c in candidates]
        kinds = {c["event_id"]: c for c in candidates}
        conn.execute(rsql.create_erase_staging("e", "postgres"))
        pages = rsql.erase_pages(sizes, rsql.erase_payload_fixed_bytes(table, "postgres"), 700)
        assert len(pages) > 1
        for ids in pages:
            texts: dict[str, dict[str, Any]] = {i: {} for i in ids}
            for row in conn.execute(rsql.erase_payloads(table, ids, "postgres")).fetchall():
                texts[row["event_id"]][row["name"]] = row["json"]
            for event_id in ids:
                c = kinds[event_id]
                data, meta = erasure.scrub_row(
                    c["event_type"],
                    texts[event_id]["event_data"],
                    texts[event_id]["metadata"],
                    "user_b",
                    own=c["own"],
                )
                conn.execute(
                    "INSERT INTO e VALUES (%s, %s, %s::jsonb, %s::jsonb)",
                    (event_id, c["own"], data, meta),
                )
        conn.execute(rsql.erase_update(table, "e"))
        left = conn.execute(
            f"SELECT count(*) AS n FROM {table} WHERE user_id = 'user_b' "
            "OR event_data::text LIKE '%%user_b%%'"
        ).fetchone()
        assert left == {"n": 0}
        kept = conn.execute(
            f"SELECT count(*) AS n FROM {table} WHERE user_id = 'user_a'"
        ).fetchone()
        assert kept == {"n": 2}


def test_erase_user_reads_ids_then_bounded_payload_pages_and_writes_back_through_s3(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Data API sequence: a candidate page (ids, sizes), a payload read, the erase load
    (LOCK first), then the next candidate page, empty."""
    monkeypatch.setattr(rsql, "ERASE_CANDIDATE_PAGE", 1)
    sink, stub = _sink(s3)
    event_id = str(uuid.uuid4())
    captured: list[dict[str, Any]] = []
    for operation in ("ExecuteStatement", "BatchExecuteStatement"):
        sink.data_api.meta.events.register(
            f"provide-client-params.redshift-data.{operation}",
            lambda params, **_: captured.append(params),
        )

    def records(statement_id: str, rows: list[list[dict[str, Any]]]) -> None:
        stub.add_response(
            "get_statement_result",
            {"Records": rows, "TotalNumRows": len(rows)},
            {"Id": statement_id},
        )

    _started(stub, "execute_statement", "c-1")
    _status(stub, "c-1", "FINISHED", HasResultSet=True)
    records(
        "c-1",
        [
            [
                {"stringValue": event_id},
                {"stringValue": "message.sent"},
                {"booleanValue": True},
                {"longValue": 60},
                {"longValue": 20},
            ]
        ],
    )
    stub.add_response(
        "execute_statement",
        {"Id": "p-1", "Database": "dev", "WorkgroupName": "events"},
        {"Sql": ANY, "Database": "dev", "WorkgroupName": "events", "SecretArn": ANY},
    )
    _status(stub, "p-1", "FINISHED", HasResultSet=True)
    records(
        "p-1",
        [
            [
                {"stringValue": event_id},
                {"stringValue": "event_data"},
                {"stringValue": '{"message_id": "m1", "recipient_id": "user_c"}'},
            ],
            [
                {"stringValue": event_id},
                {"stringValue": "metadata"},
                {"stringValue": '{"source": "test"}'},
            ],
        ],
    )
    _started(stub, "batch_execute_statement", "u-1")
    _status(stub, "u-1", "FINISHED")
    _started(stub, "execute_statement", "c-2")
    _status(stub, "c-2", "FINISHED", HasResultSet=True)
    records("c-2", [])
    with stub:
        assert sink.erase_user("user_a") == 1
    stub.assert_no_pending_responses()
    candidates, payloads, load, _next = captured
    assert "JSON_SERIALIZE(event_data) AS" not in candidates["Sql"]  # sizes, never payloads
    assert {p["name"]: p["value"] for p in _next["Parameters"]}["after"] == event_id
    assert event_id in payloads["Sql"] and "UNION ALL" in payloads["Sql"]
    assert load["Sqls"][0] == "LOCK TABLE public.events"
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_deleting_many_events_pages_the_ids_over_several_statements(s3: Any) -> None:
    sink, stub = _sink(s3)
    ids = [str(uuid.uuid4()) for _ in range(5_000)]
    for n, statement_id in enumerate(("d-1", "d-2", "d-3")):
        stub.add_response(
            "execute_statement",
            {"Id": statement_id, "Database": "dev", "WorkgroupName": "events"},
            {"Sql": ANY, "Database": "dev", "WorkgroupName": "events", "SecretArn": ANY},
        )
        _status(stub, statement_id, "FINISHED", ResultRows=[2_400, 2_400, 200][n])
    with stub:
        assert sink.delete_events(ids) == 5_000
    stub.assert_no_pending_responses()


def _merge_in_transaction(
    conn: psycopg.Connection[Any], table: str, batch: Any, load_id: str, *, locked: bool
) -> None:
    """The portable part of one load transaction (COPY replaced by inserts into staging), left
    open: the caller commits."""
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")  # PostgreSQL's snapshot isolation
    if locked:
        conn.execute(rsql.lock(table))
    conn.execute(rsql.create_staging_table("events_staging_o", "postgres"))
    _stage_rows(conn, "events_staging_o", batch, load_id)
    for statement in rsql.merge(table, "events_staging_o"):
        conn.execute(statement)
    conn.execute(rsql.drop_table("events_staging_o"))


def _wait_until_blocked_on_a_lock(observer: psycopg.Connection[Any], pid: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = observer.execute(
            "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)
        ).fetchone()
        if row and row["wait_event_type"] == "Lock":
            return
        time.sleep(0.01)
    raise AssertionError(f"backend {pid} never waited on the table lock")


def _counts(conn: psycopg.Connection[Any], table: str) -> Any:
    return conn.execute(
        f"SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM {table}"
    ).fetchone()


def test_without_the_lock_two_overlapping_loads_duplicate_every_row(database_url: str) -> None:
    """The hazard the lock removes: each snapshot misses the other's rows, both insert."""
    table, batch = "public.wh_events", _table(50)
    connect = partial(psycopg.connect, database_url, autocommit=True, row_factory=dict_row)
    with connect() as first, connect() as second:
        first.execute(rsql.create_events_table(table, "postgres"))
        _merge_in_transaction(first, table, batch, "load-1", locked=False)
        _merge_in_transaction(second, table, batch, "load-2", locked=False)
        first.execute("COMMIT")
        second.execute("COMMIT")
        assert _counts(first, table) == {"n": 100, "d": 50}


def test_two_overlapping_loads_of_one_batch_leave_each_event_once(database_url: str) -> None:
    """A re-sent load overlapping the first (a polling timeout while the first still runs): the
    second waits at LOCK, then its snapshot holds the first's rows and its DELETE replaces them."""
    table, batch = "public.wh_events", _table(50)
    connect = partial(psycopg.connect, database_url, autocommit=True, row_factory=dict_row)
    with connect() as first, connect() as second, connect() as observer:
        first.execute(rsql.create_events_table(table, "postgres"))
        _merge_in_transaction(first, table, batch, "load-1", locked=True)
        second_pid = second.info.backend_pid
        with ThreadPoolExecutor(max_workers=1) as pool:
            overlapping = pool.submit(
                _merge_in_transaction, second, table, batch, "load-2", locked=True
            )
            _wait_until_blocked_on_a_lock(observer, second_pid)
            assert not overlapping.done()
            first.execute("COMMIT")
            overlapping.result(timeout=30)
        second.execute("COMMIT")
        assert _counts(observer, table) == {"n": 50, "d": 50}
        loads = observer.execute(f"SELECT DISTINCT load_id FROM {table}").fetchall()
        assert loads == [{"load_id": "load-2"}]  # the later load replaced the earlier one


def test_a_user_owning_only_its_schema_runs_every_statement_of_the_sink(database_url: str) -> None:
    """What the Terraform bootstrap grants (CREATE SCHEMA ... AUTHORIZATION the role's user) is
    all the sink needs, ensure_table included; nothing else is writable to it. On PostgreSQL
    (15+: PUBLIC may not create in public) as the stand-in."""
    user, schema = f"pe_sink_{uuid.uuid4().hex[:8]}", f"pe_sink_{uuid.uuid4().hex[:8]}"
    table = f"{schema}.events"
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        conn.execute(f"CREATE ROLE {user} NOLOGIN")
        try:
            conn.execute(f"CREATE SCHEMA {schema} AUTHORIZATION {user}")
            conn.execute(f"SET ROLE {user}")
            conn.execute(rsql.create_events_table(table, "postgres"))
            with conn.transaction():
                conn.execute(rsql.lock(table))
                conn.execute(rsql.create_staging_table("events_staging_u", "postgres"))
                _stage_rows(conn, "events_staging_u", _table(2), "l1")
                for statement in rsql.merge(table, "events_staging_u"):
                    conn.execute(statement)
                conn.execute(rsql.drop_table("events_staging_u"))
            with conn.transaction():
                conn.execute(rsql.lock(table))
                conn.execute(rsql.create_erase_staging("events_erase_u", "postgres"))
                conn.execute(rsql.erase_update(table, "events_erase_u"))
                conn.execute(rsql.drop_table("events_erase_u"))
            for statement in rsql.delete_expired(table, {"message.sent": datetime.now(UTC)}):
                conn.execute(statement)
            assert _counts(conn, table) == {"n": 0, "d": 0}
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(rsql.create_events_table("public.not_mine", "postgres"))
        finally:
            conn.execute("RESET ROLE")
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.execute(f"DROP ROLE {user}")
