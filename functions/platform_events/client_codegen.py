"""The Python client's typed ``track_*`` methods and payload models, generated from a catalogue.

``render(catalog)`` is the source of a module with, for every type's current version, a pydantic
model ``<ClassName>Data`` of its ``event_data`` and a ``TrackingMixin`` method ``track_<type>``
whose parameters are the type's fields; ``generate(directory, output)`` writes it
(``platform-events catalog generate``). A new event type is one schema file plus that command.

Why a generated module the team commits, not models built at import: mypy --strict and IDEs
check the committed module's calls with no plugin, and the diff of a catalogue change (a field
added, an enum grown, a method's signature changed) is there to review next to the schema file.
Models built at import (``EventType.model``) are invisible to type checkers: they would need
stubs kept in sync by hand, which is the hand-written module this replaces.
``tests/unit/test_client_codegen.py`` holds the committed built-in module to ``render`` of the
built-in catalogue, so it cannot go stale, and the models to the catalogue's own validation.

The text is already ``ruff format``-clean: every bracket that does not fit on its line is written
one element a line with a trailing comma (ruff keeps that layout), so ``render`` needs no
formatter at run time. It is deterministic: types sorted by name, fields in the file's order.

The method of each type: required fields positional-or-keyword, optional ones keyword-only with
``None`` (left out of the payload), then ``**extra`` (more properties; the schemas allow them).
``SEED_SIGNATURES`` keeps the hand-written methods' defaults (``currency="USD"``) and positional
optional parameters for the seed's types, so existing callers keep working.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from platform_events import catalog_files
from platform_events.catalog import Catalog, EventType, FieldSpec

LINE_LENGTH = 100  # pyproject.toml's [tool.ruff] line-length
BUILTIN_OUTPUT = Path(__file__).resolve().parent / "client" / "catalog_tracking.py"
BUILTIN_SOURCE = "platform_events/event_types"


@dataclass(frozen=True)
class Param:
    """How the seed's hand-written method took one field (kept so its callers keep working)."""

    default: str | bool | None = None
    positional: bool = True
    nullable: bool = True  # an optional field's parameter also takes None (left out)


SEED_SIGNATURES: dict[str, dict[str, Param]] = {
    "project.created": {"currency": Param("USD", nullable=False)},
    "proposal.submitted": {"currency": Param("USD", nullable=False)},
    "milestone.approved": {"currency": Param("USD", nullable=False)},
    "payment.initiated": {"currency": Param("USD")},
    "payment.completed": {"currency": Param("USD")},
    "profile.viewed": {"source": Param()},
    "notification.clicked": {"channel": Param()},
    "user.login": {"success": Param(True, positional=False)},
    "user.logout": {"reason": Param("user")},
    "password.changed": {"method": Param("settings")},
    "user.identified": {"traits": Param()},
}

_RESERVED_PARAMS = frozenset({"self", "extra"})
_MODEL_NAMES = frozenset(dir(BaseModel))

# -- layout: what ruff format would write ----------------------------------------------------


@dataclass(frozen=True)
class Group:
    """A bracketed list: flat when it fits, else one element a line with a trailing comma."""

    open: str
    items: tuple[Node, ...]
    close: str

    def flat(self) -> str:
        return self.open + ", ".join(flat(i) for i in self.items) + self.close


Node = str | Group


def flat(node: Node) -> str:
    return node if isinstance(node, str) else node.flat()


def layout(head: str, node: Node, tail: str, indent: int) -> list[str]:
    """``head + node + tail`` at ``indent`` spaces, exploding ``node`` if the line is too long."""
    pad = " " * indent
    line = pad + head + flat(node) + tail
    if len(line) <= LINE_LENGTH or isinstance(node, str) or not node.items:
        return [line]
    lines = [pad + head + node.open]
    for item in node.items:
        lines.extend(layout("", item, ",", indent + 4))
    lines.append(pad + node.close + tail)
    return lines


