{#-
  The one incremental DW macro (design.md §5). Each run selects only the rows that change:
    * upserts:   new keys, keys whose row hash changed, keys that came back after a soft delete;
    * deletions: DW keys not yet deleted that are absent from the staging snapshot and were not
                 rejected in that export (STG_MARINA_REJECTS), only when staging holds a snapshot.
  Unchanged rows are not selected, so the merge on DW_ID never touches them.
  Duplicate keys inside one export: the highest SDC_ROW_NUMBER wins.

  staging:     ref() of the stg_ view          system/table: e.g. 'molo' / 'slips' (for DW_ID)
  stream:      catalog stream ('molo_slips')   key_columns: [[name, oracle_type], ...]
  columns:     business column names in catalog order
-#}
{% macro marina_dw_table(staging, system, table, stream, key_columns, columns) -%}
{%- set rejects = source('marina', 'STG_MARINA_REJECTS') -%}
{%- set run_ts = marina_run_timestamp() -%}
{%- set key_names = key_columns | map(attribute=0) | list -%}

with stg_ranked as (
    select
        {%- for c in columns %}
        {{ c }},
        {%- endfor %}
        SDC_SOURCE_KEY,
        SDC_ROW_HASH,
        row_number() over (
            partition by {{ key_names | join(', ') }}
            order by SDC_ROW_NUMBER desc, SDC_ROW_HASH desc
        ) as DW_ROW_RANK
    from {{ staging }}
),

stg_latest as (
    select
        {%- for c in columns %}
        {{ c }},
        {%- endfor %}
        {{ marina_dw_id(system, table, key_columns) }} as DW_ID,
        SDC_ROW_HASH,
        SDC_SOURCE_KEY
    from stg_ranked
    where DW_ROW_RANK = 1
)

{%- if not is_incremental() %}

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

dw_current as (
    select * from {{ this }}
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
        coalesce(t.DW_LAST_INSERTED, {{ run_ts }}) as DW_LAST_INSERTED,
        {{ run_ts }} as DW_LAST_UPDATED,
        {{ marina_flag(0) }} as DW_IS_DELETED,
        {{ marina_null_timestamp() }} as DW_DELETED_AT,
        s.SDC_SOURCE_KEY as DW_SOURCE_KEY
    from stg_latest s
    left join dw_current t
        on t.DW_ID = s.DW_ID
    where t.DW_ID is null
       or t.DW_IS_DELETED = 1
       or coalesce(t.DW_ROW_HASH, '-') <> coalesce(s.SDC_ROW_HASH, '-')
),

deletions as (
    select
        {%- for c in columns %}
        t.{{ c }},
        {%- endfor %}
        t.DW_ID,
        t.DW_ROW_HASH,
        t.DW_LAST_INSERTED,
        t.DW_LAST_UPDATED,
        {{ marina_flag(1) }} as DW_IS_DELETED,
        {{ run_ts }} as DW_DELETED_AT,
        e.SOURCE_KEY as DW_SOURCE_KEY
    from dw_current t
    cross join stg_export e
    where e.SOURCE_KEY is not null
      and t.DW_IS_DELETED = 0
      and not exists (
          select 1 from stg_latest s where s.DW_ID = t.DW_ID
      )
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
