"""The three overlapping stages of one stream worker: claim | prepare | write + settle.

Each stage is a thread with its own connection: while the sink writes batch n and it is
settled, batch n+1 is enriched (user and session lookups) and batch n+2 claimed. Each stage waits
mostly on PostgreSQL or the sink, which release the GIL; in two stages the claim and the session
lookup in series were the slowest (profiled: the writer waited half its time for them). At most
one batch waits between two stages, so a stop leaves little claimed, and whatever is claimed and
not written when the run stops is given back (held, no attempt spent).
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

from platform_events import db
from platform_events.pipeline import store
from platform_events.pipeline.delivery import Claimed, Prepared, Streamer, StreamTotals

log = logging.getLogger(__name__)

_DONE = object()


def _connect(streamer: Streamer) -> db.Conn:
    conn = db.connect(streamer.settings, autocommit=True)
    store.use_utc(conn)
    return conn


def _claim_stage(
    streamer: Streamer, out: queue.Queue[object], stop: threading.Event, max_batches: int | None
) -> None:
    """The claiming thread: claimed batches into ``out`` (one ahead), then _DONE or an error."""
    produced = 0
    try:
        with _connect(streamer) as conn:
            while not stop.is_set() and streamer.clock.monotonic() < streamer.deadline:
                if max_batches is not None and produced >= max_batches:
                    break
                claimed = streamer.claim(conn)
                if claimed is None:
                    break
                produced += 1
                out.put(claimed)
        out.put(_DONE)
    except BaseException as exc:  # handed on to the delivering thread, which raises it
        out.put(exc)


def _prepare_stage(
    streamer: Streamer,
    source: queue.Queue[object],
    out: queue.Queue[object],
    stop: threading.Event,
) -> None:
    """The preparing thread: each claimed batch from ``source`` prepared into ``out``; _DONE
    and errors passed on. After a stop, claimed batches pass on unprepared, to be given back."""
    item: object = None
    try:
        with _connect(streamer) as conn:
            while True:
                item = source.get()
                if isinstance(item, Claimed) and not stop.is_set():
                    item = streamer.prepare(conn, item)
                out.put(item)
                if not isinstance(item, Claimed):
                    return
    except BaseException as exc:
        # An error that is not one event's (a lookup's connection failed): the batch in hand
        # and whatever the claimer still hands over go on unprepared, so the delivering thread
        # gives them back instead of leaving them leased until the lease runs out.
        out.put(exc)  # first: the delivering thread raises it, then gives back what follows
        if isinstance(item, Claimed):
            out.put(item)
        while isinstance(item := source.get(), Claimed):
            out.put(item)


def _consume(
    streamer: Streamer,
    conn: db.Conn,
    prepared: queue.Queue[object],
    stop: threading.Event,
    totals: StreamTotals,
    progress: Any,
) -> None:
    """The delivering side: write and settle each prepared batch until the stages are done."""
    while True:
        item = prepared.get()
        if item is _DONE:
            return
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, Prepared)
        outcome = streamer.deliver(conn, item, totals)
        if progress is not None:
            progress.update(len(outcome.delivered))
        if outcome.sink_down:
            stop.set()
            # The message is what infra/monitoring's sync-error metric counts: keep it. The
            # batch is held (no attempt spent) rather than released; ``state`` says why.
            log.error(
                "warehouse unavailable: batch released, stream stopped",
                extra={
                    "fields": {
                        "sink": streamer.sink.kind,
                        "state": outcome.sink_state,
                        "error": outcome.sink_summary,
                    }
                },
            )
            return


def _release_leftovers(
    streamer: Streamer,
    conn: db.Conn,
    prepared: queue.Queue[object],
    stages: list[threading.Thread],
    totals: StreamTotals,
) -> None:
    """After a stop: give back every batch claimed but not written, and let the stages end."""
    while any(stage.is_alive() for stage in stages) or not prepared.empty():
        try:
            item = prepared.get(timeout=0.1)
        except queue.Empty:
            continue
        if isinstance(item, Claimed):
            streamer.release(conn, item, totals)
    for stage in stages:
        stage.join()


def run_stages(
    streamer: Streamer, totals: StreamTotals, max_batches: int | None, progress: Any
) -> None:
    """Run one worker's three stages until the backlog is empty, the budget spent or the sink
    down; raises what a stage raised (after giving back what it held). Nothing runs while the
    sink's health says to wait (``platform_event_sink_health.retry_at``)."""
    claimed: queue.Queue[object] = queue.Queue(maxsize=1)
    prepared: queue.Queue[object] = queue.Queue(maxsize=1)
    stop = threading.Event()
    stages = [
        threading.Thread(
            target=_claim_stage,
            args=(streamer, claimed, stop, max_batches),
            name="stream-claim",
            daemon=True,
        ),
        threading.Thread(
            target=_prepare_stage,
            args=(streamer, claimed, prepared, stop),
            name="stream-prepare",
            daemon=True,
        ),
    ]
    with _connect(streamer) as conn:
        health = store.sink_health(conn, streamer.sink.kind)
        if health is not None and health["waiting"]:
            # The sink failed and is not to be called before retry_at: nothing is claimed.
            totals.sink_state = health["state"]
            totals.sink_error, totals.retry_at = health["last_error"], health["retry_at"]
            log.info(
                "warehouse %s: not called before %s",
                health["state"],
                health["retry_at"],
                extra={"fields": {"sink": streamer.sink.kind, "state": health["state"]}},
            )
            return
        streamer.sink.ensure_table()
        for stage in stages:
            stage.start()
        try:
            _consume(streamer, conn, prepared, stop, totals, progress)
        finally:
            stop.set()
            _release_leftovers(streamer, conn, prepared, stages, totals)
