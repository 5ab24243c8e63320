"""Relationships and sizes: the only table-specific knowledge, kept as small data tables.

Foreign keys are inferred from column names: `<NAME>[digits]_ID` points at `<system>_<name>` (also
tried: plural `s`, `es`, `y` -> `ies`), e.g. `MARINA_LOCATION1_ID` -> `molo_marina_locations`,
`CITY_ID` -> `molo_cities`, `ACCESSORY_ID` -> `stellar_accessories`, `RESERVATION_STATUS_ID` ->
`molo_reservation_status`. `FK_OVERRIDES` adds the columns whose name does not say it
(`OWNER_ID` -> contacts, `TIME_ID` -> style_times, ...). The parent key is the parent's (single
column) primary key. The resulting mapping is listed by `describe_relations()` (and
`marina-sample-exports --show-relations`).
"""

from __future__ import annotations

import re

from marina_common.catalog import Table

from .kinds import ctype

# (system or stream, column) -> parent stream; None = "not a foreign key" (stops the inference)
FK_OVERRIDES: dict[tuple[str, str], str | None] = {
    ("molo", "MAIN_CONTACT_ID"): "molo_contacts",
    ("molo", "MOLO_CONTACT_ID"): "molo_contacts",
    ("molo", "LINKED_PARENT_CONTACT"): "molo_contacts",
    ("molo_slips", "OWNER_ID"): "molo_contacts",
    ("molo", "ORIGINAL_INVOICE"): "molo_invoices",
    ("stellar", "CLUB_PRINCIPAL_USER_ID"): "stellar_customers",
    ("stellar", "TIME_ID"): "stellar_style_times",
    ("stellar", "MAPPED_TIME_ID"): "stellar_style_times",
    ("stellar_booking_boats", "BOAT_ID"): "stellar_style_boats",
    ("stellar", "ORIGINAL_PAYMENT_ID"): "stellar_booking_payments",
}

# Interval columns: (start, end) pairs generated together so that start <= end.
PAIRS: tuple[tuple[str, str], ...] = (
    ("SCHEDULED_ARRIVAL_TIME", "SCHEDULED_DEPARTURE_TIME"),
    ("START_DATE", "END_DATE"),
    ("START_DATE_TIME", "END_DATE_TIME"),
    ("BOAT_DEPARTURE", "BOAT_RETURN"),
    ("CHECK_OUT_DATE", "CHECK_IN_DATE"),
    ("SEASON_START", "SEASON_END"),
    ("RENTAL_START", "RENTAL_END"),
    ("COUPON_START", "COUPON_END"),
    ("SERVICE_START", "SERVICE_END"),
    ("EFFECTIVE_DATE", "EXPIRATION_DATE"),
    ("CLUB_START_DATE", "CLUB_END_DATE"),
    ("PURCHASED_DATE", "SALE_DATE"),
    ("STATE_REG_DATE", "STATE_REG_EXP_DATE"),
    ("CREATED_AT", "UPDATED_AT"),
    ("CREATION_DATE_TIME", "LAST_EDITED_DATE_TIME"),
)

