{#-
  DuckDB-only replacements of dbt macros, for speed. dbt runs every model's Python and Jinja
  under one interpreter lock, so on a small machine the ~180 models of `dbt run` are bound by
  per-model overhead rather than by DuckDB. Each replacement builds the same relations as the
  macro it replaces, with fewer statements and adapter calls. Oracle keeps dbt's own macros.
-#}

{#- Views (staging views, view marts): one CREATE OR REPLACE VIEW instead of dbt's default
    (begin, create <name>__dbt_tmp, rename the old view to <name>__dbt_backup, rename the new one,
    commit, drop the backup: seven statements and three adapter calls). DuckDB replaces a view
    atomically, so without hooks or grants (which run in dbt's transaction) the statement runs on
    its own. When a relation of another type (a table) holds the name, dbt's default
    materialization does the swap. -#}
{%- materialization view, adapter='duckdb' -%}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- if existing_relation is not none and not existing_relation.is_view -%}
    {{ return(materialization_view_default()) }}
  {%- endif -%}
  {%- set target_relation = this.incorporate(type='view') -%}
  {%- set grant_config = config.get('grants') -%}
  {%- set in_transaction = true if (pre_hooks or post_hooks or grant_config) else false -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {% call statement('main', auto_begin=in_transaction) -%}
    {{ marina_duckdb_create_or_replace_view(target_relation, sql) }}
  {%- endcall %}

  {% set should_revoke = should_revoke(existing_relation, full_refresh_mode=True) %}
  {% do apply_grants(target_relation, grant_config, should_revoke=should_revoke) %}
  {% do persist_docs(target_relation, model) %}

  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {% if in_transaction %}
    {{ adapter.commit() }}
  {% endif %}
  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}
{%- endmaterialization -%}

{#- dbt-duckdb's duckdb__create_view_as, with OR REPLACE. -#}
{% macro marina_duckdb_create_or_replace_view(relation, sql) -%}
  {%- set contract_config = config.get('contract') -%}
  {%- if contract_config.enforced -%}
    {{ get_assert_columns_equivalent(sql) }}
  {%- endif -%}
  {%- set sql_header = config.get('sql_header', none) -%}
  {{ sql_header if sql_header is not none }}
  create or replace view {{ relation }} as (
    {{ sql }}
  );
{%- endmacro %}

{#- Incremental models (on_schema_change): dbt's default__check_for_schema_changes, with both
    column lists read by one query in the model's own context. dbt reads them with two calls of
    adapter.get_columns_in_relation, each a DESCRIBE in a freshly built macro context (tens of ms
    of CPU per call, two calls per DW model). -#}
{% macro duckdb__check_for_schema_changes(source_relation, target_relation) %}

  {% set schema_changed = False %}

  {%- set both = marina_duckdb_columns_of_two(source_relation, target_relation) -%}
  {%- set source_columns = both[0] -%}
  {%- set target_columns = both[1] -%}
  {%- set source_not_in_target = diff_columns(source_columns, target_columns) -%}
  {%- set target_not_in_source = diff_columns(target_columns, source_columns) -%}

  {% set new_target_types = diff_column_data_types(source_columns, target_columns) %}

  {% if source_not_in_target != [] %}
    {% set schema_changed = True %}
  {% elif target_not_in_source != [] or new_target_types != [] %}
    {% set schema_changed = True %}
  {% elif new_target_types != [] %}
    {% set schema_changed = True %}
  {% endif %}

  {% set changes_dict = {
    'schema_changed': schema_changed,
    'source_not_in_target': source_not_in_target,
    'target_not_in_source': target_not_in_source,
    'source_columns': source_columns,
    'target_columns': target_columns,
    'new_target_types': new_target_types
  } %}

  {% set msg %}
    In {{ target_relation }}:
        Schema changed: {{ schema_changed }}
        Source columns not in target: {{ source_not_in_target }}
        Target columns not in source: {{ target_not_in_source }}
        New column types: {{ new_target_types }}
  {% endset %}

  {% do log(msg) %}

  {{ return(changes_dict) }}

{% endmacro %}

{#- The columns of two relations, as dbt-duckdb's get_columns_in_relation reads each (DESCRIBE,
    in column order): [first's columns, second's columns]. -#}
{% macro marina_duckdb_columns_of_two(first, second) %}
  {% call statement('marina_columns_of_two', fetch_result=True) %}
      select SIDE, POS, column_name, data_type, character_maximum_length, numeric_precision, numeric_scale
      from (
          select 0 as SIDE, row_number() over () as POS, column_name, column_type as data_type,
                 cast(null as bigint) as character_maximum_length,
                 cast(null as bigint) as numeric_precision,
                 cast(null as bigint) as numeric_scale
          from (describe {{ first.render() }})
          union all
          select 1, row_number() over (), column_name, column_type, null, null, null
          from (describe {{ second.render() }})
      ) c
      order by SIDE, POS
  {% endcall %}
  {%- set out = [[], []] -%}
  {%- for row in load_result('marina_columns_of_two').table -%}
    {%- do out[0 if row[0] == 0 else 1].append(api.Column(row[2], row[3], row[4], row[5], row[6])) -%}
  {%- endfor -%}
  {{ return(out) }}
{% endmacro %}

{#- dbt's default__diff_column_data_types (source columns whose type differs from the target
    column of the same name), with the target columns looked up by name in a dict instead of a
    selectattr scan per source column (quadratic: ~10,000 Jinja tests for a 100-column table). -#}
{% macro duckdb__diff_column_data_types(source_columns, target_columns) %}
  {%- set target_by_name = {} -%}
  {%- for tc in target_columns -%}
    {%- if tc.name not in target_by_name -%}
      {%- do target_by_name.update({tc.name: tc}) -%}
    {%- endif -%}
  {%- endfor -%}
  {% set result = [] %}
  {% for sc in source_columns %}
    {% set tc = target_by_name.get(sc.name) %}
    {% if tc %}
      {% if sc.expanded_data_type != tc.expanded_data_type and not sc.can_expand_to(other_column=tc) %}
        {{ result.append( { 'column_name': tc.name, 'new_type': sc.expanded_data_type } ) }}
      {% endif %}
    {% endif %}
  {% endfor %}

  {{ return(result) }}

{% endmacro %}
