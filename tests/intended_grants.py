"""Every privilege each role is meant to have on the schema: the one list.

tests/integration/test_grants.py reads the ACLs of every function, table, view, sequence and
column of the schema (and of the schema itself) and compares them with this list, both ways: an
object created without deliberate grants, a grant nobody meant, or an entry whose object is gone
fails. It also checks docs/security.md's roles table names what each role may touch. Adding an
object is one line here (a function by its ``regprocedure`` text, as ``\\df`` prints its argument types).
The schema owner's own rights are not listed.
"""

from __future__ import annotations

from collections.abc import Mapping

APP = "platform_events_app"
INGEST = "platform_events_ingest"
PIPELINE = "platform_events_pipeline"
ANALYST = "platform_events_analyst"
PUBLIC = "PUBLIC"
ROLES = (APP, INGEST, PIPELINE, ANALYST)

RW = "SELECT INSERT UPDATE DELETE"
TS = "timestamp with time zone"

# grantee -> privileges (space-separated), per object.
Grants = Mapping[str, str]

SCHEMA: Grants = {
    # PUBLIC keeps PostgreSQL's default USAGE on schema public (shared with the application's own
    # tables); it names objects, every one of which is closed below.
    PUBLIC: "USAGE",
    APP: "USAGE",
    INGEST: "USAGE",
    PIPELINE: "USAGE",
    ANALYST: "USAGE",
}

FUNCTIONS: dict[str, Grants] = {
    "dead_letter_platform_events(jsonb)": {INGEST: "EXECUTE", PIPELINE: "EXECUTE"},
    f"aggregate_events(text,{TS},{TS})": {PIPELINE: "EXECUTE"},
    f"aggregate_events_hourly({TS},{TS})": {PIPELINE: "EXECUTE"},
    "anonymize_user_events(text)": {PIPELINE: "EXECUTE"},
    "apply_data_retention_policy(integer)": {PIPELINE: "EXECUTE"},
    "claim_delivery_batch(integer,interval,integer,text)": {PIPELINE: "EXECUTE"},
    "cleanup_expired_metrics()": {PIPELINE: "EXECUTE"},
    f"emit_platform_event(text,jsonb,text,text,jsonb,{TS},uuid)": {
        APP: "EXECUTE",
        INGEST: "EXECUTE",
    },
    "emit_platform_events(jsonb)": {APP: "EXECUTE", INGEST: "EXECUTE", PIPELINE: "EXECUTE"},
    f"emit_platform_events_columns(uuid[],text[],text[],text[],{TS}[],jsonb,jsonb)": {
        APP: "EXECUTE",
        INGEST: "EXECUTE",
    },
    "ensure_platform_event_partitions(integer,integer)": {PIPELINE: "EXECUTE"},
    "get_pending_events(integer,interval,integer)": {PIPELINE: "EXECUTE"},
    "install_user_erasure_trigger(regclass,text)": {},
    "mark_event_processed(uuid,boolean,text,integer,interval)": {PIPELINE: "EXECUTE"},
    "mark_event_processed(uuid[],boolean,text,integer,interval)": {PIPELINE: "EXECUTE"},
    f"platform_event_check(text,jsonb,jsonb,{TS},text,text)": {},
    # The rules of 0060, called only inside the emit functions (which run as the owner).
    "platform_event_schema_rules(jsonb)": {},
    "platform_events_check_rows(text[],jsonb[],jsonb[],timestamp with time zone[],text[],text[],"
    "boolean,text)": {},
    "platform_events_emit_rows(uuid[],text[],jsonb[],text[],text[],jsonb[],"
    "timestamp with time zone[],text[],text[],text[])": {},
    "platform_events_forged_user(text,boolean,text)": {},
    "platform_events_keep_rules()": {},
    # the ledger's CHECK and default (0062) call them as the pipeline, which writes its rows
    "platform_events_limit(text)": {PIPELINE: "EXECUTE"},
    "platform_events_limits()": {PIPELINE: "EXECUTE"},
    "platform_events_row_error(text,text,boolean,integer,jsonb,jsonb,timestamp with time zone,"
    "text,text)": {},
    "platform_events_rule_broken(jsonb,text,boolean,text,jsonb,numeric,numeric,integer)": {},
    "platform_events_rule_error(text,text,text,text,text,jsonb,numeric,numeric,integer)": {},
    "platform_events_rule_order(text,bigint,bigint)": {},
    "platform_events_backoff(integer,interval)": {PIPELINE: "EXECUTE"},
    "platform_events_caller_is_trusted()": {},
    "platform_events_detach_partition(text,interval,integer)": {PIPELINE: "EXECUTE"},
    "platform_events_drop_retired_partition(text)": {PIPELINE: "EXECUTE"},
    "platform_events_effective_user(text,boolean)": {},
    "platform_events_personal_metadata_keys()": {PIPELINE: "EXECUTE"},
    "platform_events_queue_user_erasure()": {},
    # The layout of 0062: leaves by month and retention class, the ledger ring.
    "platform_events_create_leaves(text,date,interval[])": {},
    "platform_events_drop_empty_months(interval)": {PIPELINE: "EXECUTE"},
    "platform_events_ensure_leaf(date,interval)": {},
    "platform_events_held_slot()": {PIPELINE: "EXECUTE"},
    "platform_events_leaf_expiry(text,boolean)": {PIPELINE: "EXECUTE"},
    "platform_events_leaves_for_retention()": {},
    f"platform_events_ledger_slot({TS})": {PIPELINE: "EXECUTE"},
    "platform_events_recycle_ledger(interval,integer)": {PIPELINE: "EXECUTE"},
    "platform_events_retention_label(interval)": {},
    "platform_events_type_retention(text)": {},
    f"platform_events_undelivered(uuid,{TS})": {PIPELINE: "EXECUTE"},
    "platform_events_retention_preview()": {PIPELINE: "EXECUTE"},
    "platform_events_row_user(text,text)": {},
    "platform_events_json_problem(jsonb)": {},
    "platform_events_fence_changed_batches()": {},
    "platform_events_scrub_json(jsonb,text)": {PIPELINE: "EXECUTE"},
    "platform_events_storable_timestamp(timestamp with time zone)": {},
    f"platform_events_store(text,jsonb,text,text,jsonb,{TS},uuid)": {},
    "platform_events_try_timestamptz(text)": {},
    "platform_events_try_uuid(text)": {},
    f"promote_quarantined_events(text,integer,{TS},uuid)": {PIPELINE: "EXECUTE"},
    "purge_platform_events_dead_letter(interval)": {PIPELINE: "EXECUTE"},
    "purge_platform_events_quarantine(interval)": {PIPELINE: "EXECUTE"},
    "quarantine_platform_events(jsonb)": {INGEST: "EXECUTE"},
    "settle_delivery_batch(uuid,uuid,uuid[],uuid[],text[],boolean[],integer,interval,boolean,"
    "text,text,text,interval,interval)": {PIPELINE: "EXECUTE"},
    "update_realtime_metric(text,double precision,jsonb,interval,boolean)": {PIPELINE: "EXECUTE"},
    "update_realtime_metrics(text[],double precision[],jsonb[],interval,boolean)": {
        PIPELINE: "EXECUTE"
    },
}

