{#- The marketplace funnel var('funnel_steps') per entry day and user role. A user enters with their
    first step-1 event of a day; they reach step k with the first step-k event after they reached
    step k-1 and within var('funnel_window_days') of entering (ordered, as PostHog's funnels).
    A step with `counterpart` also counts for the user its event names (the client a proposal is
    addressed to). Rebuilt on every run (a table of counts: erased users leave it then). -#}
{%- set steps = var('funnel_steps') %}
{%- set window_days = var('funnel_window_days') | int %}

with step_events as (
    {%- for step in steps %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select {{ loop.index }} as step_index, user_id, occurred_at
    from {{ ref('stg_events') }}
    where event_type = '{{ step.event_type }}' and user_id is not null
    {%- if step.counterpart is defined %}
    union all
    select {{ loop.index }} as step_index, {{ step.name }}_counterpart_id as user_id, occurred_at
    from {{ ref('stg_events') }}
    where event_type = '{{ step.event_type }}' and {{ step.name }}_counterpart_id is not null
    {%- endif %}
    {%- endfor %}
),

step_1 as (
    select user_id, {{ utc_date('occurred_at') }} as funnel_date, min(occurred_at) as reached_at
    from step_events
    where step_index = 1
    group by user_id, {{ utc_date('occurred_at') }}
),
{%- for step in steps[1:] %}
{%- set k = loop.index + 1 %}

step_{{ k }} as (
    select p.user_id, p.funnel_date, min(s.occurred_at) as reached_at
    from step_{{ k - 1 }} p
    join step_1 e on e.user_id = p.user_id and e.funnel_date = p.funnel_date
    join step_events s
      on s.user_id = p.user_id
     and s.step_index = {{ k }}
     and s.occurred_at >= p.reached_at
     and s.occurred_at <= {{ timestamp_add_days('e.reached_at', window_days) }}
    group by p.user_id, p.funnel_date
),
{%- endfor %}

journeys as (
    select
        step_1.user_id,
        step_1.funnel_date,
        coalesce(u.user_role, 'unknown') as user_role
        {%- for step in steps %}
        , step_{{ loop.index }}.reached_at as step_{{ loop.index }}_at
        {%- endfor %}
    from step_1
    left join {{ ref('users') }} u on u.user_id = step_1.user_id
    {%- for step in steps[1:] %}
    left join step_{{ loop.index + 1 }}
      on step_{{ loop.index + 1 }}.user_id = step_1.user_id
     and step_{{ loop.index + 1 }}.funnel_date = step_1.funnel_date
    {%- endfor %}
),

by_step as (
    {%- for step in steps %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select
        funnel_date,
        user_role,
        {{ loop.index }} as step_index,
        '{{ step.name }}' as step_name,
        '{{ step.event_type }}' as event_type,
        count(step_{{ loop.index }}_at) as users,
        {%- if loop.first %}
        cast(null as {{ dbt.type_float() }}) as median_seconds_from_previous
        {%- else %}
        cast({{ median(seconds_between('step_' ~ (loop.index - 1) ~ '_at', 'step_' ~ loop.index ~ '_at')) }} as {{ dbt.type_float() }}) as median_seconds_from_previous
        {%- endif %}
    from journeys
    group by funnel_date, user_role
    {%- endfor %}
)

select
    {{ dbt.concat(["cast(funnel_date as " ~ dbt.type_string() ~ ")", "'|'", "user_role", "'|'", "cast(step_index as " ~ dbt.type_string() ~ ")"]) }} as funnel_key,
    funnel_date,
    user_role,
    step_index,
    step_name,
    event_type,
    users,
    {{ ratio('users', 'lag(users) over (partition by funnel_date, user_role order by step_index)') }} as conversion_from_previous,
    {{ ratio('users', 'first_value(users) over (partition by funnel_date, user_role order by step_index)') }} as conversion_from_start,
    median_seconds_from_previous
from by_step
