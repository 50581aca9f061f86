"""Webhook delivery: while a webhook is set, pending updates are POSTed to it one at a time.

As the Bot API server's WebhookActor does: JSON body, `X-Telegram-Bot-Api-Secret-Token` when a
secret was set, a 2xx confirms the update, anything else keeps it pending, records
`last_error_date` / `last_error_message` ("Wrong response from the webhook: 500 Internal Server
Error") and retries after a pause.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import aiohttp

if TYPE_CHECKING:
    from localnet.telegram.fake import FakeTelegram

__all__ = ["start_webhook", "stop_webhook"]

RETRY_S = 1.0
TIMEOUT_S = 10.0


async def _deliver(fake: FakeTelegram, url: str, secret: str) -> None:
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        while fake.webhook_url == url:
            if not fake.updates:
                fake._new = asyncio.Event()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(fake._new.wait(), 1.0)
                continue
            update = fake.updates[0]
            error = ""
            try:
                async with http.post(url, json=update, headers=headers) as resp:
                    await resp.read()
                    if not 200 <= resp.status <= 299:
                        error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
            except aiohttp.ClientConnectorError as exc:
                error = f"Connection refused: {exc.os_error}" if exc.os_error else str(exc)
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"Webhook connection failed: {type(exc).__name__}"
            if fake.webhook_url != url:
                return
            if error:
                fake.webhook_last_error = (fake.now(), error)
                await asyncio.sleep(RETRY_S)
                continue
            fake.webhook_deliveries.append({"headers": dict(headers), "update": update})
            if fake.updates and fake.updates[0] is update:
                fake.updates.pop(0)


def start_webhook(fake: FakeTelegram) -> None:
    stop_webhook(fake)
    fake._webhook_task = asyncio.get_running_loop().create_task(
        _deliver(fake, fake.webhook_url, fake.webhook_secret), name="fake-telegram-webhook"
    )


def stop_webhook(fake: FakeTelegram) -> None:
    task, fake._webhook_task = fake._webhook_task, None
    if task is not None and not task.done():
        task.cancel()
    fake.wake()
