"""pipeline/batch.py: claimed rows to an Arrow table, the claim's lease, per-batch metrics, with no I/O."""

from __future__ import annotations

import json
import uuid

from platform_events.pipeline.batch import ClaimedBatch, Lease, metrics, to_arrow
from platform_events.sinks import schema
from tests.builders import claimed_batch


def test_rows_become_an_arrow_table_with_the_warehouse_schema() -> None:
    table = to_arrow(claimed_batch(3), {"user_role": ["a", None, "b"]})
    assert table.schema == schema.batch_arrow_schema()
    assert table.column("user_role").to_pylist() == ["a", None, "b"]
    assert table.num_rows == 3


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
