"""What every part of the marina pipeline shares, each meaning in one place.

- `catalog`: the vendored source catalog (tables, columns, kinds, types), the systems, and the
  bookkeeping columns every staging table and side table carries.
"""
