"""`sniper-bot demo`: the real bot, offline, on localnet. The only module that imports localnet.

It starts localnet (RPC endpoints with fault profiles, the Jupiter-compatible market, the fake
Telegram Bot API), points the ordinary settings at it (SQLite file, no Redis, an embedded demo
secret), runs the ordinary app, and plays a scripted Telegram user against it: /start, a funded
wallet, an honest token bought and sold, a honeypot blocked with its evidence, positions, snipes
(a Raydium pool and a pump.fun coin bought on its curve by the hot path, then sold), and the ops
endpoints.
Nothing in the bot knows it is a demo: only the URLs differ.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from rich.console import Console
from rich.table import Table

from sniper_bot.config import load_settings
from sniper_bot.errors import SniperBotError

if TYPE_CHECKING:
    from sniper_bot.observability.metrics import Metrics

__all__ = [
    "DemoFailed",
    "HumanPace",
    "ScriptedUser",
    "demo_env",
    "error_replies",
    "run_demo",
    "run_localnet",
]

console = Console()
DEMO_BOT_TOKEN = "123456789:DEMO-localnet-token-not-a-secret-000"  # noqa: S105 - public
DEMO_USER = 1001
STEP_TIMEOUT_S = 60.0


class DemoFailed(SniperBotError):
    """A scripted step did not get the answer it waited for."""


def _plain(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def _fresh_database(data_dir: Path) -> None:
    """Each demo run starts on a fresh localnet, so it starts on a fresh database too."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for path in data_dir.glob("sniper-bot.sqlite*"):
        path.unlink()


def demo_env(urls: Any, *, data_dir: Path, metrics_port: int) -> dict[str, str]:
    """The settings a deployment would put in its environment, pointing at localnet."""
    rpc = urls.rpc
    return {
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "HELIUS_RPC_URL": rpc["helius"]["http"],
        "QUICKNODE_RPC_URL": rpc["quicknode"]["http"],
        "SOLANA_RPC_URL": rpc["public"]["http"],
        "RPC_WS_URLS": ",".join(
            f"{name}={rpc[src]['ws']}"
            for name, src in (
                ("helius", "helius"),
                ("quicknode", "quicknode"),
                ("solana", "public"),
            )
        ),
        "JUPITER_API_URL": urls.jupiter + "/swap/v1",
        "TELEGRAM_API_URL": urls.telegram,
        "BOT_TOKEN": DEMO_BOT_TOKEN,
        "SWAP_COSIGNER_POLICY": "presigned",
        "METRICS_HOST": "127.0.0.1",
        "METRICS_PORT": str(metrics_port),
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "console",
    }


# The bot drops a user's updates past 3/s (bursts of 6); scripted users stay under it, as people do.
HUMAN_RATE_PER_S = 2.5
HUMAN_BURST = 5
# What the bot answers when it did not do what the user asked (its throttle and error middlewares).
THROTTLE_NOTICE = "Slow down"
GENERIC_ERROR = "Something went wrong"
Message = dict[str, Any]


class HumanPace:
    """A person's pace for a scripted user: ``rate_per_s`` actions a second, bursts of ``burst``.

    A token bucket on the user's side: ``delay()`` books the next action and says how long to wait
    before taking it. Shared by the demo's user and the e2e harness's users.
    """

    def __init__(
        self,
        rate_per_s: float = HUMAN_RATE_PER_S,
        burst: int = HUMAN_BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()

    def delay(self) -> float:
        """Seconds to wait so that the next action stays within the pace (books that action)."""
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate_per_s)
        self._last = now
        wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate_per_s
        self._tokens -= 1
        return wait

    async def wait(self) -> None:
        await asyncio.sleep(self.delay())


def error_replies(metrics: Metrics) -> int:
    """Updates the bot has answered with an error sentence so far (its error middleware counts)."""
    total = 0.0
    for family in metrics.registry.collect():
        for sample in family.samples:
            if sample.name == "telegram_updates_total" and sample.labels.get("outcome") in (
                "user_error",
                "error",
            ):
                total += sample.value
    return int(total)


