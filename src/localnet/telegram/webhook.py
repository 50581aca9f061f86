"""Webhook delivery: while a webhook is set, pending updates are POSTed to it.

As the Bot API server's WebhookActor does: up to `max_connections` requests at once, one per
chat (a chat's updates in order, other chats' in parallel), JSON body,
`X-Telegram-Bot-Api-Secret-Token` when a secret was set; a 2xx confirms the update, anything else
keeps it pending, records `last_error_date` / `last_error_message` ("Wrong response from the
webhook: 500 Internal Server Error") and retries it after a pause (the chat's later updates wait
behind it).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import aiohttp

if TYPE_CHECKING:
    from localnet.telegram.fake import FakeTelegram

__all__ = ["start_webhook", "stop_webhook"]

RETRY_S = 1.0
TIMEOUT_S = 10.0


def _queue_of(update: dict[str, Any]) -> int | str:
    """The chat an update belongs to: the Bot API server keeps each chat's updates in order
    (one in flight per chat) and delivers different chats' updates in parallel."""
    message = update.get("message") or update.get("edited_message")
    if isinstance(message, dict) and isinstance(message.get("chat"), dict):
        return int(message["chat"]["id"])
    query = update.get("callback_query")
    if isinstance(query, dict):
        chat = (query.get("message") or {}).get("chat") or {}
        return int(chat.get("id", query.get("from", {}).get("id", 0)))
    return f"update:{update.get('update_id')}"


async def _post(
    fake: FakeTelegram,
    http: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    update: dict[str, Any],
) -> None:
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
        fake.webhook_failures.append({"update_id": update.get("update_id"), "error": error})
        await asyncio.sleep(RETRY_S)  # the chat waits: its later updates stay behind this one
        return
    fake.webhook_deliveries.append({"headers": dict(headers), "update": update})
    with contextlib.suppress(ValueError):
        fake.updates.remove(update)


async def _deliver(fake: FakeTelegram, url: str, secret: str) -> None:
    """Up to ``webhook_max_connections`` updates in flight, one per chat, each chat's in order."""
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    busy: set[int | str] = set()  # chats with an update in flight
    tasks: set[asyncio.Task[None]] = set()
    changed = asyncio.Event()

    def launch(update: dict[str, Any], queue: int | str) -> None:
        busy.add(queue)
        task = asyncio.create_task(_post(fake, http, url, headers, update))
        tasks.add(task)

        def done(_: asyncio.Task[None]) -> None:
            tasks.discard(task)
            busy.discard(queue)
            changed.set()

        task.add_done_callback(done)

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        try:
            while fake.webhook_url == url:
                changed.clear()
                fake._new = changed
                for update in list(fake.updates):
                    if len(tasks) >= max(1, fake.webhook_max_connections):
                        break
                    queue = _queue_of(update)
                    if queue not in busy:
                        launch(update, queue)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), 1.0)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


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
