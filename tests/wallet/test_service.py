"""WalletService on real storage (SQLite and PostgreSQL): wallets, PIN, export, signer sessions."""

from __future__ import annotations

import base58
import pytest
from solders.keypair import Keypair

from sniper_bot.observability.metrics import Metrics
from sniper_bot.storage import Repositories
from sniper_bot.wallet.crypto import UnsealError
from sniper_bot.wallet.keys import KeyImportError, parse_secret_key
from sniper_bot.wallet.pin import PinLockedError, PinPolicyError, WrongPinError
from sniper_bot.wallet.pingate import PinNotSetError
from sniper_bot.wallet.service import (
    MAX_WALLETS_PER_USER,
    DuplicateWalletError,
    NoWalletError,
    WalletLimitError,
    WalletService,
)

from .conftest import SIGNER_TTL_S, TestClock

ALICE = 5001
PIN = "480213"


def unlocks(metrics: Metrics, outcome: str) -> float:
    value = metrics.registry.get_sample_value("wallet_unlocks_total", {"outcome": outcome})
    return value or 0.0


async def test_created_wallet_shows_its_public_key_and_becomes_active(
    service: WalletService,
) -> None:
    first = await service.create_wallet(ALICE, label="main", username="alice")
    second = await service.create_wallet(ALICE)
    assert Keypair().pubkey().__class__.from_string(first.public_key)
    wallets = await service.list_wallets(ALICE)
    assert [w.id for w in wallets] == [first.id, second.id]
    assert [w.is_active for w in wallets] == [False, True]
    assert [w.label for w in wallets] == ["main", "Wallet 2"]
    assert (await service.active_wallet(ALICE)).id == second.id
    assert (await service.set_active(ALICE, first.id)).is_active
    assert (await service.active_wallet(ALICE)).id == first.id
    assert not hasattr(first, "sealed")


async def test_import_both_formats_and_refuse_duplicates(service: WalletService) -> None:
    kp = Keypair()
    view = await service.import_wallet(ALICE, base58.b58encode(bytes(kp)).decode())
    assert view.public_key == str(kp.pubkey())
    with pytest.raises(DuplicateWalletError):
        await service.import_wallet(ALICE, str(list(bytes(kp))))
    other = Keypair()
    assert (await service.import_wallet(ALICE, str(list(bytes(other))))).public_key == str(
        other.pubkey()
    )
    with pytest.raises(KeyImportError):
        await service.import_wallet(ALICE, "not a key")


async def test_wallet_limit(service: WalletService) -> None:
    for _ in range(MAX_WALLETS_PER_USER):
        await service.create_wallet(ALICE)
    with pytest.raises(WalletLimitError):
        await service.create_wallet(ALICE)


async def test_a_user_without_wallets_is_told_how_to_get_one(service: WalletService) -> None:
    assert await service.list_wallets(ALICE) == []
    with pytest.raises(NoWalletError, match="/wallet"):
        await service.active_wallet(ALICE)


async def test_signer_signs_for_the_stored_public_key_and_is_held_for_the_ttl(
    service: WalletService, repos: Repositories, clock: TestClock, metrics: Metrics
) -> None:
    view = await service.create_wallet(ALICE)
    user = await repos.users.get_by_telegram_id(ALICE)
    assert user is not None
    signer = await service.signer(user.id)
    assert str(signer.pubkey) == view.public_key
    assert signer.sign_message(b"hello").verify(signer.pubkey, b"hello")
    assert await service.signer(user.id, view.id) is signer
    assert unlocks(metrics, "ok") == 1
    assert unlocks(metrics, "cached") == 1
    clock.advance(SIGNER_TTL_S + 1)
    again = await service.signer(user.id, view.id)
    assert again is not signer
    assert again.pubkey == signer.pubkey
    assert unlocks(metrics, "ok") == 2


async def test_export_needs_a_pin_and_returns_the_importable_secret(
    service: WalletService,
) -> None:
    view = await service.create_wallet(ALICE)
    with pytest.raises(PinNotSetError):
        await service.export_key(ALICE, view.id, PIN)
    with pytest.raises(PinPolicyError):
        await service.set_pin(ALICE, "1234")
    await service.set_pin(ALICE, PIN)
    with pytest.raises(WrongPinError, match="4 attempt"):
        await service.export_key(ALICE, view.id, "999999")
    exported = await service.export_key(ALICE, view.id, PIN)
    assert str(parse_secret_key(exported.base58).pubkey()) == view.public_key
    assert str(parse_secret_key(exported.json_array).pubkey()) == view.public_key


