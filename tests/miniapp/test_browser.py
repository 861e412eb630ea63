"""The Mini App in a real browser (Debian's chromium, via playwright): opened from the web chat's seat map,
seats tapped, another person's hold seen live (pushed by server-sent events), paid on the sandbox
checkout page, the ticket in the chat.

Screenshots of the page (light and dark) go to the test's folder; with UPDATE_SCREENSHOTS=1 they replace
the README's pictures under docs/.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.codec import Action, encode
from roles.redis_server import RedisEndpoint
from tests.bot.conftest import broker  # noqa: F401 - the Dramatiq broker fixture, shared
from tests.bot.harness import BotWorld, confirmed_booking, open_world
from tests.factories import make_show
from tests.flows.harness import BrokerPlan
from tests.miniapp.client import PageClient
from tests.sandbox.test_telegram_webchat import chromium_path

playwright_api = pytest.importorskip("playwright.async_api")

FAN, OTHER = 9001, 9002
DOCS = Path(__file__).resolve().parents[2] / "docs"
# The phone the issue names: 360 CSS pixels wide (pictures at twice the pixels, as phones draw them).
PHONE = {"width": 360, "height": 780}
PHONE_PIXELS = 2


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the browser test is about the page; the API tests cover PostgreSQL."""
    return f"sqlite+aiosqlite:///{tmp_path / 'marquee.db'}"


@pytest.fixture
async def world(
    engine: object,
    database_url: str,
    redis_endpoint: RedisEndpoint,
    redis: object,
    broker: BrokerPlan,  # noqa: F811
) -> AsyncIterator[BotWorld]:
    """The whole system with a worker; no bot token set, so the bot offers the Mini App (sandbox Bot API)."""
    async with open_world(
        database_url, redis_endpoint.url, broker=broker, TELEGRAM_BOT_TOKEN=None
    ) as running:
        yield running


async def _open_hall(page: Any, chat_url: str) -> Any:
    """Open the web chat and tap the seat map's 🗺 Whole hall button; the Mini App's frame."""
    await page.goto(chat_url)
    await page.get_by_role("button", name="🗺 Whole hall").last.click()
    await playwright_api.expect(page.locator("#web-app-panel")).to_be_visible()
    return page.frame_locator("#web-app-frame")


def _shot(page_or_locator: Any, name: str, folder: Path) -> Any:
    return page_or_locator.screenshot(path=str(folder / name))


@pytest.mark.timeout(120)
async def test_a_person_chooses_seats_on_the_whole_hall_and_gets_the_ticket(
    world: BotWorld, tmp_path: Path
) -> None:
    executable = chromium_path()
    expect = playwright_api.expect
    # Given a 300-seat hall (15 rows of 20, an aisle, four wheelchair places) and the person's seat map
    show = await make_show(world.core.sessions, rows=15, seats_per_row=20, aisle_after=10, wheelchair_seats=4)
    # E5, E6 and E7 (row E is the fifth of 20 seats each) were sold before
    sold = [show.seat_ids[4 * 20 + number - 1] for number in (5, 6, 7)]
    await confirmed_booking(world.core.sessions, show.show_id, OTHER + 1, sold)
    fan = world.user(FAN)
    greeting = await fan.say("/start")
    await fan.press(encode(Action.SHOW, show.show_id, 0), greeting, forge=True)
    await fan.wait_for_button(encode(Action.BEST, show.show_id, 2))
    chat_url = f"{world.telegram_url}/sandbox/telegram/chat#user={FAN}"
    other = PageClient(world.http, world.base_url, show.show_id, OTHER, token=world.application.bot.token)
    world.user(OTHER)

    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = await (
                await browser.new_context(
                    viewport=PHONE, device_scale_factor=PHONE_PIXELS, color_scheme="light"
                )
            ).new_page()
            # When they open the whole hall from the seat map: every seat is there, on a 360-px screen
            hall = await _open_hall(page, chat_url)
            await expect(hall.locator(".seat[data-seat]")).to_have_count(300)
            await expect(hall.locator('[data-seat="O1"]')).to_have_text("♿")
            await expect(hall.locator('[data-seat="E6"]')).to_have_class("seat sold")
            await expect(hall.locator('[data-seat="E6"]')).to_have_text("✕")
            width = await hall.locator("#hall").evaluate("node => node.getBoundingClientRect().width")
            assert width <= PHONE["width"], width
            # And tap two seats: each is held at once, with price and countdown
            await hall.locator('[data-seat="H10"]').click()
            await expect(hall.locator('[data-seat="H10"]')).to_have_class("seat yours")
            await hall.locator('[data-seat="H11"]').click()
            await expect(hall.locator("#selection")).to_contain_text("H10, H11 · 24.00 EUR · ⏱ 4:")
            held = await world.core.holds.current_hold(show.show_id, FAN)
            assert held is not None and len(held.seat_ids) == 2
            # Then another person's hold appears on their screen within a second, told apart by its mark,
            # pushed down the page's event stream
            assert await hall.locator("body").evaluate("() => view.streaming")
            started = time.monotonic()
            assert (await other.hold("J5"))[0] == 200
            await expect(hall.locator('[data-seat="J5"]')).to_have_class("seat held", timeout=1500)
            seen_after = time.monotonic() - started
            await expect(hall.locator('[data-seat="J5"]')).to_have_text("–")
            # And a tap on it is refused in words
            await hall.locator('[data-seat="J5"]').click()
            await expect(hall.locator("#notice")).to_have_text("J5 is taken.")
            await _shot(page.locator("#web-app-panel"), "miniapp-light.png", tmp_path)

            dark = await (
                await browser.new_context(
                    viewport=PHONE, device_scale_factor=PHONE_PIXELS, color_scheme="dark"
                )
            ).new_page()
            dark_hall = await _open_hall(dark, chat_url)
            await expect(dark_hall.locator('[data-seat="H10"]')).to_have_class("seat yours")
            background = await dark_hall.locator("body").evaluate("b => getComputedStyle(b).backgroundColor")
            assert background == "rgb(33, 33, 33)", background
            await _shot(dark.locator("#web-app-panel"), "miniapp-dark.png", tmp_path)
            await dark.close()

            # When they press Pay: the page closes and the bot's checkout message is in the chat
            await hall.locator("#pay").click()
            await expect(page.locator("#web-app-panel")).to_be_hidden()
            pay_link = page.locator(".message.from-bot a.key", has_text="💳 Pay 24.00 EUR")
            await expect(pay_link).to_be_visible()
            # And paying on the sandbox checkout page brings the ticket to the chat
            checkout = await browser.new_page()
            await checkout.goto(str(await pay_link.get_attribute("href")))
            await checkout.get_by_role("button", name="Pay 24.00 EUR").click()
            await expect(page.locator(".message.from-bot", has_text="Booking confirmed")).to_be_visible(
                timeout=30_000
            )
        finally:
            await browser.close()
    assert await world.booking_statuses(FAN) == ["confirmed"]
    print(f"another person's hold seen after {seen_after * 1000:.0f} ms")
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        for name in ("miniapp-light.png", "miniapp-dark.png"):
            shutil.copy(tmp_path / name, DOCS / name)
