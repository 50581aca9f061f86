"""The bot under test: localnet + the real ``App`` + scripted Telegram users on the fake Bot API.

Nothing of the bot is faked: the app is built from ordinary settings whose URLs point at localnet
(RPC endpoints, the Jupiter-compatible API, the fake Telegram Bot API), exactly like the demo.
Tests act only where a user or an operator would: Telegram messages and button presses, the
chain (airdrops, token launches, balances), the ops HTTP port and the database rows.
"""

from __future__ import annotations

import asyncio
import functools
import html
import itertools
import re
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from sqlalchemy import text

from localnet.node import Localnet, LocalnetConfig
from localnet.telegram import fake as fake_telegram
from localnet.testing import TEST_ENDPOINTS
from localnet.tokens import TokenInfo
from sniper_bot.app import App
from sniper_bot.config import load_settings
from sniper_bot.demo import HumanPace, demo_env
from sniper_bot.telegram import bot as telegram_bot
from sniper_bot.telegram import limits as telegram_limits

__all__ = [
    "ONE_BACKEND",
    "SOL",
    "BotUnderTest",
    "Message",
    "TxRecorder",
    "User",
    "bot_under_test",
    "e2e_env",
    "final",
    "plain",
    "running_net",
    "scaled_chat_pace",
    "sql_rows",
]

SOL = 1_000_000_000
SLOT_MS = 40
REPLY_TIMEOUT_S = 30.0
# Telegram lets a bot send about one message a second to a chat, and the bot paces itself to it:
# in a scripted conversation nearly every reply waited ~1 s for its slot, most of an e2e test's
# time. The e2e bots run CHAT_PACE_SCALE times faster on both sides (the fake Bot API's per-chat
# limit and the bot's own pacer; bursts and the bot's margin under the limit stay as shipped).
# The shipped pace: tests/telegram (the pacer), tests/localnet/telegram (the fake's 429s, the bot
# paced under them and surviving them) and test_process.py (`sniper-bot run` as is).
CHAT_PACE_SCALE = 10.0
ADDRESS_RE = re.compile(r"Wallet: <code>([1-9A-HJ-NP-Za-km-z]{32,44})</code>")
Message = dict[str, Any]


# For tests of the frontend and the safety checks alone: storage plays no part, so the module's
# SQLite bot is enough (overrides the ``bot`` fixture's backend parametrisation).
ONE_BACKEND = pytest.mark.parametrize("bot", ["sqlite"], indirect=True)


