"""The ``ingest_events`` request: authenticate, decode, map, write, answer per event.

Routes ``/v1/batch``, ``/v1/track``, ``/v1/identify`` and ``/v1/page`` (any prefix, so the
function URL and ``serve`` both work). The write key is the HTTP basic user, as Segment's SDKs
send it (in ``X-Forwarded-Authorization`` behind a gateway, or ``writeKey`` in the body); bodies are JSON, optionally gzip (``Content-Encoding:
gzip``). Segment's limits hold: 32 KB per message, 500 KB per batch after decompression, each
answered 400 naming the limit. Every message is answered in ``results`` in order:
``accepted``, ``duplicate`` (its messageId was stored before), ``quarantined`` (its type is not in
``event_schemas``: kept with the reason in ``platform_events_quarantine`` for an operator to
promote, never sent to the warehouse) or ``rejected`` (invalid, with the error and field).
A batch answers 200 even when some messages are rejected; a single call (``/v1/track``...)
answers 400 when its one message is rejected. Every value is checked against what the stores
hold (jsonsafe) before any SQL; the request is written in one transaction with its quarantined
and dead-lettered messages (ingest/writer.py), so an unreachable store answers 503 with nothing
written. Rejected messages, and bodies refused from a known write key, are kept in the dead
letter (ingest/deadletter.py). Deployed, IAM guards the function first; the write key is a
second layer naming the source.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
import psycopg_pool

from platform_events import db, jsonsafe
from platform_events.config import Settings
from platform_events.errors import InvalidEvent, InvalidJson
from platform_events.ingest import deadletter, geo, segment, writer

log = logging.getLogger(__name__)

_ROUTE = re.compile(r"(?:^|/)v1/(batch|track|identify|page)/?$")
MAX_MESSAGES = 5_000


@dataclass(frozen=True)
class IngestRequest:
    """What the handler needs of an HTTP request (headers keyed in lower case)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    remote_addr: str | None = None


@dataclass(frozen=True)
class IngestResponse:
    status: int
    body: dict[str, Any]


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.response = IngestResponse(
            status, {"success": False, "error": {"code": code, "message": message, "field": field}}
        )


def _decode_body(request: IngestRequest) -> bytes:
    encoding = request.headers.get("content-encoding", "").strip().lower()
    body = request.body
    if encoding in ("", "identity"):
        if len(body) > segment.MAX_BATCH_BYTES:
            raise _too_large(len(body))
        return body
    if encoding != "gzip":
        raise _Refused(
            400, "unsupported_encoding", "Content-Encoding must be gzip or absent", "body"
        )
    # Decompress with a ceiling, so a small gzip bomb cannot expand past the batch limit.
    inflater = zlib.decompressobj(wbits=31)
    try:
        data = inflater.decompress(body, segment.MAX_BATCH_BYTES + 1)
    except zlib.error:
        raise _Refused(400, "invalid_body", "the body is not valid gzip", "body") from None
    if len(data) > segment.MAX_BATCH_BYTES or inflater.unconsumed_tail:
        raise _too_large(segment.MAX_BATCH_BYTES + 1)
    return data


def _too_large(size: int) -> _Refused:
    return _Refused(
        400,
        "too_large",
        f"the batch is over Segment's {segment.MAX_BATCH_BYTES}-byte limit ({size} bytes or more)",
        "body",
    )


# Deployed, the function sits behind IAM: API Gateway (or a Cloud Run proxy) calls it with its
# own OIDC token in Authorization and forwards the caller's original header as
# X-Forwarded-Authorization, so the write key is looked for in both, the caller's first.
_AUTHORIZATION_HEADERS = ("x-forwarded-authorization", "authorization")


