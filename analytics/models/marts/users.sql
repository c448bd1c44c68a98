{#- One row per user who has events. A table, rebuilt from `events` on every run: an erased user
    (user_id NULL in events) is gone after the next run. signed_up_on is the sign-up day enrichment
    knows (event day minus user_tenure_days), else the first day seen. -#}
with events as (
    select * from {{ ref('stg_events') }} where user_id is not null
),

latest as (
    select
        user_id,
        user_role,
        row_number() over (
            partition by user_id order by (case when user_role is null then 1 else 0 end), occurred_at desc, event_id desc
        ) as n
    from events
),

per_user as (
    select
        user_id,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at,
        min(case when user_tenure_days is not null
            then {{ add_days('occurred_on', '-user_tenure_days') }} end) as enriched_signup_on,
        min(occurred_on) as first_seen_on,
        count(*) as events,
        count(distinct session_id) as sessions,
        count(distinct occurred_on) as active_days,
        {%- for category in var('categories') %}
        sum(case when event_category = '{{ category }}' then 1 else 0 end) as {{ category }}_events,
        {%- endfor %}
        coalesce(sum(payment_amount), 0) as monetary_value
    from events
    group by user_id
)

select
    p.user_id,
    coalesce(l.user_role, 'unknown') as user_role,
    coalesce(p.enriched_signup_on, p.first_seen_on) as signed_up_on,
    {{ days_between('coalesce(p.enriched_signup_on, p.first_seen_on)', utc_date('p.last_seen_at')) }} as tenure_days,
    p.first_seen_at,
    p.last_seen_at,
    p.events,
    p.sessions,
    p.active_days,
    {%- for category in var('categories') %}
    p.{{ category }}_events,
    {%- endfor %}
    p.monetary_value
from per_user p
join latest l on l.user_id = p.user_id and l.n = 1
