"""One launch matching many orders: signed in chunks, each on the wire before the next is signed.

    fired = await fire_batched(relay, seen, launch, risk, entries, handoff=..., clock=...)

``HotSniper`` takes this path when a launch matches more than ``BATCH_FROM`` orders and its relay
has ``send_many`` (``chain.relays.RelayFanout``):

1. the orders are put in a fresh random order for this launch (``launch_order``): no user is
   always first because they armed first, or always last (fairness: every position is equally
   likely for every order, launch after launch);
2. ``CHUNK`` orders are built and signed (``hotpath.build.build_curve_buy``), then handed to
   ``send_many`` as one chunk: one JSON-RPC batch per RPC endpoint, one request per order per
   block engine; it returns once the chunk's bytes are written, and the next chunk is signed
   while the relays answer the previous one. The first orders are on the wire after one
   chunk's signing, not after every order's;
3. the bookkeeping (``AfterFire`` handoffs, one log line per order) comes after the last chunk
   is on the wire: nothing off the path delays an order's send.

Per order the outcome is what ``HotSniper._send`` makes of a single send: the ``Dispatch``, a
refusal (``RelayRefused``: nothing sent) or the send error (the bytes may still land).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

import structlog

from sniper_bot.chain.relays import Outgoing, RelayRefused
from sniper_bot.detection.pumpfun import CreateSeen
from sniper_bot.hotpath.book import ArmedEntry
from sniper_bot.hotpath.build import BuildError, CurveLaunch, SignedBuy, build_curve_buy

if TYPE_CHECKING:
    from sniper_bot.hotpath.sniper import FiredSnipe, HotOrder, RiskDecision

__all__ = ["BATCH_FROM", "CHUNK", "BatchRelay", "fire_batched", "launch_order"]

log = structlog.get_logger(__name__)

T = TypeVar("T")

BATCH_FROM = 4  # more matched orders than this: batches (fewer: one send per order)
CHUNK = 50  # orders signed, then put on the wire together (one batch per RPC endpoint)
_RNG = random.Random()  # seeded from the OS at import; tests pass their own


@runtime_checkable
class BatchRelay(Protocol):
    """``chain.relays.RelayFanout`` fits."""

    async def send_many(
        self,
        items: Sequence[Outgoing],
        *,
        event_at: float | None = None,
        source: str = "unknown",
        venue: str = "unknown",
    ) -> Sequence[Any]: ...


def launch_order(entries: Sequence[T], rng: random.Random | None = None) -> list[T]:
    """This launch's firing order: a fresh shuffle (never the arming order)."""
    order = list(entries)
    (rng or _RNG).shuffle(order)
    return order


async def fire_batched(
    relay: BatchRelay,
    seen: CreateSeen,
    launch: CurveLaunch,
    risk: RiskDecision,
    entries: Sequence[ArmedEntry[HotOrder]],
    *,
    handoff: Callable[[FiredSnipe], None],
    clock: Callable[[], float],
    rng: random.Random | None = None,
    chunk: int = CHUNK,
) -> int:
    """Fire ``entries`` (see the module doc); returns how many were sent (with or without an
    error), the refused ones are handed off with their refusal."""
    from sniper_bot.hotpath.sniper import MEV_WITHOUT_TIP, SOURCE, VENUE, FiredSnipe

    if chunk < 1:
        raise ValueError(f"chunk must be at least 1 order, got {chunk}")
    done: list[FiredSnipe] = []
    order = launch_order(entries, rng)
    for start in range(0, len(order), chunk):
        signed: list[tuple[ArmedEntry[HotOrder], HotOrder, SignedBuy, float]] = []
        for entry in order[start : start + chunk]:
            prepared = entry.prepared
            assert prepared is not None
            if prepared.mev_protect and not prepared.tipped:
                done.append(FiredSnipe(entry.target, prepared, launch, seen, risk,
                                       refusal=MEV_WITHOUT_TIP))  # fmt: skip
                continue
            try:
                buy = build_curve_buy(prepared.prepared, launch)
            except BuildError as exc:
                done.append(FiredSnipe(entry.target, prepared, launch, seen, risk,
                                       refusal=str(exc)))  # fmt: skip
                continue
            signed.append((entry, prepared, buy, clock() - seen.seen_at))
        if not signed:
            continue
        items = [Outgoing(b.tx_bytes, p.mev_protect, p.tipped) for _, p, b, _ in signed]
        results: Sequence[Any]
        try:
            results = await relay.send_many(
                items, event_at=seen.seen_at, source=SOURCE, venue=VENUE
            )
        except Exception as exc:  # the whole chunk: recorded, the landing resolves it
            results = [exc] * len(signed)
        for (entry, prepared, buy, built), result in zip(signed, results, strict=True):
            if isinstance(result, RelayRefused):
                done.append(FiredSnipe(entry.target, prepared, launch, seen, risk,
                                       refusal=result.message))  # fmt: skip
            elif isinstance(result, Exception):
                error = getattr(result, "message", None) or repr(result)
                done.append(FiredSnipe(entry.target, prepared, launch, seen, risk, buy, None,
                                       error, built_s=built))  # fmt: skip
            else:
                done.append(FiredSnipe(entry.target, prepared, launch, seen, risk, buy, result,
                                       None, built_s=built))  # fmt: skip
    sent = 0
    for fired in done:  # after the last chunk is on the wire
        if fired.signed is not None:
            sent += 1
            log.info("hot_snipe_sent", target_id=fired.target.id, mint=fired.mint,
                     signature=str(fired.signed.signature), built_ms=round(fired.built_s * 1e3, 3),
                     error=fired.send_error)  # fmt: skip
        else:
            log.warning("hot_snipe_send_refused", target_id=fired.target.id, error=fired.refusal)
        handoff(fired)
    return sent
