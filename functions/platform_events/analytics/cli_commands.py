"""``platform-events models run|test|build|compile``: the dbt models over the configured warehouse."""

from __future__ import annotations

import argparse
from typing import Any

from platform_events.config import Settings


def _models(args: argparse.Namespace, settings: Settings) -> int:
    from platform_events.analytics import dbt

    return dbt.run(
        settings,
        args.action,
        select=args.select or (),
        full_refresh=args.full_refresh,
        dbt_vars=args.vars,
    )


def register_commands(commands: Any) -> None:
    p = commands.add_parser(
        "models",
        help="the dbt models of analytics/ (sessions, users, features, funnel, cohorts)",
        description="Wraps dbt with the warehouse of WAREHOUSE: run builds the models, test runs "
        "their dbt tests, build does both in dependency order, compile renders their SQL.",
    )
    p.add_argument("action", choices=["run", "test", "build", "compile"])
    p.add_argument("--select", nargs="+", metavar="MODEL", help="only these models (dbt syntax)")
    p.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild incremental models from all of events (after a lookback change or a backfill)",
    )
    p.add_argument("--vars", metavar="YAML", help="dbt vars, e.g. '{lookback_days: 7}'")
    p.set_defaults(handler=_models)
