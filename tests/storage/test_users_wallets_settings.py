"""Contract: users, wallets and settings behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from sniper_bot.domain.entities import DEFAULT_BUY_PRESETS_LAMPORTS, UserSettings
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.storage import DuplicateWallet, InvalidSetting, NotFound, Repositories
from sniper_bot.storage.repositories.settings import validate_settings_change

from .conftest import ORDER_DEFAULTS, START, make_user, make_wallet, sealed


async def test_get_or_create_returns_the_same_user_and_tracks_username(
    repos: Repositories,
) -> None:
    first = await repos.users.get_or_create(42, "alice")
    again = await repos.users.get_or_create(42, "alice2")
    assert again.id == first.id
    assert again.username == "alice2"
    assert (await repos.users.get_by_telegram_id(42)) == again
    assert await repos.users.get_by_telegram_id(43) is None
    assert first.created_at.tzinfo is not None
    assert not first.is_admin
    assert not first.has_pin


async def test_concurrent_first_messages_create_one_user(repos: Repositories) -> None:
    users = await asyncio.gather(*(repos.users.get_or_create(7, "bob") for _ in range(8)))
    assert len({u.id for u in users}) == 1


async def test_telegram_ids_beyond_32_bits_are_stored(repos: Repositories) -> None:
    big = 2**40 + 5
    user = await repos.users.get_or_create(big, None)
    assert (await repos.users.get_by_telegram_id(big)) == user


async def test_pin_failures_count_lock_and_reset(repos: Repositories) -> None:
    user = await make_user(repos)
    await repos.users.set_pin(user.id, "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA")
    assert (await repos.users.record_pin_failure(user.id, None)) == 1
    lock = START + timedelta(minutes=15)
    assert (await repos.users.record_pin_failure(user.id, lock)) == 2
    locked = await repos.users.get(user.id)
    assert locked is not None
    assert locked.pin_failed_attempts == 2
    assert locked.pin_locked_until == lock
    assert locked.has_pin
    assert "argon2" not in repr(locked)
    await repos.users.reset_pin_failures(user.id)
    reset = await repos.users.get(user.id)
    assert reset is not None
    assert (reset.pin_failed_attempts, reset.pin_locked_until) == (0, None)
    with pytest.raises(NotFound):
        await repos.users.record_pin_failure(999_999, None)


async def test_concurrent_pin_failures_are_all_counted(repos: Repositories) -> None:
    user = await make_user(repos)
    counts = await asyncio.gather(
        *(repos.users.record_pin_failure(user.id, None) for _ in range(6))
    )
    assert sorted(counts) == [1, 2, 3, 4, 5, 6]


async def test_new_active_wallet_replaces_the_previous_active_one(repos: Repositories) -> None:
    user = await make_user(repos)
    first = await make_wallet(repos, user, "PkFirst")
    second = await make_wallet(repos, user, "PkSecond")
    wallets = await repos.wallets.list_for_user(user.id)
    assert [(w.public_key, w.is_active) for w in wallets] == [
        ("PkFirst", False),
        ("PkSecond", True),
    ]
    assert (await repos.wallets.get_active(user.id)) == second
    back = await repos.wallets.set_active(user.id, first.id)
    assert back.is_active
    active = await repos.wallets.get_active(user.id)
    assert active is not None
    assert active.id == first.id
    assert active.sealed == sealed()


async def test_concurrent_activation_keeps_exactly_one_active_wallet(
    repos: Repositories,
) -> None:
    user = await make_user(repos)
    wallets = [await make_wallet(repos, user, f"Pk{i}") for i in range(4)]
    await asyncio.gather(*(repos.wallets.set_active(user.id, w.id) for w in wallets))
    listed = await repos.wallets.list_for_user(user.id)
    assert sum(w.is_active for w in listed) == 1


async def test_a_public_key_is_stored_once(repos: Repositories) -> None:
    alice = await make_user(repos, 1)
    bob = await make_user(repos, 2)
    await make_wallet(repos, alice, "PkShared")
    with pytest.raises(DuplicateWallet):
        await make_wallet(repos, bob, "PkShared")
    assert await repos.wallets.list_for_user(bob.id) == []


async def test_wallets_of_another_user_are_invisible(repos: Repositories) -> None:
    alice = await make_user(repos, 1)
    mallory = await make_user(repos, 2)
    wallet = await make_wallet(repos, alice)
    assert await repos.wallets.get(mallory.id, wallet.id) is None
    with pytest.raises(NotFound):
        await repos.wallets.set_active(mallory.id, wallet.id)
    assert await repos.wallets.delete(mallory.id, wallet.id) is False
    assert await repos.wallets.get(alice.id, wallet.id) == wallet
    assert await repos.wallets.delete(alice.id, wallet.id) is True
    assert await repos.wallets.get(alice.id, wallet.id) is None


async def test_rotation_lists_rewraps_with_compare_and_set_and_counts(
    repos: Repositories,
) -> None:
    user = await make_user(repos)
    wallets = [await make_wallet(repos, user, f"Pk{i}") for i in range(5)]
    page1 = await repos.wallets.list_not_under_key("k2", limit=2)
    page2 = await repos.wallets.list_not_under_key("k2", limit=10, after_id=page1[-1].id)
    assert [w.id for w in page1 + page2] == [w.id for w in wallets]
    new = sealed("k2", b"\x02")
    assert await repos.wallets.rewrap(wallets[0].id, "k1", new) is True
    assert await repos.wallets.rewrap(wallets[0].id, "k1", new) is False  # already moved
    stored = await repos.wallets.get(user.id, wallets[0].id)
    assert stored is not None
    assert stored.sealed == new
    assert await repos.wallets.count_by_key_id() == {"k1": 4, "k2": 1}
    assert len(await repos.wallets.list_not_under_key("k2", limit=10)) == 4


async def test_deleting_a_user_cascades_to_everything_they_own(repos: Repositories) -> None:
    user = await make_user(repos)
    wallet = await make_wallet(repos, user)
    await repos.settings.update(user.id, slippage_bps=300)
    order, _ = await repos.orders.create(
        user_id=user.id, wallet_id=wallet.id, idempotency_key="k", **ORDER_DEFAULTS
    )
    await repos.sessions.set("s1", user.id, {"a": 1}, ttl_s=60)
    assert await repos.users.delete(user.id) is True
    assert await repos.wallets.list_for_user(user.id) == []
    assert await repos.orders.get_by_id(order.id) is None
    assert await repos.sessions.get("s1") is None
    assert await repos.settings.get(user.id) == UserSettings(user_id=user.id)
    assert await repos.users.delete(user.id) is False


async def test_settings_default_until_changed_then_persist(repos: Repositories) -> None:
    user = await make_user(repos)
    defaults = await repos.settings.get(user.id)
    assert defaults.slippage_bps == 100
    assert defaults.snipe_slippage_bps == 1500
    assert defaults.priority_fee_level is FeeLevel.MEDIUM
    assert defaults.buy_presets_lamports == DEFAULT_BUY_PRESETS_LAMPORTS
    assert defaults.confirm_trades is False  # off until the user turns it on (0015)
    assert (defaults.notify_fills, defaults.notify_exits) == (True, True)
    assert (defaults.notify_snipe_misses, defaults.notify_copies) == (True, True)
    updated = await repos.settings.update(
        user.id, slippage_bps=300, priority_fee_level="HIGH", buy_presets_lamports=[10, 20]
    )
    assert updated == await repos.settings.get(user.id)
    assert updated.priority_fee_level is FeeLevel.HIGH
    assert updated.buy_presets_lamports == (10, 20)
    again = await repos.settings.update(user.id, confirm_trades=True, notify_fills=False)
    assert (again.slippage_bps, again.confirm_trades, again.notify_fills) == (300, True, False)


async def test_trade_settings_default_off_then_persist_and_go_back_to_auto(
    repos: Repositories,
) -> None:
    user = await make_user(repos)
    defaults = await repos.settings.get(user.id)
    assert (defaults.mev_protection, defaults.force_jupiter) == (False, False)
    assert (defaults.jito_tip_lamports, defaults.tip_percentile) == (None, None)
    await repos.settings.update(user.id, slippage_bps=250)  # a row without the new fields set
    saved = await repos.settings.get(user.id)
    assert (saved.mev_protection, saved.force_jupiter, saved.jito_tip_lamports) == (
        False,
        False,
        None,
    )
    updated = await repos.settings.update(
        user.id,
        mev_protection=True,
        force_jupiter=True,
        jito_tip_lamports=1_000_000_000,
        tip_percentile=99,
    )
    assert updated == await repos.settings.get(user.id)
    read = await repos.settings.get(user.id)
    assert (read.mev_protection, read.force_jupiter) == (True, True)
    assert (read.jito_tip_lamports, read.tip_percentile, read.slippage_bps) == (10**9, 99, 250)
    back = await repos.settings.update(user.id, jito_tip_lamports=None, force_jupiter=False)
    assert back == await repos.settings.get(user.id)
    assert (back.jito_tip_lamports, back.tip_percentile, back.force_jupiter) == (None, 99, False)
    assert back.mev_protection is True


INVALID_CHANGES: list[dict[str, object]] = [
    {"slippage_bps": 0},
    {"slippage_bps": 5001},
    {"slippage_bps": "300"},
    {"slippage_bps": True},
    {"priority_fee_level": "WARP"},
    {"buy_presets_lamports": []},
    {"buy_presets_lamports": [1, -2]},
    {"buy_presets_lamports": "100"},
    {"buy_presets_lamports": list(range(1, 9))},
    {"max_priority_fee_lamports": -1},
    {"confirm_trades": "yes"},
    {"mev_protection": 1},
    {"force_jupiter": "true"},
    {"jito_tip_lamports": 0},
    {"jito_tip_lamports": 999},
    {"jito_tip_lamports": -5_000},
    {"jito_tip_lamports": 1_000_000_001},
    {"jito_tip_lamports": 0.001},
    {"jito_tip_lamports": True},
    {"tip_percentile": 90},
    {"tip_percentile": 0},
    {"tip_percentile": True},
    {"tip_percentile": "95"},
    {"updated_at": None},
    {"colour": "blue"},
]


@pytest.mark.parametrize("change", INVALID_CHANGES)
def test_invalid_setting_changes_are_rejected_with_a_user_message(
    change: dict[str, object],
) -> None:
    [(name, value)] = change.items()
    with pytest.raises(InvalidSetting) as info:
        validate_settings_change(name, value)
    assert info.value.user_message


async def test_a_rejected_update_changes_nothing(repos: Repositories) -> None:
    user = await make_user(repos)
    for change in INVALID_CHANGES:
        with pytest.raises(InvalidSetting):
            await repos.settings.update(user.id, **{"confirm_trades": False, **change})
    assert await repos.settings.get(user.id) == UserSettings(user_id=user.id)


async def test_settings_for_an_unknown_user_are_not_found(repos: Repositories) -> None:
    with pytest.raises(NotFound):
        await repos.settings.update(424242, slippage_bps=200)


async def test_get_many_reads_every_owners_settings_with_defaults_for_missing_rows(
    repos: Repositories,
) -> None:
    a, b, c = [await make_user(repos, n) for n in (501, 502, 503)]
    await repos.settings.update(a.id, take_profit_pct=50)
    await repos.settings.update(b.id, stop_loss_pct=20, slippage_bps=300)
    many = await repos.settings.get_many([c.id, a.id, b.id, a.id, 999_999])
    assert sorted(many) == sorted([a.id, b.id, c.id, 999_999])
    for uid in (a.id, b.id, c.id, 999_999):  # the same as one get() per user
        assert many[uid] == await repos.settings.get(uid)
    assert (many[a.id].take_profit_pct, many[b.id].stop_loss_pct) == (50, 20)
    assert many[c.id] == UserSettings(user_id=c.id)
    assert await repos.settings.get_many([]) == {}
