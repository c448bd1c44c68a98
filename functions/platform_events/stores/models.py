"""The SDK's reads on the warehouse's dbt model tables (``client/reads.py``): funnel, cohorts,
behaviour features and daily active users, run by whatever reads the warehouse."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Protocol

from platform_events.queries import sql


class ModelReader(Protocol):
    """Runs a statement on the model tables (``client.warehouse.WarehouseReader``)."""

    def query(self, sql: str, params: Mapping[str, Any]) -> list[dict[str, Any]]: ...


def funnel(
    reader: ModelReader, since: date, until: date, user_role: str | None
) -> list[dict[str, Any]]:
    """The conversion funnel's rows of days [since, until], for one role or all."""
    return reader.query(
        sql("client_models_funnel"), {"since": since, "until": until, "role": user_role}
    )


def cohorts(reader: ModelReader, since: date, until: date) -> list[dict[str, Any]]:
    """The weekly cohorts' retention rows of cohorts starting in [since, until]."""
    return reader.query(sql("client_models_cohorts"), {"since": since, "until": until})


def user_features(
    reader: ModelReader, user_id: str, since: date, until: date
) -> list[dict[str, Any]]:
    """A user's behaviour features per active day in [since, until]."""
    return reader.query(
        sql("client_models_user_features"), {"user_id": user_id, "since": since, "until": until}
    )


def daily_active_users(reader: ModelReader, since: date, until: date) -> list[dict[str, Any]]:
    """Identified active users per day in [since, until]."""
    return reader.query(sql("client_models_daily_active_users"), {"since": since, "until": until})