class ScriptedUser:
    """A Telegram user typing and pressing buttons on localnet's fake Bot API, at a human pace.

    Each step waits for the reply it expects, but fails at once when the bot answered otherwise: a
    throttle notice, the generic error, a refused button press, or (given ``refusals``, a count of
    updates the bot answered with an error sentence) any error sentence. On timeout the failure
    lists every bot message seen since the action.
    """

    def __init__(
        self,
        fake: Any,
        user_id: int,
        *,
        say: Callable[[str], None],
        pace: HumanPace | None = None,
        refusals: Callable[[], int] | None = None,
    ) -> None:
        self.fake = fake
        self.user_id = user_id
        self._say = say
        self._pace = pace or HumanPace()
        self._refusals = refusals or (lambda: 0)

    def inbox(self) -> list[Message]:
        return list(self.fake.inbox(self.user_id))

    def last_id(self) -> int:
        """The newest message id in this chat (the user's own or the bot's)."""
        return max((mid for (chat, mid) in self.fake.messages if chat == self.user_id), default=0)

    def _since(self, after: int, edited: Message | None) -> list[Message]:
        """Bot messages newer than ``after``, plus ``edited`` (a pressed message) once changed."""
        out = []
        for m in self.inbox():
            if m["message_id"] > after or (
                edited is not None and m["message_id"] == edited["message_id"] and m != edited
            ):
                out.append(m)
        return out

    async def wait_for(
        self,
        predicate: Callable[[Message], bool],
        *,
        what: str,
        after: int | None = None,
        edited: Message | None = None,
        callback_id: str | None = None,
        refusals: int | None = None,
        timeout_s: float | None = None,
    ) -> Message:
        """The first bot message newer than ``after`` (or ``edited``, changed) that fits.

        ``after`` defaults to the chat's newest message, ``refusals`` to the count right now.
        """
        after = self.last_id() if after is None else after
        refusals = self._refusals() if refusals is None else refusals
        limit = STEP_TIMEOUT_S if timeout_s is None else timeout_s
        deadline = time.monotonic() + limit
        refused: tuple[float, int] | None = None  # when the bot refused, and what it had said then
        while time.monotonic() < deadline:
            seen = self._since(after, edited)
            for message in seen:
                if predicate(message):
                    return message
            for message in seen:
                text = _plain(message.get("text", ""))
                if text.startswith((THROTTLE_NOTICE, GENERIC_ERROR)):
                    raise DemoFailed(f"demo: no bot message {what}: the bot answered {text!r}")
            if callback_id is not None:
                for answer in self.fake.answered_callbacks:
                    notice = str(answer.get("text") or "")
                    if str(answer.get("callback_query_id")) == callback_id and notice.startswith(
                        THROTTLE_NOTICE
                    ):
                        raise DemoFailed(
                            f"demo: no bot message {what}: the bot refused the press ({notice!r})"
                        )
            if refused is None and self._refusals() > refusals:
                refused = (time.monotonic(), len(seen))
            if refused is not None and (
                len(seen) > refused[1] or time.monotonic() > refused[0] + 2
            ):
                # an error sentence answered the action: among what the bot said, or on its way
                said = [_plain(m.get("text", "")) for m in seen]
                raise DemoFailed(f"demo: no bot message {what}: the bot refused, saying {said}")
            await asyncio.sleep(0.05)
        said = [_plain(m.get("text", "")) for m in self._since(after, edited)]
        raise DemoFailed(
            f"demo: no bot message {what} within {limit:.0f} s; the bot said meanwhile: {said}"
        )

    async def send(
        self,
        text: str,
        *,
        expect: str,
        contains: str = "",
        until: Callable[[str], bool] | None = None,
    ) -> Message:
        """Type ``text``; return the first reply containing ``contains`` (or fitting ``until``)."""
        fits = until or (lambda t: contains in t)
        await self._pace.wait()
        self._say(f"[bold cyan]user[/] {text}")
        refusals = self._refusals()
        update = self.fake.user_sends(self.user_id, text)
        reply = await self.wait_for(
            lambda m: fits(m.get("text", "")),
            what=expect,
            after=int(update["message"]["message_id"]),
            refusals=refusals,
        )
        self._say(f"[bold green]bot[/]  {_plain(reply.get('text', ''))}")
        return reply

    async def press(
        self, message: Message, label: str, *, until: Callable[[str], bool], expect: str
    ) -> Message:
        """Press the button starting with ``label``; return the new or edited message that fits."""
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        button = next((b for row in rows for b in row if b["text"].startswith(label)), None)
        if button is None:
            labels = [b["text"] for row in rows for b in row]
            raise DemoFailed(
                f"demo: no button {label!r} on message {message['message_id']}; buttons: {labels}"
            )
        await self._pace.wait()
        self._say(f"[bold cyan]user[/] presses [{button['text']}]")
        before = dict(self.fake.messages.get((self.user_id, message["message_id"]), message))
        after = self.last_id()
        refusals = self._refusals()
        update = self.fake.user_presses(
            self.user_id, message["message_id"], button["callback_data"]
        )
        reply = await self.wait_for(
            lambda m: until(m.get("text", "")),
            what=expect,
            after=after,
            edited=before,
            callback_id=str(update["callback_query"]["id"]),
            refusals=refusals,
        )
        self._say(f"[bold green]bot[/]  {_plain(reply.get('text', ''))}")
        return reply


