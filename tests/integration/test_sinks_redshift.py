"""Redshift sink: S3 staging against moto, Data API calls against botocore's Stubber, the
Redshift-only SQL through sqlglot's Redshift parser, and the portable load run for real on
PostgreSQL (no Redshift emulator exists)."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import psycopg
import pytest
import sqlglot
from botocore.stub import ANY, Stubber
from moto import mock_aws
from psycopg.rows import dict_row

from platform_events.pipeline import batch as batches
from platform_events.sinks import RowsRejected, SinkUnavailable, erasure, schema
from platform_events.sinks import redshift_sql as rsql
from platform_events.sinks.redshift import RedshiftSink, StatementFailed

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
    assert sqls[0].startswith("CREATE TEMP TABLE events_staging_5b0f6a5e")
    assert sqls[1].startswith("COPY events_staging_") and ROLE in sqls[1] and "GZIP" in sqls[1]
    assert sqls[2].startswith("DELETE FROM public.events USING")
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


def test_a_statement_that_never_finishes_is_cancelled_after_the_timeout(s3: Any) -> None:
    sink, stub = _sink(s3)
    sink.timeout_s = 0
    _started(stub, "execute_statement", "st-4")
    _status(stub, "st-4", "STARTED")
    stub.add_response("cancel_statement", {"Status": True}, {"Id": "st-4"})
    with stub, pytest.raises(SinkUnavailable, match="cancelled"):
        sink.run("SELECT 1", {"x": "1"})


def test_redshift_only_statements_parse_as_redshift_sql() -> None:
    table = "public.events"
    statements = [
        rsql.create_events_table(table),
        rsql.create_staging_table("events_staging_x"),
        rsql.copy_from_s3("events_staging_x", "s3://b/k.json.gz", ROLE),
        *rsql.merge(table, "events_staging_x"),
        rsql.erase_candidates(table),
        rsql.create_erase_staging("events_erase_x"),
        rsql.erase_update(table, "events_erase_x"),
        rsql.delete_events(table, [str(uuid.uuid4())]),
        *rsql.delete_expired(table, {"user.login": datetime.now(UTC)}),
        rsql.drop_table("events_staging_x"),
    ]
    for statement in statements:
        assert sqlglot.parse_one(statement, read="redshift") is not None, statement
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


def test_the_portable_erase_update_clears_identity_on_postgres(database_url: str) -> None:
    table = "public.wh_events"
    mine, theirs = _table(2, user="user_a"), _table(1, user="user_b")
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        conn.execute(rsql.create_events_table(table, "postgres"))
        conn.execute(rsql.create_staging_table("s", "postgres"))
        _stage_rows(conn, "s", mine, "l1")
        _stage_rows(conn, "s", theirs, "l1")
        for statement in rsql.merge(table, "s"):
            conn.execute(statement)
        candidates = conn.execute(
            f"SELECT event_id, event_type, event_data::text AS d, metadata::text AS m, "
            f"user_id = %(u)s AS own FROM {table} WHERE user_id = %(u)s "
            "OR event_data::text LIKE %(p)s",
            {"u": "user_b", "p": erasure.mentions("user_b")},
        ).fetchall()
        assert len(candidates) == 3  # user_b's event, and user_a's two messages to user_b
        conn.execute(rsql.create_erase_staging("e", "postgres"))
        for c in candidates:
            data, meta = erasure.scrub_row(c["event_type"], c["d"], c["m"], "user_b", own=c["own"])
            conn.execute(
                "INSERT INTO e VALUES (%s, %s, %s::jsonb, %s::jsonb)",
                (c["event_id"], c["own"], data, meta),
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
