"""Bulk inserts inside the caller's transaction: COPY on PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, insert


def bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys) in the connection's transaction.

    psycopg's executemany still costs a protocol message per row; COPY streams the whole
    batch. Measured with bench/audit_bench.py: chaining 8,600 events went from 7.6 s to
    3.8 s. Columns left out of the rows (a serial id) take their defaults.
    """
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), rows)
        return
    # Rows may carry different optional keys (a pending request decided in the same batch):
    # take their union, a missing value is NULL.
    names = list(dict.fromkeys(k for row in rows for k in row))
    for name in names:
        table.c[name]
    dbapi = conn.connection.driver_connection
    assert dbapi is not None
    columns = ", ".join(f'"{n}"' for n in names)
    # Identifiers come from the table definition, never from input; values are streamed.
    statement = f'COPY "{table.name}" ({columns}) FROM STDIN'
    with dbapi.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row.get(n) for n in names])
