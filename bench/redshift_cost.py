"""What the Redshift path costs and how close it runs to its quotas, per 1,000 events measured
against moto, then extrapolated to 10 and 10,000 events/s (1 KB events) by pure arithmetic.

Measured: the real ``RedshiftSink.write`` of generated 1 KB batches, with S3 on moto (PUTs,
DELETEs and bytes counted from botocore's own request events) and the Data API on
:class:`FakeRedshiftEngine` (moto implements no BatchExecuteStatement and runs no SQL: the fake
answers STARTED until a load has taken ``LOAD_SECONDS`` of the sink's own, controlled, polling
time), so the number of DescribeStatement polls is the sink's real backoff.

Prices and quotas (us-east-1, list prices, as documented when written):

* Redshift Serverless compute: $0.375 per RPU-hour, billed per second with a 60-second minimum
  charge, base capacity 8 RPUs the least (https://aws.amazon.com/redshift/pricing/,
  https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-billing.html). A load each minute
  therefore bills the base capacity all the time. Data API calls and COPY cost nothing beyond it.
* Data API quotas, per account and region (https://docs.aws.amazon.com/redshift/latest/mgmt/amazon-redshift-limits.html,
  "Quotas for Amazon Redshift Data API"): BatchExecuteStatement 20 and DescribeStatement 100
  requests per second.
* S3 Standard: PUT $0.005 per 1,000 requests, DELETE free, storage negligible for objects that
  live seconds (https://aws.amazon.com/s3/pricing/).
* Writers of the table are serialized by ``LOCK`` (sinks/redshift_sql.py), so loads must each
  finish within the interval between them: that interval is reported as the time budget.
"""

from __future__ import annotations

import json
import math
import random
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

RPU_HOUR_USD = 0.375
MIN_CHARGE_S = 60.0
BASE_RPU = 8
BATCH_EXECUTE_TPS = 20.0
DESCRIBE_TPS = 100.0
S3_PUT_PER_1000_USD = 0.005
SECONDS_PER_MONTH = 730 * 3600.0
EVENT_BYTES = 1024
STREAM_INTERVAL_S = 60.0  # the stream function's schedule (every minute)
LOAD_SECONDS = 2.0  # assumed duration of one COPY + merge on the base capacity


@dataclass(frozen=True)
class Usage:
    """Requests and bytes per 1,000 events of the Redshift write path, measured with loads of
    ``batch_size`` events."""

    batch_size: int
    batch_executes: float
    describes: float
    s3_puts: float
    s3_deletes: float
    s3_bytes: float

    @property
    def data_api_requests(self) -> float:
        return self.batch_executes + self.describes


@dataclass(frozen=True)
class Projection:
    """One rate's month: cost (USD) and headroom (quota / need; < 1 means throttled)."""

    events_per_s: float
    batch_size: int
    loads_per_s: float
    compute_usd: float
    s3_usd: float
    batch_execute_headroom: float
    describe_headroom: float
    load_budget_s: float  # the time one load may take, loads being serialized by LOCK

    @property
    def total_usd(self) -> float:
        return self.compute_usd + self.s3_usd


def loads_per_second(events_per_s: float, batch_size: int) -> float:
    """Loads a second when each scheduled run drains its minute's events in full batches."""
    per_run = events_per_s * STREAM_INTERVAL_S
    return math.ceil(per_run / batch_size) / STREAM_INTERVAL_S


def compute_usd(loads_per_s: float, load_seconds: float, base_rpu: int = BASE_RPU) -> float:
    """A month of Serverless compute: each load bills at least the minimum charge, and the
    workgroup cannot be billed for more than the whole month at its base capacity (pure)."""
    busy = min(1.0, loads_per_s * max(load_seconds, MIN_CHARGE_S))
    return busy * SECONDS_PER_MONTH / 3600 * base_rpu * RPU_HOUR_USD


def project(usage: Usage, events_per_s: float, batch_size: int, load_seconds: float) -> Projection:
    """The month at ``events_per_s`` from the per-1,000-event usage (pure)."""
    loads = loads_per_second(events_per_s, batch_size)
    # Polls and objects are per load (its duration, not its size, sets the polls).
    measured_per_load = usage.batch_size / 1000
    describes_per_s = loads * usage.describes * measured_per_load
    puts_per_s = loads * usage.s3_puts * measured_per_load
    return Projection(
        events_per_s=events_per_s,
        batch_size=batch_size,
        loads_per_s=loads,
        compute_usd=compute_usd(loads, load_seconds),
        s3_usd=puts_per_s * SECONDS_PER_MONTH / 1000 * S3_PUT_PER_1000_USD,
        batch_execute_headroom=BATCH_EXECUTE_TPS / loads,
        describe_headroom=DESCRIBE_TPS / describes_per_s,
        load_budget_s=1 / loads,
    )


