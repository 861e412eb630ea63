"""Where each outside service is: the configured vendor, or the sandbox stand-in when none is set."""

from __future__ import annotations

from dataclasses import dataclass

from booking_core.settings import ConfigurationError
from roles.settings import MarqueeSettings
from sandbox.twilio_api import SANDBOX_ACCOUNT_SID, SANDBOX_AUTH_TOKEN, SANDBOX_FROM_NUMBER

TELEGRAM_API = "https://api.telegram.org"
TELEGRAM_WEB_APP_SCRIPT = "https://telegram.org/js/telegram-web-app.js"
SANDBOX_WEB_APP_SCRIPT = "/sandbox/telegram/telegram-web-app.js"
STRIPE_STANDIN_PATH = "/stripe"
# Stand-ins listen here only: their pages list every customer's messages, phone numbers and emails.
LOOPBACK = "127.0.0.1"
# Any token works against the sandbox Bot API; this one reads well in logs.
SANDBOX_BOT_TOKEN = "7000000001:marquee-sandbox"


@dataclass(frozen=True)
class SandboxUrls:
    """The stand-ins a `run` or `sandbox` process serves (HTTP on SANDBOX_PORT, SMTP one port up)."""

    http: str
    smtp: str

    @property
    def stripe_api(self) -> str:
        """The Stripe stand-in's API base (its hosted checkout pages are under it too)."""
        return f"{self.http}{STRIPE_STANDIN_PATH}"

    @classmethod
    def on_ports(cls, settings: MarqueeSettings) -> SandboxUrls:
        """The sandbox addresses for this configuration."""
        return cls(
            http=f"http://{LOOPBACK}:{settings.SANDBOX_PORT}",
            smtp=f"smtp://{LOOPBACK}:{settings.SANDBOX_PORT + 1}",
        )


@dataclass(frozen=True)
class Endpoints:
    """Every outside address a process needs, resolved once at start-up."""

    redis_url: str
    broker_url: str
    telegram_token: str
    telegram_api_base_url: str
    # Account SID, auth token, sender number: TWILIO_*, the sandbox's in a demo, else None (no SMS).
    twilio_credentials: tuple[str, str, str] | None
    twilio_api_base_url: str | None
    smtp_url: str
    # The script a Mini App page loads for window.Telegram.WebApp: Telegram's, or the sandbox's stand-in.
    telegram_web_app_script: str = TELEGRAM_WEB_APP_SCRIPT


def resolve_endpoints(settings: MarqueeSettings, redis_url: str, sandbox: SandboxUrls | None) -> Endpoints:
    """Fill every unset vendor setting with the sandbox (in a demo, when one runs); refuse a gap otherwise."""
    telegram_token = settings.TELEGRAM_BOT_TOKEN
    telegram_api = settings.TELEGRAM_API_BASE_URL
    web_app_script = TELEGRAM_WEB_APP_SCRIPT
    if not telegram_token:
        if telegram_api is None and sandbox is None:
            raise ConfigurationError("TELEGRAM_BOT_TOKEN: set it, or TELEGRAM_API_BASE_URL to a sandbox")
        telegram_token = SANDBOX_BOT_TOKEN
        telegram_api = telegram_api or (sandbox.http if sandbox else None)
        web_app_script = f"{str(telegram_api).rstrip('/')}{SANDBOX_WEB_APP_SCRIPT}"
    twilio = _twilio_credentials(settings)
    twilio_api = settings.TWILIO_API_BASE_URL or (None if twilio or sandbox is None else sandbox.http)
    smtp_url = settings.SMTP_URL or (sandbox.smtp if sandbox else None)
    if smtp_url is None:
        raise ConfigurationError("SMTP_URL: set it (smtp://host:port), or run the sandbox")
    return Endpoints(
        redis_url=redis_url,
        broker_url=settings.BROKER_URL or redis_url,
        telegram_token=telegram_token,
        telegram_api_base_url=(telegram_api or TELEGRAM_API).rstrip("/"),
        twilio_credentials=twilio or (_SANDBOX_TWILIO if settings.is_demo else None),
        twilio_api_base_url=twilio_api,
        smtp_url=smtp_url,
        telegram_web_app_script=web_app_script,
    )


_SANDBOX_TWILIO = (SANDBOX_ACCOUNT_SID, SANDBOX_AUTH_TOKEN, SANDBOX_FROM_NUMBER)


def _twilio_credentials(settings: MarqueeSettings) -> tuple[str, str, str] | None:
    sid, token, sender = settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM_NUMBER
    return (sid, token, sender) if sid and token and sender else None
