{#- DW_ETL_RUN_LOG (see dw_etl_run_log.yml): the rows are inserted by the on-run-end hook
    marina_run_log. This model only defines the table from its YAML columns, selecting no rows:
    running it creates the table, or adds columns newly declared in the YAML. -#}
{{ config(alias='DW_ETL_RUN_LOG') }}
{{ marina_run_log_empty_select(model.columns.values() | list) }}
