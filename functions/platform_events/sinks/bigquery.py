"""BigQuery sink: each batch is loaded into its own staging table, then MERGEd by ``event_id``.

Why this write path (the cheapest that is exactly-once by design, not by luck):

* ``insertAll`` with ``insertId`` dedupes only best-effort for about a minute, and streamed rows
  cannot be updated or deleted for up to 30 minutes: a re-sent batch after a crash duplicates,
  and GDPR erasure of fresh rows fails. It also costs $0.05/GiB.
* Load jobs straight into ``events`` are free but capped at 1,500 per table per day: one per
  minute-batch already uses 1,440, and retries or a second worker break the cap. A deterministic
  job id makes a repeated load a no-op, but only for the same batch boundaries.
* The Storage Write API with committed streams and offsets is exactly-once within one stream
  ($0.025/GiB, 2 TiB/month free); across a crash the re-sent batch lands in a new stream, so the
  stream name and offset would have to be persisted with the claim to stay exactly-once.
* Chosen: a load job (free) into a per-batch staging table ``<table>_staging_<load id>`` (a
  different table each time, so the per-table load cap never applies; created with a one-hour
  expiry so a crash leaves nothing behind for long), then one ``MERGE`` keyed by ``event_id``
  that updates or inserts, then the staging table is dropped. Idempotent however often a batch
  is re-sent; rows are ordinary table rows (DML, erasure, retention work at once). The MERGE is
  billed on bytes scanned: it reads ``events`` only in the partitions of the batch's
  ``occurred_at`` span (the ON clause prunes), so a minute-batch scans about one day partition
  of ``event_id`` (10 MB minimum per table): about 1,440 x 20 MB = 29 GB/day, 0.9 TiB/month, in
  the on-demand free tier (1 TiB/month, then $6.25/TiB). DML statements have no daily quota;
  BigQuery queues concurrent MERGEs on one table (up to 20), which suits a few workers.
  The project's load jobs quota (100,000/day) allows 69 loads a minute.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from platform_events.config import Settings
from platform_events.errors import SinkUnavailable
from platform_events.sinks import erasure, rows, schema
from platform_events.sinks.base import RowsRejected, Sink, WriteCheckpoint, new_load_id

log = logging.getLogger(__name__)

STAGING_EXPIRY = timedelta(hours=1)


def table_schema() -> list[Any]:
    """BigQuery SchemaFields of the events table, from sinks/schema/events.json."""
    from google.cloud import bigquery

    return [
        bigquery.SchemaField(
            c.name, c.type, mode="REQUIRED" if c.required else "NULLABLE", description=c.description
        )
        for c in schema.columns()
    ]


def merge_sql(target: str, staging: str) -> str:
    """The MERGE of a staging table into the events table, keyed by ``event_id``.

    ``@lo``/``@hi`` bound ``occurred_at`` (the partition column) so BigQuery reads only the
    partitions the batch touches; rows are deduplicated within the staging table first.
    """
    names = schema.column_names()
    updates = ", ".join(f"{n} = S.{n}" for n in names if n != "event_id")
    cols = ", ".join(names)
    values = ", ".join(f"S.{n}" for n in names)
    return (
        f"MERGE `{target}` T\n"
        f"USING (SELECT * FROM `{staging}` "
        "QUALIFY ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY loaded_at DESC) = 1) S\n"
        "ON T.event_id = S.event_id AND T.occurred_at BETWEEN @lo AND @hi\n"
        f"WHEN MATCHED THEN UPDATE SET {updates}\n"
        f"WHEN NOT MATCHED THEN INSERT ({cols}) VALUES ({values})"
    )


def erase_sql(target: str, staging: str) -> str:
    """The UPDATE of erased rows from a staging table of (event_id, own, event_data, metadata)."""
    cleared = ", ".join(f"{n} = IF(S.own, NULL, T.{n})" for n in erasure.IDENTITY_COLUMNS)
    return (
        f"UPDATE `{target}` T SET {cleared}, "
        "event_data = PARSE_JSON(S.event_data), metadata = PARSE_JSON(S.metadata) "
        f"FROM `{staging}` S WHERE T.event_id = S.event_id"
    )


def _classify(exc: Exception) -> Exception:
    """Map google-api-core errors to the pipeline's kinds: rows at fault, or try again later."""
    from google.api_core import exceptions as gexc

    if isinstance(exc, RowsRejected | SinkUnavailable):
        return exc
    if isinstance(exc, gexc.BadRequest):
        return RowsRejected(f"BigQuery refused the batch: {exc.message}")
    if isinstance(exc, gexc.GoogleAPICallError):
        return SinkUnavailable(f"BigQuery: {exc.code} {exc.message}")
    return SinkUnavailable(f"BigQuery unreachable: {type(exc).__name__}: {exc}")