def string(text: str) -> str:
    """A string literal as ruff writes it: double quotes unless single ones need fewer escapes."""
    quote = "'" if text.count('"') > text.count("'") else '"'
    out = []
    for char in text:
        if char in ("\\", quote):
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif not char.isprintable():
            out.append(char.encode("unicode_escape").decode("ascii"))
        else:
            out.append(char)
    return quote + "".join(out) + quote


def literal(value: str | float | bool | None) -> str:
    return string(value) if isinstance(value, str) else repr(value)


def docstring(text: str) -> str:
    """One line of prose between triple quotes (whitespace collapsed, quotes made harmless)."""
    line = " ".join(text.split()).replace("\\", "\\\\").replace('"', "'")
    return '"""' + line + '"""'


# -- names -----------------------------------------------------------------------------------


def method_name(event_type: str) -> str:
    """``payment.completed`` -> ``track_payment_completed``."""
    return "track_" + event_type.replace(".", "_")


def param_name(field_name: str) -> str:
    """The field's name as a Python parameter (the payload keeps the field's own name)."""
    name = re.sub(r"\W", "_", field_name)
    if not name or name[0].isdigit():
        name = "f_" + name
    if keyword.iskeyword(name) or name in _RESERVED_PARAMS:
        name += "_"
    return name


def attribute_name(field_name: str) -> str:
    """The field's name as a model attribute: also clear of BaseModel's own names."""
    name = param_name(field_name)
    if name.startswith("_"):
        name = "f" + name
    if name in _MODEL_NAMES or name.startswith("model_"):
        name += "_"
    return name


# -- types -----------------------------------------------------------------------------------

_MODEL_TYPES = {
    "string": "StrictStr",
    "number": "StrictInt | StrictFloat",
    "integer": "StrictInt",
    "boolean": "StrictBool",
    "object": "dict[str, Any]",
    "array": "list[Any]",
}
_PARAM_TYPES = {
    "string": "str",
    "number": "float",
    "integer": "int",
    "boolean": "bool",
    "object": "Mapping[str, Any]",
    "array": "Sequence[Any]",
}


def _enum(spec: FieldSpec) -> Group:
    return Group("Literal[", tuple(string(v) for v in spec.enum or ()), "]")


def model_type(spec: FieldSpec) -> Node:
    """The field's annotation in the model, as ``FieldSpec.annotation`` builds it at run time."""
    base: Node = _enum(spec) if spec.enum is not None else _MODEL_TYPES[spec.type]
    constraints = []
    if spec.minimum is not None:
        constraints.append(f"ge={literal(spec.minimum)}")
    if spec.maximum is not None:
        constraints.append(f"le={literal(spec.maximum)}")
    if spec.max_length is not None:
        constraints.append(f"max_length={spec.max_length}")
    if spec.description:
        constraints.append(f"description={string(spec.description)}")
    if _aliased(spec):
        # An alias only counts on the field's own Annotated, so None goes inside it.
        constraints.append(f"alias={string(spec.name)}")
        if not spec.required:
            base = (
                Group(base.open, base.items, base.close + " | None")
                if isinstance(base, Group)
                else base + " | None"
            )
    if not constraints:
        return base
    return Group("Annotated[", (base, Group("Field(", tuple(constraints), ")")), "]")


def _aliased(spec: FieldSpec) -> bool:
    return attribute_name(spec.name) != spec.name


def param_type(spec: FieldSpec) -> Node:
    return _enum(spec) if spec.enum is not None else _PARAM_TYPES[spec.type]


# -- one type --------------------------------------------------------------------------------


def _check_names(entry: EventType) -> None:
    for kind, namer in (("parameter", param_name), ("attribute", attribute_name)):
        seen: dict[str, str] = {}
        for spec in entry.fields:
            name = namer(spec.name)
            if name in seen:
                raise ValueError(
                    f"{entry.name}: fields {seen[name]!r} and {spec.name!r} both become the "
                    f"Python {kind} {name!r}; rename one"
                )
            seen[name] = spec.name


