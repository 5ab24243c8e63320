"""Matching a file's header to the catalog's columns."""

from __future__ import annotations

from marina_common.catalog import Table, normalize_header


def match_columns(table: Table, header: list[str]) -> tuple[list[int | None], list[int]]:
    """For each catalog column, the index of its file column (or None); and unmatched indexes.

    The catalog's `source` header wins; otherwise a normalized match (case-insensitive, `_`
    ignored) on the source header or the staging name.
    """
    exact = {h: i for i, h in enumerate(header)}
    normalized: dict[str, int] = {}
    for i, h in enumerate(header):
        normalized.setdefault(normalize_header(h), i)
    used: set[int] = set()
    positions: list[int | None] = []
    for column in table.columns:
        index = exact.get(column.source) if column.source else None
        if index is None or index in used:
            candidates = [normalize_header(column.name)]
            if column.source:
                candidates.insert(0, normalize_header(column.source))
            index = next(
                (normalized[c] for c in candidates if c in normalized and normalized[c] not in used),
                None,
            )
        if index is not None:
            used.add(index)
        positions.append(index)
    extras = [i for i in range(len(header)) if i not in used]
    return positions, extras
