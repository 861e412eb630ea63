"""Create the Theatre DB v1 tables with the SQL scripts that ship with the contract (docs/theatre-db/)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

SCRIPTS = Path(__file__).resolve().parents[2] / "docs" / "theatre-db"
_SCRIPT_OF_DIALECT = {
    "postgresql": "postgresql.sql",
    "mysql": "mysql.sql",
    "mariadb": "mysql.sql",
    "sqlite": "sqlite.sql",
}


def statements(dialect: str) -> list[str]:
    """The statements of the script for a SQLAlchemy dialect name (postgresql, mysql, mariadb, sqlite)."""
    script = (SCRIPTS / _SCRIPT_OF_DIALECT[dialect]).read_text()
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [statement.strip() for statement in "\n".join(lines).split(";") if statement.strip()]


async def create_schema(engine: AsyncEngine) -> None:
    """Run the dialect's script on an empty database."""
    async with engine.begin() as connection:
        for statement in statements(engine.dialect.name):
            await connection.execute(text(statement))
