"""The Redshift sink's paging within the Data API's limits, as pure logic: statements inlining
ids stay under the 100 KB statement limit, payload reads under their result budget."""

from __future__ import annotations

import uuid

import pytest

from platform_events.sinks import redshift_sql as rsql

TABLE = "platform_events.events"


def _ids(n: int) -> list[str]:
    return [str(uuid.UUID(int=i + 1)) for i in range(n)]


def test_deleting_ten_thousand_ids_takes_several_statements_each_under_the_limit() -> None:
    ids = _ids(10_000)
    statements = rsql.delete_events(TABLE, ids)
    assert len(statements) == 5  # ~2,400 ids a statement
    assert all(len(s.encode()) <= rsql.MAX_STATEMENT_BYTES for s in statements)
    inlined = [i for s in statements for i in s.split("IN (")[1].rstrip(")").split(", ")]
    assert inlined == [f"'{i}'" for i in ids]  # every id once, in order


def test_a_short_delete_is_one_statement_and_no_ids_none() -> None:
    assert len(rsql.delete_events(TABLE, _ids(3))) == 1
    assert rsql.delete_events(TABLE, []) == []


def test_a_page_fills_up_to_the_limit_and_not_past_it() -> None:
    ids = _ids(5_000)
    pages = rsql.id_pages(ids, fixed_bytes=40)
    per_id = len("'00000000-0000-0000-0000-000000000001', ")
    assert len(pages[0]) == (rsql.MAX_STATEMENT_BYTES - 40) // per_id
    assert sum(len(p) for p in pages) == len(ids)


def test_ids_that_are_not_uuids_never_reach_sql_text() -> None:
    with pytest.raises(ValueError, match="not an event id"):
        rsql.id_pages(["1' OR '1'='1"], fixed_bytes=10)


def test_payload_reads_stay_within_the_result_budget_and_the_statement_limit() -> None:
    ids = _ids(3_000)
    sizes = [(event_id, 30_000) for event_id in ids]  # near the 32 KB ingest cap
    fixed = rsql.erase_payload_fixed_bytes(TABLE)
    pages = rsql.erase_pages(sizes, fixed, budget=1_000_000)
    assert [e for page in pages for e in page] == ids
    for page in pages:
        assert sum(30_000 + 128 for _ in page) <= 1_000_000
        assert len(rsql.erase_payloads(TABLE, page).encode()) <= rsql.MAX_STATEMENT_BYTES
    small = rsql.erase_pages([(e, 100) for e in ids], fixed)
    assert len(small) == 3  # small payloads: the statement limit (ids inlined twice) binds
    assert all(
        len(rsql.erase_payloads(TABLE, p).encode()) <= rsql.MAX_STATEMENT_BYTES for p in small
    )


def test_a_row_bigger_than_the_budget_is_read_alone() -> None:
    ids = _ids(3)
    pages = rsql.erase_pages([(ids[0], 10), (ids[1], 5_000), (ids[2], 10)], 100, budget=1_000)
    assert pages == [[ids[0]], [ids[1]], [ids[2]]]
