"""The SQL scripts shipped with Theatre DB v1 are the ones the tables in db_tables.py render."""

from __future__ import annotations

import pytest

from adapters.theatre.db_scripts import ENGINES, SCRIPTS, script


@pytest.mark.parametrize("file_name", sorted(ENGINES))
def test_the_committed_script_is_what_the_tables_render(file_name: str) -> None:
    committed = (SCRIPTS / file_name).read_text()
    assert committed == script(file_name), (
        f"docs/theatre-db/{file_name} differs from the tables: run `python -m adapters.theatre.db_scripts`"
    )
