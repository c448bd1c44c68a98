"""Where a batch goes: into Postgres (``emit_platform_events_columns``) or to ``ingest_events``.

Both transports take a list of validated :class:`Event` and answer one :class:`EventResult` per
event, in order. A transport raises :class:`TransportError` when the whole batch failed and says
whether trying again may help; the worker owns the retry policy.

Direct mode must connect as a role allowed to emit for any user (``platform_events_ingest``; the
application role emits only for its session's user, see migrations/0003 and 0006).
"""

from __future__ import annotations

import base64
import gzip
import itertools
import json
import math
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import psycopg
from psycopg.rows import dict_row

from platform_events.db import APPLICATION_NAME, Conn
from platform_events.emit import write_numbered
from platform_events.events import Event, EventResult, Status

# Events per statement: big enough to amortise the round trip and the statement's fixed cost,
# small enough to keep memory flat and let two connections take turns (bench/client_emit.py:
# 1,000 to 4,000 run within a few percent of each other).
CHUNK_SIZE = 2_000


class TransportError(Exception):
    """A whole batch failed; ``retryable`` says whether sending it again may succeed."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class Transport(Protocol):
    def send(self, events: Sequence[Event]) -> list[EventResult]: ...

    def close(self) -> None: ...


def _chunks(events: Sequence[Event], size: int, parallel: int = 1) -> list[Sequence[Event]]:
    """Split into at most ``size`` events each, in a multiple of ``parallel`` equal chunks.

    Equal chunks keep every connection busy until the end of a call (5 chunks on 2 connections
    would leave one idle for the last round).
    """
    if not events:
        return []
    count = math.ceil(len(events) / size)
    if parallel > 1 and count > 1:
        count = math.ceil(count / parallel) * parallel
    step = math.ceil(len(events) / count)
    return [events[i : i + step] for i in range(0, len(events), step)]


class PostgresTransport:
    """Direct mode: batches go to Postgres over ``parallel`` connections, ``CHUNK_SIZE`` at a time.

    ``send`` is the client's batched write path: each chunk is one ``emit_platform_events_columns``
    statement (:func:`platform_events.emit.write_events`). With two connections one thread encodes and sends while
    the other's statement runs, and the server's work runs on two cores: on the 2-core machine of
    bench/client_emit.py two connections write about 1.5 times as many events per second as one.
    Hand it thousands of events per call to keep both busy.
    """

    def __init__(self, url: str, *, parallel: int = 1, chunk_size: int = CHUNK_SIZE) -> None:
        if parallel < 1:
            raise ValueError("parallel must be at least 1")
        self.url = url
        self.parallel = parallel
        self.chunk_size = chunk_size
        self._local = threading.local()
        self._opened: list[Conn] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(parallel, "pe-emit") if parallel > 1 else None

    def _conn(self) -> Conn:
        conn: Conn | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = psycopg.connect(
                self.url, autocommit=True, row_factory=dict_row, application_name=APPLICATION_NAME
            )
            self._local.conn = conn
            with self._lock:
                self._opened.append(conn)
        return conn

    def _send_chunk(self, chunk: tuple[int, Sequence[Event]]) -> list[EventResult]:
        offset, events = chunk
        try:
            return write_numbered(self._conn(), events, offset)
        except psycopg.OperationalError as exc:
            # Connection lost or server restarting: drop the connection, let the caller retry.
            conn = getattr(self._local, "conn", None)
            if conn is not None:
                conn.close()
            raise TransportError(f"event store unavailable: {exc}", retryable=True) from exc
        except psycopg.Error as exc:
            raise TransportError(
                f"event store refused the batch: {exc.sqlstate}", retryable=False
            ) from exc

    def send(self, events: Sequence[Event]) -> list[EventResult]:
        chunks = _chunks(events, self.chunk_size, self.parallel)
        offsets = itertools.accumulate((len(chunk) for chunk in chunks), initial=0)
        numbered = list(zip(offsets, chunks, strict=False))
        if self._pool is None or len(numbered) == 1:
            parts = [self._send_chunk(chunk) for chunk in numbered]
        else:
            parts = list(self._pool.map(self._send_chunk, numbered))
        return [result for part in parts for result in part]

    def after_fork(self) -> None:
        """In a forked child: forget the parent's connections and threads. Never close them:
        closing sends the server a Terminate on the socket the parent still uses (and psycopg
        does not close them when collected in another process)."""
        self._local = threading.local()
        self._opened = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(self.parallel, "pe-emit") if self.parallel > 1 else None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        with self._lock:
            for conn in self._opened:
                conn.close()
            self._opened.clear()


def segment_message(event: Event) -> dict[str, Any]:
    """The Segment ``track`` message ingest_events maps back to ``event`` (see ingest/segment.py)."""
    context: dict[str, Any] = {"library": {"name": "platform-events", "version": "1"}}
    metadata = dict(event.metadata)
    if "user_agent" in metadata:
        context["userAgent"] = metadata.pop("user_agent")
    if event.session_id is not None:
        context["sessionId"] = event.session_id
    if metadata:
        context["metadata"] = metadata
    message: dict[str, Any] = {
        "type": "track",
        "event": event.event_type,
        "properties": event.event_data,
        "messageId": str(event.event_id),
        "timestamp": event.occurred_at.isoformat(),
        "context": context,
    }
    if event.user_id is not None:
        message["userId"] = event.user_id
    else:
        # Segment requires one of userId / anonymousId.
        message["anonymousId"] = event.session_id or str(event.event_id)
    return message


class HttpTransport:
    """HTTP mode: batches are posted, gzipped, to ``ingest_events`` as Segment ``/v1/batch`` calls."""

    def __init__(
        self,
        endpoint: str,
        write_key: str,
        *,
        timeout: float = 15.0,
        bearer_token: str | None = None,
        max_batch_bytes: int = 450_000,
    ) -> None:
        self.url = endpoint.rstrip("/") + "/v1/batch"
        self.write_key = write_key
        self.timeout = timeout
        self.bearer_token = bearer_token
        self.max_batch_bytes = max_batch_bytes

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        if self.bearer_token:
            # Deployed behind IAM (or `serve` locally): the token authenticates the caller; the
            # write key then travels in the body, as Segment also allows.
            headers["Authorization"] = f"Bearer {self.bearer_token}"
        else:
            basic = base64.b64encode(f"{self.write_key}:".encode()).decode()
            headers["Authorization"] = f"Basic {basic}"
        return headers

    def _post(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        body = json.dumps({"batch": messages, "writeKey": self.write_key}, default=str).encode()
        request = urllib.request.Request(  # noqa: S310 - the endpoint is configuration, http(s) only
            self.url, data=gzip.compress(body), headers=self._headers(), method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                answer = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            retryable = exc.code >= 500 or exc.code == 429
            raise TransportError(f"ingest answered {exc.code}", retryable=retryable) from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise TransportError(f"ingest unreachable: {exc}", retryable=True) from exc
        results = answer.get("results")
        if not isinstance(results, list) or len(results) != len(messages):
            raise TransportError("ingest answered without per-event results", retryable=False)
        return results

    def send(self, events: Sequence[Event]) -> list[EventResult]:
        results: list[EventResult] = []
        batch: list[dict[str, Any]] = []
        size = 0
        ordinal = 0

        def post() -> None:
            nonlocal ordinal
            for answer in self._post(batch):
                ordinal += 1
                error = answer.get("error") or {}
                event_id = answer.get("event_id")
                status: Status = answer.get("status", "rejected")
                results.append(
                    EventResult(
                        ordinal=ordinal,
                        event_id=uuid.UUID(event_id) if event_id else None,
                        status=status,
                        error_code=error.get("code"),
                        error_field=error.get("field"),
                        error_message=error.get("message"),
                    )
                )

        for event in events:
            message = segment_message(event)
            message_size = len(json.dumps(message, default=str))
            if batch and size + message_size > self.max_batch_bytes:
                post()
                batch, size = [], 0
            batch.append(message)
            size += message_size
        if batch:
            post()
        return results

    def close(self) -> None:
        return None
