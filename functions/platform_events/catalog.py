"""The event catalogue in Python: the tracking plan's files (catalog_files) as types and models.

The files are the one definition of an event type: ``catalog apply`` writes them into
``event_schemas`` (which the store validates with), and this module reads the same files for the
client's validation before anything is sent, so the two judge a payload alike
(``tests/integration/test_catalog.py`` holds them to it). Which catalogue: ``PLATFORM_EVENTS_CATALOG``
(``configured()``), else the built-in one (``builtin()``), the seed's types.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    create_model,
)
from pydantic import Field as PydanticField

from platform_events import catalog_files, limits
from platform_events.catalog_files import JSON_SCHEMA_DIALECT, Category, SchemaFile
from platform_events.config import get_settings
from platform_events.errors import InvalidEvent

JsonType = Literal["string", "number", "integer", "boolean", "object", "array"]
__all__ = ["JSON_SCHEMA_DIALECT", "Catalog", "Category", "EventType", "FieldSpec"]


@dataclass(frozen=True)
class FieldSpec:
    """One property of an event's payload."""

    name: str
    type: JsonType
    required: bool = False
    description: str = ""
    enum: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    personal: bool = False  # removed by GDPR anonymization
    user_reference: bool = False  # holds another user's id: nulled when that user is erased

    @classmethod
    def from_schema(cls, name: str, prop: dict[str, Any], *, required: bool) -> FieldSpec:
        enum = prop.get("enum")
        return cls(
            name=name,
            type=prop["type"],
            required=required,
            description=prop.get("description", ""),
            enum=tuple(enum) if enum is not None else None,
            minimum=prop.get("minimum"),
            maximum=prop.get("maximum"),
            max_length=prop.get("maxLength"),
            personal=prop.get("x-personal", False),
            user_reference=prop.get("x-user-reference", False),
        )

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": self.type}
        if self.description:
            schema["description"] = self.description
        if self.enum is not None:
            schema["enum"] = list(self.enum)
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        if self.personal:
            schema["x-personal"] = True
        if self.user_reference:
            schema["x-user-reference"] = True
        return schema

    def annotation(self) -> Any:
        base: Any
        if self.enum is not None:
            base = Literal[self.enum]
        else:
            base = {
                "string": StrictStr,
                "number": StrictInt | StrictFloat,
                "integer": StrictInt,
                "boolean": StrictBool,
                "object": dict[str, Any],
                "array": list[Any],
            }[self.type]
        constraints = PydanticField(
            ge=self.minimum,
            le=self.maximum,
            max_length=self.max_length,
            description=self.description or None,
        )
        annotated = Annotated[base, constraints]
        return annotated if self.required else annotated | None


@dataclass(frozen=True)
class EventType:
    """A catalogue entry: ``name`` like ``payment.completed``."""

    name: str
    category: Category
    description: str
    fields: tuple[FieldSpec, ...] = field(default_factory=tuple)
    version: int = 1
    retention: str = "1 year"
    owner: str = ""
    active: bool = True

    @classmethod
    def from_file(cls, schema_file: SchemaFile) -> EventType:
        required = set(schema_file.required)
        return cls(
            name=schema_file.event_type,
            category=schema_file.category,
            description=schema_file.description,
            fields=tuple(
                FieldSpec.from_schema(name, prop, required=name in required)
                for name, prop in schema_file.properties.items()
            ),
            version=schema_file.version,
            retention=schema_file.retention,
            owner=schema_file.owner,
            active=schema_file.active,
        )

    @property
    def class_name(self) -> str:
        """``payment.completed`` -> ``PaymentCompleted`` (the models' and methods' base name)."""
        return "".join(part.title() for part in self.name.replace("_", ".").split("."))

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema of ``event_data`` exactly as stored in ``event_schemas.json_schema``."""
        return {
            "$schema": JSON_SCHEMA_DIALECT,
            "title": self.name,
            "type": "object",
            "required": [f.name for f in self.fields if f.required],
            "properties": {f.name: f.json_schema() for f in self.fields},
            "additionalProperties": True,
        }

    @cached_property
    def model(self) -> type[BaseModel]:
        """A pydantic model of the payload: extra keys allowed, declared ones strictly typed."""
        definitions: dict[str, Any] = {
            f.name: (f.annotation(), ... if f.required else None) for f in self.fields
        }
        model_name = self.class_name + "Data"
        return create_model(
            model_name, __config__=ConfigDict(extra="allow", frozen=True), **definitions
        )

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        """Check ``data``; raise InvalidEvent naming the first bad field, else return it."""
        if not isinstance(data, dict):
            raise InvalidEvent(
                "event_data must be a JSON object", field="event_data", code="invalid_type"
            )
        try:
            self.model.model_validate(data)
        except ValidationError as exc:
            raise invalid_event(self.name, exc) from None
        return data


def invalid_event(event_type: str, exc: ValidationError) -> InvalidEvent:
    """The InvalidEvent of a payload model's first error, naming the field at fault (the typed
    client's generated models answer with it too)."""
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error["loc"] else "event_data"
    missing = error["type"] == "missing"
    message = (
        f"{event_type} requires event_data.{name}"
        if missing
        else f"event_data.{name}: {error['msg']}"
    )
    return InvalidEvent(
        message, field=f"event_data.{name}", code="missing_field" if missing else "invalid_value"
    )


