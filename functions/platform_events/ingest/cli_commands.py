"""Ingest commands of ``platform-events``: ``rejected``, the dead letter of ``ingest_events``, and
``quarantine``, the events it held back for an unknown type."""

from __future__ import annotations

import argparse
from typing import Any

from tqdm import tqdm

from platform_events import db
from platform_events.config import Settings
from platform_events.ingest import deadletter, quarantine
from platform_events.output import print_json


def _positive(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError("must be between 1 and 10000")
    return value


def _rejected(args: argparse.Namespace, settings: Settings) -> int:
    with db.connection(settings, autocommit=True) as conn:
        rows = deadletter.listing(conn, reason=args.reason, limit=args.limit)
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("no rejected message" + (f" with reason {args.reason}" if args.reason else ""))
    for row in rows:
        cut = " (truncated)" if row["truncated"] else ""
        print(
            f"{row['received_at']:%Y-%m-%d %H:%M:%S}  {row['reason_code']}  "
            f"{row['reason_field'] or '-'}  source {row['source']}  "
            f"message {row['message_id'] or '-'}: {row['reason']}\n    {row['message'][:300]}{cut}"
        )
    return 0


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

    p = commands.add_parser(
        "rejected", help="messages ingest_events rejected (the dead letter, kept 30 days)"
    )
    p.add_argument("--reason", help="only this reason code (invalid_string, PE003, too_large...)")
    p.add_argument(
        "--limit", type=_positive, default=50, help="newest first, at most N (default 50)"
    )
    p.add_argument("--json", action="store_true", help="the rows as JSON, messages whole")
    p.set_defaults(handler=_rejected)
