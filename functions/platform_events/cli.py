"""The ``platform-events`` command line (also ``python -m platform_events``).

Each command parses its options, builds Settings once, and calls one function of the package;
nothing here holds logic of its own. Commands print human-readable output on stdout and logs on
stderr (JSON for machines; on a terminal only warnings, as plain lines: logs.configure);
``--json`` variants print JSON on stdout for scripts.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

from platform_events import logs, registry
from platform_events.config import Settings, load_settings
from platform_events.errors import ConfigError, EmbeddedPostgresError

Handler = Callable[[argparse.Namespace, Settings], int]


def _db(args: argparse.Namespace, settings: Settings) -> int:
    from platform_events import local

    if args.action == "start":
        try:
            print(local.start(settings))
        except EmbeddedPostgresError as exc:
            print(f"platform-events: {exc}", file=sys.stderr)
            return 1
    elif args.action == "stop":
        print("stopped" if local.stop(settings) else "not running")
    else:
        url = local.url(settings)
        if url is None:
            print("the embedded server is not running: `platform-events db start`", file=sys.stderr)
            return 1
        print(url)
    return 0


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from platform_events import catalog_files, db, migrate

    with db.connect(settings, autocommit=True) as conn:
        applied, plan = migrate.deploy(
            conn,
            include_examples=args.examples,
            catalog=catalog_files.directory(settings.platform_events_catalog),
        )
    if applied:
        for migration in applied:
            print(f"applied {migration.version}_{migration.name}")
    else:
        print("schema is up to date")
    if plan is not None and not plan.empty:
        print("catalogue applied:")
        print("\n".join(plan.lines()))
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from platform_events import demo

    return demo.run(settings, users=args.users, days=args.days)


# Docstrings are reStructuredText (``literal``, :func:`name`); a terminal shows plain text.
_RST_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`~?([^`]+)`")
_RST_LITERAL = re.compile(r"``([^`]+)``")


def plain_text(text: str) -> str:
    """``text`` with its reStructuredText markup (inline literals, roles) reduced to the words."""
    return _RST_LITERAL.sub(r"\1", _RST_ROLE.sub(r"\1", text))


class Parser(argparse.ArgumentParser):
    """The parser of every command: help rendered as plain text, whatever docstring it came from.

    Sub-command parsers are made with the parent's class, so this one place covers them all.
    """

    def format_help(self) -> str:
        return plain_text(super().format_help())

    def format_usage(self) -> str:
        return plain_text(super().format_usage())


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="platform-events", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("db", help="the embedded PostgreSQL server")
    p.add_argument("action", choices=["start", "stop", "url"])
    p.set_defaults(handler=_db)

    p = registry.add_command(commands, "migrate")
    p.add_argument(
        "--examples", action="store_true", help="also apply migrations/examples (projects, reviews)"
    )
    p.set_defaults(handler=_migrate)

    p = commands.add_parser("demo", help="the whole pipeline end to end on the embedded default")
    p.add_argument("--users", type=int, default=200, help="simulated users (default 200)")
    p.add_argument("--days", type=int, default=3, help="days of simulated traffic (default 3)")
    p.set_defaults(handler=_demo)

    # Further commands register here (stream, aggregate, cleanup, retention, reprocess, erase-user,
    # export-user, status, serve, scheduler, generate, bench), each in its own module.
    for register in _registrars():
        register(commands)
    return parser


def _registrars() -> list[Callable[[Any], None]]:
    """The ``register(subparsers)`` function of every module that contributes commands."""
    import importlib

    found = []
    for module_name in COMMAND_MODULES:
        module = importlib.import_module(module_name)
        found.append(module.register_commands)
    return found


# Modules that add sub-commands through a ``register_commands(subparsers)`` function.
COMMAND_MODULES: list[str] = [
    "platform_events.catalog_command",
    "platform_events.generate_command",
    "platform_events.ingest.cli_commands",
    "platform_events.jobs.cli_commands",
    "platform_events.pipeline.cli_commands",
    "platform_events.bench_command",
    "platform_events.analytics.cli_commands",
]


def main(argv: Sequence[str] | None = None) -> int:
    from platform_events import db, local

    # Without DATABASE_URL every command works on the embedded server, started when first needed
    # (db knows no server of its own: the command line names this one).
    db.resolve_unset_url_with(local.start)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"platform-events: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)
    handler: Handler = args.handler
    try:
        return handler(args, settings)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