async def _script(net: Any, app: Any, *, say: Callable[[str], None]) -> None:
    from solders.pubkey import Pubkey

    user = ScriptedUser(
        net.telegram, DEMO_USER, say=say, refusals=lambda: error_replies(app.metrics)
    )
    home = await user.send("/start", expect="with the new wallet", contains="Wallet:")
    match = re.search(r"Wallet: <code>([1-9A-HJ-NP-Za-km-z]{32,44})</code>", home["text"])
    if match is None:
        raise DemoFailed("demo: /start did not show a wallet address")
    wallet = Pubkey.from_string(match.group(1))
    net.cluster.airdrop(wallet, 5_000_000_000)
    say(f"[dim]localnet: airdropped 5 SOL to {wallet}[/]")

    honest = net.factory.create("honest", liquidity_sol=200, name="Honest Coin", symbol="HONEST")
    trap = net.factory.create("freeze_authority", liquidity_sol=50, name="Trap Coin", symbol="TRAP")
    say(f"[dim]localnet: launched HONEST {honest.mint} and TRAP {trap.mint}[/]")

    card = await user.send(str(honest.mint), expect="with the token card", contains="Risk:")
    bought = await user.press(
        card,
        "Buy 0.1",
        until=lambda t: "✅" in t or "❌" in t,
        expect="with the buy result",
    )
    if "✅" not in bought["text"]:
        raise DemoFailed(f"demo: the buy did not confirm: {_plain(bought['text'])}")

    blocked = await user.send(str(trap.mint), expect="with the TRAP card", contains="Risk:")
    if "BLOCKED" not in blocked["text"]:
        raise DemoFailed("demo: the honeypot was not blocked")

    await user.send("/positions", expect="with positions", contains="positions")
    card = await user.send(str(honest.mint), expect="with the card again", contains="Risk:")
    sold = await user.press(
        card, "Sell 100", until=lambda t: "✅" in t or "❌" in t, expect="with the sell result"
    )
    if "✅" not in sold["text"]:
        raise DemoFailed(f"demo: the sell did not confirm: {_plain(sold['text'])}")
    await user.send("/orders", expect="with the order list", contains="orders")

    # A snipe: armed on a mint before its pool exists; it fires when localnet announces the pool.
    from localnet.market.keys import derive_keypair

    upcoming = derive_keypair(net.market.seed, f"mint:{len(net.factory.tokens)}").pubkey()
    await user.send(f"/snipe {upcoming} 0.05", expect="confirming the snipe", contains="ARMED")
    after = user.last_id()
    launched = net.engine.launch(
        "honest", announce="raydium", liquidity_sol=100, name="Fresh Launch", symbol="FRESH"
    )
    if launched.mint != upcoming:
        raise DemoFailed("demo: localnet launched a different mint than predicted")
    say(f"[dim]localnet: pool for FRESH {launched.mint} announced (Raydium v4 account)[/]")
    sniped = await user.wait_for(
        lambda m: "Snipe settled" in m.get("text", ""), what="with the snipe result", after=after
    )
    say(f"[bold green]bot[/]  {_plain(sniped['text'])}")
    if "✅" not in sniped["text"]:
        raise DemoFailed(f"demo: the snipe did not confirm: {_plain(sniped['text'])}")
    await _pumpfun(user, net, app, wallet, say=say)
    await _withdraw(user, net, say=say)
    await _take_profit(user, net, honest, say=say)
    await _paper(user, net, wallet, honest.mint, say=say)
    await _show_ops(app, say=say)


