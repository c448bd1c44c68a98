"""The Storage Write API calls of one PENDING stream, with the official client (Arrow rows).

Every AppendRows request names its stream (``write_stream``): the service needs it only in the
first request of a connection, the emulator in each, and repeating it is allowed. Each batch's
connection is closed as soon as its appends are answered: an AppendRows connection left idle is
closed by the service after 600 s and the client's next send on it fails with "There was a problem
opening the stream" (googleapis/python-bigquery#2359, googleapis/google-cloud-python#15693).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from platform_events.sinks.bigquery import protocol

# Per call: the generated client's defaults (600 s, 1,200 s for CreateWriteStream, with retries)
# would outlast a stream invocation's budget; a call that takes this long is a SinkUnavailable,
# and the protocol resumes it safely.
CALL_TIMEOUT_S = 60.0

# The gRPC methods of google.cloud.bigquery.storage.v1.BigQueryWrite the sink calls (IAM:
# bigquery.tables.updateData on the table, which roles/bigquery.dataEditor holds).
WRITE_METHODS = (
    "CreateWriteStream",
    "AppendRows",
    "GetWriteStream",
    "FinalizeWriteStream",
    "BatchCommitWriteStreams",
)


@dataclass
class AppendResult:
    """The answers to one stream's AppendRows requests, in request order."""

    written: list[tuple[int, int]] = field(
        default_factory=list
    )  # (start, end), OK or ALREADY_EXISTS
    row_errors: dict[int, str] = field(default_factory=dict)  # absolute row offset -> reason
    finalized: bool = False  # the stream was finalized already (a previous holder got that far)
    failed: BaseException | None = None  # the first other error (the rest were not attempted)


class WriteApi:
    """One table's PENDING streams through a ``BigQueryWriteClient``, made on first use by
    ``connect`` and dropped by ``close`` (the next call makes a new one)."""

    def __init__(self, connect: Callable[[], Any], table_path: str) -> None:
        self._connect = connect
        self._client: Any = None
        self.table_path = table_path  # projects/P/datasets/D/tables/T

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._connect()
        return self._client

    @client.setter
    def client(self, client: Any) -> None:
        self._client = client

    def create_stream(self) -> str:
        from google.cloud.bigquery_storage_v1 import types

        stream = self.client.create_write_stream(
            parent=self.table_path,
            write_stream=types.WriteStream(type_=types.WriteStream.Type.PENDING),
            timeout=CALL_TIMEOUT_S,
        )
        return str(stream.name)

    def exists(self, stream: str) -> bool:
        from google.api_core import exceptions as gexc

        try:
            self.client.get_write_stream(name=stream, timeout=CALL_TIMEOUT_S)
        except gexc.NotFound:
            return False
        return True

    def append(
        self, stream: str, rows: pa.Table, chunks: Sequence[tuple[int, int]]
    ) -> AppendResult:
        """Send every chunk at its offset (pipelined), wait for all answers, close the connection."""
        from google.api_core import exceptions as gexc
        from google.cloud.bigquery_storage_v1 import types, writer

        template = types.AppendRowsRequest(write_stream=stream)
        arrow = types.AppendRowsRequest.ArrowData()
        arrow.writer_schema = types.ArrowSchema(
            serialized_schema=rows.schema.serialize().to_pybytes()
        )
        template.arrow_rows = arrow
        connection = writer.AppendRowsStream(self.client, template)
        result = AppendResult()
        try:
            futures = []
            for start, end in chunks:
                request = types.AppendRowsRequest(write_stream=stream, offset=start)
                data = types.AppendRowsRequest.ArrowData()
                data.rows = types.ArrowRecordBatch(
                    serialized_record_batch=_record_batch(rows.slice(start, end - start))
                )
                request.arrow_rows = data
                future: Any = connection.send(request)
                futures.append(((start, end), future))
            for (start, end), sent in futures:
                try:
                    sent.result(timeout=CALL_TIMEOUT_S)
                except gexc.AlreadyExists:
                    result.written.append((start, end))  # written by this or an earlier holder
                    continue
                except gexc.GoogleAPICallError as exc:
                    if result.failed is not None or result.row_errors:
                        continue  # a consequence of the first failure (OUT_OF_RANGE after a gap)
                    errors = _row_errors(exc, start)
                    if errors:
                        result.row_errors.update(errors)
                    elif _finalized(exc):
                        result.finalized = True
                    else:
                        result.failed = exc
                    continue
                if result.failed is None and not result.row_errors:
                    result.written.append((start, end))
        finally:
            _close(connection)
        return result

    def finalize(self, stream: str) -> int:
        answer = self.client.finalize_write_stream(name=stream, timeout=CALL_TIMEOUT_S)
        return int(answer.row_count)

    def commit(self, stream: str) -> protocol.CommitOutcome:
        from google.cloud.bigquery_storage_v1 import types

        answer = self.client.batch_commit_write_streams(
            request=types.BatchCommitWriteStreamsRequest(
                parent=self.table_path, write_streams=[stream]
            ),
            timeout=CALL_TIMEOUT_S,
        )
        commit_time: datetime | None = answer.commit_time or None
        codes = [int(e.code) for e in answer.stream_errors]
        return protocol.commit_outcome(commit_time, codes)

    def close(self) -> None:
        if self._client is None:
            return
        transport = getattr(self._client, "transport", None)
        self._client = None
        if transport is not None:
            transport.close()


def _record_batch(rows: pa.Table) -> bytes:
    batch = rows.combine_chunks().to_batches()
    if not batch:
        return b""
    return bytes(batch[0].serialize().to_pybytes())


def _row_errors(exc: Any, start: int) -> dict[int, str]:
    response = getattr(exc, "response", None)
    errors = getattr(response, "row_errors", None) or []
    return {start + int(e.index): f"BigQuery refused the row: {e.message}" for e in errors}


def _finalized(exc: Any) -> bool:
    # STREAM_FINALIZED (StorageErrorCode 4) reaches the client as FAILED_PRECONDITION or
    # INVALID_ARGUMENT with this wording; nothing more can be appended, so finalize and commit.
    return (
        "finalized" in str(getattr(exc, "message", exc)).lower()
        and "commit" not in str(getattr(exc, "message", exc)).lower()
    )


def _close(connection: Any) -> None:
    from google.cloud.bigquery_storage_v1.exceptions import StreamClosedError

    with contextlib.suppress(StreamClosedError):  # closed by the service or never opened
        connection.close()
