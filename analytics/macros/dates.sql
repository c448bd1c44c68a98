{#- Calendar helpers the dbt cross-database macros lack or get subtly different per warehouse. -#}

{#- The UTC calendar day of a timestamp (the DuckDB profile pins TimeZone to UTC). -#}
{% macro utc_date(ts) -%}
  {{ return(adapter.dispatch('utc_date', 'platform_events')(ts)) }}
{%- endmacro %}
{% macro default__utc_date(ts) -%} cast({{ ts }} as date) {%- endmacro %}
{% macro bigquery__utc_date(ts) -%} date({{ ts }}, 'UTC') {%- endmacro %}

{#- A date plus n days, still a date (BigQuery's dbt.dateadd answers a DATETIME). -#}
{% macro add_days(d, n) -%}
  {{ return(adapter.dispatch('add_days', 'platform_events')(d, n)) }}
{%- endmacro %}
{% macro default__add_days(d, n) -%} cast({{ dbt.dateadd('day', n, d) }} as date) {%- endmacro %}
{% macro bigquery__add_days(d, n) -%} date_add({{ d }}, interval {{ n }} day) {%- endmacro %}

{#- The Monday starting the ISO week of a date (BigQuery's WEEK starts on Sunday). -#}
{% macro week_start(d) -%}
  {{ return(adapter.dispatch('week_start', 'platform_events')(d)) }}
{%- endmacro %}
{% macro default__week_start(d) -%} cast(date_trunc('week', {{ d }}) as date) {%- endmacro %}
{% macro bigquery__week_start(d) -%} date_trunc({{ d }}, isoweek) {%- endmacro %}

{#- Whole days from date a to date b. -#}
{% macro days_between(a, b) -%}
  {{ return(adapter.dispatch('days_between', 'platform_events')(a, b)) }}
{%- endmacro %}
{% macro default__days_between(a, b) -%} {{ dbt.datediff(a, b, 'day') }} {%- endmacro %}
{% macro bigquery__days_between(a, b) -%} date_diff({{ b }}, {{ a }}, day) {%- endmacro %}

{#- Seconds from timestamp a to timestamp b. -#}
{% macro seconds_between(a, b) -%}
  {{ return(adapter.dispatch('seconds_between', 'platform_events')(a, b)) }}
{%- endmacro %}
{% macro default__seconds_between(a, b) -%} {{ dbt.datediff(a, b, 'second') }} {%- endmacro %}
{% macro bigquery__seconds_between(a, b) -%} timestamp_diff({{ b }}, {{ a }}, second) {%- endmacro %}

{#- The first day the incremental models rebuild: today (UTC) minus var('lookback_days'). A constant
    expression, so BigQuery prunes the events partitions before it (a subquery would not). -#}
{% macro window_start() -%}
  {{ add_days(utc_date(dbt.current_timestamp()), -1 * var('lookback_days') | int) }}
{%- endmacro %}

{#- A timestamp plus n days, still a timestamp. -#}
{% macro timestamp_add_days(ts, n) -%}
  {{ return(adapter.dispatch('timestamp_add_days', 'platform_events')(ts, n)) }}
{%- endmacro %}
{% macro default__timestamp_add_days(ts, n) -%} {{ dbt.dateadd('day', n, ts) }} {%- endmacro %}
{% macro bigquery__timestamp_add_days(ts, n) -%} timestamp_add({{ ts }}, interval {{ n }} day) {%- endmacro %}
