"""BigQuery sink logic without a server: error classification, the stream protocol's decisions,
chunking, the streaming window and the table check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pyarrow as pa
import pytest
from google.api_core import exceptions as gexc

from platform_events.errors import (
    LeaseLost,
    RowsRejected,
    SinkMisconfigured,
    SinkThrottled,
    SinkUnavailable,
)
from platform_events.sinks import schema
from platform_events.sinks.bigquery import protocol, table
from platform_events.sinks.bigquery.errors import classify, classify_answer
from platform_events.sinks.bigquery.rows import row_sizes, table_arrow_schema, table_rows

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (
            gexc.BadRequest(
                "Could not serialize access to table p:d.events due to concurrent update"
            ),
            SinkThrottled,
        ),
        (
            gexc.BadRequest(
                "Resources exceeded: Too many DML statements outstanding against table"
            ),
            SinkThrottled,
        ),
        (
            gexc.Forbidden("Exceeded rate limits", errors=[{"reason": "rateLimitExceeded"}]),
            SinkThrottled,
        ),
        (gexc.Forbidden("Quota exceeded", errors=[{"reason": "quotaExceeded"}]), SinkThrottled),
        (gexc.TooManyRequests("slow down"), SinkThrottled),
        (gexc.ResourceExhausted("append throughput"), SinkThrottled),
        (gexc.Aborted("transaction aborted"), SinkThrottled),
        (gexc.ServiceUnavailable("try again"), SinkUnavailable),
        (gexc.InternalServerError("backend", errors=[{"reason": "backendError"}]), SinkUnavailable),
        (gexc.DeadlineExceeded("deadline"), SinkUnavailable),
        (gexc.BadGateway("gateway"), SinkUnavailable),
        (
            gexc.BadRequest(
                "UPDATE would affect rows in the streaming buffer, which is not supported"
            ),
            SinkUnavailable,
        ),
        (
            gexc.NotFound("Not found: Dataset p:d", errors=[{"reason": "notFound"}]),
            SinkMisconfigured,
        ),
        (gexc.PermissionDenied("bigquery.tables.updateData denied"), SinkMisconfigured),
        (gexc.Forbidden("Access Denied", errors=[{"reason": "accessDenied"}]), SinkMisconfigured),
        (gexc.Unauthenticated("no credentials"), SinkMisconfigured),
        (gexc.BadRequest("Provided Schema does not match Table p:d.events"), SinkMisconfigured),
        (gexc.BadRequest("Invalid JSON payload", errors=[{"reason": "invalid"}]), RowsRejected),
        (ConnectionResetError("peer reset"), SinkUnavailable),
    ],
)
def test_bigquery_answers_are_classified_by_what_the_pipeline_can_do(
    exc: Exception, kind: type[Exception]
) -> None:
    mapped = classify(exc)
    assert type(mapped) is kind
    assert str(exc.args[0] if exc.args else exc)[:20] in str(mapped) or isinstance(
        exc, ConnectionResetError
    )


def test_a_missing_table_says_terraform_creates_it_and_a_denial_names_the_grants() -> None:
    assert "terraform apply" in str(classify(gexc.NotFound("Not found: Table p:d.events")))
    assert "service account" in str(classify(gexc.PermissionDenied("denied")))


def test_our_own_errors_and_bugs_pass_through_unchanged() -> None:
    for exc in (LeaseLost("gone"), RowsRejected("x", rows={"e": "bad"}), KeyError("bug")):
        assert classify(exc) is exc


def test_grpc_statuses_classify_like_their_http_equivalents() -> None:
    assert classify_answer(None, "RESOURCE_EXHAUSTED", (), "") is SinkThrottled
    assert classify_answer(None, "UNAVAILABLE", (), "") is SinkUnavailable
    assert classify_answer(None, "ABORTED", (), "") is SinkThrottled
    assert classify(gexc.from_grpc_status(grpc.StatusCode.UNAVAILABLE, "x")).__class__ is (
        SinkUnavailable
    )


# -- protocol decisions -----------------------------------------------------------------------


def _state(
    phase: protocol.Phase, digest: str = "d1", *, maybe: bool = False
) -> protocol.StreamState:
    return protocol.StreamState("projects/p/streams/s", digest, 3, (3,), phase, maybe)


def test_a_fresh_batch_opens_a_new_stream() -> None:
    assert protocol.plan(None, "d1") == protocol.Plan(protocol.Step.NEW_STREAM)


def test_the_same_batch_resumes_its_saved_stream() -> None:
    assert protocol.plan(_state(protocol.Phase.APPENDING), "d1").step is protocol.Step.RESUME


def test_a_stream_that_may_be_committed_is_committed_again_whatever_the_batch() -> None:
    for digest in ("d1", "other"):
        plan = protocol.plan(_state(protocol.Phase.COMMITTING), digest)
        assert plan.step is protocol.Step.COMMIT_AGAIN


def test_other_rows_abandon_an_uncommitted_stream_and_ask_the_table_only_when_needed() -> None:
    assert protocol.plan(_state(protocol.Phase.APPENDING), "d2") == protocol.Plan(
        protocol.Step.NEW_STREAM, ask_table=False
    )
    assert protocol.plan(_state(protocol.Phase.APPENDING, maybe=True), "d2") == protocol.Plan(
        protocol.Step.NEW_STREAM, ask_table=True
    )


def test_the_state_round_trips_through_the_checkpoints_json() -> None:
    state = _state(protocol.Phase.COMMITTING, maybe=True)
    assert protocol.StreamState.from_mapping(state.to_mapping()) == state
    assert protocol.StreamState.from_mapping({}) is None
    assert protocol.StreamState.from_mapping({"other_sink": {}}) is None


def test_the_digest_is_of_the_set_of_events_not_their_order() -> None:
    assert protocol.digest(["b", "a"]) == protocol.digest(["a", "b"])
    assert protocol.digest(["a"]) != protocol.digest(["a", "b"])


def test_a_commit_counts_as_done_when_the_service_confirms_it_now_or_before() -> None:
    assert protocol.commit_outcome(NOW, []) is protocol.CommitOutcome.COMMITTED
    assert (
        protocol.commit_outcome(None, [protocol.STREAM_ALREADY_COMMITTED])
        is protocol.CommitOutcome.COMMITTED
    )
    assert protocol.commit_outcome(None, [5]) is protocol.CommitOutcome.UNKNOWN  # the emulator's
    assert protocol.commit_outcome(None, []) is protocol.CommitOutcome.UNKNOWN


def test_chunks_stay_under_the_request_limit_and_keep_at_least_one_row() -> None:
    ends = protocol.chunk_ends([100] * 10, limit=3 * (100 + protocol.ROW_OVERHEAD_BYTES))
    assert ends == (3, 6, 9, 10)
    assert protocol.chunk_ranges(ends) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert protocol.chunk_ends([10_000], limit=100) == (1,)
    assert protocol.chunk_ends([]) == ()


def test_only_events_outside_the_streaming_window_are_refused_each_with_its_reason() -> None:
    refused = protocol.outside_stream_window(
        {
            "ancient": NOW - timedelta(days=3653),
            "old_but_fine": NOW - timedelta(days=9 * 365),
            "now": NOW,
            "far_future": NOW + timedelta(days=366),
        },
        NOW,
    )
    assert sorted(refused) == ["ancient", "far_future"]
    assert "load job" in refused["ancient"]


# -- the table check --------------------------------------------------------------------------


def _terraform_shape(**changes: object) -> table.TableShape:
    columns = {c.name: (c.type, "REQUIRED" if c.required else "NULLABLE") for c in schema.columns()}
    base = {
        "columns": columns,
        "partition_type": "DAY",
        "partition_field": "occurred_at",
        "expiration_ms": 2557 * 86_400_000,
        "clustering": ("event_type", "user_id"),
        "require_partition_filter": True,
    }
    base.update(changes)
    return table.TableShape(**base)  # type: ignore[arg-type]


def test_terraforms_table_has_no_problems_and_each_difference_is_named() -> None:
    assert table.problems(_terraform_shape()) == []
    columns = dict(_terraform_shape().columns)
    del columns["load_id"]
    columns["schema_version"] = ("STRING", "REQUIRED")
    found = table.problems(
        _terraform_shape(columns=columns, expiration_ms=86_400_000, require_partition_filter=False)
    )
    assert found == [
        "column schema_version is STRING REQUIRED, expected INTEGER REQUIRED",
        "column load_id is missing",
        "require_partition_filter must be true",
        "partition expiration must keep at least 2555 days (the catalogue's longest retention)",
    ]


def test_the_shape_is_read_from_a_bigquery_table() -> None:
    from google.cloud import bigquery

    t = bigquery.Table(
        "p.d.events",
        schema=[bigquery.SchemaField("schema_version", "INT64", mode="REQUIRED")],
    )
    t.time_partitioning = bigquery.TimePartitioning(field="occurred_at")
    shape = table.TableShape.of(t)
    assert shape.columns == {"schema_version": ("INTEGER", "REQUIRED")}
    assert (shape.partition_type, shape.partition_field) == ("DAY", "occurred_at")
    assert shape.require_partition_filter is False
    t.time_partitioning = bigquery.TimePartitioning.from_api_repr(
        {"type": "DAY", "field": "occurred_at", "requirePartitionFilter": True}
    )
    assert table.TableShape.of(t).require_partition_filter is True  # the deprecated location


# -- rows -------------------------------------------------------------------------------------


def _batch(ids: list[str], payloads: list[str]) -> pa.Table:
    n = len(ids)
    columns: dict[str, list[object]] = {name: [None] * n for name in schema.batch_column_names()}
    columns.update(
        event_id=ids,
        event_type=["user.login"] * n,
        event_category=["user_activity"] * n,
        schema_version=[1] * n,
        occurred_at=[NOW] * n,
        received_at=[NOW] * n,
        event_data=payloads,
    )
    return pa.table(columns, schema=schema.batch_arrow_schema())


def test_rows_carry_the_sink_columns_in_table_order_sorted_by_event_id() -> None:
    rows = table_rows(_batch(["c", "a", "b"], ["{}", '{"x": 1}', "{}"]), "load-1", NOW)
    assert rows.schema == table_arrow_schema()
    assert rows.column_names == list(schema.column_names())
    assert rows.column("event_id").to_pylist() == ["a", "b", "c"]
    assert rows.column("event_data").to_pylist() == ['{"x": 1}', "{}", "{}"]
    assert set(rows.column("load_id").to_pylist()) == {"load-1"}


def test_row_sizes_grow_with_the_values_sent() -> None:
    small, large = row_sizes(
        table_rows(_batch(["a", "b"], ["{}", "{" + "x" * 500 + "}"]), "l", NOW)
    )
    assert large - small == 500
