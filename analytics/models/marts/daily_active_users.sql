{#- Daily active (identified) users, their events and sessions: the console's activity chart. -#}
select
    activity_date,
    count(*) as active_users,
    sum(events) as events,
    sum(sessions) as sessions,
    sum(monetary_value) as monetary_value
from {{ ref('user_behavior_features') }}
group by activity_date
