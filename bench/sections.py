"""The benchmark sections: each measures, then adds its figures (with baselines and targets).

Sections run in this order and share one scratch database; ``reads`` and ``aggregation`` use the
cached big dataset and ``retention`` a clone of the cached retention template. ``peer`` works in a
scratch database of its own (our schema beside pgmq's), ``claim_history`` in a clone of the cached
history template and an empty database.
"""

from __future__ import annotations

import itertools
import math
import shutil
import statistics
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bench import (
    aggregation,
    baseline,
    bigquery_cost,
    bigquery_delivery,
    claim_history,
    datasets,
    drain,
    emit,
    http_ingest,
    peer_pgmq,
    reads,
    redshift_cost,
    retention,
    stats,
    streaming,
)
from bench.report import Figure, Progress, Report, Target
from bench.server import Server
from bench.sizes import Sizes
from platform_events.client import Event
from platform_events.traffic import generate


@dataclass
class Context:
    server: Server
    scratch: str
    sizes: Sizes
    report: Report
    progress: Progress
    rebuild: bool = False
    work: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="pe-bench-")))
    dropped: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url(self.scratch)

    def close(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)


def _events(count: int, seed: int) -> list[Event]:
    """``count`` marketplace events from the traffic generator (distinct ids per seed)."""
    return list(itertools.islice(generate(max(50, count // 25), 30, seed=seed), count))


def _ms(seconds: list[float], fraction: float) -> float:
    return stats.percentile(seconds, fraction) * 1000


def write(ctx: Context) -> None:
    """Raw COPY vs the client's batched path; raw INSERT vs one emit; the naive claim loop."""
    s, say, add = ctx.sizes, ctx.progress.say, ctx.report.add
    total = s.write_events + 2 * s.single_calls + s.http_events
    say(f"write: generating {total:,} marketplace events")
    events = _events(total, seed=11)
    batch = events[: s.write_events]
    singles = events[s.write_events : s.write_events + 2 * s.single_calls]
    posted = events[s.write_events + 2 * s.single_calls :]
    with ctx.server.connect(ctx.scratch) as conn:
        say("write: raw COPY (events + ledger), first run")
        copy_first = baseline.raw_copy(conn, batch)
        say("write: raw COPY (events table only)")
        copy_events = baseline.raw_copy(conn, batch, with_ledger=False)
        say("write: client batched path, 1 connection")
        one = emit.batched(conn, ctx.url, batch, 1)
        say("write: client batched path, 2 connections")
        two = emit.batched(conn, ctx.url, batch, 2)
        say(f"write: naive claim + acknowledge loop over {len(batch):,} events")
        drained, marks = baseline.naive_claim_loop(conn, s.batch_size)
        say("write: raw COPY (events + ledger), second run")
        copy_second = baseline.raw_copy(conn, batch)
        say(
            f"write: {s.single_calls:,} raw INSERTs, then {s.single_calls:,} emit_platform_event calls"
        )
        baseline.reset(conn)
        raw = baseline.raw_insert_latencies(conn, singles[: s.single_calls])
        ours = emit.single_latencies(conn, singles[s.single_calls :])
    # Last, so its events join no backlog another figure drains.
    say(f"write: HTTP ingest through serve, {http_ingest.CLIENTS} clients, batches of 100")
    http_rate, http_latencies = http_ingest.run(ctx.url, posted)
    copy = (copy_first + copy_second) / 2
    add(
        Figure(
            "baseline.copy",
            "raw COPY (events + ledger)",
            copy,
            "events/s",
            details={"first": copy_first, "second": copy_second, "events": len(batch)},
        )
    )
    add(
        Figure(
            "baseline.copy_events_only",
            "raw COPY (events table only)",
            copy_events,
            "events/s",
            baseline="baseline.copy",
        )
    )
    emit_targets = (
        Target(">= 0.7x raw COPY", 0.7, "min", "ratio"),
        Target(">= 20,000/s", 20_000, "min"),
    )
    add(
        Figure(
            "emit.batched_1",
            "emit: client batched, 1 conn",
            one,
            "events/s",
            "baseline.copy",
            emit_targets,
        )
    )
    add(
        Figure(
            "emit.batched_2",
            "emit: client batched, 2 conns",
            two,
            "events/s",
            "baseline.copy",
            emit_targets,
        )
    )
    add(
        Figure(
            "ingest.http_batch_100",
            f"HTTP ingest via serve ({http_ingest.CLIENTS} clients, batches of 100)",
            http_rate,
            "events/s",
            "emit.batched_2",
            details={"events": len(posted), "requests": len(http_latencies)},
        )
    )
    add(
        Figure(
            "ingest.http_p99",
            "HTTP ingest via serve, one batch of 100, p99",
            _ms(http_latencies, 0.99),
            "ms",
            details={"p50_ms": _ms(http_latencies, 0.5), "max_ms": max(http_latencies) * 1000},
        )
    )
    add(Figure("baseline.insert_p50", "raw INSERT, one event, p50", _ms(raw, 0.5), "ms"))
    add(Figure("baseline.insert_p99", "raw INSERT, one event, p99", _ms(raw, 0.99), "ms"))
    add(
        Figure(
            "emit.single_p50",
            "emit_platform_event p50",
            _ms(ours, 0.5),
            "ms",
            "baseline.insert_p50",
        )
    )
    add(
        Figure(
            "emit.single_p99",
            "emit_platform_event p99",
            _ms(ours, 0.99),
            "ms",
            "baseline.insert_p99",
            (Target("< 5 ms", 5.0, "max"),),
            {"max_ms": max(ours) * 1000, "calls": len(ours)},
        )
    )
    start, end = stats.window_rates(marks)
    add(
        Figure(
            "baseline.naive_claim",
            "naive claim + ack loop (seed shape)",
            stats.rate(drained, marks[-1][0]) if marks else math.nan,
            "events/s",
            details={
                "events": drained,
                "batch_size": s.batch_size,
                "start_rate": start,
                "end_rate": end,
            },
        )
    )


def stream(ctx: Context) -> None:
    """1 and 2 workers draining a backlog to DuckDB; emit-to-warehouse latency under load."""
    s, say, add = ctx.sizes, ctx.progress.say, ctx.report.add
    with ctx.server.connect(ctx.scratch) as conn:
        say(f"stream: loading a backlog of {s.stream_events:,} pending events")
        streaming.load_backlog(conn, s.stream_events, ctx.progress)
        say("stream: 1 worker draining it")
        one = streaming.drain_one(conn, ctx.url, ctx.work, s.batch_size)
        say(
            f"stream: 1 worker delivered {one.delivered:,} in {one.seconds:.1f}s; requeueing for 2 workers"
        )
        streaming.requeue(conn)
        two = streaming.drain_two(conn, ctx.url, ctx.work, s.batch_size)
        say(f"stream: 2 workers delivered {two.per_worker} in {two.seconds:.1f}s")
        count = int(s.steady_rate * s.steady_seconds)
        say(f"stream: latency at a steady {s.steady_rate:,} events/s for {s.steady_seconds:.0f}s")
        latencies = streaming.steady_latency(
            conn,
            ctx.url,
            ctx.work,
            _events(count, seed=23),
            rate=s.steady_rate,
            batch_size=s.batch_size,
        )
    rate_one = stats.rate(one.delivered, one.seconds)
    start, end = stats.window_rates(one.marks)
    add(
        Figure(
            "stream.one_worker",
            "stream: 1 worker, end to end",
            rate_one,
            "events/s",
            "baseline.naive_claim",
            (Target(">= 10,000/s", 10_000, "min"),),
            {
                "events": one.delivered,
                "seconds": one.seconds,
                "batch_size": s.batch_size,
                "warehouse_rows": one.warehouse_rows,
                "warehouse_distinct": one.warehouse_distinct,
            },
        )
    )
    add(
        Figure("stream.one_worker_start", "stream: 1 worker, first 10% of drain", start, "events/s")
    )
    add(
        Figure(
            "stream.one_worker_end",
            "stream: 1 worker, last 10% of drain",
            end,
            "events/s",
            "stream.one_worker_start",
            (Target("flat: >= 0.8x start", 0.8, "min", "ratio"),),
        )
    )
    add(
        Figure(
            "stream.two_workers",
            "stream: 2 workers, end to end",
            stats.rate(two.delivered, two.seconds),
            "events/s",
            "stream.one_worker",
            (Target("> 1 worker", 1.0, "min", "ratio"),),
            {
                "per_worker": two.per_worker,
                "seconds": two.seconds,
                "warehouse_rows": two.warehouse_rows,
                "warehouse_distinct": two.warehouse_distinct,
            },
        )
    )
    add(
        Figure(
            "stream.two_workers_duplicates",
            "stream: 2 workers, duplicates in warehouse",
            float(two.warehouse_rows - two.warehouse_distinct),
            "events",
            targets=(Target("none", 1, "max"),),
            details={"missing": s.stream_events - two.warehouse_distinct},
        )
    )
    add(
        Figure(
            "stream.latency_p50",
            "emit -> warehouse p50 (steady load)",
            _ms(latencies, 0.5),
            "ms",
            details={"rate": s.steady_rate, "events": len(latencies)},
        )
    )
    add(
        Figure(
            "stream.latency_p99",
            "emit -> warehouse p99 (steady load)",
            _ms(latencies, 0.99),
            "ms",
            details={"max_ms": max(latencies) * 1000 if latencies else math.nan},
        )
    )


def _dataset(ctx: Context) -> tuple[str, dict[str, object]]:
    return datasets.events_dataset(
        ctx.server, ctx.sizes.dataset_events, ctx.progress, rebuild=ctx.rebuild
    )


def read(ctx: Context) -> None:
    """Dashboard metrics and query_events over the big dataset."""
    s, say, add = ctx.sizes, ctx.progress.say, ctx.report.add
    database, marker = _dataset(ctx)
    stored = f"{int(marker['events']):,} events"  # type: ignore[call-overload]
    with ctx.server.connect(database) as conn:
        say(f"reads: dashboard metrics x{s.read_repeat} over {stored}")
        ours, raw = reads.dashboard(conn, s.read_repeat)
        say(f"reads: query_events, 5 shapes x{s.read_repeat}")
        shapes = reads.query_shapes(conn, s.read_repeat)
    add(
        Figure(
            "reads.raw_dashboard_p99",
            "dashboard from raw events, p99",
            _ms(raw, 0.99),
            "ms",
            details={"p50_ms": _ms(raw, 0.5), "stored": marker["events"]},
        )
    )
    add(Figure("reads.dashboard_p50", "dashboard metrics p50", _ms(ours, 0.5), "ms"))
    add(
        Figure(
            "reads.dashboard_p99",
            "dashboard metrics p99",
            _ms(ours, 0.99),
            "ms",
            "reads.raw_dashboard_p99",
            (Target("< 10 ms", 10.0, "max"),),
            {"stored": marker["events"], "calls": len(ours)},
        )
    )
    all_ours = [x for o, _ in shapes.values() for x in o]
    all_raw = [x for _, r in shapes.values() for x in r]
    per_shape = {
        name: {
            "p50_ms": _ms(o, 0.5),
            "p99_ms": _ms(o, 0.99),
            "raw_p50_ms": _ms(r, 0.5),
            "raw_p99_ms": _ms(r, 0.99),
        }
        for name, (o, r) in shapes.items()
    }
    add(Figure("reads.raw_query_p50", "hand-written SQL per filter, p50", _ms(all_raw, 0.5), "ms"))
    add(Figure("reads.raw_query_p99", "hand-written SQL per filter, p99", _ms(all_raw, 0.99), "ms"))
    add(
        Figure(
            "reads.query_events_p50",
            "query_events p50 (5 shapes)",
            _ms(all_ours, 0.5),
            "ms",
            "reads.raw_query_p50",
            details={"shapes": per_shape},
        )
    )
    add(
        Figure(
            "reads.query_events_p99",
            "query_events p99 (5 shapes)",
            _ms(all_ours, 0.99),
            "ms",
            "reads.raw_query_p99",
        )
    )


def aggregate(ctx: Context) -> None:
    """aggregate_events_hourly over the dataset's dense hour, per 100,000 events."""
    s, say, add = ctx.sizes, ctx.progress.say, ctx.report.add
    database, marker = _dataset(ctx)
    hour = datetime.fromisoformat(str(marker["details"]["dense_hour"]))  # type: ignore[index]
    with ctx.server.connect(database) as conn:
        n = aggregation.hour_events(conn, hour)
        say(f"aggregation: the busy hour ({n:,} events) x{s.aggregate_repeat}")
        ours, raw = aggregation.aggregate_hour(conn, hour, s.aggregate_repeat)
    scale = 100_000 / max(n, 1)
    add(
        Figure(
            "aggregation.raw_per_100k",
            "GROUP BY of the hour, per 100k events",
            statistics.median(raw) * scale,
            "s",
            details={"events": n},
        )
    )
    add(
        Figure(
            "aggregation.per_100k",
            "hourly aggregation per 100k events",
            statistics.median(ours) * scale,
            "s",
            "aggregation.raw_per_100k",
            (Target("< 1 s", 1.0, "max"),),
            {"events": n, "runs_s": ours},
        )
    )


def expire(ctx: Context) -> None:
    """Retention of the expired events of a clone, with an emitter writing throughout."""
    s, say, add = ctx.sizes, ctx.progress.say, ctx.report.add
    template, marker = datasets.retention_template(
        ctx.server, s.retention_events, ctx.progress, rebuild=ctx.rebuild
    )
    clone = f"{ctx.scratch}_retention"
    say(f"retention: cloning {template}")
    url = ctx.server.clone(template, clone)
    ctx.dropped.append(clone)
    say(
        f"retention: emitter alone {s.retention_alone_seconds:.0f}s, then retention of {s.retention_events:,} expired events"
    )
    run = retention.run(
        url, ctx.work, alone_seconds=s.retention_alone_seconds, batch_size=s.retention_batch
    )
    ctx.server.drop(clone)
    say("retention: again on a fresh clone, alone, for its WAL")
    url = ctx.server.clone(template, clone)
    alone = retention.quiet(url, ctx.work, batch_size=s.retention_batch)
    ctx.server.drop(clone)
    say(
        f"retention: deleted {run.deleted:,} in {run.seconds:.1f}s; slowest emit {max(run.during, default=0) * 1000:.1f} ms"
    )
    add(
        Figure(
            "retention.emit_max_alone",
            "emit, slowest call, no retention",
            max(run.alone, default=math.nan) * 1000,
            "ms",
            details={"p99_ms": _ms(run.alone, 0.99), "calls": len(run.alone)},
        )
    )
    add(
        Figure(
            "retention.emit_max_during",
            "emit, slowest call during retention",
            max(run.during, default=math.nan) * 1000,
            "ms",
            "retention.emit_max_alone",
            (
                Target("< 100 ms", 100.0, "max"),
                Target("<= 2x the slowest alone", 2.0, "max", "ratio"),
            ),
            {
                "p99_ms": _ms(run.during, 0.99),
                "p50_ms": _ms(run.during, 0.5),
                "calls": len(run.during),
            },
        )
    )
    add(
        Figure(
            "retention.wal_bytes_per_event",
            "retention: WAL written per expired event",
            alone.wal_bytes_per_event,
            "bytes",
            targets=(Target("< 10 bytes (whole partitions)", 10.0, "max"),),
            details={
                "wal_bytes": alone.wal_bytes,
                "seconds": alone.seconds,
                "expired": alone.deleted,
                "row_deleted": alone.result.get("deleted_total"),
                "partition_deleted": alone.result.get("partition_events_deleted"),
            },
        )
    )
    add(
        Figure(
            "retention.rate",
            "retention: expired events removed",
            stats.rate(run.deleted, run.seconds),
            "events/s",
            details={
                "deleted": run.deleted,
                "seconds": run.seconds,
                "expired_left": run.expired_left,
                "partitions": run.result.get("partitions"),
                "batches": run.result.get("batches"),
                "layout": marker["details"],
            },
        )
    )


def redshift(ctx: Context) -> None:
    """The Redshift path's requests per 1,000 events (the real sink; S3 on moto, the Data API
    faked), then its month and quota headroom at 10 and 10,000 events/s (bench/redshift_cost.py
    cites the prices and quotas)."""
    s, say, add = ctx.sizes, ctx.progress.say, ctx.report.add
    say(f"redshift: writing {s.redshift_events:,} events through the sink, S3 on moto")
    usage = redshift_cost.measure(s.redshift_events, s.batch_size)
    measured = {"events": s.redshift_events, "batch_size": usage.batch_size}
    assumptions = {
        "load_seconds": redshift_cost.LOAD_SECONDS,
        "event_bytes": redshift_cost.EVENT_BYTES,
        "base_rpu": redshift_cost.BASE_RPU,
        "rpu_hour_usd": redshift_cost.RPU_HOUR_USD,
        "batch_execute_tps": redshift_cost.BATCH_EXECUTE_TPS,
        "describe_tps": redshift_cost.DESCRIBE_TPS,
        "s3_put_per_1000_usd": redshift_cost.S3_PUT_PER_1000_USD,
    }
    add(
        Figure(
            "redshift.data_api_requests_per_1k",
            "Redshift: Data API requests per 1k events",
            usage.data_api_requests,
            "requests",
            details={
                **measured,
                "batch_executes": usage.batch_executes,
                "describes": usage.describes,
            },
        )
    )
    add(
        Figure(
            "redshift.s3_requests_per_1k",
            "Redshift: S3 requests per 1k events",
            usage.s3_puts + usage.s3_deletes,
            "requests",
            details={**measured, "puts": usage.s3_puts, "deletes": usage.s3_deletes},
        )
    )
    add(
        Figure(
            "redshift.s3_bytes_per_1k",
            "Redshift: S3 bytes staged per 1k events",
            usage.s3_bytes,
            "bytes",
            details=measured,
        )
    )
    # 10 events/s: one load a minute. 10,000 events/s: loads are serialized by LOCK, so the
    # largest batch (STREAM_BATCH_SIZE 50,000) is what leaves each load seconds to finish.
    for key, rate, batch in (("10_eps", 10.0, s.batch_size), ("10k_eps", 10_000.0, 50_000)):
        month = redshift_cost.project(usage, rate, batch, redshift_cost.LOAD_SECONDS)
        small = redshift_cost.project(usage, rate, s.batch_size, redshift_cost.LOAD_SECONDS)
        details = {
            **assumptions,
            "events_per_s": rate,
            "batch_size": batch,
            "loads_per_s": month.loads_per_s,
            "compute_usd": month.compute_usd,
            "s3_usd": month.s3_usd,
            "describe_headroom": month.describe_headroom,
            "load_budget_s": month.load_budget_s,
            f"load_budget_s_at_batch_{s.batch_size}": small.load_budget_s,
        }
        add(
            Figure(
                f"redshift.monthly_usd_{key}",
                f"Redshift: month at {rate:,.0f} events/s",
                month.total_usd,
                "USD",
                details=details,
            )
        )
        add(
            Figure(
                f"redshift.quota_headroom_{key}",
                f"Redshift: Data API headroom at {rate:,.0f} events/s",
                min(month.batch_execute_headroom, month.describe_headroom),
                "x",
                details=details,
            )
        )
        add(
            Figure(
                f"redshift.load_budget_{key}",
                f"Redshift: time a load may take at {rate:,.0f} events/s",
                month.load_budget_s,
                "s",
                targets=(
                    Target(
                        f">= {redshift_cost.LOAD_SECONDS:g} s", redshift_cost.LOAD_SECONDS, "min"
                    ),
                ),
                details=details,
            )
        )


# BigQuery delivery is projected at these steady rates of 1 KB events (DESIGN targets), and at
# the batch size that keeps one PENDING stream per batch inside the CreateWriteStream quota.
BIGQUERY_RATES = (10, 10_000)
BIGQUERY_BATCH = 5_000


def bigquery(ctx: Context) -> None:
    """BigQuery delivery's API requests and bytes per 1,000 events (counted at the transport,
    official clients against bqemulator), and from them monthly cost and quota headroom."""
    s, say, add = ctx.sizes, ctx.progress.say, ctx.report.add
    say(f"bigquery: delivering {s.bigquery_events:,} events in batches of {s.batch_size:,}")
    traffic, seconds = bigquery_delivery.measure(ctx.work, s.bigquery_events, s.batch_size, say)
    requests = traffic.per_1000(traffic.requests)
    sent = traffic.per_1000(traffic.request_bytes)
    add(
        Figure(
            "bigquery.requests_per_1000",
            "bigquery: API requests per 1,000 events",
            sum(requests.values()),
            "requests",
            details={"by_method": requests, "events": traffic.events, "seconds": seconds},
        )
    )
    add(
        Figure(
            "bigquery.bytes_per_1000",
            "bigquery: request bytes per 1,000 events",
            sum(sent.values()),
            "bytes",
            details={
                "by_method": sent,
                "row_value_bytes": traffic.row_bytes * 1000 / traffic.events,
                "overhead_bytes_per_event": traffic.overhead_per_event,
            },
        )
    )
    add(
        Figure(
            "bigquery.dml_in_delivery",
            "bigquery: queries/DML during delivery",
            traffic.queries,
            "statements",
            targets=(Target("no DML in steady-state delivery", 1, "max"),),
        )
    )
    for rate in BIGQUERY_RATES:
        at_default = bigquery_cost.project(traffic, rate, batch_size=s.batch_size)
        at = bigquery_cost.project(traffic, rate, batch_size=BIGQUERY_BATCH)
        add(
            Figure(
                f"bigquery.list_price_{rate}",
                f"bigquery: Storage Write list price, {rate:,}/s of 1 KB",
                at.list_price,
                "USD/month",
            )
        )
        add(
            Figure(
                f"bigquery.monthly_cost_{rate}",
                f"bigquery: monthly cost at {rate:,} events/s",
                at.monthly_cost,
                "USD/month",
                f"bigquery.list_price_{rate}",
                (Target("<= 1.1x list price", 1.1, "max", "ratio"),) if at.list_price else (),
                {
                    "billed_gib_per_month": at.billed_bytes_per_month / bigquery_cost.GIB,
                    "free_tib_per_month": bigquery_cost.FREE_BYTES_PER_MONTH / bigquery_cost.TIB,
                    "price_per_gib": bigquery_cost.PRICE_PER_GIB,
                    "requests_per_s": at.requests_per_s,
                },
            )
        )
        add(
            Figure(
                f"bigquery.quota_headroom_{rate}",
                f"bigquery: tightest quota headroom at {rate:,}/s",
                min(at.throughput_headroom, at.connection_headroom, at.create_stream_headroom),
                "x",
                targets=(Target(">= 1x every quota", 1.0, "min"),),
                details={
                    "batch_size": BIGQUERY_BATCH,
                    "appendrows_throughput": at.throughput_headroom,
                    "concurrent_connections": at.connection_headroom,
                    "create_write_stream": at.create_stream_headroom,
                    "create_write_streams_per_hour": at.create_streams_per_hour,
                    "min_batch_size_for_create_write_stream_quota": at.min_batch_for_stream_quota,
                    "create_write_stream_at_default_batch": at_default.create_stream_headroom,
                    "default_batch_size": s.batch_size,
                },
            )
        )


def peer(ctx: Context) -> None:
    """Our batched ingest and claim + acknowledge drain beside pgmq's send_batch and read +
    archive, on the same events, in alternating rounds (bench/peer_pgmq.py)."""
    s, say, add = ctx.sizes, ctx.progress.say, ctx.report.add
    database = f"{ctx.scratch}_pgmq"
    ctx.dropped.append(database)
    ctx.server.create(database)
    say(f"peer: generating {s.peer_events:,} marketplace events")
    events = _events(s.peer_events, seed=31)
    with ctx.server.connect(database) as conn:
        release = peer_pgmq.install(conn)
        say(
            f"peer: pgmq {release} (package {peer_pgmq.VERSION}) installed in {database}; "
            f"{s.peer_rounds} rounds of {len(events):,} events, {drain.CALL_SIZE:,} per call"
        )
        rates = peer_pgmq.run(conn, events, s.peer_rounds, ctx.progress)
    ctx.server.drop(database)
    ours_ingest, pgmq_ingest = (
        stats.Rounds(tuple(rates.ours_ingest)),
        stats.Rounds(tuple(rates.pgmq_ingest)),
    )
    ours_drain, pgmq_drain = (
        stats.Rounds(tuple(d.rate for d in rates.ours_drain)),
        stats.Rounds(tuple(d.rate for d in rates.pgmq_drain)),
    )
    common = {
        "events": len(events),
        "per_call": drain.CALL_SIZE,
        "connections": 1,
        "pgmq_package": peer_pgmq.VERSION,
        "pgmq_sql": release,
        "order": rates.order,
    }
    add(
        Figure(
            "peer.pgmq_send_batch",
            f"pgmq send_batch, {drain.CALL_SIZE:,} per call",
            pgmq_ingest.median,
            "events/s",
            details={**common, **pgmq_ingest.details()},
        )
    )
    add(
        Figure(
            "peer.pgmq_send_batch_list",
            "pgmq send_batch, list of Jsonb (its Python client's encoding)",
            stats.Rounds(tuple(rates.pgmq_ingest_list)).median,
            "events/s",
            "peer.pgmq_send_batch",
            details={**common, **stats.Rounds(tuple(rates.pgmq_ingest_list)).details()},
        )
    )
    add(
        Figure(
            "peer.pgmq_ingest",
            f"ours: batched emit, {drain.CALL_SIZE:,} per call (vs pgmq)",
            ours_ingest.median,
            "events/s",
            "peer.pgmq_send_batch",
            (Target(">= 1.5x pgmq send_batch", 1.5, "min", "ratio"),),
            {
                **common,
                **ours_ingest.details(),
                "ratio_per_round": _ratios(rates.ours_ingest, rates.pgmq_ingest),
            },
        )
    )
    add(
        Figure(
            "peer.pgmq_read_archive",
            f"pgmq read + archive, {drain.CALL_SIZE:,} a batch",
            pgmq_drain.median,
            "events/s",
            details={
                **common,
                "vt_s": peer_pgmq.VT_SECONDS,
                **pgmq_drain.details(),
                "windows": _windows(rates.pgmq_drain),
            },
        )
    )
    add(
        Figure(
            "peer.pgmq_drain",
            f"ours: claim + acknowledge, {drain.CALL_SIZE:,} a batch (vs pgmq)",
            ours_drain.median,
            "events/s",
            "peer.pgmq_read_archive",
            (Target(">= 1x pgmq read + archive", 1.0, "min", "ratio"),),
            {
                **common,
                **ours_drain.details(),
                "ratio_per_round": _ratios(ours_drain.values, pgmq_drain.values),
                "windows": _windows(rates.ours_drain),
            },
        )
    )


def _ratios(ours: Sequence[float], theirs: Sequence[float]) -> list[float]:
    return [a / b if b else math.nan for a, b in zip(ours, theirs, strict=True)]


def _windows(drains: Sequence[drain.Drained]) -> list[dict[str, float]]:
    """Per round, the rates over the first and last tenth of the drain."""
    return [d.details() for d in drains]


def _history(ctx: Context) -> tuple[str, dict[str, object]]:
    return claim_history.history_template(
        ctx.server, ctx.sizes.history_events, ctx.progress, rebuild=ctx.rebuild
    )


def history(ctx: Context) -> None:
    """Claim + acknowledge of a fresh backlog with the history template's delivered events in the
    store, beside the same drain on an empty store (bench/claim_history.py)."""
    s, say, add = ctx.sizes, ctx.progress.say, ctx.report.add
    template, marker = _history(ctx)
    say(f"claim history: generating {s.history_rounds} backlogs of {s.history_backlog:,} events")
    events = _events(s.history_backlog * s.history_rounds, seed=37)
    backlogs = [
        events[n * s.history_backlog : (n + 1) * s.history_backlog] for n in range(s.history_rounds)
    ]
    ctx.dropped.extend([f"{ctx.scratch}_claim_empty", f"{ctx.scratch}_claim_history"])
    drains = claim_history.run(ctx.server, template, ctx.scratch, backlogs, say)
    empty = stats.Rounds(tuple(d.rate for d in drains.empty))
    full = stats.Rounds(tuple(d.rate for d in drains.history))
    common = {"backlog": s.history_backlog, "batch_size": drain.CALL_SIZE, "order": drains.order}
    add(
        Figure(
            "stream.claim_empty_store",
            "claim + acknowledge, empty store",
            empty.median,
            "events/s",
            details={
                **common,
                **empty.details(),
                "stored_before": drains.stored.get("empty"),
                "windows": _windows(drains.empty),
            },
        )
    )
    add(
        Figure(
            "stream.claim_with_history",
            f"claim + acknowledge, {int(marker['events']):,} delivered in store",  # type: ignore[call-overload]
            full.median,
            "events/s",
            "stream.claim_empty_store",
            (Target(">= 0.9x empty store", 0.9, "min", "ratio"),),
            {
                **common,
                **full.details(),
                "ratio_per_round": _ratios(full.values, empty.values),
                "windows": _windows(drains.history),
                "stored_before": drains.stored.get("history"),
                "history": marker["details"],
                "emit_seconds": drains.emit_seconds,
            },
        )
    )


def prepare(ctx: Context) -> None:
    """Build (or check) the cached datasets, so a timed run finds them ready."""
    _dataset(ctx)
    datasets.retention_template(
        ctx.server, ctx.sizes.retention_events, ctx.progress, rebuild=ctx.rebuild
    )
    _history(ctx)


SECTIONS: dict[str, Callable[[Context], None]] = {
    "write": write,
    "stream": stream,
    "reads": read,
    "aggregation": aggregate,
    "retention": expire,
    "redshift": redshift,
    "bigquery": bigquery,
    "peer": peer,
    "claim_history": history,
}
