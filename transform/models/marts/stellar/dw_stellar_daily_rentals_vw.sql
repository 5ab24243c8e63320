{#- Per rental day and Stellar location: bookings, boats rented, revenue, cancellations (see the YAML). -#}
{{ config(alias='DW_STELLAR_DAILY_RENTALS_VW') }}
with
bookings as (
    select
        b.ID as BOOKING_ID,
        b.LOCATION_ID,
        {{ marina_day('b.CREATED_AT') }} as CREATED_DAY,
        case when {{ marina_is_true('trim(b.IS_CANCELED)') }} then 1 else 0 end as IS_CANCELLED,
        coalesce(b.BOATS_TOTAL, 0) as BOATS_TOTAL,
        coalesce(b.ACCESSORIES_TOTAL, 0) as ACCESSORIES_TOTAL,
        coalesce(b.CONVENIENCE_FEE, 0) + coalesce(b.CLUB_FEES, 0) + coalesce(b.PARKING, 0)
        + coalesce(b.PETS, 0) + coalesce(b.INSURANCE_AMOUNT, 0) as FEES_TOTAL,
        coalesce(b.TAX_1, 0) + coalesce(b.TAX_2, 0) as TAXES_TOTAL,
        coalesce(b.DISCOUNT_TOTAL, 0) as DISCOUNT_TOTAL,
        coalesce(b.GRAND_TOTAL, 0) as GRAND_TOTAL
    from {{ ref('dw_stellar_bookings') }} b
    where b.DW_IS_DELETED = 0 and b.DELETED_AT is null
),

booked_boats as (
    select
        bb.BOOKING_ID,
        min({{ marina_day('bb.BOAT_DEPARTURE') }}) as FIRST_DEPARTURE_DAY,
        count(*) as BOATS
    from {{ ref('dw_stellar_booking_boats') }} bb
    where
        bb.DW_IS_DELETED = 0 and bb.DELETED_AT is null
        and {{ marina_contains_word('bb.STATUS_BOOKING', 'cancel') }} = 0
    group by bb.BOOKING_ID
),

dated as (
    select
        b.BOOKING_ID,
        b.LOCATION_ID,
        b.IS_CANCELLED,
        b.BOATS_TOTAL,
        b.ACCESSORIES_TOTAL,
        b.FEES_TOTAL,
        b.TAXES_TOTAL,
        b.DISCOUNT_TOTAL,
        b.GRAND_TOTAL,
        coalesce(bt.FIRST_DEPARTURE_DAY, b.CREATED_DAY) as RENTAL_DAY,
        coalesce(bt.BOATS, 0) as BOATS
    from bookings b
    left join booked_boats bt on b.BOOKING_ID = bt.BOOKING_ID
),

bounds as (
    select
        min(d.RENTAL_DAY) as DAY_FROM,
        max(d.RENTAL_DAY) as DAY_TO
    from dated d
),

days as (
    {{ marina_day_spine('bounds') }}
),

booking_locations as (
    select distinct d.LOCATION_ID from dated d
    where d.RENTAL_DAY is not null
),

daily as (
    select
        d.RENTAL_DAY,
        d.LOCATION_ID,
        count(case when d.IS_CANCELLED = 0 then 1 end) as BOOKINGS,
        count(case when d.IS_CANCELLED = 1 then 1 end) as CANCELLATIONS,
        sum(case when d.IS_CANCELLED = 0 then d.BOATS else 0 end) as BOATS_RENTED,
        sum(case when d.IS_CANCELLED = 0 then d.BOATS_TOTAL else 0 end) as REVENUE_BOATS,
        sum(case when d.IS_CANCELLED = 0 then d.ACCESSORIES_TOTAL else 0 end) as REVENUE_ACCESSORIES,
        sum(case when d.IS_CANCELLED = 0 then d.FEES_TOTAL else 0 end) as REVENUE_FEES,
        sum(case when d.IS_CANCELLED = 0 then d.TAXES_TOTAL else 0 end) as REVENUE_TAXES,
        sum(case when d.IS_CANCELLED = 0 then d.DISCOUNT_TOTAL else 0 end) as DISCOUNTS,
        sum(case when d.IS_CANCELLED = 0 then d.GRAND_TOTAL else 0 end) as REVENUE_TOTAL
    from dated d
    where d.RENTAL_DAY is not null
    group by d.RENTAL_DAY, d.LOCATION_ID
),

locations as (
    {{ marina_live_names(ref('dw_stellar_locations'), 'LOCATION_ID', 'LOCATION_NAME', name_column='LOCATION_NAME') }}
)

select
    dy.CALENDAR_DATE,
    bl.LOCATION_ID,
    loc.LOCATION_NAME,
    coalesce(da.BOOKINGS, 0) as BOOKINGS,
    coalesce(da.BOATS_RENTED, 0) as BOATS_RENTED,
    coalesce(da.CANCELLATIONS, 0) as CANCELLATIONS,
    coalesce(da.REVENUE_BOATS, 0) as REVENUE_BOATS,
    coalesce(da.REVENUE_ACCESSORIES, 0) as REVENUE_ACCESSORIES,
    coalesce(da.REVENUE_FEES, 0) as REVENUE_FEES,
    coalesce(da.REVENUE_TAXES, 0) as REVENUE_TAXES,
    coalesce(da.DISCOUNTS, 0) as DISCOUNTS,
    coalesce(da.REVENUE_TOTAL, 0) as REVENUE_TOTAL
from days dy
cross join booking_locations bl
left join daily da
    on dy.CALENDAR_DATE = da.RENTAL_DAY and {{ marina_same_key('bl.LOCATION_ID', 'da.LOCATION_ID') }}
left join locations loc on bl.LOCATION_ID = loc.LOCATION_ID
