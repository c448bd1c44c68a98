"""BigQuery delivery's monthly cost and quota headroom from measured API traffic (pure arithmetic).

Prices and quotas (list prices, default quotas; checked 2026-12):

* Storage Write API ingestion: $0.025 per GiB, the first 2 TiB a month free
  (https://cloud.google.com/bigquery/pricing#data_ingestion_pricing). CreateWriteStream,
  FinalizeWriteStream, BatchCommitWriteStreams and GetWriteStream are not billed.
* Storage Write API quotas per project (https://cloud.google.com/bigquery/quotas#write-api-limits):
  throughput 3 GB/s in the US/EU multi-regions (300 MB/s in other regions); concurrent
  connections 10,000 in the multi-regions (1,000 in other regions); CreateWriteStream 10,000
  streams every hour per project per region; AppendRows requests at most 10 MB;
  BatchCommitWriteStreams commits up to 10,000 streams per call (one here).

Billed bytes are taken as the AppendRows payload the sink sends (Arrow record batches): an upper
bound of the data size BigQuery bills, since Arrow adds offsets and validity bitmaps to the values.
A "1 KB event" is 1,024 bytes of values plus the measured per-event overhead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

GIB = 2**30
TIB = 2**40
SECONDS_PER_MONTH = 365.25 / 12 * 24 * 3600

PRICE_PER_GIB = 0.025
FREE_BYTES_PER_MONTH = 2 * TIB

THROUGHPUT_BYTES_PER_S = 3_000_000_000  # US/EU multi-region
CONCURRENT_CONNECTIONS = 10_000  # US/EU multi-region
CREATE_STREAMS_PER_HOUR = 10_000

# Methods billed by bytes ingested; every other Storage Write call is free.
BILLED_METHOD = "AppendRows"


@dataclass(frozen=True)
class Traffic:
    """API traffic measured at the RPC/HTTP level while delivering ``events`` events."""

    events: int
    batches: int  # delivery batches (one sink.write each)
    requests: dict[str, int] = field(default_factory=dict)  # method -> requests (messages)
    request_bytes: dict[str, int] = field(default_factory=dict)  # method -> bytes sent
    row_bytes: int = 0  # the rows' values (what a 1 KB event means)
    queries: int = 0  # query/DML jobs during delivery (billed by bytes scanned)

    def per_1000(self, counts: dict[str, int]) -> dict[str, float]:
        return {k: v * 1000 / self.events for k, v in sorted(counts.items())}

    @property
    def overhead_per_event(self) -> float:
        """AppendRows bytes sent per event beyond the row's values: Arrow's offsets and validity
        bitmaps and the request framing, per row and per value, not proportional to their size."""
        sent = self.request_bytes.get(BILLED_METHOD, 0)
        return max(0.0, sent - self.row_bytes) / self.events if self.events else 0.0


def ingest_cost(bytes_per_month: float) -> float:
    """USD a month for ``bytes_per_month`` ingested through the Storage Write API."""
    return max(0.0, bytes_per_month - FREE_BYTES_PER_MONTH) / GIB * PRICE_PER_GIB


def monthly_bytes(events_per_s: float, bytes_per_event: float) -> float:
    return events_per_s * bytes_per_event * SECONDS_PER_MONTH


@dataclass(frozen=True)
class Projection:
    """Cost and quota use at a steady ``events_per_s`` of ``event_bytes``-byte events."""

    events_per_s: float
    event_bytes: int
    batch_size: int
    billed_bytes_per_month: float
    monthly_cost: float
    list_price: float  # the Storage Write API's price of the events' bytes alone
    throughput_headroom: float  # quota / use
    connection_headroom: float
    create_stream_headroom: float
    create_streams_per_hour: float
    min_batch_for_stream_quota: int
    requests_per_s: dict[str, float]

    @property
    def cost_ratio(self) -> float:
        """Cost over list price (nan when both are free)."""
        if self.list_price == 0:
            return math.nan if self.monthly_cost == 0 else math.inf
        return self.monthly_cost / self.list_price


def project(
    traffic: Traffic,
    events_per_s: float,
    *,
    event_bytes: int = 1024,
    batch_size: int,
    worker_events_per_s: float = 10_000,
) -> Projection:
    """What the measured traffic per event costs and uses at ``events_per_s``."""
    billed_per_event = event_bytes + traffic.overhead_per_event
    billed = monthly_bytes(events_per_s, billed_per_event)
    # Any query or DML during delivery would add bytes scanned; the measured count is the check.
    cost = ingest_cost(billed) if traffic.queries == 0 else math.inf
    batches_per_s = events_per_s / batch_size
    streams_per_batch = traffic.requests.get("CreateWriteStream", 0) / max(1, traffic.batches)
    streams_per_hour = batches_per_s * 3600 * streams_per_batch
    workers = max(1, math.ceil(events_per_s / worker_events_per_s))
    per_event = {k: v / traffic.events for k, v in traffic.requests.items()}
    return Projection(
        events_per_s=events_per_s,
        event_bytes=event_bytes,
        batch_size=batch_size,
        billed_bytes_per_month=billed,
        monthly_cost=cost,
        list_price=ingest_cost(monthly_bytes(events_per_s, event_bytes)),
        throughput_headroom=THROUGHPUT_BYTES_PER_S / (events_per_s * billed_per_event),
        connection_headroom=CONCURRENT_CONNECTIONS / workers,  # one connection per worker
        create_stream_headroom=(
            CREATE_STREAMS_PER_HOUR / streams_per_hour if streams_per_hour else math.inf
        ),
        create_streams_per_hour=streams_per_hour,
        min_batch_for_stream_quota=math.ceil(
            events_per_s * 3600 * streams_per_batch / CREATE_STREAMS_PER_HOUR
        ),
        requests_per_s={k: v * events_per_s for k, v in sorted(per_event.items())},
    )
