"""Authorization matrix on PostgreSQL: user B reaches none of user A's wallets or orders.

B tries every id A's rows have, plus ids that do not exist, through every action; each attempt
fails exactly like a non-existent id (no oracle), and A's rows, active wallet and PIN counters
are unchanged afterwards. Admin status changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from sniper_bot.domain.entities import OrderKind
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.orders import OrderSide
from sniper_bot.errors import PermanentError
from sniper_bot.storage import Repositories
from sniper_bot.wallet.crypto import Keyring
from sniper_bot.wallet.service import WalletNotFoundError, WalletService

from .conftest import TestClock, build_service

ALICE, BOB = 111_000_001, 222_000_002
ALICE_PIN, BOB_PIN = "480213", "915372"


async def _order(repos: Repositories, user_id: int, wallet_id: int, key: str) -> str:
    order, _ = await repos.orders.create(
        user_id=user_id,
        wallet_id=wallet_id,
        kind=OrderKind.MANUAL,
        token_mint="MintA111111111111111111111111111111111111",
        side=OrderSide.BUY,
        amount=100_000_000,
        slippage_bps=100,
        priority_fee=FeeLevel.MEDIUM,
        idempotency_key=key,
    )
    return order.id


@pytest.mark.parametrize("bob_is_admin", [False, True], ids=["user", "admin"])
async def test_user_b_cannot_reach_user_a_by_any_id(
    pg_repos: Repositories, keyring: Keyring, clock: TestClock, bob_is_admin: bool
) -> None:
    repos = pg_repos
    admins = frozenset({BOB}) if bob_is_admin else frozenset()
    service: WalletService = build_service(repos, keyring, clock, admin_ids=admins)
    assert service.is_admin(BOB) is bob_is_admin
    a1 = await service.create_wallet(ALICE)
    a2 = await service.create_wallet(ALICE)
    b1 = await service.create_wallet(BOB)
    await service.set_pin(ALICE, ALICE_PIN)
    await service.set_pin(BOB, BOB_PIN)
    alice = await repos.users.get_by_telegram_id(ALICE)
    bob = await repos.users.get_by_telegram_id(BOB)
    assert alice is not None
    assert bob is not None
    alice_order = await _order(repos, alice.id, a1.id, "a-1")
    bob_order = await _order(repos, bob.id, b1.id, "b-1")
    before = await service.list_wallets(ALICE)

    missing = [b1.id + 1, b1.id + 2, 0, -1, 2**31 - 1]
    actions: dict[str, Callable[[int], Awaitable[object]]] = {
        "set_active": lambda wid: service.set_active(BOB, wid),
        "export": lambda wid: service.export_key(BOB, wid, BOB_PIN),
        "withdraw": lambda wid: service.unlock_for_withdrawal(BOB, wid, BOB_PIN),
        "delete": lambda wid: service.delete_wallet(BOB, wid, BOB_PIN),
        "sign": lambda wid: service.signer(bob.id, wid),
    }
    for name, action in actions.items():
        messages = set()
        for wallet_id in [a1.id, a2.id, *missing]:
            with pytest.raises(WalletNotFoundError) as info:
                await action(wallet_id)
            messages.add((type(info.value), info.value.user_message))
        assert len(messages) == 1, f"{name}: a foreign id is distinguishable from a missing one"

    # Bob's own wallet still works for Bob, and only Bob's wallets are listed for him.
    assert [w.id for w in await service.list_wallets(BOB)] == [b1.id]
    assert (await service.export_key(BOB, b1.id, BOB_PIN)).base58

    # Orders: reads and trades are scoped by the owner id too.
    assert await repos.orders.get(bob.id, alice_order) is None
    assert [o.id for o in await repos.orders.list_for_user(bob.id)] == [bob_order]
    with pytest.raises(PermanentError):
        await _order(repos, bob.id, a1.id, "b-on-a")

    # Alice is untouched: same wallets, same active one, no PIN failures charged to her.
    assert await service.list_wallets(ALICE) == before
    alice_after = await repos.users.get_by_telegram_id(ALICE)
    assert alice_after is not None
    assert alice_after.pin_failed_attempts == 0
    assert alice_after.pin_locked_until is None
    assert (await service.export_key(ALICE, a2.id, ALICE_PIN)).base58


async def test_an_unknown_telegram_user_has_nothing_and_creates_nothing_by_reading(
    pg_repos: Repositories, keyring: Keyring, clock: TestClock
) -> None:
    service = build_service(pg_repos, keyring, clock)
    a1 = await service.create_wallet(ALICE)
    stranger = 333_000_003
    assert await service.list_wallets(stranger) == []
    assert not await service.has_pin(stranger)
    with pytest.raises(PermanentError):
        await service.export_key(stranger, a1.id, ALICE_PIN)
    assert await pg_repos.users.get_by_telegram_id(stranger) is None
