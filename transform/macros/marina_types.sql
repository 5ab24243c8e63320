{#- Type handling. Every column carries its catalog oracle_type (e.g. 'NUMBER(10,2)', 'NVARCHAR2(191)'). -#}

{#- Split an oracle_type into {'base': 'NUMBER', 'precision': 10, 'scale': 2} (precision/scale may be none). -#}
{% macro marina_parse_type(oracle_type) %}
  {%- set m = modules.re.match('^\\s*([A-Z0-9_ ]+?)\\s*(?:\\(\\s*(\\d+)\\s*(?:,\\s*(\\d+)\\s*)?\\))?\\s*$', oracle_type | upper) -%}
  {%- if not m -%}
    {{ exceptions.raise_compiler_error("marina: unsupported oracle_type '" ~ oracle_type ~ "'") }}
  {%- endif -%}
  {%- set precision = m.group(2) | int if m.group(2) else none -%}
  {%- set scale = m.group(3) | int if m.group(3) else (0 if m.group(2) else none) -%}
  {{ return({'base': m.group(1), 'precision': precision, 'scale': scale}) }}
{% endmacro %}

{% macro marina_is_text_type(oracle_type) %}
  {{ return(marina_parse_type(oracle_type).base in ('NVARCHAR2', 'VARCHAR2', 'CHAR', 'NCHAR', 'NCLOB', 'CLOB')) }}
{% endmacro %}

{#- cast(column) to the warehouse type of its catalog oracle_type ("rename and cast" in staging views). -#}
{% macro marina_cast(column, oracle_type) %}
  {{ return(adapter.dispatch('marina_cast', 'marina')(column, oracle_type)) }}
{% endmacro %}

{% macro default__marina_cast(column, oracle_type) %}
  {#- DuckDB types per design.md §1 -#}
  {%- set t = marina_parse_type(oracle_type) -%}
  {%- if t.base == 'NUMBER' and t.precision is not none -%}
    cast({{ column }} as decimal({{ t.precision }},{{ t.scale }}))
  {%- elif t.base in ('NUMBER', 'BINARY_DOUBLE', 'BINARY_FLOAT', 'FLOAT') -%}
    cast({{ column }} as double)
  {%- elif t.base == 'DATE' -%}
    cast({{ column }} as date)
  {%- elif t.base == 'TIMESTAMP' -%}
    cast({{ column }} as timestamp)
  {%- elif marina_is_text_type(oracle_type) -%}
    cast({{ column }} as varchar)
  {%- else -%}
    {{ exceptions.raise_compiler_error("marina: no DuckDB type for '" ~ oracle_type ~ "'") }}
  {%- endif -%}
{% endmacro %}

{% macro oracle__marina_cast(column, oracle_type) %}
  {#- Text keeps the type of its STG column: the loader decides it once, when it creates the
      column (NVARCHAR2 at the database's limit, NCLOB for free text; target-oracle's
      oracle_sql.py), and never changes it. So the view, and the DW table dbt builds from it,
      have that type for good, and dbt-oracle's column expansion never runs; a cast to the
      catalog's NVARCHAR2(n) would refuse longer values, which are kept whole (ORA-25137). -#}
  {%- set t = marina_parse_type(oracle_type) -%}
  {%- if t.base == 'NUMBER' and t.precision is not none -%}
    CAST({{ column }} AS NUMBER({{ t.precision }},{{ t.scale }}))
  {%- elif t.base == 'NUMBER' -%}
    CAST({{ column }} AS NUMBER)
  {%- elif t.base in ('BINARY_DOUBLE', 'BINARY_FLOAT', 'FLOAT') -%}
    CAST({{ column }} AS BINARY_DOUBLE)
  {%- elif t.base == 'DATE' -%}
    CAST({{ column }} AS DATE)
  {%- elif t.base == 'TIMESTAMP' -%}
    CAST({{ column }} AS TIMESTAMP)
  {%- elif marina_is_text_type(oracle_type) -%}
    {{ column }}
  {%- else -%}
    {{ exceptions.raise_compiler_error("marina: no Oracle type for '" ~ oracle_type ~ "'") }}
  {%- endif -%}
{% endmacro %}

{#- Short text (lineage, keys, hashes) as a plain comparable string. Oracle: the loader stores
    strings without maxLength as NCLOB, and LOBs cannot be compared/grouped, so TO_CHAR them. -#}
{% macro marina_as_text(expr) %}
  {{ return(adapter.dispatch('marina_as_text', 'marina')(expr)) }}
{% endmacro %}

{% macro default__marina_as_text(expr) -%}
  cast({{ expr }} as varchar)
{%- endmacro %}

{% macro oracle__marina_as_text(expr) -%}
  TO_CHAR({{ expr }})
{%- endmacro %}

{#- 0/1 flag as a number (no BOOLEAN before Oracle 23ai). -#}
{% macro marina_flag(value) -%}
  cast({{ value }} as numeric(1,0))
{%- endmacro %}

{#- A boolean-ish audit column (BOOLEAN in DuckDB, NUMBER(1)/text in Oracle) tested for true. -#}
{% macro marina_is_true(expr) %}
  {{ return(adapter.dispatch('marina_is_true', 'marina')(expr)) }}
{% endmacro %}

{% macro default__marina_is_true(expr) -%}
  lower(cast({{ expr }} as varchar)) in ('1', 'true', 't', 'y', 'yes')
{%- endmacro %}

{% macro oracle__marina_is_true(expr) -%}
  LOWER(TO_CHAR({{ expr }})) IN ('1', 'true', 't', 'y', 'yes')
{%- endmacro %}
