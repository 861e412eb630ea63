"""The web role: payment and Twilio webhooks, Telegram's webhook in webhook mode, the seat-map Mini App,
health and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from bot.context import BotApplication
from bot.notifications import TelegramNotifier
from roles.endpoints import Endpoints
from roles.ports import port_of
from roles.resources import Core, telegram_bot
from webhooks.app import RouteGroup, create_web_app
from webhooks.checkout_return import setup_checkout_return_routes
from webhooks.keys import MINIAPP, TWILIO_AUTH_TOKEN, JobQueue
from webhooks.miniapp.context import MiniApp
from webhooks.miniapp.routes import setup_miniapp_routes
from webhooks.payments import setup_payment_routes
from webhooks.telegram import telegram_routes
from webhooks.twilio_status import setup_twilio_routes

# Connections waiting to be accepted: a burst of webhooks beyond the default 128 would wait a second
# for the kernel to retry a dropped connection attempt.
LISTEN_BACKLOG = 1024
# On stop, requests in flight get this long to finish (Marquee's own take milliseconds); then they are cut.
IN_FLIGHT_GRACE_SECONDS = 5.0


@asynccontextmanager
async def opened_miniapp(
    core: Core, endpoints: Endpoints, notifier: TelegramNotifier, bot_application: BotApplication | None
) -> AsyncIterator[MiniApp]:
    """The Mini App's collaborators: in webhook mode the running bot's Bot, else a Bot of its own.

    A Bot of its own also carries the core's events (a hold of the page expiring, a waitlist offer made
    when the page releases seats) to the users, as the bot role does with its own. It does not ask
    Telegram anything at start-up (no getMe): the web role serves payment webhooks, and checks its own
    port first, even while Telegram cannot be reached.
    """
    token, script = endpoints.telegram_token, endpoints.telegram_web_app_script
    if bot_application is not None:
        yield MiniApp(core, bot_application.bot, token, script)
        return
    bot = telegram_bot(token, endpoints.telegram_api_base_url)
    notifier.bind(bot, core)
    try:
        yield MiniApp(core, bot, token, script)
    finally:
        await bot.shutdown()


def web_application(
    core: Core,
    endpoints: Endpoints,
    jobs: JobQueue,
    bot_application: BotApplication | None,
    miniapp: MiniApp | None = None,
) -> web.Application:
    """The web app for this configuration.

    Twilio's status callbacks are taken only with Twilio (or, in a demo, its stand-in) configured:
    otherwise nobody holds the token they are signed with, and the route does not exist.
    """
    settings = core.settings
    groups: list[RouteGroup] = [setup_payment_routes, setup_checkout_return_routes]
    if endpoints.twilio_credentials is not None:
        groups.append(setup_twilio_routes)
    if miniapp is not None:
        groups.append(setup_miniapp_routes)
    if bot_application is not None and settings.TELEGRAM_WEBHOOK_SECRET:
        groups.append(
            telegram_routes(bot_application, settings.TELEGRAM_WEBHOOK_SECRET, settings.TELEGRAM_WEBHOOK_URL)
        )
    app = create_web_app(
        settings=settings,
        sessions=core.sessions,
        redis=core.redis,
        payment_providers={core.payment_provider.name: core.payment_provider},
        jobs=jobs,
        route_groups=groups,
    )
    if endpoints.twilio_credentials is not None:
        app[TWILIO_AUTH_TOKEN] = endpoints.twilio_credentials[1]
    if miniapp is not None:
        app[MINIAPP] = miniapp
    return app


@asynccontextmanager
async def serving(
    app: web.Application, host: str, port: int, *, port_setting: str = "HTTP_PORT"
) -> AsyncIterator[None]:
    """Serve `app` on host:port until the block ends; in-flight requests finish first.

    A port already in use is a ConfigurationError naming `port_setting`.
    """
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=IN_FLIGHT_GRACE_SECONDS)
    await runner.setup()
    try:
        with port_of(port_setting, host, port):
            await web.TCPSite(runner, host, port, backlog=LISTEN_BACKLOG).start()
        yield
    finally:
        await runner.cleanup()
