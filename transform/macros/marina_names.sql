{#- Names and column types read from the database, written as valid SQL on both engines. Column
    names of the catalog come quoted where Oracle needs it from the generated models
    (scripts/generate_models.py); these macros serve names the database reports. -#}

{#- A column name as SQL must write it: quoted when it is an Oracle reserved word
    (marina_reserved_words, generated from the loader's list) or not a plain identifier; the rule
    of the loader and of generate_models.py. -#}
{% macro marina_ident(name) -%}
  {%- if (' ' ~ name | upper ~ ' ') in marina_reserved_words() or not modules.re.match('^[A-Z][A-Z0-9_$#]*$', name) -%}
    "{{ name }}"
  {%- else -%}
    {{ name }}
  {%- endif -%}
{%- endmacro %}

{#- A name as the generated models write it ('"ROWS"' or 'NAME') -> as the database reports it. -#}
{% macro marina_unquoted(name) -%}
  {{ return(name[1:-1] if name.startswith('"') else name | upper) }}
{%- endmacro %}

{#- Oracle DDL type of a column as ALL_TAB_COLUMNS describes it. NVARCHAR2/NCHAR take their
    length without a CHAR/BYTE qualifier (ORA-00907 otherwise; dbt-oracle's Column.data_type
    writes 'NVARCHAR2(n CHAR)'). -#}
{% macro marina_oracle_type(data_type, char_length, precision, scale) -%}
  {%- set base = data_type | upper -%}
  {%- if base in ('NVARCHAR2', 'NCHAR') -%}
    {{ return(base ~ '(' ~ char_length ~ ')') }}
  {%- elif base in ('VARCHAR2', 'CHAR') -%}
    {{ return(base ~ '(' ~ char_length ~ ' CHAR)') }}
  {%- elif base == 'NUMBER' and precision is not none -%}
    {{ return('NUMBER(' ~ precision ~ ',' ~ (scale or 0) ~ ')') }}
  {%- else -%}
    {{ return(base) }}
  {%- endif -%}
{%- endmacro %}

{#- {COLUMN: type SQL} of each relation, by upper-case identifier, read in one query:
    {'DW_X': {...}, 'STG_...': {...}} (a relation that does not exist is absent). -#}
{% macro marina_columns_of(relations) %}
  {{ return(adapter.dispatch('marina_columns_of', 'marina')(relations)) }}
{% endmacro %}

{% macro default__marina_columns_of(relations) %}
  {%- call statement('marina_columns_of', fetch_result=True) -%}
    select upper(table_name), column_name, data_type
    from duckdb_columns()
    where schema_name = '{{ relations[0].schema }}'
      and upper(table_name) in ({% for r in relations %}'{{ r.identifier | upper }}'{{ ', ' if not loop.last }}{% endfor %})
    order by table_name, column_index
  {%- endcall -%}
  {%- set out = {} -%}
  {%- for row in load_result('marina_columns_of').table -%}
    {%- do out.setdefault(row[0], {}).update({row[1] | upper: row[2]}) -%}
  {%- endfor -%}
  {{ return(out) }}
{% endmacro %}

{% macro oracle__marina_columns_of(relations) %}
  {%- call statement('marina_columns_of', fetch_result=True) -%}
    SELECT table_name, column_name, data_type, char_length, data_precision, data_scale
    FROM all_tab_columns
    WHERE owner = '{{ relations[0].schema | upper }}'
      AND table_name IN ({% for r in relations %}'{{ r.identifier | upper }}'{{ ', ' if not loop.last }}{% endfor %})
    ORDER BY table_name, column_id
  {%- endcall -%}
  {%- set out = {} -%}
  {%- for row in load_result('marina_columns_of').table -%}
    {%- do out.setdefault(row[0], {}).update({row[1]: marina_oracle_type(row[2], row[3], row[4], row[5])}) -%}
  {%- endfor -%}
  {{ return(out) }}
{% endmacro %}

{#- Columns dbt adds to an existing table (incremental on_schema_change: append_new_columns, and
    snapshots): dbt-oracle writes their types with dbt-oracle's Column.data_type, which gives
    'NVARCHAR2(n CHAR)' (ORA-00907). The same ALTERs with valid types and quoted names. -#}
{% macro marina_oracle_column_type(column) -%}
  {{ return(marina_oracle_type(column.dtype, column.char_size, column.numeric_precision, column.numeric_scale)) }}
{%- endmacro %}

{% macro oracle__alter_relation_add_remove_columns(relation, add_columns, remove_columns) %}
  {%- if add_columns -%}
    {%- set add_sql -%}
      ALTER TABLE {{ relation }} ADD ({% for column in add_columns %}{{ marina_ident(column.name) }} {{ marina_oracle_column_type(column) }}{{ ', ' if not loop.last }}{% endfor %})
    {%- endset -%}
    {%- do run_query(add_sql) -%}
  {%- endif -%}
  {%- if remove_columns -%}
    {%- set remove_sql -%}
      ALTER TABLE {{ relation }} DROP ({% for column in remove_columns %}{{ marina_ident(column.name) }}{{ ', ' if not loop.last }}{% endfor %}) CASCADE CONSTRAINTS
    {%- endset -%}
    {%- do run_query(remove_sql) -%}
  {%- endif -%}
{% endmacro %}

{% macro oracle__create_columns(relation, columns) %}
  {%- for column in columns -%}
    {%- call statement() -%}
      ALTER TABLE {{ relation }} ADD ({{ marina_ident(column.name) }} {{ marina_oracle_column_type(column) }})
    {%- endcall -%}
  {%- endfor -%}
{% endmacro %}

{#- post-hook of the DW models: a primary key on DW_ID, added once (when the table has none), so
    the database refuses a duplicate DW_ID and a MERGE on DW_ID finds its rows by index.
    DuckDB: a unique index (CREATE ... IF NOT EXISTS). -#}
{% macro marina_dw_key() %}
  {%- if not execute -%}{{ return('') }}{%- endif -%}
  {{ return(adapter.dispatch('marina_dw_key', 'marina')(this)) }}
{% endmacro %}

{% macro default__marina_dw_key(relation) -%}
  create unique index if not exists {{ relation.identifier }}_PK on {{ relation }} (DW_ID)
{%- endmacro %}

{% macro oracle__marina_dw_key(relation) -%}
  {%- set keys = run_query(
      "SELECT COUNT(*) FROM all_constraints WHERE owner = '" ~ relation.schema | upper ~ "'"
      ~ " AND table_name = '" ~ relation.identifier | upper ~ "' AND constraint_type = 'P'") -%}
  {%- if keys.columns[0].values()[0] == 0 -%}
    ALTER TABLE {{ relation }} ADD CONSTRAINT {{ relation.identifier | upper }}_PK PRIMARY KEY (DW_ID)
  {%- endif -%}
{%- endmacro %}
