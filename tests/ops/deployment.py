"""A scaled-out Marquee on this machine: `web` and `worker` processes around one `sandbox` process.

The sandbox (Telegram Bot API and web chat, Twilio, Stripe, SMTP) is one process for the whole ops session;
each test starts the roles it needs against services of its own and stops them all at the end,
asserting that every one exits cleanly and promptly on SIGTERM.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from roles.endpoints import SANDBOX_BOT_TOKEN, STRIPE_STANDIN_PATH
from tests.ops.roles import RoleProcess, kill_all, role_environment, start_role, stop_all, wait_workers_ready
from tests.ops.services import free_port

TELEGRAM_WEBHOOK_SECRET = "ops-webhook-secret_7"
# The Stripe account of the sandbox process's stand-in, given to it and to every role (as an operator
# of a scaled-out demo gives them).
OPS_STRIPE_API_KEY = "sk_test_ops_standin"
OPS_STRIPE_WEBHOOK_SECRET = "whsec_ops_standin"


@dataclass(frozen=True)
class Sandbox:
    """The running `sandbox` process: HTTP on `port`, SMTP on `port + 1`."""

    port: int
    process: RoleProcess

    @property
    def url(self) -> str:
        """Base URL of the stand-ins."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def stripe_api(self) -> str:
        """The API base of its Stripe stand-in (the hosted checkout pages are under it too)."""
        return f"{self.url}{STRIPE_STANDIN_PATH}"

    @property
    def stripe_settings(self) -> dict[str, str]:
        """The settings that point a role's Stripe adapter at this sandbox's stand-in."""
        return {
            "PAYMENT_PROVIDER": "stripe",
            "STRIPE_API_KEY": OPS_STRIPE_API_KEY,
            "STRIPE_WEBHOOK_SECRET": OPS_STRIPE_WEBHOOK_SECRET,
            "STRIPE_API_BASE": self.stripe_api,
        }

    @property
    def bot_api(self) -> str:
        """The Bot API base of the sandbox bot the roles use."""
        return f"{self.url}/bot{SANDBOX_BOT_TOKEN}"


@dataclass(frozen=True)
class Services:
    """Where the roles' state lives: database, Redis and (when not Redis itself) the broker."""

    database_url: str
    redis_url: str
    broker_url: str | None = None


@dataclass
class WebProcess:
    """A `web` role and the port it serves on."""

    process: RoleProcess
    port: int

    @property
    def url(self) -> str:
        """Its own base URL (not the public one, which may be a load balancer)."""
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Deployment:
    """The roles one test runs; `shutdown` stops them all gracefully (and checks that they did)."""

    folder: Path
    services: Services
    sandbox: Sandbox
    http: aiohttp.ClientSession
    extra_settings: dict[str, str | int] = field(default_factory=dict)
    webs: list[WebProcess] = field(default_factory=list)
    workers: list[RoleProcess] = field(default_factory=list)

    def settings(self, **overrides: str | int) -> dict[str, str | int]:
        """The settings every role of this deployment shares, with `overrides`."""
        values: dict[str, str | int] = {
            "DATABASE_URL": self.services.database_url,
            "REDIS_URL": self.services.redis_url,
            "TELEGRAM_API_BASE_URL": self.sandbox.url,
            "TWILIO_API_BASE_URL": self.sandbox.url,
            "SMTP_URL": f"smtp://127.0.0.1:{self.sandbox.port + 1}",
            "SANDBOX_PORT": self.sandbox.port,
            **self.sandbox.stripe_settings,
            "DATA_DIR": str(self.folder / "data"),
        }
        if self.services.broker_url:
            values["BROKER_URL"] = self.services.broker_url
        values.update(self.extra_settings)
        values.update(overrides)
        return values

    def start_web(
        self, name: str, *, public_base_url: str | None = None, webhook_url: str | None = None
    ) -> WebProcess:
        """A `web` process on a free port; `webhook_url` puts the bot in webhook mode behind it."""
        port = free_port()
        overrides: dict[str, str | int] = {
            "HTTP_PORT": port,
            "PUBLIC_BASE_URL": public_base_url or f"http://127.0.0.1:{port}",
        }
        if webhook_url:
            overrides.update(
                TELEGRAM_WEBHOOK_URL=webhook_url, TELEGRAM_WEBHOOK_SECRET=TELEGRAM_WEBHOOK_SECRET
            )
        env = role_environment(**self.settings(**overrides))
        web = WebProcess(start_role("web", name, env, self.folder), port)
        self.webs.append(web)
        return web

    def start_worker(self, name: str, *, public_base_url: str | None = None) -> RoleProcess:
        """A `worker` process."""
        overrides: dict[str, str | int] = {}
        if public_base_url:
            overrides["PUBLIC_BASE_URL"] = public_base_url
        worker = start_role("worker", name, role_environment(**self.settings(**overrides)), self.folder)
        self.workers.append(worker)
        return worker

    async def ready(self) -> None:
        """Until every web process answers /healthz and every worker consumes."""
        for web in self.webs:
            await web.process.wait_serving(f"{web.url}/healthz", self.http)
        await wait_workers_ready(self.workers)

    @property
    def processes(self) -> list[RoleProcess]:
        """Every role process started."""
        return [web.process for web in self.webs] + self.workers

    async def shutdown(self) -> dict[str, float]:
        """SIGTERM to every role still running; each must exit with 0 within the limit. Durations."""
        return await stop_all(process for process in self.processes if process.alive())

    def kill_leftovers(self) -> None:
        """After a failed test: nothing may outlive it."""
        kill_all(self.processes)


@asynccontextmanager
async def deployed(
    folder: Path, services: Services, sandbox: Sandbox, http: aiohttp.ClientSession, **settings: str | int
) -> AsyncIterator[Deployment]:
    """A deployment whose processes are all gone after the block, whatever happened inside it.

    Its Stripe account at the shared sandbox starts empty: another test's booking 1 is not this one's.
    """
    deployment = Deployment(folder, services, sandbox, http, dict(settings))
    async with http.post(f"{sandbox.stripe_api}/sandbox/stripe/reset") as answer:
        assert answer.status == 200, await answer.text()
    try:
        yield deployment
    finally:
        deployment.kill_leftovers()
