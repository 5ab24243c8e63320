{#-
  DW_ETL_RUN_LOG: one row per dbt invocation and DW model executed in it, written at the end of
  every `dbt run` / `dbt build` by the on-run-end hooks (dbt_project.yml):

      on-run-end:
        - "{{ marina_run_log_create() }}"       create the table when missing (model not selected)
        - "{{ marina_run_log(results) }}"       one INSERT ... SELECT (UNION ALL over the DW models)

  Driven by the invocation's `results`, with nothing per table: a DW model is a model tagged
  `dw` with a `stream` in config.meta (the generated DW models). For each one, the row holds
    * the dbt outcome: status, message, execution time, failed tests attached to the model;
    * the export in staging (max SDC_SOURCE_KEY and row count of the STG_ table behind its staging
      view) and the latest completed load-audit row for (TABLE_NAME = stream, SOURCE_KEY = that key);
    * the DW counts from the audit columns against this invocation's run timestamp
      (marina_run_timestamp): inserted DW_LAST_INSERTED = ts; updated DW_LAST_UPDATED = ts and
      DW_LAST_INSERTED <> ts; deleted DW_DELETED_AT = ts; unchanged DW_IS_DELETED = 0 and
      DW_LAST_UPDATED <> ts.
  Columns and types come from models/ops/dw_etl_run_log.yml (the model dw_etl_run_log).
  Oracle: the INSERT runs in a PL/SQL block with COMMIT (dbt runs hooks outside a transaction and
  dbt-oracle does not autocommit).
-#}

{#- The graph node of the model dw_etl_run_log (for its relation and YAML columns). -#}
{% macro marina_run_log_node() %}
  {%- for node in graph.nodes.values() -%}
    {%- if node.resource_type == 'model' and node.package_name == project_name and node.name == 'dw_etl_run_log' -%}
      {{ return(node) }}
    {%- endif -%}
  {%- endfor -%}
  {{ exceptions.raise_compiler_error("marina: the model dw_etl_run_log is missing (models/ops)") }}
{% endmacro %}

{% macro marina_run_log_relation() %}
  {%- set node = marina_run_log_node() -%}
  {{ return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias, type='table')) }}
{% endmacro %}

