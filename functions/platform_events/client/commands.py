"""``platform-events generate``: realistic traffic written through the client's batched path."""

from __future__ import annotations

import argparse
import itertools
import time
from typing import Any

from tqdm import tqdm

from platform_events import db
from platform_events.cli import print_json
from platform_events.client.events import count_statuses
from platform_events.client.transport import PostgresTransport
from platform_events.config import Settings
from platform_events.ingest import quarantine
from platform_events.local import database_url
from platform_events.traffic import generate

# Events handed to the transport at once: it splits them into CHUNK_SIZE statements and runs two
# connections in parallel, so each call keeps both busy.
_WRITE_BATCH = 10_000


def write_traffic(
    settings: Settings,
    *,
    users: int,
    days: int,
    seed: int = 7,
    progress: bool = True,
    parallel: int = 2,
) -> dict[str, Any]:
    """Generate and write the traffic; returns the per-status counts, events/s and seconds."""
    transport = PostgresTransport(database_url(settings), parallel=parallel)
    totals = {"accepted": 0, "duplicate": 0, "rejected": 0, "quarantined": 0}
    started = time.monotonic()
    events = generate(users, days, seed=seed)
    try:
        with tqdm(unit=" events", disable=not progress, desc="generate") as bar:
            while batch := list(itertools.islice(events, _WRITE_BATCH)):
                for status, n in count_statuses(transport.send(batch)).items():
                    totals[status] += n
                bar.update(len(batch))
    finally:
        transport.close()
    seconds = time.monotonic() - started
    written = sum(totals.values())
    return {**totals, "events": written, "seconds": round(seconds, 2),
            "events_per_second": round(written / seconds) if seconds else 0}  # fmt: skip


def _generate(args: argparse.Namespace, settings: Settings) -> int:
    result = write_traffic(settings, users=args.users, days=args.days, seed=args.seed)
    print(
        f"{result['events']} events in {result['seconds']}s ({result['events_per_second']}/s): "
        f"{result['accepted']} accepted, {result['duplicate']} duplicate, "
        f"{result['rejected']} rejected"
    )
    return 1 if result["rejected"] else 0


def _quarantine(args: argparse.Namespace, settings: Settings) -> int:
    with db.connection(settings, autocommit=True) as conn:
        if args.promote:
            with tqdm(unit=" events", desc="promote", disable=args.json) as bar:
                result: Any = quarantine.promote(conn, args.event_type, on_chunk=bar.update)
        else:
            result = quarantine.summary(conn, args.event_type)
    if args.json or args.promote:
        print_json(result)
        return 0
    if not result:
        print("the quarantine is empty")
    for row in result:
        mark = "promotable" if row["promotable"] else "no schema yet"
        print(f"{row['events']:>8}  {row['event_type']}  ({mark}): {row['reason']}")
    return 0


def register_commands(commands: Any) -> None:
    p = commands.add_parser(
        "generate", help="write realistic marketplace traffic through the batched client path"
    )
    p.add_argument("--users", type=int, default=1000, help="simulated users (default 1000)")
    p.add_argument("--days", type=int, default=7, help="days of traffic before now (default 7)")
    p.add_argument("--seed", type=int, default=7, help="random seed; same seed, same events")
    p.set_defaults(handler=_generate)

    p = commands.add_parser(
        "quarantine",
        help="events ingest_events held back for an unknown type; promote them once known",
    )
    p.add_argument("--event-type", help="only this type")
    p.add_argument(
        "--promote",
        action="store_true",
        help="move the events whose type now has an active schema into the event store",
    )
    p.add_argument("--json", action="store_true", help="the summary as JSON")
    p.set_defaults(handler=_quarantine)