class BigQuerySink(Sink):
    """Events in ``project.dataset.table``, partitioned by DAY on occurred_at."""

    kind = "bigquery"

    def __init__(self, client: Any, project: str, dataset: str, table: str, location: str) -> None:
        self.client = client
        self.project = project
        self.dataset = dataset
        self.table = table
        self.location = location
        self._table_checked = False

    @classmethod
    def from_settings(cls, settings: Settings) -> BigQuerySink:
        from google.cloud import bigquery

        if not settings.bigquery_project_id:
            raise SinkUnavailable("BIGQUERY_PROJECT_ID is required for the BigQuery sink")
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
            raise _classify(exc) from exc

    def ensure_table(self) -> None:
        from google.cloud import bigquery

        with self._errors():
            dataset = bigquery.Dataset(f"{self.project}.{self.dataset}")
            dataset.location = self.location
            self.client.create_dataset(dataset, exists_ok=True)
            table = bigquery.Table(self.table_id, schema=table_schema())
            table.time_partitioning = bigquery.TimePartitioning(
                type_=bigquery.TimePartitioningType.DAY, field="occurred_at"
            )
            table.clustering_fields = ["event_type", "user_id"]
            table.description = "platform-events: every delivered event once (event_id)."
            self.client.create_table(table, exists_ok=True)
        self._table_checked = True

    def _staging(self, load_id: str, fields: list[Any]) -> str:
        from google.cloud import bigquery

        name = f"{self.table_id}_staging_{load_id.replace('-', '')}_{uuid.uuid4().hex[:8]}"
        staging = bigquery.Table(name, schema=fields)
        staging.expires = datetime.now(UTC) + STAGING_EXPIRY
        self.client.create_table(staging)
        return name

    def _load(self, staging: str, payload: bytes, fields: list[Any]) -> None:
        from google.cloud import bigquery

        config = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON,
            schema=fields,
            write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
        )
        # size=None: a resumable upload (the multipart path caps at 5 MB and is not portable).
        job = self.client.load_table_from_file(
            io.BytesIO(payload), staging, job_config=config, job_id_prefix="platform_events_load_"
        )
        job.result()

    def write(
        self,
        batch: pa.Table,
        load_id: str | None = None,
        checkpoint: WriteCheckpoint | None = None,
    ) -> str:
        from google.cloud import bigquery

        load_id = load_id or new_load_id()
        if batch.num_rows == 0:
            return load_id
        if not self._table_checked:
            self.ensure_table()
        lo, hi = (v.as_py() for v in pc.min_max(batch.column("occurred_at")).values())
        fields = table_schema()
        payload = rows.ndjson(batch, load_id, datetime.now(UTC))
        with self._errors():
            staging = self._staging(load_id, fields)
            try:
                self._load(staging, payload, fields)
                params = [
                    bigquery.ScalarQueryParameter("lo", "TIMESTAMP", lo),
                    bigquery.ScalarQueryParameter("hi", "TIMESTAMP", hi),
                ]
                job = self.client.query(
                    merge_sql(self.table_id, staging),
                    job_config=bigquery.QueryJobConfig(query_parameters=params),
                )
                job.result()
            finally:
                self.client.delete_table(staging, not_found_ok=True)
        return load_id

    def _dml(self, sql: str, params: Sequence[Any]) -> int:
        from google.cloud import bigquery

        with self._errors():
            job = self.client.query(
                sql, job_config=bigquery.QueryJobConfig(query_parameters=params)
            )
            job.result()
        return int(job.num_dml_affected_rows or 0)

    def delete_events(self, event_ids: Sequence[str]) -> int:
        from google.cloud import bigquery

        if not event_ids:
            return 0
        return self._dml(
            f"DELETE FROM `{self.table_id}` WHERE event_id IN UNNEST(@ids)",
            [bigquery.ArrayQueryParameter("ids", "STRING", list(event_ids))],
        )

    def delete_expired(self, policies: Mapping[str, timedelta]) -> int:
        from google.cloud import bigquery

        if not self._table_checked:
            self.ensure_table()
        by_age: dict[timedelta, list[str]] = {}
        for event_type, age in policies.items():
            by_age.setdefault(age, []).append(event_type)
        now = datetime.now(UTC)
        deleted = 0
        for age, types in sorted(by_age.items()):
            deleted += self._dml(
                f"DELETE FROM `{self.table_id}` "
                "WHERE occurred_at < @cutoff AND event_type IN UNNEST(@types)",
                [
                    bigquery.ScalarQueryParameter("cutoff", "TIMESTAMP", now - age),
                    bigquery.ArrayQueryParameter("types", "STRING", sorted(types)),
                ],
            )
        return deleted

    def erase_user(self, user_id: str) -> int:
        from google.cloud import bigquery

        if not self._table_checked:
            self.ensure_table()
        params = [
            bigquery.ScalarQueryParameter("user", "STRING", user_id),
            bigquery.ScalarQueryParameter("pattern", "STRING", erasure.mentions(user_id)),
        ]
        with self._errors():
            found = self.client.query(
                "SELECT event_id, event_type, TO_JSON_STRING(event_data) AS event_data, "
                "TO_JSON_STRING(metadata) AS metadata, user_id = @user AS own "
                f"FROM `{self.table_id}` WHERE user_id = @user "
                "OR TO_JSON_STRING(event_data) LIKE @pattern "
                "OR TO_JSON_STRING(metadata) LIKE @pattern",
                job_config=bigquery.QueryJobConfig(query_parameters=params),
            ).result()
            candidates = [dict(row.items()) for row in found]
        if not candidates:
            return 0
        lines = []
        for row in candidates:
            own = bool(row["own"])
            data, meta = erasure.scrub_row(
                row["event_type"], row["event_data"], row["metadata"], user_id, own=own
            )
            lines.append(
                rows.json_line(
                    {"event_id": row["event_id"], "own": own, "event_data": data, "metadata": meta}
                )
            )
        fields = [
            bigquery.SchemaField("event_id", "STRING"),
            bigquery.SchemaField("own", "BOOLEAN"),
            bigquery.SchemaField("event_data", "STRING"),
            bigquery.SchemaField("metadata", "STRING"),
        ]
        with self._errors():
            staging = self._staging(new_load_id(), fields)
            try:
                self._load(staging, ("\n".join(lines) + "\n").encode(), fields)
                self._dml(erase_sql(self.table_id, staging), [])
            finally:
                self.client.delete_table(staging, not_found_ok=True)
        return len(candidates)
