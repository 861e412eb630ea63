"""The sandbox's in-process state: the bot, simulated users and their chats, updates, files, calls.

Everything runs on one event loop and no method awaits halfway through a change, so each change is
atomic. Tests drive users with the async helpers (`send_text`, `press`, ...) and read chats back.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar

from sandbox.telegram import errors
from sandbox.telegram.changes import Signal
from sandbox.telegram.chat import CallbackAnswer, CallbackPress, Chat, ChatMessage, SimUser, now_timestamp
from sandbox.telegram.errors import ApiError, SandboxError
from sandbox.telegram.files import FileStore
from sandbox.telegram.formatting import command_entities
from sandbox.telegram.limits import FloodControl, FloodLimits
from sandbox.telegram.updates import UpdateQueue
from sandbox.telegram.web_apps import launch_url, signed_init_data

if TYPE_CHECKING:
    from sandbox.telegram.webhook import WebhookDelivery

T = TypeVar("T")

DEFAULT_LOCATION_PRESETS: tuple[tuple[str, float, float], ...] = (
    ("Berlin, Alexanderplatz", 52.5219, 13.4132),
    ("London, Leicester Square", 51.5103, -0.1301),
    ("Paris, Opéra", 48.8719, 2.3316),
    ("New York, Times Square", 40.7580, -73.9855),
)


@dataclass(frozen=True)
class ApiCall:
    """One Bot API call the bot made, as logged (uploads summarised)."""

    method: str
    params: dict[str, Any]
    ok: bool
    description: str | None
    at: float = field(default_factory=time.monotonic)


class TelegramSandbox:
    """A local Telegram: one bot, any number of simulated users in private chats (chat id == user id)."""

    def __init__(
        self,
        *,
        bot_id: int = 7_000_000_001,
        bot_username: str = "marquee_sandbox_bot",
        bot_first_name: str = "Marquee (sandbox)",
        token: str | None = None,
        flood: FloodLimits | None = None,
        callback_answer_deadline: float | None = 15.0,
        webhook_attempts: int = 4,
        webhook_backoff: float = 0.05,
        webhook_timeout: float = 10.0,
        location_presets: tuple[tuple[str, float, float], ...] = DEFAULT_LOCATION_PRESETS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bot = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.token = token
        # The token the bot last called with: what Mini App initData is signed with when none is configured.
        self.bot_token_seen: str | None = token
        self.flood = FloodControl(flood) if flood else None
        self.callback_answer_deadline = callback_answer_deadline
        self.clock = clock  # seconds; how old a callback query is (a test may move it on)
        self.webhook_attempts = webhook_attempts
        self.webhook_backoff = webhook_backoff
        self.webhook_timeout = webhook_timeout
        self.location_presets = location_presets
        self.signal = Signal()  # fires when updates or the webhook change; each chat has its own
        self.updates = UpdateQueue(self.signal)
        self.files = FileStore()
        self.chats: dict[int, Chat] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.calls: deque[ApiCall] = deque(maxlen=10_000)
        self.call_counts: Counter[str] = Counter()  # every call ever made, by method
        self.webhook_deliveries: list[WebhookDelivery] = []
        self._presses: dict[str, CallbackPress] = {}

    # -- users and chats ---------------------------------------------------------------------------

    def add_user(self, user_id: int, **profile: Any) -> SimUser:
        """The simulated user `user_id` (created on first use); keyword arguments update their profile."""
        chat = self.chats.get(user_id)
        if chat is None:
            user = SimUser(user_id, first_name=f"User {user_id}", username=f"user{user_id}")
            chat = self.chats[user_id] = Chat(user)
        for name, value in profile.items():
            if value is not None:
                setattr(chat.user, name, value)
        return chat.user

    def block(self, user_id: int, blocked: bool = True) -> None:
        """Make the user block (or unblock) the bot: sending to them then answers 403."""
        self.add_user(user_id)
        chat = self.chats[user_id]
        chat.blocked = blocked
        chat.touch()

    def chat(self, user_id: int) -> list[ChatMessage]:
        """The user's chat history, edits applied, deleted messages left out ([] for an unknown user)."""
        chat = self.chats.get(user_id)
        return chat.visible() if chat else []

    def chat_state(self, user_id: int) -> Chat:
        """The whole chat record (reply keyboard, presses, actions, version); SandboxError if unknown."""
        chat = self.chats.get(user_id)
        if chat is None:
            raise SandboxError(f"no user {user_id}: create them (add_user) or send a message first")
        return chat

    def last_bot_message(self, user_id: int) -> ChatMessage | None:
        """The newest message the bot sent the user, if any."""
        return next((message for message in reversed(self.chat(user_id)) if message.from_bot), None)

    def callback_answers(self, user_id: int) -> list[CallbackAnswer]:
        """The bot's answers to this user's button presses, in press order."""
        chat = self.chats.get(user_id)
        return [press.answer for press in chat.presses if press.answer is not None] if chat else []

    def release_waiters(self) -> None:
        """Shutting down: long polls and chat waits return now instead of at their timeout."""
        self.updates.closing = True
        self.signal.fire()
        for chat in self.chats.values():
            chat.changed.fire()

    def message_api(self, message: ChatMessage) -> dict[str, Any]:
        """The Bot API `Message` object of a stored message."""
        return message.to_api(self.bot, self.chats[message.chat_id].user)

    # -- what the user does ----------------------------------------------------------------------

    async def send_text(self, user_id: int, text: str, **profile: Any) -> ChatMessage:
        """The user sends `text` (a leading /command gets its bot_command entity)."""
        if not text:
            raise SandboxError("a Telegram client cannot send an empty message")
        return self._user_message(user_id, profile, text=text, entities=command_entities(text) or None)

    async def send_location(self, user_id: int, latitude: float, longitude: float) -> ChatMessage:
        """The user shares a location."""
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise SandboxError(f"no such place: {latitude}, {longitude}")
        return self._user_message(user_id, {}, location={"latitude": latitude, "longitude": longitude})

    async def send_contact(
        self, user_id: int, phone_number: str, first_name: str | None = None, last_name: str | None = None
    ) -> ChatMessage:
        """The user shares their own contact (as a request_contact button does)."""
        user = self.add_user(user_id, phone_number=phone_number)
        contact: dict[str, Any] = {
            "phone_number": phone_number,
            "first_name": first_name or user.first_name,
            "user_id": user_id,
        }
        if last_name or user.last_name:
            contact["last_name"] = last_name or user.last_name
        return self._user_message(user_id, {}, contact=contact)

    def _user_message(self, user_id: int, profile: dict[str, Any], **content: Any) -> ChatMessage:
        self.add_user(user_id, **profile)
        chat = self.chats[user_id]
        chat.blocked = False  # writing to the bot again is how a user unblocks it
        message = ChatMessage(chat.new_message_id(), user_id, "user", now_timestamp(), **content)
        chat.messages[message.message_id] = message
        if chat.reply_keyboard and chat.reply_keyboard.get("one_time_keyboard"):
            chat.reply_keyboard = None
        self.updates.push("message", self.message_api(message))
        chat.touch()
        return message

    async def press(self, user_id: int, message_id: int, callback_data: str, *, forge: bool = False) -> str:
        """The user presses the inline button with `callback_data` on a message; returns the query id.

        Only a button that is on that message now can be pressed, unless `forge` (a stale or forged press).
        """
        chat = self.chat_state(user_id)
        message = chat.messages.get(message_id)
        exists = message is not None and not message.deleted and callback_data in message.callback_data()
        if not exists and not forge:
            raise SandboxError(f"message {message_id} in chat {user_id} has no button {callback_data!r}")
        query_id = str(secrets.randbelow(9 * 10**18) + 10**18)
        press = CallbackPress(query_id, user_id, message_id, callback_data, self.clock())
        chat.presses.append(press)
        self._presses[query_id] = press
        if message is not None and not message.deleted:
            shown = self.message_api(message)
        else:  # the Bot API's InaccessibleMessage: date 0
            shown = {"message_id": message_id, "chat": chat.user.chat_api(), "date": 0}
        query = {
            "id": query_id,
            "from": chat.user.to_api(),
            "message": shown,
            "chat_instance": str(user_id * 7919 % 10**12),
            "data": callback_data,
        }
        self.updates.push("callback_query", query)
        chat.touch()
        return query_id

    # -- waiting ---------------------------------------------------------------------------------

    async def wait_for(
        self,
        user_id: int,
        predicate: Callable[[list[ChatMessage]], T | None],
        timeout: float = 5.0,  # noqa: ASYNC109 - a bounded wait, reported with the chat's contents
    ) -> T:
        """The first truthy `predicate(chat)`, re-checked on each change of this (existing) user's chat.

        Raises TimeoutError, listing the chat, when `timeout` seconds pass first.
        """

        def check() -> T | None:
            result = predicate(self.chat(user_id))
            return result if result else None

        result = await self.chat_state(user_id).changed.until(check, timeout)
        if result is None:
            dump = "\n".join(
                f"  {m.message_id} {m.sender}: {m.text or m.caption or m.kind}" for m in self.chat(user_id)
            )
            raise TimeoutError(f"chat {user_id} did not reach the expected state in {timeout}s:\n{dump}")
        return result

    async def wait_for_bot_message(
        self,
        user_id: int,
        after: int = 0,
        timeout: float = 5.0,  # noqa: ASYNC109 - see wait_for
    ) -> ChatMessage:
        """The first message from the bot with an id above `after`."""

        def newer(messages: list[ChatMessage]) -> ChatMessage | None:
            return next((m for m in messages if m.from_bot and m.message_id > after), None)

        return await self.wait_for(user_id, newer, timeout)

    async def wait_for_callback_answer(
        self,
        query_id: str,
        timeout: float = 5.0,  # noqa: ASYNC109 - see wait_for
    ) -> CallbackAnswer:
        """The bot's answer to the press `query_id`."""
        press = self._presses[query_id]
        answer = await self.chats[press.user_id].changed.until(lambda: press.answer, timeout)
        if answer is None:
            raise TimeoutError(f"callback query {query_id} ({press.data!r}) was not answered in {timeout}s")
        return answer

    # -- what the bot does (called by the Bot API routes with checked arguments) ---------------------

    def bot_chat(self, chat_id: int) -> Chat:
        """The chat the bot addresses: 400 if no such user, 403 if they blocked the bot."""
        chat = self.chats.get(chat_id)
        if chat is None:
            raise ApiError(errors.CHAT_NOT_FOUND)
        if chat.blocked:
            raise ApiError(errors.BOT_BLOCKED, 403)
        return chat

    def bot_send(self, chat_id: int, reply_markup: dict[str, Any] | None, **content: Any) -> ChatMessage:
        """Store a message from the bot; a reply keyboard becomes the chat's keyboard."""
        chat = self.bot_chat(chat_id)
        if self.flood is not None:
            self.flood.take(chat_id)
        message = ChatMessage(chat.new_message_id(), chat_id, "bot", now_timestamp(), **content)
        if reply_markup is not None and "inline_keyboard" in reply_markup:
            message.reply_markup = reply_markup
        elif reply_markup is not None:
            message.reply_keyboard = reply_markup
            if "keyboard" in reply_markup:
                chat.reply_keyboard = reply_markup
            elif reply_markup.get("remove_keyboard"):
                chat.reply_keyboard = None
        chat.messages[message.message_id] = message
        chat.touch()
        return message

    def bot_edit(self, chat_id: int, message_id: int, part: str, **changes: Any) -> ChatMessage:
        """Edit the `part` (text, caption, media or reply_markup) of a bot message, as editMessage* do."""
        chat = self.bot_chat(chat_id)
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise ApiError(errors.MESSAGE_TO_EDIT_NOT_FOUND)
        if not message.from_bot:
            raise ApiError(errors.MESSAGE_CANT_BE_EDITED)
        if part == "text" and message.text is None:
            raise ApiError(errors.NO_TEXT_TO_EDIT)
        if part in ("caption", "media") and message.kind not in ("photo", "document"):
            raise ApiError(errors.NO_CAPTION_TO_EDIT if part == "caption" else errors.NO_MEDIA_TO_EDIT)
        edited = replace(message, **changes)
        if edited.content() == message.content():
            raise ApiError(errors.MESSAGE_NOT_MODIFIED)
        if self.flood is not None:
            self.flood.take(chat_id)  # an edit counts towards the chat's messages, as a send does
        message.edits.append(message.content())
        for name, value in changes.items():
            setattr(message, name, value)
        message.edit_date = now_timestamp()
        chat.touch()
        return message

    def bot_delete(self, chat_id: int, message_id: int) -> None:
        """Delete a message from the chat."""
        chat = self.bot_chat(chat_id)
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise ApiError(errors.MESSAGE_TO_DELETE_NOT_FOUND)
        message.deleted = True
        chat.touch()

    def bot_answer_callback(self, query_id: str, text: str | None, show_alert: bool, url: str | None) -> None:
        """Record the bot's answer to a press; unknown, answered or too old queries are refused."""
        press = self._presses.get(query_id)
        age = self.clock() - press.pressed_at if press else 0.0
        deadline = self.callback_answer_deadline
        if press is None or press.answer is not None or (deadline is not None and age > deadline):
            raise ApiError(errors.QUERY_TOO_OLD)
        press.answer = CallbackAnswer(query_id, text, show_alert, url, age)
        self.chats[press.user_id].touch()

    def bot_chat_action(self, chat_id: int, action: str) -> None:
        """Record a chat action (typing, upload_photo, ...)."""
        chat = self.bot_chat(chat_id)
        chat.actions.append((action, now_timestamp()))
        chat.touch()

    def check_token(self, token: str) -> None:
        """Refuse a token other than the configured one (any token is accepted when none is configured)."""
        if self.token is not None and token != self.token:
            raise ApiError("Unauthorized", 401)
        self.bot_token_seen = token

    def web_app_launch(self, user_id: int, url: str, theme: str) -> str:
        """The URL a Telegram client would open for a `web_app` button: signed launch parameters added."""
        if self.bot_token_seen is None:
            raise SandboxError("the bot has not called the Bot API yet, so no token signs its Mini App data")
        user = self.add_user(user_id)
        return launch_url(url, signed_init_data(user.to_api(), self.bot_token_seen), theme)

    def calls_to(self, method: str) -> list[ApiCall]:
        """The logged calls of one Bot API method (case-insensitive), oldest first."""
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def log_call(self, method: str, params: dict[str, Any], error: ApiError | None) -> None:
        """Keep a record of a Bot API call for tests to inspect, and count it."""
        self.call_counts[method] += 1
        self.calls.append(ApiCall(method, params, error is None, error.description if error else None))
