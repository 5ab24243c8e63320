{#- Helpers of the analytics marts (models/marts). Cross-database: DuckDB (default__) and Oracle.
    Rules (documented per measure in models/marts/*.yml):
      * a calendar day is a DATE; a timestamp's day drops the time of day;
      * a stay occupies day D when ARRIVAL_DAY <= D < END_DAY, END_DAY = greatest(DEPARTURE_DAY,
        ARRIVAL_DAY + 1): a same-day stay occupies its arrival day, a stay over midnight only the
        arrival day (the departure morning is free for the next boat);
      * a MOLO reservation is cancelled when it has a CANCELLATION_TIME or its status name contains
        'CANCEL' (Cancelled, Canceled, ...), case-insensitive. -#}

{#- Calendar day (DATE without time) of a timestamp or date expression. -#}
{% macro marina_day(expr) %}
  {{ return(adapter.dispatch('marina_day', 'marina')(expr)) }}
{% endmacro %}

{% macro default__marina_day(expr) -%}
  cast({{ expr }} as date)
{%- endmacro %}

{% macro oracle__marina_day(expr) -%}
  {#- CAST(ts AS DATE) keeps the time of day in Oracle; TRUNC returns a DATE at midnight -#}
  TRUNC({{ expr }})
{%- endmacro %}

{#- Day spine: SELECT ... AS CALENDAR_DATE, one row per day from DAY_FROM to DAY_TO (both
    included) of `bounds` (a CTE name with exactly one row and DATE columns DAY_FROM, DAY_TO; no
    row when DAY_FROM is null, i.e. no data). Not dbt.date_spine: that one queries the database at
    compile time for its upper bound, which fails inside a view and under the Oracle SQL checks. -#}
{% macro marina_day_spine(bounds) %}
  {{ return(adapter.dispatch('marina_day_spine', 'marina')(bounds)) }}
{% endmacro %}

{% macro default__marina_day_spine(bounds) -%}
  select cast(unnest(generate_series(b.DAY_FROM, b.DAY_TO, interval 1 day)) as date) as CALENDAR_DATE
  from {{ bounds }} b
  where b.DAY_FROM is not null and b.DAY_TO >= b.DAY_FROM
{%- endmacro %}

{% macro oracle__marina_day_spine(bounds) -%}
  {#- CONNECT BY on the single bounds row: level 1 .. number of days -#}
  select b.DAY_FROM + LEVEL - 1 as CALENDAR_DATE
  from {{ bounds }} b
  where b.DAY_FROM is not null and b.DAY_TO >= b.DAY_FROM
  connect by LEVEL <= b.DAY_TO - b.DAY_FROM + 1
{%- endmacro %}

{#- Regular expressions (patterns must be portable: POSIX ERE subset, no \d or \s). -#}
{% macro marina_regexp_like(expr, pattern) %}
  {{ return(adapter.dispatch('marina_regexp_like', 'marina')(expr, pattern)) }}
{% endmacro %}

{% macro default__marina_regexp_like(expr, pattern) -%}
  regexp_matches({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{% macro oracle__marina_regexp_like(expr, pattern) -%}
  REGEXP_LIKE({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{#- Capture group `group` of the first match of `pattern`, as a number (null when no match). -#}
{% macro marina_regexp_number(expr, pattern, group) %}
  {{ return(adapter.dispatch('marina_regexp_number', 'marina')(expr, pattern, group)) }}
{% endmacro %}

{% macro default__marina_regexp_number(expr, pattern, group) -%}
  try_cast(nullif(regexp_extract({{ expr }}, '{{ pattern }}', {{ group }}), '') as double)
{%- endmacro %}

{% macro oracle__marina_regexp_number(expr, pattern, group) -%}
  {#- '.' as decimal separator whatever the session's NLS settings -#}
  TO_NUMBER(REGEXP_SUBSTR({{ expr }}, '{{ pattern }}', 1, 1, 'c', {{ group }}) DEFAULT NULL ON CONVERSION ERROR,
            '999999999999D999999999', 'NLS_NUMERIC_CHARACTERS=''.,''')
{%- endmacro %}

{#- Boat length in feet from MOLO's free-text LOA: '42.5', '42', '42 ft', '42 feet', '42''' (feet)
    or '42'' 3"' (feet and inches, = 42.25). Anything else, and lengths <= 0, give null. -#}
{% macro marina_length_feet(expr) -%}
  {%- set text = 'lower(trim(' ~ expr ~ '))' -%}
  {#- '' is a quote inside the SQL string literal -#}
  {%- set feet = "^([0-9]+([.][0-9]+)?) *(ft|feet|'')?$" -%}
  {%- set feet_inches = "^([0-9]+) *'' *([0-9]+([.][0-9]+)?) *(\"|in)?$" -%}
  case
    when {{ marina_regexp_like(text, feet) }}
      then nullif({{ marina_regexp_number(text, feet, 1) }}, 0)
    when {{ marina_regexp_like(text, feet_inches) }}
      then nullif({{ marina_regexp_number(text, feet_inches, 1) }} + {{ marina_regexp_number(text, feet_inches, 2) }} / 12, 0)
  end
{%- endmacro %}

{#- Length bands (feet, lower bound included). Override with var marina_boat_length_bands_ft. -#}
{% macro marina_length_band_bounds() %}
  {{ return(var('marina_boat_length_bands_ft', [20, 30, 40, 50, 60])) }}
{% endmacro %}

{#- Label of the band of `feet` ('unknown' when null): 'under 20 ft', '20 to under 30 ft', ...,
    '60 ft and over'. -#}
{% macro marina_length_band(feet) -%}
  {%- set bounds = marina_length_band_bounds() -%}
  case
    when {{ feet }} is null then 'unknown'
    when {{ feet }} < {{ bounds[0] }} then 'under {{ bounds[0] }} ft'
    {%- for i in range(1, bounds | length) %}
    when {{ feet }} < {{ bounds[i] }} then '{{ bounds[i - 1] }} to under {{ bounds[i] }} ft'
    {%- endfor %}
    else '{{ bounds[-1] }} ft and over'
  end
{%- endmacro %}

{#- Sort order of the band of `feet`: 0 = unknown, 1 = shortest band, ... -#}
{% macro marina_length_band_order(feet) -%}
  {%- set bounds = marina_length_band_bounds() -%}
  case
    when {{ feet }} is null then 0
    {%- for i in range(bounds | length) %}
    when {{ feet }} < {{ bounds[i] }} then {{ i + 1 }}
    {%- endfor %}
    else {{ (bounds | length) + 1 }}
  end
{%- endmacro %}

{#- 1 when a text value contains `word` (case-insensitive), else 0; null text gives 0. -#}
{% macro marina_contains_word(expr, word) -%}
  case when upper({{ expr }}) like '%{{ word | upper }}%' then 1 else 0 end
{%- endmacro %}

{#- Live MOLO reservations (DW_IS_DELETED = 0) with their day range and cancellation flag.
    Columns: RESERVATION_ID, MARINA_LOCATION_ID, RESERVATION_TYPE_ID, RESERVATION_STATUS_ID,
    STATUS_NAME, SLIP_ID, BOAT_ID, RATE, ARRIVAL_DAY, DEPARTURE_DAY, END_DAY (exclusive end of the
    occupied days; null when arrival/departure is missing or departure is before arrival),
    IS_CANCELLED (0/1). -#}
{% macro marina_molo_stays(reservations, statuses) -%}
  select r.ID as RESERVATION_ID, r.MARINA_LOCATION_ID, r.RESERVATION_TYPE_ID, r.RESERVATION_STATUS_ID,
         {{ marina_as_text('st.NAME') }} as STATUS_NAME, r.SLIP_ID, r.BOAT_ID, r.RATE,
         {{ marina_day('r.SCHEDULED_ARRIVAL_TIME') }} as ARRIVAL_DAY,
         {{ marina_day('r.SCHEDULED_DEPARTURE_TIME') }} as DEPARTURE_DAY,
         case when {{ marina_day('r.SCHEDULED_DEPARTURE_TIME') }} >= {{ marina_day('r.SCHEDULED_ARRIVAL_TIME') }}
              then greatest({{ marina_day('r.SCHEDULED_DEPARTURE_TIME') }}, {{ marina_day('r.SCHEDULED_ARRIVAL_TIME') }} + 1)
         end as END_DAY,
         case when r.CANCELLATION_TIME is not null then 1
              else {{ marina_contains_word('st.NAME', 'cancel') }} end as IS_CANCELLED
  from {{ reservations }} r
  left join {{ statuses }} st on st.ID = r.RESERVATION_STATUS_ID and st.DW_IS_DELETED = 0
  where r.DW_IS_DELETED = 0
{%- endmacro %}

{#- The CTEs shared by the daily MOLO marts (emit after `with`; a trailing comma is added):
      stays      marina_molo_stays
      slips      live slips with IS_COUNTED (0/1): ACTIVE is not 0 and DO_NOT_COUNT_IN_OCCUPANCY is not 1
      bounds     first and last occupied day of the non-cancelled stays in live slips
      days       the day spine over bounds
      slip_days  one row per day and non-cancelled stay in a live slip that occupies that day
                 (CALENDAR_DATE, RESERVATION_ID, SLIP_ID, BOAT_ID, slip's MARINA_LOCATION_ID,
                 PIER_ID, SLIP_TYPE_ID, IS_COUNTED)
      locations  live marina locations (MARINA_LOCATION_ID, LOCATION_NAME) -#}
{% macro marina_molo_slip_day_ctes(reservations, statuses, slips, locations) -%}
stays as (
  {{ marina_molo_stays(reservations, statuses) }}
),
slips as (
  select s.ID as SLIP_ID, s.MARINA_LOCATION_ID, s.PIER_ID, s.SLIP_TYPE_ID,
         case when coalesce(s.ACTIVE, 1) <> 0 and coalesce(s.DO_NOT_COUNT_IN_OCCUPANCY, 0) <> 1
              then 1 else 0 end as IS_COUNTED
  from {{ slips }} s
  where s.DW_IS_DELETED = 0
),
occupying as (
  select st.RESERVATION_ID, st.BOAT_ID, st.ARRIVAL_DAY, st.END_DAY, sl.SLIP_ID, sl.MARINA_LOCATION_ID,
         sl.PIER_ID, sl.SLIP_TYPE_ID, sl.IS_COUNTED
  from stays st
  join slips sl on sl.SLIP_ID = st.SLIP_ID
  where st.IS_CANCELLED = 0 and st.END_DAY is not null
),
bounds as (
  select min(o.ARRIVAL_DAY) as DAY_FROM, max(o.END_DAY) - 1 as DAY_TO from occupying o
),
days as (
  {{ marina_day_spine('bounds') }}
),
slip_days as (
  select d.CALENDAR_DATE, o.RESERVATION_ID, o.BOAT_ID, o.SLIP_ID, o.MARINA_LOCATION_ID, o.PIER_ID,
         o.SLIP_TYPE_ID, o.IS_COUNTED
  from days d
  join occupying o on o.ARRIVAL_DAY <= d.CALENDAR_DATE and d.CALENDAR_DATE < o.END_DAY
),
locations as (
  {{ marina_live_names(locations, 'MARINA_LOCATION_ID', 'LOCATION_NAME') }}
),
{%- endmacro %}

{#- Join condition that also matches null = null (keys such as a slip's MARINA_LOCATION_ID may be
    null; such rows form their own group instead of being dropped). -#}
{% macro marina_same_key(a, b) -%}
  ({{ a }} = {{ b }} or ({{ a }} is null and {{ b }} is null))
{%- endmacro %}

{#- Average days per month (365.25 / 12): a nightly rate times this is a monthly rate. -#}
{% macro marina_days_per_month() -%}
  30.4375
{%- endmacro %}

{#- id -> name of a lookup DW table's live rows (soft-deleted ones are left out): a mart's CTE body. -#}
{% macro marina_live_names(relation, id_as, name_as, name_column='NAME') -%}
  select d.ID as {{ id_as }}, {{ marina_as_text('d.' ~ name_column) }} as {{ name_as }}
  from {{ relation }} d
  where d.DW_IS_DELETED = 0
{%- endmacro %}
