"""Generated events, written fast, and the datasets cached between runs.

Events are generated in SQL (``generate_events``: sessions of one user, skewed users and types,
marketplace-like payloads of about 450 bytes), so loading millions takes minutes, not hours. Big
loads drop the two tables' indexes first and build them afterwards, which is several times
faster than maintaining a GIN index row by row; the schema ends up exactly as migrated (the
definitions are read from the catalog before the drop).

Two datasets are built once and reused: ``events_dataset`` (10 million stored, delivered events
over seven months, one hour of 100,000, aggregations computed) for the read and aggregation
benchmarks, and ``retention_template`` (1 million expired events among live ones), cloned per run
because retention deletes them. Each records in ``bench_dataset`` the generator version it was
built with; a different version, or a dataset past its ``valid_until``, is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import sql as pgsql
from psycopg.types.json import Jsonb
from tqdm import tqdm

from bench.report import Progress
from bench.server import Server
from bench.sql import sql
from platform_events.db import Conn
from platform_events.traffic import USER_AGENTS

AGENTS = [agent for agent, _ in USER_AGENTS]
SESSION = 12  # events per generated session (see generate_events)
CHUNK = 250_000  # rows per INSERT statement: progress every few seconds, bounded memory
DENSE_HOUR_EVENTS = 100_000


def generator_version(layout: str) -> str:
    """Changes whenever the generator SQL or the dataset's layout does: the cache key."""
    digest = hashlib.sha256((sql("generate_events") + layout).encode()).hexdigest()
    return digest[:12]


@dataclass(frozen=True)
class Types:
    """Event types and their categories, most frequent first (as generate_events expects)."""

    names: list[str]
    categories: list[str]


def catalogue_types(conn: Conn, category: str | None = None) -> Types:
    rows = conn.execute(sql("catalogue_types"), {"category": category}).fetchall()
    return Types([str(r["event_type"]) for r in rows], [str(r["category"]) for r in rows])


def generate(
    conn: Conn,
    count: int,
    *,
    start: datetime,
    span: timedelta,
    types: Types,
    users: int = 100_000,
    tag: str = "",
    first: int = 0,
    bar: tqdm | None = None,
) -> int:
    """Insert ``count`` generated events occurring in [start, start + span), in chunks."""
    done = 0
    while done < count:
        n = min(CHUNK, count - done)
        conn.execute(
            sql("generate_events"),
            {
                "lo": first + done,
                "hi": first + done + n - 1,
                "start": start,
                "span": span,
                "types": types.names,
                "categories": types.categories,
                "users": users,
                "tag": tag,
                "agents": AGENTS,
            },
        )
        done += n
        if bar is not None:
            bar.update(n)
    return done


def ledger(conn: Conn, since: datetime, until: datetime, status: str) -> int:
    """Delivery rows for the events received in [since, until)."""
    cursor = conn.execute(sql("ledger_for_range"), {"from": since, "to": until, "status": status})
    return cursor.rowcount


def month_starts(since: datetime, until: datetime) -> Iterator[tuple[datetime, datetime]]:
    """[month start, next month start) ranges covering [since, until), UTC."""
    current = since.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    while current < until:
        following = (current + timedelta(days=32)).replace(day=1)
        yield current, following
        current = following


@dataclass(frozen=True)
class IndexDef:
    """An index (or the primary key behind it) of one of the two big tables."""

    table: str
    index: str
    constraint: str | None
    definition: str

    def drop(self) -> pgsql.Composed | pgsql.SQL:
        if self.constraint:
            return pgsql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                pgsql.Identifier(self.table), pgsql.Identifier(self.constraint)
            )
        return pgsql.SQL("DROP INDEX {}").format(pgsql.Identifier(self.index))

    def create(self) -> pgsql.Composed | pgsql.SQL:
        # The definitions come from pg_get_indexdef / pg_get_constraintdef of this database.
        if self.constraint:
            return pgsql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                pgsql.Identifier(self.table),
                pgsql.Identifier(self.constraint),
                pgsql.SQL(self.definition),
            )
        # pg_get_indexdef says "ON ONLY" for a partitioned table's index, which would create it
        # on the parent alone (invalid, no partition indexed): build it on every partition.
        return pgsql.SQL(self.definition.replace(" ON ONLY ", " ON ", 1))


