{#- Per day, marina location and boat length band: boats in slips and linear feet (see the YAML). -#}
{{ config(alias='DW_MOLO_DAILY_BOAT_LENGTHS_VW') }}
with
{{ marina_molo_slip_day_ctes(reservations=ref('dw_molo_reservations'),
                             statuses=ref('dw_molo_reservation_status'),
                             slips=ref('dw_molo_slips'),
                             locations=ref('dw_molo_marina_locations')) }}

boats as (
    select
        b.ID as BOAT_ID,
        {{ marina_length_feet('b.LOA') }} as LENGTH_FT
    from {{ ref('dw_molo_boats') }} b
    where b.DW_IS_DELETED = 0
),

boats_in_slips as (
    {#- one row per day, location and boat; a stay without BOAT_ID is a boat of its own -#}
    select distinct
        sd.CALENDAR_DATE,
        sd.MARINA_LOCATION_ID,
        sd.BOAT_ID,
        case when sd.BOAT_ID is null then sd.RESERVATION_ID end as UNIDENTIFIED_RESERVATION_ID,
        bt.LENGTH_FT
    from slip_days sd
    left join boats bt on sd.BOAT_ID = bt.BOAT_ID
),

banded as (
    select
        bs.CALENDAR_DATE,
        bs.MARINA_LOCATION_ID,
        bs.LENGTH_FT,
        {{ marina_length_band('bs.LENGTH_FT') }} as LENGTH_BAND,
        {{ marina_length_band_order('bs.LENGTH_FT') }} as LENGTH_BAND_ORDER
    from boats_in_slips bs
),

per_band as (
    select
        b.CALENDAR_DATE,
        b.MARINA_LOCATION_ID,
        b.LENGTH_BAND,
        b.LENGTH_BAND_ORDER,
        count(*) as BOATS_IN_SLIPS,
        coalesce(sum(b.LENGTH_FT), 0) as LINEAR_FEET
    from banded b
    group by b.CALENDAR_DATE, b.MARINA_LOCATION_ID, b.LENGTH_BAND, b.LENGTH_BAND_ORDER
)

select
    pb.CALENDAR_DATE,
    pb.MARINA_LOCATION_ID,
    loc.LOCATION_NAME,
    pb.LENGTH_BAND,
    pb.LENGTH_BAND_ORDER,
    pb.BOATS_IN_SLIPS,
    round(pb.LINEAR_FEET, 2) as LINEAR_FEET
from per_band pb
left join locations loc on pb.MARINA_LOCATION_ID = loc.MARINA_LOCATION_ID