async def _pumpfun(
    user: ScriptedUser, net: Any, app: Any, wallet: Any, *, say: Callable[[str], None]
) -> None:
    """A hot snipe on a pump.fun coin that does not exist yet: created on the curve, it buys there.

    The mint does not trade yet, so the snipe is armed on the hot path: its own durable nonce
    account, the buy prepared. localnet hosts the pump.fun program: the creator's create_v2 and
    dev buy are real transactions; the bot builds and signs the buy from the CreateEvent in the
    program's logs (no round trip) and puts it on the wire; the event -> wire latency and the
    landing slot are printed. Then the user sells it all back into the curve from the token card.
    """
    from localnet.market.keys import derive_keypair

    mint_kp = derive_keypair(net.market.seed, "pumpfun:MOON")
    mint = mint_kp.pubkey()
    await user.send(f"/snipe {mint} 0.05", expect="confirming the snipe", contains="ARMED")
    hot = getattr(app, "hot_arming", None)
    armed = [e.target for e in hot.book.entries()] if hot is not None else []
    nonce = next((t.nonce_account for t in armed if t.token_mint == str(mint)), None)
    if nonce is None:
        raise DemoFailed("demo: the MOON snipe was not armed on the hot path")
    say(f"[dim]bot: hot snipe armed with its own durable nonce account {nonce}[/]")
    creator = derive_keypair(net.market.seed, "pumpfun:creator")
    net.cluster.airdrop(creator.pubkey(), 2_000_000_000)
    after = user.last_id()
    launch = net.launchpad.launch(
        creator, name="Moon Coin", symbol="MOON", dev_buy_lamports=500_000_000, mint=mint_kp
    )
    say(
        f"[dim]localnet: MOON {mint} created on the pump.fun curve (create_v2), "
        f"the creator's dev buy of 0.5 SOL took {launch.dev_tokens / 1e6:,.0f} MOON[/]"
    )
    sniped = await user.wait_for(
        lambda m: "Snipe settled" in m.get("text", ""), what="with the MOON snipe", after=after
    )
    say(f"[bold green]bot[/]  {_plain(sniped['text'])}")
    if "✅" not in sniped["text"]:
        raise DemoFailed(f"demo: the pump.fun snipe did not confirm: {_plain(sniped['text'])}")
    say(_hot_numbers(net, app, launch.create_signature, sniped["text"]))
    held = net.launchpad.token_balance(mint, wallet)
    curve = net.launchpad.curve(mint)
    say(
        f"[dim]localnet: the wallet holds {held / 1e6:,.0f} MOON bought on the curve; the curve "
        f"holds {curve['real_quote_reserves'] / 1e9:g} SOL and "
        f"{curve['real_token_reserves'] / 1e6:,.0f} MOON left to sell[/]"
    )
    if held <= 0:
        raise DemoFailed("demo: the pump.fun snipe left no MOON in the wallet")
    card = await user.send(str(mint), expect="with the MOON card", contains="Risk:")
    sold = await user.press(
        card, "Sell 100", until=lambda t: "✅" in t or "❌" in t, expect="with the MOON sell"
    )
    if "✅" not in sold["text"]:
        raise DemoFailed(f"demo: the MOON sell did not confirm: {_plain(sold['text'])}")
    left = net.launchpad.token_balance(mint, wallet)
    curve = net.launchpad.curve(mint)
    say(
        f"[dim]localnet: sold back into the curve; the wallet holds {left / 1e6:,.0f} MOON, the "
        f"curve {curve['real_quote_reserves'] / 1e9:g} SOL[/]"
    )
    if left != 0:
        raise DemoFailed(f"demo: the wallet still holds {left} MOON after selling 100 %")


def _hot_numbers(net: Any, app: Any, create_signature: str, text: str) -> str:
    """The hot snipe's event -> wire latency (``snipe_latency_seconds``) and landing slot."""
    from solders.signature import Signature

    labels = {"source": "pumpfun", "venue": "pumpfun"}
    registry = app.metrics.registry
    count = registry.get_sample_value("snipe_latency_seconds_count", labels) or 0.0
    total = registry.get_sample_value("snipe_latency_seconds_sum", labels) or 0.0
    latency = f"{total / count * 1000:.2f} ms" if count else "not measured"
    match = re.search(r"Tx: ([1-9A-HJ-NP-Za-km-z]{64,88})", _plain(text))
    created = net.cluster.history.get(Signature.from_string(create_signature))
    bought = None if match is None else net.cluster.history.get(Signature.from_string(match[1]))
    slots = (
        f"landed in slot {bought.slot}, the create's + {bought.slot - created.slot}"
        if created is not None and bought is not None
        else "landing slot unknown"
    )
    return f"[dim]bot: hot path event -> wire {latency}; {slots}[/]"


