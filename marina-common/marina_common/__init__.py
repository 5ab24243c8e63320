"""What every part of the marina pipeline shares, each meaning in one place.

- `catalog`: the vendored source catalog (tables, columns, kinds, types), the systems, and the
  bookkeeping columns every staging table and side table carries.
- `connection`: the warehouse settings (Oracle parameters and wallet from settings or the
  environment, the DuckDB file), what is missing, and one line per connect error.
- `exports`: finding and fetching exports in S3 or a local folder (the tap reads them,
  `marina-ops check` lists them).
- `oracle_names`: Oracle's reserved words and when a name must be quoted.
- `console`: the plugins' quiet console and one-line failure wrapper (needs singer-sdk, which
  only the plugin venvs have: extra `plugin`).
"""
