"""Run the sandbox theatre on its own: `python -m sandbox.theatre --port 8090 --db data/theatre.db`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from sandbox.theatre.server import SANDBOX_TOKEN, start_theatre_sandbox


async def serve(port: int, db_path: str | None, token: str) -> None:
    """Run until interrupted."""
    _, base_url, sandbox = await start_theatre_sandbox(port=port, db_path=db_path, token=token)
    print(f"Theatre API v1 at {base_url}/v1 (Bearer {token}); box office at {base_url}/boxoffice", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await sandbox.close()


def main() -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--db", default=None, help="SQLite file (default: a temporary one)")
    parser.add_argument("--token", default=SANDBOX_TOKEN)
    arguments = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(arguments.port, arguments.db, arguments.token))


if __name__ == "__main__":
    main()
