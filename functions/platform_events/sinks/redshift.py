"""Redshift sink: the batch staged to S3 as gzipped NDJSON, COPYed through the Redshift Data API
into a staging table, merged into the events table by ``event_id``, staging dropped.

All statements of one batch go in one ``batch_execute_statement`` (one transaction, one
session, so the staging table is a TEMP table that cannot outlive it), polled with
``describe_statement`` until FINISHED, or FAILED/ABORTED (the statement's error text is raised),
or the timeout (the statement is cancelled, and polled until it has ended). The transaction
starts with ``LOCK`` on the events table, so loads of the table never overlap and delete + insert
by ``event_id`` makes a re-sent batch replace its rows (sinks/redshift_sql.py ``lock``). The
load's statement id is kept with the batch: a retry waits for a load still running instead of
sending it again. The S3 object is deleted once loaded (the bucket's lifecycle rule in
infra/redshift expires any a crash leaves). SQL text: sinks/redshift_sql.py.

Costs (measured and projected by ``make bench``, bench/redshift_cost.py): the Data API and COPY
are free; Redshift Serverless bills RPU-seconds with a 60-second minimum charge, so a load every
minute keeps the 8-RPU base billed all month (~$2,190); one PUT and one DELETE a load. Loads are
serialized by LOCK, so at high rates only large batches leave each load enough time.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pyarrow as pa

from platform_events.config import Settings
from platform_events.errors import (
    ConfigError,
    SinkMisconfigured,
    SinkUnavailable,
    StatementFailed,
    StatementForgotten,
    StatementStillRunning,
)
from platform_events.sinks import aws_identity, erasure, rows
from platform_events.sinks import redshift_sql as rsql
from platform_events.sinks.base import (
    OccurredSpan,
    RowsRejected,
    Sink,
    WriteCheckpoint,
    new_load_id,
)

_DONE = {"FINISHED", "FAILED", "ABORTED"}
# What a load keeps with its batch (WriteCheckpoint): the statement, its S3 object, and which
# rows it carries (a split batch's halves share the load id but not the rows).
_STATEMENT, _KEY, _ROWS = "redshift_statement_id", "redshift_s3_key", "redshift_rows"
# Error texts of a Redshift statement that are about the data, not the service.
_DATA_ERRORS = (
    "load into table",
    "stl_load_errors",
    "sys_load_error_detail",
    "invalid",
    "value too long",
)


def rows_digest(batch: pa.Table) -> str:
    """A digest of the batch's event ids (which rows a saved load carried)."""
    ids = sorted(str(e) for e in batch.column("event_id").to_pylist())
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()


