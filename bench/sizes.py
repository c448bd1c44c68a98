"""How big each benchmark runs: the full preset (``make bench``), the quick one, overrides."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class Sizes:
    write_events: int = 60_000  # raw COPY, the batched path, then the naive claim loop
    single_calls: int = 2_000  # one-at-a-time emits (and raw inserts)
    http_events: int = 40_000  # posted through serve, 8 clients, Segment batches of 100
    stream_events: int = 300_000  # backlog drained by 1, then 2 workers
    batch_size: int = 1_000  # claim batch of the stream and the naive loop (STREAM_BATCH_SIZE)
    steady_rate: int = 2_000  # events/s written during the latency measurement
    steady_seconds: float = 15.0
    dataset_events: int = 10_000_000  # the cached read/aggregation dataset
    read_repeat: int = 150  # timed calls per read shape (300 made make bench take 7 minutes)
    aggregate_repeat: int = 3
    retention_events: int = 1_000_000  # expired events in the cached retention template
    retention_alone_seconds: float = 3.0  # emitter baseline window before retention starts
    retention_batch: int = 5_000  # events per type per delete batch (the job's default)
    redshift_events: int = 20_000  # written through the Redshift sink (S3 on moto) for its cost
    bigquery_events: int = 20_000  # delivered to the BigQuery emulator, API traffic counted
    peer_events: int = 50_000  # emitted and drained by us and by pgmq, each round
    peer_rounds: int = 3  # rounds of both, alternating which goes first
    history_events: int = 10_000_000  # delivered events in the cached history template
    history_backlog: int = 50_000  # pending events drained per round, with and without history
    history_rounds: int = 3


FULL = Sizes()
QUICK = Sizes(
    write_events=2_000,
    single_calls=100,
    http_events=1_600,
    stream_events=3_000,
    batch_size=500,
    steady_rate=500,
    steady_seconds=2.0,
    dataset_events=20_000,
    read_repeat=10,
    aggregate_repeat=1,
    retention_events=5_000,
    retention_alone_seconds=0.5,
    retention_batch=1_000,
    redshift_events=2_000,
    bigquery_events=2_000,
    peer_events=5_000,
    history_events=200_000,
    history_backlog=10_000,
)


def with_overrides(base: Sizes, overrides: dict[str, Any]) -> Sizes:
    """``base`` with the given fields replaced (None values ignored), typed as the field is."""
    types = {f.name: f.type for f in fields(Sizes)}
    values: dict[str, Any] = {}
    for name, value in overrides.items():
        if value is None:
            continue
        if name not in types:
            raise ValueError(f"unknown size {name!r}")
        values[name] = float(value) if types[name] in ("float", float) else int(value)
    return replace(base, **values)
