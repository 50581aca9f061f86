"""CopyRepository on SQLite and PostgreSQL: follows scoped by user, one claim per leader trade
(also when claims race), the day's spend counts PLACED buys only."""

from __future__ import annotations

import asyncio

import pytest

from sniper_bot.domain.copy import CopyDecision, CopyFollow, CopyMode, CopyStatus
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.storage import Database, NotFound, Repositories
from sniper_bot.storage.repositories.copy import NO_SUCH_FOLLOW_SENTENCE, CopyRepository, day_of

from .conftest import StepClock, make_user, make_wallet

LEADER = "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU"


async def follow(
    copies: CopyRepository, repos: Repositories, telegram_id: int = 1001
) -> CopyFollow:
    user = await make_user(repos, telegram_id)
    wallet = await make_wallet(repos, user)
    return await copies.create(
        user_id=user.id, wallet_id=wallet.id, leader=LEADER, mode=CopyMode.FIXED,
        size_value=50_000_000, slippage_bps=500, priority_fee=FeeLevel.MEDIUM,
        max_per_day=120_000_000, sell_with_leader=True,
    )  # fmt: skip


async def test_follows_are_listed_and_removed_by_their_owner_only(
    db: Database, repos: Repositories, clock: StepClock
) -> None:
    copies = CopyRepository(db, clock)
    mine = await follow(copies, repos)
    assert mine.status is CopyStatus.ACTIVE
    assert mine.sell_with_leader
    other = await make_user(repos, 2002)
    assert [f.id for f in await copies.list_for_user(mine.user_id)] == [mine.id]
    with pytest.raises(NotFound) as refused:
        await copies.remove(other.id, mine.id)
    assert refused.value.user_message == NO_SUCH_FOLLOW_SENTENCE
    removed = await copies.remove(mine.user_id, mine.id)
    assert removed.status is CopyStatus.REMOVED
    assert await copies.list_for_user(mine.user_id) == []
    assert await copies.list_active() == []
    with pytest.raises(NotFound):
        await copies.remove(mine.user_id, mine.id)


async def test_a_leader_trade_is_claimed_once_and_the_day_counts_placed_buys(
    db: Database, repos: Repositories, clock: StepClock
) -> None:
    copies = CopyRepository(db, clock)
    f = await follow(copies, repos)
    fid = f.id
    seen: list[int] = []

    def decide(spent: int) -> CopyDecision:
        seen.append(spent)
        return (
            CopyDecision(0, "day limit")
            if spent + 50_000_000 > 120_000_000
            else (CopyDecision(50_000_000))
        )

    first, created = await copies.claim_buy(fid, "sig-a", "MINT", decide)
    assert created
    assert (first.status, first.lamports) == ("PLACED", 50_000_000)
    again, created = await copies.claim_buy(fid, "sig-a", "MINT", decide)
    assert not created
    assert again.id == first.id
    second, _ = await copies.claim_buy(fid, "sig-b", "MINT", decide)
    third, _ = await copies.claim_buy(fid, "sig-c", "MINT", decide)
    assert (second.status, third.status, third.error) == ("PLACED", "SKIPPED", "day limit")
    assert seen == [0, 50_000_000, 100_000_000]
    day = day_of(clock.current)
    assert await copies.spent_on(fid, day) == 100_000_000
    await copies.mark_failed(second.id, "refused by the risk check")
    assert await copies.spent_on(fid, day) == 50_000_000  # a refused buy spent nothing
    sell, created = await copies.claim_sell(fid, "sig-d", "MINT", 0, "you hold none")
    assert created
    assert (sell.status, sell.error, sell.is_buy) == ("SKIPPED", "you hold none", False)


async def test_racing_claims_of_one_trade_make_one_row(
    db: Database, repos: Repositories, clock: StepClock
) -> None:
    copies = CopyRepository(db, clock)
    f = await follow(copies, repos)
    results = await asyncio.gather(
        *(
            copies.claim_buy(f.id, "sig-race", "MINT", lambda _: CopyDecision(10**8))
            for _ in range(4)
        )
    )
    assert sum(created for _, created in results) == 1
    assert len({record.id for record, _ in results}) == 1
