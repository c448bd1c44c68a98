"""``platform-events stream``: one stream run from the command line, with a progress bar."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from platform_events.cli import print_json
from platform_events.config import Settings
from platform_events.errors import InvalidRequest
from platform_events.web import parse_model


def _stream(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

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
    p = commands.add_parser(
        "stream", help="deliver pending events to the warehouse once (what the function does)"
    )
    p.add_argument("--sink", choices=["duckdb", "bigquery", "redshift"], help="default WAREHOUSE")
    p.add_argument("--batch-size", type=int, help="events per batch (default STREAM_BATCH_SIZE)")
    p.add_argument("--max-seconds", type=float, help="time budget (default STREAM_MAX_SECONDS)")
    p.add_argument("--max-batches", type=int, help="stop after this many batches")
    p.set_defaults(handler=_stream)
