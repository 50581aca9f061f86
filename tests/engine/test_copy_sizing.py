"""domain.copy: the sizing and limit decisions of copy trading (integer math, hypothesis) and
engine.copy.decode_leader_trade on transactions as getTransaction reports them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from sniper_bot.chain.types import LandedTransaction, TokenBalance
from sniper_bot.domain.copy import (
    BPS,
    MIN_COPY_LAMPORTS,
    CopyFollow,
    CopyMode,
    CopyStatus,
    InvalidCopyInput,
    buy_size,
    copy_key,
    decide_buy,
    format_size,
    parse_size_bps,
    sell_amount,
    sold_bps,
)
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.money import WSOL_MINT
from sniper_bot.engine.copy import decode_leader_trade

LAMPORTS = st.integers(min_value=0, max_value=10**15)
SIZE_BPS = st.integers(min_value=1, max_value=BPS)
CAP = st.none() | st.integers(min_value=1, max_value=10**15)


def follow(mode: CopyMode, size: int, per_trade: int | None, per_day: int | None) -> CopyFollow:
    return CopyFollow(
        id=7, user_id=1, wallet_id=2, leader="L", mode=mode, size_value=size,
        max_per_trade=per_trade, max_per_day=per_day, sell_with_leader=True, slippage_bps=500,
        priority_fee=FeeLevel.MEDIUM, status=CopyStatus.ACTIVE, created_at=datetime.now(UTC),
    )  # fmt: skip


@given(leader=LAMPORTS, bps=SIZE_BPS, cap=CAP)
def test_a_share_of_the_leaders_size_is_its_floor_capped_by_the_max_per_trade(
    leader: int, bps: int, cap: int | None
) -> None:
    size = buy_size(CopyMode.BPS, bps, leader, cap)
    uncapped = leader * bps // BPS
    assert size == (uncapped if cap is None else min(uncapped, cap))
    assert 0 <= size <= leader
    assert size * BPS <= leader * bps < (uncapped + 1) * BPS  # the exact floor


@given(fixed=st.integers(min_value=1, max_value=10**15), leader=LAMPORTS, cap=CAP)
def test_a_fixed_size_ignores_the_leaders_size(fixed: int, leader: int, cap: int | None) -> None:
    assert buy_size(CopyMode.FIXED, fixed, leader, cap) == (
        fixed if cap is None else min(fixed, cap)
    )


@given(
    size=st.integers(min_value=MIN_COPY_LAMPORTS, max_value=10**12),
    per_day=st.integers(min_value=1, max_value=10**13),
    spent=st.integers(min_value=0, max_value=10**13),
)
def test_the_day_limit_is_never_overrun(size: int, per_day: int, spent: int) -> None:
    decision = decide_buy(follow(CopyMode.FIXED, size, None, per_day), 10**9, spent)
    assert decision.copy == (spent + size <= per_day)
    if decision.copy:
        assert decision.lamports == size
    else:
        assert decision.lamports == 0
        assert "day's limit" in (decision.reason or "")


def test_a_copy_below_the_smallest_is_skipped_with_its_reason() -> None:
    decision = decide_buy(follow(CopyMode.BPS, 100, None, None), MIN_COPY_LAMPORTS * 99, 0)
    assert not decision.copy
    assert decision.reason == (
        "the copy would be 0.000099 SOL, below the smallest copy of 0.0001 SOL"
    )
    assert decide_buy(follow(CopyMode.BPS, 100, None, None), MIN_COPY_LAMPORTS * 100, 0).copy


@given(
    held=st.integers(min_value=0, max_value=10**18),
    before=st.integers(min_value=1, max_value=10**18),
    data=st.data(),
)
def test_selling_with_the_leader_sells_the_same_fraction(
    held: int, before: int, data: st.DataObject
) -> None:
    sold = data.draw(st.integers(min_value=1, max_value=before))
    amount = sell_amount(held, before, sold)
    assert 0 <= amount <= held
    if sold == before:
        assert amount == held  # the leader sold out: so does the user
    else:
        assert amount * before <= held * sold < (amount + 1) * before  # exact floor
    assert 0 <= sold_bps(before, sold) <= BPS


def test_sell_amount_edges() -> None:
    assert sell_amount(1_000, 3_000, 1_000) == 333
    assert sell_amount(1_000, 3_000, 5_000) == 1_000  # sold more than known: all of it
    assert sell_amount(0, 3_000, 1_000) == 0
    assert sell_amount(1_000, 0, 1_000) == 0
    assert sold_bps(3_000, 1_000) == 3_333


@pytest.mark.parametrize(
    ("text", "bps"), [("25%", 2_500), ("0.5%", 50), ("12,25%", 1_225), ("100%", 10_000)]
)
def test_shares_parse_to_basis_points(text: str, bps: int) -> None:
    assert parse_size_bps(text) == bps


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("0%", "greater than 0%"),
        ("-3%", "greater than 0%"),
        ("101%", "at most 100%"),
        ("1.234%", "is not a percentage"),
        ("lots%", "is not a percentage"),
    ],
)
def test_bad_shares_say_why(text: str, sentence: str) -> None:
    with pytest.raises(InvalidCopyInput, match=sentence):
        parse_size_bps(text)


def test_key_and_formatting() -> None:
    assert copy_key(12, "5sig") == "copy:12:5sig"
    assert format_size(CopyMode.BPS, 2_550) == "25.5 % of the leader's"
    assert format_size(CopyMode.FIXED, 50_000_000) == "0.05 SOL"


def landed(
    leader: str,
    pre: list[TokenBalance],
    post: list[TokenBalance],
    lamports: tuple[int, int],
    err: Any = None,
) -> LandedTransaction:
    return LandedTransaction(
        signature=Signature.default(), slot=9, err=err, fee=5_000,
        account_keys=[Pubkey.from_string(leader)], pre_balances=[lamports[0]],
        post_balances=[lamports[1]], pre_token_balances=pre, post_token_balances=post, logs=[],
    )  # fmt: skip


def bal(index: int, mint: str, owner: str, amount: int) -> TokenBalance:
    return TokenBalance(index, mint, owner, amount, 6, None)


LEADER = str(Keypair().pubkey())
MINT = str(Keypair().pubkey())


def test_a_swap_is_decoded_from_the_leaders_balances() -> None:
    # a Jupiter-style buy: SOL wrapped (and closed) in the tx, tokens up, someone else's moved
    buy = landed(
        LEADER,
        pre=[bal(3, MINT, LEADER, 0), bal(4, MINT, "pool", 10**12)],
        post=[bal(3, MINT, LEADER, 7_000), bal(4, MINT, "pool", 10**12 - 7_000)],
        lamports=(3 * 10**9, 3 * 10**9 - 200_000_000 - 5_000),
    )
    trade = decode_leader_trade(buy, LEADER)
    assert trade is not None
    assert (trade.mint, trade.is_buy, trade.token_amount, trade.sol_amount) == (
        MINT, True, 7_000, 200_000_000,
    )  # fmt: skip
    assert trade.leader_tokens_before == 0
    # a sale into wrapped SOL kept in the leader's WSOL account
    sell = landed(
        LEADER,
        pre=[bal(3, MINT, LEADER, 9_000), bal(5, WSOL_MINT, LEADER, 0)],
        post=[bal(3, MINT, LEADER, 3_000), bal(5, WSOL_MINT, LEADER, 150_000_000)],
        lamports=(10**9, 10**9 - 5_000),
    )
    trade = decode_leader_trade(sell, LEADER)
    assert trade is not None
    assert (trade.is_buy, trade.token_amount, trade.sol_amount) == (False, 6_000, 150_000_000)
    assert trade.leader_tokens_before == 9_000


def test_transactions_that_are_no_swap_of_the_leader_decode_to_nothing() -> None:
    nothing = landed(LEADER, [bal(3, MINT, "x", 5)], [bal(3, MINT, "x", 9)], (10, 5))
    assert decode_leader_trade(nothing, LEADER) is None
    failed = landed(LEADER, [bal(3, MINT, LEADER, 0)], [bal(3, MINT, LEADER, 9)], (10, 5), err="x")
    assert decode_leader_trade(failed, LEADER) is None
