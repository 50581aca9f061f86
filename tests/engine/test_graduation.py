"""Graduation snipes in the slow ``SnipeEngine`` (localnet + PostgreSQL): stored as a filter target
(the mint, PumpSwap only, no nonce account), never fired by the coin's pump.fun launch nor by
another mint's pool, fired once by its own AMM launch (the buy through the trading service), and
every bad request refused with its sentence, nothing stored. The PumpSwap buy after a real
migration is tests/e2e/test_filter_snipe_graduation.py."""

from __future__ import annotations

import time

import pytest

from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.launch import LaunchEvent, LaunchFilter, SnipeStatus
from sniper_bot.domain.orders import OrderStatus
from sniper_bot.engine import InvalidSnipe

from .conftest import SOL, Stack

AMOUNT = SOL // 20


def launch(source: str, mint: str) -> LaunchEvent:
    return LaunchEvent(source, mint, str(mint), None, None, None, time.monotonic(), "")  # type: ignore[arg-type]


async def test_a_graduation_snipe_fires_only_on_its_own_amm_launch(stack: Stack) -> None:
    engine = stack.engine()
    coin = (await stack.launch("honest", announce="none"))["mint"]  # Jupiter routes it
    other = (await stack.launch("honest", announce="none"))["mint"]
    target = await engine.arm_graduation(
        stack.user_id, stack.key.wallet_id, coin, AMOUNT, 1_500, FeeLevel.LOW, 60
    )
    assert target.launch_filter == LaunchFilter(mints=(coin,), sources=("pumpswap",))
    assert target.launch_filter.on_graduation
    assert (target.token_mint, target.nonce_account) == ("", None)

    assert await engine.on_launch(launch("pumpfun", coin)) == []  # the curve's create
    assert await engine.on_launch(launch("pumpswap", other)) == []  # another coin's pool
    assert await engine.on_launch(launch("raydium_v4", coin)) == []  # not its PumpSwap pool
    await engine.wait_idle()
    still = await stack.targets.get(stack.user_id, target.id)
    assert still is not None
    assert still.status is SnipeStatus.ARMED

    (result,) = await engine.on_launch(launch("pumpswap", coin))
    assert result.order is not None
    assert result.order.status is OrderStatus.CONFIRMED, result.order.error
    assert (result.order.token_mint, result.order.amount) == (coin, AMOUNT)
    assert result.order.idempotency_key == f"snipe:{target.id}"
    fired = await stack.targets.get(stack.user_id, target.id)
    assert fired is not None
    assert (fired.status, fired.token_mint) == (SnipeStatus.FIRED, coin)
    assert await engine.on_launch(launch("pumpswap", coin)) == []  # a second copy: nothing


@pytest.mark.parametrize(
    ("mint", "lamports", "slippage", "ttl", "sentence"),
    [
        ("nope", AMOUNT, 100, 60.0, "That is not a token address (mint)."),
        (None, 0, 100, 60.0, "The amount must be above 0."),
        (None, AMOUNT, 20_000, 60.0, "Slippage"),
        (None, AMOUNT, 100, 1e9, "A snipe can wait up to 168 h."),
    ],
)
async def test_a_bad_graduation_snipe_says_what_to_fix(
    stack: Stack, mint: str | None, lamports: int, slippage: int, ttl: float, sentence: str
) -> None:
    engine = stack.engine()
    with pytest.raises(InvalidSnipe) as excinfo:
        await engine.arm_graduation(
            stack.user_id, stack.key.wallet_id, mint or stack.next_mint(), lamports, slippage,
            FeeLevel.LOW, ttl,
        )  # fmt: skip
    assert excinfo.value.user_message.startswith(sentence), excinfo.value.user_message
    assert await stack.targets.list_for_user(stack.user_id) == []
