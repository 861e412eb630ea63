"""`main.py catalog sync` as an operator runs it against a connected theatre whose schedule has a bad row."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from roles.migrate import upgrade_to_head
from sandbox.theatre import SANDBOX_TOKEN, TheatreSandbox

PROJECT = Path(__file__).resolve().parent.parent.parent


def database_url(tmp_path: Path) -> str:
    """The SQLite file main.py runs on."""
    return f"sqlite+aiosqlite:///{tmp_path / 'marquee.db'}"


async def main_py(tmp_path: Path, sandbox: TheatreSandbox, *args: str) -> tuple[int, str, str]:
    """Run main.py with its own SQLite file and Redis, connected to the sandbox theatre."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(tmp_path),
        "DATA_DIR": str(tmp_path / "data"),
        "THEATRE_SYSTEMS": json.dumps({"northlight": {"base_url": sandbox.base_url, "token": SANDBOX_TOKEN}}),
    }
    env.pop("REDIS_URL", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PROJECT / "main.py"),
        *args,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(120):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_a_failed_sync_prints_its_line_where_success_goes_and_exits_non_zero(
    tmp_path: Path, sandbox: TheatreSandbox
) -> None:
    # (migrated in this process: `main.py migrate` has its own test, tests/test_cli.py)
    await asyncio.to_thread(upgrade_to_head, database_url(tmp_path))

    def drop_a_price(schedule: dict[str, Any]) -> None:
        schedule["shows"][3]["prices"].pop("standard")

    sandbox.faults.edit_schedule = drop_a_price
    code, out, _ = await main_py(tmp_path, sandbox, "catalog", "sync")
    assert code == 1
    assert out.startswith("northlight: nothing changed, 1 bad row: show "), out
    assert "(shows[3].prices.standard): no price for standard" in out

    sandbox.faults.edit_schedule = None
    code, out, _ = await main_py(tmp_path, sandbox, "catalog", "sync")
    assert code == 0 and out.startswith("northlight: created "), out