def plain(text: str) -> str:
    """What the user reads: the HTML without tags, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


class TxRecorder:
    """A localnet transaction guard that lets everything through and notes who signed what.

    Guards see every transaction the cluster simulates or executes (not resends of a landed
    signature, nor those dropped for a stale blockhash); ``landed_by`` keeps the executed ones.
    """

    def __init__(self) -> None:
        self.by_signer: dict[Pubkey, dict[Signature, None]] = defaultdict(dict)

    def __call__(self, tx: VersionedTransaction) -> None:
        message = tx.message
        signers = list(message.account_keys)[: message.header.num_required_signatures]
        for signer in signers:
            self.by_signer[signer][tx.signatures[0]] = None

    def seen_from(self, wallet: Pubkey) -> list[Signature]:
        """Distinct transactions signed by ``wallet`` that reached the cluster, in order."""
        return list(self.by_signer.get(wallet, {}))


@dataclass
class User:
    """One scripted Telegram user: types messages, presses buttons, reads what the bot sent."""

    net: Localnet
    user_id: int
    # the demo's pace: the bot drops a user's updates past 3/s, scripted users stay under it
    _pace: HumanPace = field(default_factory=HumanPace)

    @property
    def fake(self) -> Any:
        return self.net.telegram

    def inbox(self) -> list[Message]:
        return list(self.fake.inbox(self.user_id))

    def last_id(self) -> int:
        """The newest message id in this chat (the user's own or the bot's)."""
        keys = [mid for (chat, mid) in self.fake.messages if chat == self.user_id]
        return max(keys, default=0)

    async def wait_for(
        self,
        predicate: Callable[[Message], bool],
        *,
        after: int,
        what: str,
        timeout_s: float = REPLY_TIMEOUT_S,
    ) -> Message:
        """The first bot message newer than ``after`` (in its current, edited state) that fits."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for message in self.inbox():
                if message["message_id"] > after and predicate(message):
                    return message
            await asyncio.sleep(0.02)
        seen = [plain(m.get("text", "")) for m in self.inbox() if m["message_id"] > after]
        raise AssertionError(f"user {self.user_id}: no bot message {what}; got {seen}")

    async def wait_for_many(
        self, predicate: Callable[[Message], bool], count: int, *, after: int, what: str
    ) -> list[Message]:
        """Wait until ``count`` bot messages newer than ``after`` fit; returns them by id."""
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        while time.monotonic() < deadline:
            found = [m for m in self.inbox() if m["message_id"] > after and predicate(m)]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.02)
        seen = [plain(m.get("text", "")) for m in self.inbox() if m["message_id"] > after]
        raise AssertionError(f"user {self.user_id}: not {count} messages {what}; got {seen}")

    async def says(
        self,
        text: str,
        *,
        until: Callable[[str], bool] = lambda _: True,
        what: str = "reply",
        timeout_s: float = REPLY_TIMEOUT_S,
    ) -> Message:
        """Send ``text``; return the first bot reply whose text satisfies ``until``."""
        sent = await self.type(text)
        return await self.wait_for(
            lambda m: until(m.get("text", "")), after=sent, what=what, timeout_s=timeout_s
        )

    async def type(self, text: str) -> int:
        """Send at a human pace without waiting for the answer; returns the message id."""
        await self._pace.wait()
        return self.send(text)

    def send(self, text: str) -> int:
        """Send right now (no pacing); returns the user's message id."""
        update = self.fake.user_sends(self.user_id, text)
        return int(update["message"]["message_id"])

    async def press_data(self, message_id: int, callback_data: str) -> None:
        """Press a button carrying ``callback_data`` (may be forged) at a human pace."""
        await self._pace.wait()
        self.fake.user_presses(self.user_id, message_id, callback_data)

    def button(self, message: Message, label: str) -> str:
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        for row in rows:
            for b in row:
                if b["text"].startswith(label):
                    return str(b["callback_data"])
        labels = [b["text"] for row in rows for b in row]
        raise AssertionError(f"no button {label!r} on the message; buttons: {labels}")

    async def presses(
        self,
        message: Message,
        label: str,
        *,
        until: Callable[[str], bool] = lambda _: True,
        what: str = "reply to the button",
    ) -> Message:
        """Press the button whose label starts with ``label``; wait for a new bot message."""
        data = self.button(message, label)
        after = self.last_id()
        await self.press_data(message["message_id"], data)
        return await self.wait_for(lambda m: until(m.get("text", "")), after=after, what=what)

    async def edited(self, message_id: int, *, contains: str) -> Message:
        """Wait until the bot's message ``message_id`` (edited in place) shows ``contains``."""
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        while time.monotonic() < deadline:
            message = self.fake.messages.get((self.user_id, message_id))
            if message is not None and contains in plain(message.get("text", "")):
                return dict(message)
            await asyncio.sleep(0.02)
        raise AssertionError(f"user {self.user_id}: message {message_id} never showed {contains}")

    async def start(self) -> Pubkey:
        """/start; returns the active wallet address shown on the home screen."""
        home = await self.says("/start", until=lambda t: "Wallet:" in t, what="home screen")
        match = ADDRESS_RE.search(home["text"])
        assert match is not None, home["text"]
        return Pubkey.from_string(match.group(1))

    async def funded(self, lamports: int) -> Pubkey:
        wallet = await self.start()
        self.net.cluster.airdrop(wallet, lamports)
        return wallet

    async def card(self, mint: Pubkey | str) -> Message:
        return await self.says(str(mint), until=lambda t: "Risk:" in t, what="token card")

    async def buy(self, card: Message, label: str) -> Message:
        return await self.presses(card, label, until=final, what="order result")

    async def wait_for_deleted(self, message_id: int) -> None:
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.deleted(message_id):
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"user {self.user_id}: message {message_id} was never deleted")

    def deleted(self, message_id: int) -> bool:
        """The bot deleted this message (it is gone from the chat and a deleteMessage was sent)."""
        gone = (self.user_id, message_id) not in self.fake.messages
        calls = [
            s
            for s in self.fake.sent
            if s["method"] == "deleteMessage"
            and s["message_id"] == message_id
            and s["chat"]["id"] == self.user_id
        ]
        return gone and len(calls) == 1


def final(text: str) -> bool:
    """An order message in a final state."""
    return "✅" in text or "❌" in text


