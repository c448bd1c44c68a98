"""python-hcl2's output read as Terraform declarations, and the references inside expressions.

python-hcl2 keeps string quotes, marks blocks `__is_block__` and gives every expression back as a
`${...}` string; this module reads a module's declarations from that, and finds every traversal
(root.attr[index].attr...) inside expressions, templates and heredocs, leaving literal text alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Body = Mapping[str, Any]
MARKERS = ("__is_block__", "__comments__", "__inline_comments__", "__start_line__", "__end_line__")


def unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def is_block(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) and v.get("__is_block__") for v in value)
    )


def items(body: Body) -> Iterator[tuple[str, Any]]:
    for key, value in body.items():
        if key not in MARKERS:
            yield unquote(key), value


def _labelled(blocks: Any) -> Iterator[tuple[str, str, Body]]:
    """(type, name, body) of `resource "type" "name" {}` entries as python-hcl2 gives them."""
    for block in blocks or []:
        for rtype, named in items(block):
            for name, body in items(named):
                yield rtype, name, body


def single(blocks: Any) -> Iterator[tuple[str, Body]]:
    for block in blocks or []:
        yield from items(block)


@dataclass
class Module:
    """The declarations of one module directory (all its .tf files, parsed)."""

    path: str
    files: dict[str, Body]
    resources: dict[tuple[str, str], Body] = field(default_factory=dict)
    data: dict[tuple[str, str], Body] = field(default_factory=dict)
    variables: set[str] = field(default_factory=set)
    locals: set[str] = field(default_factory=set)
    outputs: set[str] = field(default_factory=set)
    calls: dict[str, Body] = field(default_factory=dict)
    required_providers: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, path: str, files: Mapping[str, Body]) -> Module:
        module = cls(path, dict(files))
        for tf in files.values():
            for rtype, name, body in _labelled(tf.get("resource")):
                module.resources[(rtype, name)] = body
            for rtype, name, body in _labelled(tf.get("data")):
                module.data[(rtype, name)] = body
            module.variables |= {name for name, _ in single(tf.get("variable"))}
            module.outputs |= {name for name, _ in single(tf.get("output"))}
            module.calls |= dict(single(tf.get("module")))
            for block in tf.get("locals") or []:
                module.locals |= {name for name, _ in items(block)}
            for block in tf.get("terraform") or []:
                for required in block.get("required_providers") or []:
                    for name, spec in items(required):
                        module.required_providers[name] = {
                            k: unquote(v) if isinstance(v, str) else v for k, v in items(spec)
                        }
        return module


# --- References ----------------------------------------------------------------------------------

Segment = tuple[str, str]  # ("attr", name) | ("index", text) | ("splat", "")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_KEYWORDS = {"for", "in", "if", "true", "false", "null", "endfor", "endif", "else"}


def matching(text: str, start: int, open_: str, close: str) -> int:
    """Index just past the bracket closing the one at text[start], skipping string literals."""
    depth = 0
    i = start
    while i < len(text):
        char = text[i]
        if char == '"':
            i = _string_end(text, i)
            continue
        if char == open_:
            depth += 1
        elif char == close:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(text)


def _string_end(text: str, start: int) -> int:
    """Index just past the string literal opening at text[start] (templates nest strings)."""
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == '"':
            return i + 1
        if text.startswith(("${", "%{"), i) and not text.startswith("$${", i - 1):
            i = matching(text, i + 1, "{", "}")
            continue
        i += 1
    return len(text)


def _template_parts(text: str) -> Iterator[str]:
    """The expressions inside the ${...} and %{...} of a template (string literal contents)."""
    i = 0
    while i < len(text):
        if text.startswith(("$${", "%%{"), i):
            i += 3
            continue
        if text.startswith(("${", "%{"), i):
            end = matching(text, i + 1, "{", "}")
            yield text[i + 2 : end - 1]
            i = end
            continue
        i += 1


def traversals(value: str) -> list[list[Segment]]:
    """Every traversal (root.attr[index].attr...) in a python-hcl2 value string: an expression
    wrapped in ${...}, or a quoted template or heredoc whose ${...} parts are expressions."""
    if (
        value.startswith("${")
        and value.endswith("}")
        and matching(value, 1, "{", "}") == len(value)
    ):
        return _expression_traversals(value[2:-1])
    if value.startswith('"<<'):  # heredoc: quotes inside are literal text
        found: list[list[Segment]] = []
        for part in _template_parts(value):
            found += _expression_traversals(part)
        return found
    return _expression_traversals(value) if value.startswith('"') else []


def _expression_traversals(text: str) -> list[list[Segment]]:
    found: list[list[Segment]] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == '"':
            end = _string_end(text, i)
            for part in _template_parts(text[i + 1 : end - 1]):
                found += _expression_traversals(part)
            i = end
            continue
        match = _IDENT.match(text, i)
        if match and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "_.")):
            name = match.group()
            i = match.end()
            rest = text[i:].lstrip()
            if name in _KEYWORDS or rest.startswith("("):
                continue
            segments: list[Segment] = [("attr", name)]
            while i < len(text):
                if text.startswith(".*", i) or text.startswith("[*]", i):
                    segments.append(("splat", ""))
                    i += 2 if text[i] == "." else 3
                elif text[i] == "." and (attr := _IDENT.match(text, i + 1)):
                    segments.append(("attr", attr.group()))
                    i = attr.end()
                elif text[i] == "." and (number := re.match(r"\.(\d+)", text[i:])):
                    segments.append(("index", number.group(1)))
                    i += number.end()
                elif text[i] == "[":
                    end = matching(text, i, "[", "]")
                    inner = text[i + 1 : end - 1]
                    found += _expression_traversals(inner)
                    segments.append(("index", inner.strip()))
                    i = end
                else:
                    break
            if len(segments) > 1:  # a bare name is a for-expression or iterator variable
                found.append(segments)
            continue
        i = match.end() if match else i + 1
    return found


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in MARKERS:
                yield from strings(key)
                yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def clean(value: Any) -> Any:
    """python-hcl2 keeps the quotes of strings and marks blocks; strip both."""
    if isinstance(value, str):
        return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if isinstance(value, list):
        return [clean(item) for item in value]
    if isinstance(value, dict):
        return {
            clean(key): clean(item)
            for key, item in value.items()
            if key not in ("__is_block__", "__comments__", "__inline_comments__")
        }
    return value


def load_clean(path: Path) -> dict[str, Any]:
    """A .tf file as python-hcl2 parses it, quotes and block marks stripped (:func:`clean`)."""
    import hcl2

    with path.open(encoding="utf-8") as handle:
        parsed: dict[str, Any] = clean(hcl2.load(handle))
    return parsed
