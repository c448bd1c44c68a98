"""``platform-events stream``: one stream run from the command line, with a progress bar."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any

from platform_events import registry
from platform_events.config import Settings
from platform_events.errors import InvalidRequest
from platform_events.output import print_json
from platform_events.web import parse_model


def _workers(args: argparse.Namespace) -> int:
    """``--workers N``: N ``stream`` processes at once, each with its own connections and sink
    (SKIP LOCKED shares the backlog, the DuckDB handover lock the file); their answers summed."""
    command = [sys.executable, "-m", "platform_events", "stream"]
    for option in ("sink", "batch_size", "max_seconds", "max_batches"):
        value = getattr(args, option)
        if value is not None:
            command += ["--" + option.replace("_", "-"), str(value)]
    workers = [
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(args.workers)
    ]
    answers: list[dict[str, Any]] = []
    code = 0
    for worker in workers:
        out, _ = worker.communicate()
        code = code or worker.returncode
        if worker.returncode == 0:
            answers.append(json.loads(out))
    total: dict[str, Any] = {
        name: sum(int(a.get(name, 0)) for a in answers)
        for name in ("claimed", "delivered", "failed", "batches")
    }
    total["duration_ms"] = max((float(a["duration_ms"]) for a in answers), default=0.0)
    total["workers"] = args.workers
    total["per_worker"] = answers
    print_json(total)
    return code


def _stream(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    if args.workers < 1:
        print("platform-events: workers: must be at least 1", file=sys.stderr)
        return 2
    if args.workers > 1:
        return _workers(args)

    from platform_events.pipeline import stream
    from platform_events.sinks import get_sink

    values = {
        "sink": args.sink,
        "batch_size": args.batch_size,
        "max_seconds": args.max_seconds,
        "max_batches": args.max_batches,
    }
    try:
        params = parse_model(stream.StreamRequest, {k: v for k, v in values.items() if v})
    except InvalidRequest as exc:
        print(f"platform-events: {exc.field}: {exc.message}", file=sys.stderr)
        return 2
    sink = get_sink(settings, params.sink)
    with tqdm(unit=" events", desc="stream", disable=not sys.stderr.isatty()) as bar:
        try:
            result: dict[str, Any] = stream.stream(
                settings,
                sink=sink,
                batch_size=params.batch_size,
                max_seconds=params.max_seconds,
                max_batches=params.max_batches,
                progress=bar,
            )
        finally:
            sink.close()
    print_json(result)
    return 0


def register_commands(commands: Any) -> None:
    p = registry.add_command(commands, "stream")
    p.add_argument("--sink", choices=["duckdb", "bigquery", "redshift"], help="default WAREHOUSE")
    p.add_argument("--batch-size", type=int, help="events per batch (default STREAM_BATCH_SIZE)")
    p.add_argument("--max-seconds", type=float, help="time budget (default STREAM_MAX_SECONDS)")
    p.add_argument("--max-batches", type=int, help="stop after this many batches")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes in parallel, each with its own connections (default 1)",
    )
    p.set_defaults(handler=_stream)