def _basic_user(headers: Mapping[str, str]) -> str | None:
    import base64
    import binascii

    for header in _AUTHORIZATION_HEADERS:
        value = headers.get(header, "")
        if not value.lower().startswith("basic "):
            continue
        try:
            decoded = base64.b64decode(value[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.split(":", 1)[0] or None
    return None


def _authenticate(request: IngestRequest, body: Any, settings: Settings) -> str:
    keys = settings.write_keys()
    if not keys:
        raise _Refused(
            401, "unauthorized", "ingest is closed: no write key is configured (INGEST_WRITE_KEYS)"
        )
    key = _basic_user(request.headers)
    if key is None and isinstance(body, dict) and isinstance(body.get("writeKey"), str):
        key = body["writeKey"]
    if key is None:
        raise _Refused(401, "unauthorized", "send the write key as the HTTP basic auth user")
    # Compare against every key in constant time: no early exit tells which prefix matched.
    matched = False
    sent = key.encode("utf-8", "surrogatepass")  # a JSON writeKey may hold a lone surrogate
    for candidate in keys:
        matched |= hmac.compare_digest(candidate.encode(), sent)
    if not matched:
        raise _Refused(401, "unauthorized", "the write key is not valid")
    return key


def _messages(kind: str, body: Any) -> list[Any]:
    if not isinstance(body, dict):
        raise _Refused(400, "invalid_body", "the body must be a JSON object", "body")
    if kind != "batch":
        return [body]
    batch = body.get("batch")
    if not isinstance(batch, list) or not batch:
        raise _Refused(400, "invalid_body", "batch must be a non-empty JSON array", "batch")
    if len(batch) > MAX_MESSAGES:
        raise _Refused(400, "too_large", f"a batch holds at most {MAX_MESSAGES} messages", "batch")
    return batch


def _unavailable() -> IngestResponse:
    # Retryable: Segment's SDKs retry 5xx with backoff, and messageIds keep retries exact.
    log.warning("ingest: event store unavailable")
    return IngestResponse(
        503,
        {
            "success": False,
            "error": {
                "code": "unavailable",
                "message": "the event store is unavailable; retry",
                "field": None,
            },
        },
    )


def _dead_letter_body(
    settings: Settings, source: writer.Source, raw: bytes, refused: _Refused
) -> None:
    """Keep a whole refused body of a known source; the refusal is answered even if this fails."""
    error = refused.response.body["error"]
    row = deadletter.body_row(
        source=source.key_id, route=source.route, raw=raw, code=error["code"],
        reason=error["message"],
    )  # fmt: skip
    try:
        with db.pooled(settings) as conn, conn.transaction():
            deadletter.write(conn, [row])
    except psycopg.Error as exc:
        log.warning(
            "ingest: refused body not dead-lettered", extra={"fields": {"sqlstate": exc.sqlstate}}
        )


def _parse(request: IngestRequest, settings: Settings) -> tuple[str, str, list[Any]]:
    """(route, write key, messages) of a request; _Refused answers it otherwise.

    A body refused once its source is known is kept in the dead letter too.
    """
    if request.method != "POST":
        raise _Refused(405, "method_not_allowed", "use POST")
    route = _ROUTE.search(request.path)
    if route is None:
        raise _Refused(404, "not_found", "routes: /v1/batch, /v1/track, /v1/identify, /v1/page")
    kind = route.group(1)
    raw = request.body
    try:
        raw = _decode_body(request)
        try:
            body = jsonsafe.loads(raw) if raw.strip() else None
        except InvalidJson as exc:
            raise _Refused(400, exc.code, str(exc), "body") from None
    except _Refused as refused:
        key = _authenticate(request, None, settings)  # an unknown caller learns nothing more
        source = writer.Source(segment.scope_of(key), kind)
        _dead_letter_body(settings, source, raw, refused)
        raise
    key = _authenticate(request, body, settings)
    try:
        return kind, key, _messages(kind, body)
    except _Refused as refused:
        source = writer.Source(segment.scope_of(key), kind)
        _dead_letter_body(settings, source, raw, refused)
        raise


def handle(request: IngestRequest, settings: Settings) -> IngestResponse:
    """Answer one ingest request (see the module docstring for the contract)."""
    started = time.monotonic()
    received_at = datetime.now(UTC)
    try:
        kind, key, messages = _parse(request, settings)
    except _Refused as refusal:
        log.warning(
            "ingest request refused",
            extra={"fields": {"code": refusal.response.body["error"]["code"]}},
        )
        return refusal.response
    except psycopg.OperationalError:
        return _unavailable()

    scope = segment.scope_of(key)
    header_geo = geo.geo_from_headers(request.headers)
    request_ip = geo.client_ip(request.headers, request.remote_addr)
    default_type = None if kind == "batch" else kind
    answers: list[dict[str, Any] | None] = []
    mapped: list[tuple[Any, segment.Mapped]] = []
    refused: list[tuple[Any, dict[str, str]]] = []
    for message in messages:
        try:
            context = message.get("context") if isinstance(message, dict) else None
            ip = context.get("ip") if isinstance(context, dict) else None
            network = geo.network_fields(
                ip if isinstance(ip, str) else request_ip,
                header_geo,
                privacy=settings.ingest_ip_privacy,
                geoip_database=settings.geoip_database,
            )
            mapped.append(
                (
                    message,
                    segment.map_message(
                        message,
                        scope=scope,
                        default_type=default_type,  # type: ignore[arg-type]
                        network=network,
                        received_at=received_at,
                    ),
                )
            )
            answers.append(None)
        except InvalidEvent as exc:
            answers.append({"event_id": None, "status": "rejected", "error": exc.to_dict()})
            refused.append((message, exc.to_dict()))

    source = writer.Source(scope, kind)
    try:
        try:
            with db.pooled(settings) as conn:
                written = iter(writer.write(conn, source, mapped, refused))
        except psycopg.OperationalError as exc:
            if isinstance(exc, psycopg_pool.PoolTimeout):
                raise
            # Once more on a fresh connection: the one lent may have died idle. The write is
            # one transaction, so nothing of the first attempt is stored unless it committed,
            # and then the retry answers its events duplicate.
            with db.pooled(settings) as conn:
                written = iter(writer.write(conn, source, mapped, refused))
    except psycopg.OperationalError:
        return _unavailable()
    results = [answer or next(written).as_dict() for answer in answers]
    counts = {"accepted": 0, "duplicate": 0, "quarantined": 0, "rejected": 0}
    for result in results:
        counts[result["status"]] += 1
    log.info(
        "ingest batch",
        extra={
            "fields": {
                "route": kind,
                "write_key_scope": scope,
                "messages": len(results),
                **counts,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
            }
        },
    )
    if kind != "batch" and results[0]["status"] == "rejected":
        return IngestResponse(
            400, {"success": False, "error": results[0]["error"], "results": results}
        )
    return IngestResponse(200, {"success": True, **counts, "results": results})
