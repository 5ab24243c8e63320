{#- Per day, marina location, pier and slip type: occupancy percent (see the YAML). -#}
{{ config(alias='DW_MOLO_DAILY_SLIP_OCCUPANCY_VW') }}
with
{{ marina_molo_slip_day_ctes(reservations=ref('dw_molo_reservations'),
                             statuses=ref('dw_molo_reservation_status'),
                             slips=ref('dw_molo_slips'),
                             locations=ref('dw_molo_marina_locations')) }}

piers as (
    {{ marina_live_names(ref('dw_molo_piers'), 'PIER_ID', 'PIER_NAME') }}
),

slip_types as (
    {{ marina_live_names(ref('dw_molo_slip_types'), 'SLIP_TYPE_ID', 'SLIP_TYPE_NAME') }}
),

counted as (
    select
        s.MARINA_LOCATION_ID,
        s.PIER_ID,
        s.SLIP_TYPE_ID,
        count(*) as SLIPS_COUNTED
    from slips s
    where s.IS_COUNTED = 1
    group by s.MARINA_LOCATION_ID, s.PIER_ID, s.SLIP_TYPE_ID
),

occupied as (
    select
        sd.CALENDAR_DATE,
        sd.MARINA_LOCATION_ID,
        sd.PIER_ID,
        sd.SLIP_TYPE_ID,
        count(distinct sd.SLIP_ID) as SLIPS_OCCUPIED
    from slip_days sd
    where sd.IS_COUNTED = 1
    group by sd.CALENDAR_DATE, sd.MARINA_LOCATION_ID, sd.PIER_ID, sd.SLIP_TYPE_ID
),

grid as (
    select
        d.CALENDAR_DATE,
        c.MARINA_LOCATION_ID,
        c.PIER_ID,
        c.SLIP_TYPE_ID,
        c.SLIPS_COUNTED,
        coalesce(o.SLIPS_OCCUPIED, 0) as SLIPS_OCCUPIED
    from days d
    cross join counted c
    left join occupied o
        on
            d.CALENDAR_DATE = o.CALENDAR_DATE
            and {{ marina_same_key('c.MARINA_LOCATION_ID', 'o.MARINA_LOCATION_ID') }}
            and {{ marina_same_key('c.PIER_ID', 'o.PIER_ID') }}
            and {{ marina_same_key('o.SLIP_TYPE_ID', 'c.SLIP_TYPE_ID') }}
)

select
    g.CALENDAR_DATE,
    g.MARINA_LOCATION_ID,
    loc.LOCATION_NAME,
    g.PIER_ID,
    p.PIER_NAME,
    g.SLIP_TYPE_ID,
    ty.SLIP_TYPE_NAME,
    g.SLIPS_COUNTED,
    g.SLIPS_OCCUPIED,
    round(100.0 * g.SLIPS_OCCUPIED / g.SLIPS_COUNTED, 2) as OCCUPANCY_PERCENT,
    round(
        100.0 * sum(g.SLIPS_OCCUPIED) over (partition by g.CALENDAR_DATE, g.MARINA_LOCATION_ID)
        / sum(g.SLIPS_COUNTED) over (partition by g.CALENDAR_DATE, g.MARINA_LOCATION_ID), 2)
        as LOCATION_OCCUPANCY_PERCENT
from grid g
left join locations loc on g.MARINA_LOCATION_ID = loc.MARINA_LOCATION_ID
left join piers p on g.PIER_ID = p.PIER_ID
left join slip_types ty on g.SLIP_TYPE_ID = ty.SLIP_TYPE_ID
