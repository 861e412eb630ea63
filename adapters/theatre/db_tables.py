"""The tables of Theatre DB v1 (docs/theatre-db.md) as SQLAlchemy Core sees them, and the start-up check.

They are the one source of the schema: docs/theatre-db/*.sql are rendered from them per engine
(adapters.theatre.db_scripts). Marquee never creates these tables: the cinema does, with those scripts.
`check_contract` finds a database that does not match (a missing table or column, a user without the
rights) before Marquee relies on it, and says what is wrong in one line.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    inspect,
    text,
)
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.schema import SchemaItem
from sqlalchemy.types import CHAR

metadata = MetaData()

# Every time is UTC without a zone, to the microsecond where the engine keeps them.
UtcTime = (
    DateTime()
    .with_variant(postgresql.TIMESTAMP(precision=6), "postgresql")
    .with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
)


def _table(name: str, doc: str, *items: SchemaItem) -> Table:
    """A contract table: InnoDB with a binary utf8mb4 collation on MariaDB/MySQL (ids compare exactly)."""
    return Table(
        name,
        metadata,
        *items,
        info={"doc": doc},
        mysql_engine="InnoDB",
        mysql_default_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )


def _key(name: str, length: int) -> Column[str]:
    """A text column of the primary key."""
    return Column(name, String(length), primary_key=True)


def _id() -> Column[str]:
    return _key("id", 64)


def _refers(name: str, target: str, *, nullable: bool = False, primary_key: bool = False) -> Column[str]:
    """A column holding the id of a row of `target` ("table.id")."""
    return Column(name, String(64), ForeignKey(target), nullable=nullable, primary_key=primary_key)


def _text(name: str, length: int) -> Column[str]:
    return Column(name, String(length), nullable=False)


def _number(name: str, kind: type[Integer] = Integer) -> Column[int]:
    return Column(name, kind, nullable=False)


def _time(name: str, *, nullable: bool = False) -> Column[datetime]:
    return Column(name, UtcTime, nullable=nullable)


def _currency() -> Column[str]:
    """An ISO 4217 code, e.g. EUR."""
    return Column("currency", CHAR(3), nullable=False)


def _sale(*items: SchemaItem) -> tuple[SchemaItem, ...]:
    """What a lock and a ticket both record: whose, for which booking, which seats of a show, the price."""
    return (
        _id(),
        _refers("show_id", "shows.id"),
        _text("application", 64),
        _text("reference", 200),
        *items,
        _text("seats", 1000),
        _number("amount"),
        _currency(),
    )


cinemas = _table(
    "cinemas",
    "The chain's cinemas; timezone is an IANA name.",
    _id(),
    _text("name", 200),
    _text("city", 100),
    Column("latitude", Double, nullable=False),
    Column("longitude", Double, nullable=False),
    _text("timezone", 64),
    _text("address", 300),
)
halls = _table(
    "halls",
    "Halls, by stable id.",
    _id(),
    _refers("cinema_id", "cinemas.id"),
    _text("name", 100),
)
seats = _table(
    "seats",
    "Each hall's layout: row_index 0 is the front row, col counts aisles too.",
    _refers("hall_id", "halls.id", primary_key=True),
    _key("row_label", 8),
    Column("number", Integer, primary_key=True, autoincrement=False),
    _number("row_index"),
    _number("col"),
    _text("category", 32),
)
movies = _table(
    "movies",
    "Films.",
    _id(),
    _text("title", 200),
    _number("runtime_minutes"),
    _text("age_rating", 8),
    _text("language", 16),
    Column("synopsis", Text, nullable=False),
)
shows = _table(
    "shows",
    "Screenings; every write of a show's seats bumps its version (docs/theatre-db.md).",
    _id(),
    _refers("cinema_id", "cinemas.id"),
    _refers("hall_id", "halls.id"),
    _refers("movie_id", "movies.id"),
    _time("starts_at"),
    _currency(),
    Column("version", BigInteger, nullable=False, server_default=text("1")),
    Index("ix_shows_starts_at", "starts_at"),
)
show_prices = _table(
    "show_prices",
    "One price per seat category of the show's hall, in minor units of the show's currency.",
    _refers("show_id", "shows.id", primary_key=True),
    _key("category", 32),
    _number("amount"),
    CheckConstraint("amount >= 0", name="ck_show_prices_amount"),
)
seat_locks = _table(
    "seat_locks",
    "Locks; state is live, released or committed (a live lock past expires_at holds nothing).",
    *_sale(_text("request_key", 200)),
    _time("expires_at"),
    _text("state", 16),
    Column("ticket_id", String(64)),
    _time("created_at"),
    CheckConstraint("state IN ('live', 'released', 'committed')", name="ck_seat_locks_state"),
    UniqueConstraint("application", "request_key", name="uq_seat_locks_request"),
)
tickets = _table(
    "tickets",
    "Sales; id is the theatre's ticket id.",
    *_sale(),
    Column("cancelled", Boolean, nullable=False, server_default=false()),
    _time("created_at"),
    UniqueConstraint("application", "reference", name="uq_tickets_reference"),
    Index("ix_tickets_show", "show_id"),
)
seat_claims = _table(
    "seat_claims",
    "The one row that takes a seat of a show: a lock's (lock_id, expires_at) or a ticket's (ticket_id).",
    _refers("show_id", "shows.id", primary_key=True),
    _key("seat", 16),
    _refers("lock_id", "seat_locks.id", nullable=True),
    _refers("ticket_id", "tickets.id", nullable=True),
    _time("expires_at", nullable=True),
    CheckConstraint(
        "(lock_id IS NOT NULL AND ticket_id IS NULL AND expires_at IS NOT NULL)"
        " OR (lock_id IS NULL AND ticket_id IS NOT NULL AND expires_at IS NULL)",
        name="ck_seat_claims_holder",
    ),
    Index("ix_seat_claims_lock", "lock_id"),
    Index("ix_seat_claims_ticket", "ticket_id"),
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
