{#- A scalar of a JSON column as text / as a number, per warehouse (events.event_data is JSON in
    DuckDB and BigQuery, SUPER in Redshift). NULL when the key is absent. -#}
{% macro json_string(column, key) -%}
  {{ return(adapter.dispatch('json_string', 'platform_events')(column, key)) }}
{%- endmacro %}

{% macro default__json_string(column, key) -%}
  json_extract_string({{ column }}, '$.{{ key }}')
{%- endmacro %}

{% macro bigquery__json_string(column, key) -%}
  json_value({{ column }}, '$.{{ key }}')
{%- endmacro %}

{% macro redshift__json_string(column, key) -%}
  nullif(json_extract_path_text(json_serialize({{ column }}), '{{ key }}', true), '')
{%- endmacro %}

{% macro json_number(column, key) -%}
  {{ return(adapter.dispatch('json_number', 'platform_events')(column, key)) }}
{%- endmacro %}

{% macro default__json_number(column, key) -%}
  try_cast({{ json_string(column, key) }} as double)
{%- endmacro %}

{% macro bigquery__json_number(column, key) -%}
  safe_cast({{ json_string(column, key) }} as float64)
{%- endmacro %}

{% macro redshift__json_number(column, key) -%}
  cast({{ json_string(column, key) }} as double precision)
{%- endmacro %}
