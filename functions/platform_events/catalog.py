"""The event catalogue: every event type, its category, retention and the fields of its payload.

This is the Python twin of the ``event_schemas`` rows seeded by ``migrations/0005``. Both the
pydantic models (client-side validation, before anything is sent) and the JSON Schemas come from
the same field specs below, and ``tests/integration/test_catalog.py`` fails when the JSON Schemas
differ from the database's, so the two can never drift.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
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

from platform_events import limits
from platform_events.errors import InvalidEvent

Category = Literal["transaction", "interaction", "user_activity", "content"]
JsonType = Literal["string", "number", "integer", "boolean", "object", "array"]

# Retention per category (the seed's compliance rules), as Postgres interval literals.
RETENTION: dict[Category, str] = {
    "transaction": "7 years",  # financial records
    "interaction": "1 year",
    "user_activity": "2 years",  # security auditing
    "content": "7 years",
}
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


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

    @property
    def retention(self) -> str:
        return RETENTION[self.category]

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
        model_name = (
            "".join(part.title() for part in self.name.replace("_", ".").split(".")) + "Data"
        )
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
            error = exc.errors()[0]
            name = str(error["loc"][0]) if error["loc"] else "event_data"
            missing = error["type"] == "missing"
            message = (
                f"{self.name} requires event_data.{name}"
                if missing
                else f"event_data.{name}: {error['msg']}"
            )
            raise InvalidEvent(
                message,
                field=f"event_data.{name}",
                code="missing_field" if missing else "invalid_value",
            ) from None
        return data


def _f(name: str, type_: JsonType, description: str, **kwargs: Any) -> FieldSpec:
    return FieldSpec(name=name, type=type_, description=description, **kwargs)


_CURRENCY = _f("currency", "string", "ISO 4217 code", max_length=3)


def _money(name: str, description: str, *, required: bool = False) -> FieldSpec:
    return FieldSpec(
        name=name, type="number", description=description, required=required, minimum=0
    )


CATALOG_ENTRIES: tuple[EventType, ...] = (
    # Transaction events: 7-year retention for financial compliance.
    EventType(
        "project.created",
        "transaction",
        "A client posted a project.",
        (
            _f("project_id", "string", "Project id", required=True),
            _f("title", "string", "Project title", required=True, max_length=500),
            _money("budget", "Budget amount", required=True),
            _CURRENCY,
            _f("category", "string", "Marketplace category"),
            _f("skills", "array", "Required skills"),
        ),
    ),
    EventType(
        "proposal.submitted",
        "transaction",
        "A freelancer bid on a project.",
        (
            _f("proposal_id", "string", "Proposal id", required=True),
            _f("project_id", "string", "Project id", required=True),
            _money("bid_amount", "Amount bid", required=True),
            _CURRENCY,
            _f("delivery_days", "integer", "Proposed delivery time in days", minimum=0),
            _f("client_id", "string", "The project's client", user_reference=True),
        ),
    ),
    EventType(
        "milestone.approved",
        "transaction",
        "A client approved a milestone; funds are released.",
        (
            _f("milestone_id", "string", "Milestone id", required=True),
            _f("project_id", "string", "Project id", required=True),
            _money("amount", "Amount released", required=True),
            _CURRENCY,
            _f("freelancer_id", "string", "Who is paid", user_reference=True),
        ),
    ),
    EventType(
        "payment.initiated",
        "transaction",
        "A payment was started.",
        (
            _f("payment_id", "string", "Payment id", required=True),
            _money("amount", "Amount", required=True),
            _f("currency", "string", "ISO 4217 code", required=True, max_length=3),
            _f("project_id", "string", "Project paid for"),
            _f(
                "method",
                "string",
                "Payment method",
                enum=("card", "bank_transfer", "paypal", "wallet"),
            ),
        ),
    ),
    EventType(
        "payment.completed",
        "transaction",
        "A payment settled.",
        (
            _f("payment_id", "string", "Payment id", required=True),
            _money("amount", "Amount", required=True),
            _f("currency", "string", "ISO 4217 code", required=True, max_length=3),
            _f("project_id", "string", "Project paid for"),
            _money("fee", "Platform fee"),
        ),
    ),
    # Interaction events: 1-year retention.
    EventType(
        "profile.viewed",
        "interaction",
        "Someone viewed a profile.",
        (
            _f("profile_id", "string", "The profile's user", required=True, user_reference=True),
            _f(
                "source",
                "string",
                "Where the view came from",
                enum=("search", "proposal", "direct", "recommendation"),
            ),
        ),
    ),
    EventType(
        "search.performed",
        "interaction",
        "A marketplace search.",
        (
            _f(
                "query",
                "string",
                "The search text (may hold personal data)",
                required=True,
                max_length=1000,
                personal=True,
            ),
            _f("results_count", "integer", "Number of results", required=True, minimum=0),
            _f("filters", "object", "Filters in effect"),
            _f("search_time_ms", "number", "Server time to answer", minimum=0),
        ),
    ),
    EventType(
        "filter.applied",
        "interaction",
        "A search filter was applied.",
        (
            _f("filter_name", "string", "Filter", required=True),
            _f("filter_value", "string", "Value chosen", required=True),
        ),
    ),
    EventType(
        "message.sent",
        "interaction",
        "A direct message was sent (content never stored).",
        (
            _f("message_id", "string", "Message id", required=True),
            _f("conversation_id", "string", "Conversation id", required=True),
            _f("recipient_id", "string", "The recipient", user_reference=True),
            _f("length", "integer", "Length in characters", minimum=0),
        ),
    ),
    EventType(
        "notification.clicked",
        "interaction",
        "A notification was opened.",
        (
            _f("notification_id", "string", "Notification id", required=True),
            _f("notification_type", "string", "Kind of notification", required=True),
            _f("channel", "string", "Delivery channel", enum=("email", "push", "in_app", "sms")),
        ),
    ),
    # User activity events: 2-year retention for security auditing.
    EventType(
        "user.login",
        "user_activity",
        "A user signed in.",
        (
            _f(
                "method",
                "string",
                "Authentication method",
                required=True,
                enum=("password", "oauth", "sso", "magic_link"),
            ),
            _f("success", "boolean", "Whether the attempt succeeded"),
            _f("mfa_used", "boolean", "Whether a second factor was used"),
        ),
    ),
    EventType(
        "user.logout",
        "user_activity",
        "A user signed out.",
        (_f("reason", "string", "Why", enum=("user", "timeout", "revoked")),),
    ),
    EventType(
        "session.started",
        "user_activity",
        "A new client session began.",
        (
            _f("referrer", "string", "Referring URL", personal=True, max_length=2000),
            _f("landing_page", "string", "First page", max_length=2000),
        ),
    ),
    EventType(
        "password.changed",
        "user_activity",
        "A user changed their password.",
        (_f("method", "string", "How", enum=("settings", "reset")),),
    ),
    EventType(
        "mfa.enabled",
        "user_activity",
        "A user enabled a second factor.",
        (_f("method", "string", "Factor kind", required=True, enum=("totp", "sms", "webauthn")),),
    ),
    # Content events: 7-year retention.
    EventType(
        "review.posted",
        "content",
        "A review was published.",
        (
            _f("review_id", "string", "Review id", required=True),
            _f("project_id", "string", "Project reviewed", required=True),
            _f("rating", "integer", "Stars, 1 to 5", required=True, minimum=1, maximum=5),
            _f("reviewee_id", "string", "Who is reviewed", user_reference=True),
            _f("comment", "string", "Review text", personal=True, max_length=5000),
        ),
    ),
    EventType(
        "portfolio.created",
        "content",
        "A freelancer published a portfolio item.",
        (
            _f("portfolio_id", "string", "Portfolio item id", required=True),
            _f("title", "string", "Title", required=True, max_length=500),
            _f("media_count", "integer", "Attached media", minimum=0),
        ),
    ),
    EventType(
        "profile.updated",
        "content",
        "A user changed their profile.",
        (_f("fields_changed", "array", "Names of the changed fields", required=True),),
    ),
    # Segment's identify and page calls, as ingest_events maps them (migrations/0031).
    EventType(
        "user.identified",
        "user_activity",
        "A user was identified (Segment identify); traits may hold personal data.",
        (_f("traits", "object", "Traits sent with identify", personal=True),),
    ),
    EventType(
        "page.viewed",
        "interaction",
        "A page was viewed (Segment page).",
        (
            _f("path", "string", "Path of the page", required=True, max_length=2000),
            _f("name", "string", "Page name given by the caller", max_length=500),
            _f("title", "string", "Document title", max_length=500),
            _f(
                "url",
                "string",
                "Full URL (may carry personal data)",
                max_length=2000,
                personal=True,
            ),
            _f("referrer", "string", "Referring URL", max_length=2000, personal=True),
        ),
    ),
)

CATALOG: dict[str, EventType] = {entry.name: entry for entry in CATALOG_ENTRIES}


def get(event_type: str) -> EventType:
    """The catalogue entry, or InvalidEvent naming ``event_type`` when it is unknown."""
    try:
        return CATALOG[event_type]
    except KeyError:
        raise InvalidEvent(
            f"unknown event type {event_type!r}", field="event_type", code="unknown_event_type"
        ) from None


def validate_event(event_type: str, data: dict[str, Any]) -> EventType:
    """Validate one event's payload against the catalogue (the same rules the database applies)."""
    entry = get(event_type)
    entry.validate(data)
    return entry


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
