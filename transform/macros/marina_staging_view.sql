{#- Staging view over one STG_* table: business columns cast to their catalog types, lineage kept.
    relation: source('<system>', 'STG_...'); columns: list of [name, oracle_type] in catalog order. -#}
{% macro marina_staging_view(relation, columns) -%}
select
{%- for col in columns %}
    {{ marina_cast(col[0], col[1]) }} as {{ col[0] }},
{%- endfor %}
    {{ marina_as_text('SDC_SOURCE_KEY') }} as SDC_SOURCE_KEY,
    {{ marina_as_text('SDC_SOURCE_MEMBER') }} as SDC_SOURCE_MEMBER,
    SDC_ROW_NUMBER,
    SDC_EXPORTED_AT,
    SDC_EXTRA,
    {{ marina_as_text('SDC_ROW_HASH') }} as SDC_ROW_HASH,
    SDC_TABLE_VERSION,
    SDC_LOADED_AT
from {{ relation }}
{%- endmacro %}