@dataclass(frozen=True)
class Catalog:
    """Every version of every type of one catalogue directory."""

    versions: dict[str, tuple[EventType, ...]]  # by type, oldest version first

    @classmethod
    def from_files(cls, files: tuple[SchemaFile, ...]) -> Catalog:
        versions: dict[str, list[EventType]] = {}
        for schema_file in files:
            versions.setdefault(schema_file.event_type, []).append(EventType.from_file(schema_file))
        return cls({name: tuple(found) for name, found in versions.items()})

    def active(self, event_type: str) -> tuple[EventType, ...]:
        """The versions new events may use, newest first."""
        return tuple(v for v in reversed(self.versions.get(event_type, ())) if v.active)

    @cached_property
    def current(self) -> dict[str, EventType]:
        """Each type's newest active version (types with none are deactivated: not listed)."""
        return {name: found[0] for name in self.versions if (found := self.active(name))}

    def get(self, event_type: str) -> EventType:
        """The newest active version, or InvalidEvent naming ``event_type``."""
        if event_type not in self.versions:
            raise InvalidEvent(
                f"unknown event type {event_type!r}", field="event_type", code="unknown_event_type"
            )
        if event_type not in self.current:
            raise InvalidEvent(
                f"event type {event_type!r} is no longer active",
                field="event_type",
                code="inactive_event_type",
            )
        return self.current[event_type]

    def validate(self, event_type: str, data: dict[str, Any]) -> EventType:
        """The newest active version ``data`` is valid under (the one the store records).

        Events of every active version stay valid; when none accepts ``data`` the error is the
        newest version's, as the store reports it (platform_events_check_rows, migrations/0061).
        """
        newest = self.get(event_type)  # unknown or deactivated: InvalidEvent naming event_type
        try:
            newest.validate(data)
        except InvalidEvent:
            for older in self.active(event_type)[1:]:
                try:
                    older.validate(data)
                except InvalidEvent:
                    continue
                return older
            raise  # the newest version's error
        return newest

    def personal_keys(self, event_type: str) -> frozenset[str]:
        """Fields any version marks personal: erasure removes them whatever version stored them."""
        return frozenset(
            f.name for v in self.versions.get(event_type, ()) for f in v.fields if f.personal
        )


@lru_cache(maxsize=8)
def load(directory: Path) -> Catalog:
    """The catalogue of ``directory`` (validated: CatalogInvalid lists every problem)."""
    return Catalog.from_files(catalog_files.load(directory))


def configured() -> Catalog:
    """The deployment's catalogue: PLATFORM_EVENTS_CATALOG, else the built-in one."""
    return load(catalog_files.directory(get_settings().platform_events_catalog))


def builtin() -> Catalog:
    """The built-in catalogue (the seed's types), read on first use rather than at import, where
    every process's start (a function's cold start, each command) would pay for it."""
    return load(catalog_files.builtin_dir())


def get(event_type: str) -> EventType:
    """The configured catalogue's current version of ``event_type``, or InvalidEvent."""
    return configured().get(event_type)


def validate_event(event_type: str, data: dict[str, Any]) -> EventType:
    """Validate one payload against the configured catalogue (the rules the database applies)."""
    return configured().validate(event_type, data)


def json_bytes(value: Any) -> int:
    """The size of ``value`` as the store measures it: ``octet_length(value::jsonb::text)``.

    jsonb's text has the separators ``", "`` and ``": "`` and is UTF-8; key order differs, not
    length. Numbers Python writes differently (``1e+20``) may differ by a few bytes: the store's
    measure is the one that decides, this one refuses the payloads that are plainly over.
    """
    return len(json.dumps(value, ensure_ascii=False, default=str).encode())


def check_limits(
    event_data: dict[str, Any],
    metadata: dict[str, Any],
    user_id: str | None = None,
    session_id: str | None = None,
) -> None:
    """Refuse an event over the store's limits (``platform_events_limits()``) before sending it."""
    size = json_bytes(event_data)
    if size > limits.EVENT_DATA_BYTES:
        raise InvalidEvent(
            f"event_data is {size} bytes, over the {limits.EVENT_DATA_BYTES}-byte limit",
            field="event_data",
            code="too_large",
        )
    if json_bytes(metadata) > limits.METADATA_BYTES:
        raise InvalidEvent(
            f"metadata is over the {limits.METADATA_BYTES}-byte limit",
            field="metadata",
            code="too_large",
        )
    for name, value in (("user_id", user_id), ("session_id", session_id)):
        if value is not None and len(value) > limits.ID_CHARS:
            raise InvalidEvent(
                f"{name} is longer than {limits.ID_CHARS} characters", field=name, code="too_large"
            )
