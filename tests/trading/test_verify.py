"""Swap verification refuses anything but the swap we asked for, then signs fast."""

from __future__ import annotations

import pytest
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.null_signer import NullSigner
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from sniper_bot.domain.orders import OrderSide
from sniper_bot.trading.errors import SwapVerificationError
from sniper_bot.trading.verify import VerifyPolicy, sign_swap, verify_swap

from .swaps import cosigned_buy, quote, sol_transfer, token_transfer_checked

USER = Keypair()
MAKER = Keypair()
MINT = Pubkey.new_unique()
POLICY = VerifyPolicy(
    max_priority_fee_lamports=1_000_000, allowed_cosigners=frozenset({MAKER.pubkey()})
)


def test_a_faithful_cosigned_buy_verifies_and_signs_into_a_fully_signed_tx() -> None:
    tx = cosigned_buy(USER.pubkey(), MAKER, MINT, lamports=1_000_000, tokens=5_000)
    v = verify_swap(
        tx,
        user=USER.pubkey(),
        quote=quote(MINT, 1_000_000, 5_000),
        side=OrderSide.BUY,
        policy=POLICY,
    )
    assert v.sol_out_lamports == 1_000_000
    assert v.priority_fee_lamports == 1_000  # 100k CU x 10k micro-lamports
    signed = sign_swap(v, USER.sign_message)
    assert signed.verify_with_results() == [True, True]
    assert USER.pubkey() in v.writable_accounts


def test_fee_payer_must_be_the_user() -> None:
    other = Keypair()
    tx = cosigned_buy(other.pubkey(), MAKER, MINT, lamports=1, tokens=1)
    with pytest.raises(SwapVerificationError, match="fee payer"):
        verify_swap(
            tx, user=USER.pubkey(), quote=quote(MINT, 1, 1), side=OrderSide.BUY, policy=POLICY
        )


def test_unexpected_cosigner_is_refused() -> None:
    tx = cosigned_buy(USER.pubkey(), MAKER, MINT, lamports=1, tokens=1)
    with pytest.raises(SwapVerificationError, match="unexpected signer"):
        verify_swap(
            tx,
            user=USER.pubkey(),
            quote=quote(MINT, 1, 1),
            side=OrderSide.BUY,
            policy=VerifyPolicy(max_priority_fee_lamports=10**9),
        )


def test_cosigner_that_did_not_sign_is_refused() -> None:
    good = cosigned_buy(USER.pubkey(), MAKER, MINT, lamports=1, tokens=1)
    unsigned = VersionedTransaction(
        good.message, [NullSigner(USER.pubkey()), NullSigner(MAKER.pubkey())]
    )
    with pytest.raises(SwapVerificationError, match="has not signed"):
        verify_swap(
            unsigned, user=USER.pubkey(), quote=quote(MINT, 1, 1), side=OrderSide.BUY, policy=POLICY
        )


def test_more_sol_than_quoted_is_refused() -> None:
    tx = cosigned_buy(USER.pubkey(), MAKER, MINT, lamports=1_000_000 + 10_000_001, tokens=1)
    with pytest.raises(SwapVerificationError, match="lamports"):
        verify_swap(
            tx,
            user=USER.pubkey(),
            quote=quote(MINT, 1_000_000, 1),
            side=OrderSide.BUY,
            policy=POLICY,
        )


def test_a_drain_hidden_as_a_second_transfer_is_refused() -> None:
    thief = Pubkey.new_unique()
    tx = cosigned_buy(
        USER.pubkey(),
        MAKER,
        MINT,
        lamports=1_000,
        tokens=1,
        extra=[sol_transfer(USER.pubkey(), thief, 50_000_000)],
    )
    with pytest.raises(SwapVerificationError, match="lamports"):
        verify_swap(
            tx, user=USER.pubkey(), quote=quote(MINT, 1_000, 1), side=OrderSide.BUY, policy=POLICY
        )


def test_sell_moving_more_tokens_than_quoted_is_refused() -> None:
    ixs = [
        token_transfer_checked(Pubkey.new_unique(), MINT, Pubkey.new_unique(), USER.pubkey(), 600),
        sol_transfer(MAKER.pubkey(), USER.pubkey(), 10),
    ]
    from solders.hash import Hash

    msg = MessageV0.try_compile(USER.pubkey(), ixs, [], Hash.new_unique())
    tx = VersionedTransaction(msg, [NullSigner(USER.pubkey()), MAKER])
    with pytest.raises(SwapVerificationError, match="tokens"):
        verify_swap(
            tx,
            user=USER.pubkey(),
            quote=quote(MINT, 500, 10, buy=False),
            side=OrderSide.SELL,
            policy=POLICY,
        )
    ok = verify_swap(
        tx,
        user=USER.pubkey(),
        quote=quote(MINT, 600, 10, buy=False),
        side=OrderSide.SELL,
        policy=POLICY,
    )
    assert ok.tokens_out == 600


def test_unknown_program_is_refused() -> None:
    from solders.instruction import Instruction

    rogue = Instruction(Pubkey.new_unique(), b"\x00", [])
    tx = cosigned_buy(USER.pubkey(), MAKER, MINT, lamports=1, tokens=1, extra=[rogue])
    with pytest.raises(SwapVerificationError, match="unexpected program"):
        verify_swap(
            tx, user=USER.pubkey(), quote=quote(MINT, 1, 1), side=OrderSide.BUY, policy=POLICY
        )


def test_priority_fee_above_the_users_maximum_is_refused() -> None:
    tx = cosigned_buy(USER.pubkey(), MAKER, MINT, lamports=1, tokens=1, price=100_000_000)
    with pytest.raises(SwapVerificationError, match="priority fee"):
        verify_swap(
            tx, user=USER.pubkey(), quote=quote(MINT, 1, 1), side=OrderSide.BUY, policy=POLICY
        )
