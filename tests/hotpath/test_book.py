"""``ArmedBook``: matching by mint, creator and filter, expiry at match time, removal, bounds, and
``rebuild`` from the real snipe repository (SQLite) keeping prepared state and concurrent arms."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.launch import LaunchFilter, SnipeStatus, SnipeTarget
from sniper_bot.domain.wallets import SealedSecret
from sniper_bot.hotpath.book import ArmedBook, BookFull
from sniper_bot.storage import Database, Repositories

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def addr(tag: str) -> str:
    return (tag + "1" * 44)[:44]


MINT = addr("Mint")
MINT_2 = addr("MintB")
DEV = addr("Dev")


class Clock:
    def __init__(self) -> None:
        self.now = NOW.timestamp()

    def __call__(self) -> float:
        return self.now


def target(
    target_id: int,
    *,
    user_id: int = 1,
    mint: str = "",
    creator: str | None = None,
    launch_filter: LaunchFilter | None = None,
    ttl_s: float = 60,
    status: SnipeStatus = SnipeStatus.ARMED,
) -> SnipeTarget:
    return SnipeTarget(
        id=target_id,
        user_id=user_id,
        wallet_id=user_id,
        token_mint=mint,
        amount_lamports=10_000_000,
        slippage_bps=500,
        priority_fee=FeeLevel.HIGH,
        status=status,
        created_at=NOW,
        expires_at=NOW + timedelta(seconds=ttl_s),
        creator=creator,
        launch_filter=launch_filter,
    )


def ids(entries: list[object]) -> list[int]:
    return [e.target.id for e in entries]  # type: ignore[attr-defined]


def test_match_by_mint_creator_and_filter_in_arming_order() -> None:
    book: ArmedBook[str] = ArmedBook(clock=Clock())
    book.add(target(4, mint=MINT), "prep-4")
    book.add(target(2, creator=DEV))
    book.add(target(3, launch_filter=LaunchFilter(name_contains=("pepe",))))
    book.add(target(1, launch_filter=LaunchFilter(symbol_contains=("DOG",), sources=("pumpfun",))))
    book.add(target(5, mint=MINT_2))

    hit = book.match(MINT, DEV, "Pepe Classic", "PDOG", "pumpfun")
    assert ids(hit) == [1, 2, 3, 4]
    assert hit[3].prepared == "prep-4"
    assert ids(book.match(MINT_2, None, None, None, "raydium_v4")) == [5]
    assert ids(book.match(addr("Zzz"), DEV, None, None, "pumpfun")) == [2]
    # A creator target fires on pump.fun creates only, not on an AMM pool the wallet seeded.
    assert book.match(addr("Zzz"), DEV, None, None, "raydium_cpmm") == []
    # The filter's source clause and unknown names.
    assert book.match(addr("Zzz"), None, "x", "DOGE", "raydium_v4") == []
    assert ids(book.match(addr("Zzz"), None, None, "dogwif", "pumpfun")) == [1]
    assert book.match(addr("Zzz"), addr("Qqq"), None, None, "pumpfun") == []


def test_expiry_is_honoured_at_match_time_and_purge_drops_the_expired() -> None:
    clock = Clock()
    book: ArmedBook[None] = ArmedBook(clock=clock)
    book.add(target(1, mint=MINT, ttl_s=10))
    book.add(target(2, mint=MINT, ttl_s=100))
    book.add(target(3, creator=DEV, ttl_s=10))
    book.add(target(4, launch_filter=LaunchFilter(sources=("pumpfun",)), ttl_s=10))
    assert ids(book.match(MINT, DEV, None, None, "pumpfun")) == [1, 2, 3, 4]
    clock.now += 10  # expires_at is exclusive: at the instant itself the target is gone
    assert ids(book.match(MINT, DEV, None, None, "pumpfun")) == [2]
    assert len(book) == 4
    assert ids(book.purge_expired()) == [1, 3, 4]
    assert len(book) == 1
    assert ids(book.match(MINT, DEV, None, None, "pumpfun")) == [2]


def test_remove_unindexes_every_selector_and_frees_the_user_slot() -> None:
    book: ArmedBook[None] = ArmedBook(max_per_user=3, clock=Clock())
    for t in (
        target(1, mint=MINT),
        target(2, creator=DEV),
        target(3, launch_filter=LaunchFilter(name_contains=("a",))),
    ):
        book.add(t)
    with pytest.raises(BookFull):
        book.check_capacity(1)
    assert ids([book.remove(1), book.remove(2), book.remove(3)]) == [1, 2, 3]  # type: ignore[list-item]
    assert book.remove(3) is None
    assert book.match(MINT, DEV, "a", "a", "pumpfun") == []
    assert len(book) == 0
    assert book.count_for_user(1) == 0
    assert (book._by_mint, book._by_creator, book._filters) == ({}, {}, {})
    book.check_capacity(1)


def test_bounds_per_user_and_in_total_give_clear_errors() -> None:
    book: ArmedBook[None] = ArmedBook(max_per_user=2, max_total=3, clock=Clock())
    book.add(target(1, user_id=1, mint=MINT))
    book.add(target(2, user_id=1, mint=MINT_2))
    with pytest.raises(BookFull, match=r"user 1 has 2 armed snipes; .* at most 2 per user") as full:
        book.add(target(3, user_id=1, creator=DEV))
    assert "cancel one first" in full.value.user_message
    book.add(target(4, user_id=2, creator=DEV))
    with pytest.raises(BookFull, match=r"the armed book is full \(3 targets, at most 3\)"):
        book.add(target(5, user_id=3, creator=DEV))
    book.add(replace(target(1, user_id=1, mint=MINT), amount_lamports=1))  # a replacement fits
    assert len(book) == 3
    with pytest.raises(ValueError, match="bounds must be positive"):
        ArmedBook(max_per_user=0)


def test_only_armed_targets_enter_and_a_replacement_keeps_prepared_state() -> None:
    book: ArmedBook[str] = ArmedBook(clock=Clock())
    with pytest.raises(ValueError, match="only ARMED targets"):
        book.add(target(1, mint=MINT, status=SnipeStatus.FIRED))
    book.add(target(1, mint=MINT), "p1")
    assert book.add(target(1, mint=MINT)).prepared == "p1"  # same target: kept
    changed = replace(target(1, mint=MINT), nonce_value=addr("Hash"))
    assert book.add(changed).prepared is None  # changed (new nonce): prepare again
    assert book.set_prepared(1, "p2")
    assert not book.set_prepared(9, "p9")
    moved = replace(target(1, mint=MINT), token_mint=MINT_2)
    book.add(moved)
    assert book.match(MINT, None, None, None, "pumpfun") == []
    assert ids(book.match(MINT_2, None, None, None, "pumpfun")) == [1]


# -- rebuild from the database (the real repository) ---------------------------------------------


@pytest.fixture
async def repos(tmp_path: Path) -> AsyncIterator[Repositories]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'book.sqlite'}")
    await db.connect(attempts=1)
    await db.upgrade()
    yield Repositories.build(db, lambda: NOW)
    await db.dispose()


async def owner(repos: Repositories, telegram_id: int) -> tuple[int, int]:
    user = await repos.users.get_or_create(telegram_id, f"u{telegram_id}")
    wallet = await repos.wallets.create(
        user.id, f"Pk{telegram_id}", SealedSecret("k1", b"s" * 16, b"n" * 12, b"c" * 80), "w"
    )
    return user.id, wallet.id


async def arm(repos: Repositories, user_id: int, wallet_id: int, **selector: object) -> SnipeTarget:
    return await repos.snipes.arm(  # type: ignore[arg-type]
        user_id=user_id, wallet_id=wallet_id, amount_lamports=5, slippage_bps=100,
        priority_fee=FeeLevel.LOW, expires_at=NOW + timedelta(minutes=5), **selector,
    )  # fmt: skip


async def test_rebuild_mirrors_the_database_and_keeps_prepared_state(repos: Repositories) -> None:
    user, wallet = await owner(repos, 1)
    a = await arm(repos, user, wallet, token_mint=MINT)
    b = await arm(repos, user, wallet, creator=DEV)
    c = await arm(repos, user, wallet, launch_filter=LaunchFilter(name_contains=("moon",)))
    book: ArmedBook[str] = ArmedBook(clock=Clock())
    first = await book.rebuild(repos.snipes)
    assert sorted(ids(first.added)) == [a.id, b.id, c.id]
    for entry in first.added:
        book.set_prepared(entry.target.id, f"prep-{entry.target.id}")

    await repos.snipes.cancel(user, a.id)  # meanwhile, on other replicas or while Redis was down
    await repos.snipes.mark_fired(b.id, mint=MINT_2)
    d = await arm(repos, user, wallet, token_mint=MINT_2)
    second = await book.rebuild(repos.snipes)
    assert ids(second.added) == [d.id]
    assert sorted(ids(second.removed)) == [a.id, b.id]
    assert second.kept == 1
    assert book.get(c.id).prepared == f"prep-{c.id}"  # type: ignore[union-attr]
    assert ids(book.match(MINT_2, DEV, "To the MOON", None, "pumpfun")) == [c.id, d.id]


async def test_arms_and_removals_during_the_database_read_survive_the_rebuild(
    repos: Repositories,
) -> None:
    user, wallet = await owner(repos, 1)
    old = await arm(repos, user, wallet, token_mint=MINT)
    gone = await arm(repos, user, wallet, creator=DEV)
    reading, release = asyncio.Event(), asyncio.Event()

    class SlowRead:  # the real repository, with the read held open
        async def list_armed(
            self, now: datetime | None = None, limit: int | None = None
        ) -> list[SnipeTarget]:
            rows = await repos.snipes.list_armed(now, limit)
            reading.set()
            await release.wait()
            return rows

    book: ArmedBook[None] = ArmedBook(clock=Clock())
    rebuild = asyncio.create_task(book.rebuild(SlowRead()))
    await reading.wait()
    fresh = await arm(repos, user, wallet, token_mint=MINT_2)  # armed after the read
    book.add(fresh)
    book.remove(gone.id)  # cancelled by an event after the read
    with pytest.raises(RuntimeError, match="already running"):
        await book.rebuild(repos.snipes)
    release.set()
    await rebuild
    assert sorted(e.target.id for e in book.entries()) == [old.id, fresh.id]


async def test_rebuild_over_the_bounds_keeps_the_oldest_and_reports_the_rest(
    repos: Repositories,
) -> None:
    user, wallet = await owner(repos, 1)
    armed = [await arm(repos, user, wallet, token_mint=addr(f"M{i + 2}")) for i in range(4)]
    book: ArmedBook[None] = ArmedBook(max_per_user=3, clock=Clock())
    result = await book.rebuild(repos.snipes)
    assert ids(result.added) == [t.id for t in armed[:3]]
    assert [t.id for t in result.dropped] == [armed[3].id]
    assert len(book) == 3
