"""Every object of the schema grants exactly what tests/intended_grants.py says, and no more.

The ACLs are read from the catalogue (``aclexplode`` over ``pg_proc.proacl``, ``pg_class.relacl``,
``pg_attribute.attacl``, ``pg_namespace.nspacl``, with PostgreSQL's defaults where an ACL is
NULL: a function nobody revoked is executable by PUBLIC), so a new object without deliberate
grants fails here until its line is added there.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import psycopg
import pytest
from psycopg import sql as pgsql
from psycopg.rows import dict_row

from platform_events import migrate
from platform_events.db import Conn
from tests import intended_grants as intended

SECURITY_DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"

Acl = dict[str, dict[str, frozenset[str]]]

_FUNCTION_ACLS = """
SELECT p.oid::regprocedure::text AS object,
       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee,
       a.privilege_type || CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END AS privilege
FROM pg_proc p
LEFT JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
       ON a.grantee <> p.proowner
WHERE p.pronamespace = 'public'::regnamespace
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                                            AND d.objid = p.oid AND d.deptype = 'e')
"""

_RELATION_ACLS = """
SELECT c.relname AS object, c.relispartition AS is_partition,
       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee,
       a.privilege_type || CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END AS privilege
FROM pg_class c
LEFT JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's'
                                                                 ELSE 'r' END::"char",
                                                            c.relowner))) a
       ON a.grantee <> c.relowner
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                                            AND d.objid = c.oid AND d.deptype = 'e')
"""

_COLUMN_ACLS = """
SELECT c.relname || '.' || att.attname AS object,
       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee,
       a.privilege_type || CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END AS privilege
FROM pg_attribute att
JOIN pg_class c ON c.oid = att.attrelid
CROSS JOIN LATERAL aclexplode(att.attacl) a
WHERE c.relnamespace = 'public'::regnamespace AND att.attnum > 0 AND NOT att.attisdropped
  AND att.attacl IS NOT NULL AND a.grantee <> c.relowner
"""

_SCHEMA_ACL = """
SELECT n.nspname AS object,
       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee,
       a.privilege_type || CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END AS privilege
FROM pg_namespace n
CROSS JOIN LATERAL aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
WHERE n.nspname = 'public' AND a.grantee <> n.nspowner
  AND pg_get_userbyid(a.grantee) <> 'pg_database_owner'