def _field(spec: FieldSpec) -> list[str]:
    """One model field, laid out as ruff lays out an annotated assignment."""
    name, annotation = attribute_name(spec.name), model_type(spec)
    if spec.required:
        return layout(f"{name}: ", annotation, "", 4)
    if _aliased(spec):
        return layout(f"{name}: ", annotation, " = None", 4)
    line = f"    {name}: {flat(annotation)} | None = None"
    if len(line) <= LINE_LENGTH:
        return [line]
    if len(line) - len("None") + len("(") <= LINE_LENGTH:  # ruff splits the value first
        return [line[: -len("None")] + "(", "        None", "    )"]
    inner = f"        {flat(annotation)} | None"
    if len(inner) <= LINE_LENGTH:
        body = [inner]
    else:
        body = [*layout("", annotation, "", 8), "        | None"]
    return [f"    {name}: (", *body, "    ) = None"]


def render_model(entry: EventType) -> list[str]:
    lines = [
        "",
        "",
        f"class {entry.class_name}Data(BaseModel):",
        "    " + docstring(f"{entry.name} version {entry.version}: {entry.description}"),
        "",
        '    model_config = ConfigDict(extra="allow", frozen=True)',
    ]
    if entry.fields:
        lines.append("")
    for spec in entry.fields:
        lines.extend(_field(spec))
    return lines


def _param(name: str, kind: Node, optional: bool, default: str | None, indent: int) -> list[str]:
    """One parameter line (or lines, as ruff breaks a long ``Literal[...] | None = None``)."""
    union = " | None" if optional else ""
    value = f" = {default}" if default is not None else ""
    if not optional:
        return layout(f"{name}: ", kind, value + ",", indent)
    lines = layout(f"{name}: ", kind, "", indent)
    if len(lines) == 1:
        return [lines[0] + union + value + ","]
    return [*lines, " " * indent + union.lstrip() + value + ","]


def _signature(entry: EventType) -> list[str]:
    """The method's ``def`` lines, one parameter a line."""
    overrides = SEED_SIGNATURES.get(entry.name, {})
    required: list[str] = []
    positional: list[str] = []
    keyword_only: list[str] = []
    for spec in entry.fields:
        name, kind = param_name(spec.name), param_type(spec)
        override = overrides.get(spec.name)
        if spec.required and override is None:
            required.extend(_param(name, kind, False, None, 8))
            continue
        default = literal(override.default) if override is not None else "None"
        nullable = not spec.required and (override is None or override.nullable)
        lines = _param(name, kind, nullable, default, 8)
        (positional if override is not None and override.positional else keyword_only).extend(lines)
    params = ["        self,", *required, *positional]
    if keyword_only:
        params += ["        *,", *keyword_only]
    params.append("        **extra: Any,")
    return [f"    def {method_name(entry.name)}(", *params, "    ) -> uuid.UUID:"]


def _value(spec: FieldSpec) -> str:
    name = param_name(spec.name)
    if spec.type == "array":
        return f"_as_list({name})"
    if spec.type == "object":
        return f"_as_dict({name})"
    return name


def render_method(entry: EventType) -> list[str]:
    lines = [""]
    lines.extend(_signature(entry))
    summary = f"{entry.description.rstrip('.')} ({entry.name} version {entry.version})."
    lines.append("        " + docstring(summary + " Returns the event id."))
    if entry.fields:
        payload = Group("{", tuple(f"{string(f.name)}: {_value(f)}" for f in entry.fields), "}")
        lines.extend(layout("payload: dict[str, Any] = ", payload, "", 8))
    else:
        lines.append("        payload: dict[str, Any] = {}")
    checked = (f"{entry.class_name}Data", string(entry.name), "payload", "extra")
    call = Group("self._track(", (string(entry.name), Group("_checked(", checked, ")")), ")")
    lines.extend(layout("return ", call, "", 8))
    return lines


# -- the module ------------------------------------------------------------------------------

