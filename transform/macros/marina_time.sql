{#- One timestamp for the whole run: dbt's run_started_at (UTC), or var marina_run_started_at. -#}
{% macro marina_run_timestamp_text() %}
  {%- set fixed = var('marina_run_started_at', none) -%}
  {%- if fixed -%}
    {%- set text = fixed | string -%}
    {%- if '.' not in text -%}{%- set text = text ~ '.000000' -%}{%- endif -%}
    {{ return(text) }}
  {%- endif -%}
  {{ return(run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f')) }}
{% endmacro %}

{% macro marina_run_timestamp() %}
  {{ return(adapter.dispatch('marina_run_timestamp', 'marina')(marina_run_timestamp_text())) }}
{% endmacro %}

{% macro default__marina_run_timestamp(text) -%}
  cast('{{ text }}' as timestamp)
{%- endmacro %}

{% macro oracle__marina_run_timestamp(text) -%}
  TO_TIMESTAMP('{{ text }}', 'YYYY-MM-DD HH24:MI:SS.FF6')
{%- endmacro %}

{% macro marina_null_timestamp() -%}
  cast(null as timestamp)
{%- endmacro %}
