{#- The events the models read: identities, time, enrichment, and the payload fields they use.
    Only fields `erase_user` leaves alone or clears in place pass through, never a personal
    payload field (catalog.py's x-personal ones). -#}
select
    event_id,
    event_type,
    event_category,
    user_id,
    session_id,
    occurred_at,
    {{ utc_date('occurred_at') }} as occurred_on,
    coalesce(session_first_seen_at, occurred_at) as session_started_at,
    user_role,
    user_tenure_days,
    device_type,
    browser,
    os,
    country,
    region,
    city,
    case when event_type = '{{ var("payment_event_type") }}'
        then {{ json_number('event_data', 'amount') }} end as payment_amount,
    {%- for step in var('funnel_steps') if step.counterpart is defined %}
    case when event_type = '{{ step.event_type }}'
        then {{ json_string('event_data', step.counterpart) }} end as {{ step.name }}_counterpart_id,
    {%- endfor %}
    loaded_at
from {{ source('platform_events', 'events') }}
-- BigQuery's events table requires a filter on its partition column that can prune partitions
-- (require_partition_filter; https://cloud.google.com/bigquery/docs/querying-partitioned-tables):
-- the whole history qualifies, and every model reads events through this view.
where occurred_at >= cast('1970-01-01' as {{ dbt.type_timestamp() }})
