"""Operations commands of ``platform-events``: aggregate, cleanup, retention, reprocess, erase-user,
export-user, status, serve, scheduler. Each builds the job's request model from its options and
prints the result (JSON for the jobs; ``status`` is human-readable unless ``--json``)."""

from __future__ import annotations

import argparse
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from platform_events import registry
from platform_events.config import Settings
from platform_events.errors import InvalidRequest
from platform_events.output import print_json
from platform_events.scheduler import JOBS
from platform_events.web import parse_model


def _build(model: type[BaseModel], values: dict[str, Any]) -> Any:
    """The request model from CLI values (None = default), with the same validation as HTTP."""
    return parse_model(model, {k: v for k, v in values.items() if v is not None})


def _fail(exc: InvalidRequest) -> int:
    print(f"platform-events: {exc.field}: {exc.message}", file=sys.stderr)
    return 2


def _aggregate(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from platform_events.jobs import aggregate

    try:
        params = _build(
            aggregate.AggregateRequest,
            {"since": args.since, "until": args.until, "granularities": args.granularity},
        )
        bar: Any = None

        def on_plan(total: int) -> None:
            nonlocal bar
            bar = tqdm(total=total, unit="range", disable=total < 2 or not sys.stderr.isatty())

        result = aggregate.run(params, settings, on_plan=on_plan, progress=lambda n: bar.update(n))
        if bar is not None:
            bar.close()
    except InvalidRequest as exc:
        return _fail(exc)
    print_json(result)
    return 0


def _cleanup(args: argparse.Namespace, settings: Settings) -> int:
    from platform_events.jobs import cleanup

    print_json(cleanup.run(cleanup.CleanupRequest(), settings))
    return 0


def _retention(args: argparse.Namespace, settings: Settings) -> int:
    from platform_events.jobs import retention

    try:
        params = _build(
            retention.RetentionRequest,
            {
                "dry_run": args.dry_run,
                "batch_size": args.batch_size,
                "partitions": args.partitions,
                "warehouse": False if args.no_warehouse else None,
                "max_seconds": args.max_seconds,
            },
        )
    except InvalidRequest as exc:
        return _fail(exc)
    print_json(retention.run(params, settings))
    return 0


def _reprocess(args: argparse.Namespace, settings: Settings) -> int:
    from platform_events.jobs import reprocess

    try:
        params = _build(
            reprocess.ReprocessRequest,
            {
                "failed": args.failed or None,
                "from": args.from_,
                "to": args.to,
                "event_types": args.event_type,
                "resend": False if args.no_resend else None,
                "reaggregate": False if args.no_reaggregate else None,
            },
        )
        result = reprocess.run(params, settings)
    except InvalidRequest as exc:
        return _fail(exc)
    print_json(result)
    return 0


def _erase(args: argparse.Namespace, settings: Settings) -> int:
    from platform_events.jobs import gdpr

    if args.check:
        trail = gdpr.audit_trail(settings, args.user_id)
        print_json({"erasures": trail})
        return 0 if trail else 1
    if args.queue:
        print_json(gdpr.process_queue(settings, limit=10_000))
        return 0
    if not args.user_id:
        print("platform-events: erase-user needs USER_ID (or --queue)", file=sys.stderr)
        return 2
    result = gdpr.erase_user(
        settings, args.user_id, source="cli", requested_by=gdpr.cli_requested_by()
    )
    print_json(result)
    return 0


def _export(args: argparse.Namespace, settings: Settings) -> int:
    from platform_events.jobs import gdpr

    if args.output in (None, "-"):
        count = gdpr.export_user(settings, args.user_id, sys.stdout)
    else:
        path = Path(args.output)
        with path.open("w", encoding="utf-8") as handle:
            count = gdpr.export_user(settings, args.user_id, handle)
        print(f"wrote {count} events to {path}", file=sys.stderr)
    return 0


def _status(args: argparse.Namespace, settings: Settings) -> int:
    from platform_events.jobs import status

    result = status.run(status.StatusRequest(), settings)
    if args.json:
        print_json(result)
    else:
        print(status.render(result))
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from platform_events import server
    from platform_events.jobs.local_secrets import auth_token

    token_source = (
        "LOCAL_AUTH_TOKEN" if settings.local_auth_token else f"{settings.home}/local_auth_token"
    )
    auth_token(settings)
    print(
        f"serving on http://{args.host}:{args.port}/ (bearer token from {token_source})",
        file=sys.stderr,
    )
    server.serve(
        settings, host=args.host, port=args.port, workers=args.workers, threads=args.threads
    )
    return 0


def _scheduler(args: argparse.Namespace, settings: Settings) -> int:
    from platform_events import scheduler
    from platform_events.jobs.local_secrets import auth_token

    if args.action == "local":
        local = scheduler.LocalScheduler(args.url, auth_token(settings))
        print(f"scheduling {', '.join(scheduler.JOBS)} against {args.url}", file=sys.stderr)
        stop = threading.Event()
        try:
            local.run_forever(stop)
        except KeyboardInterrupt:
            stop.set()
        return 0
    if not args.job:
        print(
            f"platform-events: scheduler {args.action} needs JOB ({', '.join(scheduler.JOBS)})",
            file=sys.stderr,
        )
        return 2
    print_json(scheduler.control(settings, args.action, args.job))
    return 0


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def register_commands(commands: Any) -> None:
    """Add the operations commands to the ``platform-events`` parser."""
    p = registry.add_command(commands, "aggregate")
    p.add_argument("--since", type=_time, help="backfill from (ISO 8601, UTC if naive)")
    p.add_argument("--until", type=_time, help="backfill until (default now)")
    p.add_argument(
        "--granularity",
        action="append",
        choices=["hour", "day", "week"],
        help="repeatable; default all",
    )
    p.set_defaults(handler=_aggregate)

    p = registry.add_command(commands, "cleanup")
    p.set_defaults(handler=_cleanup)

    p = registry.add_command(commands, "retention")
    p.add_argument("--dry-run", action="store_true", help="report what would go, change nothing")
    p.add_argument("--batch-size", type=int, help="events per type per batch (default 5000)")
    p.add_argument(
        "--partitions", choices=["drop", "detach", "off"], help="expired months (default drop)"
    )
    p.add_argument("--max-seconds", type=float, help="time budget (default 240)")
    p.add_argument("--no-warehouse", action="store_true", help="leave the warehouse alone")
    p.set_defaults(handler=_retention)

    p = registry.add_command(commands, "reprocess")
    p.add_argument("--failed", action="store_true", help="put failed events back to pending")
    p.add_argument("--from", dest="from_", type=_time, help="range start (occurred_at)")
    p.add_argument("--to", type=_time, help="range end, exclusive")
    p.add_argument("--event-type", action="append", help="only this type (repeatable)")
    p.add_argument("--no-resend", action="store_true", help="do not re-send the range")
    p.add_argument("--no-reaggregate", action="store_true", help="do not re-aggregate the range")
    p.set_defaults(handler=_reprocess)

    p = registry.add_command(commands, "erasure")
    p.add_argument("user_id", nargs="?", help="the user id")
    p.add_argument(
        "--check", action="store_true", help="show the audit rows of USER_ID, erase nothing"
    )
    p.add_argument("--queue", action="store_true", help="process the erasure queue instead")
    p.set_defaults(handler=_erase)

    p = commands.add_parser("export-user", help="every stored event of a user, as JSON")
    p.add_argument("user_id")
    p.add_argument("--output", "-o", help="file to write (default stdout)")
    p.set_defaults(handler=_export)

    p = registry.add_command(commands, "status")
    p.add_argument("--json", action="store_true", help="JSON on stdout")
    p.set_defaults(handler=_status)

    p = commands.add_parser("serve", help="every HTTP function on one local server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--workers", type=int, default=1, help="gunicorn worker processes (default 1)")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="request threads per worker (default 4 per CPU, as functions-framework)",
    )
    p.set_defaults(handler=_serve)

    p = commands.add_parser("scheduler", help="local schedules, or drive the Cloud Scheduler jobs")
    p.add_argument("action", choices=["local", "run", "pause", "resume"])
    p.add_argument("job", nargs="?", help="run|pause|resume: one of " + ", ".join(JOBS))
    p.add_argument("--url", default="http://127.0.0.1:8080", help="serve's address (local)")
    p.set_defaults(handler=_scheduler)
