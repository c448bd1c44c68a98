"""The Python client: validate events at the call, batch them in the background, write them.

``Analytics`` is the entry point; ``write_events`` is the batched write path on its own (the
benchmarks and the traffic generator use it directly).
"""

from platform_events.client.analytics import Analytics
from platform_events.client.batching import RetryPolicy
from platform_events.client.reads import EventFilters, EventPage, Page
from platform_events.client.transport import HttpTransport, PostgresTransport, TransportError
from platform_events.emit import write_events
from platform_events.events import Event, EventResult, build_event

__all__ = [
    "Analytics",
    "Event",
    "EventFilters",
    "EventPage",
    "EventResult",
    "HttpTransport",
    "Page",
    "PostgresTransport",
    "RetryPolicy",
    "TransportError",
    "build_event",
    "write_events",
]
