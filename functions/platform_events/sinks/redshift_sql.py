"""Every SQL statement the Redshift sink sends, rendered from sinks/schema/events.json (pure).

Two kinds, kept apart so each is tested where it can be:

* Redshift-only clauses (``SUPER``, ``DISTKEY``/``SORTKEY``, ``COPY ... IAM_ROLE ... FORMAT JSON``,
  ``JSON_SERIALIZE``): rendered for ``dialect="redshift"`` and checked with sqlglot's Redshift
  parser, since no Redshift emulator exists.
* The portable load (staging table, ``ROW_NUMBER`` dedupe, delete + insert by ``event_id``, erase
  update, retention delete): the same text runs on Redshift and, in tests, for real on
  PostgreSQL (``dialect="postgres"`` only swaps ``SUPER`` for ``jsonb`` in table definitions).

Identifiers come from settings and are validated; the few literals (S3 path, role ARN, load id)
are quoted with :func:`literal`. Values from events never reach SQL text: they travel in the
staged file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from platform_events.sinks import erasure, schema

Dialect = Literal["redshift", "postgres"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,126}$")

_TYPES: dict[Dialect, dict[str, str]] = {
    "redshift": {
        "STRING": "VARCHAR(65535)",
        "INTEGER": "BIGINT",
        "TIMESTAMP": "TIMESTAMPTZ",
        "JSON": "SUPER",
    },
    "postgres": {
        "STRING": "text",
        "INTEGER": "bigint",
        "TIMESTAMP": "timestamptz",
        "JSON": "jsonb",
    },
}


def ident(name: str) -> str:
    """A validated (unquoted) identifier; ValueError names the bad one."""
    if not _IDENT.match(name):
        raise ValueError(f"invalid Redshift identifier {name!r}")
    return name.lower()


def literal(value: str) -> str:
    """A single-quoted SQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _columns(dialect: Dialect) -> str:
    return ",\n    ".join(
        f"{c.name} {_TYPES[dialect][c.type]}{' NOT NULL' if c.required else ''}"
        for c in schema.columns()
    )


def create_events_table(table: str, dialect: Dialect = "redshift") -> str:
    """The events table: on Redshift distributed by event_id (the merge joins on it) and sorted
    by occurred_at (range scans and retention)."""
    keys = " DISTKEY (event_id) SORTKEY (occurred_at)" if dialect == "redshift" else ""
    return f"CREATE TABLE IF NOT EXISTS {table} (\n    {_columns(dialect)}\n){keys}"


def create_staging_table(staging: str, dialect: Dialect = "redshift") -> str:
    """A session-scoped staging table with the events table's columns."""
    return f"CREATE TEMP TABLE {staging} (\n    {_columns(dialect)}\n)"


def copy_from_s3(staging: str, s3_uri: str, iam_role: str) -> str:
    """COPY the gzipped NDJSON batch into the staging table (columns matched by name)."""
    return (
        f"COPY {staging} FROM {literal(s3_uri)} IAM_ROLE {literal(iam_role)} "
        "FORMAT AS JSON 'auto' GZIP TIMEFORMAT 'auto' TRUNCATECOLUMNS"
    )


def lock(table: str) -> str:
    """Serialize the writers of ``table``: the first statement of every load transaction.

    Under Redshift's SNAPSHOT isolation two overlapping loads of the same batch would each delete
    nothing (neither sees the other's uncommitted rows) and both insert: no unique key stops the
    duplicate. ``LOCK`` takes an ACCESS EXCLUSIVE table lock, waiting for any holder to finish
    (https://docs.aws.amazon.com/redshift/latest/dg/r_LOCK.html), and it must come first: a
    transaction's snapshot is taken at its first SELECT, DML (COPY, DELETE, INSERT, UPDATE) or
    CREATE/DROP TABLE, not at LOCK (https://docs.aws.amazon.com/redshift/latest/dg/c_serial_isolation.html),
    so the waiter's snapshot then holds the first load's rows, which its DELETE replaces.
    PostgreSQL behaves the same under REPEATABLE READ (LOCK TABLE defaults to ACCESS EXCLUSIVE and
    takes no snapshot), which is how the tests check it."""
    return f"LOCK TABLE {table}"


def load(table: str, staging: str, s3_uri: str, iam_role: str) -> list[str]:
    """One batch's load transaction: lock, stage by COPY, merge, drop the staging table."""
    return [
        lock(table),
        create_staging_table(staging),
        copy_from_s3(staging, s3_uri, iam_role),
        *merge(table, staging),
        drop_table(staging),
    ]


def merge(table: str, staging: str) -> list[str]:
    """Replace by event_id: the staging rows deduplicated (latest load wins), the matching
    events deleted, the staging rows inserted. Run in one transaction."""
    cols = ", ".join(schema.column_names())
    return [
        f"DELETE FROM {table} USING {staging} s WHERE {table}.event_id = s.event_id",
        f"INSERT INTO {table} ({cols}) SELECT {cols} FROM ("
        f"SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY loaded_at DESC) AS rn "
        f"FROM {staging}) d WHERE d.rn = 1",
    ]


def drop_table(name: str) -> str:
    return f"DROP TABLE IF EXISTS {name}"


def create_erase_staging(staging: str, dialect: Dialect = "redshift") -> str:
    json_type = _TYPES[dialect]["JSON"]
    return (
        f"CREATE TEMP TABLE {staging} (event_id VARCHAR(64), own BOOLEAN, "
        f"event_data {json_type}, metadata {json_type})"
    )


def erase_update(table: str, staging: str) -> str:
    """Apply erased rows (staging: event_id, own, event_data, metadata) to the events table."""
    cleared = ", ".join(
        f"{n} = CASE WHEN s.own THEN NULL ELSE {table}.{n} END" for n in erasure.IDENTITY_COLUMNS
    )
    return (
        f"UPDATE {table} SET {cleared}, event_data = s.event_data, metadata = s.metadata "
        f"FROM {staging} s WHERE {table}.event_id = s.event_id"
    )


def erase_candidates(table: str) -> str:
    """The rows of a user or mentioning them (Data API parameters :user_id and :pattern)."""
    return (
        "SELECT event_id, event_type, JSON_SERIALIZE(event_data) AS event_data, "
        "JSON_SERIALIZE(metadata) AS metadata, user_id = :user_id AS own "
        f"FROM {table} WHERE user_id = :user_id "
        "OR JSON_SERIALIZE(event_data) LIKE :pattern OR JSON_SERIALIZE(metadata) LIKE :pattern"
    )


def delete_events(table: str, event_ids: list[str]) -> str:
    """Delete by ids (UUID text, validated here before it is inlined)."""
    for event_id in event_ids:
        if not re.fullmatch(r"[0-9a-fA-F-]{36}", event_id):
            raise ValueError(f"not an event id: {event_id!r}")
    ids = ", ".join(literal(e) for e in event_ids)
    return f"DELETE FROM {table} WHERE event_id IN ({ids})"


def delete_expired(table: str, cutoffs: Mapping[str, datetime]) -> list[str]:
    """One DELETE per event type older than its cutoff (types validated by the catalogue)."""
    return [
        f"DELETE FROM {table} WHERE event_type = {literal(event_type)} "
        f"AND occurred_at < {literal(cutoff.isoformat())}::timestamptz"
        for event_type, cutoff in sorted(cutoffs.items())
    ]