"""


def _collect(conn: Conn, query: str) -> Acl:
    found: dict[str, dict[str, set[str]]] = {}
    for row in conn.execute(query).fetchall():
        grants = found.setdefault(str(row["object"]), {})
        if row["grantee"] is not None:
            grants.setdefault(str(row["grantee"]), set()).add(str(row["privilege"]))
    return {name: {g: frozenset(p) for g, p in grants.items()} for name, grants in found.items()}


def _expected(*tables: Mapping[str, intended.Grants]) -> Acl:
    merged: Acl = {}
    for table in tables:
        for name, grants in table.items():
            merged[name] = {g: frozenset(p.split()) for g, p in grants.items()}
    return merged


def _differences(actual: Acl, expected: Acl) -> list[str]:
    """Readable lines for every object whose grants differ (missing or unlisted objects too)."""
    lines = []
    for name in sorted(set(actual) | set(expected)):
        if name not in expected:
            lines.append(f"{name}: not in tests/intended_grants.py (grants {actual[name]})")
        elif name not in actual:
            lines.append(f"{name}: listed in tests/intended_grants.py but not in the schema")
        elif actual[name] != expected[name]:
            lines.append(f"{name}: grants {actual[name]}, intended {expected[name]}")
    return lines


def _relations_without_partitions(conn: Conn) -> Acl:
    rows = conn.execute(_RELATION_ACLS).fetchall()
    partitions = {str(r["object"]) for r in rows if r["is_partition"]}
    return {k: v for k, v in _collect(conn, _RELATION_ACLS).items() if k not in partitions}


def test_every_function_grants_execute_exactly_to_the_roles_meant_to_call_it(conn: Conn) -> None:
    assert _differences(_collect(conn, _FUNCTION_ACLS), _expected(intended.FUNCTIONS)) == []


def test_every_table_view_and_sequence_grants_exactly_the_intended_privileges(conn: Conn) -> None:
    assert _differences(_relations_without_partitions(conn), _expected(intended.RELATIONS)) == []
    assert _differences(_collect(conn, _COLUMN_ACLS), _expected(intended.COLUMNS)) == []
    assert (
        _differences(_collect(conn, _SCHEMA_ACL), {"public": _expected({"": intended.SCHEMA})[""]})
        == []
    )


def test_partitions_grant_nothing_so_every_access_goes_through_the_parent(conn: Conn) -> None:
    conn.execute("SELECT ensure_platform_event_partitions(2, 2)")
    rows = conn.execute(_RELATION_ACLS).fetchall()
    partitions = [r for r in rows if r["is_partition"]]
    assert partitions, "the migrations create monthly partitions"
    assert [(r["object"], r["grantee"], r["privilege"]) for r in partitions if r["grantee"]] == []


def test_the_example_schema_grants_exactly_the_intended_privileges(conn: Conn) -> None:
    migrate.migrate(conn, include_examples=True)
    assert (
        _differences(
            _collect(conn, _FUNCTION_ACLS),
            _expected(intended.FUNCTIONS, intended.EXAMPLE_FUNCTIONS),
        )
        == []
    )
    assert (
        _differences(
            _relations_without_partitions(conn),
            _expected(intended.RELATIONS, intended.EXAMPLE_RELATIONS),
        )
        == []
    )
    assert (
        _differences(
            _collect(conn, _COLUMN_ACLS), _expected(intended.COLUMNS, intended.EXAMPLE_COLUMNS)
        )
        == []
    )


def test_a_function_created_by_a_later_migration_starts_closed_to_public(conn: Conn) -> None:
    with conn.transaction(force_rollback=True):
        conn.execute("CREATE FUNCTION pe_grants_probe() RETURNS int LANGUAGE sql AS 'SELECT 1'")
        acl = _collect(conn, _FUNCTION_ACLS)["pe_grants_probe()"]
    assert acl == {}


def _roles_table() -> dict[str, str]:
    """docs/security.md's roles table: role -> the text of its row."""
    text = SECURITY_DOC.read_text(encoding="utf-8")
    section = text.split("\n## Roles and row-level security\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"^\| `(platform_events_[a-z]+)` \|(.*)\|\s*$", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def test_security_doc_roles_table_names_exactly_what_each_role_may_touch() -> None:
    rows = _roles_table()
    assert set(rows) == set(intended.ROLES)
    functions = {name.split("(")[0] for name in intended.FUNCTIONS}
    for role, row in rows.items():
        named = set(re.findall(r"`([a-z_]+)`", row))
        may_touch = {name for name, grants in intended.RELATIONS.items() if role in grants}
        assert named & set(intended.RELATIONS) == may_touch, role
        may_call = {n.split("(")[0] for n, grants in intended.FUNCTIONS.items() if role in grants}
        assert named & functions <= may_call, role
        if role != intended.PIPELINE:  # the jobs' functions are many: their list is the file
            assert named & functions == may_call, role


@pytest.fixture
def role_with_no_grants(database_url: str) -> Iterator[Conn]:
    """A connection acting as a role created for the test, granted nothing."""
    name = f"pe_nobody_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as admin:
        admin.execute(pgsql.SQL("CREATE ROLE {} NOLOGIN").format(pgsql.Identifier(name)))
        try:
            with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as nobody:
                nobody.execute(pgsql.SQL("SET ROLE {}").format(pgsql.Identifier(name)))
                yield nobody
        finally:
            admin.execute(pgsql.SQL("DROP ROLE {}").format(pgsql.Identifier(name)))


@pytest.mark.parametrize("function", sorted(intended.FUNCTIONS))
def test_a_role_with_no_grants_can_call_no_function(
    role_with_no_grants: Conn, function: str
) -> None:
    # has_function_privilege, not a call: a call could fail for its arguments and pass for the
    # wrong reason. The calls that matter most are made for real below.
    row = role_with_no_grants.execute(
        "SELECT has_function_privilege(current_user, %s, 'EXECUTE') AS may", (function,)
    ).fetchone()
    assert row == {"may": False}


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM quarantine_platform_events('[]')",
        "SELECT ensure_platform_event_partitions(1, 1)",
        "SELECT platform_events_drop_retired_partition('platform_events_retired_none')",
        "SELECT platform_events_detach_partition('platform_events_default')",
        "SELECT * FROM platform_events_recycle_ledger()",
        "SELECT * FROM platform_events_drop_empty_months()",
        "SELECT * FROM promote_quarantined_events()",
    ],
)
def test_a_role_with_no_grants_cannot_plant_events_or_run_partition_ddl(
    role_with_no_grants: Conn, statement: str
) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        role_with_no_grants.execute(statement)


def test_the_pipeline_role_runs_every_job_function_with_only_its_grants(conn: Conn) -> None:
    # Its functions call helpers as the pipeline (not SECURITY DEFINER): a revoke too many
    # would break a job in production only.
    conn.execute("SELECT emit_platform_event('user.login', '{\"method\": \"sso\"}', 'alice')")
    conn.execute("SET ROLE platform_events_pipeline")
    for statement in (
        "SELECT * FROM get_pending_events(10)",
        "SELECT mark_event_processed(ARRAY(SELECT event_id FROM platform_event_delivery), false)",
        "SELECT apply_data_retention_policy(10)",
        "SELECT * FROM platform_events_retention_preview()",
        "SELECT anonymize_user_events('alice')",
        "SELECT aggregate_events_hourly(now() - interval '2 hours', now())",
        "SELECT update_realtime_metrics(ARRAY['m'], ARRAY[1.0::float8], ARRAY['{}'::jsonb], interval '1 hour', false)",
        "SELECT cleanup_expired_metrics()",
        "SELECT purge_platform_events_quarantine()",
        "SELECT * FROM promote_quarantined_events()",
        "SELECT ensure_platform_event_partitions(1, 1)",
        "SELECT * FROM platform_events_recycle_ledger()",
        "SELECT * FROM platform_events_drop_empty_months()",
    ):
        conn.execute(statement)
    conn.execute("RESET ROLE")
