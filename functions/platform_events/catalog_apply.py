"""``catalog diff`` and ``catalog apply``: the tracking plan's files against ``event_schemas``.

What changes and what is refused is decided by ``catalog_changes.plan`` (pure); this module reads
the rows, and applies a plan in one transaction under the migrators' advisory lock, so it never
races a migration or another apply and is all-or-nothing. Applying the same files twice changes
nothing the second time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from platform_events import catalog_changes
from platform_events.catalog_changes import Plan
from platform_events.catalog_files import SchemaFile
from platform_events.db import Conn
from platform_events.errors import CatalogRefused
from platform_events.stores import catalog as store
from platform_events.stores import migrations as migrations_store

log = logging.getLogger(__name__)


def diff(conn: Conn, files: Sequence[SchemaFile]) -> Plan:
    """What ``apply`` would do (and refuse), changing nothing."""
    return catalog_changes.plan(files, store.stored(conn))


def apply(conn: Conn, files: Sequence[SchemaFile], *, locked: bool = False) -> Plan:
    """Apply the files; CatalogRefused (and nothing changed) when a change breaks the rules.

    ``locked``: the caller (the migrator) already holds the migration lock.
    """
    if not locked:
        migrations_store.lock(conn, migrations_store.MIGRATION_LOCK_ID)
    try:
        with conn.transaction():
            plan = diff(conn, files)
            if plan.refused:
                raise CatalogRefused(list(plan.refused))
            for change in plan.changes:
                _execute(conn, plan, change)
                log.info(
                    "catalog change",
                    extra={
                        "fields": {
                            "change": change.kind,
                            "event_type": change.event_type,
                            "version": change.version,
                            "detail": change.detail,
                        }
                    },
                )
    finally:
        if not locked:
            migrations_store.unlock(conn, migrations_store.MIGRATION_LOCK_ID)
    return plan


def _execute(conn: Conn, plan: Plan, change: catalog_changes.Change) -> None:
    if change.kind == "retention":
        newest = max(
            (f for (t, _), f in plan.files.items() if t == change.event_type),
            key=lambda f: f.version,
        )
        store.set_retention(conn, change.event_type, newest.retention)
        return
    schema_file = plan.files[(change.event_type, change.version)]
    if change.kind in ("add_type", "add_version"):
        store.insert(conn, schema_file)
    elif change.kind == "edit":
        store.edit(conn, schema_file)
        refused = store.events_refused(conn, change.event_type, change.version)
        if refused:
            examples = ", ".join(f"{r['event_id']} ({r['key']}: {r['kind']})" for r in refused)
            raise CatalogRefused(
                [
                    f"{change.event_type}/{change.version}.json: events stored under version "
                    f"{change.version} would no longer be valid, e.g. {examples}; make the "
                    f"change version {change.version + 1} (a new file)"
                ]
            )
    elif change.kind in ("activate", "deactivate"):
        store.set_active(conn, schema_file)
    elif change.kind == "describe":
        store.describe(conn, schema_file)
