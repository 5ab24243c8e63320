{#-
  The one incremental DW macro (design.md §5). Each run selects only the rows that change:
    * upserts:   new keys, keys whose row hash changed, keys that came back after a soft delete;
    * deletions: DW keys not yet deleted that are absent from the staging snapshot and were not
                 rejected in that export (STG_MARINA_REJECTS), only when staging holds a snapshot.
  Unchanged rows are not selected, so the merge on DW_ID never touches them.
  Duplicate keys inside one export: the highest SDC_ROW_NUMBER wins.

  A catalog column added since the DW table was built (schema evolution) is not yet in the
  table when this SQL runs: dbt adds it after (on_schema_change: append_new_columns). So the
  deletions, which copy the DW row, give it NULL, cast to the staging view's type of it (both
  branches of the UNION ALL then have the same types on Oracle: no ORA-01790). The columns of
  both relations are read in one query, on incremental runs only (a DW table whose columns are
  not found, as in dbt's unit tests, where `this` is a fixture, is taken to have them all).

  Cost: the change detection runs on narrow rows (key, DW_ID, SDC_ROW_NUMBER, SDC_ROW_HASH); the
  business columns are read only for the keys that change (incremental run) or, on the first
  run, ranked only for the DW_IDs that occur more than once in the export. Same rows as ranking
  every staging row: a DW_ID is a function of the key, so a key's rows are kept or left out
  together, and the latest row of every kept key is the same. The staging rows are written out
  as subqueries, not as CTEs referenced twice (which a database may materialize with every
  column).

  staging:     ref() of the stg_ view          system/table: e.g. 'molo' / 'slips' (for DW_ID)
  stream:      catalog stream ('molo_slips')   key_columns: [[name, oracle_type], ...]
  columns:     business column names in catalog order (a list, or one string of names), written
               as SQL must write them ('"ROWS"' for an Oracle reserved word)
-#}
{% macro marina_dw_table(staging, system, table, stream, key_columns, columns) -%}
{%- set rejects = source('marina', 'STG_MARINA_REJECTS') -%}
{#- parsing only records ref/source/config (the staging ref is the caller's argument) -#}
{%- if not execute -%}{{ return('') }}{%- endif -%}
{%- set columns = marina_column_names(columns) -%}
{%- set run_ts = marina_run_timestamp() -%}
{%- set key_names = key_columns | map(attribute=0) | list -%}
{%- set dw_id = marina_dw_id(system, table, key_columns) -%}
{%- set latest_rank -%}
row_number() over (partition by {{ key_names | join(', ') }} order by SDC_ROW_NUMBER desc, SDC_ROW_HASH desc)
{%- endset -%}
{#- every staging row with its DW_ID (a subquery; used where business columns are needed) -#}
{%- set stg_rows -%}
(
        select
            {%- for c in columns %}
            {{ c }},
            {%- endfor %}
            SDC_SOURCE_KEY,
            SDC_ROW_NUMBER,
            SDC_ROW_HASH,
            {{ dw_id }} as DW_ID
        from {{ staging }}
    )
{%- endset -%}

with stg_keys as (
    select
        {%- for k in key_names %}
        {{ k }},
        {%- endfor %}
        SDC_ROW_NUMBER,
        SDC_ROW_HASH,
        {{ dw_id }} as DW_ID
    from {{ staging }}
)

{%- if not is_incremental() %},

stg_duplicate_ids as (
    select DW_ID
    from stg_keys
    group by DW_ID
    having count(*) > 1
),

stg_latest as (
    select
        {{ marina_latest_row_columns('s', columns) }}
    from {{ stg_rows }} s
    where not exists (
        select 1 from stg_duplicate_ids d where d.DW_ID = s.DW_ID
    )
    union all
    {{ marina_latest_rows(stg_rows, columns, latest_rank, 'stg_duplicate_ids') }}
)

select
    {%- for c in columns %}
    {{ c }},
    {%- endfor %}
    DW_ID,
    SDC_ROW_HASH as DW_ROW_HASH,
    {{ run_ts }} as DW_LAST_INSERTED,
    {{ run_ts }} as DW_LAST_UPDATED,
    {{ marina_flag(0) }} as DW_IS_DELETED,
    {{ marina_null_timestamp() }} as DW_DELETED_AT,
    SDC_SOURCE_KEY as DW_SOURCE_KEY
from stg_latest

{%- else %},
{%- set known = marina_columns_of([this, staging]) -%}
{%- set dw_columns = known.get(this.identifier | upper, {}) -%}
{%- set stg_types = known.get(staging.identifier | upper, {}) %}

stg_latest_keys as (
    select DW_ID, SDC_ROW_HASH
    from (
        select
            DW_ID,
            SDC_ROW_HASH,
            {{ latest_rank }} as DW_ROW_RANK
        from stg_keys
    ) k
    where DW_ROW_RANK = 1
),

{#- the latest row's hash goes along, so that two keys with one DW_ID could not mix #}
changed_keys as (
    select
        s.DW_ID,
        s.SDC_ROW_HASH,
        t.DW_LAST_INSERTED
    from stg_latest_keys s
    left join {{ this }} t
        on t.DW_ID = s.DW_ID
    where t.DW_ID is null
       or t.DW_IS_DELETED = 1
       or coalesce(t.DW_ROW_HASH, '-') <> coalesce(s.SDC_ROW_HASH, '-')
),

stg_export as (
    select max(SDC_SOURCE_KEY) as SOURCE_KEY
    from {{ staging }}
),

upserts as (
    select
        {%- for c in columns %}
        s.{{ c }},
        {%- endfor %}
        s.DW_ID,
        s.SDC_ROW_HASH as DW_ROW_HASH,
        coalesce(c.DW_LAST_INSERTED, {{ run_ts }}) as DW_LAST_INSERTED,
        {{ run_ts }} as DW_LAST_UPDATED,
        {{ marina_flag(0) }} as DW_IS_DELETED,
        {{ marina_null_timestamp() }} as DW_DELETED_AT,
        s.SDC_SOURCE_KEY as DW_SOURCE_KEY
    from (
    {{ marina_latest_rows(stg_rows, columns, latest_rank, 'changed_keys') }}
    ) s
    join changed_keys c
        on c.DW_ID = s.DW_ID
       and coalesce(c.SDC_ROW_HASH, '-') = coalesce(s.SDC_ROW_HASH, '-')
),

{#- live DW keys absent from staging (narrow); the rejects are looked up for these only #}
dw_missing as (
    select d.DW_ID
    from {{ this }} d
    where d.DW_IS_DELETED = 0
      and not exists (
          select 1 from stg_keys s where s.DW_ID = d.DW_ID
      )
),

deletions as (
    select
        {%- for c in columns %}
        {%- set name = marina_unquoted(c) %}
        {% if name in dw_columns or not dw_columns %}t.{{ c }}{% else %}cast(null as {{ stg_types.get(name, 'varchar') }}) as {{ c }}{% endif %},
        {%- endfor %}
        t.DW_ID,
        t.DW_ROW_HASH,
        t.DW_LAST_INSERTED,
        t.DW_LAST_UPDATED,
        {{ marina_flag(1) }} as DW_IS_DELETED,
        {{ run_ts }} as DW_DELETED_AT,
        e.SOURCE_KEY as DW_SOURCE_KEY
    from {{ this }} t
    cross join stg_export e
    where e.SOURCE_KEY is not null
      and t.DW_IS_DELETED = 0
      and t.DW_ID in (select DW_ID from dw_missing)
      and not exists (
          select 1
          from {{ rejects }} r
          where {{ marina_as_text('r.TABLE_NAME') }} = '{{ stream }}'
            and {{ marina_as_text('r.SOURCE_KEY') }} = e.SOURCE_KEY
            and {{ marina_as_text('r.RECORD_KEY') }} = {{ marina_record_key(key_columns, 't.') }}
      )
)

select * from upserts
union all
select * from deletions
{%- endif %}
{%- endmacro %}


{#- For marina_dw_table: the latest staging row (business columns, DW_ID, hash, export) of each
    DW_ID listed by the CTE `ids` (the first run's duplicated IDs, an incremental run's changed
    keys). stg_rows: the staging subquery with DW_ID; latest_rank: the row_number() ranking. -#}
{% macro marina_latest_rows(stg_rows, columns, latest_rank, ids) -%}
select
        {{ marina_latest_row_columns('r', columns) }}
    from (
        select
            {{ marina_latest_row_columns('s', columns) }},
            {{ latest_rank }} as DW_ROW_RANK
        from {{ stg_rows }} s
        where s.DW_ID in (select DW_ID from {{ ids }})
    ) r
    where r.DW_ROW_RANK = 1
{%- endmacro %}


{#- The columns a latest staging row carries in marina_dw_table: the business columns, DW_ID,
    the row hash and the export, of the relation `alias`. -#}
{% macro marina_latest_row_columns(alias, columns) -%}
{%- for c in columns %}{{ alias }}.{{ c }}, {% endfor -%}
{{ alias }}.DW_ID, {{ alias }}.SDC_ROW_HASH, {{ alias }}.SDC_SOURCE_KEY
{%- endmacro %}
