"""Claimed rows to warehouse rows (Arrow, NDJSON) and per-batch metrics, with no I/O."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from platform_events.pipeline.batch import ClaimedBatch, Lease, metrics, to_arrow
from platform_events.sinks import erasure, rows, schema

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def claimed(n: int = 2) -> ClaimedBatch:
    names = [*schema.batch_column_names()]
    values: dict[str, Any] = dict.fromkeys(names)
    values.update(
        event_type="user.login",
        event_category="user_activity",
        schema_version=1,
        occurred_at=NOW,
        received_at=NOW,
        event_data='{"method": "password"}',
        metadata="{}",
    )
    return ClaimedBatch.from_rows(
        names, [[f"e{i}" if n_ == "event_id" else values[n_] for n_ in names] for i in range(n)]
    )


def test_rows_become_an_arrow_table_with_the_warehouse_schema() -> None:
    table = to_arrow(claimed(3), {"user_role": ["a", None, "b"]})
    assert table.schema == schema.batch_arrow_schema()
    assert table.column("user_role").to_pylist() == ["a", None, "b"]
    assert table.num_rows == 3


def test_every_sink_column_comes_from_the_schema_file() -> None:
    names = schema.column_names()
    assert names[0] == "event_id" and names[-2:] == ("load_id", "loaded_at")
    assert "session_event_index" in names and "country" in names


def test_ndjson_embeds_json_columns_as_json_and_adds_the_load_id() -> None:
    line = next(rows.ndjson_lines(to_arrow(claimed(1), {}), "load-1", NOW))
    row = json.loads(line)
    assert row["event_data"] == {"method": "password"} and row["load_id"] == "load-1"
    assert row["occurred_at"] == NOW.isoformat()


def test_metrics_count_delivered_and_failed_in_total_and_per_type() -> None:
    names, values, dims = metrics(["a", "a", "b"], [True, False, True])
    got = {(n, d): v for n, d, v in zip(names, dims, values, strict=True)}
    assert got == {
        ("events_delivered", "{}"): 2.0,
        ("events_delivered", '{"event_type": "a"}'): 1.0,
        ("events_delivered", '{"event_type": "b"}'): 1.0,
        ("events_failed", "{}"): 1.0,
        ("events_failed", '{"event_type": "a"}'): 1.0,
    }


def test_erasure_drops_personal_fields_and_the_user_id_wherever_it_appears() -> None:
    data, meta = erasure.scrub_row(
        "review.posted",
        json.dumps({"review_id": "r1", "comment": "Great work", "to": ["u9", "u1"]}),
        '{"ip": "1.2.3.0"}',
        "u9",
        own=True,
    )
    assert json.loads(data or "") == {"review_id": "r1", "to": [None, "u1"]}
    assert meta == erasure.ANONYMIZED_METADATA
    other, other_meta = erasure.scrub_row(
        "message.sent", '{"recipient_id": "u9"}', '{"k": 1}', "u9", own=False
    )
    assert json.loads(other or "") == {"recipient_id": None} and other_meta == '{"k": 1}'


def test_a_claim_carries_its_lease_apart_from_the_event_columns() -> None:
    batch_id, token = uuid.uuid4(), uuid.uuid4()
    names = ["batch_id", "lease_token", "attempt", "event_id", "event_type", "defect"]
    got = ClaimedBatch.from_rows(
        names,
        [
            [batch_id, token, 2, "e1", "user.login", None],
            [batch_id, token, 2, "e2", None, "the event row is missing"],
        ],
    )
    assert got.lease == Lease(batch_id, token, 2) and got.lease.load_id == str(batch_id)
    assert set(got.columns) == {"event_id", "event_type", "defect"}
    assert got.defects() == {"e2": "the event row is missing"}
    assert got.take([1]).event_ids == ["e2"] and got.take([1]).lease == got.lease


def test_metrics_count_an_event_without_a_type_in_the_totals_only() -> None:
    names, values, dims = metrics(["user.login", None], [True, True])  # type: ignore[list-item]
    assert list(zip(names, values, dims, strict=True)) == [
        ("events_delivered", 2.0, "{}"),
        ("events_delivered", 1.0, json.dumps({"event_type": "user.login"})),
    ]
