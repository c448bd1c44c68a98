"""What a database's schema is, read from the catalog, to compare two databases.

Each part is a sorted list of rows in PostgreSQL's own rendering (``pg_get_functiondef``,
``pg_get_indexdef``, ``pg_get_constraintdef``, ...), so two databases built differently (the
migrations, migrations/schema.sql) compare equal exactly when they define the same objects.
Object ids, column numbers left by dropped columns and dates are not compared; a missing ACL is
compared as the default it stands for (``acldefault``), since "no grants recorded" and "the
owner's grants recorded" mean the same.
"""

from __future__ import annotations

import psycopg
import psycopg.sql

from tests import schema_file

Catalog = dict[str, list[tuple[object, ...]]]

_PUBLIC = "n.nspname = 'public'"
# Every part of the catalog the schema file stands for; each query returns comparable rows.
QUERIES: dict[str, str] = {
    "extensions": "SELECT extname, extversion FROM pg_extension",
    "schema": """SELECT nspname, pg_get_userbyid(nspowner),
                        coalesce(nspacl, acldefault('n', nspowner))::text
                   FROM pg_namespace n WHERE """
    + _PUBLIC,
    "relations": f"""
        SELECT c.relname, c.relkind, c.relpersistence, c.relrowsecurity, c.relforcerowsecurity,
               c.reloptions::text, pg_get_userbyid(c.relowner),
               coalesce(c.relacl, acldefault((CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END)::"char",
                                             c.relowner))::text,
               c.relispartition, pg_get_expr(c.relpartbound, c.oid),
               CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
               (SELECT string_agg(p.relname, ',') FROM pg_inherits i
                  JOIN pg_class p ON p.oid = i.inhparent WHERE i.inhrelid = c.oid),
               am.amname
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          LEFT JOIN pg_am am ON am.oid = c.relam
         WHERE {_PUBLIC} AND c.relkind NOT IN ('i', 'I')""",
    "columns": f"""
        SELECT c.relname,
               row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum),
               a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
               co.collname, a.attacl::text
          FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 100
         WHERE {_PUBLIC} AND a.attnum > 0 AND NOT a.attisdropped""",
    "constraints": f"""
        SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid), k.condeferrable,
               k.condeferred, k.convalidated, k.conislocal, k.coninhcount
          FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_PUBLIC}""",
    "indexes": f"""
        SELECT c.relname, i.relname, pg_get_indexdef(i.oid), x.indisunique, x.indisprimary,
               (SELECT p.relname FROM pg_inherits h JOIN pg_class p ON p.oid = h.inhparent
                 WHERE h.inhrelid = i.oid)
          FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
          JOIN pg_class c ON c.oid = x.indrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_PUBLIC}""",
    "functions": f"""
        SELECT p.proname, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid),
               p.prosrc, l.lanname, p.prokind, p.provolatile, p.prosecdef, p.proisstrict,
               p.proparallel, p.proleakproof, p.procost, p.prorows, p.proconfig::text,
               pg_get_userbyid(p.proowner),
               coalesce(p.proacl, acldefault('f', p.proowner))::text
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          JOIN pg_language l ON l.oid = p.prolang WHERE {_PUBLIC}""",
    "triggers": f"""
        SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled
          FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE {_PUBLIC} AND NOT t.tgisinternal""",
    "views": f"""
        SELECT c.relname, pg_get_viewdef(c.oid, true)
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE {_PUBLIC} AND c.relkind IN ('v', 'm')""",
    "sequences": f"""
        SELECT c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmax,
               s.seqmin, s.seqcache, s.seqcycle,
               (SELECT o.relname || '.' || a.attname || ':' || d.deptype::text FROM pg_depend d
                  JOIN pg_class o ON o.oid = d.refobjid
                  JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                 WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                   AND d.deptype IN ('a', 'i'))
          FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_PUBLIC}""",
    "types": f"""
        SELECT t.typname, t.typtype, format_type(t.typbasetype, t.typtypmod), t.typnotnull,
               (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e
                 WHERE e.enumtypid = t.oid),
               coalesce(t.typacl, acldefault('T', t.typowner))::text
          FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
         WHERE {_PUBLIC} AND t.typtype IN ('c', 'e', 'd', 'r')
           AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')""",
    "policies": """
        SELECT tablename, policyname, permissive, roles::text, cmd, qual, with_check
          FROM pg_policies WHERE schemaname = 'public'""",
    "default_privileges": """
        SELECT pg_get_userbyid(defaclrole), coalesce(n.nspname, ''), defaclobjtype,
               defaclacl::text
          FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace""",
    "comments": """
        SELECT pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description
          FROM pg_description d
         WHERE pg_describe_object(d.classoid, d.objoid, d.objsubid) IS NOT NULL
           AND (d.classoid, d.objoid) NOT IN (
               SELECT 'pg_namespace'::regclass, oid FROM pg_namespace WHERE nspname <> 'public')
           AND d.objoid >= 16384""",
    "roles": """
        SELECT rolname, rolcanlogin, rolsuper, rolinherit, rolcreaterole, rolcreatedb,
               rolbypassrls
          FROM pg_roles WHERE rolname LIKE 'platform\\_events\\_%' AND NOT rolcanlogin""",
}


def _sortable(row: tuple[object, ...]) -> tuple[str, ...]:
    return tuple("" if value is None else str(value) for value in row)


def read(conn: psycopg.Connection[dict[str, object]]) -> Catalog:
    """The schema's catalog, and the rows the migrations seed, part by part."""
    found: Catalog = {}
    with conn.cursor(row_factory=psycopg.rows.tuple_row) as cur:
        for part, query in QUERIES.items():
            rows = cur.execute(query).fetchall()
            found[part] = sorted(rows, key=_sortable)
    # Derived rows too: loading the file must rebuild them as the migrations built them.
    for table in [*schema_file.seed_tables(conn), *sorted(schema_file.DERIVED_TABLES)]:
        found[f"rows of {table}"] = [(row,) for row in schema_file.seed_rows(conn, table)]
    found["migrations"] = [
        tuple(row.values())
        for row in conn.execute(
            "SELECT version, name, checksum FROM schema_migrations ORDER BY version"
        ).fetchall()
    ]
    return found


def differences(left: Catalog, right: Catalog) -> list[str]:
    """Each row one catalog has and the other lacks, named by part (empty when equal)."""
    found: list[str] = []
    for part in sorted(set(left) | set(right)):
        mine, theirs = set(left.get(part, [])), set(right.get(part, []))
        found += [
            f"{part}: only in the first: {row}" for row in sorted(mine - theirs, key=_sortable)
        ]
        found += [
            f"{part}: only in the second: {row}" for row in sorted(theirs - mine, key=_sortable)
        ]
    return found
