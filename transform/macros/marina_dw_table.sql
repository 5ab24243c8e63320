{#-
  The incremental DW logic (design.md §5), in the pieces a generated dw_<system>_<table> model
  puts together around its own column list. Each run selects only the rows that change:
    * upserts:   new keys, keys whose row hash changed, keys that came back after a soft delete
                 (CTE dw_changed_rows, marina_dw_changed_rows);
    * deletions: DW keys not yet deleted that are absent from the staging snapshot and were not
                 rejected in that export (STG_MARINA_REJECTS), only when staging holds a snapshot
                 (CTE dw_deleted_rows, marina_dw_deleted_rows; incremental runs only).
  Unchanged rows are not selected, so the merge on DW_ID never touches them.
  Duplicate keys inside one export: the highest SDC_ROW_NUMBER wins.

  Cost: the change detection runs on narrow rows (key, DW_ID, SDC_ROW_NUMBER, SDC_ROW_HASH); the
  business columns are read only for the keys that change (incremental run) or, on the first
  run, ranked only for the DW_IDs that occur more than once in the export. Same rows as ranking
  every staging row: a DW_ID is a function of the key, so a key's rows are kept or left out
  together, and the latest row of every kept key is the same. Staging rows are written out as
  subqueries, not as CTEs referenced twice (which a database may materialize with every column).

  Arguments: staging, the ref() of the stg_ view; system/table, e.g. 'molo'/'slips' (for DW_ID);
  stream, the catalog stream ('molo_slips'); key_columns, [[name, oracle_type], ...] with the
  names written as SQL must write them ('"ROWS"' for an Oracle reserved word).
-#}

{#- CTEs stg_keys (every staging row's key, DW_ID, row number and hash) and dw_changed_rows: the
    latest staging row of every key to insert or update, with every staging column, DW_ID,
    DW_ROW_RANK and the DW_LAST_INSERTED it keeps (the DW row's, or the run's for a new key). -#}
{% macro marina_dw_changed_rows(staging, system, table, key_columns) -%}
{#- parsing only records ref/source/config (the staging ref is the caller's) -#}
{%- if not execute -%}{{ return('') }}{%- endif -%}
{%- set run_ts = marina_run_timestamp() -%}
{%- set key_names = key_columns | map(attribute=0) | list -%}
{%- set dw_id = marina_dw_id(system, table, key_columns) -%}
{%- set latest_rank -%}
row_number() over (partition by {{ key_names | join(', ') }} order by SDC_ROW_NUMBER desc, SDC_ROW_HASH desc)
{%- endset -%}
{%- set stg_rows -%}
(select st.*, {{ dw_id }} as DW_ID from {{ staging }} st)
{%- endset -%}
stg_keys as (
    select
        {%- for k in key_names %}
        {{ k }},
        {%- endfor %}
        SDC_ROW_NUMBER,
        SDC_ROW_HASH,
        {{ dw_id }} as DW_ID
    from {{ staging }}
),

{%- if not is_incremental() %}

stg_duplicate_ids as (
    select DW_ID
    from stg_keys
    group by DW_ID
    having count(*) > 1
),

dw_changed_rows as (
    select
        s.*,
        1 as DW_ROW_RANK,
        {{ run_ts }} as DW_LAST_INSERTED
    from {{ stg_rows }} s
    where not exists (
        select 1 from stg_duplicate_ids d where d.DW_ID = s.DW_ID
    )
    union all
    select
        r.*,
        {{ run_ts }} as DW_LAST_INSERTED
    from {{ marina_dw_latest_rows(stg_rows, latest_rank, 'stg_duplicate_ids') }} r
)
{%- else %}

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

dw_changed_rows as (
    select
        r.*,
        coalesce(c.DW_LAST_INSERTED, {{ run_ts }}) as DW_LAST_INSERTED
    from {{ marina_dw_latest_rows(stg_rows, latest_rank, 'changed_keys') }} r
    join changed_keys c
        on c.DW_ID = r.DW_ID
       and coalesce(c.SDC_ROW_HASH, '-') = coalesce(r.SDC_ROW_HASH, '-')
)
{%- endif %}
{%- endmacro %}


{#- For marina_dw_changed_rows: a subquery of the latest staging row (with DW_ID and DW_ROW_RANK)
    of each DW_ID listed by the CTE `ids`. -#}
{% macro marina_dw_latest_rows(stg_rows, latest_rank, ids) -%}
(
        select *
        from (
            select
                s.*,
                {{ latest_rank }} as DW_ROW_RANK
            from {{ stg_rows }} s
            where s.DW_ID in (select DW_ID from {{ ids }})
        ) ranked
        where ranked.DW_ROW_RANK = 1
    )
{%- endmacro %}


{#- The DW columns of an upsert, after the business columns, from dw_changed_rows. -#}
{% macro marina_dw_upsert_columns() -%}
    DW_ID,
        SDC_ROW_HASH as DW_ROW_HASH,
        DW_LAST_INSERTED,
        {{ marina_run_timestamp() }} as DW_LAST_UPDATED,
        {{ marina_flag(0) }} as DW_IS_DELETED,
        {{ marina_null_timestamp() }} as DW_DELETED_AT,
        SDC_SOURCE_KEY as DW_SOURCE_KEY
{%- endmacro %}


{#- CTEs stg_export (the export staging holds), dw_missing (live DW keys absent from staging;
    narrow, so that the rejects are looked up for these only) and dw_deleted_rows: the DW rows to
    soft-delete, with every DW column and DW_DELETED_FROM (the export). Needs stg_keys.

    A catalog column added since the DW table was built (schema evolution) is not yet in the
    table when this SQL runs: dbt adds it after (on_schema_change: append_new_columns). So
    dw_deleted_rows gives it NULL, cast to the staging view's type of it (both branches of the
    UNION ALL then have the same types on Oracle: no ORA-01790). The columns of both relations
    are read in one query; a DW table whose columns are not found (dbt's unit tests, where `this`
    is a fixture) is taken to have them all. -#}
{% macro marina_dw_deleted_rows(staging, stream, key_columns, rejects) -%}
{%- if not execute -%}{{ return('') }}{%- endif -%}
{%- set known = marina_columns_of([this, staging]) -%}
{%- set dw_columns = known.get(this.identifier | upper, {}) -%}
{%- set stg_types = known.get(staging.identifier | upper, {}) -%}
stg_export as (
    select max(SDC_SOURCE_KEY) as SOURCE_KEY
    from {{ staging }}
),

dw_missing as (
    select d.DW_ID
    from {{ this }} d
    where d.DW_IS_DELETED = 0
      and not exists (
          select 1 from stg_keys s where s.DW_ID = d.DW_ID
      )
),

dw_deleted_rows as (
    select
        t.*,
        {%- for name, type in stg_types.items() if dw_columns and name not in dw_columns and not name.startswith('SDC_') %}
        cast(null as {{ type }}) as {{ marina_ident(name) }},
        {%- endfor %}
        e.SOURCE_KEY as DW_DELETED_FROM
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
{%- endmacro %}


{#- The DW columns of a soft delete, after the business columns, from dw_deleted_rows: the row
    as it was, flagged, with the time and the export of the deletion. -#}
{% macro marina_dw_deletion_columns() -%}
    DW_ID,
        DW_ROW_HASH,
        DW_LAST_INSERTED,
        DW_LAST_UPDATED,
        {{ marina_flag(1) }} as DW_IS_DELETED,
        {{ marina_run_timestamp() }} as DW_DELETED_AT,
        DW_DELETED_FROM as DW_SOURCE_KEY
{%- endmacro %}
