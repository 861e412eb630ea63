"""A person's Mini App as tests drive it: the JSON API with initData signed as Telegram signs it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from sandbox.telegram.web_apps import signed_init_data
from tests.bot.harness import TOKEN


@dataclass
class PageClient:
    """One user's page of one show."""

    http: aiohttp.ClientSession
    base_url: str
    show_id: int
    user_id: int
    token: str = TOKEN
    auth_date: int | None = None

    @property
    def init_data(self) -> str:
        """initData for this user, signed with the bot's token (or whatever token the test chose)."""
        user = {"id": self.user_id, "first_name": f"Fan{self.user_id}"}
        return signed_init_data(user, self.token, auth_date=self.auth_date or int(time.time()))

    def _headers(self, authorization: str | None) -> dict[str, str]:
        return {"Authorization": authorization if authorization is not None else f"tma {self.init_data}"}

    async def get(self, *, etag: str | None = None, authorization: str | None = None) -> tuple[int, Any]:
        """GET the show's state: (status, JSON body or None for 304)."""
        headers = self._headers(authorization)
        if etag:
            headers["If-None-Match"] = etag
        url = f"{self.base_url}/app/api/shows/{self.show_id}"
        async with self.http.get(url, headers=headers) as response:
            body = await response.json() if response.status != 304 else None
            return response.status, body

    async def post(
        self, action: str, body: Any = None, *, authorization: str | None = None
    ) -> tuple[int, Any]:
        """POST an action (hold, best, release, checkout, waitlist): (status, JSON body)."""
        url = f"{self.base_url}/app/api/shows/{self.show_id}/{action}"
        async with self.http.post(url, json=body or {}, headers=self._headers(authorization)) as response:
            return response.status, await response.json()

    async def hold(self, *seats: str) -> tuple[int, Any]:
        """Hold exactly these seats."""
        return await self.post("hold", {"seats": list(seats)})
