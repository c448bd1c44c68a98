"""The client's on-disk spool: events the store could not take before the process ended.

A batch the worker gives up on while the store is unreachable (retries spent, or the process
closing) is written here, one file per batch, instead of being lost; the next client that starts
with the same directory sends the spooled files before anything else. Exactly once: each event
keeps the ``event_id`` fixed when it was built, and the store answers an id it already holds
``duplicate``, so a file sent twice (a crash between the send and the delete) stores nothing
twice. Two processes never send the same file at once: a sender claims a file by renaming it
(atomic within a directory), and whoever loses the rename skips it.

Bounded: a batch that would take the spool past ``max_bytes`` or ``max_files`` is dropped and
counted (``WorkerStats.spool_dropped``), never the files already held.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from platform_events.events import Event

_SUFFIX = ".events.jsonl"
_CLAIMED = ".claimed-"
# A claim older than this belongs to a sender that died: its file is offered again.
STALE_CLAIM_S = 300.0


class SpoolFull(Exception):
    """The batch would take the spool past its bounds; it was not written."""


@dataclass(frozen=True)
class Claimed:
    """A spool file this process holds: send its events, then ``done`` or ``release``."""

    path: Path
    original: Path
    events: list[Event]


def _encode(event: Event) -> str:
    return json.dumps(event.as_json(), default=str, separators=(",", ":"))


def _decode(line: str) -> Event:
    raw = json.loads(line)
    return Event(
        event_type=raw["event_type"],
        event_data=raw["event_data"],
        user_id=raw["user_id"],
        session_id=raw["session_id"],
        metadata=raw["metadata"],
        occurred_at=datetime.fromisoformat(raw["occurred_at"]),
        event_id=uuid.UUID(raw["event_id"]),
    )


class Spool:
    """One spool directory; safe to share between processes and threads."""

    def __init__(self, directory: Path, *, max_bytes: int, max_files: int) -> None:
        if max_bytes < 1 or max_files < 1:
            raise ValueError("max_bytes and max_files must be positive")
        self.directory = directory
        self.max_bytes = max_bytes
        self.max_files = max_files
        directory.mkdir(parents=True, exist_ok=True)
        if not os.access(directory, os.W_OK | os.X_OK):
            raise PermissionError(f"spool directory {directory} is not writable")

    def _files(self) -> Iterator[os.DirEntry[str]]:
        with os.scandir(self.directory) as entries:
            for entry in entries:
                if _SUFFIX in entry.name and not entry.name.startswith("."):
                    yield entry

    def usage(self) -> tuple[int, int]:
        """(files, bytes) held, claimed ones included."""
        files = size = 0
        for entry in self._files():
            try:
                size += entry.stat().st_size
            except FileNotFoundError:
                continue
            files += 1
        return files, size

    def write(self, events: list[Event]) -> Path:
        """Keep ``events`` as one file (written aside, then renamed into place); SpoolFull when
        it would pass the bounds."""
        body = "".join(_encode(e) + "\n" for e in events).encode()
        files, size = self.usage()
        if files + 1 > self.max_files or size + len(body) > self.max_bytes:
            raise SpoolFull(f"spool {self.directory} holds {files} files, {size} bytes")
        name = f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex}{_SUFFIX}"
        temporary = self.directory / f".{name}.tmp"
        with open(temporary, "wb") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        final = self.directory / name
        os.replace(temporary, final)
        return final

    def claim_next(self) -> Claimed | None:
        """The oldest unclaimed file (or one whose claim is stale), claimed by this process."""
        now = time.time()
        candidates = []
        for entry in self._files():
            if _CLAIMED in entry.name:
                try:
                    stale = now - entry.stat().st_mtime > STALE_CLAIM_S
                except FileNotFoundError:
                    continue
                if not stale:
                    continue
            candidates.append(entry.name)
        for name in sorted(candidates):
            original = self.directory / (name.split(_CLAIMED)[0])
            claimed = self.directory / f"{original.name}{_CLAIMED}{os.getpid()}-{uuid.uuid4().hex}"
            try:
                os.rename(self.directory / name, claimed)
            except FileNotFoundError:
                continue  # another process claimed it first
            os.utime(claimed)  # the claim's age starts now
            try:
                text = claimed.read_text(encoding="utf-8")
                events = [_decode(line) for line in text.splitlines() if line]
            except (ValueError, KeyError, TypeError):
                # Not ours to understand (truncated by a full disk, say): keep it for a human.
                os.rename(claimed, self.directory / f".unreadable-{original.name}")
                continue
            return Claimed(claimed, original, events)
        return None

    def done(self, claimed: Claimed) -> None:
        """Every event of the file was answered by the store: forget it."""
        claimed.path.unlink(missing_ok=True)

    def set_aside(self, claimed: Claimed) -> None:
        """The store refuses the file as a whole: keep it, out of the way, for an operator."""
        os.rename(claimed.path, self.directory / f".refused-{claimed.original.name}")

    def release(self, claimed: Claimed) -> None:
        """The store is still unreachable: put the file back for a later sender."""
        with contextlib.suppress(FileNotFoundError):
            os.rename(claimed.path, claimed.original)
