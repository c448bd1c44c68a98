"""The Redshift cost measurement drives the real sink: S3 on moto, the Data API faked with the
sink's own polling backoff (moto has no BatchExecuteStatement)."""

from __future__ import annotations

from bench import redshift_cost as rc


def test_one_load_per_batch_with_the_sinks_polls_and_one_staged_object() -> None:
    usage = rc.measure(3_000, batch_size=1_000, load_seconds=2.0)
    assert usage.batch_executes == 1.0
    assert usage.describes == 5.0  # polls at 0, 0.25, 0.75, 1.75, 3.75 s: FINISHED at the fifth
    assert (usage.s3_puts, usage.s3_deletes) == (1.0, 1.0)  # staged, then removed after the load
    assert 200_000 < usage.s3_bytes < 1_100_000  # ~1 KB events, gzipped


def test_longer_loads_cost_more_polls_not_more_loads() -> None:
    assert rc.measure(1_000, load_seconds=10.0).describes > rc.measure(1_000).describes
