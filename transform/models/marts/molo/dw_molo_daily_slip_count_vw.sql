{#- Per day and marina location: slips counted for occupancy, occupied, available (see the YAML). -#}
{{ config(alias='DW_MOLO_DAILY_SLIP_COUNT_VW') }}
with
{{ marina_molo_slip_day_ctes(reservations=ref('dw_molo_reservations'),
                             statuses=ref('dw_molo_reservation_status'),
                             slips=ref('dw_molo_slips'),
                             locations=ref('dw_molo_marina_locations')) }}

slip_totals as (
    select
        s.MARINA_LOCATION_ID,
        count(*) as SLIPS_TOTAL,
        count(case when s.IS_COUNTED = 1 then 1 end) as SLIPS_COUNTED
    from slips s
    group by s.MARINA_LOCATION_ID
),

occupied as (
    select
        sd.CALENDAR_DATE,
        sd.MARINA_LOCATION_ID,
        count(distinct sd.SLIP_ID) as SLIPS_OCCUPIED
    from slip_days sd
    where sd.IS_COUNTED = 1
    group by sd.CALENDAR_DATE, sd.MARINA_LOCATION_ID
)

select
    d.CALENDAR_DATE,
    t.MARINA_LOCATION_ID,
    loc.LOCATION_NAME,
    t.SLIPS_TOTAL,
    t.SLIPS_TOTAL - t.SLIPS_COUNTED as SLIPS_NOT_COUNTED,
    t.SLIPS_COUNTED,
    coalesce(o.SLIPS_OCCUPIED, 0) as SLIPS_OCCUPIED,
    t.SLIPS_COUNTED - coalesce(o.SLIPS_OCCUPIED, 0) as SLIPS_AVAILABLE
from days d
cross join slip_totals t
left join locations loc on t.MARINA_LOCATION_ID = loc.MARINA_LOCATION_ID
left join occupied o
    on d.CALENDAR_DATE = o.CALENDAR_DATE and {{ marina_same_key('t.MARINA_LOCATION_ID', 'o.MARINA_LOCATION_ID') }}
