"""The web chat page in a real browser (Debian's chromium, via playwright) against the real Application."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from PIL import Image
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from sandbox.telegram import TelegramSandbox, start_telegram_sandbox
from tests.sandbox.browser import chromium_path

playwright_api = pytest.importorskip("playwright.async_api")

USER = 555


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet with an inline button and a reply keyboard asking for the location."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        "Welcome to <b>Marquee</b>",
        parse_mode="HTML",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("Pick a seat", callback_data="seat:A1")]]),
    )
    await update.effective_message.reply_text(
        "Where are you?",
        reply_markup=ReplyKeyboardMarkup([[KeyboardButton("📍 Send my location", request_location=True)]]),
    )


async def pick(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the press first, then edit the message."""
    query = update.callback_query
    assert query is not None
    await query.answer("Seat A1 held")
    await query.edit_message_text("Seat A1 is yours for 5 minutes")


async def located(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply to a shared location with a picture."""
    message = update.effective_message
    assert message is not None and message.location is not None
    buffer = io.BytesIO()
    Image.new("RGB", (120, 60), "darkred").save(buffer, "PNG")
    await message.reply_photo(buffer.getvalue(), caption=f"Cinemas near {message.location.latitude:.2f}")


@pytest.fixture
async def running_bot() -> AsyncIterator[str]:
    runner, url, _ = await start_telegram_sandbox(state=TelegramSandbox())
    app = Application.builder().token("1:webchat").base_url(f"{url}/bot").build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pick))
    app.add_handler(MessageHandler(filters.LOCATION, located))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.05)
        yield url
        await app.updater.stop()
        await app.stop()
    await runner.cleanup()


async def test_a_person_can_chat_press_buttons_and_share_a_location(running_bot: str) -> None:
    executable = chromium_path()
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            await page.goto(f"{running_bot}/sandbox/telegram/chat#user={USER}")
            expect = playwright_api.expect
            # When the person types /start
            await page.fill("#message-text", "/start")
            await page.press("#message-text", "Enter")
            # Then the bot's formatted greeting, inline button and reply keyboard appear
            greeting = page.locator(".message.from-bot", has_text="Welcome to Marquee")
            await expect(greeting.locator("b")).to_have_text("Marquee")
            await expect(page.locator("#reply-keyboard .key")).to_have_text("📍 Send my location")
            # When they press the inline button: the answer shows as a toast, the message is edited in place
            await greeting.get_by_role("button", name="Pick a seat").click()
            await expect(page.locator("#toast")).to_have_text("Seat A1 held")
            edited = page.locator(".message.from-bot", has_text="Seat A1 is yours")
            await expect(edited.locator(".meta")).to_contain_text("edited")
            # When they share a preset location through the reply keyboard, the bot's photo is shown
            await page.locator("#reply-keyboard .key").click()
            await page.get_by_role("button", name="Berlin, Alexanderplatz").click()
            await expect(page.locator(".message.from-user .location")).to_contain_text("52.5219")
            photo = page.locator(".message.from-bot img.photo")
            await expect(photo).to_be_visible()
            assert await photo.evaluate("img => img.complete && img.naturalWidth") == 120
            await expect(page.locator(".message.from-bot", has_text="Cinemas near 52.52")).to_be_visible()
        finally:
            await browser.close()
