"""Scale-out by backlog: a stream invocation that cannot drain the backlog within its budget
starts more invocations of itself, up to ``STREAM_MAX_PARALLEL`` in all.

Once the invocation has settled its first batches it knows its own rate; with the backlog
(due pending events) and the budget left, :func:`extra_workers` says how many more workers would
drain it in time. Each is an authenticated self-invocation: a POST to ``STREAM_FANOUT_URL`` (the
function's own URL) with a Google ID token whose audience is that URL, as Cloud Run / Cloud
Functions gen2 check it for ``roles/run.invoker`` (Terraform grants the function's service
account the role on itself). The body says ``"child": true``: a child never fans out again, so the
bound holds. SKIP LOCKED makes the workers share the backlog without overlap.

The decision is pure (:func:`extra_workers`); the token comes from a provider (google-auth's
``fetch_id_token`` from the metadata server when deployed; tests pass a named fake).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from platform_events.pipeline.retry import Clock

log = logging.getLogger(__name__)

IdTokenProvider = Callable[[str], str]

# The decision waits for this many settled batches, so the measured rate is not one batch's.
PROBE_BATCHES = 2


def extra_workers(backlog: int, rate_per_s: float, seconds_left: float, max_parallel: int) -> int:
    """How many workers to start beside this one: enough that all of them, at this worker's
    rate, drain ``backlog`` in ``seconds_left``, and at most ``max_parallel`` in all."""
    if max_parallel <= 1 or backlog <= 0 or rate_per_s <= 0 or seconds_left <= 0:
        return 0
    one_drains = rate_per_s * seconds_left
    if backlog <= one_drains:
        return 0
    return min(math.ceil(backlog / one_drains), max_parallel) - 1


def google_id_token(audience: str) -> str:
    """A Google-signed ID token for ``audience`` (the metadata server's, deployed)."""
    import google.auth.transport.requests
    import google.oauth2.id_token

    token = google.oauth2.id_token.fetch_id_token(  # type: ignore[no-untyped-call]
        google.auth.transport.requests.Request(), audience
    )
    return str(token)


def invoke(url: str, token: str, body: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """POST ``body`` to ``url`` as JSON with ``token`` as bearer; the JSON answer."""
    # The URL is STREAM_FANOUT_URL, which the settings allow as http(s) only.
    request = urllib.request.Request(  # noqa: S310
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
        answer = json.loads(response.read())
    return answer if isinstance(answer, dict) else {"answer": answer}


@dataclass
class FanOut:
    """The parent's side: decide once from the first batches, start the children, collect their
    answers. ``update`` has the tqdm-like shape the stream calls after each settled batch."""

    url: str
    max_parallel: int
    deadline: float
    clock: Clock
    backlog: Callable[[], int]
    child_body: Callable[[float], dict[str, Any]]
    token_provider: IdTokenProvider = google_id_token
    inner: Any = None  # another progress object to pass updates on to
    started: float = 0.0
    delivered: int = 0
    batches: int = 0
    decided: bool = False
    children: list[threading.Thread] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.started = self.clock.monotonic()

    def update(self, n: int) -> None:
        if self.inner is not None:
            self.inner.update(n)
        self.delivered += n
        self.batches += 1
        if not self.decided and self.batches >= PROBE_BATCHES:
            self.decided = True
            self._decide()

    def _decide(self) -> None:
        now = self.clock.monotonic()
        elapsed, left = now - self.started, self.deadline - now
        rate = self.delivered / elapsed if elapsed > 0 else 0.0
        try:
            backlog = self.backlog()
            count = extra_workers(backlog, rate, left, self.max_parallel)
        except Exception as exc:  # scaling out is an optimisation: never fail the run for it
            self.errors.append(f"{type(exc).__name__}: {exc}"[:300])
            return
        log.info(
            "stream fan-out",
            extra={
                "fields": {
                    "backlog": backlog,
                    "rate_per_s": round(rate, 1),
                    "seconds_left": round(left, 1),
                    "children": count,
                }
            },
        )
        for _ in range(count):
            child = threading.Thread(target=self._child, args=(left,), daemon=True)
            child.start()
            self.children.append(child)

    def _child(self, seconds_left: float) -> None:
        try:
            token = self.token_provider(self.url)
            answer = invoke(self.url, token, self.child_body(seconds_left), seconds_left + 60)
        except Exception as exc:  # HTTP, network, or the token provider's own errors
            self.errors.append(f"{type(exc).__name__}: {exc}"[:300])
        else:
            self.answers.append(answer)

    def finish(self, timeout_s: float) -> dict[str, Any]:
        """Wait for the children (at most ``timeout_s`` each); what they did."""
        for child in self.children:
            child.join(timeout=timeout_s)
        summary: dict[str, Any] = {
            "children": len(self.children),
            "delivered": sum(int(a.get("delivered", 0)) for a in self.answers),
            "answered": len(self.answers),
        }
        if self.errors:
            summary["errors"] = self.errors[:5]
        return summary
