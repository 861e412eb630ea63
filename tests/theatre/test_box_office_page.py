"""The box office page: a person picks a show, ticks seats and sells them; the API sees the sale."""

from __future__ import annotations

import re

import aiohttp

from adapters.theatre.http import HttpTheatreSystem
from sandbox.theatre import TheatreSandbox


async def test_a_person_sells_seats_from_the_page(
    sandbox: TheatreSandbox, theatre: HttpTheatreSystem, show_id: str
) -> None:
    async with aiohttp.ClientSession(base_url=sandbox.base_url) as browser:
        # Given the list of shows, with a link to our show
        async with browser.get("/boxoffice") as listing:
            assert listing.status == 200 and listing.content_type == "text/html"
            assert f'href="/boxoffice/shows/{show_id}"' in await listing.text()
        # When the seller ticks two seats and presses Sell
        async with browser.post(
            f"/boxoffice/shows/{show_id}/sell", data=[("seat", "E6"), ("seat", "E7")], allow_redirects=False
        ) as sold:
            assert sold.status == 303
        async with browser.get(sold.headers["Location"]) as page:
            html = await page.text()
    # Then the page confirms the ticket and shows the seats as sold, not tickable
    assert re.search(r"Sold: ticket T-\w+ \(E6, E7\)", html)
    e6 = re.search(r'class="seat (\w+) standard"[^>]*><input [^>]*value="E6"( disabled)?', html)
    assert e6 and e6.groups() == ("sold", " disabled")
    assert (await theatre.seat_status(show_id)).sold == {"E6", "E7"}


async def test_selling_a_taken_seat_from_the_page_says_which(sandbox: TheatreSandbox, show_id: str) -> None:
    async with aiohttp.ClientSession(base_url=sandbox.base_url) as browser:
        for _ in range(2):
            async with browser.post(f"/boxoffice/shows/{show_id}/sell", data=[("seat", "B4")]) as page:
                html = await page.text()
    assert "Not sold: some seats are sold or locked: B4" in html
