"""The tables of Theatre DB v1 (docs/theatre-db.md) as SQLAlchemy Core sees them, and the start-up check.

Marquee never creates these tables: the cinema does, with docs/theatre-db/*.sql. `check_contract` finds a
database that does not match (a missing table or column, a user without the rights) before Marquee
relies on it, and says what is wrong in one line.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    inspect,
    text,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

metadata = MetaData()

cinemas = Table(
    "cinemas",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200)),
    Column("city", String(100)),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("timezone", String(64)),
    Column("address", String(300)),
)
halls = Table(
    "halls",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("cinema_id", String(64)),
    Column("name", String(100)),
)
seats = Table(
    "seats",
    metadata,
    Column("hall_id", String(64), primary_key=True),
    Column("row_label", String(8), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("row_index", Integer),
    Column("col", Integer),
    Column("category", String(32)),
)
movies = Table(
    "movies",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("title", String(200)),
    Column("runtime_minutes", Integer),
    Column("age_rating", String(8)),
    Column("language", String(16)),
    Column("synopsis", Text),
)
shows = Table(
    "shows",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("cinema_id", String(64)),
    Column("hall_id", String(64)),
    Column("movie_id", String(64)),
    Column("starts_at", DateTime),
    Column("currency", String(3)),
    Column("version", BigInteger),
)
show_prices = Table(
    "show_prices",
    metadata,
    Column("show_id", String(64), primary_key=True),
    Column("category", String(32), primary_key=True),
    Column("amount", Integer),
)
seat_locks = Table(
    "seat_locks",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("show_id", String(64)),
    Column("application", String(64)),
    Column("reference", String(200)),
    Column("request_key", String(200)),
    Column("seats", String(1000)),
    Column("amount", Integer),
    Column("currency", String(3)),
    Column("expires_at", DateTime),
    Column("state", String(16)),
    Column("ticket_id", String(64)),
    Column("created_at", DateTime),
)
tickets = Table(
    "tickets",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("show_id", String(64)),
    Column("application", String(64)),
    Column("reference", String(200)),
    Column("seats", String(1000)),
    Column("amount", Integer),
    Column("currency", String(3)),
    Column("cancelled", Boolean),
    Column("created_at", DateTime),
)
seat_claims = Table(
    "seat_claims",
    metadata,
    Column("show_id", String(64), primary_key=True),
    Column("seat", String(16), primary_key=True),
    Column("lock_id", String(64)),
    Column("ticket_id", String(64)),
    Column("expires_at", DateTime),
)

# What Marquee writes, and how; everything else it only reads.
WRITES = {
    shows: ("UPDATE",),
    seat_locks: ("INSERT", "UPDATE"),
    tickets: ("INSERT", "UPDATE"),
    seat_claims: ("INSERT", "UPDATE", "DELETE"),
}


class ContractMismatch(Exception):
    """The theatre database does not offer Theatre DB v1 to this user; the message says what is missing."""


async def check_contract(engine: AsyncEngine, name: str) -> None:
    """Raise ContractMismatch unless every table and column is there and the written tables are writable.

    The write probe changes no row (WHERE 1 = 0) and is rolled back; a read-only user or a read-only
    replica fails it.
    """
    async with engine.connect() as connection:
        missing = await connection.run_sync(_missing_columns)
    if missing:
        raise ContractMismatch(f"theatre {name}: the database lacks {', '.join(missing)} (Theatre DB v1)")
    for table, rights in WRITES.items():
        for right in rights:
            try:
                async with engine.connect() as connection:
                    await connection.execute(text(_probe(table, right)))
                    await connection.rollback()
            except DBAPIError as exc:
                reason = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
                raise ContractMismatch(
                    f"theatre {name}: the database user may not {right} {table.name} ({reason});"
                    f" Marquee locks seats there and needs SELECT on every table and {_rights_wanted()}"
                    " (a read-only user or replica cannot lock)"
                ) from None


def _probe(table: Table, right: str) -> str:
    """A statement that needs `right` on `table` and changes no row."""
    if right == "UPDATE":
        column = _UPDATED[table.name]
        return f"UPDATE {table.name} SET {column} = {column} WHERE 1 = 0"
    if right == "DELETE":
        return f"DELETE FROM {table.name} WHERE 1 = 0"
    columns = ", ".join(column.name for column in table.columns)
    return f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {table.name} WHERE 1 = 0"


_UPDATED = {"shows": "version", "seat_locks": "state", "tickets": "cancelled", "seat_claims": "ticket_id"}


def _rights_wanted() -> str:
    return "; ".join(f"{', '.join(rights)} on {table.name}" for table, rights in WRITES.items())


def _missing_columns(sync_connection: object) -> list[str]:
    inspector = inspect(sync_connection)
    present = set(inspector.get_table_names()) | set(inspector.get_view_names())
    missing = []
    for table in metadata.sorted_tables:
        if table.name not in present:
            missing.append(f"table {table.name}")
            continue
        columns = {column["name"] for column in inspector.get_columns(table.name)}
        missing.extend(
            f"column {table.name}.{column.name}" for column in table.columns if column.name not in columns
        )
    return missing
