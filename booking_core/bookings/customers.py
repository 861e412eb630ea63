"""Customers: who a Telegram user is to us, and where else their tickets may go (SMS, email).

A customer is created the first time a Telegram user talks to the bot and found by their Telegram
user id ever after. Phone and email are optional; each is checked before it is stored so that
a ticket is never sent to an address that cannot exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from booking_core.database import SessionFactory
from booking_core.models import Customer

# E.164: a plus, a country code that does not start with 0, at most 15 digits in all. Fewer than 8
# digits is no real subscriber number anywhere, so it is refused as a typo.
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
# What people type around the digits of a phone number.
_PHONE_PUNCTUATION = re.compile(r"[\s().\-/]")
# A practical address check (RFC 5321 lengths, one @, a dotted domain of LDH labels), not full RFC 5322.
_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_DOMAIN_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


class InvalidContact(ValueError):
    """A phone number or email address that cannot be used; `code` says which (stable, for the bot)."""

    def __init__(self, code: str, value: str) -> None:
        super().__init__(f"{code}: {value!r}")
        self.code = code
        self.value = value


class CustomerNotFound(LookupError):
    """No customer for that Telegram user (they have not talked to the bot yet)."""


@dataclass(frozen=True)
class CustomerRecord:
    """A customer as the rest of the code sees them."""

    id: int
    telegram_user_id: int
    chat_id: int
    name: str
    phone: str | None
    email: str | None


def normalize_phone(text: str) -> str:
    """The E.164 form of a typed number ("+49 30 1234-5678" → "+493012345678"); else InvalidContact."""
    candidate = _PHONE_PUNCTUATION.sub("", text.strip())
    if candidate.startswith("00"):
        candidate = "+" + candidate[2:]
    if not _E164.match(candidate):
        raise InvalidContact("invalid_phone", text)
    return candidate


def normalize_email(text: str) -> str:
    """The address trimmed, with its domain in lower case; InvalidContact when it is not a usable address."""
    candidate = text.strip()
    local, at, domain = candidate.rpartition("@")
    labels = domain.split(".")
    valid = (
        at == "@"
        and len(candidate) <= 254
        and 0 < len(local) <= 64
        and _EMAIL_LOCAL.match(local) is not None
        and len(labels) >= 2
        and all(_DOMAIN_LABEL.match(label) for label in labels)
        and not labels[-1].isdigit()
    )
    if not valid:
        raise InvalidContact("invalid_email", text)
    return f"{local}@{domain.lower()}"


async def get_or_create_customer(
    sessions: SessionFactory, telegram_user_id: int, chat_id: int, name: str = ""
) -> CustomerRecord:
    """The customer for this Telegram user, created on first contact; chat id and name kept current."""
    for _attempt in range(2):
        async with sessions() as session:
            customer = await session.scalar(
                select(Customer).where(Customer.telegram_user_id == telegram_user_id)
            )
            if customer is None:
                customer = Customer(telegram_user_id=telegram_user_id, chat_id=chat_id, name=name[:200])
                session.add(customer)
            else:
                customer.chat_id = chat_id
                if name:
                    customer.name = name[:200]
            try:
                await session.commit()
            except IntegrityError:
                # Two first messages at once: the other one created the row, so read it next time round.
                await session.rollback()
                continue
            return _record(customer)
    raise RuntimeError(f"could not create or read customer {telegram_user_id}")


async def find_customer(sessions: SessionFactory, telegram_user_id: int) -> CustomerRecord | None:
    """The customer for this Telegram user, or None."""
    async with sessions() as session:
        customer = await session.scalar(select(Customer).where(Customer.telegram_user_id == telegram_user_id))
        return None if customer is None else _record(customer)


async def set_phone(sessions: SessionFactory, telegram_user_id: int, phone: str | None) -> CustomerRecord:
    """Store (normalised) or clear the customer's phone; raises InvalidContact or CustomerNotFound."""
    value = None if phone is None else normalize_phone(phone)
    return await _update(sessions, telegram_user_id, phone=value)


async def set_email(sessions: SessionFactory, telegram_user_id: int, email: str | None) -> CustomerRecord:
    """Store (normalised) or clear the customer's email; raises InvalidContact or CustomerNotFound."""
    value = None if email is None else normalize_email(email)
    return await _update(sessions, telegram_user_id, email=value)


async def _update(sessions: SessionFactory, telegram_user_id: int, **fields: str | None) -> CustomerRecord:
    async with sessions() as session:
        customer = await session.scalar(select(Customer).where(Customer.telegram_user_id == telegram_user_id))
        if customer is None:
            raise CustomerNotFound(telegram_user_id)
        for name, value in fields.items():
            setattr(customer, name, value)
        await session.commit()
        return _record(customer)


def _record(customer: Customer) -> CustomerRecord:
    return CustomerRecord(
        id=customer.id,
        telegram_user_id=customer.telegram_user_id,
        chat_id=customer.chat_id,
        name=customer.name,
        phone=customer.phone,
        email=customer.email,
    )
