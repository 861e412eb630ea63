"""The command line as an operator uses it: migrate, seed twice, import a bad and a good file."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from booking_core.catalogue.importer import import_catalogue
from booking_core.catalogue.validation import parse_catalogue
from booking_core.database import create_engine, create_session_factory
from roles.migrate import upgrade_to_head
from tests.catalogue.samples import sample_catalogue

PROJECT = Path(__file__).resolve().parent.parent


def _database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'marquee.db'}"


def _main(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": _database_url(tmp_path), "DATA_DIR": str(tmp_path / "data")}
    env.pop("REDIS_URL", None)
    return subprocess.run(
        [sys.executable, str(PROJECT / "main.py"), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _migrated(tmp_path: Path, catalogue: dict[str, Any] | None = None) -> None:
    """The database `_main` uses, migrated (and holding `catalogue`), made in this process: the commands
    that do it have their own tests, and a start of main.py costs a second or more of imports."""
    upgrade_to_head(_database_url(tmp_path))
    if catalogue is None:
        return

    async def imported() -> None:
        engine = create_engine(_database_url(tmp_path))
        try:
            await import_catalogue(create_session_factory(engine), parse_catalogue(catalogue))
        finally:
            await engine.dispose()

    asyncio.run(imported())


def test_migrate_then_seed_twice_changes_nothing_the_second_time(tmp_path: Path) -> None:
    assert _main(tmp_path, "migrate").returncode == 0
    first = _main(tmp_path, "seed")
    assert first.returncode == 0, first.stderr
    assert "created" in first.stdout and "shows" in first.stdout
    second = _main(tmp_path, "seed")
    assert second.returncode == 0, second.stderr
    assert "nothing changed" in second.stdout


def test_catalog_import_lists_every_bad_row_and_imports_nothing(tmp_path: Path) -> None:
    _migrated(tmp_path)
    catalogue = sample_catalogue()
    catalogue["cities"][0]["latitude"] = 123.0
    catalogue["movies"][1]["runtime_minutes"] = -5
    catalogue["shows"][2]["prices"] = {"standard": 10.5}
    bad_file = tmp_path / "bad.json"
    bad_file.write_text(json.dumps(catalogue))

    refused = _main(tmp_path, "catalog", "import", str(bad_file))

    assert refused.returncode == 1
    assert "3 problems" in refused.stderr
    for row in ("cities[0]", "movies[1]", "shows[2]"):
        assert row in refused.stderr
    good_file = tmp_path / "good.json"
    good_file.write_text(json.dumps(sample_catalogue()))
    imported = _main(tmp_path, "catalog", "import", str(good_file))
    assert imported.returncode == 0, imported.stderr
    # Nothing of the bad file had been written: the good one creates every city afresh.
    assert "created 4 cities" in imported.stdout


def test_a_bad_setting_stops_start_up_with_one_line(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("HOLD_SECONDS=-1\n")
    refused = _main(tmp_path, "migrate")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "configuration error: HOLD_SECONDS: Input should be greater than 0"
    ]


def test_a_cluster_as_the_broker_stops_start_up_with_one_line(tmp_path: Path) -> None:
    # Given Redis Cluster as REDIS_URL and no BROKER_URL (so the broker would be the cluster)
    (tmp_path / ".env").write_text(
        "REDIS_URL=redis+cluster://127.0.0.1:1,127.0.0.1:2\n"
        "MODE=demo\nTELEGRAM_BOT_TOKEN=1:token\nSMTP_URL=smtp://127.0.0.1:1\n"
    )
    # When a worker starts, Then it refuses at once, saying why and what to use instead
    refused = _main(tmp_path, "worker")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "configuration error: BROKER_URL: Dramatiq's Redis broker does not support Redis Cluster;"
        " set BROKER_URL=amqp://… (RabbitMQ) for a clustered Redis"
    ]


def test_catalog_on_sale_sets_a_premiere_and_refuses_a_bad_one(tmp_path: Path) -> None:
    catalogue = sample_catalogue()
    _migrated(tmp_path, catalogue)
    show = catalogue["shows"][0]
    # An on-sale time after the show starts, or a queue without a time, changes nothing and says why
    late = _main(tmp_path, "catalog", "on-sale", show["id"], "--at", "2099-01-01T18:00+01:00", "--queue")
    assert late.returncode == 1 and "before the show starts" in late.stderr
    timeless = _main(tmp_path, "catalog", "on-sale", show["id"], "--queue")
    assert timeless.returncode == 1 and "needs an on-sale time" in timeless.stderr
    unknown = _main(tmp_path, "catalog", "on-sale", "no-such-show", "--at", "2020-01-01T18:00Z")
    assert unknown.returncode == 1 and "no show 'no-such-show'" in unknown.stderr
    # and a good one is set.
    done = _main(tmp_path, "catalog", "on-sale", show["id"], "--at", "2020-01-01T18:00+01:00", "--queue")
    assert done.returncode == 0, done.stderr
    assert "on sale 2020-01-01T17:00:00+00:00, through a queue" in done.stdout
