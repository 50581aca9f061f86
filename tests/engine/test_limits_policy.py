"""The pure side of limit orders and DCA (``domain.limits``): exact triggers, expiry first, parts
that add up, the band, and a specific sentence for every bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.limits import (
    DcaAction,
    DcaPlan,
    DcaStatus,
    InvalidLimitInput,
    LimitAction,
    LimitOrder,
    LimitStatus,
    PricePoint,
    TriggerKind,
    dca_part_amount,
    decide_dca,
    decide_limit,
    format_price,
    limit_triggered,
    parse_band,
    parse_duration,
    parse_parts,
    parse_pct,
    parse_price,
    parse_trigger,
)
from sniper_bot.domain.orders import OrderSide

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
# a pump.fun curve at launch: 30 SOL virtual against 1.073 billion tokens (6 decimals)
SOL_RESERVES, TOKEN_RESERVES = 30_000_000_000, 1_073_000_000_000_000


def limit(side: OrderSide = OrderSide.BUY, kind: TriggerKind = TriggerKind.PRICE,
          value: int = 0, **changes: object) -> LimitOrder:  # fmt: skip
    base = LimitOrder(
        id=1, user_id=1, wallet_id=1, token_mint="M", side=side, trigger_kind=kind,
        trigger_value=value, amount_lamports=10**8 if side is OrderSide.BUY else None,
        sell_pct=None if side is OrderSide.BUY else 50, decimals=6, slippage_bps=100,
        priority_fee=FeeLevel.LOW, status=LimitStatus.OPEN, created_at=NOW,
        expires_at=NOW + timedelta(hours=1),
    )  # fmt: skip
    return LimitOrder(**{**{f: getattr(base, f) for f in base.__slots__}, **changes})  # type: ignore[arg-type]


def test_the_trigger_is_exact_at_its_edge_for_buys_and_sells() -> None:
    point = PricePoint(SOL_RESERVES, TOKEN_RESERVES)
    exact = SOL_RESERVES * 10**6 * 10**6 // TOKEN_RESERVES  # floor: the price is a hair above
    assert point.price(6) == exact
    assert not limit_triggered(limit(value=exact), point)  # floor < true price: not yet
    assert limit_triggered(limit(value=exact + 1), point)
    assert limit_triggered(limit(OrderSide.SELL, value=exact), point)
    assert not limit_triggered(limit(OrderSide.SELL, value=exact + 1), point)
    # an exactly representable price fires at equality both ways
    even = PricePoint(28, 10**6)  # 28 lamports per whole token
    assert limit_triggered(limit(value=28 * 10**6), even)
    assert limit_triggered(limit(OrderSide.SELL, value=28 * 10**6), even)


def test_a_market_cap_trigger_needs_a_supply_and_compares_lamports() -> None:
    supply = 10**15
    point = PricePoint(SOL_RESERVES, TOKEN_RESERVES, supply)
    cap = point.market_cap()
    assert cap == SOL_RESERVES * supply // TOKEN_RESERVES
    assert limit_triggered(limit(kind=TriggerKind.MCAP, value=cap + 1), point)
    assert not limit_triggered(limit(kind=TriggerKind.MCAP, value=cap - 1), point)
    no_supply = PricePoint(SOL_RESERVES, TOKEN_RESERVES)
    assert not limit_triggered(limit(kind=TriggerKind.MCAP, value=10**18), no_supply)


def test_expiry_wins_over_a_reached_trigger_and_only_open_orders_act() -> None:
    order = limit(value=10**18)  # any price fires it
    point = PricePoint(SOL_RESERVES, TOKEN_RESERVES)
    assert decide_limit(order, point, NOW) is LimitAction.FIRE
    assert decide_limit(order, None, NOW) is LimitAction.WAIT
    assert decide_limit(order, point, order.expires_at) is LimitAction.EXPIRE
    fired = limit(value=10**18, status=LimitStatus.FIRED)
    assert decide_limit(fired, point, NOW) is LimitAction.WAIT


def plan(**changes: object) -> DcaPlan:
    base = DcaPlan(
        id=7, user_id=1, wallet_id=1, token_mint="M", side=OrderSide.BUY, total_amount=10**9,
        parts=3, parts_done=0, interval_seconds=60, band_min_price=None, band_max_price=None,
        decimals=6, slippage_bps=100, priority_fee=FeeLevel.LOW, status=DcaStatus.ACTIVE,
        next_at=NOW, created_at=NOW,
    )  # fmt: skip
    return DcaPlan(**{**{f: getattr(base, f) for f in base.__slots__}, **changes})  # type: ignore[arg-type]


def test_parts_differ_by_one_at_most_and_add_up_to_the_total() -> None:
    for total, parts in ((10**9, 3), (7, 7), (100, 6), (10**18 + 1, 97)):
        amounts = [dca_part_amount(total, parts, k) for k in range(parts)]
        assert sum(amounts) == total
        assert max(amounts) - min(amounts) <= 1
    with pytest.raises(ValueError, match="part 3 of 3"):
        dca_part_amount(10, 3, 3)


def test_a_plan_runs_when_due_pauses_out_of_band_and_resumes_inside() -> None:
    assert decide_dca(plan(), NOW - timedelta(seconds=1), None).action is DcaAction.WAIT
    step = decide_dca(plan(parts_done=1), NOW, None)
    assert (step.action, step.part, step.amount) == (DcaAction.RUN, 1, 333_333_333)
    assert decide_dca(plan(parts_done=3), NOW, None).action is DcaAction.DONE
    banded = plan(band_min_price=100, band_max_price=200)
    assert decide_dca(banded, NOW, None).action is DcaAction.WAIT  # no price: no guess
    assert decide_dca(banded, NOW, 99).action is DcaAction.PAUSE
    assert decide_dca(banded, NOW, 201).action is DcaAction.PAUSE
    assert decide_dca(banded, NOW, 200).action is DcaAction.RUN
    paused = plan(band_max_price=200, status=DcaStatus.PAUSED)
    assert decide_dca(paused, NOW, 150).action is DcaAction.RUN
    assert decide_dca(plan(status=DcaStatus.CANCELLED), NOW, None).action is DcaAction.WAIT


def test_typed_prices_caps_durations_and_bands_parse_to_integers() -> None:
    assert parse_price("0.000000028") == 28_000_000
    assert parse_price("1") == 10**15
    assert parse_price("0,5") == 5 * 10**14
    assert parse_trigger("0.00003") == (TriggerKind.PRICE, 30_000_000_000)
    assert parse_trigger("mc:30") == (TriggerKind.MCAP, 30 * 10**9)
    assert parse_trigger("25.5mc") == (TriggerKind.MCAP, 25_500_000_000)
    assert parse_trigger("MCAP=40") == (TriggerKind.MCAP, 40 * 10**9)
    assert parse_duration("2h", "expiry", 60, 10**6) == 7_200
    assert parse_duration("90", "expiry", 60, 10**6) == 5_400  # bare minutes
    assert parse_band("0.00002-0.00004") == (20_000_000_000, 40_000_000_000)
    assert parse_band("-0.00004") == (None, 40_000_000_000)
    assert parse_band("0.00002..") == (20_000_000_000, None)
    assert parse_parts("4") == 4
    assert parse_pct("50%") == 50
    assert format_price(28_000_000) == "0.000000028 SOL"


@pytest.mark.parametrize(
    ("call", "sentence"),
    [
        (lambda: parse_price("abc"), "'abc' is not a price; send a number like 0.00003"),
        (lambda: parse_price("0"), "the price must be greater than 0"),
        (lambda: parse_price("-1"), "the price must be greater than 0"),
        (lambda: parse_price("NaN"), "'NaN' is not a price"),
        (lambda: parse_price("0.0000000000000001"), "at most 15 decimal places"),
        (lambda: parse_price("10000"), "the price is too large: at most 9,000 SOL per token"),
        (lambda: parse_trigger("mc:abc"), "'abc' is not a market cap"),
        (lambda: parse_trigger("mc:0"), "the market cap must be greater than 0"),
        (lambda: parse_duration("soon", "expiry", 60, 600), "'soon' is not a duration for the"),
        (lambda: parse_duration("5s", "expiry", 60, 600), "the expiry must be between 1m and 10m"),
        (lambda: parse_band("0.1"), "'0.1' is not a price band"),
        (lambda: parse_band("0.2-0.1"), "the band's low price is above its high price"),
        (lambda: parse_band("-"), "a price band needs a low or a high price"),
        (lambda: parse_parts("1"), "the number of parts must be a whole number from 2 to 100"),
        (lambda: parse_parts("²"), "the number of parts must be a whole number from 2 to 100"),
        (lambda: parse_pct("150"), "the share to sell must be a whole percentage from 1 to 100"),
    ],
)
def test_every_bad_input_gets_its_own_sentence(call: object, sentence: str) -> None:
    with pytest.raises(InvalidLimitInput) as caught:
        call()  # type: ignore[operator]
    assert sentence in str(caught.value)
