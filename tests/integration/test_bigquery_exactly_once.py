"""Exactly-once into BigQuery by protocol: a crash between any two steps of a batch's write, then a
second worker (a second sink instance) taking the batch over with the same checkpoint state, and
every event is in the table exactly once. Official clients against bqemulator; the checkpoint is
the in-memory one (the durable, lease-fenced one is the delivery batch's row in PostgreSQL)."""

from __future__ import annotations

import contextlib
import random
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import pyarrow as pa
import pytest

from platform_events.config import Settings
from platform_events.errors import LeaseLost
from platform_events.sinks.bigquery import BigQuerySink
from platform_events.sinks.checkpoints import InMemoryCheckpoint
from tests.integration.bigquery_support import PartitionFilterEnforcingClient, warehouse_batch

ROWS = 60
SMALL_CHUNKS = 2_000  # bytes per AppendRows request: a 60-row batch takes several requests


class Crash(BaseException):
    """The worker process dies here (BaseException: no handler of the sink catches it)."""


def _worker(settings: Settings) -> BigQuerySink:
    sink = BigQuerySink.from_settings(settings)
    sink.chunk_bytes = SMALL_CHUNKS
    return sink


def _crash_after(sink: BigQuerySink, method: str) -> None:
    real = getattr(sink.write_api, method)

    def crashing(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        raise Crash(method)

    setattr(sink.write_api, method, crashing)


def _crash_mid_append(sink: BigQuerySink) -> None:
    real = sink.write_api.append

    def half(stream: str, rows: pa.Table, chunks: list[tuple[int, int]]) -> Any:
        assert len(chunks) > 2
        real(stream, rows, chunks[: len(chunks) // 2])
        raise Crash("append")

    sink.write_api.append = half  # type: ignore[method-assign]


class CrashingCheckpoint(InMemoryCheckpoint):
    """Saves, then dies right after save number ``crash_on``."""

    def __init__(self, crash_on: int) -> None:
        super().__init__()
        self.crash_on = crash_on

    def save(self, state: Mapping[str, Any]) -> None:
        super().save(state)
        if self.saves == self.crash_on:
            raise Crash(f"save {self.crash_on}")


def _table_counts(sink: BigQuerySink) -> tuple[int, int]:
    row = next(
        iter(
            sink.client.query(
                f"SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM `{sink.table_id}` "
                "WHERE occurred_at BETWEEN TIMESTAMP '2000-01-01' AND TIMESTAMP '2100-01-01'"
            ).result()
        )
    )
    return int(row["n"]), int(row["d"])


def _shuffled(batch: pa.Table) -> pa.Table:
    """The same events re-claimed and re-enriched by another worker, in another order."""
    order = list(range(batch.num_rows))
    random.Random(7).shuffle(order)
    return batch.take(pa.array(order))


INJECTIONS: dict[str, Callable[[BigQuerySink], InMemoryCheckpoint]] = {}


def _injection(name: str) -> Callable[[Callable[..., InMemoryCheckpoint]], None]:
    def register(fn: Callable[[BigQuerySink], InMemoryCheckpoint]) -> None:
        INJECTIONS[name] = fn

    return register


@_injection("after create-stream and its save")
def _after_create(sink: BigQuerySink) -> InMemoryCheckpoint:
    return CrashingCheckpoint(crash_on=1)


@_injection("halfway through the appends")
def _mid_append(sink: BigQuerySink) -> InMemoryCheckpoint:
    _crash_mid_append(sink)
    return InMemoryCheckpoint()


@_injection("after the appends")
def _after_append(sink: BigQuerySink) -> InMemoryCheckpoint:
    _crash_after(sink, "append")
    return InMemoryCheckpoint()


@_injection("after finalize")
def _after_finalize(sink: BigQuerySink) -> InMemoryCheckpoint:
    _crash_after(sink, "finalize")
    return InMemoryCheckpoint()


@_injection("after the committing save, before the commit")
def _before_commit(sink: BigQuerySink) -> InMemoryCheckpoint:
    return CrashingCheckpoint(crash_on=2)


@_injection("after the commit")
def _after_commit(sink: BigQuerySink) -> InMemoryCheckpoint:
    _crash_after(sink, "commit")
    return InMemoryCheckpoint()


@_injection("before the acknowledgement")
def _before_ack(sink: BigQuerySink) -> InMemoryCheckpoint:
    return InMemoryCheckpoint()  # write returns; the worker dies before it acknowledges


@pytest.mark.parametrize("where", list(INJECTIONS))
def test_a_crash_anywhere_in_a_batch_write_then_a_takeover_leaves_every_event_once(
    where: str, bq_settings: Settings, enforcing: PartitionFilterEnforcingClient
) -> None:
    batch = warehouse_batch(ROWS)
    load_id = str(uuid.uuid4())  # the durable delivery batch's id: the same for both workers
    first = _worker(bq_settings)
    checkpoint = INJECTIONS[where](first)
    with contextlib.suppress(Crash):
        first.write(batch, load_id, checkpoint)
    first.close()
    second = _worker(bq_settings)
    taken_over = InMemoryCheckpoint(checkpoint.load())  # what the batch row in PostgreSQL holds
    assert second.write(_shuffled(batch), load_id, taken_over) == load_id
    assert _table_counts(second) == (ROWS, ROWS)
    again = InMemoryCheckpoint(taken_over.load())  # and a third takeover changes nothing
    _worker(bq_settings).write(batch, load_id, again)
    assert _table_counts(second) == (ROWS, ROWS)
    second.close()


def test_a_batch_that_was_committed_in_part_is_completed_without_duplicates(
    bq_settings: Settings, enforcing: PartitionFilterEnforcingClient
) -> None:
    """Worker 1 wrote the batch minus a row the warehouse refused, committed, died before the
    acknowledgement; worker 2 re-claims the whole batch: only the missing row is written."""
    batch = warehouse_batch(ROWS)
    load_id = str(uuid.uuid4())
    checkpoint = InMemoryCheckpoint()
    first = _worker(bq_settings)
    first.write(batch.slice(1), load_id, checkpoint)
    assert _table_counts(first) == (ROWS - 1, ROWS - 1)
    second = _worker(bq_settings)
    second.write(_shuffled(batch), load_id, InMemoryCheckpoint(checkpoint.load()))
    assert _table_counts(second) == (ROWS, ROWS)


class LeasedCheckpoint:
    """One delivery batch's state shared by workers, fenced like the batch row's lease token:
    a save by a worker whose lease passed to another raises LeaseLost and changes nothing."""

    def __init__(self, store: InMemoryCheckpoint, holder: list[int], token: int) -> None:
        self.store = store
        self.holder = holder
        self.token = token

    def load(self) -> Mapping[str, Any] | None:
        return self.store.load()

    def save(self, state: Mapping[str, Any]) -> None:
        if self.holder[0] != self.token:
            raise LeaseLost("the batch was re-claimed by another worker")
        self.store.save(state)


def test_a_stale_worker_that_lost_its_lease_mid_write_never_commits(
    bq_settings: Settings, enforcing: PartitionFilterEnforcingClient
) -> None:
    batch = warehouse_batch(ROWS)
    load_id = str(uuid.uuid4())
    store, holder = InMemoryCheckpoint(), [1]
    stale, successor = _worker(bq_settings), _worker(bq_settings)
    real_finalize = stale.write_api.finalize

    def slow_finalize(stream: str) -> int:
        rows = real_finalize(stream)
        holder[0] = 2  # the lease expired meanwhile: worker 2 re-claims and delivers the batch
        successor.write(_shuffled(batch), load_id, LeasedCheckpoint(store, holder, 2))
        return rows

    stale.write_api.finalize = slow_finalize  # type: ignore[method-assign]
    with pytest.raises(LeaseLost):
        stale.write(batch, load_id, LeasedCheckpoint(store, holder, 1))
    assert _table_counts(successor) == (ROWS, ROWS)
