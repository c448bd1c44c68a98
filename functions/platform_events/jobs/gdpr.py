"""GDPR: erasure of one user (Postgres and warehouse, audited) and export of a user's events.

Erasure, per user, in one Postgres transaction that commits only once the warehouse is done:
``anonymize_user_events`` (identity, ``x-personal`` fields, personal metadata, the id wherever it
appears, references from other users' events), the user's quarantined events deleted, the
warehouse's ``Sink.erase_user`` DML (within the occurred_at span of the rows erasure changes,
read from Postgres first: BigQuery's table requires a partition filter), the audit row, and the
queue row removed. A failure rolls
Postgres back and leaves the queued request for a retry with backoff: every step is idempotent.
Events a stream worker holds at that moment are fenced: anonymizing them bumps their delivery
batch's lease token and expires it (trigger of migrations/0050), so that worker can no longer
checkpoint or acknowledge them (the DuckDB sink checks inside its transaction and commits nothing)
and the batch is re-claimed and re-read from the anonymized rows. A clear copy a sink wrote
before the fence (one that does not check it inside its write) is overwritten by that
re-delivery; the job also waits for those events to be acknowledged (at most the visibility
timeout) and erases in the warehouse again.

The audit row stores HMAC-SHA256(ERASURE_AUDIT_KEY, user_id), never the id: compliance proves the
erasure of user X by recomputing the HMAC (``erase-user --check X``) while the table alone names
nobody. ``key_id`` (a hash of the key) says which key was used, for rotations.

Queue: the trigger that ``install_user_erasure_trigger(users_table, id_column)`` installs queues a
user when their row is deleted; ``erase_user`` with no ``user_id`` drains the queue (scheduled).
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import logging
import time
import uuid
from datetime import UTC, datetime
from typing import IO, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from platform_events import db, limits, logs
from platform_events.config import Settings
from platform_events.jobs.common import as_int
from platform_events.jobs.local_secrets import erasure_audit_key
from platform_events.sinks import get_sink
from platform_events.sinks.base import OccurredSpan
from platform_events.stores import erasure as store

log = logging.getLogger(__name__)

Source = Literal["api", "cli", "trigger"]


class EraseRequest(BaseModel):
    """Body of ``erase_user``: one user now, or (no ``user_id``) the queued erasures."""

    model_config = ConfigDict(extra="forbid")

    user_id: str | None = Field(
        default=None, min_length=1, max_length=limits.ID_CHARS, description="The user to erase now."
    )
    requested_by: str = Field(
        default="api", min_length=1, max_length=200, description="Who asked (for the audit)."
    )
    limit: int = Field(
        default=100, ge=1, le=10_000, description="Queued erasures processed per call at most."
    )


def user_key(key: str, user_id: str) -> str:
    """The audit's pseudonym of a user: HMAC-SHA256 under the audit key, hex."""
    return hmac.new(key.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def key_id(key: str) -> str:
    """Which key produced an audit row, without revealing it."""
    return hashlib.sha256(b"platform-events-audit-key:" + key.encode()).hexdigest()[:12]


def _warehouse_erase(settings: Settings, user_id: str, span: OccurredSpan | None) -> int:
    # Closed at once: a long-running serve must not keep the DuckDB file from the stream job.
    with get_sink(settings) as sink:
        return sink.erase_user(user_id, span=span)


def _user_span(conn: db.Conn, user_id: str) -> OccurredSpan | None:
    """The occurred_at span of what erasure changes (read before anonymizing clears user_id)."""
    row = store.event_span(conn, user_id)
    if row is None or row["lo"] is None:
        return None
    return row["lo"], row["hi"]  # type: ignore[return-value]


def _wait_acknowledged(conn: db.Conn, ids: list[uuid.UUID], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        row = store.still_in_flight(conn, ids)
        if row is None or as_int(row["n"]) == 0:
            return
        time.sleep(0.5)


def _erase_one(
    conn: db.Conn,
    settings: Settings,
    user_id: str,
    *,
    source: Source,
    requested_by: str,
    requested_at: datetime,
    from_queue: bool,
) -> dict[str, Any]:
    """Erase in Postgres and the warehouse and audit it, in the caller's open transaction."""
    key = erasure_audit_key(settings)
    in_flight = store.in_flight(conn, user_id)
    span = _user_span(conn, user_id)
    row = store.anonymize(conn, user_id)
    postgres_events = as_int(row["changed"]) if row else 0
    quarantine_events = store.delete_quarantined(conn, user_id)
    dead_letter_events = store.delete_dead_letters(conn, user_id)
    warehouse_events = _warehouse_erase(settings, user_id, span)
    audit = store.record_audit(
        conn,
        {
            "user_key": user_key(key, user_id),
            "key_id": key_id(key),
            "source": source,
            "requested_by": requested_by,
            "requested_at": requested_at,
            "postgres_events": postgres_events,
            "quarantine_events": quarantine_events,
            "warehouse": settings.warehouse,
            "warehouse_events": warehouse_events,
        },
    )
    if from_queue:
        store.dequeue(conn, user_id)
    assert audit is not None
    return {
        "erasure_id": str(audit["erasure_id"]),
        "postgres_events": postgres_events,
        "quarantine_events": quarantine_events,
        "dead_letter_events": dead_letter_events,
        "warehouse": settings.warehouse,
        "warehouse_events": warehouse_events,
        "in_flight": in_flight,
        "span": span,
    }


def _after_commit(conn: db.Conn, settings: Settings, user_id: str, done: dict[str, Any]) -> None:
    """Erase again in the warehouse once events in flight during the erasure are acknowledged."""
    in_flight: list[uuid.UUID] = done.pop("in_flight")
    span: OccurredSpan | None = done.pop("span")
    if in_flight:
        _wait_acknowledged(conn, in_flight, settings.visibility_timeout_seconds)
        done["warehouse_events"] += _warehouse_erase(settings, user_id, span)


def erase_user(
    settings: Settings, user_id: str, *, source: Source, requested_by: str
) -> dict[str, Any]:
    """Erase one user now; returns the audit id and the counts."""
    with db.connect(settings, autocommit=True) as conn:
        with conn.transaction():
            done = _erase_one(
                conn,
                settings,
                user_id,
                source=source,
                requested_by=requested_by,
                requested_at=datetime.now(UTC),
                from_queue=False,
            )
        _after_commit(conn, settings, user_id, done)
    return done


def process_queue(settings: Settings, limit: int) -> dict[str, int]:
    """Erase up to ``limit`` queued users; a failure is recorded on its row and retried later."""
    erased = failed = postgres_events = warehouse_events = 0
    with db.connect(settings, autocommit=True) as conn:
        for _ in range(limit):
            user_id: str | None = None
            try:
                with conn.transaction():
                    item = store.claim_queued(conn)
                    if item is None:
                        break
                    user_id = str(item["user_id"])
                    done = _erase_one(
                        conn,
                        settings,
                        user_id,
                        source=item["source"],  # type: ignore[arg-type]
                        requested_by=str(item["requested_by"]),
                        requested_at=item["requested_at"],  # type: ignore[arg-type]
                        from_queue=True,
                    )
            except Exception as exc:
                if user_id is None:
                    raise
                # Rolled back; count the attempt (the message names the failure kind, not the user).
                failed += 1
                log.warning(
                    "queued erasure failed; it will be retried",
                    extra={"fields": {"job": "erase_user", "error_type": type(exc).__name__}},
                )
                with conn.transaction():
                    store.queued_failed(conn, user_id, type(exc).__name__)
                continue
            _after_commit(conn, settings, user_id, done)
            erased += 1
            postgres_events += done["postgres_events"]
            warehouse_events += done["warehouse_events"]
    return {
        "erased": erased,
        "queue_failed": failed,
        "postgres_events": postgres_events,
        "warehouse_events": warehouse_events,
    }


def run(params: EraseRequest, settings: Settings) -> dict[str, Any]:
    """HTTP job: erase ``user_id`` now, or drain the queue when it is absent."""
    started = time.monotonic()
    if params.user_id is not None:
        result = erase_user(
            settings, params.user_id, source="api", requested_by=params.requested_by
        )
        summary = {
            "erased": 1,
            "queue_failed": 0,
            "postgres_events": result["postgres_events"],
            "warehouse_events": result["warehouse_events"],
        }
    else:
        result = process_queue(settings, params.limit)
        summary = dict(result)
    logs.log_summary(log, "erase_user finished", started, job="erase_user", **summary)
    return result


def cli_requested_by() -> str:
    """The operator running the CLI, for the audit."""
    try:
        return f"cli:{getpass.getuser()}"[:200]
    except (KeyError, OSError):
        return "cli"


def audit_trail(settings: Settings, user_id: str) -> list[dict[str, Any]]:
    """The audit rows of one user (found by recomputing the HMAC)."""
    key = erasure_audit_key(settings)
    with db.connect(settings, autocommit=True) as conn:
        rows = store.audit_rows(conn, user_key(key, user_id))
    return [dict(r) for r in rows]


def export_user(settings: Settings, user_id: str, out: IO[str]) -> int:
    """Write every stored event of ``user_id`` to ``out`` as one JSON document; returns the count.

    Streams with a server-side cursor, so a user with millions of events needs no memory for them.
    Includes the user's quarantined events (accepted by ingest, type not yet in the catalogue) and
    the messages ingest rejected that carry the user (the dead letter, by userId or anonymousId).
    """
    count = 0
    out.write("{")
    out.write(f'"user_id": {json.dumps(user_id)}, ')
    out.write(f'"exported_at": {json.dumps(datetime.now(UTC).isoformat())}, ')
    with db.connect(settings) as conn:
        for name in store.EXPORTS:
            out.write(f'"{name}": [')
            first = True
            for row in store.export_rows(conn, name, user_id):
                out.write(("" if first else ", ") + json.dumps(row, default=str))
                first = False
                count += 1
            out.write("], ")
        conn.rollback()
    out.write(f'"count": {count}}}\n')
    return count
