"""Starting Marquee as an operator does: `python main.py <role>` in its own process (issue 12).

A real deployment that would fall back to a stand-in, the sandbox provider or a silent webhook stops
with one line naming the setting to give; `run` with real settings seeds nothing and serves no
stand-in; the demo's stand-ins listen on loopback only, its theatre port is a setting, a missing
DATA_DIR is created, and a port already in use is one line naming its setting.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import pytest
from sqlalchemy import create_engine, func, select

from booking_core.models import Show
from sandbox.telegram.app import start_telegram_sandbox
from tests.ops.services import free_port_pairs
from tests.support.processes import stop_process

pytestmark = pytest.mark.timeout(180)

PROJECT = Path(__file__).resolve().parent.parent
BOT_TOKEN = "7200000001:production-start-test"
# Any variable a developer's shell or .env might carry that would change what is tested.
_CLEARED = (
    "MODE",
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_API_BASE_URL",
    "TELEGRAM_WEBHOOK_URL",
    "TELEGRAM_WEBHOOK_SECRET",
    "PAYMENT_PROVIDER",
    "THEATRE_SYSTEMS",
    "REDIS_URL",
    "BROKER_URL",
)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now."""
    with closing(socket.socket()) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def listening(host: str, port: int) -> bool:
    """True when something accepts connections at host:port."""
    with closing(socket.socket()) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0


def redis_url() -> str | None:
    """A database of the test Redis server no other test uses, or None for the embedded one."""
    url = os.environ.get("TEST_REDIS_URL")
    return urlunsplit(urlsplit(url)._replace(path="/14")) if url else None


def environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    """The process environment: this machine's services, and `settings` over nothing inherited.

    DATA_DIR is `tmp_path/data`, which exists, unless `settings` name another.
    """
    (tmp_path / "data").mkdir(exist_ok=True)
    env = {name: value for name, value in os.environ.items() if name not in _CLEARED}
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'marquee.db'}",
        DATA_DIR=str(tmp_path / "data"),
    )
    # The demo serves SMTP one port above SANDBOX_PORT and a box office one above DEMO_THEATRE_PORT.
    http_port, sandbox_port, theatre_port = free_port_pairs(3)
    env.update(HTTP_PORT=str(http_port), SANDBOX_PORT=str(sandbox_port), DEMO_THEATRE_PORT=str(theatre_port))
    if (url := redis_url()) is not None:
        env["REDIS_URL"] = url
    env.update(settings)
    return env


