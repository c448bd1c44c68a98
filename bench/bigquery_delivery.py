"""BigQuery delivery's API traffic, counted at the transport: marketplace events through the real
sink (official clients) into bqemulator, every gRPC message and HTTP request counted by method."""

from __future__ import annotations

import itertools
import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped]
import pyarrow as pa
import requests

from bench import bqemulator
from bench.bigquery_cost import Traffic
from platform_events import catalog
from platform_events.sinks import schema
from platform_events.sinks.bigquery import BigQuerySink, table
from platform_events.sinks.bigquery.rows import row_sizes, table_rows
from platform_events.sinks.checkpoints import InMemoryCheckpoint
from platform_events.traffic import generate


def _size(message: Any) -> int:
    pb = type(message).pb(message) if hasattr(type(message), "pb") else message
    return int(pb.ByteSize())


class CountingInterceptor(grpc.UnaryUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):  # type: ignore[misc]
    """Counts every request message (and its serialized bytes) by gRPC method."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.bytes: Counter[str] = Counter()

    def _record(self, method: str, request: Any) -> None:
        name = method.rsplit("/", 1)[-1]
        self.requests[name] += 1
        self.bytes[name] += _size(request)

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        self._record(details.method, request)
        return continuation(details, request)

    def intercept_stream_stream(
        self, continuation: Any, details: Any, request_iterator: Iterator[Any]
    ) -> Any:
        def counted() -> Iterator[Any]:
            for request in request_iterator:
                self._record(details.method, request)
                yield request

        return continuation(details, counted())


class CountingSession(requests.Session):
    """Counts every BigQuery REST request (and its body bytes) as ``VERB /path-kind``."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: Counter[str] = Counter()
        self.bytes: Counter[str] = Counter()

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        path = str(url).split("?", 1)[0]
        kind = "jobs" if "/jobs" in path or "/queries" in path else path.rsplit("/", 2)[-2]
        name = f"{str(method).upper()} {kind}"
        body = kwargs.get("data") or b""
        self.requests[name] += 1
        self.bytes[name] += len(body) if isinstance(body, bytes | str) else 0
        return super().request(method, url, *args, **kwargs)


def _events_table(table_id: str) -> Any:
    """The table as infra/warehouse defines it (the sink's check passes on it)."""
    from google.cloud import bigquery

    text = (Path(schema.__file__).parent / "schema" / "events.json").read_text()
    t = bigquery.Table(
        table_id, schema=[bigquery.SchemaField.from_api_repr(f) for f in json.loads(text)]
    )
    t.time_partitioning = bigquery.TimePartitioning(
        type_=table.PARTITION_TYPE,
        field=table.PARTITION_FIELD,
        expiration_ms=int(table.MIN_PARTITION_EXPIRATION.total_seconds() * 1000),
    )
    t.clustering_fields = list(table.CLUSTERING)
    t.require_partition_filter = True
    return t


def _batches(events: int, batch_size: int) -> Iterator[pa.Table]:
    stream = itertools.islice(generate(max(50, events // 25), 7, seed=31), events)
    arrow_schema = schema.batch_arrow_schema()
    while chunk := list(itertools.islice(stream, batch_size)):
        columns: dict[str, list[Any]] = {n: [None] * len(chunk) for n in arrow_schema.names}
        columns["event_id"] = [str(e.event_id) for e in chunk]
        columns["event_type"] = [e.event_type for e in chunk]
        columns["event_category"] = [catalog.get(e.event_type).category for e in chunk]
        columns["schema_version"] = [catalog.get(e.event_type).version for e in chunk]
        columns["user_id"] = [e.user_id for e in chunk]
        columns["session_id"] = [e.session_id for e in chunk]
        columns["occurred_at"] = [e.occurred_at for e in chunk]
        columns["received_at"] = [e.occurred_at + timedelta(milliseconds=40) for e in chunk]
        columns["event_data"] = [json.dumps(e.event_data) for e in chunk]
        columns["metadata"] = [json.dumps(e.metadata) for e in chunk]
        columns["device_type"] = ["desktop"] * len(chunk)
        columns["browser"] = ["Chrome"] * len(chunk)
        columns["os"] = ["Windows"] * len(chunk)
        columns["country"] = ["DE"] * len(chunk)
        yield pa.table(columns, schema=arrow_schema)


def measure(
    work: Path, events: int, batch_size: int, say: Callable[[str], None]
) -> tuple[Traffic, float]:
    """Deliver ``events`` events in batches of ``batch_size``; the traffic and seconds taken."""
    import time

    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery, bigquery_storage_v1
    from google.cloud.bigquery_storage_v1.services.big_query_write.transports import (
        BigQueryWriteGrpcTransport,
    )

    if not bqemulator.install_spatial_extension():
        raise RuntimeError("duckdb-extension-spatial has no extension for this platform")
    with bqemulator.running(work / "bqemulator.log") as endpoints:
        session = CountingSession()
        client = bigquery.Client(
            project=bqemulator.PROJECT,
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options={"api_endpoint": endpoints.rest},
            _http=session,
        )
        dataset = f"bench_{uuid.uuid4().hex[:8]}"
        client.create_dataset(f"{bqemulator.PROJECT}.{dataset}")
        client.create_table(_events_table(f"{bqemulator.PROJECT}.{dataset}.events"))
        session.requests.clear()
        session.bytes.clear()
        counting = CountingInterceptor()
        channel = grpc.intercept_channel(grpc.insecure_channel(endpoints.grpc), counting)
        storage: Any = bigquery_storage_v1
        write_client = storage.BigQueryWriteClient(
            transport=BigQueryWriteGrpcTransport(channel=channel)
        )
        sink = BigQuerySink(
            client, lambda: write_client, bqemulator.PROJECT, dataset, "events", "US"
        )
        # The check's one tables.get, counted; the emulator drops require_partition_filter (the
        # tests' PartitionFilterEnforcingClient restores it), so the sink is told the check passed.
        client.get_table(sink.table_id)
        sink._table_checked = True
        row_bytes = delivered = batches = 0
        started = time.monotonic()
        for batch in _batches(events, batch_size):
            load_id = str(uuid.uuid4())
            sink.write(batch, load_id, InMemoryCheckpoint())
            row_bytes += sum(row_sizes(table_rows(batch, load_id, sink.clock())))
            delivered += batch.num_rows
            batches += 1
        seconds = time.monotonic() - started
        say(f"bigquery: {delivered:,} events delivered through the Storage Write API")
        sink.close()
    requests_by = dict(counting.requests) | {f"REST {k}": v for k, v in session.requests.items()}
    bytes_by = dict(counting.bytes) | {f"REST {k}": v for k, v in session.bytes.items()}
    queries = sum(v for k, v in session.requests.items() if k.endswith(" jobs"))
    traffic = Traffic(delivered, batches, requests_by, bytes_by, row_bytes, queries)
    return traffic, seconds
