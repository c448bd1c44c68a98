"""``platform-events catalog validate | diff | apply | generate``: the tracking plan's workflow.

``validate`` needs no database (run it in the team's CI); ``diff`` shows what ``apply`` would change
and refuse; ``apply`` writes the files into ``event_schemas`` under the migration lock (the deploy's
migration step runs it too); ``generate`` writes the typed client module. docs/define-your-events.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from platform_events import catalog_apply, catalog_files, client_codegen, db
from platform_events.catalog_changes import Plan
from platform_events.config import Settings
from platform_events.errors import CatalogInvalid, CatalogRefused
from platform_events.output import print_json


def _directory(args: argparse.Namespace, settings: Settings) -> Path:
    return catalog_files.directory(args.dir or settings.platform_events_catalog)


def _print_plan(plan: Plan, as_json: bool) -> None:
    if as_json:
        print_json(
            {
                "changes": [c.__dict__ for c in plan.changes],
                "refused": list(plan.refused),
                "kept": list(plan.kept),
            }
        )
    else:
        print("\n".join(plan.lines()))


def _validate(args: argparse.Namespace, settings: Settings) -> int:
    directory = _directory(args, settings)
    try:
        files = catalog_files.load(directory)
    except CatalogInvalid as exc:
        print(str(exc))
        return 1
    types = {f.event_type for f in files}
    print(f"{directory}: {len(types)} event types, {len(files)} versions: valid")
    return 0


def _diff(args: argparse.Namespace, settings: Settings) -> int:
    files = catalog_files.load(_directory(args, settings))
    with db.connection(settings, autocommit=True) as conn:
        plan = catalog_apply.diff(conn, files)
    _print_plan(plan, args.json)
    return 1 if plan.refused else 0


def _apply(args: argparse.Namespace, settings: Settings) -> int:
    files = catalog_files.load(_directory(args, settings))
    try:
        with db.connection(settings, autocommit=True) as conn:
            plan = catalog_apply.apply(conn, files)
    except CatalogRefused as exc:
        print(str(exc))
        return 1
    _print_plan(plan, args.json)
    return 0


def _generate(args: argparse.Namespace, settings: Settings) -> int:
    directory = _directory(args, settings)
    if args.output is None and directory.resolve() != catalog_files.builtin_dir():
        print("--output: the module to write (the default is the built-in catalogue's)")
        return 2
    output = args.output or client_codegen.BUILTIN_OUTPUT
    changed = client_codegen.generate(directory, output, check=args.check)
    print(f"{output}: {('stale' if args.check else 'written') if changed else 'up to date'}")
    return 1 if changed and args.check else 0


def register_commands(commands: Any) -> None:
    p = commands.add_parser(
        "catalog", help="the tracking plan: validate, diff, apply the event types"
    )
    actions = p.add_subparsers(dest="catalog_action", required=True, metavar="ACTION")
    for name, handler, text in (
        ("validate", _validate, "check the schema files (no database needed)"),
        ("diff", _diff, "what apply would change and refuse, against the database"),
        ("apply", _apply, "write the files into event_schemas, under the migration lock"),
        ("generate", _generate, "write the typed client module (models, track_* methods)"),
    ):
        a = actions.add_parser(name, help=text)
        a.add_argument(
            "--dir",
            type=Path,
            default=None,
            help="the catalogue directory (default PLATFORM_EVENTS_CATALOG, else the built-in one)",
        )
        if name in ("diff", "apply"):
            a.add_argument("--json", action="store_true", help="the plan as JSON")
        if name == "generate":
            a.add_argument("--output", type=Path, help="default: the built-in client module")
            a.add_argument("--check", action="store_true", help="exit 1 if it is stale")
        a.set_defaults(handler=handler)
