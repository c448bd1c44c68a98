{#- One row per session. Incremental: each run rebuilds the sessions that started in the last
    var('lookback_days') days (their events carry session_first_seen_at, so a rebuilt session is
    whole); erased or expired sessions are deleted first (macros/erasure.sql). On BigQuery the merge
    reads only the target's partitions in the window (incremental_predicates): the rebuilt rows
    all start there. -#}
{{ config(
    materialized='incremental',
    unique_key='session_id',
    incremental_strategy=('merge' if target.type == 'bigquery' else 'delete+insert'),
    incremental_predicates=(["DBT_INTERNAL_DEST.session_start >= timestamp(" ~ window_start() ~ ")"] if target.type == 'bigquery' else none),
    on_schema_change='append_new_columns',
    partition_by=({'field': 'session_start', 'data_type': 'timestamp', 'granularity': 'day'}
                  if target.type == 'bigquery' else none),
    cluster_by=(['user_id'] if target.type == 'bigquery' else none),
    sort=('session_start' if target.type == 'redshift' else none),
    dist=('user_id' if target.type == 'redshift' else none),
    pre_hook="{{ propagate_erasure('session_id') }}",
) }}

with events as (
    select *
    from {{ ref('stg_events') }}
    where session_id is not null
    {%- if is_incremental() %}
      and occurred_at >= cast({{ window_start() }} as {{ dbt.type_timestamp() }})
    {%- endif %}
),

ranked as (
    select
        *,
        row_number() over (partition by session_id order by occurred_at, event_id) as n_asc,
        row_number() over (partition by session_id order by occurred_at desc, event_id desc) as n_desc
    from events
),

sessions as (
    select
        session_id,
        max(user_id) as user_id,
        least(min(session_started_at), min(occurred_at)) as session_start,
        max(occurred_at) as session_end,
        count(*) as events,
        max(case when n_asc = 1 then event_type end) as first_event_type,
        max(case when n_desc = 1 then event_type end) as last_event_type,
        max(case when n_asc = 1 then user_role end) as user_role,
        max(case when n_asc = 1 then device_type end) as device_type,
        max(case when n_asc = 1 then browser end) as browser,
        max(case when n_asc = 1 then os end) as os,
        max(case when n_asc = 1 then country end) as country,
        max(case when n_asc = 1 then region end) as region,
        max(case when n_asc = 1 then city end) as city,
        max(loaded_at) as last_loaded_at
    from ranked
    group by session_id
)

select
    session_id,
    user_id,
    session_start,
    session_end,
    {{ seconds_between('session_start', 'session_end') }} as duration_seconds,
    events,
    first_event_type,
    last_event_type,
    user_role,
    device_type,
    browser,
    os,
    country,
    region,
    city,
    last_loaded_at
from sessions
{%- if is_incremental() %}
-- a session that began before the window is final: its rebuilt part would be partial
where session_start >= cast({{ window_start() }} as {{ dbt.type_timestamp() }})
{%- endif %}
