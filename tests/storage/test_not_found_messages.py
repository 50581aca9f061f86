"""A ``NotFound`` a user can trigger tells them a sentence, never our internal ids; the ids stay
on the exception (``ids``) and in its developer message for the logs."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from sniper_bot.domain.fees import FeeLevel
from sniper_bot.storage import NotFound, Repositories

from .conftest import ORDER_DEFAULTS, make_user, make_wallet


def _no_ids(sentence: str, *ids: int) -> None:
    numbers = set(re.findall(r"\d+", sentence))
    assert not numbers & {str(i) for i in ids}, sentence


async def test_another_users_wallet_is_a_sentence_without_ids(repos: Repositories) -> None:
    alice, bob = await make_user(repos, 4101), await make_user(repos, 4102)
    bobs = await make_wallet(repos, bob)

    with pytest.raises(NotFound) as raised:
        await repos.wallets.set_active(alice.id, bobs.id)

    _no_ids(raised.value.user_message, alice.id, bobs.id)
    assert raised.value.user_message == "No such wallet. Use /wallet to see yours."
    assert raised.value.ids == {"wallet_id": bobs.id, "user_id": alice.id}


async def test_an_order_on_another_users_wallet_is_a_sentence_without_ids(
    repos: Repositories,
) -> None:
    alice, bob = await make_user(repos, 4103), await make_user(repos, 4104)
    bobs = await make_wallet(repos, bob)

    with pytest.raises(NotFound) as raised:
        await repos.orders.create(
            user_id=alice.id,
            wallet_id=bobs.id,
            idempotency_key="k",
            **ORDER_DEFAULTS,
        )

    _no_ids(raised.value.user_message, alice.id, bobs.id)
    assert raised.value.ids == {"wallet_id": bobs.id, "user_id": alice.id}


async def test_the_snipe_of_another_user_is_a_sentence_without_ids(
    repos: Repositories, db: object
) -> None:
    from sniper_bot.storage.repositories.snipes import SnipeTargetRepository

    alice, bob = await make_user(repos, 4105), await make_user(repos, 4106)
    bobs = await make_wallet(repos, bob)
    snipes = SnipeTargetRepository(db)  # type: ignore[arg-type]
    target = await snipes.arm(
        user_id=bob.id,
        wallet_id=bobs.id,
        token_mint="MintA111111111111111111111111111111111111",
        amount_lamports=1_000,
        slippage_bps=100,
        priority_fee=FeeLevel.LOW,
        expires_at=repos.users._now() + timedelta(hours=1),
    )

    with pytest.raises(NotFound) as raised:
        await snipes.cancel(alice.id, target.id)
    _no_ids(raised.value.user_message, alice.id, target.id)
    assert raised.value.ids == {"snipe_id": target.id, "user_id": alice.id}

    with pytest.raises(NotFound) as raised:
        await snipes.arm(
            user_id=alice.id,
            wallet_id=bobs.id,
            token_mint="MintA111111111111111111111111111111111111",
            amount_lamports=1_000,
            slippage_bps=100,
            priority_fee=FeeLevel.LOW,
            expires_at=repos.users._now() + timedelta(hours=1),
        )
    _no_ids(raised.value.user_message, alice.id, bobs.id)