# stream -> (minimum rows, weight of the rest). Streams not listed are lookup tables: LOOKUP_ROWS rows.
LOOKUP_ROWS = 5
ROW_WEIGHTS: dict[str, tuple[int, float]] = {
    "molo_marina_locations": (3, 0.01),
    "molo_piers": (4, 0.3),
    "molo_slips": (10, 4),
    "molo_companies": (5, 1),
    "molo_contacts": (20, 60),
    "molo_boats": (20, 50),
    "molo_accounts": (10, 30),
    "molo_reservations": (20, 80),
    "molo_invoices": (20, 90),
    "molo_invoice_items": (30, 200),
    "molo_transactions": (20, 100),
    "molo_item_masters": (8, 2),
    "molo_seasonal_prices": (4, 0.5),
    "molo_transient_prices": (4, 0.5),
    "molo_insurance": (5, 10),
    "molo_equipment": (5, 3),
    "molo_cities": (8, 0.2),
    "stellar_customers": (20, 60),
    "stellar_locations": (3, 0.01),
    "stellar_seasons": (4, 0.05),
    "stellar_accessories": (8, 0.1),
    "stellar_accessory_options": (8, 0.2),
    "stellar_accessory_tiers": (8, 0.2),
    "stellar_amenities": (6, 0.05),
    "stellar_categories": (4, 0.05),
    "stellar_holidays": (6, 0.1),
    "stellar_bookings": (20, 80),
    "stellar_booking_boats": (20, 90),
    "stellar_booking_payments": (20, 90),
    "stellar_booking_accessories": (10, 30),
    "stellar_style_groups": (3, 0.02),
    "stellar_styles": (6, 0.3),
    "stellar_style_boats": (10, 2),
    "stellar_customer_boats": (10, 10),
    "stellar_season_dates": (5, 0.1),
    "stellar_style_hourly_prices": (5, 0.5),
    "stellar_style_times": (10, 1),
    "stellar_style_prices": (5, 0.5),
    "stellar_club_tiers": (4, 0.05),
    "stellar_coupons": (5, 0.5),
    "stellar_pos_items": (10, 1),
    "stellar_pos_sales": (10, 20),
    "stellar_fuel_sales": (10, 15),
    "stellar_waitlists": (5, 5),
    "stellar_closed_dates": (5, 0.3),
    "stellar_blacklists": (5, 1),
}


def infer_parent(table: Table, column: str, streams: set[str]) -> str | None:
    for scope in (table.stream, table.system):
        if (scope, column) in FK_OVERRIDES:
            return FK_OVERRIDES[(scope, column)]
    if not column.endswith("_ID"):
        return None
    base = re.sub(r"\d+$", "", column[:-3]).lower()
    candidates = [base, base + "s", base + "es"]
    if base.endswith("y"):
        candidates.append(base[:-1] + "ies")
    for cand in candidates:
        stream = f"{table.system}_{cand}"
        if stream in streams:
            return stream
    return None


def foreign_keys(tables: tuple[Table, ...]) -> dict[tuple[str, str], str]:
    """(child stream, column) -> parent stream, for every column that references a table."""
    streams = {t.stream for t in tables}
    by_stream = {t.stream: t for t in tables}
    out = {}
    for table in tables:
        for col in table.columns:
            parent = infer_parent(table, col.name, streams)
            if parent is None:
                continue
            if len(by_stream[parent].primary_key) != 1:
                raise ValueError(f"{table.stream}.{col.name}: parent {parent} has a composite key")
            out[(table.stream, col.name)] = parent
    return out


def pairs_of(table: Table) -> list[tuple[int, int]]:
    names = {c.name: i for i, c in enumerate(table.columns)}
    out = []
    for start, end in PAIRS:
        if start in names and end in names:
            kinds = {ctype(table.columns[names[i]], table.system).kind for i in (start, end)}
            if kinds <= {"date", "timestamp"}:
                out.append((names[start], names[end]))
    return out


def plan_counts(tables: tuple[Table, ...], rows: int) -> dict[str, int]:
    """Rows per table for a total of about `rows` (lookup tables keep LOOKUP_ROWS rows)."""
    fixed = {t.stream: LOOKUP_ROWS for t in tables if t.stream not in ROW_WEIGHTS}
    weighted = {t.stream: ROW_WEIGHTS[t.stream] for t in tables if t.stream in ROW_WEIGHTS}
    minimum = sum(fixed.values()) + sum(m for m, _ in weighted.values())
    shrink = min(1.0, max(0, rows - sum(fixed.values())) / max(1, minimum - sum(fixed.values())))
    rest = max(0, rows - minimum)
    total_weight = sum(w for _, w in weighted.values()) or 1.0
    counts = dict(fixed)
    for stream, (low, weight) in weighted.items():
        counts[stream] = max(2, int(low * shrink)) + round(rest * weight / total_weight)
    return counts


def describe_relations(tables: tuple[Table, ...]) -> list[str]:
    lines = [f"{child}.{col} -> {parent}" for (child, col), parent in sorted(foreign_keys(tables).items())]
    for table in tables:
        lines += [f"{table.stream}: {table.columns[a].name} <= {table.columns[b].name}" for a, b in pairs_of(table)]
    return lines
