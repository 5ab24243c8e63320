{#- meltano.yml fixes DBT_TARGET per environment and keeps a value set in .env or the shell as
    MARINA_DBT_TARGET_REQUESTED. One that differs from the target dbt runs with stops the invocation
    here (on-run-start) with a message, rather than letting dbt build the environment's warehouse
    while the operator believes it builds another. Outside Meltano the variable is unset: no check. -#}
{% macro marina_check_target() %}
  {%- set requested = env_var('MARINA_DBT_TARGET_REQUESTED', '') | trim | lower -%}
  {%- if execute and requested and requested != target.name -%}
    {{ exceptions.raise_compiler_error(
        "DBT_TARGET=" ~ requested ~ " is refused: this Meltano environment uses " ~ target.name
        ~ " for the loader and dbt alike; unset DBT_TARGET (.env or the shell), or switch --environment") }}
  {%- endif -%}
{% endmacro %}