async def _withdraw(user: ScriptedUser, net: Any, *, say: Callable[[str], None]) -> None:
    """Set a PIN, then withdraw SOL to another address: preview, PIN, crash-safe send."""
    from solders.keypair import Keypair

    menu = await user.send("/wallet", expect="with the wallet menu", contains="Wallets")
    await user.press(menu, "🔢 Set PIN", until=lambda t: "PIN" in t, expect="asking for a PIN")
    await user.send("482915", expect="confirming the PIN", contains="PIN saved")
    menu = await user.send("/wallet", expect="with the wallet menu", contains="Wallets")
    await user.press(
        menu, "💸 Withdraw", until=lambda t: "DESTINATION" in t, expect="asking where to"
    )
    destination = Keypair().pubkey()
    await user.send(f"{destination} 0.5", expect="with the preview", contains="Confirm withdrawal")
    sent = await user.send(
        "482915",
        expect="with the withdrawal result",
        # the final result: the answer edited, or pushed as a new message once it lands
        until=lambda t: ("✅" in t or "❌" in t) and ("Withdraw" in t or str(destination)[:4] in t),
    )
    if "✅" not in sent["text"]:
        raise DemoFailed(f"demo: the withdrawal did not confirm: {_plain(sent['text'])}")
    balance = net.cluster.get_balance(destination)
    say(f"[dim]localnet: {destination} now holds {balance / 1e9:g} SOL[/]")
    if balance != 500_000_000:
        raise DemoFailed(f"demo: the destination holds {balance} lamports, not 0.5 SOL")


async def _paper(
    user: ScriptedUser, net: Any, wallet: Any, mint: Any, *, say: Callable[[str], None]
) -> None:
    """Paper trading: the /settings switch, a simulated buy and sell on live quotes (marked
    📝 PAPER, nothing signed: the wallet's lamports do not move), the PnL card and /pnl."""
    menu = await user.send("/settings", expect="with the settings", contains="Settings")
    await user.press(menu, "📝 Paper trading", until=lambda t: "PAPER trading: on" in t,
                     expect="with paper trading on")  # fmt: skip
    lamports = net.cluster.get_balance(wallet)
    done = lambda t: "✅" in t or "❌" in t  # noqa: E731
    card = await user.send(str(mint), expect="with the paper card", contains="Risk:")
    bought = await user.press(card, "Buy 0.1", until=done, expect="with the paper buy")
    card = await user.send(str(mint), expect="with the paper card", contains="Risk:")
    after = user.last_id()
    sold = await user.press(card, "Sell 100", until=done, expect="with the paper sell")
    for result in (bought, sold):
        if "📝 PAPER" not in result["text"] or "✅" not in result["text"]:
            raise DemoFailed(f"demo: the paper trade failed: {_plain(result['text'])}")
    shot = await user.wait_for(lambda m: "photo" in m, what="with the PnL card", after=after)
    say(f"[bold green]bot[/]  [photo] {_plain(shot.get('caption', ''))}")
    if net.cluster.get_balance(wallet) != lamports:
        raise DemoFailed("demo: a paper trade moved lamports on chain")
    say("[dim]localnet: the wallet's balance did not move (paper fills are never sent)[/]")
    after = user.last_id()
    net.telegram.user_sends(user.user_id, "/pnl")
    pnl = await user.wait_for(lambda m: "photo" in m, what="with the /pnl chart", after=after)
    say(f"[bold green]bot[/]  [photo] {_plain(pnl.get('caption', ''))}")
    menu = await user.send("/settings", expect="with the settings", contains="Settings")
    await user.press(menu, "📝 Paper trading", until=lambda t: "PAPER trading: off" in t,
                     expect="with paper trading off")  # fmt: skip


async def _take_profit(
    user: ScriptedUser, net: Any, token: Any, *, say: Callable[[str], None]
) -> None:
    """Turn on a 25 % take-profit, buy, let another trader pump the price: the bot sells."""
    from solders.keypair import Keypair

    settings = await user.send("/settings", expect="with the settings", contains="Settings")
    await user.press(
        settings, "TP 25%", until=lambda t: "take-profit +25%" in t, expect="saving the TP"
    )
    card = await user.send(str(token.mint), expect="with the card", contains="Risk:")
    bought = await user.press(
        card, "Buy 0.1", until=lambda t: "✅" in t or "❌" in t, expect="with the buy"
    )
    if "✅" not in bought["text"]:
        raise DemoFailed(f"demo: the buy did not confirm: {_plain(bought['text'])}")
    whale = Keypair()
    after = user.last_id()
    net.cluster.airdrop(whale.pubkey(), 100_000_000_000)
    net.market.trade(token.mint, whale, "buy", 60_000_000_000)
    say("[dim]localnet: another trader bought 60 SOL of HONEST; the price jumps[/]")
    exited = await user.wait_for(
        lambda m: "Take-profit" in m.get("text", ""), what="with the take-profit", after=after
    )
    say(f"[bold green]bot[/]  {_plain(exited['text'])}")
    if "✅" not in exited["text"]:
        raise DemoFailed(f"demo: the take-profit sell did not confirm: {_plain(exited['text'])}")