def without_indexes(conn: Conn, progress: Progress, load: Callable[[], None]) -> None:
    """Run ``load`` with the event tables' indexes dropped, then build them back and analyze."""
    indexes = [
        IndexDef(
            str(r["table_name"]),
            str(r["index_name"]),
            str(r["constraint_name"]) if r["constraint_name"] else None,
            str(r["definition"]),
        )
        for r in conn.execute(sql("droppable_indexes")).fetchall()
    ]
    for ix in indexes:
        conn.execute(ix.drop())
    load()
    conn.execute("SET maintenance_work_mem = '1GB'")
    for ix in indexes:
        started = time.monotonic()
        conn.execute(ix.create())
        progress.say(f"  index {ix.index} built in {time.monotonic() - started:.1f}s")
    started = time.monotonic()
    conn.execute("VACUUM (ANALYZE) platform_events")
    conn.execute("VACUUM (ANALYZE) platform_event_delivery")
    progress.say(f"  vacuum analyze in {time.monotonic() - started:.1f}s")


def _marker(conn: Conn) -> dict[str, Any] | None:
    conn.execute(sql("bench_marker_create"))
    row = conn.execute(sql("bench_marker_read")).fetchone()
    return dict(row) if row else None


def cached(
    server: Server, database: str, version: str, progress: Progress
) -> dict[str, Any] | None:
    """The marker of a usable cached dataset (migrated to the current schema), else None."""
    if not server.exists(database):
        return None
    try:
        server.migrate(database)
    except Exception as exc:  # an edited migration: the cache predates it, rebuild
        progress.say(f"cached {database} cannot be migrated ({exc}); rebuilding it")
        return None
    with server.connect(database) as conn:
        marker = _marker(conn)
    if marker is None or marker["version"] != version:
        progress.say(f"cached {database} was built by another generator version; rebuilding it")
        return None
    valid_until = marker["details"].get("valid_until")
    if valid_until and datetime.fromisoformat(valid_until) < datetime.now(UTC):
        progress.say(f"cached {database} has no recent events any more; rebuilding it")
        return None
    return marker


def record(
    conn: Conn, name: str, version: str, events: int, details: dict[str, Any], started: float
) -> dict[str, Any]:
    seconds = time.monotonic() - started
    conn.execute(sql("bench_marker_create"))
    conn.execute(
        sql("bench_marker_write"),
        {
            "name": name,
            "version": version,
            "events": events,
            "details": Jsonb(details),
            "build_seconds": seconds,
        },
    )
    return {
        "name": name,
        "version": version,
        "events": events,
        "details": details,
        "build_seconds": seconds,
    }