class FakeRedshiftEngine:
    """A fake Redshift Data API (moto has no BatchExecuteStatement and runs no SQL): every load
    is STARTED until ``load_seconds`` of the caller's sleeps have passed, then FINISHED."""

    def __init__(self, load_seconds: float) -> None:
        self.load_seconds = load_seconds
        self.clock = 0.0
        self.calls: Counter[str] = Counter()
        self._ends: dict[str, float] = {}

    def sleep(self, seconds: float) -> None:
        self.clock += seconds

    def batch_execute_statement(self, **_: Any) -> dict[str, Any]:
        self.calls["BatchExecuteStatement"] += 1
        statement_id = str(uuid.uuid4())
        self._ends[statement_id] = self.clock + self.load_seconds
        return {"Id": statement_id}

    def describe_statement(self, *, Id: str) -> dict[str, Any]:
        self.calls["DescribeStatement"] += 1
        done = self.clock >= self._ends[Id]
        return {"Id": Id, "Status": "FINISHED" if done else "STARTED"}


def _batch(size: int, start: int) -> Any:
    """A pipeline batch of ``size`` ~1 KB events."""
    from platform_events.pipeline import batch as batches
    from platform_events.sinks import schema

    now = datetime.now(UTC)
    columns: dict[str, list[Any]] = {n: [None] * size for n in schema.batch_column_names()}
    rng = random.Random(start)
    # With the other columns ~1 KB of NDJSON an event; random text, so gzip does not flatter it.
    padding = [rng.randbytes(350).hex() for _ in range(size)]
    columns.update(
        event_id=[str(uuid.UUID(int=start + i + 1)) for i in range(size)],
        event_type=["page.viewed"] * size,
        event_category=["navigation"] * size,
        schema_version=[1] * size,
        user_id=[f"user_{(start + i) % 997}" for i in range(size)],
        session_id=[f"s{(start + i) % 101}" for i in range(size)],
        occurred_at=[now] * size,
        received_at=[now] * size,
        event_data=[
            json.dumps({"path": f"/p/{start + i}", "title": padding[i]}) for i in range(size)
        ],
        metadata=['{"source": "bench"}'] * size,
    )
    return batches.to_arrow(batches.ClaimedBatch(columns), {})


def measure(events: int, batch_size: int = 1000, load_seconds: float = LOAD_SECONDS) -> Usage:
    """Write ``events`` through the real sink (S3 on moto, the Data API faked): per 1,000."""
    import boto3
    from moto import mock_aws

    from platform_events.sinks.redshift import RedshiftSink

    s3_calls: Counter[str] = Counter()
    s3_bytes = 0

    def count(model: Any, **_: Any) -> None:
        s3_calls[model.name] += 1

    def size(params: dict[str, Any], **_: Any) -> None:
        nonlocal s3_bytes
        s3_bytes += len(params["Body"])

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="pe-bench")
        s3.meta.events.register("before-call.s3.*", count)
        s3.meta.events.register("provide-client-params.s3.PutObject", size)
        engine = FakeRedshiftEngine(load_seconds)
        sink = RedshiftSink(
            data_api=engine,
            s3=s3,
            database="dev",
            bucket="pe-bench",
            iam_role="arn:aws:iam::123456789012:role/copy",
            workgroup="bench",
            sleep=engine.sleep,
        )
        sink._table_checked = True  # the table exists; ensure_table is one statement a process
        for start in range(0, events, batch_size):
            sink.write(_batch(min(batch_size, events - start), start))
    per = 1000 / events
    return Usage(
        batch_size=batch_size,
        batch_executes=engine.calls["BatchExecuteStatement"] * per,
        describes=engine.calls["DescribeStatement"] * per,
        s3_puts=s3_calls["PutObject"] * per,
        s3_deletes=s3_calls["DeleteObject"] * per,
        s3_bytes=s3_bytes * per,
    )
