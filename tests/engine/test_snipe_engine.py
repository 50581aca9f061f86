"""Snipes on localnet + PostgreSQL: an armed target fires once when its pool appears."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from sniper_bot.domain.entities import OrderKind
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.launch import SnipeStatus, SnipeTarget
from sniper_bot.domain.orders import OrderErrorType, OrderStatus
from sniper_bot.engine import InvalidSnipe, SnipeEngine, idempotency_key
from sniper_bot.engine.snipe import SnipeNotFound
from sniper_bot.storage.repositories.snipes import SnipeNotArmed

from .conftest import SOL, ManualClock, Stack

AMOUNT = SOL // 10


@contextlib.asynccontextmanager
async def running(*engines: SnipeEngine) -> AsyncIterator[None]:
    stop = asyncio.Event()
    tasks = [asyncio.create_task(engine.run(stop)) for engine in engines]
    try:
        yield
    finally:
        stop.set()
        await asyncio.gather(*tasks)


async def settled(stack: Stack, target: SnipeTarget, timeout_s: float = 15.0) -> SnipeTarget:
    """The target once it has a final order (or a final state of its own)."""
    async with asyncio.timeout(timeout_s):
        while True:
            current = await stack.targets.get(stack.user_id, target.id)
            assert current is not None
            if current.status in (SnipeStatus.FAILED, SnipeStatus.EXPIRED):
                return current
            if current.order_id is not None:
                order = await stack.repos.orders.get(stack.user_id, current.order_id)
                # a failed order marks its target FAILED right after: wait for that too
                settled_target = (
                    order is not None
                    and order.is_final
                    and (
                        order.status is OrderStatus.CONFIRMED
                        or current.status is not SnipeStatus.FIRED
                    )
                )
                if settled_target:
                    return current
            await asyncio.sleep(0.02)


async def arm(stack: Stack, engine: SnipeEngine, mint: str, ttl_s: float = 60.0) -> SnipeTarget:
    return await engine.arm(
        stack.user_id, stack.key.wallet_id, mint, AMOUNT, 1_500, FeeLevel.LOW, ttl_s
    )


async def test_snipe_fires_once_when_the_pool_appears(stack: Stack) -> None:
    engine = stack.engine(stack.detector("helius", "quicknode"))
    mint = stack.next_mint()
    target = await arm(stack, engine, mint)
    await engine.wait_idle()  # the check on arm finds no pool yet
    assert (await stack.targets.get(stack.user_id, target.id)).status is SnipeStatus.ARMED  # type: ignore[union-attr]
    async with running(engine):
        await stack.wait_subscriptions(4)  # 2 listeners x 2 endpoints
        launched = await stack.launch("honest", announce="pumpfun")
        assert launched["mint"] == mint
        done = await settled(stack, target)
    assert done.status is SnipeStatus.FIRED
    assert done.order_id is not None
    order = await stack.repos.orders.get(stack.user_id, done.order_id)
    assert order is not None
    assert order.status is OrderStatus.CONFIRMED
    assert order.kind is OrderKind.SNIPE
    assert order.idempotency_key == idempotency_key(target.id, 0) == f"snipe:{target.id}"
    assert order.amount == AMOUNT
    assert order.out_amount
    assert stack.tokens_held(mint) == order.out_amount
    orders = await stack.repos.orders.list_for_user(stack.user_id)
    assert [o.id for o in orders] == [order.id]


async def test_snipe_fires_once_when_two_replicas_see_the_pool(stack: Stack) -> None:
    a = stack.engine(stack.detector("helius"), worker_id="replica-a")
    b = stack.engine(stack.detector("quicknode"), worker_id="replica-b")
    mint = stack.next_mint()
    first = await arm(stack, a, mint)
    second = await arm(stack, b, mint)
    async with running(a, b):
        await stack.wait_subscriptions(4)
        await stack.launch("honest", announce="pumpfun")
        done = [await settled(stack, t) for t in (first, second)]
    orders = await stack.repos.orders.list_for_user(stack.user_id)
    assert len(orders) == 2  # one order per target, not per replica
    assert {o.idempotency_key for o in orders} == {f"snipe:{first.id}", f"snipe:{second.id}"}
    assert all(o.status is OrderStatus.CONFIRMED for o in orders)
    assert {t.order_id for t in done} == {o.id for o in orders}
    assert stack.tokens_held(mint) == sum(o.out_amount or 0 for o in orders)


async def test_a_honeypot_launch_is_blocked_by_the_risk_gate(stack: Stack) -> None:
    engine = stack.engine(stack.detector("helius"))
    mint = stack.next_mint()
    target = await arm(stack, engine, mint)
    async with running(engine):
        await stack.wait_subscriptions(2)
        await stack.launch("freeze_authority", announce="raydium")
        done = await settled(stack, target)
    assert done.status is SnipeStatus.FAILED
    assert done.error == "honeypot_blocked"
    assert done.order_id is not None
    order = await stack.repos.orders.get(stack.user_id, done.order_id)
    assert order is not None
    assert order.status is OrderStatus.FAILED
    assert order.error is not None
    assert order.error.type is OrderErrorType.HONEYPOT_BLOCKED
    assert order.signature is None
    assert stack.tokens_held(mint) == 0


async def test_a_pool_that_already_trades_fires_on_arm(stack: Stack) -> None:
    engine = stack.engine()  # no listener at all: the check on arm does it
    info = await stack.launch("honest", announce="none")
    target = await arm(stack, engine, info["mint"])
    await engine.wait_idle()
    done = await settled(stack, target)
    assert done.status is SnipeStatus.FIRED
    order = await stack.repos.orders.get(stack.user_id, done.order_id or "")
    assert order is not None
    assert order.status is OrderStatus.CONFIRMED


async def test_a_new_pool_jupiter_cannot_route_yet_is_retried_until_it_can(stack: Stack) -> None:
    stack.net.market.route_delay_slots = 15  # ~300 ms of "no route" after the launch
    engine = stack.engine(stack.detector("helius"))
    mint = stack.next_mint()
    target = await arm(stack, engine, mint)
    async with running(engine):
        await stack.wait_subscriptions(2)
        await stack.launch("honest", announce="pumpfun")
        done = await settled(stack, target)
    assert done.status is SnipeStatus.FIRED
    order = await stack.repos.orders.get(stack.user_id, done.order_id or "")
    assert order is not None
    assert order.status is OrderStatus.CONFIRMED  # not blocked by a "no pool" risk verdict
    assert order.idempotency_key == f"snipe:{target.id}"  # no failed attempt before it
    assert len(await stack.repos.orders.list_for_user(stack.user_id)) == 1


async def test_a_crash_between_claim_and_buy_is_recovered_without_buying_twice(
    stack: Stack,
) -> None:
    engine = stack.engine()
    mint = stack.next_mint()
    target = await arm(stack, engine, mint)
    await engine.wait_idle()
    await stack.launch("honest", announce="none")
    # The crash: the target was claimed (FIRED) but the process died before the buy.
    assert (await stack.targets.mark_fired(target.id)).status is SnipeStatus.FIRED
    [first] = await engine.recover()
    assert first.order is not None
    assert first.order.status is OrderStatus.CONFIRMED
    assert first.target.order_id == first.order.id
    assert await engine.recover() == []  # the target has its order now
    # A replay of the same buy (a second crash after the order row) returns the same order.
    replayed = await engine.fire_mint(mint)
    assert replayed == []
    orders = await stack.repos.orders.list_for_user(stack.user_id)
    assert [o.id for o in orders] == [first.order.id]
    assert stack.tokens_held(mint) == first.order.out_amount


async def test_expired_and_cancelled_targets_never_fire(stack: Stack) -> None:
    clock = ManualClock()
    engine = stack.engine(clock=clock)
    mint = stack.next_mint()
    expiring = await arm(stack, engine, mint, ttl_s=30)
    cancelled = await arm(stack, engine, mint, ttl_s=600)
    await engine.cancel(stack.user_id, cancelled.id)
    with pytest.raises(SnipeNotArmed):
        await engine.cancel(stack.user_id, cancelled.id)
    with pytest.raises(SnipeNotFound) as raised:  # another user's snipe: no such snipe
        await engine.cancel(stack.user_id + 1, expiring.id)
    assert raised.value.user_message == "No such snipe. Send /snipe to see yours."
    clock.advance(31)
    assert [t.id for t in await engine.expire_due()] == [expiring.id]
    await stack.launch("honest", announce="none")
    assert await engine.fire_mint(mint) == []
    assert await stack.repos.orders.list_for_user(stack.user_id) == []
    listed = await engine.list_for_user(stack.user_id)
    assert {(t.id, t.status) for t in listed} == {
        (expiring.id, SnipeStatus.EXPIRED),
        (cancelled.id, SnipeStatus.CANCELLED),
    }


async def test_a_bad_request_says_what_to_fix(stack: Stack) -> None:
    engine = stack.engine()
    with pytest.raises(InvalidSnipe, match="mint"):
        await engine.arm(stack.user_id, stack.key.wallet_id, "nope", AMOUNT, 100, FeeLevel.LOW)
    with pytest.raises(InvalidSnipe) as excinfo:
        await engine.arm(
            stack.user_id, stack.key.wallet_id, stack.next_mint(), AMOUNT, 100, FeeLevel.LOW, 1e9
        )
    assert "up to" in excinfo.value.user_message
    assert await stack.targets.list_for_user(stack.user_id) == []