def events_dataset(
    server: Server, size: int, progress: Progress, *, rebuild: bool = False
) -> tuple[str, dict[str, Any]]:
    """The cached database of ``size`` stored events for reads and aggregation; (name, marker).

    Layout: a dense hour of 100,000 events (or a tenth of ``size``) two days before the build,
    the rest spread over the 180 days before the build and the 30 after it (so "the last 24
    hours" holds events for a month of reuse; the cache is rebuilt after that), every event
    delivered, and hourly/daily/weekly aggregations computed.
    """
    database = f"pe_bench_events_{size}"
    layout = json.dumps({"size": size, "dense": DENSE_HOUR_EVENTS, "days": [180, 30]})
    version = generator_version(layout)
    if not rebuild and (marker := cached(server, database, version, progress)):
        progress.say(
            f"using cached {database} ({marker['events']:,} events, built {marker['built_at']:%Y-%m-%d})"
        )
        return database, marker
    progress.say(f"building {database}: {size:,} events (once; reused by later runs)")
    started = time.monotonic()
    server.create(database)
    now = datetime.now(UTC).replace(microsecond=0)
    dense = min(DENSE_HOUR_EVENTS, size // 10)
    dense_hour = (now - timedelta(days=2)).replace(minute=0, second=0)
    since, until = now - timedelta(days=180), now + timedelta(days=30)
    with server.connect(database) as conn:
        conn.execute(sql("ensure_partitions"), {"ahead": 3, "back": 8})
        types = catalogue_types(conn)

        def load() -> None:
            with tqdm(total=size, desc="events", unit=" ev", unit_scale=True, leave=False) as bar:
                # The dense hour's sessions are 4 minutes long: start them in its first 55.
                generate(
                    conn,
                    dense,
                    start=dense_hour,
                    span=timedelta(minutes=55),
                    types=types,
                    tag="h",
                    bar=bar,
                )
                generate(
                    conn,
                    size - dense,
                    start=since,
                    span=until - since,
                    types=types,
                    first=dense,
                    bar=bar,
                )
            for lo, hi in tqdm(
                list(month_starts(since, until + timedelta(days=1))),
                desc="ledger",
                unit=" month",
                leave=False,
            ):
                ledger(conn, lo, hi, "delivered")

        without_indexes(conn, progress, load)
        for granularity in ("hour", "day", "week"):
            chunks = list(month_starts(since - timedelta(days=7), until + timedelta(days=1)))
            for lo, hi in tqdm(chunks, desc=f"aggregate {granularity}", unit=" month", leave=False):
                conn.execute(
                    sql("aggregate_range"), {"granularity": granularity, "from": lo, "to": hi}
                )
        details = {
            "dense_hour": dense_hour.isoformat(),
            "dense_hour_events": dense,
            "from": since.isoformat(),
            "until": until.isoformat(),
            "valid_until": (until - timedelta(days=1)).isoformat(),
        }
        marker = record(conn, database, version, size, details, started)
    progress.say(f"built {database} in {marker['build_seconds']:.0f}s")
    return database, marker


def retention_template(
    server: Server, expired: int, progress: Progress, *, rebuild: bool = False
) -> tuple[str, dict[str, Any]]:
    """The cached template holding ``expired`` expired events among live ones; (name, marker).

    40% of the expired events fill the month 15 months back on their own (interaction events,
    1-year retention); 60% share the month 14 months back with transaction events kept 7 years.
    Since migration 0062 each month is partitioned by retention class, so both months' 1-year
    leaves are retired whole and the 7-year events stay in their own leaf. Recent live events (a
    tenth as many) sit in the last week. Everything is delivered; only the last week's events
    have ledger rows, as the dedupe window's recycling leaves it.
    """
    database = f"pe_bench_expiry_{expired}"
    layout = json.dumps({"expired": expired, "split": [0.4, 0.6, 0.1, 0.1], "months": [15, 14]})
    version = generator_version(layout)
    if not rebuild and (marker := cached(server, database, version, progress)):
        progress.say(f"using cached {database} ({marker['events']:,} events)")
        return database, marker
    progress.say(f"building {database}: {expired:,} expired events (once; cloned per run)")
    started = time.monotonic()
    server.create(database)
    month = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    old = [(month - timedelta(days=31 * k)).replace(day=1) for k in (15, 14)]
    whole, shared = int(expired * 0.4), expired - int(expired * 0.4)
    kept, live = expired // 10, expired // 10
    with server.connect(database) as conn:
        conn.execute(sql("ensure_partitions"), {"ahead": 3, "back": 17})
        interaction = catalogue_types(conn, "interaction")
        transaction = catalogue_types(conn, "transaction")
        everything = catalogue_types(conn)

        def load() -> None:
            total = whole + shared + kept + live
            with tqdm(total=total, desc="events", unit=" ev", unit_scale=True, leave=False) as bar:
                span = timedelta(days=27)  # sessions must end inside their month
                n = generate(
                    conn, whole, start=old[0], span=span, types=interaction, tag="a", bar=bar
                )
                n += generate(
                    conn,
                    shared,
                    start=old[1],
                    span=span,
                    types=interaction,
                    tag="b",
                    first=n,
                    bar=bar,
                )
                n += generate(
                    conn,
                    kept,
                    start=old[1],
                    span=span,
                    types=transaction,
                    tag="c",
                    first=n,
                    bar=bar,
                )
                generate(
                    conn,
                    live,
                    start=datetime.now(UTC) - timedelta(days=7),
                    span=timedelta(days=6),
                    types=everything,
                    tag="d",
                    first=n,
                    bar=bar,
                )
            ledger(
                conn,
                datetime.now(UTC) - timedelta(days=8),
                datetime.now(UTC) + timedelta(days=1),
                "delivered",
            )

        without_indexes(conn, progress, load)
        details = {
            "expired": expired,
            "whole_month": whole,
            "shared_month": shared,
            "kept": kept,
            "live": live,
        }
        marker = record(conn, database, version, whole + shared + kept + live, details, started)
    progress.say(f"built {database} in {marker['build_seconds']:.0f}s")
    return database, marker
