"""Normal buys and sells through the RelayFanout (every RPC endpoint + every Jito block engine),
per order the user's "MEV protection" (bundles only), on localnet's pump program, Jupiter API and
block engines, with the user's settings in PostgreSQL. The RPC provider the relays send to is a
capture server (the process boundary): a protected order must never reach it with
sendTransaction, an unprotected one does (so that check can fail)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from localnet.jito import JitoEndpoint
from sniper_bot.chain.endpoints import EndpointConfig
from sniper_bot.chain.jito import JITO_TIP_ACCOUNTS, JitoClient
from sniper_bot.chain.pool import RpcPool
from sniper_bot.chain.relays import RelayFanout, has_tip, wire_trace_config
from sniper_bot.domain.entities import Order
from sniper_bot.domain.money import WSOL_MINT
from sniper_bot.domain.orders import OrderErrorType, OrderSide, OrderStatus
from sniper_bot.domain.quotes import Quote
from sniper_bot.ports.venue import JitoTip
from sniper_bot.resilience import BreakerConfig, BreakerRegistry, MemoryBreakerStore
from sniper_bot.safety.fetch import SnapshotFetcher
from sniper_bot.safety.service import RiskService
from sniper_bot.trading.errors import SwapVerificationError
from sniper_bot.trading.executor import MEV_WITHOUT_ENGINE, ExecutorConfig, SwapExecutor
from sniper_bot.trading.venues.jupiter.mapping import swap_body
from sniper_bot.trading.venues.router import VenueRouter, force_venue
from sniper_bot.trading.verify import VerifyPolicy, verify_swap

from .conftest import SOL, Env
from .pumpfun.test_localnet import launch, router

TIP = 50_000
TIP_ACCOUNT = sorted(JITO_TIP_ACCOUNTS, key=str)[0]


class Crash(Exception):
    pass


class Capture:
    """The RPC provider the relays send to: records every JSON-RPC method, answers a signature."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    def methods(self) -> list[str]:
        return list(self.seen)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read())
        self.seen.append(str(body.get("method")))
        result = str(Signature.default())
        return web.json_response({"jsonrpc": "2.0", "result": result, "id": body["id"]})

    async def start(self) -> Capture:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


@pytest.fixture
async def capture() -> AsyncIterator[Capture]:
    server = await Capture().start()
    yield server
    await server.stop()


@pytest.fixture
async def wired() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(trace_configs=[wire_trace_config()]) as s:
        yield s


@pytest.fixture
async def second_engine(env: Env) -> AsyncIterator[JitoEndpoint]:
    endpoint = JitoEndpoint(env.net.block_engine, seed=5)
    await endpoint.start()
    yield endpoint
    await endpoint.stop()


def fanout(
    env: Env, capture: Capture, session: aiohttp.ClientSession, engines: list[str]
) -> RelayFanout:
    breakers = BreakerRegistry(MemoryBreakerStore(), BreakerConfig(), env.metrics)
    rpc = EndpointConfig(name="provider", url=capture.url + "/", rate_per_s=1000.0, priority=0)
    pool = RpcPool([rpc], breakers, env.metrics, session, default_timeout_s=1.0)
    clients = [JitoClient(f"e{i}", url, session) for i, url in enumerate(engines)]
    return RelayFanout(pool, clients, breakers, env.metrics)


def engine_urls(env: Env, second: JitoEndpoint) -> list[str]:
    assert env.net.urls is not None
    return [env.net.urls.jito, second.url]


def executor(env: Env, venue: Any, relays: RelayFanout | None, **kw: Any) -> SwapExecutor:
    return SwapExecutor(
        venue=venue, rpc=env.rpc, orders=env.repos.orders, trades=env.repos.trades,
        metrics=env.metrics, relays=relays, settings=env.repos.settings,
        config=ExecutorConfig(poll_interval_s=0.01, resend_interval_s=0.1, land_deadline_s=10.0,
                              cosigners="presigned"), **kw,
    )  # fmt: skip


def bundles(env: Env, second: JitoEndpoint) -> int:
    return int(env.net.jito.requests.get("sendBundle", 0)) + int(
        second.requests.get("sendBundle", 0)
    )


