"""A fresh schema for a test's database: the models' tables, empty, as `create_all` leaves them.

Dropping and creating the tables costs PostgreSQL a few hundred milliseconds of DDL, and most tests
begin with it. On a schema this process built and nobody changed since, emptying the tables and
restarting their id sequences leaves exactly what a rebuild would, in one statement. A test that did
change the schema (dropped a constraint or the tables, added a trigger) leaves another catalogue
behind, which the fingerprint below tells apart, and the next test gets the schema rebuilt.

On SQLite a test's database is a new file: creating the tables there costs tens of milliseconds of DDL
(a thread hop per statement), copying a file in which this process created them once costs a fraction
of one, and leaves the same file.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from booking_core.database import create_engine
from booking_core.models import Base

# Everything in the public schema a test could change and DELETE would not put back: relations
# (tables, indexes, sequences, views), columns with their types and defaults, constraints, triggers.
_POSTGRES_SCHEMA_FINGERPRINT = text(
    """
    SELECT md5(coalesce(string_agg(part, '|' ORDER BY part), '')) FROM (
        SELECT relname || ':' || relkind::text AS part FROM pg_class
            WHERE relnamespace = 'public'::regnamespace
        UNION ALL SELECT table_name || '.' || column_name || ':' || data_type || ':' || is_nullable
                || ':' || coalesce(column_default, '')
            FROM information_schema.columns WHERE table_schema = 'public'
        UNION ALL SELECT conrelid::regclass::text || ':' || conname || ':' || pg_get_constraintdef(oid)
            FROM pg_constraint WHERE connamespace = 'public'::regnamespace
        UNION ALL SELECT tgrelid::regclass::text || ':' || tgname || ':' || tgenabled::text FROM pg_trigger
            WHERE NOT tgisinternal
    ) AS parts
    """
)

# Children before parents; then every id sequence starts at 1 again, as after create_all.
_EMPTY_POSTGRES_TABLES = (
    "DO $$ DECLARE owned record; BEGIN "
    + " ".join(f'DELETE FROM "{table.name}";' for table in reversed(Base.metadata.sorted_tables))
    + " FOR owned IN SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' LOOP"
    " EXECUTE format('ALTER SEQUENCE %I RESTART', owned.sequencename); END LOOP; END $$"
)

# Per PostgreSQL database: the fingerprint of the schema this process last built there.
_built_here: dict[str, str] = {}

# A SQLite file with the models' tables, empty, made once by this process (see `_new_sqlite_file`).
_sqlite_template: Path | None = None
_template_folder = tempfile.TemporaryDirectory(prefix="marquee-schema-")


async def _fingerprint(connection: AsyncConnection) -> str:
    return str((await connection.execute(_POSTGRES_SCHEMA_FINGERPRINT)).scalar_one())


async def _new_sqlite_file(engine: AsyncEngine) -> bool:
    """Give a SQLite file that does not exist yet (so nothing has it open) the models' tables, by copying
    this process's template; False for any other database."""
    global _sqlite_template
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return False
    if _sqlite_template is None:
        template = Path(_template_folder.name) / "schema.db"
        template_engine = create_engine(f"sqlite+aiosqlite:///{template}")
        try:
            async with template_engine.begin() as connection:
                await connection.run_sync(Base.metadata.create_all)
        finally:
            await template_engine.dispose()  # the last connection closing folds the WAL into the file
        _sqlite_template = template
    return _copy_if_new(_sqlite_template, Path(url.database))


def _copy_if_new(template: Path, path: Path) -> bool:
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)
    return True


async def reset_schema(engine: AsyncEngine) -> None:
    """Leave the models' tables empty on `engine`'s database, as dropping and creating them would."""
    if await _new_sqlite_file(engine):
        return
    database = engine.url.render_as_string(hide_password=False)
    async with engine.begin() as connection:
        on_postgres = connection.dialect.name == "postgresql"
        if on_postgres and _built_here.get(database) == await _fingerprint(connection):
            await connection.exec_driver_sql(_EMPTY_POSTGRES_TABLES)
            return
        await connection.run_sync(Base.metadata.drop_all)
        await connection.run_sync(Base.metadata.create_all)
        if on_postgres:
            _built_here[database] = await _fingerprint(connection)


async def fresh_schema(database_url: str) -> None:
    """The models' tables on `database_url`, empty (see `reset_schema`)."""
    engine = create_engine(database_url)
    try:
        await reset_schema(engine)
    finally:
        await engine.dispose()
