"""Paper creator and filter snipes over real parts (localnet, PostgreSQL, a private Redis, two
hot-path replicas): armed on paper by ``SnipeEngine`` (no durable nonce) they enter both
replicas' armed books, are matched by ``ArmedBook.match`` on the pump.fun create like real
targets, and are filled ONCE through the paper executor (``fire_paper``: claim compare-and-set,
``snipe:<id>``), although both replicas match them; not a lamport moves and nothing is sent for
them. A real filter snipe on the same create still fires and lands."""

from __future__ import annotations

import asyncio
from typing import Any

from solders.keypair import Keypair
from sqlalchemy import text

from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.launch import LaunchFilter, SnipeStatus
from sniper_bot.engine.probe import QuoteRouteProbe
from sniper_bot.engine.snipe import SnipeEngine
from sniper_bot.observability.metrics import Metrics
from sniper_bot.safety.fetch import SnapshotFetcher
from sniper_bot.safety.service import RiskService
from sniper_bot.storage.repositories.paper import PaperRepository
from sniper_bot.trading.paper import PaperTrader
from sniper_bot.trading.venues.pumpfun import PumpFunVenue

from .conftest import SOL
from .test_replicas_localnet import World, eventually, prepared_in, world

__all__ = ["world"]

BUY = SOL // 50


async def paper_keys(w: World) -> list[str]:
    async with w.db.engine.connect() as conn:
        rows = await conn.execute(
            text('SELECT "idempotencyKey" FROM "PaperTrade" WHERE "userId" = :u ORDER BY id'),
            {"u": w.user_id},
        )
        return [r[0] for r in rows]


async def until_keys(w: World, count: int) -> list[str]:
    for _ in range(1_500):
        keys = await paper_keys(w)
        if len(keys) >= count:
            return keys
        await asyncio.sleep(0.02)
    raise AssertionError(f"never {count} paper fills: {await paper_keys(w)}")


def sends(w: World) -> int:
    return w.rpc_requests().get("sendTransaction", 0)


async def test_paper_creator_and_filter_snipes_fill_once_on_paper_beside_a_real_one(
    world: World,
) -> None:
    a, b = world.replicas
    venue = PumpFunVenue(world.rpc)
    risk = RiskService(SnapshotFetcher(world.rpc, venue))
    paper = PaperTrader(venue=venue, book=PaperRepository(world.db), start_lamports=5 * SOL,
                        max_priority_fee_lamports=1_000_000, risk=risk)  # fmt: skip
    engine = SnipeEngine(
        feeds=[], targets=world.repos.snipes, trading=a.trading, risk=risk, metrics=Metrics(),
        probe=QuoteRouteProbe(venue), hot=a.arming, paper=paper,
    )  # fmt: skip
    for replica in (a, b):
        replica.sniper.paper = engine.fire_paper  # what the app wires (App._fire_paper)
    dev, other = Keypair(), Keypair()
    for who in (dev, other):
        world.net.cluster.airdrop(who.pubkey(), 2 * SOL)
    args: tuple[Any, ...] = (world.user_id, world.key.wallet_id)
    by_dev = await engine.arm_creator(*args, str(dev.pubkey()), BUY, 500, FeeLevel.LOW,
                                      paper=True)  # fmt: skip
    moon = LaunchFilter(name_contains=("moon",))
    by_name = await engine.arm_filter(*args, moon, BUY, 500, FeeLevel.LOW, paper=True)
    for target in (by_dev, by_name):
        assert (target.paper, target.nonce_account) == (True, None)
    await eventually(lambda: all(r.book.get(t.id) is not None for r in (a, b)
                                 for t in (by_dev, by_name)))  # fmt: skip

    # the dev's create matches the paper creator snipe only: filled on paper, nothing sent
    balance, sent = world.net.cluster.get_balance(world.key.pubkey), sends(world)
    first = world.net.launchpad.launch(dev, name="Dev Coin", symbol="DEV")
    assert await until_keys(world, 1) == [f"snipe:{by_dev.id}"]
    for replica in (a, b):
        await replica.sniper.wait_idle(20.0)
    await engine.wait_idle()
    assert world.net.cluster.get_balance(world.key.pubkey) == balance
    assert sends(world) == sent
    assert world.held(first.mint) == 0
    assert (a.sniper.fired_count, b.sniper.fired_count) == (0, 0)
    fired = await world.repos.snipes.get_by_id(by_dev.id)
    assert fired is not None
    assert (fired.status, fired.token_mint) == (SnipeStatus.FIRED, str(first.mint))
    assert (a.book.get(by_dev.id), b.book.get(by_dev.id)) == (None, None)

    # a real filter snipe on the same create as the paper filter snipe: both fire, each its way
    real = await a.arming.arm(world.user_id, world.key.wallet_id, launch_filter=moon,
                              lamports=BUY, slippage_bps=500, fee_level=FeeLevel.LOW)  # fmt: skip
    await eventually(lambda: prepared_in(a, real.id) and prepared_in(b, real.id))
    second = world.net.launchpad.launch(other, name="To The Moon", symbol="TTM")
    keys = await until_keys(world, 2)
    await eventually(lambda: a.sniper.fired_count + b.sniper.fired_count == 2)
    for replica in (a, b):
        await replica.sniper.wait_idle(20.0)
    await engine.wait_idle()
    assert keys == [f"snipe:{by_dev.id}", f"snipe:{by_name.id}"]
    (order,) = [r.order for r in a.told + b.told if r.order is not None]
    assert order.status.value == "CONFIRMED"
    assert world.held(second.mint) == order.out_amount > 0  # the paper fill added no token
    position = await paper.book.position(world.user_id, str(second.mint))
    assert position is not None
    assert position.token_amount > 0

    # a third matching create fills nothing more on paper: each target fired once
    world.net.launchpad.launch(dev, name="Moon Again", symbol="MAG")
    for replica in (a, b):
        await replica.sniper.wait_idle(20.0)
    await engine.wait_idle()
    assert await paper_keys(world) == keys
