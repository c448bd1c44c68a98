{#- The median of a numeric expression as an aggregate. BigQuery has no exact median aggregate
    (PERCENTILE_CONT is analytic only): APPROX_QUANTILES with 100 buckets is within 1% there. -#}
{% macro median(expr) -%}
  {{ return(adapter.dispatch('median', 'platform_events')(expr)) }}
{%- endmacro %}
{% macro default__median(expr) -%} median({{ expr }}) {%- endmacro %}
{% macro bigquery__median(expr) -%} approx_quantiles({{ expr }}, 100)[offset(50)] {%- endmacro %}
{% macro redshift__median(expr) -%} median({{ expr }}) {%- endmacro %}

{#- a / b as a fraction, NULL when b is 0 or NULL. -#}
{% macro ratio(a, b) -%}
  case when {{ b }} > 0 then cast({{ a }} as {{ dbt.type_float() }}) / {{ b }} end
{%- endmacro %}