def start_up_refusal(tmp_path: Path, role: str, **settings: str) -> list[str]:
    """Start a role that must refuse its configuration: its stderr lines (fails if it keeps running)."""
    try:
        finished = subprocess.run(
            [sys.executable, str(PROJECT / "main.py"), role],
            cwd=tmp_path,
            env=environment(tmp_path, **settings),
            capture_output=True,
            text=True,
            timeout=30,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`{role}` started instead of refusing its configuration")
    assert finished.returncode == 2, finished.stderr
    return finished.stderr.strip().splitlines()


@contextmanager
def running(tmp_path: Path, role: str, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """`python main.py <role>` for the block; stopped with SIGINT (as Ctrl-C) afterwards."""
    process = subprocess.Popen(
        [sys.executable, str(PROJECT / "main.py"), role],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        stop_process(process, signal.SIGINT, within=30)


async def wait_for_health(process: subprocess.Popen[str], url: str, within: float = 120.0) -> None:
    """Poll the web role's /healthz until it answers 200; fail if the process dies first."""
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                output = process.stdout.read() if process.stdout else ""
                pytest.fail(f"the process ended with {process.returncode}:\n{output[-3000:]}")
            try:
                async with http.get(url + "/healthz") as response:
                    if response.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.2)
    pytest.fail(f"{url}/healthz did not answer within {within} s")


def production(**settings: str) -> dict[str, str]:
    """The settings of a real deployment (Stripe; SMTP and Telegram addresses on this machine)."""
    return {
        "MODE": "production",
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "PAYMENT_PROVIDER": "stripe",
        "STRIPE_API_KEY": "sk_test_production_start",
        "STRIPE_WEBHOOK_SECRET": "whsec_production_start",
        "PUBLIC_BASE_URL": "https://tickets.marquee.example",
        "SMTP_URL": "smtp://127.0.0.1:9",
        "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9",  # nothing leaves this machine
        **settings,
    }


def test_a_real_bot_token_without_a_mode_stops_start_up(tmp_path: Path) -> None:
    # Given a real bot token, a public address and mail, the payment provider left unset
    settings = production()
    del settings["MODE"], settings["PAYMENT_PROVIDER"]
    lines = start_up_refusal(tmp_path, "web", **settings)
    # Then the web role does not start on the sandbox provider: one line names the setting to choose
    assert len(lines) == 1 and lines[0].startswith("configuration error: MODE: "), lines


def test_production_refuses_the_sandbox_payment_provider(tmp_path: Path) -> None:
    for provider in ("sandbox", None):
        settings = production(PAYMENT_PROVIDER=provider) if provider else production()
        if provider is None:
            del settings["PAYMENT_PROVIDER"]
        lines = start_up_refusal(tmp_path, "web", **settings)
        assert len(lines) == 1 and lines[0].startswith("configuration error: PAYMENT_PROVIDER: "), lines


def test_production_refuses_to_serve_the_stand_ins(tmp_path: Path) -> None:
    lines = start_up_refusal(tmp_path, "sandbox", **production())
    assert len(lines) == 1 and lines[0].startswith("configuration error: MODE: "), lines


async def test_a_webhook_url_without_its_secret_stops_start_up(tmp_path: Path) -> None:
    # Given webhook mode without the secret token (every update would get a 404), and a Bot API
    runner, telegram_url, _state = await start_telegram_sandbox()
    settings = production(
        TELEGRAM_API_BASE_URL=telegram_url,
        TELEGRAM_WEBHOOK_URL="https://tickets.marquee.example/webhooks/telegram",
    )
    try:
        # When the web role starts
        lines = await asyncio.to_thread(start_up_refusal, tmp_path, "web", **settings)
    finally:
        await runner.cleanup()
    # Then it refuses, naming the missing setting
    assert len(lines) == 1 and lines[0].startswith("configuration error: TELEGRAM_WEBHOOK_SECRET: "), lines


def test_a_port_in_use_is_one_line_naming_its_setting(tmp_path: Path) -> None:
    # Given something listening on the web role's port already
    with closing(socket.socket()) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # When the web role starts there
        lines = start_up_refusal(
            tmp_path,
            "web",
            HTTP_PORT=str(port),
            TELEGRAM_API_BASE_URL="http://127.0.0.1:9",
            SMTP_URL="smtp://127.0.0.1:9",
        )
    # Then one line names the setting, not a traceback
    assert lines == [
        f"configuration error: HTTP_PORT: 127.0.0.1:{port} is already in use; choose another port"
    ]


async def test_run_with_real_settings_seeds_nothing_and_serves_no_stand_in(tmp_path: Path) -> None:
    # Given real settings (the Bot API is a stand-in here only because tests stay on this machine)
    runner, telegram_url, _state = await start_telegram_sandbox()
    env = environment(tmp_path, **production(TELEGRAM_API_BASE_URL=telegram_url))
    web_url = f"http://127.0.0.1:{env['HTTP_PORT']}"
    try:
        with running(tmp_path, "run", env) as process:
            # When `run` has started
            await wait_for_health(process, web_url)
            # Then no stand-in listens, and no sandbox checkout page is served
            for setting in ("SANDBOX_PORT", "DEMO_THEATRE_PORT"):
                assert not listening("127.0.0.1", int(env[setting])), setting
            async with aiohttp.ClientSession() as http, http.get(f"{web_url}/sandbox/pay/cs_x") as page:
                assert page.status == 404
    finally:
        await runner.cleanup()
    # And the demo catalogue was not loaded
    engine = create_engine(f"sqlite:///{tmp_path / 'marquee.db'}")
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Show)) == 0
    engine.dispose()


async def test_the_demo_creates_data_dir_and_keeps_its_stand_ins_on_loopback(tmp_path: Path) -> None:
    # Given a demo whose web role listens on another loopback address, and no DATA_DIR yet
    data_dir = tmp_path / "not" / "yet" / "there"
    env = environment(tmp_path, DATA_DIR=str(data_dir), HTTP_HOST="127.0.0.2")
    env["PUBLIC_BASE_URL"] = f"http://127.0.0.2:{env['HTTP_PORT']}"
    with running(tmp_path, "run", env) as process:
        # When `run` has started on embedded defaults
        await wait_for_health(process, env["PUBLIC_BASE_URL"])
        # Then the demo theatre listens where DEMO_THEATRE_PORT says, its database under the new DATA_DIR
        theatre_port, sandbox_port = int(env["DEMO_THEATRE_PORT"]), int(env["SANDBOX_PORT"])
        assert listening("127.0.0.1", theatre_port)
        assert (data_dir / "theatre.db").exists()
        # And the stand-ins, whose pages list customers' messages, listen on 127.0.0.1 only
        assert listening("127.0.0.1", sandbox_port) and not listening("127.0.0.2", sandbox_port)
        assert not listening("127.0.0.2", theatre_port)
