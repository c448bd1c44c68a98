"""JSON every store of ours can hold: one parse and one check, naming the first value that cannot.

Python's ``json`` accepts more than PostgreSQL and the warehouses store, and what it accepts but
they refuse used to surface as a 500 (or a whole batch refused) instead of an answer naming the
value. The rules, each the strictest of the stores:

- Strings (values and keys) hold no U+0000 and no lone surrogate: PostgreSQL's ``jsonb`` and
  ``text`` reject ``\\u0000`` and insist that surrogates come in correct pairs (PostgreSQL manual,
  "8.14. JSON Types"), and a lone surrogate cannot even be encoded to UTF-8 for the wire.
- Numbers are finite and integers fit in 64 bits: ``NaN``/``Infinity`` (tokens Python accepts)
  and ``1e400`` (which Python reads as infinity) are not JSON numbers to PostgreSQL, and BigQuery's
  JSON type stores a number as INT64 or FLOAT64 without loss or refuses it (BigQuery "JSON
  functions", ``wide_number_mode``: ``exact`` by default). Integers of more than
  ``MAX_INT_DIGITS`` digits are not even converted (Python refuses past 4,300 with ValueError).
- Nesting is at most ``MAX_DEPTH`` levels: BigQuery's JSON type nests at most 500 levels
  ("Working with JSON data in GoogleSQL", Limitations); ours is lower so that every recursive
  walk (ours, psycopg's, the sinks') stays far from Python's recursion limit.

:func:`loads` parses without ever raising anything but :class:`InvalidJson`; :func:`problem`
finds the first unstorable value of a parsed document and names its path (``properties.title``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from platform_events.errors import InvalidJson

MAX_DEPTH = 64
MAX_INT_DIGITS = 20
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class BigNumber(str):
    """An integer literal too long to convert: kept as its text so it can be named and stored."""

    __slots__ = ()


@dataclass(frozen=True)
class Problem:
    """The first value a store cannot hold: where (dotted path), a stable code, and why."""

    path: str
    code: str
    message: str


def _parse_int(text: str) -> int | BigNumber:
    digits = len(text) - (text[0] == "-")
    return BigNumber(text) if digits > MAX_INT_DIGITS else int(text)


def loads(raw: bytes | str) -> Any:
    """Parse ``raw`` (UTF-8, -16 or -32 detected as ``json.loads`` does); InvalidJson if not JSON.

    Never raises anything else: undecodable bytes, syntax errors, integers too long to convert
    and nesting deeper than Python's parser recurses are all InvalidJson.
    """
    try:
        return json.loads(raw, parse_int=_parse_int)
    except RecursionError:
        raise InvalidJson(
            f"the body nests deeper than JSON here may (at most {MAX_DEPTH} levels)", "too_deep"
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidJson(f"the body is not valid JSON: {exc}") from None
    except ValueError as exc:  # e.g. a float literal Python cannot convert
        raise InvalidJson(f"the body is not valid JSON: {exc}") from None


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _string_problem(value: str) -> str | None:
    if "\x00" in value:
        return "holds U+0000, which PostgreSQL cannot store"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "holds a lone UTF-16 surrogate, which is not Unicode text"
    return None


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any, int]]:
    """Every (path, value, depth) of a document, iteratively (no recursion to exhaust)."""
    stack: list[tuple[str, Any, int]] = [(path, value, 0)]
    while stack:
        item = stack.pop()
        yield item
        at, node, depth = item
        if isinstance(node, dict):
            children = [(_join(at, k), v, depth + 1) for k, v in node.items()]
            stack.extend(reversed(children))
        elif isinstance(node, list):
            stack.extend(reversed([(_join(at, i), v, depth + 1) for i, v in enumerate(node)]))


_LONG_DIGITS = re.compile(r"[0-9]{19}")


def _shallow(value: Any) -> bool:
    """True when no container of ``value`` nests deeper than MAX_DEPTH (scalars not visited)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return False
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return True


def _plainly_storable(value: Any) -> bool:
    """A fast, conservative pass: True only when ``value`` surely breaks no rule.

    One C-level serialisation finds NaN and infinities (allow_nan=False raises), U+0000 (always
    written as an escape), lone surrogates (which then fail to encode); any run of 19 digits may
    be an integer past 64 bits (or a BigNumber) and sends the value to the exact walk.
    """
    if not isinstance(value, dict | list):
        return False
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
        text.encode("utf-8")
    except (ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
        return False
    return "\\u0000" not in text and _LONG_DIGITS.search(text) is None and _shallow(value)


def problem(value: Any, path: str = "") -> Problem | None:
    """The first value of ``value`` (a parsed document) no store can hold, else None."""
    if _plainly_storable(value):
        return None
    return exact_problem(value, path)


def exact_problem(value: Any, path: str = "") -> Problem | None:
    """:func:`problem` without the fast pass: every value visited, its path built."""
    for at, node, depth in _walk(value, path):
        name = at or "body"
        if depth > MAX_DEPTH:
            return Problem(name, "too_deep", f"{name} nests deeper than {MAX_DEPTH} levels")
        if isinstance(node, BigNumber):
            return Problem(name, "number_out_of_range", f"{name} is an integer over 64 bits")
        if isinstance(node, bool) or node is None:
            continue
        if isinstance(node, int):
            if not INT64_MIN <= node <= INT64_MAX:
                return Problem(name, "number_out_of_range", f"{name} is an integer over 64 bits")
        elif isinstance(node, float):
            if not math.isfinite(node):
                return Problem(
                    name, "number_out_of_range", f"{name} is not a finite number (NaN, Infinity)"
                )
        elif isinstance(node, str):
            why = _string_problem(node)
            if why is not None:
                return Problem(name, "invalid_string", f"{name} {why}")
        elif isinstance(node, dict):
            for key in node:
                why = _string_problem(key)
                if why is not None:
                    return Problem(name, "invalid_string", f"a key of {name} {why}")
    return None


def dumps_escaped(value: Any) -> str:
    """``value`` as ASCII JSON text (U+0000 and lone surrogates as escapes): storable as text."""
    return json.dumps(value, ensure_ascii=True, default=str, separators=(",", ":"), allow_nan=True)
