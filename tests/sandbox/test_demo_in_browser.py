"""Marquee's own bot, as `make run` starts it, used in a real browser the way the README tells a person to.

`python main.py run` runs in a folder of its own on free ports with its embedded defaults (SQLite,
the embedded Redis, every stand-in). Two simulated users open the sandbox web chat in chromium, race
for the same seat, and one books: /start, a city, a movie, a show, seats tapped and "best N", 💳 Pay,
the Stripe stand-in's checkout page (the real Stripe adapter opened the session there, and the page's
Pay posts Stripe's signed webhook to the demo's web role), and the ticket photo with its code in the
chat, listed by /mytickets.
Screenshots of the seat map and of the ticket are kept under TEST_ARTEFACTS_DIR (data/test-artefacts
by default); docs/screenshots/ holds copies for the README.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.ops.roles import ROOT, RoleProcess, role_environment, start_role
from tests.ops.services import free_port_pairs
from tests.sandbox.browser import chromium_path

playwright_api = pytest.importorskip("playwright.async_api")

pytestmark = pytest.mark.timeout(180)

ARTEFACTS = Path(os.environ.get("TEST_ARTEFACTS_DIR") or ROOT / "data" / "test-artefacts")
WELCOME_LINE = "Chat with the bot:"
STEP_SECONDS = 30  # the longest any one screen may take to appear on a loaded machine
ALICE, BOB = 7101, 7102
CITY, MOVIE = "Lisbon", "Paper Comets"
SHOW_BUTTON = re.compile(r"^\d\d:\d\d · \d+$")  # "21:45 · 140": a show's time and its free seats
RACED_ROW, RACED_SEAT = "E", 3


@dataclass(frozen=True)
class Demo:
    """The running `python main.py run` and where a person reaches it."""

    process: RoleProcess
    chat_url: str
    database: Path


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Demo]:
    """`python main.py run` with nothing configured but free ports; stopped as Ctrl-C would stop it."""
    http_port, sandbox_port, theatre_port = free_port_pairs(3)
    env = role_environment(
        HTTP_PORT=http_port,
        PUBLIC_BASE_URL=f"http://127.0.0.1:{http_port}",
        SANDBOX_PORT=sandbox_port,
        DEMO_THEATRE_PORT=theatre_port,
    )
    process = start_role("run", "run", env, tmp_path)
    try:
        await process.wait_for_log(WELCOME_LINE)
        chat_url = re.search(rf"{WELCOME_LINE}\s+(\S+)", process.log())
        assert chat_url is not None, process.log()
        assert chat_url.group(1) == f"http://127.0.0.1:{sandbox_port}/sandbox/telegram/chat"
        yield Demo(process, chat_url.group(1), tmp_path / "data" / "marquee.db")
        # And the demo stops cleanly on SIGINT, as on Ctrl-C
        process.process.send_signal(2)
        await asyncio.to_thread(process.wait_stopped)
    finally:
        if process.alive():
            process.kill()


class ChatPage:
    """One simulated user's web chat page, driven by clicks and typing like a person."""

    def __init__(self, page: Any, user_id: int) -> None:
        self.page = page
        self.user_id = user_id
        self.alerts: list[str] = []
        self._dismissals: list[asyncio.Future[None]] = []
        page.on("dialog", self._alert)

    def _alert(self, dialog: Any) -> None:
        self.alerts.append(dialog.message)
        self._dismissals.append(asyncio.ensure_future(dialog.dismiss()))

    @classmethod
    async def open(cls, context: Any, chat_url: str, user_id: int) -> ChatPage:
        """A new tab on the web chat as `user_id`."""
        page = await context.new_page()
        await page.goto(f"{chat_url}#user={user_id}")
        return cls(page, user_id)

    async def say(self, text: str) -> None:
        """Type `text` and press Enter."""
        await self.page.fill("#message-text", text)
        await self.page.press("#message-text", "Enter")

    def bot_message(self, has_text: str | re.Pattern[str]) -> Any:
        """The bot's last message containing `has_text`."""
        return self.page.locator(".message.from-bot", has_text=has_text).last

    def seat_map(self) -> Any:
        """The bot's seat-map message (its legend line is unique to it)."""
        return self.bot_message("✖ taken")

    def seat(self, row: str, number: int) -> Any:
        """The button of seat `number` of `row` in the seat map's first block (the row label comes first)."""
        label = self.page.get_by_role("button", name=row, exact=True)
        return self.seat_map().locator(".keyboard-row").filter(has=label).first.locator("button").nth(number)

    async def open_seat_map(self) -> None:
        """/start, then the city, the movie and the first show listed, as a person taps them."""
        await self.say("/start")
        await self.page.get_by_role("button", name=CITY, exact=True).click()
        await self.page.get_by_role("button", name=f"🎬 {MOVIE}", exact=True).click()
        await self.page.get_by_role("button", name=SHOW_BUTTON).first.click()
        await playwright_api.expect(self.seat_map()).to_contain_text("Tap free seats")


