"""A snipe on a pump.fun create buys on the curve (issue 14): localnet's hosted pump program runs
``create_v2`` (``net.launchpad``), its ``Program data:`` CreateEvent reaches the bot's
``logsSubscribe``, the engine's route probe asks the venue router, the router quotes on the curve
and the order buys there (no Jupiter), exactly once, and the owner is told once."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from sniper_bot.chain.endpoints import EndpointConfig
from sniper_bot.chain.ws import SubscriptionManager
from sniper_bot.detection import LaunchDetector, PumpFunListener, RaydiumV4Listener
from sniper_bot.domain.entities import OrderKind
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.launch import CurveUpdate, SnipeStatus, SnipeTarget
from sniper_bot.domain.orders import OrderStatus
from sniper_bot.engine import QuoteRouteProbe, SnipeConfig, SnipeEngine, SnipeResult
from sniper_bot.solana import pumpfun as pf
from sniper_bot.trading.venues.pumpfun import PumpFunVenue
from sniper_bot.trading.venues.pumpswap import PumpSwapVenue
from sniper_bot.trading.venues.router import VenueRouter

from .conftest import FAST_ROUTE, FAST_WS, SOL, Stack, until

AMOUNT = SOL // 10


class CountingJupiter:
    """The Jupiter venue as the router holds it, counting every quote it is asked for."""

    def __init__(self, stack: Stack) -> None:
        self.inner = stack.venue
        self.quotes: list[tuple[str, str]] = []

    @property
    def name(self) -> str:
        return self.inner.name

    async def quote(self, input_mint: str, output_mint: str, *args: object, **kw: object) -> object:
        self.quotes.append((input_mint, output_mint))
        return await self.inner.quote(input_mint, output_mint, *args, **kw)  # type: ignore[arg-type]

    def __getattr__(self, item: str) -> object:
        return getattr(self.inner, item)


def detector_with(stack: Stack, listener: PumpFunListener) -> LaunchDetector:
    """``Stack.detector`` with a pump.fun listener the test holds (its curve book)."""
    configs = [
        EndpointConfig(name=n, url=stack.urls.rpc[n]["http"], ws_url=stack.urls.rpc[n]["ws"],
                       priority=i)
        for i, n in enumerate(("helius", "quicknode"))
    ]  # fmt: skip
    manager = SubscriptionManager(configs, stack.metrics, stack.session, redundancy=2,
                                  backoff=FAST_WS, rng=random.Random(1))  # fmt: skip
    stack.managers.append(manager)
    return LaunchDetector(manager, [listener, RaydiumV4Listener()], stack.metrics)


def routed_engine(
    stack: Stack, jupiter: CountingJupiter, told: list[SnipeResult], *feeds: object
) -> SnipeEngine:
    """The app's wiring (components.build_stack + app): one router for probe, risk and trades."""
    router = VenueRouter(
        jupiter,  # type: ignore[arg-type]
        pumpfun=PumpFunVenue(stack.rpc),
        pumpswap=PumpSwapVenue(stack.rpc),
    )
    stack.venue = router  # type: ignore[assignment]
    risk = stack.risk()
    trading = stack.trading(risk)

    async def tell(result: SnipeResult) -> None:
        told.append(result)

    return SnipeEngine(
        feeds=list(feeds),  # type: ignore[arg-type]
        targets=stack.targets,
        trading=trading,
        risk=risk,
        metrics=stack.metrics,
        probe=QuoteRouteProbe(router),
        config=SnipeConfig(route_backoff=FAST_ROUTE, expiry_interval_s=0.05),
        on_settled=tell,
    )


@contextlib.asynccontextmanager
async def running(engine: SnipeEngine) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(engine.run(stop))
    try:
        yield
    finally:
        stop.set()
        await task


def curve_tokens(stack: Stack, mint: Pubkey) -> int:
    return int(stack.net.launchpad.token_balance(mint, stack.key.pubkey))


async def test_a_snipe_on_a_pumpfun_create_buys_on_the_curve_once(stack: Stack) -> None:
    jupiter = CountingJupiter(stack)
    told: list[SnipeResult] = []
    updates: list[CurveUpdate] = []
    listener = PumpFunListener(on_curve=updates.append)
    detector = detector_with(stack, listener)
    engine = routed_engine(stack, jupiter, told, detector)
    mint_kp = Keypair()
    mint = str(mint_kp.pubkey())
    target: SnipeTarget = await engine.arm(
        stack.user_id, stack.key.wallet_id, mint, AMOUNT, 1_500, FeeLevel.LOW, 60
    )
    await engine.wait_idle()  # the check on arm: no curve, no route yet
    assert told == []
    creator = Keypair()
    stack.net.cluster.airdrop(creator.pubkey(), 5 * SOL)
    async with running(engine):
        await stack.wait_subscriptions(4)  # 2 listeners x 2 endpoints
        before = len(jupiter.quotes)
        launch = stack.net.launchpad.launch(
            creator, name="Moon", symbol="MOON", dev_buy_lamports=SOL // 2, mint=mint_kp
        )
        await until(lambda: len(told) >= 1, timeout_s=20.0)
        await engine.wait_idle(5.0)
        # our own buy comes back as a TradeEvent on the same stream
        await until(lambda: sum(u.kind == "trade" for u in updates) >= 2)
    assert detector.events == 1
    [result] = told  # told once
    assert result.target.id == target.id
    assert result.target.status is SnipeStatus.FIRED
    order = result.order
    assert order is not None
    assert order.status is OrderStatus.CONFIRMED, order.error
    assert order.kind is OrderKind.SNIPE
    assert order.idempotency_key == f"snipe:{target.id}"
    assert order.quote is not None
    assert order.quote["venue"] == "pumpfun"  # bought on the curve
    assert jupiter.quotes[before:] == []  # neither the probe nor the buy asked Jupiter
    held = curve_tokens(stack, launch.mint)
    assert held == order.out_amount > 0
    ata = pf.associated_token_address(stack.key.pubkey, launch.mint, pf.TOKEN_2022_PROGRAM_ID)
    assert stack.net.cluster.get_account(ata) is not None
    orders = await stack.repos.orders.list_for_user(stack.user_id)
    assert [o.id for o in orders] == [order.id]  # exactly once
    current = await stack.targets.get(stack.user_id, target.id)
    assert current is not None
    assert current.order_id == order.id
    # the launch lifecycle from the hosted program's own logs: create_v2, the dev buy, our buy
    assert [u.kind for u in updates] == ["create", "trade", "trade"]
    create, dev, ours = updates
    assert create.signature == launch.create_signature
    assert dev.signature == launch.dev_buy_signature
    assert (dev.user, dev.token_amount, dev.is_buy) == (
        str(creator.pubkey()),
        launch.dev_tokens,
        True,
    )
    assert (ours.user, ours.token_amount) == (str(stack.key.pubkey), order.out_amount)
    progress = listener.curves.get(mint)
    assert progress is not None
    assert progress.trades == 2
    curve = stack.net.launchpad.curve(launch.mint)
    assert progress.real_token_reserves == curve["real_token_reserves"]
    assert progress.virtual_sol_reserves == curve["virtual_quote_reserves"]
    sold = create.real_token_reserves - curve["real_token_reserves"]  # type: ignore[operator]
    assert sold == launch.dev_tokens + order.out_amount
    assert progress.progress_bps == sold * 10_000 // create.real_token_reserves  # type: ignore[operator]
