"""Every statement the BigQuery sink runs (pure text; parameters are bound by the caller).

The table requires a partition filter (Terraform: ``require_partition_filter = true``): BigQuery
refuses a query or DML statement on it "without a filter over column(s) 'occurred_at' that can be
used for partition elimination" (https://cloud.google.com/bigquery/docs/managing-partitioned-tables
#require-filter). So every statement here bounds ``occurred_at``: by the batch's or the events'
span (``@lo``/``@hi``), or by the retention cutoff. None of them runs in steady-state delivery.
"""

from __future__ import annotations

from platform_events.sinks import erasure

SPAN = "occurred_at BETWEEN @lo AND @hi"


def present(table: str) -> str:
    """The events a load (delivery batch) already put in the table: only after a takeover."""
    return f"SELECT event_id FROM `{table}` WHERE load_id = @load_id AND {SPAN}"


def delete_events(table: str) -> str:
    return f"DELETE FROM `{table}` WHERE event_id IN UNNEST(@ids) AND {SPAN}"


def delete_expired(table: str) -> str:
    return f"DELETE FROM `{table}` WHERE occurred_at < @cutoff AND event_type IN UNNEST(@types)"


def erase_candidates(table: str) -> str:
    """The user's own rows and rows mentioning the id, within the user's span."""
    return (
        "SELECT event_id, event_type, TO_JSON_STRING(event_data) AS event_data, "
        "TO_JSON_STRING(metadata) AS metadata, user_id = @user AS own "
        f"FROM `{table}` WHERE {SPAN} AND (user_id = @user "
        "OR TO_JSON_STRING(event_data) LIKE @pattern "
        "OR TO_JSON_STRING(metadata) LIKE @pattern)"
    )


def erase_update(table: str) -> str:
    """The erased rows written back from ``@rows`` (event_id, own, event_data, metadata)."""
    cleared = ", ".join(f"{n} = IF(S.own, NULL, T.{n})" for n in erasure.IDENTITY_COLUMNS)
    return (
        f"UPDATE `{table}` T SET {cleared}, "
        "event_data = PARSE_JSON(S.event_data), metadata = PARSE_JSON(S.metadata) "
        f"FROM UNNEST(@rows) AS S WHERE T.event_id = S.event_id AND T.{SPAN}"
    )
