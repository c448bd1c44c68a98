"""A lock on the DuckDB warehouse file that its holder hands over as soon as someone waits.

DuckDB lets one process at a time open a database file for writing. Opening and closing it costs
about 40 ms (instance start, checkpoint), a third of a 1,000-event batch, so a lone stream worker
keeps it open across batches; when a second worker (or a reader: the demo, ``status``) wants the
file, it announces itself with a shared lock on ``<file>.waiting`` and the holder, after its
current write, closes DuckDB and releases ``<file>.lock`` (once it has held the file for
``min_hold_s``, so the handover cost is paid once per several batches: with 1,000-event batches,
a handover after every batch made two workers 0.62x as fast as one; after 0.5 s, 0.94x; after
1 s, 0.85-0.86x, both within this machine's noise). Two workers thus alternate while each
prepares its next batches (claim, enrichment) in parallel.

POSIX ``flock`` locks die with their process, so a killed worker never leaves the file locked.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from platform_events.errors import SinkUnavailable


class HandoverLock:
    """Exclusive use of ``path`` among processes, with a "someone is waiting" signal."""

    def __init__(self, path: Path, timeout_s: float, min_hold_s: float = 0.0) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self.min_hold_s = min_hold_s
        self._held: int | None = None
        self._acquired_at = 0.0

    @property
    def held(self) -> bool:
        return self._held is not None

    def _open(self, suffix: str) -> int:
        return os.open(f"{self.path}{suffix}", os.O_RDWR | os.O_CREAT, 0o600)

    def acquire(self) -> None:
        """Wait (announced) for the lock; SinkUnavailable after ``timeout_s``."""
        if self._held is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_fd = self._open(".lock")
        wait_fd = self._open(".waiting")
        deadline = time.monotonic() + self.timeout_s
        pause = 0.001
        try:
            fcntl.flock(wait_fd, fcntl.LOCK_SH)
            while True:
                try:
                    fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        os.close(lock_fd)
                        raise SinkUnavailable(
                            f"the DuckDB warehouse {self.path} stayed locked by another process "
                            f"for {self.timeout_s:g}s (DUCKDB_LOCK_TIMEOUT_SECONDS)"
                        ) from None
                    time.sleep(pause)
                    pause = min(pause * 2, 0.02)
        finally:
            os.close(wait_fd)  # closing drops the shared "waiting" lock
        self._held = lock_fd
        self._acquired_at = time.monotonic()

    def should_hand_over(self) -> bool:
        """True when someone waits and the holder has had the lock for ``min_hold_s``.

        The minimum hold amortises the cost of a handover (closing DuckDB checkpoints it, opening
        starts an instance) over several batches instead of paying it after every one.
        """
        if time.monotonic() - self._acquired_at < self.min_hold_s:
            return False
        return self.others_waiting()

    def others_waiting(self) -> bool:
        """True when another process announced it waits for the lock."""
        probe = self._open(".waiting")
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(probe)
        return False

    def release(self) -> None:
        if self._held is not None:
            os.close(self._held)  # closing the descriptor releases the flock
            self._held = None