class RedshiftSink(Sink):
    """Events in ``schema.events`` of a Redshift Serverless workgroup or provisioned cluster."""

    kind = "redshift"

    def __init__(
        self,
        *,
        data_api: Any,
        s3: Any,
        database: str,
        bucket: str,
        iam_role: str,
        workgroup: str | None = None,
        cluster_id: str | None = None,
        secret_arn: str | None = None,
        schema_name: str = "public",
        table: str = "events",
        prefix: str = "platform-events/staging/",
        timeout_s: float = 300.0,
        cancel_grace_s: float = 60.0,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        if not (workgroup or cluster_id):
            raise ValueError("a Redshift workgroup or cluster id is required")
        self.data_api = data_api
        self.s3 = s3
        self.database = database
        self.bucket = bucket
        self.iam_role = iam_role
        self.workgroup = workgroup
        self.cluster_id = cluster_id
        self.secret_arn = secret_arn
        self.table = f"{rsql.ident(schema_name)}.{rsql.ident(table)}"
        self.prefix = prefix
        self.timeout_s = timeout_s
        self.sleep = sleep
        self.cancel_grace_s = cancel_grace_s
        self._table_checked = False
        self._inflight: dict[str, Mapping[str, Any]] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> RedshiftSink:
        import boto3

        if not settings.redshift_s3_bucket or not settings.redshift_iam_role_arn:
            raise ConfigError("REDSHIFT_S3_BUCKET and REDSHIFT_IAM_ROLE_ARN are required")
        if settings.redshift_aws_role_arn:  # on GCP: no AWS key, the function's Google identity
            session = aws_identity.web_identity_session(
                role_arn=settings.redshift_aws_role_arn,
                audience=settings.redshift_aws_audience,
                region=settings.aws_region,
            )
        else:  # boto3's own chain (a developer's profile, or the environment)
            session = boto3.Session(region_name=settings.aws_region)
        return cls(
            data_api=session.client("redshift-data"),
            s3=session.client("s3"),
            database=settings.redshift_database,
            bucket=settings.redshift_s3_bucket,
            iam_role=settings.redshift_iam_role_arn,
            workgroup=settings.redshift_workgroup,
            cluster_id=settings.redshift_cluster_id,
            secret_arn=settings.redshift_secret_arn,
            schema_name=settings.redshift_schema,
            prefix=settings.redshift_s3_prefix,
            timeout_s=settings.redshift_statement_timeout_seconds,
        )

    # -- Data API -----------------------------------------------------------------------------

    def _target(self) -> dict[str, str]:
        target = {"Database": self.database}
        if self.workgroup:
            target["WorkgroupName"] = self.workgroup
        else:
            target["ClusterIdentifier"] = str(self.cluster_id)
        if self.secret_arn:
            target["SecretArn"] = self.secret_arn
        return target

    def _describe(self, statement_id: str) -> dict[str, Any]:
        described: dict[str, Any] = self.data_api.describe_statement(Id=statement_id)
        return described

    def _wait(self, statement_id: str) -> dict[str, Any]:
        """Poll until the statement ends. Past the timeout it is cancelled and still polled until
        it ends: a statement is never left running behind a retry that would re-send it (the
        cancel may lose the race, so a statement that FINISHED after all counts as done)."""
        deadline = time.monotonic() + self.timeout_s
        cancelled_at: float | None = None
        pause = 0.25
        while True:
            described = self._describe(statement_id)
            status = described["Status"]
            if status == "FINISHED":
                return described
            if status in _DONE:
                if cancelled_at is not None:
                    raise SinkUnavailable(
                        f"Redshift statement {statement_id} still running after "
                        f"{self.timeout_s:g}s (REDSHIFT_STATEMENT_TIMEOUT_SECONDS); cancelled"
                    )
                error = str(described.get("Error") or status)
                if any(marker in error.lower() for marker in _DATA_ERRORS):
                    raise RowsRejected(f"Redshift refused the batch: {error}")
                raise StatementFailed(f"Redshift statement {status.lower()}: {error}")
            now = time.monotonic()
            if cancelled_at is None and now >= deadline:
                self._cancel(statement_id)
                cancelled_at = now
            elif cancelled_at is not None and now >= cancelled_at + self.cancel_grace_s:
                raise StatementStillRunning(
                    f"Redshift statement {statement_id} still {status} "
                    f"{self.cancel_grace_s:g}s after its cancel; not re-sent while it runs"
                )
            self.sleep(pause)
            pause = min(pause * 2, 5.0)

    def _cancel(self, statement_id: str) -> None:
        from botocore.exceptions import ClientError

        try:
            self.data_api.cancel_statement(Id=statement_id)
        except ClientError as exc:
            # The statement ended between the last poll and the cancel: the next poll says how.
            if exc.response.get("Error", {}).get("Code") != "ValidationException":
                raise

    def _call(self, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("ValidationException",):
                raise RowsRejected(f"Redshift Data API: {exc}") from exc
            raise SinkUnavailable(f"Redshift Data API: {exc}") from exc
        except BotoCoreError as exc:
            raise SinkUnavailable(f"Redshift Data API unreachable: {exc}") from exc

    def submit_batch(self, statements: Sequence[str]) -> str:
        """Send statements to run in one transaction; the statement id to wait on."""
        started = self._call(
            lambda: self.data_api.batch_execute_statement(Sqls=list(statements), **self._target())
        )
        return str(started["Id"])

    def run_batch(self, statements: Sequence[str]) -> dict[str, Any]:
        """Run statements in one transaction and wait for them."""
        statement_id = self.submit_batch(statements)
        return self._call(lambda: self._wait(statement_id))

    def run(self, statement: str, parameters: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Run one statement (with Data API named parameters) and wait for it."""
        extra: dict[str, Any] = {}
        if parameters:
            extra["Parameters"] = [{"name": k, "value": v} for k, v in parameters.items()]
        started = self._call(
            lambda: self.data_api.execute_statement(Sql=statement, **self._target(), **extra)
        )
        return self._call(lambda: self._wait(started["Id"]))

    def _records(self, statement_id: str) -> list[list[Any]]:
        """Every row of a finished statement's result, as plain values."""
        out: list[list[Any]] = []
        token: str | None = None
        while True:
            request: dict[str, Any] = {"Id": statement_id}
            if token:
                request["NextToken"] = token
            page = self._call(partial(self.data_api.get_statement_result, **request))
            for record in page.get("Records", []):
                out.append([None if f.get("isNull") else next(iter(f.values())) for f in record])
            token = page.get("NextToken")
            if not token:
                return out

    # -- S3 -------------------------------------------------------------------------------------

    def _stage(self, key: str, body: bytes) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType="application/x-ndjson",
                ContentEncoding="gzip",
                ServerSideEncryption="AES256",
            )
        except (BotoCoreError, ClientError) as exc:
            raise SinkUnavailable(f"S3 staging upload to s3://{self.bucket}/{key}: {exc}") from exc
        return f"s3://{self.bucket}/{key}"

    def _unstage(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        with suppress(BotoCoreError, ClientError):  # else the bucket lifecycle rule expires it
            self.s3.delete_object(Bucket=self.bucket, Key=key)

    # -- Sink -----------------------------------------------------------------------------------

    def ensure_table(self) -> None:
        self.run(rsql.create_events_table(self.table))
        self._table_checked = True

    def write(
        self,
        batch: pa.Table,
        load_id: str | None = None,
        checkpoint: WriteCheckpoint | None = None,
    ) -> str:
        """Load the batch, at most one load transaction of it running at a time.

        The load's statement id is kept with the batch (``checkpoint``, or this sink's memory
        without one) before it is polled. A later attempt at the same rows first asks the Data
        API about that statement: FINISHED is done (nothing re-sent), still running is waited
        for (cancelled past the timeout), FAILED or ABORTED is sent again. ``LOCK`` in the load
        keeps the table right even when two loads overlap anyway (a statement id lost in a
        crash before the save)."""
        load_id = load_id or new_load_id()
        if batch.num_rows == 0:
            return load_id
        if not self._table_checked:
            self.ensure_table()
        rows_key = rows_digest(batch)
        if self._resumed(load_id, rows_key, checkpoint):
            return load_id
        key = f"{self.prefix}{load_id}/{new_load_id()}.json.gz"
        uri = self._stage(key, rows.ndjson_gzip(batch, load_id, datetime.now(UTC)))
        staging = f"events_staging_{load_id.replace('-', '')}"
        statement_id = self.submit_batch(rsql.load(self.table, staging, uri, self.iam_role))
        state = {_STATEMENT: statement_id, _KEY: key, _ROWS: rows_key}
        self._inflight[load_id] = state
        if checkpoint is not None:
            checkpoint.save(state)
        self._finish(load_id, state)
        return load_id

    def _resumed(self, load_id: str, rows_key: str, checkpoint: WriteCheckpoint | None) -> bool:
        """Whether an earlier attempt's load of these rows has now ended FINISHED."""
        saved = checkpoint.load() if checkpoint is not None else None
        state = saved or self._inflight.get(load_id)
        if not state or state.get(_ROWS) != rows_key or not state.get(_STATEMENT):
            return False
        try:
            self._finish(load_id, state)
        except StatementForgotten:  # the Data API keeps statements 24 hours: LOCK covers a re-send
            return False
        except (StatementFailed, RowsRejected):
            return False  # it ended FAILED or ABORTED, so nothing of it landed: send it again
        return True

    def _finish(self, load_id: str, state: Mapping[str, Any]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        statement_id = str(state[_STATEMENT])
        try:
            self._wait(statement_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                raise StatementForgotten(f"Redshift statement {statement_id} is unknown") from exc
            raise SinkUnavailable(f"Redshift Data API: {exc}") from exc
        except BotoCoreError as exc:
            raise SinkUnavailable(f"Redshift Data API unreachable: {exc}") from exc
        self._inflight.pop(load_id, None)
        self._unstage(str(state[_KEY]))

    def delete_events(self, event_ids: Sequence[str], *, span: OccurredSpan | None = None) -> int:
        deleted = 0
        for statement in rsql.delete_events(self.table, list(event_ids)):
            deleted += int(self.run(statement).get("ResultRows") or 0)
        return deleted

    def delete_expired(self, policies: Mapping[str, timedelta]) -> int:
        if not policies:
            return 0
        now = datetime.now(UTC)
        deleted = 0
        for statement in rsql.delete_expired(
            self.table, {t: now - age for t, age in policies.items()}
        ):
            deleted += int(self.run(statement).get("ResultRows") or 0)
        return deleted

    def erase_user(self, user_id: str, *, span: OccurredSpan | None = None) -> int:
        """Erase in pages that keep every Data API statement and result within its limits: the
        candidates as ids and sizes (keyset pages), their JSON read a bounded page at a time,
        scrubbed here, written back through S3 and COPY (never inlined in SQL)."""
        erased = 0
        after = "0"  # below every UUID text (a Data API parameter may not be empty)
        fixed = rsql.erase_payload_fixed_bytes(self.table)
        while True:
            found = self.run(
                rsql.erase_candidates(self.table),
                {"user_id": user_id, "pattern": erasure.mentions(user_id), "after": after},
            )
            candidates = self._records(found["Id"]) if found.get("HasResultSet") else []
            if not candidates:
                return erased
            kinds: dict[str, tuple[str, bool]] = {}
            sizes: list[tuple[str, int]] = []
            for event_id, event_type, own, data_bytes, meta_bytes in candidates:
                for size in (int(data_bytes), int(meta_bytes)):
                    if size > rsql.MAX_JSON_FIELD_BYTES:
                        raise SinkMisconfigured(
                            f"event {event_id} holds {size} bytes of JSON in one column, over "
                            "what a Data API result row carries (64 KB): erase it with a SQL client"
                        )
                kinds[str(event_id)] = (str(event_type), bool(own))
                sizes.append((str(event_id), int(data_bytes) + int(meta_bytes)))
            for page in rsql.erase_pages(sizes, fixed):
                self._erase_page(page, kinds, user_id)
            erased += len(candidates)
            if len(candidates) < rsql.ERASE_CANDIDATE_PAGE:
                return erased
            after = str(candidates[-1][0])

    def _erase_page(
        self, event_ids: Sequence[str], kinds: Mapping[str, tuple[str, bool]], user_id: str
    ) -> None:
        read = self.run(rsql.erase_payloads(self.table, event_ids))
        payloads: dict[str, dict[str, str | None]] = {e: {} for e in event_ids}
        for event_id, name, text in self._records(read["Id"]) if read.get("HasResultSet") else []:
            payloads[str(event_id)][str(name)] = text
        lines = []
        for event_id in event_ids:
            event_type, own = kinds[event_id]
            data, meta = payloads[event_id].get("event_data"), payloads[event_id].get("metadata")
            new_data, new_meta = erasure.scrub_row(event_type, data, meta, user_id, own=own)
            lines.append(
                f'{{"event_id":{json.dumps(event_id)},"own":{json.dumps(own)},'
                f'"event_data":{new_data or "null"},"metadata":{new_meta or "null"}}}'
            )
        load_id = new_load_id()
        key = f"{self.prefix}erase/{load_id}.json.gz"
        uri = self._stage(key, gzip.compress(("\n".join(lines) + "\n").encode()))
        staging = f"events_erase_{load_id.replace('-', '')}"
        self.run_batch(rsql.erase_load(self.table, staging, uri, self.iam_role))
        self._unstage(key)