async def test_wrong_pins_lock_out_even_the_right_pin_until_the_lock_ends(
    service: WalletService, repos: Repositories, clock: TestClock
) -> None:
    view = await service.create_wallet(ALICE)
    await service.set_pin(ALICE, PIN)
    for left in (4, 3, 2, 1):
        with pytest.raises(WrongPinError) as info:
            await service.export_key(ALICE, view.id, "000001")
        assert info.value.attempts_left == left
    with pytest.raises(WrongPinError, match="now locked"):
        await service.export_key(ALICE, view.id, "000001")
    with pytest.raises(PinLockedError, match="15 more minute"):
        await service.export_key(ALICE, view.id, PIN)
    with pytest.raises(PinLockedError):
        await service.unlock_for_withdrawal(ALICE, None, PIN)
    clock.advance(15 * 60 - 1)
    with pytest.raises(PinLockedError):
        await service.export_key(ALICE, view.id, PIN)
    clock.advance(1)
    await service.export_key(ALICE, view.id, PIN)
    user = await repos.users.get_by_telegram_id(ALICE)
    assert user is not None
    assert user.pin_failed_attempts == 0
    assert user.pin_locked_until is None


async def test_a_wrong_pin_after_a_lock_locks_twice_as_long(
    service: WalletService, clock: TestClock
) -> None:
    view = await service.create_wallet(ALICE)
    await service.set_pin(ALICE, PIN)
    for _ in range(5):
        with pytest.raises(WrongPinError):
            await service.export_key(ALICE, view.id, "000001")
    clock.advance(15 * 60)
    with pytest.raises(WrongPinError):
        await service.export_key(ALICE, view.id, "000001")
    with pytest.raises(PinLockedError, match="30 more minute"):
        await service.export_key(ALICE, view.id, PIN)


async def test_changing_the_pin_needs_the_current_one(service: WalletService) -> None:
    view = await service.create_wallet(ALICE)
    await service.set_pin(ALICE, PIN)
    with pytest.raises(WrongPinError):
        await service.set_pin(ALICE, "731902")
    with pytest.raises(WrongPinError):
        await service.set_pin(ALICE, "731902", current_pin="000001")
    await service.set_pin(ALICE, "731902", current_pin=PIN)
    with pytest.raises(WrongPinError):
        await service.export_key(ALICE, view.id, PIN)
    await service.export_key(ALICE, view.id, "731902")


async def test_delete_needs_the_pin_and_drops_the_held_signer(
    service: WalletService, repos: Repositories
) -> None:
    view = await service.create_wallet(ALICE)
    await service.set_pin(ALICE, PIN)
    signer = await service.unlock_for_withdrawal(ALICE, view.id, PIN)
    assert str(signer.pubkey) == view.public_key
    with pytest.raises(WrongPinError):
        await service.delete_wallet(ALICE, view.id, "000001")
    await service.delete_wallet(ALICE, view.id, PIN)
    assert await service.list_wallets(ALICE) == []
    user = await repos.users.get_by_telegram_id(ALICE)
    assert user is not None
    with pytest.raises(NoWalletError):
        await service.signer(user.id)


async def test_a_row_swapped_with_another_wallets_ciphertext_refuses_to_open(
    service: WalletService, repos: Repositories, metrics: Metrics
) -> None:
    """An attacker with write access to the table copies their sealed secret onto a victim row."""
    await service.create_wallet(ALICE)
    victim = await service.create_wallet(6001)
    attacker = await repos.users.get_by_telegram_id(ALICE)
    victim_user = await repos.users.get_by_telegram_id(6001)
    assert attacker is not None
    assert victim_user is not None
    attacker_wallet = await repos.wallets.get_active(attacker.id)
    assert attacker_wallet is not None
    moved = await repos.wallets.rewrap(
        victim.id, attacker_wallet.sealed.key_id, attacker_wallet.sealed
    )
    assert moved
    with pytest.raises(UnsealError):
        await service.signer(victim_user.id, victim.id)
    assert unlocks(metrics, "failed") == 1
