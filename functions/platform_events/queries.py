"""Every SQL statement the pipeline runs, loaded by name from the ``sql/*.sql`` files.

Each statement is preceded by a ``-- name: some_name`` line, as in procrastinate's queries.sql, so a
reader finds all the SQL in one folder and code refers to statements by name.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)


def _parse(text: str, source: str) -> dict[str, str]:
    found: dict[str, str] = {}
    parts = _NAME.split(text)
    # parts = [preamble, name1, body1, name2, body2, ...]
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        statement = body.strip()
        if name in found:
            raise ValueError(f"query {name!r} defined twice in {source}")
        found[name] = statement
    return found


@lru_cache(maxsize=1)
def all_queries() -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in sorted(resources.files("platform_events.sql").iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".sql"):
            continue
        for name, statement in _parse(entry.read_text(encoding="utf-8"), entry.name).items():
            if name in found:
                raise ValueError(f"query {name!r} defined in two files ({entry.name})")
            found[name] = statement
    return found


def sql(name: str) -> str:
    """The statement called ``name``; KeyError names the missing query."""
    try:
        return all_queries()[name]
    except KeyError:
        raise KeyError(f"no SQL query named {name!r} in platform_events/sql/*.sql") from None