async def test_a_protected_buy_lands_as_a_bundle_and_the_rpc_never_sees_it(
    env: Env, capture: Capture, wired: aiohttp.ClientSession, second_engine: JitoEndpoint
) -> None:
    mint = launch(env)
    relays = fanout(env, capture, wired, engine_urls(env, second_engine))
    await env.repos.settings.update(env.user_id, mev_protection=True, jito_tip_lamports=TIP)
    tip_balances = {a: env.balance(a) for a in JITO_TIP_ACCOUNTS}
    ex = executor(env, router(env), relays)
    order = await ex.run(await env.order(mint, SOL // 10, "mev-buy"), env.account)
    assert order.status is OrderStatus.CONFIRMED, order.error
    assert "sendTransaction" not in capture.methods()  # never the public mempool
    assert bundles(env, second_engine) >= 2  # the same bundle to both block engines
    tipped = sum(env.balance(a) - before for a, before in tip_balances.items())
    assert tipped == TIP
    assert order.quote is not None
    assert order.quote["landing"] == {
        "mev_protect": True,
        "tip_lamports": TIP,
    }

    # the sell of what it bought: protected too, same rules on the way out
    sell = await env.order(mint, order.out_amount or 0, "mev-sell", side=OrderSide.SELL)
    sold = await ex.run(sell, env.account)
    assert sold.status is OrderStatus.CONFIRMED, sold.error
    assert "sendTransaction" not in capture.methods()
    await relays.close()
    await relays._pool.close()


async def test_a_normal_buy_goes_to_the_rpc_and_every_block_engine(
    env: Env, capture: Capture, wired: aiohttp.ClientSession, second_engine: JitoEndpoint
) -> None:
    mint = launch(env)
    relays = fanout(env, capture, wired, engine_urls(env, second_engine))
    await env.repos.settings.update(env.user_id, jito_tip_lamports=TIP)  # MEV protection off
    order = await executor(env, router(env), relays).run(
        await env.order(mint, SOL // 10, "open-buy"), env.account
    )
    assert order.status is OrderStatus.CONFIRMED, order.error
    raw = capture.methods().count("sendTransaction")
    assert raw >= 1  # the public RPC got the bytes...
    assert bundles(env, second_engine) >= 2  # ...and each block engine a tipped bundle
    assert order.quote is not None
    assert order.quote["landing"]["mev_protect"] is False
    await relays.close()
    await relays._pool.close()


async def test_a_resumed_protected_order_stays_bundle_only(
    env: Env, capture: Capture, wired: aiohttp.ClientSession, second_engine: JitoEndpoint
) -> None:
    """Crash right after SIGNED; the user turns MEV protection off; recovery still sends the
    stored bytes as bundles only (the mode is stored with the order)."""
    mint = launch(env)
    relays = fanout(env, capture, wired, engine_urls(env, second_engine))
    await env.repos.settings.update(env.user_id, mev_protection=True, jito_tip_lamports=TIP)

    async def crash(name: str, order: Order) -> None:
        if name == "signed":
            raise Crash

    order = await env.order(mint, SOL // 10, "mev-resume")
    with pytest.raises(Crash):
        await executor(env, router(env), relays, boundary=crash).run(order, env.account)
    stored = await env.repos.orders.get_by_id(order.id)
    assert stored is not None
    assert stored.status is OrderStatus.SIGNED
    assert bundles(env, second_engine) == 0  # nothing was sent before the crash
    await env.repos.settings.update(env.user_id, mev_protection=False)
    resumed = await executor(env, router(env), relays).run(stored, env.account)
    assert resumed.status is OrderStatus.CONFIRMED, resumed.error
    assert "sendTransaction" not in capture.methods()
    assert bundles(env, second_engine) >= 1
    await relays.close()
    await relays._pool.close()


async def test_protection_without_a_block_engine_fails_before_signing(
    env: Env, capture: Capture, wired: aiohttp.ClientSession
) -> None:
    mint = launch(env)
    await env.repos.settings.update(env.user_id, mev_protection=True)
    for relays in (fanout(env, capture, wired, []), None):
        order = await executor(env, router(env), relays).run(
            await env.order(mint, SOL // 10, f"mev-no-engine-{relays is None}"), env.account
        )
        assert order.status is OrderStatus.FAILED
        assert order.error is not None
        assert order.error.type is OrderErrorType.REJECTED
        assert order.error.user_message == MEV_WITHOUT_ENGINE
        assert order.signature is None
        assert order.signed_tx is None
    assert "sendTransaction" not in capture.methods()


async def test_a_protected_jupiter_buy_carries_jupiters_tip_and_lands_as_a_bundle(
    env: Env, capture: Capture, wired: aiohttp.ClientSession, second_engine: JitoEndpoint
) -> None:
    """Jupiter is asked for ``prioritizationFeeLamports: {"jitoTipLamports": N}``; the verifier
    accepts the tip transfer it adds (to a Jito tip account) and the bundle lands."""
    token = env.token()
    relays = fanout(env, capture, wired, engine_urls(env, second_engine))
    await env.repos.settings.update(env.user_id, mev_protection=True, jito_tip_lamports=TIP)
    order = await executor(env, env.venue, relays).run(
        await env.order(token.mint, SOL // 10, "mev-jup"), env.account
    )
    assert order.status is OrderStatus.CONFIRMED, order.error
    assert order.signed_tx is not None
    assert has_tip(VersionedTransaction.from_bytes(order.signed_tx))
    assert "sendTransaction" not in capture.methods()
    await relays.close()
    await relays._pool.close()


def test_the_jupiter_swap_request_asks_for_a_jito_tip_instead_of_a_fee() -> None:
    q = Quote(
        "jupiter", WSOL_MINT, str(Pubkey.new_unique()), 1, 1, 1, "ExactIn", 50, Decimal(0), ()
    )
    assert swap_body(q, "u", priority_fee_lamports=7)["prioritizationFeeLamports"] == 7
    body = swap_body(q, "u", priority_fee_lamports=7, jito_tip_lamports=TIP)
    assert body["prioritizationFeeLamports"] == {"jitoTipLamports": TIP}


async def test_the_verifier_accepts_the_tip_to_a_tip_account_and_nothing_else(env: Env) -> None:
    mint = launch(env)
    venue = router(env)
    user = env.key.pubkey
    quote = await venue.quote(WSOL_MINT, str(mint), SOL // 10, 100)
    assert venue.pumpfun is not None

    def tx(tip: JitoTip | None) -> VersionedTransaction:
        assert venue.pumpfun is not None
        ixs = venue.pumpfun.instructions(quote, user, None, tip=tip)
        msg = MessageV0.try_compile(user, ixs, [], env.net.cluster.latest_blockhash())
        return VersionedTransaction.populate(msg, [Signature.default()])

    def verify(t: VersionedTransaction, tip_lamports: int) -> int:
        policy = VerifyPolicy(max_priority_fee_lamports=0, tip_lamports=tip_lamports)
        return verify_swap(
            t, user=user, quote=quote, side=OrderSide.BUY, policy=policy
        ).tip_lamports

    assert verify(tx(JitoTip(TIP, TIP_ACCOUNT)), TIP) == TIP
    stranger = Pubkey.new_unique()
    with pytest.raises(SwapVerificationError, match="a tip to any other account is no tip"):
        verify(tx(JitoTip(TIP, stranger)), TIP)
    with pytest.raises(SwapVerificationError, match="asked for no tip"):
        verify(tx(JitoTip(TIP, TIP_ACCOUNT)), 0)
    with pytest.raises(SwapVerificationError, match=f"asked for {TIP}"):
        verify(tx(JitoTip(TIP + 1, TIP_ACCOUNT)), TIP)
    with pytest.raises(SwapVerificationError, match="tips 0 lamports"):
        verify(tx(None), TIP)
    assert verify(tx(None), 0) == 0


async def test_a_forced_users_risk_check_does_not_shape_everyones_report(env: Env) -> None:
    """The risk gate inside a forced-Jupiter order runs under ``force_venue("jupiter")``; through
    ``router.unforced()`` its (shared, cached) report is the router's own, not Jupiter-only."""
    mint = launch(env)
    venue: VenueRouter = router(env)

    async def report(quoter: Any, forced: bool) -> Any:
        risk = RiskService(SnapshotFetcher(env.rpc, quoter), ttl_s=300.0)
        if forced:
            with force_venue("jupiter"):
                await risk.check(str(mint))  # the forced user's order fills the cache
        return await risk.check(str(mint))  # what every other user then reads

    unforced = await report(venue.unforced(), forced=False)
    after_forced = await report(venue.unforced(), forced=True)
    assert after_forced.findings == unforced.findings
    assert after_forced.score == unforced.score
    # the bug (the router itself): the forced context's Jupiter-only quote is cached for all
    leaked = await report(venue, forced=True)
    assert leaked.findings != unforced.findings
