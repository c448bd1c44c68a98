{#- Erasure and retention in incremental models. `erase_user` and `apply_retention` change rows of
    `events` in place (user_id and session_id set to NULL) or delete them, so a row the model built
    earlier can name a user or session that `events` no longer holds. Before each incremental run
    this deletes every such row: a model row lives only while some event still carries its key.
    Table models need nothing: they are rebuilt from `events` on every run. -#}
{% macro propagate_erasure(key) -%}
  {%- if is_incremental() -%}
    delete from {{ this }}
    where {{ key }} is not null
      and {{ key }} not in (
        select distinct {{ key }} from {{ ref('stg_events') }} where {{ key }} is not null
      )
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}
