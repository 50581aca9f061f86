"""Swap verification refuses anything but the swap we asked for, then signs fast."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.null_signer import NullSigner
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from sniper_bot.domain.orders import OrderSide
from sniper_bot.trading.errors import SwapVerificationError
from sniper_bot.trading.verify import (
    LAMPORTS_PER_SIGNATURE,
    VerifiedSwap,
    VerifyPolicy,
    check_outflow,
    sign_swap,
    verify_swap,
)

from .swaps import SYSTEM, TOKEN, cosigned_buy, quote, sol_transfer, token_transfer_checked

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


# -- co-signer policy: "none" (mainnet default) vs "presigned" (venues that co-sign) -------------

PRESIGNED = VerifyPolicy(max_priority_fee_lamports=1_000_000, cosigners="presigned")
OTHER = Pubkey.new_unique()


def _buy(**kw: Any) -> VersionedTransaction:
    return cosigned_buy(USER.pubkey(), MAKER, MINT, lamports=1_000, tokens=5, **kw)


def _verify(tx: VersionedTransaction, policy: VerifyPolicy) -> VerifiedSwap:
    return verify_swap(
        tx, user=USER.pubkey(), quote=quote(MINT, 1_000, 5), side=OrderSide.BUY, policy=policy
    )


def test_policy_none_is_the_default_and_refuses_an_unknown_cosigner() -> None:
    policy = VerifyPolicy(max_priority_fee_lamports=10**9)
    assert policy.cosigners == "none"
    with pytest.raises(SwapVerificationError, match=r"unexpected signer .* accepts only the user"):
        _verify(_buy(), policy)


def test_presigned_accepts_a_cosigner_it_never_heard_of_once_it_has_signed() -> None:
    v = _verify(_buy(), PRESIGNED)
    assert v.cosigners == (MAKER.pubkey(),)
    assert sign_swap(v, USER.sign_message).verify_with_results() == [True, True]


def test_presigned_refuses_a_cosigner_whose_signature_is_missing_or_for_another_message() -> None:
    good = _buy()
    unsigned = VersionedTransaction(
        good.message, [NullSigner(USER.pubkey()), NullSigner(MAKER.pubkey())]
    )
    other = _buy()  # another blockhash: MAKER's signature there is over another message
    forged = VersionedTransaction.populate(good.message, [good.signatures[0], other.signatures[1]])
    for tx in (unsigned, forged):
        with pytest.raises(SwapVerificationError, match="has not signed this message"):
            _verify(tx, PRESIGNED)


def test_presigned_never_lets_a_cosigner_pay_the_fee() -> None:
    tx = cosigned_buy(MAKER.pubkey(), USER, MINT, lamports=1_000, tokens=5)
    with pytest.raises(SwapVerificationError, match="fee payer"):
        _verify(tx, PRESIGNED)


def test_presigned_keeps_the_amount_checks() -> None:
    tx = _buy(extra=[sol_transfer(USER.pubkey(), OTHER, 50_000_000)])
    with pytest.raises(SwapVerificationError, match="lamports"):
        _verify(tx, PRESIGNED)


def _token_ix(tag: int, accounts: list[Pubkey], data: bytes = b"") -> Instruction:
    metas = [AccountMeta(k, k == USER.pubkey(), True) for k in accounts]
    return Instruction(TOKEN, bytes([tag]) + data, metas)


def _approve(user: Pubkey) -> Instruction:
    return _token_ix(4, [Pubkey.new_unique(), OTHER, user], struct.pack("<Q", 10**12))


def _set_authority(user: Pubkey) -> Instruction:
    return _token_ix(6, [Pubkey.new_unique(), user], b"\x02\x01" + bytes(OTHER))


def _close_to_other(user: Pubkey) -> Instruction:
    return _token_ix(9, [Pubkey.new_unique(), OTHER, user])


def _assign(user: Pubkey) -> Instruction:
    return Instruction(SYSTEM, struct.pack("<I", 1) + bytes(OTHER), [AccountMeta(user, True, True)])


@pytest.mark.parametrize(
    ("grant", "reason"),
    [
        (_approve, "delegate"),
        (_set_authority, "changes an authority"),
        (_close_to_other, "closes a wallet token account"),
        (_assign, "system instruction 1"),
    ],
)
def test_handing_the_wallets_authority_away_is_refused_under_any_policy(
    grant: Callable[[Pubkey], Instruction], reason: str
) -> None:
    tx = _buy(extra=[grant(USER.pubkey())])
    for policy in (POLICY, PRESIGNED):
        with pytest.raises(SwapVerificationError, match=reason):
            _verify(tx, policy)


def test_closing_the_wallets_own_wsol_account_back_to_itself_is_fine() -> None:
    close = _token_ix(9, [Pubkey.new_unique(), USER.pubkey(), USER.pubkey()])
    assert _verify(_buy(extra=[close]), PRESIGNED).sol_out_lamports == 1_000


def test_an_unknown_policy_is_a_configuration_error_naming_the_setting() -> None:
    with pytest.raises(ValueError, match="SWAP_COSIGNER_POLICY"):
        VerifyPolicy(max_priority_fee_lamports=0, cosigners="maybe")  # type: ignore[arg-type]


@given(
    spend=st.integers(0, 10**12),
    extra=st.integers(-(10**9), 10**9),
    rent=st.integers(0, 10**8),
    price=st.integers(0, 10**6),
)
def test_simulated_outflow_is_refused_exactly_past_quote_fees_and_rent(
    spend: int, extra: int, rent: int, price: int
) -> None:
    policy = VerifyPolicy(
        max_priority_fee_lamports=10**12, cosigners="presigned", rent_allowance_lamports=rent
    )
    v = _verify(_buy(price=price), policy)
    limit = spend + 2 * LAMPORTS_PER_SIGNATURE + v.priority_fee_lamports + rent
    pre = 10**13
    post = pre - (limit + extra)
    if extra > 0:
        with pytest.raises(SwapVerificationError, match="simulation takes"):
            check_outflow(
                v, spend_lamports=spend, pre_lamports=pre, post_lamports=post, policy=policy
            )
    else:
        check_outflow(v, spend_lamports=spend, pre_lamports=pre, post_lamports=post, policy=policy)
