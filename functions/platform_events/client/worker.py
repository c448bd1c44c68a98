"""The background worker: a daemon thread that batches queued events and writes them.

Modelled on the care of Segment's analytics-python ``consumer.py``: the caller only ever puts an
event on a bounded queue (never blocks, never raises); the thread sends a batch when it holds
``batch_size`` events or ``flush_interval`` seconds passed since its first event, retries failed
batches with backoff (event ids are fixed at creation, so a retry never stores twice), and
``flush()``, ``close()`` and interpreter exit deliver what is queued. A full queue drops the new
event, counts it and warns, so memory stays bounded whatever the store does.

A batch the store could not take (unreachable past the retries, or the process closing) goes to
the on-disk spool when one is configured (client/spool.py): the next client sends it first.

Fork-safe: a worker inherited by a forked child (gunicorn or uWSGI with a preloaded app,
``multiprocessing``) starts over there with its own queue, locks, thread and connections
(``os.register_at_fork``); the parent's connections are never used or closed by the child, and
events queued in the parent before the fork stay the parent's to send.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import sys
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass

from platform_events import logs
from platform_events.client.batching import Debouncer, RetryPolicy
from platform_events.client.spool import Spool, SpoolFull
from platform_events.client.transport import Transport, TransportError
from platform_events.events import Event, EventResult

log = logging.getLogger(__name__)

# Warn on the first drop, then once per this many, so a flood does not flood the logs too.
_DROP_WARNING_EVERY = 1000
# After this long, a worker that sent a batch looks at the spool again (the store is back).
_REPLAY_EVERY_S = 30.0

# Every live worker, so a forked child can make each its own (see _after_fork_in_child).
_workers: weakref.WeakSet[BatchWorker] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for worker in list(_workers):
        worker._after_fork_in_child()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _close_at_process_exit(worker: BatchWorker) -> None:
    import multiprocessing.util

    multiprocessing.util.Finalize(worker, worker.close, exitpriority=10)


@dataclass
class WorkerStats:
    """Counters of everything the worker did (read them any time; they only grow)."""

    queued: int = 0
    dropped: int = 0  # queue full or client closed
    debounced: int = 0  # replaced by a later event of the same burst
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0  # the store refused the event (its error is logged, not its payload)
    failed: int = 0  # given up after the retries (store unreachable), spooled or not
    batches: int = 0
    retries: int = 0
    spooled: int = 0  # of the failed, kept in the spool for the next client
    spool_dropped: int = 0  # of the failed, lost: the spool was full or unwritable
    unspooled: int = 0  # events of the spool (any process's) this worker delivered


class BatchWorker:
    """Owns the queue and the thread; see the module docstring for the guarantees."""

    def __init__(
        self,
        transport: Transport,
        *,
        batch_size: int = 500,
        flush_interval: float = 1.0,
        max_queue_size: int = 10_000,
        retry: RetryPolicy | None = None,
        debounce: Mapping[str, float] | None = None,
        on_results: Callable[[list[EventResult]], None] | None = None,
        spool: Spool | None = None,
    ) -> None:
        if batch_size < 1 or max_queue_size < 1 or flush_interval <= 0:
            raise ValueError("batch_size, max_queue_size and flush_interval must be positive")
        self.transport = transport
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.retry = retry or RetryPolicy()
        self.on_results = on_results
        self.spool = spool
        self._debounce = dict(debounce or {})
        self._max_queue_size = max_queue_size
        self._closed = False
        self._fresh_state()
        _workers.add(self)
        atexit.register(self.close)
        self._ensure_thread()

    def _fresh_state(self) -> None:
        """Everything a process must own alone: counters, queue, locks, flags, no thread yet."""
        self.stats = WorkerStats()
        self._queue: queue.Queue[Event] = queue.Queue(self._max_queue_size)
        self._debouncer = Debouncer(self._debounce)
        self._lock = threading.Lock()
        self._flush_now = threading.Event()
        self._stopping = threading.Event()
        self._abort = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()
        self._last_replay = 0.0

    def _ensure_thread(self) -> None:
        with self._thread_lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(
                    target=self._run, name="platform-events-worker", daemon=True
                )
                self._thread.start()

    def _after_fork_in_child(self) -> None:
        """Run in a forked child (only one thread left): the parent's queue, locks and thread
        state are copies that may be mid-use, so start over; the thread starts on first use."""
        self._fresh_state()
        after_fork = getattr(self.transport, "after_fork", None)
        if after_fork is not None:
            after_fork()
        mp_util = sys.modules.get("multiprocessing.util")
        if mp_util is not None:
            # A multiprocessing child ends with os._exit after its own finalizers, never atexit;
            # its bootstrap clears the finalizers inherited, then runs these after-fork hooks.
            mp_util.register_after_fork(self, _close_at_process_exit)

    # -- caller side: never blocks, never raises -------------------------------------------

    def enqueue(self, event: Event) -> bool:
        """Queue ``event`` for sending; False when it was dropped (queue full or closed)."""
        self._ensure_thread()
        if self._closed:
            self._count_drop("the client is closed")
            return False
        if self._debouncer.applies_to(event):
            with self._lock:
                before = self._debouncer.replaced
                self._debouncer.offer(event, time.monotonic())
                self.stats.debounced += self._debouncer.replaced - before
                self.stats.queued += 1
            return True
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self._count_drop("the queue is full")
            return False
        with self._lock:
            self.stats.queued += 1
        return True

    def _count_drop(self, reason: str) -> None:
        with self._lock:
            self.stats.dropped += 1
            dropped = self.stats.dropped
        if dropped == 1 or dropped % _DROP_WARNING_EVERY == 0:
            log.warning(
                "analytics event dropped",
                extra={"fields": {"reason": reason, "dropped_total": dropped}},
            )

    def pending(self) -> int:
        """Events queued or held by the debouncer, not yet answered by the store."""
        return self._queue.unfinished_tasks + len(self._debouncer)

    def flush(self, timeout: float | None = None) -> bool:
        """Send everything queued now and wait until it is answered; False on timeout."""
        self._ensure_thread()
        self._release_debounced()
        self._flush_now.set()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._queue.all_tasks_done.wait(remaining)
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is queued (within ``timeout`` seconds), then stop the thread. Idempotent."""
        if self._closed:
            return
        delivered = self.flush(timeout) if self._thread is not None or self.pending() else True
        self._closed = True
        atexit.unregister(self.close)
        self._stopping.set()
        self._flush_now.set()
        if not delivered:
            self._abort.set()
        if self._thread is not None:
            self._thread.join(max(timeout, 1.0))
        self._spool_what_is_left()
        if self.pending():
            log.error(
                "analytics events not delivered at close",
                extra={"fields": {"pending": self.pending(), **asdict(self.stats)}},
            )
        self.transport.close()

    def _spool_what_is_left(self) -> None:
        """Events still queued after the thread gave up or ran out of time: to the spool."""
        left: list[Event] = []
        while True:
            try:
                left.append(self._queue.get_nowait())
            except queue.Empty:
                break
        if left:
            try:
                self._give_up(left, "closing: out of time", 0, keep=True)
            finally:
                for _ in left:
                    self._queue.task_done()

    def _release_debounced(self) -> None:
        with self._lock:
            held = self._debouncer.drain()
        for event in held:
            # Already counted as queued; blocking put: flush must not lose them to a full queue.
            self._queue.put(event)

    # -- the thread ------------------------------------------------------------------------

    def _run(self) -> None:
        self._replay()
        while True:
            try:
                batch = self._next_batch()
                if batch:
                    self._send(batch)
            except Exception as exc:  # the thread must survive anything
                logs.log_error(log, "analytics worker error", exc)
            if self._stopping.is_set() and self._queue.unfinished_tasks == 0:
                return

    def _next_batch(self) -> list[Event]:
        """Up to ``batch_size`` events: waits for a first one, then up to ``flush_interval``."""
        with self._lock:
            due = self._debouncer.due(time.monotonic())
            next_due = self._debouncer.next_deadline()
        for event in due:
            self._queue.put(event)
        wait = self.flush_interval if next_due is None else max(0.0, next_due - time.monotonic())
        try:
            first = self._queue.get(timeout=min(wait, self.flush_interval))
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.flush_interval
        while len(batch) < self.batch_size:
            if self._flush_now.is_set() or self._stopping.is_set():
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    self._flush_now.clear()
                    break
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(self._queue.get(timeout=min(remaining, 0.05)))
            except queue.Empty:
                continue
        return batch

    def _send(self, batch: list[Event]) -> None:
        attempt = 0
        try:
            while True:
                if self._abort.is_set():
                    self._give_up(batch, "closing: out of time", attempt, keep=True)
                    return
                attempt += 1
                try:
                    results = self.transport.send(batch)
                except TransportError as exc:
                    if not exc.retryable or self.retry.gives_up_after(attempt):
                        self._give_up(batch, logs.error_summary(exc), attempt, keep=exc.retryable)
                        return
                    with self._lock:
                        self.stats.retries += 1
                    if self._abort.wait(self.retry.delay(attempt)):
                        self._give_up(batch, "closing: out of time", attempt, keep=True)
                        return
                    continue
                except Exception as exc:
                    logs.log_error(log, "analytics transport error", exc)
                    self._give_up(batch, type(exc).__name__, attempt, keep=False)
                    return
                self._record(results)
                if time.monotonic() - self._last_replay > _REPLAY_EVERY_S:
                    self._replay()
                return
        finally:
            for _ in batch:
                self._queue.task_done()

    def _replay(self) -> None:
        """Send the spool's files (this process's and earlier ones'), oldest first, until none is
        left or the store is still unreachable."""
        self._last_replay = time.monotonic()
        if self.spool is None:
            return
        while not self._abort.is_set():
            claimed = self.spool.claim_next()
            if claimed is None:
                return
            try:
                results = self.transport.send(claimed.events)
            except TransportError as exc:
                if exc.retryable:
                    self.spool.release(claimed)
                    return
                # Refused as a whole however often it is sent: keep it aside for an operator.
                self.spool.set_aside(claimed)
                logs.log_error(log, "spooled batch refused by the store", exc, traceback_too=False)
                continue
            except Exception as exc:
                self.spool.release(claimed)
                logs.log_error(log, "analytics transport error", exc)
                return
            self.spool.done(claimed)
            with self._lock:
                self.stats.unspooled += len(claimed.events)
            self._record(results)

    def _record(self, results: list[EventResult]) -> None:
        with self._lock:
            self.stats.batches += 1
            for result in results:
                if result.status == "accepted":
                    self.stats.accepted += 1
                elif result.status == "duplicate":
                    self.stats.duplicate += 1
                elif result.status == "quarantined":
                    self.stats.accepted += 1
                else:
                    self.stats.rejected += 1
        for result in results:
            if result.status == "rejected":
                log.warning(
                    "analytics event rejected by the store",
                    extra={
                        "fields": {
                            "event_id": str(result.event_id),
                            "code": result.error_code,
                            "field": result.error_field,
                        }
                    },
                )
        if self.on_results is not None:
            self.on_results(results)

    def _give_up(self, batch: list[Event], reason: str, attempts: int, *, keep: bool) -> None:
        """Count a batch not delivered; ``keep`` (the store was unreachable, not refusing) puts
        it in the spool for the next client, when there is one and it has room."""
        spooled = False
        if keep and self.spool is not None:
            try:
                self.spool.write(batch)
                spooled = True
            except (SpoolFull, OSError) as exc:
                logs.log_error(log, "analytics spool full or unwritable", exc, traceback_too=False)
        with self._lock:
            self.stats.failed += len(batch)
            if spooled:
                self.stats.spooled += len(batch)
            elif keep and self.spool is not None:
                self.stats.spool_dropped += len(batch)
        log.error(
            "analytics batch not delivered",
            extra={
                "fields": {
                    "events": len(batch),
                    "attempts": attempts,
                    "reason": reason,
                    "spooled": spooled,
                }
            },
        )
