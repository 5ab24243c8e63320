"""TEST ONLY: an Oracle data-dictionary simulator behind python-oracledb's ``connect``.

No Oracle server runs on the development machines, so the loader's and dbt-oracle's SQL is run
against this stand-in: it keeps a data dictionary (tables, columns with their types, constraints,
indexes, views) in a JSON file shared by every process of one scenario, applies the DDL it
receives (each DDL commits, as in Oracle), answers the dictionary queries the loader and
dbt-oracle send, infers the type of every column of every query, and raises what Oracle would
raise (``oracledb.DatabaseError`` with an ``ORA-xxxxx:`` message). It stores no rows, only row
counts. It is never imported by product code: tests install it with :func:`driver.install`.

Modules: ``sim`` (dictionary, type inference, checks), ``driver`` (the DB-API connection and
cursor, and ``install``), ``scenarios`` (the scenario matrix shared with the live-Oracle tests),
``run_loader`` / ``run_dbt`` (subprocess entry points in the loader's and dbt's venvs).
"""
