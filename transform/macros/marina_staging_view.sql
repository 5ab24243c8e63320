{#- Staging view over one STG_* table: business columns cast to their catalog types, lineage kept.
    relation: source('<system>', 'STG_...'); columns: [name, oracle_type] pairs in catalog order,
    as a list or as the generated models write them (one "NAME ORACLE_TYPE" per line). -#}
{% macro marina_staging_view(relation, columns) -%}
{#- parsing only records ref/source/config (the source is the caller's argument) -#}
{%- if not execute -%}{{ return('') }}{%- endif -%}
{%- set columns = marina_typed_columns(columns) -%}
select
{%- for col in columns %}
    {{ marina_cast(col[0], col[1]) }} as {{ col[0] }},
{%- endfor %}
    {{ marina_as_text('SDC_SOURCE_KEY') }} as SDC_SOURCE_KEY,
    {{ marina_as_text('SDC_SOURCE_MEMBER') }} as SDC_SOURCE_MEMBER,
    SDC_ROW_NUMBER,
    SDC_EXPORTED_AT,
    SDC_EXTRA,
    {{ marina_as_text('SDC_ROW_HASH') }} as SDC_ROW_HASH,
    SDC_TABLE_VERSION,
    SDC_LOADED_AT
from {{ relation }}
{%- endmacro %}


{#- Column lists of the generated models (scripts/generate_models.py writes them as one string:
    dbt compiles each model's Jinja on every run, and a list literal of ~100 quoted items costs
    ~10x as much). A list is returned as it is. -#}

{#- 'ID NAME ...' (names separated by white space) -> ['ID', 'NAME', ...] -#}
{% macro marina_column_names(columns) %}
  {%- if columns is string -%}
    {{ return(columns.split()) }}
  {%- endif -%}
  {{ return(columns) }}
{% endmacro %}

{#- one 'NAME ORACLE_TYPE' per line -> [['NAME', 'ORACLE_TYPE'], ...] -#}
{% macro marina_typed_columns(columns) %}
  {%- if columns is not string -%}
    {{ return(columns) }}
  {%- endif -%}
  {%- set out = [] -%}
  {%- for line in columns.split('\n') if line.strip() -%}
    {%- set parts = line.strip().split(none, 1) -%}
    {%- if parts | length != 2 -%}
      {{ exceptions.raise_compiler_error("marina: column '" ~ line.strip() ~ "' is not 'NAME ORACLE_TYPE'") }}
    {%- endif -%}
    {%- do out.append(parts) -%}
  {%- endfor -%}
  {{ return(out) }}
{% endmacro %}