@dataclass
class BotUnderTest:
    net: Localnet
    app: App
    txs: TxRecorder
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(700_001))

    def user(self) -> User:
        """A Telegram user nobody else in this bot has used."""
        return User(self.net, next(self._ids))

    def launch(self, kind: str = "honest", **params: Any) -> TokenInfo:
        info: TokenInfo = self.net.factory.create(kind, **params)
        return info

    def token_balance(self, wallet: Pubkey, mint: Pubkey) -> int:
        """The wallet's balance of ``mint`` read from the chain itself."""
        total = 0
        for _, account in self.net.cluster.token_accounts_by_owner(wallet, mint=mint):
            total += int.from_bytes(bytes(account.data)[64:72], "little")
        return total

    def landed_from(self, wallet: Pubkey) -> list[Signature]:
        """Transactions signed by ``wallet`` that executed on chain (ok or failed), in order."""
        history = self.net.cluster.history
        return [
            s for s in self.txs.seen_from(wallet) if (o := history.get(s)) is not None and o.landed
        ]

    def sol_balance(self, wallet: Pubkey) -> int:
        return int(self.net.cluster.get_balance(wallet))

    async def ops(self, path: str) -> tuple[int, str]:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{self.app.ops.url}{path}") as resp,
        ):
            return resp.status, await resp.text()

    async def orders_of(self, user: User) -> list[dict[str, Any]]:
        """The user's rows of "SniperOrder", oldest first."""
        return await sql_rows(
            self.app,
            'SELECT o.* FROM "SniperOrder" o JOIN "User" u ON u.id = o."userId" '
            'WHERE u."telegramId" = :tg ORDER BY o."createdAt", o.id',
            tg=user.user_id,
        )

    async def wallets_of(self, user: User) -> list[dict[str, Any]]:
        return await sql_rows(
            self.app,
            'SELECT w.* FROM "Wallet" w JOIN "User" u ON u.id = w."userId" '
            'WHERE u."telegramId" = :tg ORDER BY w.id',
            tg=user.user_id,
        )


async def sql_rows(app: App, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with app.database.engine.connect() as conn:
        result = await conn.execute(text(sql), params)
        return [dict(row._mapping) for row in result]


def e2e_env(
    net: Localnet, data_dir: Path, *, database_url: str = "", redis_url: str = ""
) -> dict[str, str]:
    """The demo's environment (ordinary settings pointing at localnet), plus the backends."""
    assert net.urls is not None
    env = demo_env(net.urls, data_dir=data_dir, metrics_port=0)
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "LOG_LEVEL": "WARNING",
            "DATABASE_CONNECT_ATTEMPTS": "1",
        }
    )
    return env


@contextmanager
def scaled_chat_pace(net: Localnet) -> Iterator[None]:
    """Around ``App.start``: the fake's per-chat limit and the pacer the app's bot is built with
    both run ``CHAT_PACE_SCALE`` times the shipped rate (see ``CHAT_PACE_SCALE``)."""
    net.telegram.chat_rate_per_s = fake_telegram.CHAT_RATE_PER_S * CHAT_PACE_SCALE
    pacer = functools.partial(
        telegram_limits.FloodPacer, chat_rate=telegram_limits.CHAT_RATE_PER_S * CHAT_PACE_SCALE
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(telegram_bot, "FloodPacer", pacer)
        yield


@asynccontextmanager
async def running_net(seed: int = 5) -> AsyncIterator[Localnet]:
    net = Localnet(LocalnetConfig(seed=seed, slot_ms=SLOT_MS, endpoints=TEST_ENDPOINTS))
    await net.start()
    try:
        yield net
    finally:
        await net.stop()


@asynccontextmanager
async def bot_under_test(
    data_dir: Path,
    *,
    database_url: str = "",
    redis_url: str = "",
    seed: int = 5,
    env: dict[str, str] | None = None,
) -> AsyncIterator[BotUnderTest]:
    """Start localnet and the whole app (migrated, Telegram polling); stop both afterwards."""
    async with running_net(seed) as net:
        txs = TxRecorder()
        net.cluster.add_transaction_guard(txs)
        values = e2e_env(net, data_dir, database_url=database_url, redis_url=redis_url)
        values.update(env or {})
        app = App(load_settings(values, embedded=True), auto_migrate=True)
        runner: asyncio.Task[None] | None = None
        try:
            with scaled_chat_pace(net):
                await app.start()
            runner = asyncio.create_task(app.run(), name="app-under-test")
            yield BotUnderTest(net, app, txs)
        finally:
            app.stop_event.set()
            if runner is not None:
                with suppress(asyncio.CancelledError):
                    await runner
            await app.close()
