"""Our queue beside a peer's, in the same run on the same server: pgmq.

pgmq's SQL-only install (``pgmq/sql/pgmq.sql``, shipped inside the ``pgmq`` wheel pinned in
requirements.txt) goes into a scratch database of the bench server, beside our migrated schema.
On the same generated events, in rounds that alternate which system goes first (the machine is
shared, so a slow minute must not land on one system only):

* ingest: our batched emit (``drain.emit``: validation against the catalogue, the idempotency
  ledger) vs ``pgmq.send_batch(queue, msgs jsonb[])`` with each event's JSON as the message,
  1,000 per call, one connection each. The messages travel as one JSON array made into the
  jsonb[] on the server, the encoding our emit uses for its payloads: pgmq's own Python client
  sends a list of ``Jsonb``, whose encoding in psycopg takes most of the call (about 6,000
  messages/s on the 2-core bench machine against some 30,000 for the array), so that rate is
  measured too, once per round after the drain, but is not what pgmq is compared on;
* drain: ``drain.claim_and_settle`` vs ``pgmq.read(queue, vt, 1000)`` + ``pgmq.archive(queue,
  msg_ids)`` of the same backlog (archive, not delete: like our ledger, pgmq then keeps a record
  of each message delivered).

Each round starts both systems from empty tables (ours truncated, the queue dropped and created),
and both are vacuumed and analyzed between ingest and drain, so no autovacuum lands inside one
system's timing only.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from psycopg.types.json import Jsonb

from bench import drain
from bench.report import Progress
from bench.sql import sql
from platform_events.client import Event
from platform_events.db import Conn

PACKAGE = "pgmq"
VERSION = "1.1.4"  # requirements.txt's pin: the figures name the peer they were measured against
SQL_FILE = "pgmq/sql/pgmq.sql"
QUEUE = "bench"
VT_SECONDS = int(drain.LEASE.total_seconds())  # the peer's lease: the same as ours


def install_sql() -> tuple[str, str]:
    """pgmq's SQL install script and the pgmq release it comes from, read from the installed
    wheel's files (its ``__init__`` is not imported: the bench needs the SQL, not its client)."""
    try:
        dist = metadata.distribution(PACKAGE)
    except metadata.PackageNotFoundError:
        raise RuntimeError(
            f"the peer benchmark needs {PACKAGE}=={VERSION} (requirements.txt): pip install it"
        ) from None
    if dist.version != VERSION:
        raise RuntimeError(f"{PACKAGE} {dist.version} is installed; the bench pins {VERSION}")
    files = {str(f): f for f in dist.files or []}
    if SQL_FILE not in files:
        raise RuntimeError(f"{PACKAGE} {dist.version} ships no {SQL_FILE}")
    script = Path(files[SQL_FILE].locate())
    release = script.with_name("VERSION")
    return script.read_text(encoding="utf-8"), (
        release.read_text(encoding="utf-8").strip() if release.exists() else "unknown"
    )


def install(conn: Conn) -> str:
    """Install pgmq (schema ``pgmq``) into ``conn``'s database; the pgmq release installed."""
    script, release = install_sql()
    with conn.transaction():
        conn.execute(script.encode())  # bytes: the script is run as it is, no placeholders
    return release


def _recreate_queue(conn: Conn) -> None:
    row = conn.execute(sql("pgmq_queue_exists"), {"queue": QUEUE}).fetchone()
    if row and row["found"]:
        conn.execute(sql("pgmq_drop"), {"queue": QUEUE})
    conn.execute(sql("pgmq_create"), {"queue": QUEUE})


def pgmq_send(conn: Conn, messages: Sequence[dict[str, object]], *, as_list: bool = False) -> float:
    """Seconds to send ``messages`` by ``pgmq.send_batch``, ``drain.CALL_SIZE`` per call: as one
    JSON array (``pgmq_send_batch``), or ``as_list`` of Jsonb as pgmq's Python client does."""
    statement = sql("pgmq_send_batch_list" if as_list else "pgmq_send_batch")
    started = time.perf_counter()
    for offset in range(0, len(messages), drain.CALL_SIZE):
        chunk = messages[offset : offset + drain.CALL_SIZE]
        msgs = [Jsonb(m) for m in chunk] if as_list else Jsonb(list(chunk))
        ids = conn.execute(statement, {"queue": QUEUE, "msgs": msgs}).fetchall()
        if len(ids) != len(chunk):
            raise RuntimeError(f"pgmq.send_batch queued {len(ids)} of {len(chunk)} messages")
    return time.perf_counter() - started


