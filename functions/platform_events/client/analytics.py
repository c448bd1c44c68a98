"""``Analytics``: the seed's AnalyticsService in Python. Validate at the call, send in the background.

    analytics = Analytics(settings)                      # direct mode: batches into Postgres
    session = analytics.init_session("user_42", user_agent=request.headers["User-Agent"])
    analytics.track_project_created("p1", "Landing page", 1200)
    analytics.close()                                    # also done at interpreter exit

A bad event raises :class:`InvalidEvent` at the call, naming the field; anything after that (the
store being down, slow or refusing) never reaches the caller: the worker retries, counts and logs,
and keeps what the store could not take before exit in the spool (``CLIENT_SPOOL_DIR``), which
the next client sends first. Safe to create before a fork (see client/worker.py).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Literal

from platform_events import db, logs
from platform_events.client import reads
from platform_events.client.batching import RetryPolicy
from platform_events.client.spool import Spool
from platform_events.client.tracking import TrackingMixin
from platform_events.client.transport import HttpTransport, PostgresTransport, Transport
from platform_events.client.worker import BatchWorker, WorkerStats
from platform_events.config import Settings, get_settings
from platform_events.device import detect_device
from platform_events.events import build_event
from platform_events.local import database_url

Mode = Literal["direct", "http"]

log = logging.getLogger(__name__)

# High-frequency types debounced by default: search-as-you-type and filter toggling.
DEFAULT_DEBOUNCE: dict[str, float] = {"search.performed": 1.0, "filter.applied": 0.5}


class Analytics(TrackingMixin):
    """Emits events for one service; thread-safe. See the module docstring."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        mode: Mode = "direct",
        database_url_: str | None = None,
        endpoint: str | None = None,
        write_key: str | None = None,
        bearer_token: str | None = None,
        source: str = "python",
        batch_size: int = 500,
        flush_interval: float = 1.0,
        max_queue_size: int = 10_000,
        debounce: Mapping[str, float] | None = None,
        parallel: int = 1,
        retry: RetryPolicy | None = None,
        transport: Transport | None = None,
        spool: bool = True,
    ) -> None:
        self.settings = settings or get_settings()
        self.mode = mode
        self.source = source
        if transport is None:
            if mode == "direct":
                transport = PostgresTransport(
                    database_url_ or database_url(self.settings), parallel=parallel
                )
            else:
                if not endpoint or not write_key:
                    raise ValueError("http mode needs the ingest endpoint and a write key")
                transport = HttpTransport(endpoint, write_key, bearer_token=bearer_token)
        self.worker = BatchWorker(
            transport,
            batch_size=batch_size,
            flush_interval=flush_interval,
            max_queue_size=max_queue_size,
            retry=retry,
            debounce=DEFAULT_DEBOUNCE if debounce is None else debounce,
            spool=self._spool() if spool else None,
        )
        self._context = threading.local()

    def _spool(self) -> Spool | None:
        """The configured spool; None (with a warning) when its directory is not writable."""
        directory = self.settings.client_spool
        if directory is None:
            return None
        try:
            return Spool(
                directory,
                max_bytes=self.settings.client_spool_max_bytes,
                max_files=self.settings.client_spool_max_files,
            )
        except OSError as exc:
            logs.log_error(
                log,
                "analytics spool disabled: directory not writable",
                exc,
                level=logging.WARNING,
                traceback_too=False,
            )
            return None

    # -- who and where ---------------------------------------------------------------------

    @property
    def user_id(self) -> str | None:
        return getattr(self._context, "user_id", None)

    @property
    def session_id(self) -> str | None:
        return getattr(self._context, "session_id", None)

    def init_session(
        self,
        user_id: str | None = None,
        *,
        user_agent: str | None = None,
        referrer: str | None = None,
        landing_page: str | None = None,
    ) -> str:
        """Start a session (a new unique id) for this thread and emit ``session.started``.

        The device detected from ``user_agent`` goes into the metadata of every event of the
        session; the agent string itself is kept for enrichment.
        """
        session_id = str(uuid.uuid4())
        self._context.user_id = user_id
        self._context.session_id = session_id
        device: dict[str, Any] = {}
        if user_agent:
            device = {"user_agent": user_agent[:1000], **detect_device(user_agent).as_metadata()}
        self._context.metadata = device
        self.track_session_started(referrer=referrer, landing_page=landing_page)
        return session_id

    def identify(self, user_id: str | None) -> None:
        """Attribute this thread's next events to ``user_id`` (after a login, say)."""
        self._context.user_id = user_id

    # -- emitting --------------------------------------------------------------------------

    def emit_event(
        self,
        event_type: str,
        event_data: dict[str, Any] | None = None,
        *,
        user_id: str | None = None,
        session_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        occurred_at: datetime | None = None,
        event_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """Validate now (InvalidEvent names the field), queue for the worker, return the id."""
        merged = {
            "source": self.source,
            **getattr(self._context, "metadata", {}),
            **(metadata or {}),
        }
        event = build_event(
            event_type,
            event_data,
            user_id=user_id if user_id is not None else self.user_id,
            session_id=session_id if session_id is not None else self.session_id,
            metadata=merged,
            occurred_at=occurred_at,
            event_id=event_id,
        )
        self.worker.enqueue(event)
        return event.event_id

    def _track(self, event_type: str, event_data: dict[str, Any]) -> uuid.UUID:
        return self.emit_event(event_type, event_data)

    @property
    def stats(self) -> WorkerStats:
        return self.worker.stats

    def flush(self, timeout: float | None = None) -> bool:
        """Send what is queued and wait for the store's answer; False on timeout."""
        return self.worker.flush(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Flush, then stop the worker. Runs at interpreter exit if not called."""
        self.worker.close(timeout)

    def __enter__(self) -> Analytics:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------

    @contextmanager
    def _reader(self) -> Iterator[db.Conn]:
        with db.connect(self.settings, autocommit=True) as conn:
            yield conn

    def query_events(
        self,
        filters: reads.EventFilters | Mapping[str, Any] | None = None,
        page: reads.Page | Mapping[str, Any] | None = None,
    ) -> reads.EventPage:
        """Events matching ``filters``, newest first; pass ``next_cursor`` back for the next page."""
        parsed_filters = reads.EventFilters.model_validate(filters or {})
        parsed_page = reads.Page.model_validate(page or {})
        with self._reader() as conn:
            return reads.query_events(conn, parsed_filters, parsed_page)

    def get_dashboard_metrics(self) -> dict[str, Any]:
        """Live counters and the last 24 hours per type (from aggregations, so always fast)."""
        with self._reader() as conn:
            return reads.dashboard_metrics(conn)

    def query_aggregations(
        self,
        event_type: str | None,
        granularity: reads.Granularity,
        time_range: tuple[datetime, datetime],
    ) -> list[dict[str, Any]]:
        """Aggregation buckets (hour, day or week) of one type (None: all) in [start, end)."""
        with self._reader() as conn:
            return reads.aggregations(conn, event_type, granularity, time_range)