async def _show_ops(app: Any, *, say: Callable[[str], None]) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{app.ops.url}/health") as r:
            health = await r.json()
        async with http.get(f"{app.ops.url}/metrics") as r:
            metrics = await r.text()
    say(f"[bold]GET /health[/] -> {r.status} {json.dumps(health)[:300]}")
    wanted = ("circuit_breaker_state{", "swap_execution_duration_seconds_count", "orders{")
    lines = [ln for ln in metrics.splitlines() if ln.startswith(wanted)]
    say("[bold]GET /metrics[/] (excerpt)\n" + "\n".join(lines[:12]))


def _summary(urls: Any, app: Any, data_dir: Path) -> Table:
    table = Table(title="sniper-bot demo: what is running")
    table.add_column("what")
    table.add_column("where")
    table.add_row("ops: metrics", f"{app.ops.url}/metrics")
    table.add_row("ops: health", f"{app.ops.url}/health")
    table.add_row("database", f"SQLite {(data_dir / 'sniper-bot.sqlite').resolve()}")
    table.add_row("redis", "none (in-process fallback)")
    for name, pair in urls.rpc.items():
        table.add_row(f"localnet rpc:{name}", f"{pair['http']}  {pair['ws']}")
    table.add_row("localnet jupiter", urls.jupiter + "/swap/v1")
    table.add_row("localnet telegram", urls.telegram)
    table.add_row("localnet control", urls.control)
    return table


async def run_demo(
    *, seed: int, metrics_port: int, data_dir: Path, duration_s: float = 0.0
) -> None:
    from localnet.node import Localnet, LocalnetConfig
    from sniper_bot.app import App, run_app

    await asyncio.to_thread(_fresh_database, data_dir)
    # no background launches: the script predicts the next mint for its snipe
    net = Localnet(LocalnetConfig(seed=seed, slot_ms=400, default_scenario=False))
    urls = await net.start()
    failures: list[BaseException] = []
    try:
        settings = load_settings(
            demo_env(urls, data_dir=data_dir, metrics_port=metrics_port), embedded=True
        )

        def configure(app: App) -> None:
            async def script(stop: asyncio.Event) -> None:
                # the operator's stop (SIGTERM, Ctrl-C) ends the script where it is: no failure
                playing = asyncio.ensure_future(_script(net, app, say=console.print))
                stopping = asyncio.ensure_future(stop.wait())
                try:
                    await asyncio.wait({playing, stopping}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for task in (playing, stopping):
                        task.cancel()
                    await asyncio.gather(playing, stopping, return_exceptions=True)
                if playing.cancelled():
                    return
                if (exc := playing.exception()) is not None:
                    failures.append(exc)
                    console.print(f"[bold red]demo failed[/]: {exc}")
                    stop.set()
                    return
                console.print("[bold green]demo complete[/]: the bot keeps running on localnet")
                if duration_s > 0:
                    await asyncio.wait({asyncio.ensure_future(stop.wait())}, timeout=duration_s)
                    stop.set()
                else:
                    console.print("press Ctrl-C to stop")

            app.add_service("demo-script", script)

        async def started(app: App) -> None:
            console.print(_summary(urls, app, data_dir))

        await run_app(settings, auto_migrate=True, on_started=started, configure=configure)
    finally:
        await net.stop()
    if failures:
        raise DemoFailed(str(failures[0]))


async def run_localnet(
    *,
    seed: int,
    scenario: Path | None,
    slot_ms: int,
    json_file: Path | None,
    play_default: bool = True,
) -> None:
    from localnet.__main__ import endpoints_table, serve
    from localnet.node import LocalnetConfig

    await serve(
        LocalnetConfig(
            seed=seed,
            slot_ms=slot_ms or None,
            scenario=scenario,
            default_scenario=None if play_default else False,
        ),
        json_path=json_file,
        on_ready=lambda urls: console.print(endpoints_table(urls)),
    )