{#- [{name, data_type}] of the run log, in YAML order; every column needs a data_type. -#}
{% macro marina_run_log_columns(columns=none) %}
  {%- set columns = columns if columns is not none else (marina_run_log_node().columns.values() | list) -%}
  {%- for c in columns if not c.data_type -%}
    {{ exceptions.raise_compiler_error("marina: dw_etl_run_log.yml column " ~ c.name ~ " has no data_type") }}
  {%- endfor -%}
  {{ return(columns) }}
{% endmacro %}

{#- Warehouse type of a catalog-style Oracle type (NUMBER(p,s), VARCHAR2(n), TIMESTAMP). -#}
{% macro marina_sql_type(oracle_type) %}
  {{ return(adapter.dispatch('marina_sql_type', 'marina')(oracle_type)) }}
{% endmacro %}

{% macro default__marina_sql_type(oracle_type) %}
  {%- set t = marina_parse_type(oracle_type) -%}
  {%- if t.base == 'NUMBER' and t.scale == 0 and t.precision is not none and t.precision <= 18 -%}
    {{ return('bigint') }}
  {%- elif t.base == 'NUMBER' and t.precision is not none -%}
    {{ return('decimal(' ~ t.precision ~ ',' ~ t.scale ~ ')') }}
  {%- elif t.base == 'TIMESTAMP' -%}
    {{ return('timestamp') }}
  {%- elif t.base in ('VARCHAR2', 'NVARCHAR2') -%}
    {{ return('varchar') }}
  {%- endif -%}
  {{ exceptions.raise_compiler_error("marina: unsupported run-log type '" ~ oracle_type ~ "'") }}
{% endmacro %}

{% macro oracle__marina_sql_type(oracle_type) %}
  {{ return(oracle_type | upper) }}
{% endmacro %}

{% macro marina_typed_null(oracle_type) -%}
  cast(null as {{ marina_sql_type(oracle_type) }})
{%- endmacro %}

{#- Text literal; None and '' become a typed NULL ('' is NULL in Oracle anyway). -#}
{% macro marina_text_literal(value) -%}
  {%- if value is none or (value | string) == '' -%}
    {{ marina_typed_null('VARCHAR2(4000)') }}
  {%- else -%}
    '{{ value | string | replace("'", "''") }}'
  {%- endif -%}
{%- endmacro %}

{% macro marina_number_literal(value) -%}
  {%- if value is none -%}{{ marina_typed_null('NUMBER(18,3)') }}{%- else -%}{{ value }}{%- endif -%}
{%- endmacro %}

{#- Seconds between two timestamps, as a number. -#}
{% macro marina_seconds_between(start, finish) %}
  {{ return(adapter.dispatch('marina_seconds_between', 'marina')(start, finish)) }}
{% endmacro %}

{% macro default__marina_seconds_between(start, finish) -%}
  date_diff('microsecond', {{ start }}, {{ finish }}) / 1000000.0
{%- endmacro %}

{% macro oracle__marina_seconds_between(start, finish) -%}
  (EXTRACT(DAY FROM ({{ finish }} - {{ start }})) * 86400 + EXTRACT(HOUR FROM ({{ finish }} - {{ start }})) * 3600
   + EXTRACT(MINUTE FROM ({{ finish }} - {{ start }})) * 60 + EXTRACT(SECOND FROM ({{ finish }} - {{ start }})))
{%- endmacro %}

{#- A count as text with thousands separators (1,497), for messages. -#}
{% macro marina_format_count(expr) %}
  {{ return(adapter.dispatch('marina_format_count', 'marina')(expr)) }}
{% endmacro %}

{% macro default__marina_format_count(expr) -%}
  format('{:,}', cast({{ expr }} as bigint))
{%- endmacro %}

{% macro oracle__marina_format_count(expr) -%}
  to_char({{ expr }}, 'FM999,999,999,999,990')
{%- endmacro %}

{#- FROM clause of a one-row SELECT without a table. -#}
{% macro marina_from_one_row() %}
  {{ return(adapter.dispatch('marina_from_one_row', 'marina')()) }}
{% endmacro %}

{% macro default__marina_from_one_row() %}{{ return('') }}{% endmacro %}

{% macro oracle__marina_from_one_row() %}{{ return('from DUAL') }}{% endmacro %}

{#- The table's shape without rows (the model's SQL, and the CREATE TABLE of the hook). -#}
{% macro marina_run_log_empty_select(columns=none) -%}
select
{%- for c in marina_run_log_columns(columns) %}
    {{ marina_typed_null(c.data_type) }} as {{ c.name }}{{ ',' if not loop.last }}
{%- endfor %}
from {{ source('marina', 'STG_MARINA_LOAD_AUDIT') }}
where 1 = 0
{%- endmacro %}

{#- DW models executed in this invocation: results of models tagged dw with a meta `stream`. -#}
{% macro marina_run_log_results(results) %}
  {%- set dw = [] -%}
  {%- for r in results or [] -%}
    {%- if r.node.resource_type == 'model' and 'dw' in r.node.tags and (r.node.config.meta or {}).get('stream') -%}
      {%- do dw.append(r) -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(dw) }}
{% endmacro %}

{#- Hook 1: create the table when it is missing and this invocation executed DW models. The
    statement itself is idempotent too (a stale relation cache must not fail the run). -#}
{% macro marina_run_log_create() %}
  {%- if not execute or not marina_run_log_results(results) -%}{{ return('') }}{%- endif -%}
  {%- set rel = marina_run_log_relation() -%}
  {%- if adapter.get_relation(database=rel.database, schema=rel.schema, identifier=rel.identifier) is not none -%}
    {{ return('') }}
  {%- endif -%}
  {{ return(adapter.dispatch('marina_create_table_if_missing', 'marina')(rel, marina_run_log_empty_select())) }}
{% endmacro %}

{% macro default__marina_create_table_if_missing(relation, select_sql) %}
  {{ return('create table if not exists ' ~ relation ~ ' as ' ~ select_sql) }}
{% endmacro %}

{% macro oracle__marina_create_table_if_missing(relation, select_sql) %}
  {#- ORA-00955: name is already used by an existing object -#}
  {{ return("BEGIN\n  EXECUTE IMMEDIATE '" ~ ('create table ' ~ relation ~ ' as ' ~ select_sql) | replace("'", "''")
            ~ "';\nEXCEPTION WHEN OTHERS THEN\n  IF SQLCODE != -955 THEN RAISE; END IF;\nEND;") }}
{% endmacro %}

{#- Hook 2: the INSERT of this invocation's rows. -#}
{% macro marina_run_log(results) %}
  {%- set dw_results = marina_run_log_results(results) if execute else [] -%}
  {%- if not dw_results -%}{{ return('') }}{%- endif -%}
  {{ return(adapter.dispatch('marina_run_log_statement', 'marina')(marina_run_log_insert(results, dw_results))) }}
{% endmacro %}

{% macro default__marina_run_log_statement(insert_sql) %}{{ return(insert_sql) }}{% endmacro %}

{% macro oracle__marina_run_log_statement(insert_sql) %}
  {{ return('BEGIN\n' ~ insert_sql ~ ';\nCOMMIT;\nEND;') }}
{% endmacro %}

{#- Failed/errored tests (data and unit) per model unique_id. -#}
{% macro marina_run_log_failed_tests(results) %}
  {%- set failed = {} -%}
  {%- for r in results or [] -%}
    {%- if r.node.resource_type in ('test', 'unit_test') and marina_status_text(r.status) in ('fail', 'error') -%}
      {%- set attached = r.node.attached_node if r.node.attached_node is defined and r.node.attached_node else none -%}
      {%- set targets = [attached] if attached else r.node.depends_on.nodes -%}
      {%- for uid in targets -%}
        {%- do failed.update({uid: failed.get(uid, 0) + 1}) -%}
      {%- endfor -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(failed) }}
{% endmacro %}

{#- 'success', 'error', 'skipped', 'fail' ... of a RunResult status. -#}
{% macro marina_status_text(status) %}
  {{ return((status | string).split('.')[-1] | lower) }}
{% endmacro %}

{#- The staging table behind a DW model: the source of its staging view (the model's one model
    dependency), and the system (that source's name). The loader's table, not the view, so that a
    broken view (say, a renamed column) cannot stop the run log from being written. -#}
{% macro marina_run_log_staging(node) %}
  {%- set found = {'relation': none, 'system': none} -%}
  {%- for uid in node.depends_on.nodes if uid.startswith('model.') and uid in graph.nodes -%}
    {%- for src_id in graph.nodes[uid].depends_on.nodes if src_id.startswith('source.') and src_id in graph.sources -%}
      {%- set src = graph.sources[src_id] -%}
      {%- do found.update({'system': src.source_name,
                           'relation': adapter.get_relation(database=src.database, schema=src.schema, identifier=src.identifier)}) -%}
    {%- endfor -%}
  {%- endfor -%}
  {{ return(found) }}
{% endmacro %}

{% macro marina_run_log_insert(results, dw_results) -%}
{%- set log = marina_run_log_relation() -%}
{%- set columns = marina_run_log_columns() | map(attribute='name') | list -%}
{%- set audit = source('marina', 'STG_MARINA_LOAD_AUDIT') -%}
{%- set ts = marina_run_timestamp() -%}
{%- set now = modules.datetime.datetime.now(modules.pytz.utc).strftime('%Y-%m-%d %H:%M:%S.%f') -%}
{%- set failed_tests = marina_run_log_failed_tests(results) -%}
insert into {{ log }} ({{ columns | join(', ') }})
with audit_latest as (
    select TABLE_NAME, SOURCE_KEY, RUN_ID, EXPORTED_AT, ROWS_READ, ROWS_REJECTED, ROWS_EMITTED,
           STARTED_AT, FINISHED_AT
    from (
        select
            {{ marina_as_text('TABLE_NAME') }} as TABLE_NAME,
            {{ marina_as_text('SOURCE_KEY') }} as SOURCE_KEY,
            {{ marina_as_text('RUN_ID') }} as RUN_ID,
            EXPORTED_AT, ROWS_READ, ROWS_REJECTED, ROWS_EMITTED, STARTED_AT, FINISHED_AT,
            row_number() over (
                partition by {{ marina_as_text('TABLE_NAME') }}, {{ marina_as_text('SOURCE_KEY') }}
                order by FINISHED_AT desc, STARTED_AT desc
            ) as AUDIT_RANK
        from {{ audit }}
        where {{ marina_is_true('COMPLETED') }}
    ) audit_ranked
    where AUDIT_RANK = 1
),
merged_before as (
    {#- exports merged by earlier successful runs (hook 1 has created the table by now) #}
    select distinct TABLE_NAME, AUDIT_RUN_ID, SOURCE_KEY
    from {{ log }}
    where MODEL_STATUS = 'success'
),
{#- One branch per DW model: what dbt reported, the export in staging and the DW counts. The
    load audit is joined once, below: a join per branch made the statement slow to plan. #}
dw_runs as (
{%- for r in dw_results %}
{%- set node = r.node -%}
{%- set staging = marina_run_log_staging(node) -%}
{#- a DW model that succeeded has its table; only for the others ask the relation cache (a scan
    of every relation in the schema per call) #}
{%- if marina_status_text(r.status) == 'success' -%}
  {%- set dw = api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias, type='table') -%}
{%- else -%}
  {%- set dw = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias) -%}
{%- endif -%}
{%- set message = (r.message or '') | string -%}
{%- set branch = {
    'SYSTEM': marina_text_literal(staging.system),
    'TABLE_NAME': marina_text_literal(node.config.meta.stream),
    'MODEL_NAME': marina_text_literal(node.name),
    'DW_TABLE': marina_text_literal(node.alias),
    'MODEL_STATUS': marina_text_literal(marina_status_text(r.status)),
    'MODEL_MESSAGE': marina_text_literal(message[:1000]),
    'DBT_SECONDS': marina_number_literal((r.execution_time or 0) | round(3)),
    'TESTS_FAILED': marina_number_literal(failed_tests.get(node.unique_id, 0)),
} %}
    {{ 'select' if loop.first else 'union all\n    select' }}
        {%- for c, expr in branch.items() %}
        {{ expr }} as {{ c }},
        {%- endfor %}
        s.SOURCE_KEY, s.ROWS_STAGED,
        d.DW_ROWS_INSERTED, d.DW_ROWS_UPDATED, d.DW_ROWS_DELETED, d.DW_ROWS_UNCHANGED
    from (
        {%- if staging.relation is not none %}
        select max({{ marina_as_text('SDC_SOURCE_KEY') }}) as SOURCE_KEY, count(*) as ROWS_STAGED from {{ staging.relation }}
        {%- else %}
        select {{ marina_typed_null('VARCHAR2(1024)') }} as SOURCE_KEY, {{ marina_typed_null('NUMBER(18,0)') }} as ROWS_STAGED {{ marina_from_one_row() }}
        {%- endif %}
    ) s
    cross join (
        {%- if dw is not none %}
        select
            coalesce(sum(case when DW_LAST_INSERTED = {{ ts }} then 1 else 0 end), 0) as DW_ROWS_INSERTED,
            coalesce(sum(case when DW_LAST_UPDATED = {{ ts }} and DW_LAST_INSERTED <> {{ ts }} then 1 else 0 end), 0) as DW_ROWS_UPDATED,
            coalesce(sum(case when DW_DELETED_AT = {{ ts }} then 1 else 0 end), 0) as DW_ROWS_DELETED,
            coalesce(sum(case when DW_IS_DELETED = 0 and DW_LAST_UPDATED <> {{ ts }} then 1 else 0 end), 0) as DW_ROWS_UNCHANGED
        from {{ dw }}
        {%- else %}
        select
            {%- for c in ('DW_ROWS_INSERTED', 'DW_ROWS_UPDATED', 'DW_ROWS_DELETED', 'DW_ROWS_UNCHANGED') %}
            {{ marina_typed_null('NUMBER(18,0)') }} as {{ c }}{{ ',' if not loop.last }}
            {%- endfor %}
        {{ marina_from_one_row() }}
        {%- endif %}
    ) d
{%- endfor %}
)
{%- set row = {
    'DBT_INVOCATION_ID': marina_text_literal(invocation_id),
    'RUN_STARTED_AT': ts,
    'LOGGED_AT': adapter.dispatch('marina_run_timestamp', 'marina')(now),
    'DBT_COMMAND': marina_text_literal(flags.WHICH),
    'SYSTEM': 'r.SYSTEM',
    'TABLE_NAME': 'r.TABLE_NAME',
    'MODEL_NAME': 'r.MODEL_NAME',
    'DW_TABLE': 'r.DW_TABLE',
    'MODEL_STATUS': 'r.MODEL_STATUS',
    'MODEL_MESSAGE': 'r.MODEL_MESSAGE',
    'DBT_SECONDS': 'r.DBT_SECONDS',
    'TESTS_FAILED': 'r.TESTS_FAILED',
    'SOURCE_KEY': 'r.SOURCE_KEY',
    'EXPORT_IS_NEW': "case when a.RUN_ID is null then null when exists (select 1 from merged_before m where m.TABLE_NAME = a.TABLE_NAME and m.AUDIT_RUN_ID = a.RUN_ID and m.SOURCE_KEY = a.SOURCE_KEY) then 0 else 1 end",
    'EXPORTED_AT': 'a.EXPORTED_AT',
    'AUDIT_RUN_ID': 'a.RUN_ID',
    'ROWS_READ': 'a.ROWS_READ',
    'ROWS_REJECTED': 'a.ROWS_REJECTED',
    'ROWS_EMITTED': 'a.ROWS_EMITTED',
    'ROWS_STAGED': 'r.ROWS_STAGED',
    'LOAD_STARTED_AT': 'a.STARTED_AT',
    'LOAD_FINISHED_AT': 'a.FINISHED_AT',
    'LOAD_SECONDS': marina_seconds_between('a.STARTED_AT', 'a.FINISHED_AT'),
    'DW_ROWS_INSERTED': 'r.DW_ROWS_INSERTED',
    'DW_ROWS_UPDATED': 'r.DW_ROWS_UPDATED',
    'DW_ROWS_DELETED': 'r.DW_ROWS_DELETED',
    'DW_ROWS_UNCHANGED': 'r.DW_ROWS_UNCHANGED',
    'NOTE': "case when r.ROWS_STAGED = 0 and r.DW_ROWS_UNCHANGED > 0 then r.TABLE_NAME || ': export has 0 rows, DW keeps ' || " ~ marina_format_count('r.DW_ROWS_UNCHANGED') ~ " || ' live rows' end",
} -%}
{%- if columns | sort != row.keys() | list | sort -%}
  {{ exceptions.raise_compiler_error("marina: run-log columns in dw_etl_run_log.yml " ~ (columns | sort) ~ " differ from the hook's " ~ (row.keys() | list | sort)) }}
{%- endif %}
select
    {%- for c in columns %}
    {{ row[c] }} as {{ c }}{{ ',' if not loop.last }}
    {%- endfor %}
from dw_runs r
left join audit_latest a
    on a.TABLE_NAME = r.TABLE_NAME
   and a.SOURCE_KEY = r.SOURCE_KEY
{%- endmacro %}
