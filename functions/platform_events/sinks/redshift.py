"""Redshift sink: the batch staged to S3 as gzipped NDJSON, COPYed through the Redshift Data API
into a staging table, merged into the events table by ``event_id``, staging dropped.

All statements of one batch go in one ``batch_execute_statement`` (one transaction, one
session, so the staging table is a TEMP table that cannot outlive it), polled with
``describe_statement`` until FINISHED, or FAILED/ABORTED (the statement's error text is raised),
or the timeout (the statement is cancelled). Delete + insert by ``event_id`` makes a re-sent batch
replace its rows. The S3 object is deleted once loaded (the bucket's lifecycle rule in
infra/redshift expires any a crash leaves). SQL text: sinks/redshift_sql.py.

Costs: the Data API and COPY are free; Redshift Serverless bills RPU-seconds while statements
run (a minute-batch merge takes a few seconds of the 8-RPU minimum), S3 requests and storage
for the staged file are negligible.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pyarrow as pa

from platform_events.config import Settings
from platform_events.errors import SinkUnavailable
from platform_events.sinks import erasure, rows
from platform_events.sinks import redshift_sql as rsql
from platform_events.sinks.base import (
    OccurredSpan,
    RowsRejected,
    Sink,
    WriteCheckpoint,
    new_load_id,
)

_DONE = {"FINISHED", "FAILED", "ABORTED"}
# Error texts of a Redshift statement that are about the data, not the service.
_DATA_ERRORS = (
    "load into table",
    "stl_load_errors",
    "sys_load_error_detail",
    "invalid",
    "value too long",
)


class StatementFailed(SinkUnavailable):
    """A Data API statement ended FAILED or ABORTED; the message is Redshift's error text."""


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
        self._table_checked = False

    @classmethod
    def from_settings(cls, settings: Settings) -> RedshiftSink:
        import boto3

        if not settings.redshift_s3_bucket or not settings.redshift_iam_role_arn:
            raise SinkUnavailable("REDSHIFT_S3_BUCKET and REDSHIFT_IAM_ROLE_ARN are required")
        return cls(
            data_api=boto3.client("redshift-data", region_name=settings.aws_region),
            s3=boto3.client("s3", region_name=settings.aws_region),
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

    def _wait(self, statement_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout_s
        pause = 0.25
        while True:
            described: dict[str, Any] = self.data_api.describe_statement(Id=statement_id)
            status = described["Status"]
            if status == "FINISHED":
                return described
            if status in _DONE:
                error = str(described.get("Error") or status)
                if any(marker in error.lower() for marker in _DATA_ERRORS):
                    raise RowsRejected(f"Redshift refused the batch: {error}")
                raise StatementFailed(f"Redshift statement {status.lower()}: {error}")
            if time.monotonic() >= deadline:
                self.data_api.cancel_statement(Id=statement_id)
                raise SinkUnavailable(
                    f"Redshift statement {statement_id} still {status} after {self.timeout_s:g}s "
                    "(REDSHIFT_STATEMENT_TIMEOUT_SECONDS); cancelled"
                )
            self.sleep(pause)
            pause = min(pause * 2, 5.0)

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

    def run_batch(self, statements: Sequence[str]) -> dict[str, Any]:
        """Run statements in one transaction and wait for them."""
        started = self._call(
            lambda: self.data_api.batch_execute_statement(Sqls=list(statements), **self._target())
        )
        return self._call(lambda: self._wait(started["Id"]))

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
        load_id = load_id or new_load_id()
        if batch.num_rows == 0:
            return load_id
        if not self._table_checked:
            self.ensure_table()
        key = f"{self.prefix}{load_id}/{new_load_id()}.json.gz"
        uri = self._stage(key, rows.ndjson_gzip(batch, load_id, datetime.now(UTC)))
        staging = f"events_staging_{load_id.replace('-', '')}"
        self.run_batch(
            [
                rsql.create_staging_table(staging),
                rsql.copy_from_s3(staging, uri, self.iam_role),
                *rsql.merge(self.table, staging),
                rsql.drop_table(staging),
            ]
        )
        self._unstage(key)
        return load_id

    def delete_events(self, event_ids: Sequence[str], *, span: OccurredSpan | None = None) -> int:
        if not event_ids:
            return 0
        done = self.run(rsql.delete_events(self.table, list(event_ids)))
        return int(done.get("ResultRows") or 0)

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
        found = self.run(
            rsql.erase_candidates(self.table),
            {"user_id": user_id, "pattern": erasure.mentions(user_id)},
        )
        candidates = self._records(found["Id"]) if found.get("HasResultSet") else []
        if not candidates:
            return 0
        lines = []
        for event_id, event_type, data, meta, own in candidates:
            new_data, new_meta = erasure.scrub_row(event_type, data, meta, user_id, own=bool(own))
            lines.append(
                f'{{"event_id":{json.dumps(event_id)},"own":{json.dumps(bool(own))},'
                f'"event_data":{new_data or "null"},"metadata":{new_meta or "null"}}}'
            )
        load_id = new_load_id()
        key = f"{self.prefix}erase/{load_id}.json.gz"
        uri = self._stage(key, gzip.compress(("\n".join(lines) + "\n").encode()))
        staging = f"events_erase_{load_id.replace('-', '')}"
        self.run_batch(
            [
                rsql.create_erase_staging(staging),
                rsql.copy_from_s3(staging, uri, self.iam_role),
                rsql.erase_update(self.table, staging),
                rsql.drop_table(staging),
            ]
        )
        self._unstage(key)
        return len(candidates)
