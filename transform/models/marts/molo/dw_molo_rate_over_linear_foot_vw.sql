{#- The reporting view of DW_MOLO_RATE_OVER_LINEAR_FOOT: cancelled reservations left out (see the YAML). -#}
{{ config(alias='DW_MOLO_RATE_OVER_LINEAR_FOOT_VW') }}
select r.*
from {{ ref('dw_molo_rate_over_linear_foot') }} r
where r.IS_CANCELLED = 0
