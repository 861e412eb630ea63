"""The long-running roles: run (everything), web, bot, worker and sandbox, each until SIGINT/SIGTERM.

Stopping is graceful everywhere: the web server finishes in-flight requests, the bot stops polling
and sends what it has queued, the worker finishes (or hands back) the messages it holds.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from booking_core.catalogue import seed_demo
from booking_core.settings import ConfigurationError
from bot.notifications import TelegramNotifier
from bot.running import running_bot
from roles.bot_role import bot_application
from roles.demo_theatre import DemoTheatre, connect_demo_theatre
from roles.endpoints import Endpoints, SandboxUrls, resolve_endpoints
from roles.migrate import upgrade_to_head
from roles.redis_server import open_redis
from roles.resources import open_core
from roles.sandbox_server import paying_through, serving_sandboxes, stripe_standin
from roles.settings import MarqueeSettings
from roles.web_role import opened_miniapp, serving, web_application
from roles.worker_role import declare_jobs, run_worker
from workers.theatre import sync_theatres as sync_connected_theatres

log = logging.getLogger(__name__)

RoleMain = Callable[[MarqueeSettings, asyncio.Event], Awaitable[None]]


def run_role(role: str, settings: MarqueeSettings) -> int:
    """Run one long-running role until it is told to stop; 2 for a configuration it cannot use."""
    try:
        asyncio.run(_until_signalled(ROLES[role], settings))
    except ConfigurationError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    _name_threads_holding_the_exit()
    return 0


def _name_threads_holding_the_exit() -> None:
    # Python waits for every non-daemon thread before it exits: one left running (a connection never
    # closed) would keep a stopped role alive, so it is named rather than waited for in silence.
    lingering = [
        thread.name
        for thread in threading.enumerate()
        if thread is not threading.main_thread() and not thread.daemon and thread.is_alive()
    ]
    if lingering:
        log.warning("stopped, but these threads still run and hold the exit: %s", ", ".join(lingering))


async def _until_signalled(main: RoleMain, settings: MarqueeSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await main(settings, stop)


@asynccontextmanager
async def _redis_url(settings: MarqueeSettings) -> AsyncIterator[str]:
    endpoint = await asyncio.to_thread(open_redis, settings.REDIS_URL, settings.DATA_DIR)
    try:
        yield endpoint.url
    finally:
        endpoint.stop()


async def _serve_web(settings: MarqueeSettings, endpoints: Endpoints, stop: asyncio.Event) -> None:
    notifier = TelegramNotifier()
    async with open_core(settings, endpoints.redis_url, notifier) as core:
        if not settings.TELEGRAM_WEBHOOK_URL:
            async with opened_miniapp(core, endpoints, notifier, None) as miniapp:
                app = web_application(core, endpoints, declare_jobs(endpoints), None, miniapp)
                async with serving(app, settings.HTTP_HOST, settings.HTTP_PORT):
                    log.info("web serving on %s:%s", settings.HTTP_HOST, settings.HTTP_PORT)
                    await stop.wait()
            return
        application = bot_application(core, endpoints, notifier)
        webhook = running_bot(
            application,
            webhook_url=settings.TELEGRAM_WEBHOOK_URL,
            webhook_secret=settings.TELEGRAM_WEBHOOK_SECRET,
        )
        async with webhook, opened_miniapp(core, endpoints, notifier, application) as miniapp:
            app = web_application(core, endpoints, declare_jobs(endpoints), application, miniapp)
            async with serving(app, settings.HTTP_HOST, settings.HTTP_PORT):
                log.info("web (and Telegram webhook) on %s:%s", settings.HTTP_HOST, settings.HTTP_PORT)
                await stop.wait()


async def _poll_bot(settings: MarqueeSettings, endpoints: Endpoints, stop: asyncio.Event) -> None:
    if settings.TELEGRAM_WEBHOOK_URL:
        raise ConfigurationError("TELEGRAM_WEBHOOK_URL: set, so updates arrive at the `web` role, not `bot`")
    notifier = TelegramNotifier()
    async with open_core(settings, endpoints.redis_url, notifier) as core:
        application = bot_application(core, endpoints, notifier)
        async with running_bot(application):
            log.info("bot polling %s", endpoints.telegram_api_base_url)
            await stop.wait()


def _single(serve: Callable[[MarqueeSettings, Endpoints, asyncio.Event], Awaitable[None]]) -> RoleMain:
    """A role of a scaled-out deployment: outside services from the settings (or a `sandbox` process)."""

    async def main(settings: MarqueeSettings, stop: asyncio.Event) -> None:
        async with _redis_url(settings) as redis_url:
            await serve(settings, resolve_endpoints(settings, redis_url, None), stop)

    return main


async def _sandbox(settings: MarqueeSettings, stop: asyncio.Event) -> None:
    if not settings.is_demo:
        raise ConfigurationError("MODE: the sandbox stand-ins serve MODE=demo only")
    stripe = stripe_standin(settings)
    async with serving_sandboxes(settings, stripe) as (urls, _telegram):
        print(f"sandbox serving on {urls.http} (SMTP {urls.smtp})", flush=True)
        print(
            "the demo's roles pay through its Stripe stand-in with: PAYMENT_PROVIDER=stripe "
            f"STRIPE_API_BASE={urls.stripe_api} STRIPE_API_KEY={stripe.api_key} "
            f"STRIPE_WEBHOOK_SECRET={stripe.webhook_secret}",
            flush=True,
        )
        await stop.wait()


async def _everything(settings: MarqueeSettings, stop: asyncio.Event) -> None:
    """`run`: the demo, or with MODE=production every role on the real services in this one process."""
    if settings.is_demo:
        await _demo(settings, stop)
        return
    await asyncio.to_thread(upgrade_to_head, settings.DATABASE_URL)
    async with _redis_url(settings) as redis_url:
        endpoints = resolve_endpoints(settings, redis_url, None)
        roles = [_serve_web(settings, endpoints, stop), run_worker(settings, endpoints, stop)]
        if not settings.TELEGRAM_WEBHOOK_URL:  # in webhook mode the web role takes the updates
            roles.append(_poll_bot(settings, endpoints, stop))
        await asyncio.gather(*roles)


async def _demo(settings: MarqueeSettings, stop: asyncio.Event) -> None:
    """The demo: migrate, seed, then every role and every stand-in (on loopback) in this one process.

    One demo chain sells through a sandbox theatre's API, another through its theatre database (unless
    THEATRE_SYSTEMS is set), so the demo shows every kind of cinema. Payments go through the real Stripe
    adapter to the Stripe stand-in (unless STRIPE_API_KEY is set: then to that Stripe account).
    """
    await asyncio.to_thread(upgrade_to_head, settings.DATABASE_URL)
    stripe = None if settings.STRIPE_API_KEY else stripe_standin(settings)
    async with (
        connect_demo_theatre(settings) as theatre,
        serving_sandboxes(theatre.settings, stripe) as (sandbox, _telegram),
        _redis_url(theatre.settings) as redis_url,
    ):
        settings = theatre.settings if stripe is None else paying_through(theatre.settings, stripe)
        endpoints = resolve_endpoints(settings, redis_url, sandbox)
        async with open_core(settings, redis_url, TelegramNotifier()) as core:
            report = await seed_demo(core.sessions, core.catalogue)
            log.info("demo catalogue: %s", report.summary())
            for synced in await sync_connected_theatres(core):
                log.info("theatre sync: %s", synced.summary())
        _print_welcome(settings, sandbox, theatre)
        await asyncio.gather(
            _serve_web(settings, endpoints, stop),
            _poll_bot(settings, endpoints, stop),
            run_worker(settings, endpoints, stop),
        )
        log.info("web, bot and worker stopped; stopping Redis, the stand-ins and the demo theatres")
    log.info("demo stopped")


def _print_welcome(settings: MarqueeSettings, sandbox: SandboxUrls, theatre: DemoTheatre) -> None:
    lines = [
        "",
        "Marquee is running on embedded defaults.",
        f"  Chat with the bot:      {sandbox.http}/sandbox/telegram/chat",
        f"  Sent SMS:               {sandbox.http}/sandbox/sms.html",
        f"  Sent emails:            {sandbox.http}/sandbox/mail.html",
        f"  Health and metrics:     {settings.public_base_url}/healthz  {settings.public_base_url}/metrics",
    ]
    if theatre.box_office_url:
        lines.append(f"  Theatre box office:     {theatre.box_office_url}")
    if theatre.database_box_office_url:
        lines.append(f"  Database box office:    {theatre.database_box_office_url}")
    lines.append("Press Ctrl-C to stop; data stays in data/ for the next run.\n")
    print("\n".join(lines), flush=True)


ROLES: dict[str, RoleMain] = {
    "run": _everything,
    "web": _single(_serve_web),
    "bot": _single(_poll_bot),
    "worker": _single(run_worker),
    "sandbox": _sandbox,
}
