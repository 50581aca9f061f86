"""``SharedReads``: the same chain read asked by many users at once is made once."""

from __future__ import annotations

import asyncio

import pytest

from sniper_bot.control.coalesce import SharedReads

pytestmark = pytest.mark.asyncio


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Chain:
    """Counts calls; each answer waits for ``release`` so callers pile up on one call."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self.fail = False

    async def read(self) -> str:
        self.calls += 1
        await self.release.wait()
        if self.fail:
            raise RuntimeError("rpc down")
        return f"answer {self.calls}"


async def test_concurrent_callers_share_one_call_and_its_answer() -> None:
    reads, chain = SharedReads(ttl_s=1.0, clock=Clock()), Chain()
    callers = [asyncio.create_task(reads.get("mint", chain.read)) for _ in range(50)]
    await asyncio.sleep(0)
    chain.release.set()
    assert set(await asyncio.gather(*callers)) == {"answer 1"}
    assert chain.calls == 1


async def test_an_answer_is_reused_within_the_ttl_only() -> None:
    clock = Clock()
    reads, chain = SharedReads(ttl_s=1.0, clock=clock), Chain()
    chain.release.set()
    assert await reads.get("mint", chain.read) == "answer 1"
    clock.now += 0.9
    assert await reads.get("mint", chain.read) == "answer 1"
    assert await reads.get("other", chain.read) == "answer 2"  # keys are separate
    clock.now += 0.2
    assert await reads.get("mint", chain.read) == "answer 3"


async def test_a_failure_reaches_every_waiter_and_is_not_kept() -> None:
    reads, chain = SharedReads(clock=Clock()), Chain()
    chain.fail = True
    callers = [asyncio.create_task(reads.get("mint", chain.read)) for _ in range(5)]
    await asyncio.sleep(0)
    chain.release.set()
    results = await asyncio.gather(*callers, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    chain.fail = False
    assert await reads.get("mint", chain.read) == "answer 2"  # tried again at once


async def test_an_answer_keep_refuses_is_asked_again() -> None:
    reads, chain = SharedReads(clock=Clock()), Chain()
    chain.release.set()
    assert await reads.get("mint", chain.read, keep=lambda _v: False) == "answer 1"
    assert await reads.get("mint", chain.read, keep=lambda _v: False) == "answer 2"


async def test_one_caller_leaving_does_not_cancel_the_others_read() -> None:
    reads, chain = SharedReads(clock=Clock()), Chain()
    leaving = asyncio.create_task(reads.get("mint", chain.read))
    staying = asyncio.create_task(reads.get("mint", chain.read))
    await asyncio.sleep(0)
    leaving.cancel()
    await asyncio.sleep(0)
    chain.release.set()
    assert await staying == "answer 1"
    assert leaving.cancelled()
    assert chain.calls == 1


async def test_the_answers_kept_are_bounded() -> None:
    clock = Clock()
    reads, chain = SharedReads(ttl_s=1.0, max_entries=10, clock=clock), Chain()
    chain.release.set()
    for i in range(25):
        await reads.get(i, chain.read)
    assert len(reads._answers) <= 10
