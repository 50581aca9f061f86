"""Creator reputation: what every pump.fun creator's earlier coins did, kept in memory.

    reputation = CreatorReputation()
    listener = PumpFunListener(on_curve=reputation.observe)   # every create / trade / completion
    task = asyncio.create_task(reputation.run(history))         # sweep + reload from stored rows
    reputation.get(creator)                                     # CreatorStats | None, a dict lookup

A coin is followed from its ``create`` ``CurveUpdate`` (the creator is the create's signer,
``CurveUpdate.user``); the creator's own trades on it are summed. Its outcome is one of

* ``dev_dump``: within ``ReputationPolicy.early_s`` of the create the creator sold at least
  ``dump_bps`` of the tokens it bought (the classic rug on a curve: buy cheap at the create,
  dump on the first buyers);
* ``abandoned``: no trade for ``abandon_after_s`` while under ``abandon_below_bps`` of progress
  (a dead coin; most honest coins die too, so this counts apart from rugs);
* ``graduated``: the curve completed;
* ``live``: none of these yet.

``rugs`` are dev dumps. Outcomes also come from what the bot stored (``load``/``refresh``: the
``"HoneypotCheck"`` rows whose findings name a creator, a ``dev_sold`` finding counting as a dump),
so a restart does not forget a rugger the bot already judged.

Bounded: at most ``max_creators`` creators and ``max_coins`` followed coins (least recently
touched forgotten first), ``keep_mints`` outcomes listed per creator (older ones stay counted).
Every method except ``refresh``/``run`` is synchronous, in-memory and O(1) amortised.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

import structlog

from sniper_bot.domain.launch import INITIAL_REAL_TOKEN_RESERVES, CurveUpdate

__all__ = [
    "CoinOutcome",
    "CreatorHistorySource",
    "CreatorLookup",
    "CreatorOutcomeLike",
    "CreatorReputation",
    "CreatorStats",
    "ReputationPolicy",
]

log = structlog.get_logger(__name__)

CoinOutcome = Literal["live", "graduated", "dev_dump", "abandoned"]


@dataclass(frozen=True, slots=True)
class CreatorStats:
    """One creator's record as the bot knows it (counts include coins no longer listed)."""

    creator: str
    launches: int = 0
    dumps: int = 0
    abandoned: int = 0
    graduated: int = 0
    recent: tuple[tuple[str, CoinOutcome], ...] = ()  # (mint, outcome), newest last

    @property
    def rugs(self) -> int:
        return self.dumps

    @property
    def rug_share_bps(self) -> int:
        return 0 if self.launches <= 0 else min(10_000, self.dumps * 10_000 // self.launches)

    def rugged_mints(self) -> tuple[str, ...]:
        return tuple(m for m, outcome in self.recent if outcome == "dev_dump")

    def without(self, mint: str) -> CreatorStats:
        """These stats with ``mint`` left out (a report on a coin judges the creator's others)."""
        outcome = next((o for m, o in self.recent if m == mint), None)
        if outcome is None:
            return self
        return CreatorStats(
            self.creator,
            max(0, self.launches - 1),
            max(0, self.dumps - (outcome == "dev_dump")),
            max(0, self.abandoned - (outcome == "abandoned")),
            max(0, self.graduated - (outcome == "graduated")),
            tuple(item for item in self.recent if item[0] != mint),
        )


class CreatorLookup(Protocol):
    """What the layers' callers need: ``CreatorReputation.get``."""

    def get(self, creator: str) -> CreatorStats | None: ...


class CreatorOutcomeLike(Protocol):
    """A stored outcome (``storage.repositories.creators.CreatorOutcome``)."""

    @property
    def creator(self) -> str: ...

    @property
    def mint(self) -> str: ...

    @property
    def rugged(self) -> bool: ...


class CreatorHistorySource(Protocol):
    """``storage.repositories.creators.CreatorHistoryRepository``."""

    async def outcomes(self, since: datetime, limit: int) -> Sequence[CreatorOutcomeLike]: ...


@dataclass(frozen=True, slots=True)
class ReputationPolicy:
    dump_bps: int = 8_000  # the creator sold >= 80% of what it bought...
    early_s: float = 600.0  # ...within 10 minutes of the create
    abandon_after_s: float = 1_800.0
    abandon_below_bps: int = 1_000
    max_creators: int = 100_000
    max_coins: int = 50_000
    keep_mints: int = 8
    history_days: int = 30
    history_rows: int = 20_000

    def __post_init__(self) -> None:
        if not 1 <= self.dump_bps <= 10_000:
            raise ValueError(f"dump_bps must be within 1..10000, got {self.dump_bps}")
        if not 0 <= self.abandon_below_bps <= 10_000:
            raise ValueError(f"abandon_below_bps must be 0..10000, got {self.abandon_below_bps}")
        if self.early_s <= 0 or self.abandon_after_s <= 0:
            raise ValueError("early_s and abandon_after_s must be positive seconds")
        if min(self.max_creators, self.max_coins, self.keep_mints) < 1:
            raise ValueError("max_creators, max_coins and keep_mints must be >= 1")


@dataclass(slots=True)
class _Coin:
    creator: str
    created_at: float
    last_trade_at: float
    initial_real: int
    real_token_reserves: int
    dev_bought: int = 0
    dev_sold: int = 0
    outcome: CoinOutcome = "live"


@dataclass(slots=True)
class _Record:
    creator: str
    mints: OrderedDict[str, CoinOutcome] = field(default_factory=OrderedDict)
    # coins dropped from ``mints`` (bounded) stay counted here
    old_launches: int = 0
    old_dumps: int = 0
    old_abandoned: int = 0
    old_graduated: int = 0
    snapshot: CreatorStats | None = None

    def stats(self) -> CreatorStats:
        if self.snapshot is None:
            values = list(self.mints.values())
            self.snapshot = CreatorStats(
                self.creator,
                self.old_launches + len(values),
                self.old_dumps + values.count("dev_dump"),
                self.old_abandoned + values.count("abandoned"),
                self.old_graduated + values.count("graduated"),
                tuple(self.mints.items()),
            )
        return self.snapshot

    def set(self, mint: str, outcome: CoinOutcome, keep: int) -> bool:
        """Record ``mint``'s outcome; a known outcome is only ever upgraded (live -> final)."""
        current = self.mints.get(mint)
        if current is not None and (current == outcome or current == "dev_dump"):
            return False
        if current is not None and outcome == "live":
            return False
        self.mints[mint] = outcome
        self.mints.move_to_end(mint)
        while len(self.mints) > keep:
            _, old = self.mints.popitem(last=False)
            self.old_launches += 1
            self.old_dumps += old == "dev_dump"
            self.old_abandoned += old == "abandoned"
            self.old_graduated += old == "graduated"
        self.snapshot = None
        return True


class CreatorReputation:
    """The in-memory creator -> ``CreatorStats`` map (see the module docstring)."""

    def __init__(
        self,
        policy: ReputationPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.policy = policy or ReputationPolicy()
        self._clock = clock
        self._wall_clock = wall_clock
        self._creators: OrderedDict[str, _Record] = OrderedDict()
        self._coins: OrderedDict[str, _Coin] = OrderedDict()

    def __len__(self) -> int:
        return len(self._creators)

    @property
    def followed_coins(self) -> int:
        return len(self._coins)

    def get(self, creator: str) -> CreatorStats | None:
        """The creator's stats (``None``: never seen). No I/O, no allocation on a repeat."""
        record = self._creators.get(creator)
        return None if record is None else record.stats()

    # -- feeding ----------------------------------------------------------------------------------
    def observe(self, update: CurveUpdate) -> None:
        """A ``PumpFunListener.on_curve`` sink: one create, trade or completion."""
        if update.kind == "create":
            self._on_create(update)
        elif update.kind == "trade":
            self._on_trade(update)
        else:
            coin = self._coins.get(update.mint)
            if coin is not None and coin.outcome == "live":
                coin.outcome = "graduated"
                self._record(coin.creator).set(update.mint, "graduated", self.policy.keep_mints)

    def _on_create(self, update: CurveUpdate) -> None:
        if update.user is None or update.mint in self._coins:
            return
        initial = update.initial_real_token_reserves or INITIAL_REAL_TOKEN_RESERVES
        now = update.seen_at
        self._coins[update.mint] = _Coin(
            update.user, now, now, initial, update.real_token_reserves or initial
        )
        while len(self._coins) > self.policy.max_coins:
            self._coins.popitem(last=False)
        self._record(update.user).set(update.mint, "live", self.policy.keep_mints)

    def _on_trade(self, update: CurveUpdate) -> None:
        coin = self._coins.get(update.mint)
        if coin is None:
            return
        coin.last_trade_at = max(coin.last_trade_at, update.seen_at)
        if update.real_token_reserves is not None:
            coin.real_token_reserves = update.real_token_reserves
        self._coins.move_to_end(update.mint)
        if update.user != coin.creator or update.token_amount is None:
            return
        if update.is_buy:
            coin.dev_bought += update.token_amount
            return
        coin.dev_sold += update.token_amount
        early = update.seen_at - coin.created_at <= self.policy.early_s
        dumped = coin.dev_sold * 10_000 >= self.policy.dump_bps * coin.dev_bought
        if coin.dev_bought > 0 and early and dumped and coin.outcome != "dev_dump":
            coin.outcome = "dev_dump"
            self._record(coin.creator).set(update.mint, "dev_dump", self.policy.keep_mints)
            log.info(
                "creators.dev_dump",
                creator=coin.creator,
                mint=update.mint,
                bought=coin.dev_bought,
                sold=coin.dev_sold,
            )

    def sweep(self, now: float | None = None) -> int:
        """Mark quiet, barely-bought live coins abandoned; forget coins with a final outcome.
        Returns how many were marked."""
        now = self._clock() if now is None else now
        marked = 0
        for mint in list(self._coins):
            coin = self._coins[mint]
            if coin.outcome != "live":
                del self._coins[mint]
                continue
            if now - coin.last_trade_at < self.policy.abandon_after_s:
                continue
            sold = max(0, coin.initial_real - coin.real_token_reserves)
            progress = 0 if coin.initial_real <= 0 else sold * 10_000 // coin.initial_real
            if progress < self.policy.abandon_below_bps:
                self._record(coin.creator).set(mint, "abandoned", self.policy.keep_mints)
                marked += 1
            del self._coins[mint]
        return marked

    def load(self, outcomes: Iterable[CreatorOutcomeLike]) -> int:
        """Merge stored outcomes (a mint already known keeps the worse outcome). Returns how many
        changed a record."""
        changed = 0
        for item in outcomes:
            if not item.creator or not item.mint:
                continue
            outcome: CoinOutcome = "dev_dump" if item.rugged else "live"
            changed += self._record(item.creator).set(item.mint, outcome, self.policy.keep_mints)
        return changed

    async def refresh(self, source: CreatorHistorySource) -> int:
        since = self._wall_clock() - timedelta(days=self.policy.history_days)
        rows = await source.outcomes(since, self.policy.history_rows)
        return self.load(rows)

    async def run(self, source: CreatorHistorySource | None, interval_s: float = 60.0) -> None:
        """Background loop: reload stored outcomes and sweep, every ``interval_s``, until
        cancelled. A failing reload is logged and retried at the next turn."""
        if interval_s <= 0:
            raise ValueError(f"interval_s must be positive, got {interval_s}")
        while True:
            if source is not None:
                try:
                    await self.refresh(source)
                except Exception as exc:  # the cache keeps what it has; detection goes on
                    log.warning("creators.refresh_failed", error=type(exc).__name__)
            self.sweep()
            await asyncio.sleep(interval_s)

    def _record(self, creator: str) -> _Record:
        record = self._creators.get(creator)
        if record is None:
            record = self._creators[creator] = _Record(creator)
            while len(self._creators) > self.policy.max_creators:
                self._creators.popitem(last=False)
        else:
            self._creators.move_to_end(creator)
        return record
