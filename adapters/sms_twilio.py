"""SmsSender on Twilio's Programmable Messaging, through the official twilio library (asyncio client).

`api_base_url` points the client at a stand-in (the sandbox) instead of api.twilio.com; production
leaves it unset. Twilio's answers become DeliveryErrors: a 4xx other than 429 (e.g. 21211 invalid
'To', 21614 not a mobile number) is permanent; 429, 5xx, timeouts and connection failures are
transient (REFERENCE.md, Twilio).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from urllib.parse import urlencode

import aiohttp
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from booking_core.tickets.senders import PermanentDeliveryError, SentMessage, TransientDeliveryError

DEFAULT_TIMEOUT_SECONDS = 10.0
# Where Twilio reports an SMS's status: served by webhooks/twilio_status.py.
TWILIO_STATUS_PATH = "/webhooks/twilio/status"
REFERENCE_PARAM = "ref"


def status_callback_url(public_base_url: str, callback_ref: str) -> str:
    """The StatusCallback URL for the SMS of one outbox row, named by its unguessable `callback_ref`."""
    return f"{public_base_url.rstrip('/')}{TWILIO_STATUS_PATH}?{urlencode({REFERENCE_PARAM: callback_ref})}"


class TwilioSmsSender:
    """Sends SMS through Twilio (or a stand-in at `api_base_url`); one per event loop, closed at its end."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        api_base_url: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._from_number = from_number
        self._api_base_url = api_base_url.rstrip("/") if api_base_url else None
        self._timeout = timeout
        self._http: AsyncTwilioHttpClient | None = None
        self._client: Client | None = None

    async def send(self, to: str, body: str, status_callback_url: str | None) -> SentMessage:
        """Create the message at Twilio and return its sid and first status ("queued" or "accepted")."""
        client = self._client_in_loop()
        try:
            async with asyncio.timeout(self._timeout):
                message = await client.messages.create_async(
                    to=to,
                    from_=self._from_number,
                    body=body,
                    **({"status_callback": status_callback_url} if status_callback_url else {}),
                )
        except TwilioRestException as exc:
            raise _delivery_error(exc.status, exc.code, exc.msg) from exc
        except TwilioServiceException as exc:
            raise _delivery_error(exc.status, exc.code, exc.detail or exc.title) from exc
        except TimeoutError as exc:
            raise TransientDeliveryError(
                "timeout", f"no answer from Twilio within {self._timeout} s"
            ) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise TransientDeliveryError("connection", str(exc) or type(exc).__name__) from exc
        return SentMessage(message_id=str(message.sid), status=str(message.status))

    async def close(self) -> None:
        """Close the HTTP connections."""
        if self._http is not None:
            await self._http.close()
            self._http = None
            self._client = None

    def _client_in_loop(self) -> Client:
        # The twilio client opens an aiohttp session at construction, which binds it to the running loop.
        if self._client is None:
            self._http = AsyncTwilioHttpClient()
            self._client = Client(self._account_sid, self._auth_token, http_client=self._http)
            if self._api_base_url:
                self._client.api.base_url = self._api_base_url
        return self._client


def verify_twilio_signature(auth_token: str, url: str, params: Mapping[str, str], signature: str) -> bool:
    """True when `signature` (X-Twilio-Signature) signs these POST params for this public URL."""
    if not signature:
        return False
    return bool(RequestValidator(auth_token).validate(url, dict(params), signature))


def _delivery_error(
    status: int, code: int | None, message: str
) -> PermanentDeliveryError | TransientDeliveryError:
    error_code = str(code if code is not None else status)
    if status == 429 or status >= 500:
        return TransientDeliveryError(error_code, message)
    return PermanentDeliveryError(error_code, message)
