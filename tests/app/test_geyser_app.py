"""GEYSER_ENABLED in the running app: the real ``App`` (SQLite, the fake Telegram) against localnet
with its Yellowstone gRPC endpoint configured. A pump.fun launch is seen by both feeds, counted
once in ``launch_first_seen_total`` and the later sighting timed; with the WebSocket providers'
logs truncated (the WebSocket pump.fun listener cannot decode the create) a ``/snipe MINT`` still
fires from the Geyser transaction and lands, first seen by ``geyser`` on ``/metrics``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from typing import Any

import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from e2e.harness import (
    SOL,
    BotUnderTest,
    TxRecorder,
    e2e_env,
    final,
    plain,
    running_net,
    scaled_chat_pace,
    sql_rows,
)
from e2e.test_pumpfun import steady_slots
from localnet import pubsub
from sniper_bot.app import App
from sniper_bot.config import load_settings
from sniper_bot.solana.programs import PUMP_PROGRAM_ID

pytestmark = pytest.mark.asyncio(loop_scope="module")

WAIT_S = 30.0


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BotUnderTest]:
    """Localnet + the whole app with GEYSER_ENABLED against localnet's Geyser endpoint."""
    async with running_net(seed=16) as net:
        assert net.urls is not None
        geyser = net.urls.geyser["geyser"]
        txs = TxRecorder()
        net.cluster.add_transaction_guard(txs)
        env = e2e_env(net, tmp_path_factory.mktemp("geyser-app"))
        env.update({"GEYSER_ENABLED": "true", "GEYSER_ENDPOINT": geyser["url"],
                    "GEYSER_X_TOKEN": geyser["x_token"]})  # fmt: skip
        app = App(load_settings(env, embedded=True), auto_migrate=True)
        runner: asyncio.Task[None] | None = None
        try:
            with scaled_chat_pace(net):
                await app.start()
            runner = asyncio.create_task(app.run(), name="geyser-app-under-test")
            yield BotUnderTest(net, app, txs)
        finally:
            app.stop_event.set()
            if runner is not None:
                with suppress(asyncio.CancelledError):
                    await runner
            await app.close()


async def scrape(bot: BotUnderTest) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """``/metrics`` of the ops port, as {(sample name, sorted labels): value}."""
    status, body = await bot.ops("/metrics")
    assert status == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
          **labels: str) -> float:  # fmt: skip
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def first_seen(samples: dict[Any, float], source: str) -> float:
    return value(samples, "launch_first_seen_total", source=source)


def later_seen(samples: dict[Any, float], source: str) -> float:
    return value(samples, "launch_first_seen_gap_seconds_count", source=source)


async def until_metrics(
    bot: BotUnderTest, check: Callable[[dict[Any, float]], bool], what: str
) -> dict[Any, float]:
    deadline = time.monotonic() + WAIT_S
    samples = await scrape(bot)
    while not check(samples):
        if time.monotonic() > deadline:
            seen = {k: v for k, v in samples.items() if "first_seen" in k[0] or "geyser" in k[0]}
            raise AssertionError(f"/metrics never showed {what}: {seen}")
        await asyncio.sleep(0.05)
        samples = await scrape(bot)
    return samples


def launch(bot: BotUnderTest, symbol: str, mint: Keypair | None = None) -> Pubkey:
    creator = Keypair()
    bot.net.cluster.airdrop(creator.pubkey(), 5 * SOL)
    done = bot.net.launchpad.launch(creator, name=f"Geyser {symbol}", symbol=symbol, mint=mint)
    return Pubkey.from_string(str(done.mint))


async def test_a_launch_is_seen_by_both_feeds_and_counted_once(bot: BotUnderTest) -> None:
    await until_metrics(bot, lambda s: value(s, "geyser_slot") > 0, "the Geyser stream's slots")
    before = await scrape(bot)
    launch(bot, "BOTH")

    def both_saw_it(s: dict[Any, float]) -> bool:
        firsts = sum(first_seen(s, x) - first_seen(before, x) for x in ("geyser", "websocket"))
        laters = sum(later_seen(s, x) - later_seen(before, x) for x in ("geyser", "websocket"))
        return firsts >= 1 and laters >= 1

    after = await until_metrics(bot, both_saw_it, "the launch from both feeds")
    firsts = {x: first_seen(after, x) - first_seen(before, x) for x in ("geyser", "websocket")}
    laters = {x: later_seen(after, x) - later_seen(before, x) for x in ("geyser", "websocket")}
    assert sum(firsts.values()) == 1, firsts  # one launch, one winner
    assert sum(laters.values()) == 1, laters  # the other feed's sighting is timed, not emitted
    # the Geyser feed took part: it won, or it is the one timed as later
    assert firsts["geyser"] + laters["geyser"] == 1, (firsts, laters)
    assert value(after, "geyser_updates_total", kind="transaction") > value(
        before, "geyser_updates_total", kind="transaction"
    )
    print(f"\nfirst seen by: {[x for x, n in firsts.items() if n]}")


def truncate_pump_logs(patch: pytest.MonkeyPatch) -> list[Signature]:
    """The WebSocket providers truncate every pump.fun transaction's logs (the validator's
    log-size cap): the logsSubscribe notification carries no program data to decode."""
    cut: list[Signature] = []
    publish = pubsub.SubscriptionHub.publish_logs

    def truncated(self: Any, slot: int, signature: Signature, err: Any, logs: list[str],
                  mentions: set[Pubkey]) -> None:  # fmt: skip
        if PUMP_PROGRAM_ID in mentions:
            cut.append(signature)
            logs = [*logs[:2], "Log truncated"]
        publish(self, slot, signature, err, logs, mentions)

    patch.setattr(pubsub.SubscriptionHub, "publish_logs", truncated)
    return cut


async def test_with_websocket_logs_truncated_a_snipe_fires_from_the_geyser_stream(
    bot: BotUnderTest,
) -> None:
    user = bot.user()
    wallet = await user.funded(2 * SOL)
    await steady_slots(bot)
    mint_kp = Keypair()
    mint = mint_kp.pubkey()
    armed = await user.says(f"/snipe {mint} 0.05", until=lambda t: "ARMED" in t, what="armed")
    assert "ARMED: 0.05 SOL of" in plain(armed["text"])
    before = await scrape(bot)
    after_id = user.last_id()
    with pytest.MonkeyPatch.context() as patch:
        cut = truncate_pump_logs(patch)
        assert launch(bot, "GEYS", mint_kp) == mint
        settled = await user.wait_for(
            lambda m: "Snipe settled" in m.get("text", "") and final(m.get("text", "")),
            after=after_id,
            what="the snipe's result",
        )
    assert cut, "the WebSocket side never saw a pump.fun transaction"
    assert "✅ Bought" in settled["text"], plain(settled["text"])
    orders = await bot.orders_of(user)
    assert [(o["kind"], o["status"], o["tokenMint"]) for o in orders] == [
        ("SNIPE", "CONFIRMED", str(mint))
    ]
    assert bot.token_balance(wallet, mint) == int(orders[0]["outAmount"]) > 0
    rows = await sql_rows(bot.app, 'SELECT status, "tokenMint" FROM "SnipeTarget"')
    assert ("FIRED", str(mint)) in [(r["status"], r["tokenMint"]) for r in rows]
    after = await until_metrics(
        bot, lambda s: first_seen(s, "geyser") > first_seen(before, "geyser"), "geyser first"
    )
    assert first_seen(after, "websocket") == first_seen(before, "websocket")