# Tables, views and sequences. Partitions of platform_events are not listed: they grant nothing
# (every access goes through the parent), which the test checks of each one.
RELATIONS: dict[str, Grants] = {
    "event_aggregations": {PIPELINE: RW, ANALYST: "SELECT"},
    "event_aggregations_aggregation_id_seq": {},
    "event_schemas": {APP: "SELECT", INGEST: "SELECT", PIPELINE: RW, ANALYST: "SELECT"},
    "platform_event_delivery": {PIPELINE: RW},
    "platform_event_rules": {},
    "platform_event_delivery_batches": {PIPELINE: RW},
    "platform_event_sink_health": {PIPELINE: RW},
    "platform_event_months": {PIPELINE: "SELECT"},
    "platform_event_partitions": {PIPELINE: "SELECT"},
    "platform_events": {APP: "SELECT", PIPELINE: RW},
    "platform_events_dead_letter": {PIPELINE: "SELECT INSERT DELETE"},
    "platform_events_dead_letter_id_seq": {},
    "platform_events_quarantine": {PIPELINE: "SELECT INSERT DELETE"},
    "platform_events_retired_partitions": {PIPELINE: "SELECT"},
    "platform_events_with_status": {PIPELINE: "SELECT"},
    "platform_metrics_realtime": {PIPELINE: RW, ANALYST: "SELECT"},
    "platform_metrics_realtime_metric_id_seq": {},
    "schema_migrations": {PIPELINE: "SELECT"},
    "user_erasure_audit": {PIPELINE: "SELECT INSERT"},
    "user_erasure_queue": {PIPELINE: RW},
    "warehouse_sync_status": {PIPELINE: RW},
}

# Column grants (table.column), beyond the table's own.
COLUMNS: dict[str, Grants] = {
    "platform_events_quarantine.reason": {PIPELINE: "UPDATE"},
}

# What `platform-events migrate --examples` adds (an application's own tables and triggers).
EXAMPLE_FUNCTIONS: dict[str, Grants] = {
    "dead_letter_platform_events(jsonb)": {INGEST: "EXECUTE", PIPELINE: "EXECUTE"},
    "emit_project_created()": {},
    "emit_review_posted()": {},
}
EXAMPLE_RELATIONS: dict[str, Grants] = {
    "projects": {APP: "SELECT INSERT"},
    "reviews": {APP: "SELECT INSERT"},
    "users": {APP: RW},
}
EXAMPLE_COLUMNS: dict[str, Grants] = {
    "users.id": {PIPELINE: "SELECT"},
    "users.role": {PIPELINE: "SELECT"},
    "users.created_at": {PIPELINE: "SELECT"},
}
