"""The benchmarks' SQL, loaded by name from bench/sql/bench.sql (same format as the package's)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from platform_events.queries import _parse

_FILE = Path(__file__).with_name("sql") / "bench.sql"


@lru_cache(maxsize=1)
def _queries() -> dict[str, str]:
    return _parse(_FILE.read_text(encoding="utf-8"), _FILE.name)


def sql(name: str) -> str:
    """The statement called ``name``; KeyError names the missing query."""
    try:
        return _queries()[name]
    except KeyError:
        raise KeyError(f"no SQL query named {name!r} in {_FILE}") from None
