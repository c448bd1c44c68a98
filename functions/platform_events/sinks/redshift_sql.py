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
from collections.abc import Mapping, Sequence
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


def erase_load(table: str, staging: str, s3_uri: str, iam_role: str) -> list[str]:
    """One page of erased rows applied: lock (see :func:`lock`), stage by COPY, update, drop."""
    return [
        lock(table),
        create_erase_staging(staging),
        copy_from_s3(staging, s3_uri, iam_role),
        erase_update(table, staging),
        drop_table(staging),
    ]


def erase_update(table: str, staging: str) -> str:
    """Apply erased rows (staging: event_id, own, event_data, metadata) to the events table."""
    cleared = ", ".join(
        f"{n} = CASE WHEN s.own THEN NULL ELSE {table}.{n} END" for n in erasure.IDENTITY_COLUMNS
    )
    return (
        f"UPDATE {table} SET {cleared}, event_data = s.event_data, metadata = s.metadata "
        f"FROM {staging} s WHERE {table}.event_id = s.event_id"
    )


# The Data API's limits (https://docs.aws.amazon.com/redshift/latest/mgmt/data-api.html,
# "Considerations when calling the Amazon Redshift Data API", and data-api-troubleshooting.html):
# a statement's text is at most 100 KB ("Cannot process query string larger than 100kB"), a
# result row at most 64 KB, a result set at most 100 MB (500 MB in the current English page; the
# smaller figure is kept). Statements that inline ids, and reads of payloads, are paged within them.
MAX_STATEMENT_BYTES = 100_000
MAX_ROW_BYTES = 64 * 1024
MAX_RESULT_BYTES = 100 * 1024 * 1024
# What a payload read may return per statement: well under the result limit, so that one
# statement's records stay a few pages of GetStatementResult and a bounded amount of memory.
ERASE_RESULT_BUDGET = 16 * 1024 * 1024
# A payload result row is event_id, a column label and the JSON text: the text may be this long.
MAX_JSON_FIELD_BYTES = MAX_ROW_BYTES - 1024
ERASE_CANDIDATE_PAGE = 10_000

_EVENT_ID = re.compile(r"[0-9a-fA-F-]{36}")


def _id_literal(event_id: str) -> str:
    if not _EVENT_ID.fullmatch(event_id):
        raise ValueError(f"not an event id: {event_id!r}")
    return literal(event_id)


def id_pages(event_ids: Sequence[str], fixed_bytes: int, *, copies: int = 1) -> list[list[str]]:
    """``event_ids`` cut into pages whose inlined list (``copies`` times in the statement, next to
    ``fixed_bytes`` of other text) keeps the statement within MAX_STATEMENT_BYTES (pure)."""
    room = MAX_STATEMENT_BYTES - fixed_bytes
    pages: list[list[str]] = []
    page: list[str] = []
    used = 0
    for event_id in event_ids:
        cost = copies * (len(_id_literal(event_id)) + 2)  # the literal and its ", "
        if cost > room:
            raise ValueError("statement text leaves no room for an id")
        if page and used + cost > room:
            pages.append(page)
            page, used = [], 0
        page.append(event_id)
        used += cost
    if page:
        pages.append(page)
    return pages


def _in_list(event_ids: Sequence[str]) -> str:
    return ", ".join(_id_literal(e) for e in event_ids)


def _json_text(column: str, dialect: Dialect) -> str:
    return f"JSON_SERIALIZE({column})" if dialect == "redshift" else f"{column}::text"


def erase_candidates(
    table: str, dialect: Dialect = "redshift", limit: int = ERASE_CANDIDATE_PAGE
) -> str:
    """One page (keyset on event_id, after :after) of the rows of a user or mentioning them
    (Data API parameters :user_id, :pattern, :after): ids and the byte sizes of their JSON, not
    the JSON itself, so every result row is small whatever the payloads."""
    data, meta = _json_text("event_data", dialect), _json_text("metadata", dialect)
    return (
        "SELECT event_id, event_type, user_id = :user_id AS own, "
        f"COALESCE(OCTET_LENGTH({data}), 0) AS data_bytes, "
        f"COALESCE(OCTET_LENGTH({meta}), 0) AS meta_bytes "
        f"FROM {table} WHERE (user_id = :user_id "
        f"OR {data} LIKE :pattern OR {meta} LIKE :pattern) "
        f"AND event_id > :after ORDER BY event_id LIMIT {int(limit)}"
    )


def erase_payloads(table: str, event_ids: Sequence[str], dialect: Dialect = "redshift") -> str:
    """The JSON of the given rows, one result row per (event, column): a row then carries one
    payload column, which the ingest limits keep within MAX_JSON_FIELD_BYTES."""
    ids = _in_list(event_ids)
    return " UNION ALL ".join(
        f"SELECT event_id, '{column}' AS name, {_json_text(column, dialect)} AS json "
        f"FROM {table} WHERE event_id IN ({ids})"
        for column in ("event_data", "metadata")
    )


def erase_payload_fixed_bytes(table: str, dialect: Dialect = "redshift") -> int:
    """The text of :func:`erase_payloads` besides its two id lists."""
    return len(erase_payloads(table, ["00000000-0000-0000-0000-000000000000"], dialect)) - 2 * 38


def erase_pages(
    sizes: Sequence[tuple[str, int]], fixed_bytes: int, budget: int = ERASE_RESULT_BUDGET
) -> list[list[str]]:
    """Candidate ids (with their JSON bytes) cut into payload reads: each statement within the
    text limit (ids inlined twice) and each result within ``budget`` bytes (pure)."""
    pages: list[list[str]] = []
    size_of = dict(sizes)
    for by_text in id_pages([e for e, _ in sizes], fixed_bytes, copies=2):
        page: list[str] = []
        used = 0
        for event_id in by_text:
            cost = size_of[event_id] + 2 * 64  # the JSON and each row's id and label
            if page and used + cost > budget:
                pages.append(page)
                page, used = [], 0
            page.append(event_id)
            used += cost
        if page:
            pages.append(page)
    return pages


def delete_events(table: str, event_ids: Sequence[str]) -> list[str]:
    """Delete by ids (UUID text, validated before it is inlined), as many statements as the
    Data API's statement-size limit needs (~2,400 ids each)."""
    prefix = f"DELETE FROM {table} WHERE event_id IN ()"
    return [
        f"DELETE FROM {table} WHERE event_id IN ({_in_list(page)})"
        for page in id_pages(event_ids, len(prefix))
    ]


def delete_expired(table: str, cutoffs: Mapping[str, datetime]) -> list[str]:
    """One DELETE per event type older than its cutoff (types validated by the catalogue)."""
    return [
        f"DELETE FROM {table} WHERE event_type = {literal(event_type)} "
        f"AND occurred_at < {literal(cutoff.isoformat())}::timestamptz"
        for event_type, cutoff in sorted(cutoffs.items())
    ]
