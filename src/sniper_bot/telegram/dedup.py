"""One answer per Telegram update across webhook replicas.

Telegram delivers an update again when it did not get a 2xx for it: the replica that had it died,
the proxy timed out, the connection broke after the bot had answered. Behind a load balancer the
retry lands on any replica. Each update id is claimed in Redis before it is handled:

- ``SET tg-update:<bot>:<id> run:<instance>:<token> NX PX lease_ms``: the first replica owns it and
  renews the lease every ``lease_s / 3`` while its handler runs;
- when the handler returns (or fails: its user was already told), the key becomes ``done`` for
  ``done_ttl_s``; a retry then gets 200 and nothing is handled again;
- a retry while the owner still holds the lease gets ``BUSY`` (the webhook answers 503, so Telegram
  tries again later): the owner may still answer it;
- a replica killed mid-update stops renewing; its lease lapses within ``lease_s`` and the next
  retry is claimed by a live replica and handled from the start (what a handler writes is
  idempotent per rendered button or message: a buy is keyed by its chat, message and button).

Without Redis (not configured, down, or a call fails) a bounded in-process record answers instead:
a retry that comes back to the same replica is still recognised; one that reaches another replica
during the outage may be handled twice (the orders it places are still idempotent). The one window
with Redis up: a replica that sent its answer and died before marking the update done (milliseconds)
is retried and answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Any

import structlog

from sniper_bot.observability.metrics import Metrics

__all__ = ["Claim", "UpdateDedup"]

log = structlog.get_logger(__name__)

KEY_PREFIX = "tg-update:"
DONE = "done"
LEASE_S = 6.0
DONE_TTL_S = 6 * 3600.0  # Telegram keeps an unconfirmed update for 24 h, retries come within hours
LOCAL_MAX = 50_000

# KEYS[1] the update; ARGV[1] the owner's token, ARGV[2] the lease (ms). Renew only our own lease.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# ARGV[1] the owner's token, ARGV[2] the done TTL (ms): done unless another replica took it over
_FINISH = """
local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] then
  redis.call('SET', KEYS[1], 'done', 'PX', ARGV[2])
  return 1
end
return 0
"""


class Claim(enum.Enum):
    OWN = "own"  # handle it
    BUSY = "busy"  # another replica (or this one) is handling it now: ask Telegram to retry
    DONE = "done"  # handled already: confirm it, do nothing


class UpdateDedup:
    """Claims update ids in Redis (``client``; None = in-process only) for ``instance``."""

    def __init__(
        self,
        client: Any,
        *,
        instance: str,
        bot_id: int,
        available: Callable[[], bool] | None = None,
        on_failure: Callable[[Exception], None] | None = None,
        lease_s: float = LEASE_S,
        done_ttl_s: float = DONE_TTL_S,
        local_max: int = LOCAL_MAX,
        clock: Callable[[], float] = time.monotonic,
        metrics: Metrics | None = None,
    ) -> None:
        self._metrics = metrics
        self._client = client
        self._instance = instance
        self._bot_id = bot_id
        self._available = available or (lambda: client is not None)
        self._on_failure = on_failure
        self._lease_ms = max(1, int(lease_s * 1000))
        self._lease_s = lease_s
        self._done_ms = max(1, int(done_ttl_s * 1000))
        self._local_max = local_max
        self._clock = clock
        self._local: OrderedDict[int, str] = OrderedDict()  # update id -> "run" | "done"

    def _key(self, update_id: int) -> str:
        return f"{KEY_PREFIX}{self._bot_id}:{update_id}"

    def _remember(self, update_id: int, state: str) -> None:
        self._local[update_id] = state
        self._local.move_to_end(update_id)
        while len(self._local) > self._local_max:
            self._local.popitem(last=False)

    def _redis(self) -> Any:
        return self._client if self._client is not None and self._available() else None

    def _failed(self, exc: Exception) -> None:
        log.warning("telegram_dedup_redis_failed", error=type(exc).__name__)
        if self._on_failure is not None:
            self._on_failure(exc)

    async def claim(self, update_id: int) -> tuple[Claim, str]:
        """``(claim, token)``; with ``OWN`` the caller must ``finish(update_id, token)``."""
        claim, token = await self._claim(update_id)
        if claim is not Claim.OWN and self._metrics is not None:
            self._metrics.telegram_webhook_duplicates.labels(outcome=claim.value).inc()
        return claim, token

    async def _claim(self, update_id: int) -> tuple[Claim, str]:
        local = self._local.get(update_id)
        if local == DONE:
            return Claim.DONE, ""
        if local is not None:
            return Claim.BUSY, ""
        token = f"run:{self._instance}:{secrets.token_hex(8)}"
        client = self._redis()
        if client is not None:
            try:
                key = self._key(update_id)
                if not await client.set(key, token, nx=True, px=self._lease_ms):
                    held = await client.get(key)
                    if held is None:  # the lease lapsed between the two calls: try once more
                        if await client.set(key, token, nx=True, px=self._lease_ms):
                            self._remember(update_id, "run")
                            return Claim.OWN, token
                        held = await client.get(key)
                    held = held.decode() if isinstance(held, bytes) else held
                    if held == DONE:
                        self._remember(update_id, DONE)
                        return Claim.DONE, ""
                    return Claim.BUSY, ""
            except Exception as exc:  # Redis went away: this replica's record decides
                self._failed(exc)
        self._remember(update_id, "run")
        return Claim.OWN, token

    async def _renew(self, update_id: int, token: str) -> bool:
        client = self._redis()
        if client is None:
            return True
        try:
            return bool(await client.eval(_RENEW, 1, self._key(update_id), token, self._lease_ms))
        except Exception as exc:
            self._failed(exc)
            return True

    @contextlib.asynccontextmanager
    async def held(self, update_id: int, token: str) -> AsyncIterator[None]:
        """Renew the lease while the body runs; mark the update done after it, however it ends
        (a handler that failed already told its user; running it again would tell them twice)."""

        stopped = asyncio.Event()

        async def renew() -> None:
            while not stopped.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopped.wait(), self._lease_s / 3)
                if stopped.is_set():
                    return
                if not await self._renew(update_id, token):
                    log.warning("telegram_update_lease_lost", update_id=update_id)
                    return

        renewer = asyncio.create_task(renew(), name=f"tg-update-lease-{update_id}")
        try:
            yield
        finally:
            # told to stop, not only cancelled: a cancellation that lands inside a Redis call
            # can be swallowed by the client, and a renewer that never ends held its update
            # (and its chat) for ever
            stopped.set()
            await asyncio.wait({renewer}, timeout=self._lease_s)
            if not renewer.done():
                renewer.cancel()
            await self.finish(update_id, token)

    async def finish(self, update_id: int, token: str) -> None:
        self._remember(update_id, DONE)
        client = self._redis()
        if client is None:
            return
        try:
            await client.eval(_FINISH, 1, self._key(update_id), token, self._done_ms)
        except Exception as exc:
            self._failed(exc)
