"""Webhook update claims (telegram/dedup.py) on a real Redis: one owner per update id across
replicas, a done update is never handled again, a dead owner's lease lapses to the next replica,
and without Redis each process still recognises its own retries."""

from __future__ import annotations

import asyncio
import contextlib

import redis.asyncio as aioredis

from sniper_bot.observability.metrics import Metrics
from sniper_bot.telegram.dedup import Claim, UpdateDedup


async def test_one_owner_then_busy_then_done_across_replicas(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    metrics = Metrics()
    a = UpdateDedup(client, instance="a", bot_id=1, metrics=metrics)
    b = UpdateDedup(client, instance="b", bot_id=1, metrics=metrics)
    try:
        claim, token = await a.claim(7)
        assert claim is Claim.OWN
        assert (await b.claim(7))[0] is Claim.BUSY  # a handles it now
        async with a.held(7, token):
            pass
        assert (await b.claim(7))[0] is Claim.DONE
        assert (await a.claim(7))[0] is Claim.DONE
        assert (await b.claim(8))[0] is Claim.OWN  # another update: its own claim
        done = metrics.telegram_webhook_duplicates.labels(outcome="done")._value.get()
        busy = metrics.telegram_webhook_duplicates.labels(outcome="busy")._value.get()
        assert (done, busy) == (2, 1)
    finally:
        await client.aclose()


async def test_a_dead_owners_lease_lapses_and_a_live_one_renews(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        dead = UpdateDedup(client, instance="dead", bot_id=1, lease_s=0.3)
        live = UpdateDedup(client, instance="live", bot_id=1, lease_s=0.3)
        assert (await dead.claim(1))[0] is Claim.OWN  # then it dies: never renews nor finishes
        assert (await live.claim(1))[0] is Claim.BUSY
        await asyncio.sleep(0.5)
        claim, token = await live.claim(1)
        assert claim is Claim.OWN  # the retry after the lease is handled by a live replica
        other = UpdateDedup(client, instance="other", bot_id=1, lease_s=0.3)
        async with live.held(1, token):
            await asyncio.sleep(0.8)  # longer than the lease: renewed while the handler runs
            assert (await other.claim(1))[0] is Claim.BUSY
        assert (await other.claim(1))[0] is Claim.DONE
    finally:
        await client.aclose()


async def test_without_redis_a_process_still_knows_its_own_updates() -> None:
    local = UpdateDedup(None, instance="solo", bot_id=1)
    claim, token = await local.claim(5)
    assert claim is Claim.OWN
    assert (await local.claim(5))[0] is Claim.BUSY
    await local.finish(5, token)
    assert (await local.claim(5))[0] is Claim.DONE


async def test_a_redis_failure_falls_back_to_the_local_record() -> None:
    failures: list[Exception] = []
    broken = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    dedup = UpdateDedup(broken, instance="x", bot_id=1, on_failure=failures.append)
    try:
        claim, token = await dedup.claim(9)
        assert claim is Claim.OWN
        assert failures
        await dedup.finish(9, token)
        assert (await dedup.claim(9))[0] is Claim.DONE
    finally:
        await broken.aclose()


class _SwallowsCancel:
    """The real client, but a cancellation that lands inside ``eval`` is swallowed (as redis-py
    can do mid-command): the renewer must stop on being told, not only on being cancelled."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client

    def __getattr__(self, name: str) -> object:
        return getattr(self._client, name)

    async def eval(self, *args: object) -> object:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0.05)
        return await self._client.eval(*args)  # type: ignore[arg-type]


async def test_the_lease_renewer_ends_with_its_handler(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        dedup = UpdateDedup(_SwallowsCancel(client), instance="a", bot_id=1, lease_s=0.15)
        claim, token = await dedup.claim(3)
        assert claim is Claim.OWN

        async def handle() -> None:
            async with dedup.held(3, token):
                await asyncio.sleep(0.4)  # a few renewals

        await asyncio.wait_for(handle(), 3)
        assert (await dedup.claim(3))[0] is Claim.DONE
    finally:
        await client.aclose()
