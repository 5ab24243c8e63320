{#- One row per staging row that loses the dedup (a key seen more than once in the export; the
    highest SDC_ROW_NUMBER wins). Meant to run with severity warn: the result count is the number
    of duplicate rows discarded. -#}
{% test marina_duplicate_keys(model, key_columns) %}
with ranked as (
    select
        {{ key_columns | join(', ') }},
        SDC_ROW_NUMBER,
        row_number() over (
            partition by {{ key_columns | join(', ') }}
            order by SDC_ROW_NUMBER desc, SDC_ROW_HASH desc
        ) as KEY_RANK
    from {{ model }}
)
select {{ key_columns | join(', ') }}, SDC_ROW_NUMBER
from ranked
where KEY_RANK > 1
{% endtest %}
