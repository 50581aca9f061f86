"""Webhook mode against localnet's fake Bot API, which PUSHES updates as Telegram does.

The whole app runs with ``TELEGRAM_WEBHOOK_URL``: at start it listens on its own port and calls
``setWebhook`` (url, secret token, the update types its handlers use); the fake then POSTs each
update with the ``X-Telegram-Bot-Api-Secret-Token`` header. A request without the right secret
gets 401 and nothing of it is handled. Restarted without the URL, the bot deletes the webhook
(getUpdates is refused with 409 while one is set) and long-polls again on the same chat.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiogram.exceptions import TelegramConflictError

from e2e.harness import SOL, User, e2e_env, running_net, scaled_chat_pace, sql_rows
from localnet.node import Localnet
from sniper_bot.app import App
from sniper_bot.config import load_settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

SECRET = secrets.token_urlsafe(32)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def net() -> AsyncIterator[Localnet]:
    async with running_net(seed=17) as running:
        yield running


@asynccontextmanager
async def running_app(net: Localnet, data_dir: Path, env: dict[str, str]) -> AsyncIterator[App]:
    values = e2e_env(net, data_dir)
    values.update(env)
    app = App(load_settings(values, embedded=True), auto_migrate=True)
    runner: asyncio.Task[None] | None = None
    try:
        with scaled_chat_pace(net):
            await app.start()
        runner = asyncio.create_task(app.run(), name="app-under-test")
        yield app
    finally:
        app.stop_event.set()
        if runner is not None:
            with suppress(asyncio.CancelledError):
                await runner
        await app.close()


@pytest.fixture(scope="module")
def webhook_url() -> str:
    return f"http://127.0.0.1:{_free_port()}/telegram/webhook"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("webhook")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def webhook_app(net: Localnet, data_dir: Path, webhook_url: str) -> AsyncIterator[App]:
    env = {
        "TELEGRAM_WEBHOOK_URL": webhook_url,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_WEBHOOK_HOST": "127.0.0.1",
        "TELEGRAM_WEBHOOK_PORT": webhook_url.split(":")[2].split("/")[0],
    }
    async with running_app(net, data_dir, env) as app:
        deadline = asyncio.get_running_loop().time() + 10
        while net.telegram.webhook_url != webhook_url:  # setWebhook is the service's first call
            assert asyncio.get_running_loop().time() < deadline, "setWebhook never came"
            await asyncio.sleep(0.02)
        yield app


async def test_webhook_is_set_with_the_secret_and_the_used_update_types(
    webhook_app: App, net: Localnet, webhook_url: str
) -> None:
    fake = net.telegram
    assert fake.webhook_url == webhook_url
    assert fake.webhook_secret == SECRET
    assert set(fake.webhook_allowed_updates or []) == {"message", "callback_query"}
    assert webhook_app.telegram is not None
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await webhook_app.telegram.bot.get_updates(timeout=0)


async def test_webhook_mode_answers_start_and_a_buy(webhook_app: App, net: Localnet) -> None:
    user = User(net, 810_001)
    await user.funded(2 * SOL)
    token = net.factory.create("honest", liquidity_sol=100)
    card = await user.card(token.mint)
    result = await user.buy(card, "Buy 0.1 SOL")

    assert "✅" in result["text"], result["text"]
    deliveries = net.telegram.webhook_deliveries
    pushed = [d for d in deliveries if d["update"].get("message", {}).get("from", {}).get("id")
              == user.user_id]  # fmt: skip
    assert pushed, "the updates came by webhook"
    assert all(d["headers"]["X-Telegram-Bot-Api-Secret-Token"] == SECRET for d in pushed)
    # every update confirmed by the webhook's 200, which comes once its handler returned (the
    # result is shown a moment before the buy's handler ends)
    deadline = asyncio.get_running_loop().time() + 10
    while net.telegram.updates:
        assert asyncio.get_running_loop().time() < deadline, net.telegram.updates
        await asyncio.sleep(0.02)


@pytest.mark.parametrize(
    "header",
    [None, "", "wrong-" + "x" * 20, SECRET[:-1]],
    ids=["missing", "empty", "wrong", "truncated"],
)
async def test_a_request_without_the_secret_is_refused_and_not_processed(
    webhook_app: App, net: Localnet, webhook_url: str, header: str | None
) -> None:
    forger = 820_000 + len(header or "") + (1 if header is None else 0)
    message = {"message_id": 1, "date": 0, "text": "/start",
               "from": net.telegram.user(forger), "chat": net.telegram.private_chat(forger),
               "entities": [{"offset": 0, "length": 6, "type": "bot_command"}]}  # fmt: skip
    headers = {} if header is None else {"X-Telegram-Bot-Api-Secret-Token": header}
    net.telegram.add_user(forger)  # the bot could write to them: it must not
    async with (
        aiohttp.ClientSession() as http,
        http.post(webhook_url, json={"update_id": 1, "message": message}, headers=headers) as r,
    ):
        assert r.status == 401
    # a real update after the forged one is answered, so the forged one had its chance
    honest = User(net, 830_001)
    await honest.start()
    assert net.telegram.inbox(forger) == []
    rows = await sql_rows(webhook_app, 'SELECT id FROM "User" WHERE "telegramId" = :t', t=forger)
    assert rows == []


async def test_switching_back_to_polling_deletes_the_webhook(
    webhook_app: App, net: Localnet, data_dir: Path
) -> None:
    webhook_app.stop_event.set()  # the webhook app stops (its webhook stays set, as in production)
    await asyncio.sleep(0.2)
    assert net.telegram.webhook_url
    async with running_app(net, data_dir, {}):
        user = User(net, 840_001)
        await user.start()
        assert net.telegram.webhook_url == ""  # deleteWebhook came before getUpdates
        last_pushed = net.telegram.webhook_deliveries[-1]["update"]["message"]["from"]["id"]
        assert last_pushed != user.user_id  # this /start came by getUpdates, not the webhook
