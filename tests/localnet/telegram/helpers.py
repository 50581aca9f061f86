"""Calling the fake Bot API over HTTP exactly like a client calls Telegram."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from localnet.telegram import FakeTelegram

TOKEN = "7012345678:AAH3kq9Zx_vB2nLr8TtYwQe5UoPa1SdFgHj"
USER = 4242
DATE = 1_767_225_600


class Clock:
    """A hand-moved monotonic clock for flood control and callback expiry."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Api:
    fake: FakeTelegram
    url: str
    http: aiohttp.ClientSession
    clock: Clock
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def raw(self, method: str, *, token: str = TOKEN, **params: Any) -> tuple[int, Any]:
        """POST the method with form fields, as aiogram and most clients send them."""
        form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        async with self.http.post(f"{self.url}/bot{token}/{method}", data=form) as resp:
            body = await resp.json()
            self.calls.append((method, body))
            return resp.status, body

    async def ok(self, method: str, **params: Any) -> Any:
        status, body = await self.raw(method, **params)
        assert (status, body["ok"]) == (200, True), body
        return body["result"]

    async def error(self, method: str, **params: Any) -> tuple[int, str]:
        status, body = await self.raw(method, **params)
        assert body["ok"] is False, body
        assert body["error_code"] == status, body
        return status, body["description"]
