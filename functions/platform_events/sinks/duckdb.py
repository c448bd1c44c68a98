"""DuckDB sink: the local warehouse and the default, one file under ``$PLATFORM_EVENTS_HOME``.

Batches arrive as Arrow tables and load with ``register`` + ``INSERT ... SELECT`` (over 100k
rows/s; ``executemany`` manages about 1.5k). Idempotency on ``event_id`` is a delete of the
batch's ids followed by the insert, in one transaction. The table has no primary key on purpose:
measured here, ``INSERT OR REPLACE`` against a PRIMARY KEY index fell from 8k to 2.4k rows/s as
the table grew to 300k rows (each checkpoint rewrites the index), while the delete, restricted to
the batch's ``received_at`` span, is pruned by DuckDB's zone maps (rows arrive in roughly
``received_at`` order, and an event's ``received_at`` never changes), so loading stays flat.
Correctness needs one writer at a time, which DuckDB enforces per file and ``HandoverLock``
arbitrates between processes (see sinks/handover.py).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from platform_events.config import Settings
from platform_events.errors import SinkUnavailable
from platform_events.sinks import erasure, schema
from platform_events.sinks.base import (
    OccurredSpan,
    RowsRejected,
    Sink,
    WriteCheckpoint,
    new_load_id,
)
from platform_events.sinks.handover import HandoverLock

log = logging.getLogger(__name__)

TABLE = "events"

_TYPES = {"STRING": "VARCHAR", "INTEGER": "BIGINT", "TIMESTAMP": "TIMESTAMPTZ", "JSON": "JSON"}


def create_table_sql(table: str = TABLE) -> str:
    """The DuckDB DDL of the events table, from sinks/schema/events.json."""
    cols = ",\n    ".join(
        f"{c.name} {_TYPES[c.type]}{' NOT NULL' if c.required else ''}" for c in schema.columns()
    )
    return f"CREATE TABLE IF NOT EXISTS {table} (\n    {cols}\n)"


def _select_list() -> str:
    """Batch columns as the table wants them: JSON text parsed, then the sink's own columns."""
    parts = [
        f"CAST(b.{c.name} AS JSON)" if c.type == "JSON" else f"b.{c.name}"
        for c in schema.columns()
        if c.name not in schema.SINK_COLUMNS
    ]
    return ", ".join([*parts, "$load_id", "$loaded_at"])


# How long a writer keeps the file once it has it, when another process waits (see handover.py).
HANDOVER_MIN_HOLD_S = 0.5


