{#- Reconciliation of one staging table with the load audit: the latest completed audit row for
    (TABLE_NAME = stream, SOURCE_KEY = the snapshot's SDC_SOURCE_KEY) must report ROWS_EMITTED equal
    to the staging row count. An empty staging table (no export yet) passes. -#}
{% test marina_audit_reconciles(model, stream, audit_relation) %}
with stg_export as (
    select max(SDC_SOURCE_KEY) as SOURCE_KEY, count(*) as STAGED_ROWS
    from {{ model }}
),
audit_rows as (
    select
        {{ marina_as_text('SOURCE_KEY') }} as SOURCE_KEY,
        ROWS_EMITTED,
        row_number() over (
            partition by {{ marina_as_text('SOURCE_KEY') }}
            order by FINISHED_AT desc, STARTED_AT desc
        ) as AUDIT_RANK
    from {{ audit_relation }}
    where {{ marina_as_text('TABLE_NAME') }} = '{{ stream }}'
      and {{ marina_is_true('COMPLETED') }}
)
select e.SOURCE_KEY, e.STAGED_ROWS, a.ROWS_EMITTED
from stg_export e
left join audit_rows a
    on a.SOURCE_KEY = e.SOURCE_KEY
   and a.AUDIT_RANK = 1
where e.STAGED_ROWS > 0
  and (a.ROWS_EMITTED is null or a.ROWS_EMITTED <> e.STAGED_ROWS)
{% endtest %}
