"""What the sandbox keeps per simulated user: the user, their private chat and its messages."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sandbox.telegram.changes import Signal

Sender = Literal["bot", "user"]


def now_timestamp() -> int:
    """The current Unix time in whole seconds, the Bot API's `date` unit."""
    return int(time.time())


@dataclass
class SimUser:
    """A simulated Telegram user; their private chat has the same id."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    phone_number: str | None = None

    def to_api(self) -> dict[str, Any]:
        """The Bot API `User` object."""
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for name in ("last_name", "username", "language_code"):
            if getattr(self, name):
                user[name] = getattr(self, name)
        return user

    def chat_api(self) -> dict[str, Any]:
        """The Bot API `Chat` object of the user's private chat."""
        chat: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        return chat


@dataclass
class ChatMessage:
    """One message of a chat, with its edits applied (earlier versions kept in `edits`)."""

    message_id: int
    chat_id: int
    sender: Sender
    date: int
    text: str | None = None
    entities: list[dict[str, Any]] | None = None
    caption: str | None = None
    caption_entities: list[dict[str, Any]] | None = None
    photo: list[dict[str, Any]] | None = None
    document: dict[str, Any] | None = None
    location: dict[str, Any] | None = None
    contact: dict[str, Any] | None = None
    reply_markup: dict[str, Any] | None = None
    reply_keyboard: dict[str, Any] | None = None
    reply_to_message_id: int | None = None
    edit_date: int | None = None
    edits: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False

    @property
    def from_bot(self) -> bool:
        """Whether the bot sent this message."""
        return self.sender == "bot"

    @property
    def edit_count(self) -> int:
        """How many times the bot edited this message."""
        return len(self.edits)

    @property
    def kind(self) -> str:
        """text, photo, document, location or contact."""
        for name in ("photo", "document", "location", "contact"):
            if getattr(self, name) is not None:
                return name
        return "text"

    @property
    def photo_file_id(self) -> str | None:
        """The file id of the largest size of the photo, if this is a photo."""
        return self.photo[-1]["file_id"] if self.photo else None

    def content(self) -> dict[str, Any]:
        """What an edit may change; two equal contents make an edit "not modified"."""
        return {
            "text": self.text,
            "entities": self.entities or [],
            "caption": self.caption,
            "caption_entities": self.caption_entities or [],
            "photo": self.photo_file_id,
            "document": (self.document or {}).get("file_id"),
            "reply_markup": self.reply_markup,
        }

    def buttons(self) -> list[dict[str, Any]]:
        """The inline keyboard's buttons, row by row, flattened."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]

    def callback_data(self) -> list[str]:
        """The callback data of every inline button, in keyboard order."""
        return [button["callback_data"] for button in self.buttons() if "callback_data" in button]

    def button(self, label: str) -> dict[str, Any]:
        """The first inline button whose text contains `label` (KeyError if none does)."""
        for button in self.buttons():
            if label in button.get("text", ""):
                return button
        raise KeyError(f"no button labelled {label!r} on message {self.message_id}: {self.buttons()}")

    def to_api(self, bot: dict[str, Any], user: SimUser) -> dict[str, Any]:
        """The Bot API `Message` object."""
        message: dict[str, Any] = {
            "message_id": self.message_id,
            "from": bot if self.from_bot else user.to_api(),
            "chat": user.chat_api(),
            "date": self.date,
        }
        for name in ("text", "entities", "caption", "caption_entities", "photo", "document", "location"):
            if getattr(self, name):
                message[name] = getattr(self, name)
        if self.contact is not None:
            message["contact"] = self.contact
        if self.edit_date is not None:
            message["edit_date"] = self.edit_date
        if self.reply_markup is not None:
            message["reply_markup"] = self.reply_markup
        if self.reply_to_message_id is not None:
            message["reply_to_message"] = {
                "message_id": self.reply_to_message_id,
                "chat": user.chat_api(),
                "date": self.date,
            }
        return message

    def view(self, file_url: Callable[[str], str]) -> dict[str, Any]:
        """The message as the web chat and the user-side API show it."""
        view: dict[str, Any] = {
            "message_id": self.message_id,
            "from": self.sender,
            "kind": self.kind,
            "date": self.date,
            "text": self.text,
            "entities": self.entities or [],
            "caption": self.caption,
            "caption_entities": self.caption_entities or [],
            "reply_markup": self.reply_markup,
            "reply_to_message_id": self.reply_to_message_id,
            "edit_count": self.edit_count,
            "edit_date": self.edit_date,
            "deleted": self.deleted,
        }
        if self.photo_file_id:
            view["photo_url"] = file_url(self.photo_file_id)
        if self.document:
            view["document"] = {**self.document, "url": file_url(self.document["file_id"])}
        if self.location is not None:
            view["location"] = self.location
        if self.contact is not None:
            view["contact"] = self.contact
        return view


@dataclass
class CallbackAnswer:
    """The bot's answerCallbackQuery for one pressed button."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    seconds_after_press: float

    def view(self) -> dict[str, Any]:
        """The answer as the user-side API shows it."""
        return {
            "callback_query_id": self.callback_query_id,
            "text": self.text,
            "show_alert": self.show_alert,
            "url": self.url,
            "seconds_after_press": round(self.seconds_after_press, 3),
        }


@dataclass
class CallbackPress:
    """A button press the user made, waiting for (or holding) the bot's answer."""

    callback_query_id: str
    user_id: int
    message_id: int
    data: str
    pressed_at: float
    answer: CallbackAnswer | None = None


@dataclass
class Chat:
    """A user's private chat with the bot."""

    user: SimUser
    messages: dict[int, ChatMessage] = field(default_factory=dict)
    reply_keyboard: dict[str, Any] | None = None
    presses: list[CallbackPress] = field(default_factory=list)
    actions: list[tuple[str, int]] = field(default_factory=list)
    blocked: bool = False
    version: int = 0
    next_message_id: int = 1
    changed: Signal = field(default_factory=Signal, repr=False)

    def touch(self) -> None:
        """Count a change and wake whoever waits on this chat."""
        self.version += 1
        self.changed.fire()

    def new_message_id(self) -> int:
        """The next message id of this chat."""
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def visible(self) -> list[ChatMessage]:
        """The messages not deleted, oldest first."""
        return [message for message in self.messages.values() if not message.deleted]
