"""In-place upgrades of a live generation's tables, run at start-up by ensure_schema.

Running balances were 64-bit integers; a sum past 2**63 failed every later projection
batch on PostgreSQL and turned to floating point on SQLite. They are now exact
(ExactInteger); a generation created before that is widened here, in one transaction.
"""

from __future__ import annotations

from sqlalchemy import Connection, Table, inspect, text

from projections.tables import Tables


def widen_balances(conn: Connection, tables: Tables) -> list[str]:
    """Make the running-balance columns exact; returns the tables it changed."""
    changed = []
    for table in (tables.balances, tables.programme_balances):
        columns = {c["name"]: c for c in inspect(conn).get_columns(table.name)}
        declared = str(columns["balance"]["type"]).upper()
        if conn.dialect.name == "postgresql":
            if declared.startswith("BIGINT"):
                conn.execute(
                    text(f'ALTER TABLE "{table.name}" ALTER COLUMN balance TYPE NUMERIC(38, 0)')
                )
                changed.append(table.name)
        elif declared != "TEXT":
            _rebuild_sqlite(conn, table)
            changed.append(table.name)
    return changed


def _rebuild_sqlite(conn: Connection, table: Table) -> None:
    # SQLite cannot change a column's type: copy into a fresh table, as decimal text.
    old = f"{table.name}_widening"
    conn.execute(text(f'ALTER TABLE "{table.name}" RENAME TO "{old}"'))
    for index in table.indexes:
        conn.execute(text(f'DROP INDEX IF EXISTS "{index.name}"'))
    table.create(conn)
    names = ", ".join(f'"{c.name}"' for c in table.columns if c.name != "balance")
    # Our own table and column names, never input.
    copy = f'INSERT INTO "{table.name}" ({names}, balance) SELECT {names}, CAST(balance AS TEXT) FROM "{old}"'  # noqa: E501, S608
    conn.execute(text(copy))
    conn.execute(text(f'DROP TABLE "{old}"'))
