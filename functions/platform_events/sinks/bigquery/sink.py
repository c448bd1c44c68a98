"""BigQuery sink: each delivery batch through one PENDING Storage Write API stream, committed once.

Why this path (DESIGN: no DML in steady-state delivery; cost within 10% of the Storage Write
API's list price for the bytes ingested):

* The Storage Write API costs $0.025/GiB ingested, the first 2 TiB a month free, and PENDING
  streams are exactly-once by protocol (offsets, finalize, one atomic commit: see protocol.py).
* A MERGE per batch is billed for every partition it touches (DML pricing), runs two at a time per
  table with 20 queued, and a load job per batch passes the 100,000 load jobs/project/day quota at
  10,000 events/s. ``insertAll`` dedupes only best-effort and costs $0.05/GiB.

DML runs only outside delivery: erasure (``UPDATE`` of the user's rows, within their occurred_at
span from Postgres), ``reprocess`` (``DELETE`` of the re-sent events, within their span, before
they are re-sent in new batches) and retention (``DELETE`` older than the cutoff). The dataset and
table are Terraform's: ``ensure_table`` only checks the table (``tables.get``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from platform_events.config import Settings
from platform_events.errors import RowsRejected, SinkMisconfigured, SinkUnavailable
from platform_events.sinks import erasure
from platform_events.sinks.base import OccurredSpan, Sink, WriteCheckpoint, new_load_id
from platform_events.sinks.bigquery import protocol, sql, table
from platform_events.sinks.bigquery.errors import classify
from platform_events.sinks.bigquery.rows import row_sizes, table_rows
from platform_events.sinks.bigquery.write_api import WriteApi
from platform_events.sinks.checkpoints import InMemoryCheckpoint

log = logging.getLogger(__name__)

DELETE_PAGE = 10_000  # ids per DELETE (query parameters stay far below the 10 MB request cap)
ERASE_PAGE = 1_000  # rows per erasure UPDATE


def _write_client(settings: Settings) -> Any:
    from google.cloud import bigquery_storage_v1

    storage: Any = bigquery_storage_v1  # the generated client is untyped
    if settings.bigquery_storage_endpoint:
        import grpc  # type: ignore[import-untyped]
        from google.cloud.bigquery_storage_v1.services.big_query_write.transports import (
            BigQueryWriteGrpcTransport,
        )

        # An emulator: plaintext, no credentials.
        channel = grpc.insecure_channel(settings.bigquery_storage_endpoint)
        return storage.BigQueryWriteClient(transport=BigQueryWriteGrpcTransport(channel=channel))
    return storage.BigQueryWriteClient()


class BigQuerySink(Sink):
    """Events in ``project.dataset.table`` (Terraform's: DAY partitions on occurred_at).
    ``write_client`` makes the Storage Write API client on first use (again after ``close``)."""

    kind = "bigquery"
    replaces_by_event_id = False

    def __init__(
        self,
        client: Any,
        write_client: Callable[[], Any],
        project: str,
        dataset: str,
        table_name: str,
        location: str,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        chunk_bytes: int = protocol.MAX_CHUNK_BYTES,
    ) -> None:
        self.client = client
        self.project = project
        self.dataset = dataset
        self.table = table_name
        self.location = location
        self.clock = clock
        self.chunk_bytes = chunk_bytes
        self.write_api = WriteApi(
            write_client, f"projects/{project}/datasets/{dataset}/tables/{table_name}"
        )
        self._table_checked = False

    @classmethod
    def from_settings(cls, settings: Settings) -> BigQuerySink:
        from google.cloud import bigquery

        if not settings.bigquery_project_id:
            raise SinkMisconfigured("BIGQUERY_PROJECT_ID is required for the BigQuery sink")
        options: dict[str, Any] = {}
        if settings.bigquery_api_endpoint:
            # An emulator: no credentials to find.
            from google.auth.credentials import AnonymousCredentials

            options = {
                "client_options": {"api_endpoint": settings.bigquery_api_endpoint},
                "credentials": AnonymousCredentials(),  # type: ignore[no-untyped-call]
            }
        client = bigquery.Client(
            project=settings.bigquery_project_id, location=settings.bigquery_location, **options
        )
        return cls(
            client,
            lambda: _write_client(settings),
            settings.bigquery_project_id,
            settings.bigquery_dataset_id,
            settings.bigquery_table,
            settings.bigquery_location,
        )

    @property
    def table_id(self) -> str:
        return f"{self.project}.{self.dataset}.{self.table}"

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            mapped = classify(exc)
            if mapped is exc:
                raise
            raise mapped from exc

    def close(self) -> None:
        self.write_api.close()

    # -- the table (Terraform's) -------------------------------------------------------------

    def ensure_table(self) -> None:
        """Check that the table is the one Terraform defines; SinkMisconfigured says what differs."""
        with self._errors():
            live = self.client.get_table(self.table_id)
        found = table.problems(table.TableShape.of(live))
        if found:
            raise SinkMisconfigured(
                f"BigQuery table {self.table_id} is not the one infra/warehouse defines: "
                + "; ".join(found)
            )
        self._table_checked = True

    def _check_table(self) -> None:
        if not self._table_checked:
            self.ensure_table()

    # -- delivery: the Storage Write API protocol (protocol.py) --------------------------------

    def write(
        self,
        batch: pa.Table,
        load_id: str | None = None,
        checkpoint: WriteCheckpoint | None = None,
    ) -> str:
        load_id = load_id or new_load_id()
        if batch.num_rows == 0:
            return load_id
        self._check_table()
        now = self.clock()
        refused = protocol.outside_stream_window(
            dict(
                zip(
                    batch.column("event_id").to_pylist(),
                    batch.column("occurred_at").to_pylist(),
                    strict=True,
                )
            ),
            now,
        )
        if refused:
            raise RowsRejected(
                f"{len(refused)} events are outside the Storage Write API's partition window",
                rows=refused,
            )
        rows = table_rows(batch, load_id, now)
        with self._errors():
            self._deliver(rows, load_id, checkpoint or InMemoryCheckpoint())
        return load_id

    def _deliver(self, rows: pa.Table, load_id: str, checkpoint: WriteCheckpoint) -> None:
        ids = [str(v) for v in rows.column("event_id").to_pylist()]
        state = protocol.StreamState.from_mapping(checkpoint.load())
        step = protocol.plan(state, protocol.digest(ids))
        maybe_in_table = state.maybe_in_table if state is not None else False
        ask_table = step.ask_table
        if state is not None and step.step is protocol.Step.COMMIT_AGAIN:
            committed = self._commit_again(state.stream) is protocol.CommitOutcome.COMMITTED
            if committed and state.digest == protocol.digest(ids):
                return
            maybe_in_table = ask_table = True
        elif state is not None and step.step is protocol.Step.RESUME:
            if self.write_api.exists(state.stream):
                self._append_and_commit(rows, state, checkpoint, load_id)
                return
            ask_table = maybe_in_table  # gone before any commit: its rows never became visible
        if ask_table:
            rows = self._missing(rows, load_id)
            if rows.num_rows == 0:
                return
        self._new_stream(rows, checkpoint, load_id, maybe_in_table=maybe_in_table)

    def _new_stream(
        self, rows: pa.Table, checkpoint: WriteCheckpoint, load_id: str, *, maybe_in_table: bool
    ) -> None:
        ids = [str(v) for v in rows.column("event_id").to_pylist()]
        name = self.write_api.create_stream()
        state = protocol.StreamState(
            stream=name,
            digest=protocol.digest(ids),
            rows=rows.num_rows,
            chunks=protocol.chunk_ends(row_sizes(rows), self.chunk_bytes),
            maybe_in_table=maybe_in_table,
        )
        checkpoint.save(state.to_mapping())  # before the first append: a successor resumes it
        self._append_and_commit(rows, state, checkpoint, load_id)

    def _append_and_commit(
        self,
        rows: pa.Table,
        state: protocol.StreamState,
        checkpoint: WriteCheckpoint,
        load_id: str,
    ) -> None:
        from google.api_core import exceptions as gexc

        result = self.write_api.append(state.stream, rows, protocol.chunk_ranges(state.chunks))
        if result.row_errors:
            ids = rows.column("event_id").to_pylist()
            raise RowsRejected(
                f"BigQuery refused {len(result.row_errors)} rows of the batch",
                rows={str(ids[i]): reason for i, reason in result.row_errors.items()},
            )
        if isinstance(result.failed, gexc.OutOfRange):
            # A gap: an earlier request of this connection failed. Offsets make the re-send safe.
            raise SinkUnavailable(f"BigQuery append out of range, re-sent later: {result.failed}")
        if result.failed is not None:
            raise result.failed
        count = self.write_api.finalize(state.stream)
        if count != state.rows:
            # This stream cannot be completed: the next attempt starts a new one.
            checkpoint.save(replace(state, digest="").to_mapping())
            raise SinkUnavailable(
                f"write stream {state.stream} finalized with {count} rows, {state.rows} sent"
            )
        checkpoint.save(state.committing().to_mapping())  # fenced: a stale holder stops here
        if self.write_api.commit(state.stream) is protocol.CommitOutcome.COMMITTED:
            return
        if self._missing(rows, load_id).num_rows:
            raise SinkUnavailable(f"commit of write stream {state.stream} not confirmed")

    def _commit_again(self, stream: str) -> protocol.CommitOutcome:
        from google.api_core import exceptions as gexc

        try:
            return self.write_api.commit(stream)
        except gexc.NotFound:
            return protocol.CommitOutcome.UNKNOWN

    def _missing(self, rows: pa.Table, load_id: str) -> pa.Table:
        """The rows whose event the table does not hold under ``load_id`` yet."""
        from google.cloud import bigquery

        lo, hi = (v.as_py() for v in pc.min_max(rows.column("occurred_at")).values())
        found = self._query(
            sql.present(self.table_id),
            [
                bigquery.ScalarQueryParameter("load_id", "STRING", load_id),
                bigquery.ScalarQueryParameter("lo", "TIMESTAMP", lo),
                bigquery.ScalarQueryParameter("hi", "TIMESTAMP", hi),
            ],
        )
        present = pa.array({str(r["event_id"]) for r in found}, pa.string())
        return rows.filter(pc.invert(pc.is_in(rows.column("event_id"), value_set=present)))

    # -- statements outside delivery (sql.py) ----------------------------------------------------

    def _query(self, statement: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        from google.cloud import bigquery

        with self._errors():
            job = self.client.query(
                statement,
                job_config=bigquery.QueryJobConfig(query_parameters=list(params)),
                location=self.location,
            )
            return [dict(row.items()) for row in job.result()]

    def _dml(self, statement: str, params: Sequence[Any]) -> int:
        from google.cloud import bigquery

        with self._errors():
            job = self.client.query(
                statement,
                job_config=bigquery.QueryJobConfig(query_parameters=list(params)),
                location=self.location,
            )
            job.result()
        return int(job.num_dml_affected_rows or 0)

    def delete_events(self, event_ids: Sequence[str], *, span: OccurredSpan | None = None) -> int:
        from google.cloud import bigquery

        if not event_ids:
            return 0
        if span is None:
            raise ValueError(
                "BigQuery deletes need the events' occurred_at span (partition filter)"
            )
        self._check_table()
        deleted = 0
        for start in range(0, len(event_ids), DELETE_PAGE):
            deleted += self._dml(
                sql.delete_events(self.table_id),
                [
                    bigquery.ArrayQueryParameter(
                        "ids", "STRING", list(event_ids[start : start + DELETE_PAGE])
                    ),
                    bigquery.ScalarQueryParameter("lo", "TIMESTAMP", span[0]),
                    bigquery.ScalarQueryParameter("hi", "TIMESTAMP", span[1]),
                ],
            )
        return deleted

    def delete_expired(self, policies: Mapping[str, timedelta]) -> int:
        from google.cloud import bigquery

        self._check_table()
        by_age: dict[timedelta, list[str]] = {}
        for event_type, age in policies.items():
            by_age.setdefault(age, []).append(event_type)
        now = self.clock()
        deleted = 0
        for age, types in sorted(by_age.items()):
            deleted += self._dml(
                sql.delete_expired(self.table_id),
                [
                    bigquery.ScalarQueryParameter("cutoff", "TIMESTAMP", now - age),
                    bigquery.ArrayQueryParameter("types", "STRING", sorted(types)),
                ],
            )
        return deleted

    def erase_user(self, user_id: str, *, span: OccurredSpan | None = None) -> int:
        from google.cloud import bigquery

        if span is None:
            return 0  # the user has no events in Postgres, so none were delivered
        self._check_table()
        bounds = [
            bigquery.ScalarQueryParameter("lo", "TIMESTAMP", span[0]),
            bigquery.ScalarQueryParameter("hi", "TIMESTAMP", span[1]),
        ]
        candidates = self._query(
            sql.erase_candidates(self.table_id),
            [
                bigquery.ScalarQueryParameter("user", "STRING", user_id),
                bigquery.ScalarQueryParameter("pattern", "STRING", erasure.mentions(user_id)),
                *bounds,
            ],
        )
        for start in range(0, len(candidates), ERASE_PAGE):
            page = [_erased_row(row, user_id) for row in candidates[start : start + ERASE_PAGE]]
            self._dml(
                sql.erase_update(self.table_id),
                [bigquery.ArrayQueryParameter("rows", _erased_row_type(), page), *bounds],
            )
        return len(candidates)


def _erased_row_type() -> Any:
    from google.cloud import bigquery as bq

    bigquery: Any = bq  # its parameter types are untyped
    return bigquery.StructQueryParameterType(
        bigquery.ScalarQueryParameterType("STRING", name="event_id"),
        bigquery.ScalarQueryParameterType("BOOL", name="own"),
        bigquery.ScalarQueryParameterType("STRING", name="event_data"),
        bigquery.ScalarQueryParameterType("STRING", name="metadata"),
    )


def _erased_row(row: Mapping[str, Any], user_id: str) -> Any:
    from google.cloud import bigquery

    own = bool(row["own"])
    data, meta = erasure.scrub_row(
        str(row["event_type"]), row["event_data"], row["metadata"], user_id, own=own
    )
    return bigquery.StructQueryParameter(
        None,
        bigquery.ScalarQueryParameter("event_id", "STRING", row["event_id"]),
        bigquery.ScalarQueryParameter("own", "BOOL", own),
        bigquery.ScalarQueryParameter("event_data", "STRING", data),
        bigquery.ScalarQueryParameter("metadata", "STRING", meta),
    )
