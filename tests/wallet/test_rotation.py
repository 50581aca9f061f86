"""Rotation on PostgreSQL: complete, resumable, safe next to trading, never overwriting."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from sniper_bot.storage import Repositories
from sniper_bot.wallet.crypto import Keyring, KeyringError, seal
from sniper_bot.wallet.rotation import rotate
from sniper_bot.wallet.service import WalletService

from .conftest import TestClock, build_service

OLD, NEW = secrets.token_hex(32), secrets.token_hex(32)


async def _populate(service: WalletService, users: int, per_user: int) -> list[int]:
    ids = []
    for tg in range(users):
        for _ in range(per_user):
            ids.append((await service.create_wallet(900_000 + tg)).id)
    return ids


async def _open_all(service: WalletService, repos: Repositories, telegram_ids: list[int]) -> int:
    opened = 0
    for tg in telegram_ids:
        user = await repos.users.get_by_telegram_id(tg)
        assert user is not None
        for wallet in await repos.wallets.list_for_user(user.id):
            signer = await service.signer(user.id, wallet.id)
            assert str(signer.pubkey) == wallet.public_key
            opened += 1
    return opened


async def test_rotation_under_concurrent_trading_loses_no_wallet(
    pg_repos: Repositories, clock: TestClock
) -> None:
    repos = pg_repos
    old_ring = Keyring.from_settings(OLD)
    await _populate(build_service(repos, old_ring, clock), users=4, per_user=5)
    both = Keyring.from_settings(NEW, OLD)
    # The bot restarted with the new secret first and the old one as previous; TTL 0 makes every
    # signature open its row afresh, the worst case for a rotation running alongside.
    bot = build_service(repos, both, clock, signer_ttl_s=0)
    progress: list[tuple[int, int]] = []
    stop = asyncio.Event()
    signed = 0

    async def trade() -> None:
        nonlocal signed
        while not stop.is_set():
            for tg in range(4):
                user = await repos.users.get_by_telegram_id(900_000 + tg)
                assert user is not None
                for wallet in await repos.wallets.list_for_user(user.id):
                    signer = await bot.signer(user.id, wallet.id)
                    assert signer.sign_message(b"swap").verify(signer.pubkey, b"swap")
                    signed += 1
            await asyncio.sleep(0)

    async def onboard() -> None:
        for i in range(3):
            await bot.create_wallet(900_100 + i)
            await asyncio.sleep(0)

    traders = [asyncio.create_task(trade())]
    newcomers = asyncio.create_task(onboard())
    report = await rotate(
        repos.wallets, both, batch=7, progress=lambda d, t: progress.append((d, t))
    )
    await newcomers
    stop.set()
    await asyncio.gather(*traders)

    assert report.complete, report.summary()
    assert report.rewrapped == 20
    assert report.skipped == 0
    assert progress[-1] == (20, 20)
    assert [d for d, _ in progress] == list(range(1, 21))
    assert signed > 0
    assert await repos.wallets.count_by_key_id() == {both.current_id: 23}
    # The previous secret can go: every wallet opens with the new one alone.
    after = build_service(repos, Keyring.from_settings(NEW), clock)
    telegram_ids = [900_000 + i for i in range(4)] + [900_100 + i for i in range(3)]
    assert await _open_all(after, repos, telegram_ids) == 23
    assert "previous secret can go" in report.summary()


async def test_an_interrupted_rotation_resumes_where_it_stopped(
    pg_repos: Repositories, clock: TestClock
) -> None:
    repos = pg_repos
    await _populate(build_service(repos, Keyring.from_settings(OLD), clock), users=2, per_user=5)
    both = Keyring.from_settings(NEW, OLD)

    class Crash(Exception):
        pass

    def crash_after_4(done: int, _total: int) -> None:
        if done == 4:
            raise Crash

    with pytest.raises(Crash):
        await rotate(repos.wallets, both, batch=3, progress=crash_after_4)
    counts = await repos.wallets.count_by_key_id()
    assert counts[both.current_id] == 4
    report = await rotate(repos.wallets, both, batch=3)
    assert report.rewrapped == 6
    assert report.complete
    again = await rotate(repos.wallets, both)
    assert again.rewrapped == 0
    assert again.complete


async def test_a_row_under_an_unknown_key_is_reported_and_the_rest_rotates(
    pg_repos: Repositories, clock: TestClock
) -> None:
    repos = pg_repos
    ids = await _populate(
        build_service(repos, Keyring.from_settings(OLD), clock), users=1, per_user=3
    )
    lost = Keyring.from_settings(secrets.token_hex(32))
    user = await repos.users.get_by_telegram_id(900_000)
    assert user is not None
    orphan = await repos.wallets.get(user.id, ids[1])
    assert orphan is not None
    # This row was sealed under a secret nobody kept.
    resealed = seal(lost, bytes(64), user_id=user.id, public_key=orphan.public_key)
    assert await repos.wallets.rewrap(orphan.id, orphan.sealed.key_id, resealed)
    both = Keyring.from_settings(NEW, OLD)
    report = await rotate(repos.wallets, both)
    assert report.rewrapped == 2
    assert report.failed_wallet_ids == (orphan.id,)
    assert report.remaining == {lost.current_id: 1}
    assert not report.complete
    assert "SESSION_MASTER_SECRET_PREVIOUS" in report.summary()
    with pytest.raises(KeyringError):
        await build_service(repos, both, clock).signer(user.id, orphan.id)


async def test_two_rotations_at_once_rewrap_each_row_exactly_once(
    pg_repos: Repositories, clock: TestClock
) -> None:
    """Two operators ran rotate-secret at the same time: the compare-and-set on the old key id
    lets exactly one write per row; the other counts it as skipped."""
    repos = pg_repos
    await _populate(build_service(repos, Keyring.from_settings(OLD), clock), users=2, per_user=6)
    both = Keyring.from_settings(NEW, OLD)
    first, second = await asyncio.gather(
        rotate(repos.wallets, both, batch=2), rotate(repos.wallets, both, batch=5)
    )
    assert first.rewrapped + second.rewrapped == 12
    assert first.complete
    assert second.complete
    after = build_service(repos, Keyring.from_settings(NEW), clock)
    assert await _open_all(after, repos, [900_000, 900_001]) == 12


async def test_batch_must_be_positive(repos: Repositories) -> None:
    with pytest.raises(ValueError, match="batch"):
        await rotate(repos.wallets, Keyring.from_settings(NEW), batch=0)
