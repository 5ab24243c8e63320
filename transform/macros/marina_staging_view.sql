{#- The lineage columns of a staging view (design.md §2-3), after its business columns: the short
    texts as plain comparable strings (marina_as_text: Oracle keeps them as NCLOB). -#}
{% macro marina_lineage_columns() -%}
    {{ marina_as_text('SDC_SOURCE_KEY') }} as SDC_SOURCE_KEY,
    {{ marina_as_text('SDC_SOURCE_MEMBER') }} as SDC_SOURCE_MEMBER,
    SDC_ROW_NUMBER,
    SDC_EXPORTED_AT,
    SDC_EXTRA,
    {{ marina_as_text('SDC_ROW_HASH') }} as SDC_ROW_HASH,
    SDC_TABLE_VERSION,
    SDC_LOADED_AT
{%- endmacro %}
