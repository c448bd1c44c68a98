"""``platform-events bench``: run the benchmarks of the checkout's ``bench/`` folder.

The benchmarks are not part of the deployed package (they need the repository's ``bench/`` and
build multi-gigabyte datasets), so this command finds the checkout this package runs from and
runs ``python -m bench`` there, passing every option through (see ``platform-events bench -h``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

from platform_events.config import Settings


def bench_root() -> Path | None:
    """The repository root holding ``bench/__main__.py``, or None outside a checkout."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "bench" / "__main__.py").is_file() else None


def _bench(args: argparse.Namespace, settings: Settings) -> int:
    root = bench_root()
    if root is None:
        print(
            "platform-events: bench needs a source checkout (its bench/ folder is not part of "
            "the installed package): run `make bench` from a clone of the repository",
            file=sys.stderr,
        )
        return 2
    return subprocess.call([sys.executable, "-m", "bench", *args.bench_args], cwd=root)


def register_commands(commands: Any) -> None:
    # No options of its own ("+" prefix, no -h): every argument, --help included, goes to
    # python -m bench unchanged.
    p = commands.add_parser(
        "bench",
        help="the benchmarks, each beside a raw-Postgres baseline (bench --help for options)",
        prefix_chars="+",
        add_help=False,
    )
    p.add_argument("bench_args", nargs="*", help="options for python -m bench")
    p.set_defaults(handler=_bench)