async def seats_owned_in_sql(database: Path) -> list[tuple[int, str, int]]:
    """(Telegram user, booking status, booked seats) per booking, read from the demo's own database."""

    def read() -> list[tuple[int, str, int]]:
        with sqlite3.connect(database) as connection:
            rows = connection.execute(
                "SELECT c.telegram_user_id, b.status, COUNT(s.id) FROM bookings b"
                " JOIN customers c ON c.id = b.customer_id LEFT JOIN booked_seats s ON s.booking_id = b.id"
                " GROUP BY b.id ORDER BY b.id"
            )
            return [(int(user), str(status), int(seats)) for user, status, seats in rows]

    return await asyncio.to_thread(read)


async def test_two_people_race_for_a_seat_and_one_books_and_gets_the_ticket_in_the_chat(demo: Demo) -> None:
    expect = playwright_api.expect
    expect.set_options(timeout=STEP_SECONDS * 1000)
    await asyncio.to_thread(ARTEFACTS.mkdir, parents=True, exist_ok=True)
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            context = await browser.new_context(viewport={"width": 900, "height": 1500})
            # Given two people in the web chat, each on the seat map of the same show
            alice, bob = [await ChatPage.open(context, demo.chat_url, user) for user in (ALICE, BOB)]
            await asyncio.gather(alice.open_seat_map(), bob.open_seat_map())
            for person in (alice, bob):
                await expect(person.seat(RACED_ROW, RACED_SEAT)).to_have_text(str(RACED_SEAT))

            # When both tap the same free seat at the same moment
            await asyncio.gather(*(p.seat(RACED_ROW, RACED_SEAT).click() for p in (alice, bob)))
            # Then exactly one holds it (✅ on their map) and the other is told it was taken (✖ on theirs)
            for person in (alice, bob):
                await expect(person.seat(RACED_ROW, RACED_SEAT)).to_have_text(re.compile("^(✅|✖)$"))
            marks = {p.user_id: await p.seat(RACED_ROW, RACED_SEAT).inner_text() for p in (alice, bob)}
            assert sorted(marks.values()) == ["✅", "✖"], marks
            winner, loser = (alice, bob) if marks[ALICE] == "✅" else (bob, alice)
            assert any("was just taken by someone else" in alert for alert in loser.alerts), loser.alerts
            assert winner.alerts == []

            # When the winner taps a second seat: both are theirs
            await winner.seat(RACED_ROW, RACED_SEAT + 1).click()
            await expect(winner.seat(RACED_ROW, RACED_SEAT + 1)).to_have_text("✅")
            await expect(winner.seat_map()).to_contain_text(f"Your seats: {RACED_ROW}{RACED_SEAT}, ")
            await winner.seat_map().screenshot(path=ARTEFACTS / "seat-map.png")
            # ... then asks for the best two instead, and the other person asks for the best two too
            await winner.seat_map().get_by_role("button", name="✨2", exact=True).click()
            await expect(winner.page.locator("#toast")).to_contain_text("Held ")
            held = re.search(r"Held (\w+), (\w+) for you", await winner.page.locator("#toast").inner_text())
            assert held is not None
            await loser.seat_map().get_by_role("button", name="✨2", exact=True).click()
            await expect(loser.page.locator("#toast")).to_contain_text("Held ")
            theirs = re.search(r"Held (\w+), (\w+) for you", await loser.page.locator("#toast").inner_text())
            # Then nobody is given seats someone else holds
            assert theirs is not None and not set(theirs.groups()) & set(held.groups())

            # When the winner presses 💳 Pay and pays on the Stripe stand-in's checkout page that opens
            await winner.seat_map().get_by_role("button", name=re.compile("^💳 Pay ")).click()
            summary = winner.bot_message("Your booking")
            await expect(summary).to_contain_text(f"{held.group(1)}, {held.group(2)}")
            async with context.expect_page() as opened:
                await summary.locator("a.key.link", has_text="💳 Pay").click()
            checkout = await opened.value
            await expect(checkout.locator("body")).to_contain_text(MOVIE)
            await checkout.get_by_role("button", name=re.compile("^Pay ")).click()
            await expect(checkout.locator("body")).to_contain_text("Payment complete")
            await expect(checkout.locator("body")).to_contain_text("return to Telegram")

            # Then the ticket photo with its code appears in the chat
            ticket = winner.page.locator(".message.from-bot", has=winner.page.locator("img.photo")).filter(
                has_text="Ticket code:"
            )
            await expect(ticket).to_contain_text(f"Seats: {held.group(1)}, {held.group(2)}")
            photo = ticket.locator("img.photo")
            await expect(photo).to_be_visible()
            # (the QR code picture loads and decodes: a real image, not a broken link)
            assert await photo.evaluate("img => img.decode().then(() => img.naturalWidth)") > 100
            code = re.search(r"Ticket code: (\S+)", await ticket.inner_text())
            assert code is not None
            await ticket.screenshot(path=ARTEFACTS / "ticket.png")
            # ... and /mytickets lists the booking
            await winner.say("/mytickets")
            await expect(winner.bot_message("My tickets")).to_contain_text(MOVIE)

            # And the database sold exactly the winner's two seats, once; the loser's hold is no sale
            bookings = await seats_owned_in_sql(demo.database)
            assert bookings == [(winner.user_id, "confirmed", 2)], bookings
        finally:
            await browser.close()
