"""Run the Telegram sandbox on its own: `python -m sandbox.telegram --port 8081`."""

from __future__ import annotations

import argparse

from aiohttp import web

from sandbox.telegram.app import create_telegram_sandbox_app


def main() -> None:
    """Serve the sandbox until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    arguments = parser.parse_args()
    print(f"Bot API base URL: http://{arguments.host}:{arguments.port}/bot  (any token)")
    print(f"Web chat:         http://{arguments.host}:{arguments.port}/sandbox/telegram/chat")
    web.run_app(create_telegram_sandbox_app(), host=arguments.host, port=arguments.port, print=None)


if __name__ == "__main__":
    main()
