{#- Per live reservation: rate per linear foot of the boat, per night and per month (see the YAML). -#}
{{ config(alias='DW_MOLO_RATE_OVER_LINEAR_FOOT', materialized='table') }}
with
stays as (
    {{ marina_molo_stays(ref('dw_molo_reservations'), ref('dw_molo_reservation_status')) }}
),

boats as (
    select
        b.ID as BOAT_ID,
        {{ marina_length_feet('b.LOA') }} as LENGTH_FT
    from {{ ref('dw_molo_boats') }} b
    where b.DW_IS_DELETED = 0
),

reservation_types as (
    {{ marina_live_names(ref('dw_molo_reservation_types'), 'RESERVATION_TYPE_ID', 'RESERVATION_TYPE_NAME') }}
),

locations as (
    {{ marina_live_names(ref('dw_molo_marina_locations'), 'MARINA_LOCATION_ID', 'LOCATION_NAME') }}
),

measured as (
    select
        st.RESERVATION_ID,
        st.MARINA_LOCATION_ID,
        st.RESERVATION_TYPE_ID,
        st.RESERVATION_STATUS_ID,
        st.STATUS_NAME,
        st.IS_CANCELLED,
        st.SLIP_ID,
        st.BOAT_ID,
        st.ARRIVAL_DAY,
        st.DEPARTURE_DAY,
        st.END_DAY - st.ARRIVAL_DAY as NIGHTS,
        bt.LENGTH_FT,
        st.RATE
    from stays st
    left join boats bt on st.BOAT_ID = bt.BOAT_ID
)

select
    m.RESERVATION_ID,
    m.MARINA_LOCATION_ID,
    loc.LOCATION_NAME,
    m.RESERVATION_TYPE_ID,
    ty.RESERVATION_TYPE_NAME,
    m.RESERVATION_STATUS_ID,
    m.STATUS_NAME as RESERVATION_STATUS_NAME,
    m.IS_CANCELLED,
    m.SLIP_ID,
    m.BOAT_ID,
    m.ARRIVAL_DAY as ARRIVAL_DATE,
    m.DEPARTURE_DAY as DEPARTURE_DATE,
    m.NIGHTS,
    m.LENGTH_FT as BOAT_LENGTH_FT,
    {{ marina_length_band('m.LENGTH_FT') }} as LENGTH_BAND,
    m.RATE,
    round(m.RATE / m.LENGTH_FT, 4) as RATE_PER_LINEAR_FOOT,
    round(m.RATE / m.LENGTH_FT / m.NIGHTS, 4) as RATE_PER_FOOT_PER_NIGHT,
    round(m.RATE / m.LENGTH_FT / m.NIGHTS * {{ marina_days_per_month() }}, 4) as RATE_PER_FOOT_PER_MONTH
from measured m
left join reservation_types ty on m.RESERVATION_TYPE_ID = ty.RESERVATION_TYPE_ID
left join locations loc on m.MARINA_LOCATION_ID = loc.MARINA_LOCATION_ID
