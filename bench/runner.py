"""``python -m bench``: run the sections, print the table, write bench/results.json."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import asdict, fields
from datetime import UTC, datetime
from pathlib import Path

from bench import sections
from bench.report import Progress, Report
from bench.server import load_average, machine, open_server, versions
from bench.sizes import FULL, QUICK, Sizes, with_overrides
from platform_events.config import load_settings
from platform_events.errors import ConfigError

RESULTS = Path(__file__).resolve().parent / "results.json"
QUICK_RESULTS = Path(__file__).resolve().parent / "data" / "results-quick.json"


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="The pipeline's benchmarks, each beside a raw-Postgres baseline of the same run.",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run of a minute")
    parser.add_argument(
        "--only", action="append", choices=list(sections.SECTIONS), help="run only these sections"
    )
    parser.add_argument(
        "--results",
        type=Path,
        help="where to write the results (default bench/results.json, the committed figures; "
        "bench/data/results-quick.json with --quick)",
    )
    parser.add_argument(
        "--database-url",
        help="a server whose role may create databases (default DATABASE_URL, else an embedded "
        "server of its own under bench/data/)",
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached datasets")
    parser.add_argument(
        "--prepare", action="store_true", help="only build (or check) the cached datasets"
    )
    parser.add_argument(
        "--drop-datasets", action="store_true", help="drop the cached datasets at the end"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    for f in fields(Sizes):
        parser.add_argument(
            "--" + f.name.replace("_", "-"),
            type=float if f.type in ("float", float) else int,
            help=f"default {getattr(FULL, f.name):,} ({getattr(QUICK, f.name):,} with --quick)",
        )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    sizes = with_overrides(
        QUICK if args.quick else FULL, {f.name: getattr(args, f.name) for f in fields(Sizes)}
    )
    try:
        configured = args.database_url or load_settings().database_url
    except ConfigError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    progress = Progress(quiet=args.quiet)
    report = Report()
    started_at, started = datetime.now(UTC), time.monotonic()
    load_before = load_average()
    if load_before and load_before[0] > 0.5 * (os.cpu_count() or 1):
        progress.say(f"note: load average {load_before[0]} before the run: figures will be noisy")
    server = open_server(configured)
    scratch = f"pe_bench_run_{os.getpid()}"
    ctx = sections.Context(server, scratch, sizes, report, progress, rebuild=args.rebuild)
    failures: dict[str, str] = {}
    try:
        progress.say(f"server {server.admin_url.split('?')[0]}; scratch database {scratch}")
        server.create(scratch)
        with server.connect(scratch) as conn:
            report.context = {
                "started_at": started_at.isoformat(timespec="seconds"),
                "preset": "quick" if args.quick else "full",
                "sizes": asdict(sizes),
                "machine": machine(),
                "versions": versions(conn),
            }
        names = [] if args.prepare else args.only or list(sections.SECTIONS)
        if args.prepare:
            sections.prepare(ctx)
        for name in names:
            try:
                sections.SECTIONS[name](ctx)
            except Exception as exc:  # one broken section must not hide the others' figures
                failures[name] = f"{type(exc).__name__}: {exc}"
                progress.say(f"{name}: FAILED")
                traceback.print_exc()
    finally:
        for database in [scratch, *ctx.dropped]:
            server.drop(database)
        if args.drop_datasets:
            server.drop(f"pe_bench_events_{sizes.dataset_events}")
            server.drop(f"pe_bench_expiry_{sizes.retention_events}")
            server.drop(f"pe_bench_history_{sizes.history_events}")
        ctx.close()
        server.close()
    report.context.update(
        {
            "duration_s": round(time.monotonic() - started, 1),
            "load_average": {"before": load_before, "after": load_average()},
            "failures": failures,
        }
    )
    results: Path = args.results or (QUICK_RESULTS if args.quick else RESULTS)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(report.document(), indent=2, default=str) + "\n")
    print(report.table())
    print(f"\n{len(report.figures)} figures in {report.context['duration_s']:.0f}s -> {results}")
    if failures:
        for name, error in failures.items():
            print(f"section {name} failed: {error}", file=sys.stderr)
        return 1
    return 0
