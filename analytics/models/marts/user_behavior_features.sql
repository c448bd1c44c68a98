{#- Per user and active day (UTC): activity by category and type, sessions, and the RFM features
    an ML model reads: recency (days since the previous active day), frequency and monetary value
    over the trailing 28 days, days active in the trailing 7 and 28 days (the day included).
    Incremental: each run rebuilds the last var('lookback_days') days, reading 27 days more of
    history for the trailing windows; erased users' rows are deleted first (macros/erasure.sql).
    On BigQuery the merge reads only the target's partitions in the window (incremental_predicates). -#}
{{ config(
    materialized='incremental',
    unique_key=['user_id', 'activity_date'],
    incremental_strategy=('merge' if target.type == 'bigquery' else 'delete+insert'),
    incremental_predicates=(["DBT_INTERNAL_DEST.activity_date >= " ~ window_start()] if target.type == 'bigquery' else none),
    on_schema_change='append_new_columns',
    partition_by=({'field': 'activity_date', 'data_type': 'date', 'granularity': 'day'}
                  if target.type == 'bigquery' else none),
    cluster_by=(['user_id'] if target.type == 'bigquery' else none),
    sort=('activity_date' if target.type == 'redshift' else none),
    dist=('user_id' if target.type == 'redshift' else none),
    pre_hook="{{ propagate_erasure('user_id') }}",
) }}

{%- set payment = var('payment_event_type') %}

with daily as (
    select
        user_id,
        occurred_on as activity_date,
        count(*) as events,
        {%- for category in var('categories') %}
        sum(case when event_category = '{{ category }}' then 1 else 0 end) as {{ category }}_events,
        {%- endfor %}
        {%- for event_type in var('feature_event_types') %}
        sum(case when event_type = '{{ event_type }}' then 1 else 0 end) as {{ event_type | replace('.', '_') }}_events,
        {%- endfor %}
        count(distinct session_id) as sessions,
        sum(case when event_type = '{{ payment }}' then 1 else 0 end) as payments,
        coalesce(sum(payment_amount), 0) as monetary_value
    from {{ ref('stg_events') }}
    where user_id is not null
    {%- if is_incremental() %}
      and occurred_at >= cast({{ add_days(window_start(), -27) }} as {{ dbt.type_timestamp() }})
    {%- endif %}
    group by user_id, occurred_on
),

rolling as (
    select
        d.user_id,
        d.activity_date,
        sum(case when p.activity_date > {{ add_days('d.activity_date', -7) }} then 1 else 0 end) as days_active_7d,
        count(*) as days_active_28d,
        sum(p.payments) as frequency_28d,
        sum(p.monetary_value) as monetary_value_28d
    from daily d
    join daily p
      on p.user_id = d.user_id
     and p.activity_date <= d.activity_date
     and p.activity_date > {{ add_days('d.activity_date', -28) }}
    group by d.user_id, d.activity_date
),

previous as (
    select
        user_id,
        activity_date,
        lag(activity_date) over (partition by user_id order by activity_date) as previous_active_date
    from daily
)
{%- if is_incremental() %},

-- the last active day before what this run reads, for users whose previous day is older
before_window as (
    select user_id, max(activity_date) as previous_active_date
    from {{ this }}
    where activity_date < {{ add_days(window_start(), -27) }}
    group by user_id
)
{%- endif %}

select
    d.user_id,
    d.activity_date,
    d.events,
    {%- for category in var('categories') %}
    d.{{ category }}_events,
    {%- endfor %}
    {%- for event_type in var('feature_event_types') %}
    d.{{ event_type | replace('.', '_') }}_events,
    {%- endfor %}
    d.sessions,
    d.payments,
    d.monetary_value,
    {%- if is_incremental() %}
    {{ days_between('coalesce(v.previous_active_date, b.previous_active_date)', 'd.activity_date') }} as recency_days,
    {%- else %}
    {{ days_between('v.previous_active_date', 'd.activity_date') }} as recency_days,
    {%- endif %}
    t.frequency_28d,
    t.monetary_value_28d,
    t.days_active_7d,
    t.days_active_28d
from daily d
join rolling t on t.user_id = d.user_id and t.activity_date = d.activity_date
join previous v on v.user_id = d.user_id and v.activity_date = d.activity_date
{%- if is_incremental() %}
left join before_window b on b.user_id = d.user_id
where d.activity_date >= {{ window_start() }}
{%- endif %}
