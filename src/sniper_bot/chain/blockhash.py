"""A recent blockhash kept in memory and judged by block height, so the hot path never waits for
one and is never handed one that has expired.

A blockhash is valid while the cluster's block height is at most its ``lastValidBlockHeight``
(150 blocks after it was issued). In seconds that is ~60 on mainnet (400 ms slots) but 6 on a
localnet with 40 ms slots, so the cache never judges by age:

* ``refresh()`` reads getLatestBlockhash and getBlockHeight together; every height read is a
  sample ``(time the read started, height)``. ``run()`` (a task of the app's TaskGroup) refreshes
  every ``refresh_s``.
* Between samples the current height is estimated as ``latest height + rate * elapsed`` (and
  never below a height already read). ``rate`` is the block rate from the latest sample back to
  the most recent one at least 1 s older, times 1.5, never below mainnet's 2.5 blocks/s; it is
  ``initial_blocks_per_s`` until two samples measure it. The elapsed time counts from the start
  of the read and the rate carries a safety factor, so the estimate errs high: a hash is dropped
  early, never handed out late. (Samples closer than 1 s are not used for the rate: a localnet
  catching up 4 slots at once would read as hundreds of blocks a second.)
* ``get()`` answers from memory, with no I/O, while the estimated height is below the cached
  hash's ``lastValidBlockHeight - margin_blocks``. Otherwise it refreshes (one fetch shared by
  every waiter) and, if even the answer cannot be shown to be valid (a degraded read during an
  outage returns an old hash), raises ``RpcUnavailableError`` instead of handing it out.

A failed refresh keeps the previous hash and samples: the estimate keeps moving with time, so that
hash stops being handed out when its blocks run out, not after a fixed number of seconds. A newer
hash is never replaced by an older one (a degraded read can return one).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable

import structlog
from solders.hash import Hash

from sniper_bot.chain.errors import RpcError, RpcUnavailableError

__all__ = ["BLOCKHASH_VALID_BLOCKS", "BlockhashCache"]

log = structlog.get_logger(__name__)

Fetch = Callable[[], Awaitable[tuple[Hash, int]]]
Height = Callable[[], Awaitable[int]]

BLOCKHASH_VALID_BLOCKS = 150  # a blockhash is valid this many blocks after it was issued
MAINNET_BLOCKS_PER_S = 2.5  # the slowest rate ever assumed: mainnet's 400 ms slots
RATE_SAFETY = 1.5  # the measured rate is multiplied by this (read latency, jitter)
RATE_SPAN_S = 1.0  # the rate is measured over at least this long
_SAMPLES = 8


class BlockhashCache:
    def __init__(
        self,
        fetch: Fetch,
        height: Height,
        *,
        refresh_s: float = 2.0,
        margin_blocks: int = 30,
        initial_blocks_per_s: float = 50.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not 0 <= margin_blocks < BLOCKHASH_VALID_BLOCKS:
            raise ValueError(f"margin_blocks must be in [0, {BLOCKHASH_VALID_BLOCKS})")
        self._fetch = fetch
        self._height = height
        self._refresh_s = refresh_s
        self._margin = margin_blocks
        self._initial_rate = max(initial_blocks_per_s, MAINNET_BLOCKS_PER_S)
        self._clock = clock
        self._sleep = sleep
        self._value: tuple[Hash, int] | None = None
        self._samples: deque[tuple[float, int]] = deque(maxlen=_SAMPLES)
        self._inflight: asyncio.Future[tuple[Hash, int]] | None = None

    # ------------------------------------------------------------------------------ judging
    def blocks_per_s(self) -> float:
        """The block rate the estimate assumes (measured, with the safety factor)."""
        if not self._samples:
            return self._initial_rate
        t_new, h_new = self._samples[-1]
        for t_old, h_old in reversed(self._samples):
            if t_new - t_old >= RATE_SPAN_S:
                measured = max(0, h_new - h_old) / (t_new - t_old)
                return max(MAINNET_BLOCKS_PER_S, RATE_SAFETY * measured)
        return self._initial_rate

    def estimated_height(self) -> int | None:
        """The current block height as the cache believes it (errs high); None before a sample."""
        if not self._samples:
            return None
        t_new, h_new = self._samples[-1]
        elapsed = max(0.0, self._clock() - t_new)
        highest_read = max(h for _, h in self._samples)
        return max(highest_read, h_new + math.ceil(self.blocks_per_s() * elapsed))

    def blocks_left(self) -> int | None:
        """Blocks the cached hash has left above the margin by the estimate (None: unknown)."""
        height = self.estimated_height()
        if self._value is None or height is None:
            return None
        return self._value[1] - self._margin - height

    def peek(self) -> tuple[Hash, int] | None:
        """The cached value if it is still valid by ``margin_blocks``, without any I/O."""
        left = self.blocks_left()
        if left is None or left <= 0:
            return None
        return self._value

    def forget(self, blockhash: Hash) -> bool:
        """The chain answered BlockhashNotFound for ``blockhash``: never hand it out again.

        The estimate errs high, but a node that catches up in a burst (or a stalled event loop)
        can still outrun it; the next ``get`` then refreshes. True when the cached hash was it."""
        if self._value is None or self._value[0] != blockhash:
            return False
        self._value = None
        return True

    # ------------------------------------------------------------------------------ reading
    async def get(self) -> tuple[Hash, int]:
        """(blockhash, lastValidBlockHeight): from memory when valid, else one shared refresh."""
        cached = self.peek()
        if cached is not None:
            return cached
        return await self.refresh()

    async def refresh(self) -> tuple[Hash, int]:
        if self._inflight is not None:
            return await asyncio.shield(self._inflight)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[Hash, int]] = loop.create_future()
        self._inflight = future
        try:
            value = await self._refresh_once()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here; waiters re-raise it
            raise
        finally:
            self._inflight = None
        future.set_result(value)
        return value

    async def _refresh_once(self) -> tuple[Hash, int]:
        started = self._clock()
        got_hash, got_height = await asyncio.gather(
            self._fetch(), self._height(), return_exceptions=True
        )
        for result in (got_hash, got_height):
            if isinstance(result, asyncio.CancelledError):
                raise result
        if not isinstance(got_height, BaseException):
            self._samples.append((started, got_height))
        if not isinstance(got_hash, BaseException) and (
            self._value is None or got_hash[1] >= self._value[1]
        ):
            self._value = got_hash
        usable = self.peek()
        if usable is not None:
            return usable
        for result in (got_hash, got_height):
            if isinstance(result, BaseException):
                raise result
        raise RpcUnavailableError(
            f"no blockhash valid for {self._margin} more blocks "
            f"(lastValidBlockHeight {self._value[1] if self._value else None}, "
            f"block height {self.estimated_height()})"
        )

    async def run(self) -> None:
        """Refresh forever (cancel to stop); failures are logged and the old hash kept."""
        while True:
            try:
                await self.refresh()
            except RpcError as exc:
                log.warning(
                    "blockhash_refresh_failed", reason=str(exc), blocks_left=self.blocks_left()
                )
            await self._sleep(self._refresh_s)
