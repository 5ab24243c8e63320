{#- Fails with one row per combination of `columns` that occurs more than once (composite keys). -#}
{% test marina_unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as N_ROWS
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
