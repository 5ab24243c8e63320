{#-
  History (SCD type 2) of DW tables: the dbt snapshots listed in snapshots/marina_history.yml,
  configured once under `snapshots:` in dbt_project.yml. This file holds what they need beyond
  dbt's own snapshot materialization:
    * adapter overrides of two dbt-namespace macros (dispatch finds root-project macros first);
    * two generic data tests attached to every snapshot.
-#}

{#- dbt_scd_id (DW_VERSION_ID) on Oracle: the project's md5 (STANDARD_HASH ... 'MD5', lower-case hex,
    as DW_ID and as DuckDB's md5), never a 32-bit ORA_HASH: its collisions break the snapshot MERGE
    (ORA-30926; dbt-oracle issues #52, #102, #154). Overrides dbt-oracle's macro of the same name,
    so the id no longer depends on the adapter version (<= 1.8 ORA_HASH, >= 1.9 SHA256 RAW).
    args: SQL expressions, the unique key then the version's timestamp (dbt's check and timestamp
    strategies). The timestamp is written with an explicit format down to microseconds, not in
    the session's NLS_TIMESTAMP_FORMAT: a format without fractional seconds would give two
    versions of a key one id (ORA-30926 in the snapshot MERGE). Stored ids are never recomputed
    (dbt carries them over), so the format may change without touching history. -#}
{% macro oracle__snapshot_hash_arguments(args) -%}
  {%- set parts = [] -%}
  {%- for arg in args -%}
    {%- if loop.first -%}
      {%- do parts.append('TO_CHAR(' ~ arg ~ ')') -%}
    {%- else -%}
      {%- do parts.append('TO_CHAR(' ~ arg ~ ", 'YYYY-MM-DD HH24:MI:SS.FF6')") -%}
    {%- endif -%}
  {%- endfor -%}
  {{ marina_md5(parts | join(" || '|' || ")) }}
{%- endmacro %}

{#- Snapshot time = the run timestamp of the invocation (UTC, or var marina_run_started_at), as
    for the DW columns. Used where dbt has no DW timestamp to take: closing the open version of a
    key that disappeared from the DW table (hard_deletes: invalidate). dbt-duckdb's default
    (current_timestamp::timestamp) would be local time. -#}
{% macro duckdb__snapshot_get_time() -%}
  {{ marina_run_timestamp() }}
{%- endmacro %}

{% macro oracle__snapshot_get_time() -%}
  {{ marina_run_timestamp() }}
{%- endmacro %}

{#- The snapshot behind a relation (generic tests get the relation only): its meta column names
    (snapshot_meta_column_names), unique key and the DW relation it records. -#}
{% macro marina_history_info(relation) %}
  {%- if not execute -%}
    {{ return(none) }}
  {%- endif -%}
  {%- for node in graph.nodes.values()
        if node.resource_type == 'snapshot' and (node.alias or node.name) | upper == relation.identifier | upper -%}
    {%- set names = node.config.get('snapshot_meta_column_names') or {} -%}
    {%- set parent = graph.nodes[node.depends_on.nodes[0]] -%}
    {{ return({
        'key': node.config.unique_key,
        'valid_from': names.get('dbt_valid_from') or 'dbt_valid_from',
        'valid_to': names.get('dbt_valid_to') or 'dbt_valid_to',
        'source': api.Relation.create(database=parent.database, schema=parent.schema,
                                      identifier=parent.alias or parent.name),
    }) }}
  {%- endfor -%}
  {{ exceptions.raise_compiler_error("marina: no snapshot builds " ~ relation) }}
{% endmacro %}

{#- Versions of one key form a chain: valid_from < valid_to, a closed version ends exactly where
    the next one starts (no gap, no overlap), only the latest version may be open. One row per
    offending version. -#}
{% test marina_scd_versions(model) %}
{%- set h = marina_history_info(model) -%}
{%- if h is none %}select 1 as DW_ID{% else -%}
with versions as (
    select
        {{ h.key }} as DW_ID,
        {{ h.valid_from }} as VALID_FROM,
        {{ h.valid_to }} as VALID_TO,
        lead({{ h.valid_from }}) over (partition by {{ h.key }} order by {{ h.valid_from }}) as NEXT_VALID_FROM
    from {{ model }}
)
select DW_ID, VALID_FROM, VALID_TO, NEXT_VALID_FROM
from versions
where VALID_TO <= VALID_FROM
   or (VALID_TO is null and NEXT_VALID_FROM is not null)
   or VALID_TO <> NEXT_VALID_FROM
{%- endif %}
{% endtest %}

{#- The open version of every key holds the DW row as it is now (same DW_ROW_HASH and DW_IS_DELETED),
    and no key absent from the DW table has an open version. Fails when the DW changed after the
    last `dbt snapshot` (history behind: run it; `dbt build` runs it after the DW models). -#}
{% test marina_scd_current(model) %}
{%- set h = marina_history_info(model) -%}
{%- if h is none %}select 1 as DW_ID{% else -%}
with open_versions as (
    select {{ h.key }} as DW_ID, DW_ROW_HASH, DW_IS_DELETED
    from {{ model }}
    where {{ h.valid_to }} is null
),
current_rows as (
    select DW_ID, DW_ROW_HASH, DW_IS_DELETED
    from {{ h.source }}
)
select coalesce(c.DW_ID, v.DW_ID) as DW_ID,
       c.DW_ROW_HASH as DW_ROW_HASH, v.DW_ROW_HASH as HIST_ROW_HASH,
       c.DW_IS_DELETED as DW_IS_DELETED, v.DW_IS_DELETED as HIST_IS_DELETED
from current_rows c
full outer join open_versions v
    on v.DW_ID = c.DW_ID
where c.DW_ID is null
   or v.DW_ID is null
   or coalesce(c.DW_ROW_HASH, '-') <> coalesce(v.DW_ROW_HASH, '-')
   or c.DW_IS_DELETED <> v.DW_IS_DELETED
{%- endif %}
{% endtest %}
