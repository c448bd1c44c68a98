"""Claim + acknowledge with weeks of history in the store, beside the same drain on an empty store.

A queue that keeps its delivered rows (our ledger is the idempotency record) must not slow down
as they pile up: the claim reads the partial index of pending rows only, but every claim and
acknowledgement also maintains the ledger's other indexes, which grow with the history. So the
same backlog of fresh pending events is emitted into two databases, a clone of the cached
history template (``history_template``: ``history_events`` delivered events over the past five
weeks) and an empty migrated one, and each is drained by ``drain.claim_and_settle`` (batches of
1,000, no warehouse write). Rounds alternate which database goes first; each round emits a new
backlog (the history keeps the previous rounds' delivered events, the empty store is emptied).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tqdm import tqdm

from bench import datasets, drain
from bench.report import Progress
from bench.server import Server
from bench.sql import sql
from platform_events.client import Event
from platform_events.db import Conn

HISTORY_DAYS = 35  # received_at of the history: the five weeks before the build
SESSION_SECONDS = 11 * 20 + 2  # a generated session's last event after its first (generate_events)
VALID_DAYS = 30  # rebuilt after that, so the history stays the weeks before the measurement


def load_history(conn: Conn, count: int, since: datetime, until: datetime) -> None:
    """The history: ``count`` events received in [since, until), every one delivered.

    Events come from ``generate_events`` (INSERT ... SELECT generate_series), then their ledger
    rows from one INSERT ... SELECT over platform_events (``history_ledger``). The schema of the
    ledger is the part most likely to change: that statement is the one to adapt.
    """
    types = datasets.catalogue_types(conn)
    span = until - since - timedelta(seconds=SESSION_SECONDS)
    with tqdm(total=count, desc="history", unit=" ev", unit_scale=True, leave=False) as bar:
        datasets.generate(conn, count, start=since, span=span, types=types, tag="hist", bar=bar)
    conn.execute(sql("history_ledger"))


def history_template(
    server: Server, count: int, progress: Progress, *, rebuild: bool = False
) -> tuple[str, dict[str, Any]]:
    """The cached template holding ``count`` delivered events; (name, marker). Cloned per run."""
    database = f"pe_bench_history_{count}"
    layout = json.dumps({"history": count, "days": HISTORY_DAYS, "ledger": sql("history_ledger")})
    version = datasets.generator_version(layout)
    if not rebuild and (marker := datasets.cached(server, database, version, progress)):
        progress.say(f"using cached {database} ({marker['events']:,} delivered events)")
        return database, marker
    progress.say(f"building {database}: {count:,} delivered events (once; cloned per run)")
    started = time.monotonic()
    server.create(database)
    now = datetime.now(UTC).replace(microsecond=0)
    since, until = now - timedelta(days=HISTORY_DAYS), now - timedelta(minutes=10)
    with server.connect(database) as conn:
        months_back = HISTORY_DAYS // 28 + 1
        conn.execute(sql("ensure_partitions"), {"ahead": 3, "back": months_back})
        datasets.without_indexes(conn, progress, lambda: load_history(conn, count, since, until))
        details = {
            "from": since.isoformat(),
            "until": until.isoformat(),
            "valid_until": (now + timedelta(days=VALID_DAYS)).isoformat(),
        }
        marker = datasets.record(conn, database, version, count, details, started)
    progress.say(f"built {database} in {marker['build_seconds']:.0f}s")
    return database, marker


@dataclass
class Drains:
    """Each database's drain, one per round, and what its store held before."""

    empty: list[drain.Drained] = field(default_factory=list)
    history: list[drain.Drained] = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    emit_seconds: dict[str, list[float]] = field(
        default_factory=lambda: {"empty": [], "history": []}
    )
    stored: dict[str, int] = field(default_factory=dict)


def _round(conn: Conn, backlog: Sequence[Event], *, empty: bool) -> tuple[float, drain.Drained]:
    """Emit ``backlog``, then drain it; (emit seconds, the drain)."""
    if empty:
        conn.execute(sql("queue_reset"))
    emitted = drain.emit(conn, backlog)
    # Both stores drained in the same maintenance state: no autovacuum inside one timing only.
    conn.execute("VACUUM ANALYZE platform_events, platform_event_delivery")
    drained = drain.claim_and_settle(conn)
    if drained.events != len(backlog) or drain.pending(conn):
        raise RuntimeError(f"the drain delivered {drained.events} of {len(backlog)} events")
    return emitted, drained


def run(
    server: Server,
    template: str,
    scratch: str,
    backlogs: Sequence[Sequence[Event]],
    say: Callable[[str], None],
) -> Drains:
    """One round per backlog over a clone of ``template`` and an empty database (both dropped)."""
    names = {"empty": f"{scratch}_claim_empty", "history": f"{scratch}_claim_history"}
    started = time.monotonic()
    server.clone(template, names["history"])
    say(f"claim history: cloned {template} in {time.monotonic() - started:.0f}s")
    server.create(names["empty"])
    drains = Drains()
    try:
        with server.connect(names["history"]) as conn:
            row = conn.execute(sql("ledger_count")).fetchone()
            drains.stored["history"] = int(row["n"]) if row else 0  # type: ignore[call-overload]
        drains.stored["empty"] = 0
        for n, backlog in enumerate(backlogs):
            order = ("empty", "history") if n % 2 == 0 else ("history", "empty")
            for which in order:
                with server.connect(names[which]) as conn:
                    emitted, drained = _round(conn, backlog, empty=which == "empty")
                drains.emit_seconds[which].append(emitted)
                (drains.empty if which == "empty" else drains.history).append(drained)
            drains.order.append("+".join(order))
            say(
                f"claim history: round {n + 1}/{len(backlogs)} ({' then '.join(order)}): "
                f"empty {drains.empty[-1].rate:,.0f}/s, history {drains.history[-1].rate:,.0f}/s"
            )
    finally:
        for name in names.values():
            server.drop(name)
    return drains