class DuckDBSink(Sink):
    """Events in a DuckDB file, replaced by ``event_id``."""

    kind = "duckdb"

    def __init__(self, path: Path, *, lock_timeout_s: float = 30.0) -> None:
        self.path = path
        self._lock = HandoverLock(path, lock_timeout_s, min_hold_s=HANDOVER_MIN_HOLD_S)
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._table_checked = False

    @classmethod
    def from_settings(cls, settings: Settings) -> DuckDBSink:
        return cls(settings.duckdb_file, lock_timeout_s=settings.duckdb_lock_timeout_seconds)

    # -- connection ---------------------------------------------------------------------------

    def _open(self) -> duckdb.DuckDBPyConnection:
        self._lock.acquire()
        deadline = time.monotonic() + self._lock.timeout_s
        while True:
            try:
                return duckdb.connect(str(self.path))
            except duckdb.IOException as exc:
                # Another program (the duckdb CLI, a notebook) has the file open outside our lock.
                if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                    self._lock.release()
                    raise SinkUnavailable(f"cannot open the DuckDB warehouse: {exc}") from exc
                time.sleep(0.05)

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The open warehouse connection; handed over after use when another process waits."""
        if self._conn is None:
            self._conn = self._open()
        try:
            yield self._conn
        finally:
            if self._lock.should_hand_over():
                self.close()

    def __del__(self) -> None:
        # A sink dropped without close() (``get_sink(s).erase_user(u)``) must not keep the file
        # locked for the life of a long-running process (``serve``).
        self.close()

    def close(self) -> None:
        conn = getattr(self, "_conn", None)  # None too when __init__ did not finish
        if conn is not None:
            try:
                conn.close()
            finally:
                self._conn = None
                self._lock.release()

    # -- Sink ---------------------------------------------------------------------------------

    def ensure_table(self) -> None:
        with self.connection() as conn:
            conn.execute(create_table_sql())
        self._table_checked = True

    def write(
        self,
        batch: pa.Table,
        load_id: str | None = None,
        checkpoint: WriteCheckpoint | None = None,
    ) -> str:
        load_id = load_id or new_load_id()
        if batch.num_rows == 0:
            return load_id
        if not self._table_checked:
            self.ensure_table()
        received = batch.column("received_at")
        lo, hi = pc.min_max(received).values()
        with self.connection() as conn:
            conn.register("pe_batch", batch)
            try:
                conn.execute("BEGIN")
                conn.execute(
                    f"DELETE FROM {TABLE} WHERE received_at BETWEEN $lo AND $hi "
                    "AND event_id IN (SELECT event_id FROM pe_batch)",
                    {"lo": lo.as_py(), "hi": hi.as_py()},
                )
                conn.execute(
                    f"INSERT INTO {TABLE} SELECT {_select_list()} FROM pe_batch b",
                    {"load_id": load_id, "loaded_at": datetime.now(UTC)},
                )
                if checkpoint is not None:
                    # The fence, inside the transaction: a worker that lost the batch's lease
                    # (LeaseLost) commits nothing. Checked any earlier, a worker paused between
                    # the check and the commit could land a clear copy after an erasure and after
                    # the batch's next holder wrote the anonymized one. Checked here, a write that
                    # passes commits before the erasure's warehouse update (which waits for this
                    # file), or, if that update ran first with its fence not yet committed, before
                    # the batch's re-delivery, which waits for the fence and overwrites it. A read
                    # (load), not a save: a save commits in PostgreSQL, a WAL flush per batch
                    # (5-8 ms here) inside the file's critical section.
                    checkpoint.load()
                conn.execute("COMMIT")
            except duckdb.Error as exc:
                conn.execute("ROLLBACK")
                raise _classify(exc) from exc
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            finally:
                conn.unregister("pe_batch")
        return load_id

    def delete_events(self, event_ids: Sequence[str], *, span: OccurredSpan | None = None) -> int:
        ids = pa.table({"event_id": pa.array(list(event_ids), pa.string())})
        with self.connection() as conn:
            conn.register("pe_ids", ids)
            try:
                row = conn.execute(
                    f"DELETE FROM {TABLE} WHERE event_id IN (SELECT event_id FROM pe_ids)"
                ).fetchone()
            finally:
                conn.unregister("pe_ids")
        return int(row[0]) if row else 0

    def delete_expired(self, policies: Mapping[str, timedelta]) -> int:
        if not policies:
            return 0
        now = datetime.now(UTC)
        cutoffs = pa.table(
            {
                "event_type": pa.array(list(policies), pa.string()),
                "cutoff": pa.array(
                    [now - age for age in policies.values()], pa.timestamp("us", tz="UTC")
                ),
            }
        )
        if not self._table_checked:
            self.ensure_table()
        with self.connection() as conn:
            conn.register("pe_cutoffs", cutoffs)
            try:
                row = conn.execute(
                    f"DELETE FROM {TABLE} e USING pe_cutoffs c "
                    "WHERE e.event_type = c.event_type AND e.occurred_at < c.cutoff"
                ).fetchone()
            finally:
                conn.unregister("pe_cutoffs")
        return int(row[0]) if row else 0

    def erase_user(self, user_id: str, *, span: OccurredSpan | None = None) -> int:
        if not self._table_checked:
            self.ensure_table()
        with self.connection() as conn:
            candidates = conn.execute(
                f"SELECT event_id, event_type, CAST(event_data AS VARCHAR), "
                f"CAST(metadata AS VARCHAR), user_id = $user AS own FROM {TABLE} "
                "WHERE user_id = $user OR CAST(event_data AS VARCHAR) LIKE $pattern ESCAPE '\\' "
                "OR CAST(metadata AS VARCHAR) LIKE $pattern ESCAPE '\\'",
                {"user": user_id, "pattern": erasure.mentions(user_id)},
            ).fetchall()
            if not candidates:
                return 0
            scrubbed = [
                (event_id, bool(own), *erasure.scrub_row(etype, data, meta, user_id, own=bool(own)))
                for event_id, etype, data, meta, own in candidates
            ]
            updates = pa.table(
                {
                    "event_id": [r[0] for r in scrubbed],
                    "own": [r[1] for r in scrubbed],
                    "event_data": [r[2] for r in scrubbed],
                    "metadata": [r[3] for r in scrubbed],
                }
            )
            cleared = ", ".join(
                f"{name} = CASE WHEN u.own THEN NULL ELSE e.{name} END"
                for name in erasure.IDENTITY_COLUMNS
            )
            conn.register("pe_erase", updates)
            try:
                conn.execute(
                    f"UPDATE {TABLE} e SET {cleared}, "
                    "event_data = CAST(u.event_data AS JSON), metadata = CAST(u.metadata AS JSON) "
                    "FROM pe_erase u WHERE e.event_id = u.event_id"
                )
            finally:
                conn.unregister("pe_erase")
        return len(candidates)

    # -- reads (demo, tests, status) ----------------------------------------------------------

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Rows of a read query on the warehouse, as dicts."""
        if not self._table_checked:
            self.ensure_table()
        with self.connection() as conn:
            cursor = conn.execute(sql, dict(params or {}))
            names = [d[0] for d in cursor.description or []]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _classify(exc: duckdb.Error) -> Exception:
    """A transient failure (I/O, out of memory) or rows the table refuses (conversion, constraint)."""
    if isinstance(exc, duckdb.IOException | duckdb.OutOfMemoryException):
        return SinkUnavailable(f"DuckDB: {exc}")
    return RowsRejected(f"DuckDB refused the batch: {json.dumps(str(exc))[:500]}")
