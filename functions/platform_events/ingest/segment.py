"""Segment messages (track, identify, page) to platform events: a pure, documented mapping.

Event names. Segment names events in free text ("Project Created"); ours are ``object.action``
(``project.created``). The type of a ``track`` call is, in order:
  1. ``properties.event_type`` when given (removed from the payload);
  2. the name itself when it already is one of ours (``project.created``);
  3. a Segment spec alias (``Signed In`` -> ``user.login``, ``Signed Out`` -> ``user.logout``,
     ``Products Searched`` -> ``search.performed``);
  4. the name normalised: lower-cased, split on anything not a letter or digit, the last word
     is the action and the words before it, joined by ``_``, the object:
     ``"Project Created"`` -> ``project.created``, ``"MFA Enabled"`` -> ``mfa.enabled``,
     ``"Saved Search Deleted"`` -> ``saved_search.deleted``. A one-word name gets no type.
``identify`` becomes ``user.identified`` (traits in ``event_data.traits``) and ``page`` becomes
``page.viewed`` (path, url, title, referrer from properties or ``context.page``).

Idempotency, scoped to the source. ``messageId`` is the idempotency key within one write key:
the ``event_id`` is uuid5 over the write key's scope (a hash of the key) and the id (a UUID in
its canonical form), so the same retry always lands on the same event and two sources sending
the same id are two events. The messageId as sent is kept in ``metadata.message_id``. A message
without ``messageId`` gets a uuid5 over its scope and canonical JSON (an exact resend is still a
duplicate).

Context. ``context`` goes into ``metadata``: ``user_agent``, ``locale``, ``timezone``,
``library``, ``anonymous_id``, ``session_id`` holder, the client's own ``context.metadata``, and
``geo`` (``{"country", "region", "city"}``, see ingest/geo.py); the IP only as the privacy
setting allows (``INGEST_IP_PRIVACY``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from platform_events import jsonsafe, limits
from platform_events.catalog import json_bytes
from platform_events.errors import InvalidEvent

MessageType = Literal["track", "identify", "page"]
MESSAGE_TYPES: tuple[MessageType, ...] = ("track", "identify", "page")

# Segment's limits: 32 KB per message, 500 KB per batch request.
MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024

_NAMESPACE = uuid.UUID("6f1c1f2e-2b7a-4c55-9d1f-6a0d5c1b7e10")
_OUR_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_WORD = re.compile(r"[a-z0-9]+")
ALIASES: dict[str, str] = {
    "signed in": "user.login",
    "signed out": "user.logout",
    "products searched": "search.performed",
    "page viewed": "page.viewed",
}


@dataclass(frozen=True)
class Mapped:
    """One message as an event ready for ``emit_platform_events`` (keys of its JSON array)."""

    event: dict[str, Any]
    source_name: str  # the name as sent, kept in the quarantine for unknown types


def event_type_for(name: str) -> str:
    """Our event type for a Segment event name (rules in the module docstring)."""
    stripped = name.strip()
    if _OUR_TYPE.match(stripped):
        return stripped
    lowered = stripped.lower()
    if lowered in ALIASES:
        return ALIASES[lowered]
    words: list[str] = _WORD.findall(lowered)
    if len(words) < 2 or not words[0][0].isalpha() or not words[-1][0].isalpha():
        raise InvalidEvent(
            f"event name {stripped[:100]!r} does not map to an event type: use two words or more "
            '("Project Created") or properties.event_type',
            field="event",
            code="unknown_event_type",
        )
    return "_".join(words[:-1]) + "." + words[-1]


def scope_of(write_key: str) -> str:
    """A stable, non-secret name of a write key (its hash), scoping message ids and logs."""
    return hashlib.sha256(write_key.encode()).hexdigest()[:16]


def event_id_for(message: dict[str, Any], scope: str) -> uuid.UUID:
    """The event id of a message: uuid5 over its source (``scope``) and its messageId.

    Scoped for every messageId, UUID or not: two sources may send the same id (a copied
    fixture, two apps on one SDK seed) and are two events; a retry from one source is one. A
    UUID messageId is taken in its canonical form, so a retry that changed its case is the same.
    """
    message_id = message.get("messageId")
    if isinstance(message_id, str) and message_id:
        with contextlib.suppress(ValueError):  # not a UUID: the id as sent
            message_id = str(uuid.UUID(message_id))
        return uuid.uuid5(_NAMESPACE, f"{scope}:{message_id}")
    canonical = json.dumps(message, sort_keys=True, separators=(",", ":"), default=str)
    return uuid.uuid5(_NAMESPACE, f"{scope}:content:{canonical}")


def _timestamp(message: dict[str, Any], received_at: datetime) -> str:
    for key in ("timestamp", "originalTimestamp"):
        value = message.get(key)
        if isinstance(value, str) and value:
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise InvalidEvent(
                    f"{key} is not an ISO 8601 timestamp", field=key, code="invalid_timestamp"
                ) from None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            try:
                # Every sink's range is years 1 to 9999 UTC (BigQuery's TIMESTAMP is the
                # narrowest); an offset can carry a valid local time past either end.
                return parsed.astimezone(UTC).isoformat()
            except OverflowError:
                raise InvalidEvent(
                    f"{key} is outside years 1-9999 in UTC", field=key, code="invalid_timestamp"
                ) from None
    return received_at.isoformat()


def _object(message: dict[str, Any], key: str) -> dict[str, Any]:
    value = message.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidEvent(f"{key} must be a JSON object", field=key, code="invalid_type")
    return value


def _identity(message: dict[str, Any], field: str) -> str | None:
    value = message.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidEvent(f"{field} must be a string", field=field, code="invalid_type")
    text = str(value)
    if len(text) > limits.ID_CHARS:
        raise InvalidEvent(
            f"{field} is over {limits.ID_CHARS} characters", field=field, code="too_large"
        )
    return text


def _payload(kind: MessageType, message: dict[str, Any]) -> tuple[str, dict[str, Any], str]:
    """(event type, event_data, name as sent) of one message."""
    properties = dict(_object(message, "properties"))
    if kind == "track":
        name = message.get("event")
        if not isinstance(name, str) or not name.strip():
            raise InvalidEvent(
                "a track call needs an event name", field="event", code="missing_field"
            )
        explicit = properties.pop("event_type", None)
        if explicit is not None and not isinstance(explicit, str):
            raise InvalidEvent(
                "properties.event_type must be a string", field="properties.event_type"
            )
        return explicit or event_type_for(name), properties, name
    if kind == "identify":
        return "user.identified", {"traits": _object(message, "traits")}, "identify"
    page = _object(_object(message, "context"), "page")
    data = {
        key: properties.get(key, page.get(key))
        for key in ("path", "url", "title", "referrer")
        if properties.get(key, page.get(key)) is not None
    }
    name = message.get("name")
    if isinstance(name, str) and name:
        data["name"] = name
    extra = {k: v for k, v in properties.items() if k not in data}
    return "page.viewed", {**extra, **data}, str(name or "page")


def _metadata(message: dict[str, Any], scope: str, network: dict[str, Any]) -> dict[str, Any]:
    context = _object(message, "context")
    own = context.get("metadata")
    metadata: dict[str, Any] = dict(own) if isinstance(own, dict) else {}
    metadata["source"] = "segment"
    metadata["write_key_scope"] = scope
    message_id = message.get("messageId")
    if isinstance(message_id, str) and message_id:
        metadata["message_id"] = message_id[: limits.ID_CHARS]
    library = context.get("library")
    if isinstance(library, dict):
        metadata["library"] = {k: library[k] for k in ("name", "version") if k in library}
    user_agent = context.get("userAgent")
    if isinstance(user_agent, str) and user_agent:
        metadata["user_agent"] = user_agent[:1000]
    for key, target in (("locale", "locale"), ("timezone", "timezone")):
        if isinstance(context.get(key), str):
            metadata[target] = context[key][:100]
    anonymous_id = _identity(message, "anonymousId")
    if anonymous_id is not None:
        metadata["anonymous_id"] = anonymous_id[: limits.ID_CHARS]
    metadata.update(network)  # geo, and ip as the privacy setting allows
    return metadata


def map_message(
    message: Any,
    *,
    scope: str,
    default_type: MessageType | None = None,
    network: dict[str, Any] | None = None,
    received_at: datetime | None = None,
) -> Mapped:
    """One Segment message as an event; InvalidEvent names the field when it cannot be mapped.

    ``default_type`` is the call's type for ``/v1/track`` and friends (messages there may omit
    ``type``); ``network`` holds the geo and IP fields resolved by ingest/geo.py.
    """
    if not isinstance(message, dict):
        raise InvalidEvent(
            "each message must be a JSON object", field="message", code="invalid_type"
        )
    unstorable = jsonsafe.problem(message)
    if unstorable is not None:
        raise InvalidEvent(unstorable.message, field=unstorable.path, code=unstorable.code)
    size = len(json.dumps(message, separators=(",", ":"), default=str).encode())
    if size > MAX_MESSAGE_BYTES:
        raise InvalidEvent(
            f"the message is {size} bytes, over Segment's {MAX_MESSAGE_BYTES}-byte limit",
            field="message",
            code="too_large",
        )
    kind = message.get("type", default_type)
    if kind not in MESSAGE_TYPES:
        raise InvalidEvent(
            f"message type {str(kind)[:20]!r} is not supported: use track, identify or page",
            field="type",
            code="unsupported_type",
        )
    user_id = _identity(message, "userId")
    if user_id is None and _identity(message, "anonymousId") is None:
        raise InvalidEvent(
            "userId or anonymousId is required", field="userId", code="missing_field"
        )
    event_type, data, source_name = _payload(kind, message)
    if json_bytes(data) > limits.EVENT_DATA_BYTES:
        raise InvalidEvent(
            f"properties are over {limits.EVENT_DATA_BYTES} bytes",
            field="properties",
            code="too_large",
        )
    context = _object(message, "context")
    session = context.get("sessionId", context.get("session_id"))
    metadata = _metadata(message, scope, network or {})
    # The message was checked; what request headers added (geo) was not.
    unstorable = jsonsafe.problem(metadata, "metadata")
    if unstorable is not None:
        raise InvalidEvent(unstorable.message, field=unstorable.path, code=unstorable.code)
    if json_bytes(metadata) > limits.METADATA_BYTES:
        raise InvalidEvent(
            f"context is over {limits.METADATA_BYTES} bytes once mapped to metadata",
            field="context",
            code="too_large",
        )
    event = {
        "event_id": str(event_id_for(message, scope)),
        "event_type": event_type,
        "event_data": data,
        "user_id": user_id,
        "session_id": str(session)[: limits.ID_CHARS] if session is not None else None,
        "metadata": metadata,
        "occurred_at": _timestamp(message, received_at or datetime.now(UTC)),
    }
    return Mapped(event=event, source_name=source_name[:1000])