def pgmq_drain(conn: Conn) -> drain.Drained:
    """Read + archive every visible message, ``drain.CALL_SIZE`` at a time, each batch timed."""
    drained = 0
    marks: list[tuple[float, int]] = []
    started = time.perf_counter()
    while True:
        rows = conn.execute(
            sql("pgmq_read"), {"queue": QUEUE, "vt": VT_SECONDS, "qty": drain.CALL_SIZE}
        ).fetchall()
        if not rows:
            break
        ids = [r["msg_id"] for r in rows]
        archived = conn.execute(sql("pgmq_archive"), {"queue": QUEUE, "ids": ids}).fetchall()
        if len(archived) != len(ids):
            raise RuntimeError(f"pgmq.archive archived {len(archived)} of {len(ids)} messages")
        drained += len(rows)
        marks.append((time.perf_counter() - started, drained))
    return drain.Drained(drained, time.perf_counter() - started, marks)


@dataclass
class Rates:
    """Events/s of each system's ingest, and its drain, one per round."""

    ours_ingest: list[float] = field(default_factory=list)
    ours_drain: list[drain.Drained] = field(default_factory=list)
    pgmq_ingest: list[float] = field(default_factory=list)
    pgmq_drain: list[drain.Drained] = field(default_factory=list)
    pgmq_ingest_list: list[float] = field(default_factory=list)
    order: list[str] = field(default_factory=list)


def _ours(conn: Conn, events: Sequence[Event], rates: Rates) -> None:
    conn.execute(sql("queue_reset"))
    conn.execute("VACUUM ANALYZE platform_events, platform_event_delivery")
    seconds = drain.emit(conn, events)
    rates.ours_ingest.append(len(events) / seconds)
    conn.execute("VACUUM ANALYZE platform_events, platform_event_delivery")
    drained = drain.claim_and_settle(conn)
    if drained.events != len(events) or drain.pending(conn):
        raise RuntimeError(f"our drain delivered {drained.events} of {len(events)} events")
    rates.ours_drain.append(drained)


def _pgmq(conn: Conn, messages: Sequence[dict[str, object]], rates: Rates) -> None:
    _recreate_queue(conn)
    seconds = pgmq_send(conn, messages)
    rates.pgmq_ingest.append(len(messages) / seconds)
    conn.execute(f"VACUUM ANALYZE pgmq.q_{QUEUE}, pgmq.a_{QUEUE}")
    drained = pgmq_drain(conn)
    row = conn.execute(sql("pgmq_queue_length"), {"queue": QUEUE}).fetchone()
    if drained.events != len(messages) or (row and row["n"]):
        raise RuntimeError(f"pgmq's drain archived {drained.events} of {len(messages)} messages")
    rates.pgmq_drain.append(drained)
    _recreate_queue(conn)
    rates.pgmq_ingest_list.append(len(messages) / pgmq_send(conn, messages, as_list=True))


def run(conn: Conn, events: Sequence[Event], rounds: int, progress: Progress) -> Rates:
    """``rounds`` rounds of both systems over ``events`` (ours first in even rounds)."""
    messages = [e.as_json() for e in events]  # the event JSON, as a pgmq client holds it
    rates = Rates()
    for n in range(rounds):
        order = ("ours", "pgmq") if n % 2 == 0 else ("pgmq", "ours")
        for system in order:
            if system == "ours":
                _ours(conn, events, rates)
            else:
                _pgmq(conn, messages, rates)
        rates.order.append("+".join(order))
        progress.say(
            f"peer: round {n + 1}/{rounds} ({' then '.join(order)}): ingest ours "
            f"{rates.ours_ingest[-1]:,.0f}/s, pgmq {rates.pgmq_ingest[-1]:,.0f}/s; drain ours "
            f"{rates.ours_drain[-1].rate:,.0f}/s, pgmq {rates.pgmq_drain[-1].rate:,.0f}/s"
        )
    conn.execute(sql("queue_reset"))
    return rates
