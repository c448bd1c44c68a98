-- Reads of the dbt models (analytics/) on the warehouse, by platform_events.client.reads.
-- Written once for DuckDB and BigQuery: `$name` parameters (the BigQuery reader sends them as
-- `@name`), `{models}` for MODELS_SCHEMA, only functions both dialects share.

-- name: client_models_funnel
SELECT funnel_date, user_role, step_index, step_name, event_type, users,
       median_seconds_from_previous
  FROM {models}.conversion_funnel
 WHERE funnel_date BETWEEN $since AND $until
   AND ($role IS NULL OR user_role = $role)
 ORDER BY step_index, funnel_date, user_role;

-- name: client_models_cohorts
SELECT cohort_week, weeks_since_signup, cohort_size, active_users, retention_rate
  FROM {models}.cohort_retention
 WHERE cohort_week BETWEEN $since AND $until
 ORDER BY cohort_week, weeks_since_signup;

-- name: client_models_user_features
SELECT *
  FROM {models}.user_behavior_features
 WHERE user_id = $user_id
   AND activity_date BETWEEN $since AND $until
 ORDER BY activity_date;

-- name: client_models_daily_active_users
SELECT activity_date, active_users, events, sessions
  FROM {models}.daily_active_users
 WHERE activity_date BETWEEN $since AND $until
 ORDER BY activity_date;
