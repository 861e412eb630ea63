"""The SQL scripts that create Theatre DB v1 (docs/theatre-db/*.sql), rendered from db_tables.py.

The tables are declared once; each engine's script is their `CREATE TABLE` and `CREATE INDEX` statements
compiled for its dialect. `python -m adapters.theatre.db_scripts` writes the scripts, and a test checks
that the committed ones are what the tables render.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateIndex, CreateTable, DDLElement

from adapters.theatre.db_tables import metadata

SCRIPTS = Path(__file__).resolve().parents[2] / "docs" / "theatre-db"
# Each script: its file, the dialect it is compiled for, and the engines it is for.
ENGINES: dict[str, tuple[Dialect, str]] = {
    "postgresql.sql": (postgresql.dialect(), "PostgreSQL"),
    "mysql.sql": (mysql.dialect(), "MariaDB 10.5+ and MySQL 8 (InnoDB)"),
    "sqlite.sql": (sqlite.dialect(), "SQLite (the demo's embedded theatre database)"),
}


def script(file_name: str) -> str:
    """The script `file_name` (one of ENGINES) as it is committed under docs/theatre-db/."""
    dialect, engines = ENGINES[file_name]
    parts = [
        f"-- Theatre DB v1 (docs/theatre-db.md) for {engines}.",
        "-- Rendered from adapters/theatre/db_tables.py by `python -m adapters.theatre.db_scripts`:",
        "-- change the tables there, not this file. All times are UTC, stored without a zone.",
    ]
    for table in metadata.sorted_tables:
        parts.append(f"\n-- {table.name}: {table.info['doc']}")
        parts.append(_statement(CreateTable(table), dialect))
        parts.extend(_statement(CreateIndex(index), dialect) for index in sorted(table.indexes, key=_name))
    return "\n".join(parts) + "\n"


def _statement(ddl: DDLElement, dialect: Dialect) -> str:
    """One statement, indented with spaces, without trailing blanks, ended by a semicolon."""
    lines = str(ddl.compile(dialect=dialect)).strip().replace("\t", "    ").splitlines()
    return "\n".join(line.rstrip() for line in lines) + ";"


def _name(index: object) -> str:
    return str(getattr(index, "name", ""))


def write(directory: Path = SCRIPTS) -> list[Path]:
    """Write every engine's script into `directory`; the files written."""
    written = []
    for file_name in ENGINES:
        path = directory / file_name
        path.write_text(script(file_name))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else SCRIPTS):
        print(path)
