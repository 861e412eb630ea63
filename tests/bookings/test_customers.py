"""Customers: created on first contact, found again, and their phone and email checked before use."""

from __future__ import annotations

import asyncio

import pytest

from booking_core.bookings.customers import (
    CustomerNotFound,
    InvalidContact,
    find_customer,
    get_or_create_customer,
    normalize_email,
    normalize_phone,
    set_email,
    set_phone,
)
from booking_core.database import SessionFactory


async def test_first_contact_creates_then_finds_and_keeps_the_chat_current(sessions: SessionFactory) -> None:
    # Given a user who has never talked to the bot
    assert await find_customer(sessions, 501) is None
    # When they write twice, the second time from another chat
    first = await get_or_create_customer(sessions, 501, chat_id=9001, name="Ada")
    second = await get_or_create_customer(sessions, 501, chat_id=9002)
    # Then there is one customer, with the latest chat and the name kept
    assert second.id == first.id
    assert (second.chat_id, second.name) == (9002, "Ada")
    assert await find_customer(sessions, 501) == second


async def test_simultaneous_first_contacts_make_one_customer(sessions: SessionFactory) -> None:
    results = await asyncio.gather(*(get_or_create_customer(sessions, 777, chat_id=777) for _ in range(8)))
    assert len({customer.id for customer in results}) == 1


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("+49 30 1234-5678", "+493012345678"),
        ("0044 (20) 7946 0958", "+442079460958"),
        ("+1.415.555.0100", "+14155550100"),
    ],
)
def test_phone_numbers_are_stored_in_e164(typed: str, stored: str) -> None:
    assert normalize_phone(typed) == stored


@pytest.mark.parametrize(
    "typed", ["030 1234567", "+0 30 1234567", "+49 30 12ab567", "+1234567", "+1234567890123456", "", "+"]
)
def test_phone_numbers_that_cannot_exist_are_refused(typed: str) -> None:
    with pytest.raises(InvalidContact) as refused:
        normalize_phone(typed)
    assert refused.value.code == "invalid_phone"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [(" Ada.Lovelace+films@Example.ORG ", "Ada.Lovelace+films@example.org"), ("x@a-b.co.uk", "x@a-b.co.uk")],
)
def test_email_addresses_are_trimmed_with_the_domain_lowered(typed: str, stored: str) -> None:
    assert normalize_email(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "ada",
        "ada@",
        "@example.org",
        "ada@example",
        "ada@@example.org",
        "ada lovelace@example.org",
        "ada..l@example.org",
        ".ada@example.org",
        "ada@-example.org",
        "ada@example..org",
        "ada@10.0.0.1",
        "a" * 65 + "@example.org",
        "ada@" + "b" * 250 + ".org",
    ],
)
def test_email_addresses_that_cannot_be_delivered_are_refused(typed: str) -> None:
    with pytest.raises(InvalidContact) as refused:
        normalize_email(typed)
    assert refused.value.code == "invalid_email"


async def test_contact_details_are_set_validated_and_cleared(sessions: SessionFactory) -> None:
    await get_or_create_customer(sessions, 42, chat_id=42)
    assert (await set_phone(sessions, 42, "+44 20 7946 0958")).phone == "+442079460958"
    assert (await set_email(sessions, 42, "Ada@Example.org")).email == "Ada@example.org"
    with pytest.raises(InvalidContact):
        await set_email(sessions, 42, "not an address")
    # A refused value leaves the stored one alone
    assert (await find_customer(sessions, 42)).email == "Ada@example.org"  # type: ignore[union-attr]
    cleared = await set_phone(sessions, 42, None)
    assert (cleared.phone, cleared.email) == (None, "Ada@example.org")


async def test_contact_details_need_a_customer(sessions: SessionFactory) -> None:
    with pytest.raises(CustomerNotFound):
        await set_phone(sessions, 404, "+442079460958")
