{#- Weekly sign-up cohorts (ISO weeks, Monday first) x weeks since sign-up: how many of the cohort
    were active that week, and what share of the cohort that is. Rebuilt on every run. -#}
with cohorts as (
    select user_id, {{ week_start('signed_up_on') }} as cohort_week
    from {{ ref('users') }}
),

sizes as (
    select cohort_week, count(*) as cohort_size from cohorts group by cohort_week
),

activity as (
    select distinct c.cohort_week, f.user_id, {{ week_start('f.activity_date') }} as activity_week
    from {{ ref('user_behavior_features') }} f
    join cohorts c on c.user_id = f.user_id
),

retained as (
    select
        cohort_week,
        cast({{ days_between('cohort_week', 'activity_week') }} / 7 as {{ dbt.type_int() }}) as weeks_since_signup,
        count(distinct user_id) as active_users
    from activity
    where activity_week >= cohort_week
    group by cohort_week, activity_week
)

select
    {{ dbt.concat(["cast(r.cohort_week as " ~ dbt.type_string() ~ ")", "'|'", "cast(r.weeks_since_signup as " ~ dbt.type_string() ~ ")"]) }} as cohort_key,
    r.cohort_week,
    r.weeks_since_signup,
    s.cohort_size,
    r.active_users,
    {{ ratio('r.active_users', 's.cohort_size') }} as retention_rate
from retained r
join sizes s on s.cohort_week = r.cohort_week