_HEADER = (
    "# Generated by `platform-events catalog generate` from {source}: do not edit; regenerate "
    "after changing the catalogue."
)
_DOCSTRING = '''"""Typed ``track_*`` methods and payload models of the catalogue's current event types.

One pydantic model ``<ClassName>Data`` per type (extra keys allowed, declared ones strictly
typed, as the catalogue's runtime models) and one ``TrackingMixin.track_<type>`` method per
type, which validates the payload with it and calls ``_track`` (``Analytics`` implements it with
``emit_event``). A generated module the team commits, rather than models built at import: mypy
--strict and IDEs check it with no plugin, and a catalogue change's diff is reviewable here.
"""'''

_HELPERS = '''

def _as_list(value: Sequence[Any] | None) -> list[Any] | None:
    return None if value is None else list(value)


def _as_dict(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if value is None else dict(value)


def _checked(
    model: type[BaseModel], event_type: str, payload: dict[str, Any], extra: dict[str, Any]
) -> dict[str, Any]:
    """The event data (fields given None left out); InvalidEvent names the first bad field."""
    data = {**{k: v for k, v in payload.items() if v is not None}, **extra}
    try:
        model.model_validate(data)
    except ValidationError as exc:
        raise invalid_event(event_type, exc) from None
    return data'''

_MIXIN = '''

class TrackingMixin:
    """Mixed into :class:`Analytics`; every method validates, emits and returns the event id."""

    if TYPE_CHECKING:

        def _track(self, event_type: str, event_data: dict[str, Any]) -> uuid.UUID:
            """Emit with the current user and session; :class:`Analytics` provides it."""'''


def _imports(entries: list[EventType]) -> list[str]:
    annotations = [model_type(f) for e in entries for f in e.fields]
    typing = ["Any"]
    pydantic = {"BaseModel", "ConfigDict", "ValidationError"}
    if any(isinstance(a, Group) and a.open == "Annotated[" for a in annotations):
        typing.append("Annotated")
        pydantic.add("Field")
    if any(f.enum is not None for e in entries for f in e.fields):
        typing.append("Literal")
    for e in entries:
        for f in e.fields:
            if f.enum is None:
                pydantic.update(re.findall(r"Strict\w+", _MODEL_TYPES[f.type]))
    lines = ["from __future__ import annotations", "", "import uuid"]
    lines.append("from collections.abc import Mapping, Sequence")
    lines.append("from typing import " + ", ".join(["TYPE_CHECKING", *sorted(typing)]))
    lines.append("")
    names = sorted(pydantic)
    line = "from pydantic import " + ", ".join(names)
    if len(line) <= LINE_LENGTH:
        lines.append(line)
    else:
        lines.extend(["from pydantic import (", *(f"    {n}," for n in names), ")"])
    lines.extend(["", "from platform_events.catalog import invalid_event"])
    return lines


def render(catalog: Catalog, *, source: str = BUILTIN_SOURCE) -> str:
    """The module's source for ``catalog``'s current versions; ``source`` names it in the header."""
    entries = [catalog.current[name] for name in sorted(catalog.current)]
    seen: dict[str, str] = {}
    for entry in entries:
        _check_names(entry)
        for name in (entry.class_name + "Data", method_name(entry.name)):
            if name in seen:
                raise ValueError(f"event types {seen[name]!r} and {entry.name!r} both make {name}")
            seen[name] = entry.name
    lines = [_HEADER.format(source=source), _DOCSTRING, "", *_imports(entries)]
    lines.extend(_HELPERS.split("\n"))
    for entry in entries:
        lines.extend(render_model(entry))
    lines.extend(_MIXIN.split("\n"))
    for entry in entries:
        lines.extend(render_method(entry))
    return "\n".join(lines) + "\n"


def generate(directory: Path, output: Path, *, check: bool = False) -> bool:
    """Write the module of ``directory``'s catalogue to ``output``; whether the file changed.

    ``check``: write nothing, answer whether it would change (a team's CI: the module is stale).
    """
    files = catalog_files.load(directory)  # not catalog.load: its cache would miss an edit
    builtin = directory.resolve() == catalog_files.builtin_dir()
    text = render(Catalog.from_files(files), source=BUILTIN_SOURCE if builtin else directory.name)
    if output.is_file() and output.read_text(encoding="utf-8") == text:
        return False
    if not check:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    return True
