{#- Canonical record key (design.md §4): key values as text joined by '|'; integers as plain
    digits, dates YYYY-MM-DD, timestamps YYYY-MM-DD HH:MM:SS.ffffff, text as is, NULL as 'null'.
    key_columns: list of [name, oracle_type]; prefix: optional table alias ('t.'). -#}

{% macro marina_key_text(column, oracle_type) %}
  {{ return(adapter.dispatch('marina_key_text', 'marina')(column, marina_parse_type(oracle_type))) }}
{% endmacro %}

{% macro default__marina_key_text(column, t) -%}
  {%- if t.base == 'NUMBER' and t.scale == 0 -%}
    cast(cast({{ column }} as hugeint) as varchar)
  {%- elif t.base == 'DATE' -%}
    strftime({{ column }}, '%Y-%m-%d')
  {%- elif t.base == 'TIMESTAMP' -%}
    strftime({{ column }}, '%Y-%m-%d %H:%M:%S.%f')
  {%- elif t.base in ('NVARCHAR2', 'VARCHAR2', 'CHAR', 'NCHAR') -%}
    cast({{ column }} as varchar)
  {%- else -%}
    {{ exceptions.raise_compiler_error("marina: unsupported key type " ~ t.base ~ " for " ~ column) }}
  {%- endif -%}
{%- endmacro %}

{% macro oracle__marina_key_text(column, t) -%}
  {%- if t.base == 'NUMBER' and t.scale == 0 -%}
    TO_CHAR({{ column }})
  {%- elif t.base == 'DATE' -%}
    TO_CHAR({{ column }}, 'YYYY-MM-DD')
  {%- elif t.base == 'TIMESTAMP' -%}
    TO_CHAR({{ column }}, 'YYYY-MM-DD HH24:MI:SS.FF6')
  {%- elif t.base in ('NVARCHAR2', 'VARCHAR2', 'CHAR', 'NCHAR') -%}
    TO_CHAR({{ column }})
  {%- else -%}
    {{ exceptions.raise_compiler_error("marina: unsupported key type " ~ t.base ~ " for " ~ column) }}
  {%- endif -%}
{%- endmacro %}

{% macro marina_record_key(key_columns, prefix='') -%}
  {%- for col in key_columns -%}
    coalesce({{ marina_key_text(prefix ~ col[0], col[1]) }}, 'null'){% if not loop.last %} || '|' || {% endif %}
  {%- endfor -%}
{%- endmacro %}

{#- md5 hex (lower case, 32 chars) of a VARCHAR expression. -#}
{% macro marina_md5(expr) %}
  {{ return(adapter.dispatch('marina_md5', 'marina')(expr)) }}
{% endmacro %}

{% macro default__marina_md5(expr) -%}
  md5({{ expr }})
{%- endmacro %}

{% macro oracle__marina_md5(expr) -%}
  {#- TO_CHAR: hash the database-charset (AL32UTF8) bytes, as DuckDB hashes UTF-8 -#}
  LOWER(RAWTOHEX(STANDARD_HASH(TO_CHAR({{ expr }}), 'MD5')))
{%- endmacro %}

{#- DW_ID: md5('<system>|<table>|<record key>'), e.g. md5('molo|slips|42'). Stable across reloads. -#}
{% macro marina_dw_id(system, table, key_columns, prefix='') -%}
  {{ marina_md5("'" ~ system ~ "|" ~ table ~ "|' || " ~ marina_record_key(key_columns, prefix)) }}
{%- endmacro %}
