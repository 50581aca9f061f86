"""The armed book: every ARMED snipe target in memory, indexed for the launch that fires it.

``ArmedBook.match(mint, creator, name, symbol, source)`` is two dict lookups (by mint, by
creator: any pump.fun create signed by that dev wallet) and one pass over the filter targets
(each a bounded ``LaunchFilter``), with expiry checked against the clock. It does no I/O at all:
a launch that matches nothing costs no database or network call. Each ``ArmedEntry`` carries a
``prepared`` slot, opaque here, that the arming code fills (e.g. ``hotpath.build.PreparedBuy``).

The book is bounded per user and in total (``BookFull`` says which bound). ``rebuild`` replaces
its content with the database's ARMED targets (on start, after a missed Redis message, and
periodically), keeping the prepared state of targets that did not change; arms and removals that
happen while the database read is in flight are replayed on top, so a rebuild never loses them.

``ArmedBookSync`` shares the book between replicas: what this replica arms, cancels or fires is
published on ``cache.armed.ArmedChannel`` and applied by the others; each (re)subscription
triggers a rebuild (pub/sub does not replay), and a timer rebuilds more often while Redis is
gone, so the bot keeps sniping from its local book without Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

import structlog

from sniper_bot.cache.armed import ArmedChannel, ArmedEvent
from sniper_bot.domain.launch import SelectorKind, SnipeTarget
from sniper_bot.errors import PermanentError
from sniper_bot.ports.stores import ArmedTargetSource

__all__ = [
    "CREATOR_SOURCES",
    "ArmedBook",
    "ArmedBookSync",
    "ArmedEntry",
    "BookFull",
    "RebuildResult",
]

log = structlog.get_logger(__name__)

P = TypeVar("P")

# A creator target fires on the creates of these launchpads (the event's creator is the coin's
# dev wallet there; an AMM pool's creator is whoever migrated or seeded it).
CREATOR_SOURCES = frozenset({"pumpfun"})


class BookFull(PermanentError):
    """Arming one more snipe would exceed a bound of the armed book."""

    def __init__(self, message: str, *, user_message: str) -> None:
        super().__init__(message, user_message=user_message)


@dataclass(slots=True, eq=False)
class ArmedEntry(Generic[P]):
    """One armed target and the state prepared for it (``None`` until the arming code sets it)."""

    target: SnipeTarget
    prepared: P | None = None
    expires_ts: float = field(init=False)

    def __post_init__(self) -> None:
        self.expires_ts = self.target.expires_at.timestamp()


@dataclass(frozen=True, slots=True)
class RebuildResult(Generic[P]):
    """``added``: entries new to the book or whose target changed (their ``prepared`` is
    ``None``: prepare them); ``removed``: entries the database no longer holds as ARMED;
    ``dropped``: ARMED targets over a bound (logged; they stay in the database)."""

    added: list[ArmedEntry[P]]
    removed: list[ArmedEntry[P]]
    kept: int
    dropped: list[SnipeTarget]


class ArmedBook(Generic[P]):
    def __init__(
        self,
        *,
        max_per_user: int = 50,
        max_total: int = 100_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_per_user <= 0 or max_total <= 0:
            raise ValueError(
                f"armed book bounds must be positive, got max_per_user={max_per_user}, "
                f"max_total={max_total}"
            )
        self.max_per_user = max_per_user
        self.max_total = max_total
        self._clock = clock
        self._by_id: dict[int, ArmedEntry[P]] = {}
        self._by_mint: dict[str, dict[int, ArmedEntry[P]]] = {}
        self._by_creator: dict[str, dict[int, ArmedEntry[P]]] = {}
        self._filters: dict[int, ArmedEntry[P]] = {}
        self._per_user: dict[int, int] = {}
        self._journal: list[tuple[str, int, ArmedEntry[P] | None]] | None = None

    # -- the hot path ----------------------------------------------------------------------------

    def match(
        self,
        mint: str,
        creator: str | None,
        name: str | None,
        symbol: str | None,
        source: str,
        *,
        dev_buy_lamports: int | None = None,
        mayhem: bool | None = None,
    ) -> list[ArmedEntry[P]]:
        """Unexpired entries this launch fires, in arming order. Pure CPU, no I/O.
        ``dev_buy_lamports`` / ``mayhem``: the launch's facts a filter's clauses may test."""
        now = self._clock()
        out: list[ArmedEntry[P]] = []
        buckets = 0
        by_mint = self._by_mint.get(mint)
        if by_mint:
            out.extend(e for e in by_mint.values() if e.expires_ts > now)
            buckets += 1
        if creator is not None and source in CREATOR_SOURCES:
            by_creator = self._by_creator.get(creator)
            if by_creator:
                out.extend(e for e in by_creator.values() if e.expires_ts > now)
                buckets += 1
        if self._filters:
            before = len(out)
            for entry in self._filters.values():
                launch_filter = entry.target.launch_filter
                if (
                    entry.expires_ts > now
                    and launch_filter is not None
                    and launch_filter.matches(
                        name,
                        symbol,
                        source,
                        mint=mint,
                        creator=creator,
                        dev_buy_lamports=dev_buy_lamports,
                        mayhem=mayhem,
                    )
                ):
                    out.append(entry)
            buckets += len(out) > before
        if buckets > 1:
            out.sort(key=lambda e: e.target.id)
        return out

    # -- arming ----------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, target_id: object) -> bool:
        return target_id in self._by_id

    def get(self, target_id: int) -> ArmedEntry[P] | None:
        return self._by_id.get(target_id)

    def entries(self) -> list[ArmedEntry[P]]:
        return list(self._by_id.values())

    def count_for_user(self, user_id: int) -> int:
        return self._per_user.get(user_id, 0)

    def check_capacity(self, user_id: int) -> None:
        """``BookFull`` when one more target of ``user_id`` would exceed a bound (call it before
        storing the target, so a refused snipe is never armed in the database)."""
        held = self._per_user.get(user_id, 0)
        if held >= self.max_per_user:
            raise BookFull(
                f"user {user_id} has {held} armed snipes; the armed book holds at most "
                f"{self.max_per_user} per user",
                user_message=(
                    f"You already have {held} armed snipes (the limit is {self.max_per_user}); "
                    "cancel one first."
                ),
            )
        if len(self._by_id) >= self.max_total:
            raise BookFull(
                f"the armed book is full ({len(self._by_id)} targets, at most {self.max_total})",
                user_message="Too many snipes are armed right now; try again later.",
            )

    def add(self, target: SnipeTarget, prepared: P | None = None) -> ArmedEntry[P]:
        """Index an ARMED target (ValueError otherwise; ``BookFull`` over a bound). A target
        already in the book is replaced; its ``prepared`` is kept unless one is given."""
        if not target.is_armed:
            raise ValueError(
                f"only ARMED targets go into the armed book; {target.id} is {target.status}"
            )
        old = self._by_id.get(target.id)
        if old is None:
            self.check_capacity(target.user_id)
        else:
            if prepared is None and old.target == target:
                prepared = old.prepared
            self._unindex(old)
        entry: ArmedEntry[P] = ArmedEntry(target, prepared)
        self._index(entry)
        if self._journal is not None:
            self._journal.append(("add", target.id, entry))
        return entry

    def set_prepared(self, target_id: int, prepared: P) -> bool:
        """Attach the prepared state; ``False`` when the target left the book meanwhile."""
        entry = self._by_id.get(target_id)
        if entry is None:
            return False
        entry.prepared = prepared
        return True

    def remove(self, target_id: int) -> ArmedEntry[P] | None:
        """Drop a target (cancelled, fired, expired); the entry removed, or ``None``."""
        entry = self._by_id.get(target_id)
        if entry is not None:
            self._unindex(entry)
        if self._journal is not None:
            self._journal.append(("remove", target_id, None))
        return entry

    def purge_expired(self) -> list[ArmedEntry[P]]:
        """Drop entries whose expiry passed (``match`` already skips them)."""
        now = self._clock()
        gone = [e for e in self._by_id.values() if e.expires_ts <= now]
        for entry in gone:
            self.remove(entry.target.id)
        return gone

    # -- rebuild ---------------------------------------------------------------------------------

    async def rebuild(
        self, source: ArmedTargetSource, now: datetime | None = None
    ) -> RebuildResult[P]:
        """Replace the content with the database's ARMED, unexpired targets."""
        if self._journal is not None:
            raise RuntimeError("a rebuild of the armed book is already running")
        self._journal = []
        try:
            targets = await source.list_armed(now, limit=self.max_total)
        finally:
            journal, self._journal = self._journal, None
        return self._replace(targets, journal)

    def _replace(
        self,
        targets: Iterable[SnipeTarget],
        journal: list[tuple[str, int, ArmedEntry[P] | None]],
    ) -> RebuildResult[P]:
        old = self._by_id
        self._by_id, self._by_mint, self._by_creator, self._filters = {}, {}, {}, {}
        self._per_user = {}
        added: list[ArmedEntry[P]] = []
        dropped: list[SnipeTarget] = []
        kept = 0
        for target in targets:
            if not target.is_armed:
                continue
            previous = old.get(target.id)
            if previous is not None and previous.target == target:
                entry = previous
                kept += 1
            else:
                entry = ArmedEntry(target)
                added.append(entry)
            if (
                self._per_user.get(target.user_id, 0) >= self.max_per_user
                or len(self._by_id) >= self.max_total
            ):
                dropped.append(target)
                if entry in added:
                    added.remove(entry)
                continue
            self._index(entry)
        for op, target_id, entry_or_none in journal:  # what happened during the read wins
            current = self._by_id.get(target_id)
            if current is not None:
                self._unindex(current)
                if current in added:
                    added.remove(current)
            if op == "add" and entry_or_none is not None:
                self._index(entry_or_none)
        removed = [e for i, e in old.items() if i not in self._by_id]
        if dropped:
            log.warning(
                "armed_book_over_bound",
                dropped=len(dropped),
                max_per_user=self.max_per_user,
                max_total=self.max_total,
            )
        return RebuildResult(added=added, removed=removed, kept=kept, dropped=dropped)

    # -- internals -------------------------------------------------------------------------------

    def _index(self, entry: ArmedEntry[P]) -> None:
        target = entry.target
        self._by_id[target.id] = entry
        self._per_user[target.user_id] = self._per_user.get(target.user_id, 0) + 1
        kind = target.selector
        if kind is SelectorKind.FILTER:
            self._filters[target.id] = entry
        elif kind is SelectorKind.CREATOR:
            assert target.creator is not None
            self._by_creator.setdefault(target.creator, {})[target.id] = entry
        else:
            self._by_mint.setdefault(target.token_mint, {})[target.id] = entry

    def _unindex(self, entry: ArmedEntry[P]) -> None:
        target = entry.target
        if self._by_id.pop(target.id, None) is None:
            return
        left = self._per_user[target.user_id] - 1
        if left:
            self._per_user[target.user_id] = left
        else:
            del self._per_user[target.user_id]
        self._filters.pop(target.id, None)
        for index, key in ((self._by_creator, target.creator), (self._by_mint, target.token_mint)):
            if key is None:
                continue
            bucket = index.get(key)
            if bucket is not None and bucket.pop(target.id, None) is not None and not bucket:
                del index[key]


class ArmedBookSync(Generic[P]):
    """Keeps one replica's ``ArmedBook`` equal to the others' and to the database.

    ``on_added`` is called with every entry that arrived without prepared state (another
    replica's arm, a rebuild), so the arming code can prepare it in the background."""

    def __init__(
        self,
        book: ArmedBook[P],
        channel: ArmedChannel,
        source: ArmedTargetSource,
        *,
        origin: str | None = None,
        rebuild_every_s: float = 300.0,
        rebuild_every_degraded_s: float = 10.0,
        on_added: Callable[[ArmedEntry[P]], None] | None = None,
        redis_available: Callable[[], bool] | None = None,
    ) -> None:
        self.book = book
        self.origin = origin or uuid.uuid4().hex
        self.rebuilds = 0
        self._channel = channel
        self._source = source
        self._every_s = rebuild_every_s
        self._every_degraded_s = rebuild_every_degraded_s
        self._on_added = on_added
        self._redis_available = redis_available or (lambda: channel.subscribed)
        self._lock = asyncio.Lock()

    # -- this replica's changes: book first, then the others --------------------------------------

    async def armed(self, target: SnipeTarget, prepared: P | None = None) -> ArmedEntry[P]:
        """A target stored ARMED in the database: index it and tell the other replicas."""
        entry = self.book.add(target, prepared)
        await self._channel.publish(ArmedEvent("arm", target.id, self.origin, target))
        return entry

    async def cancelled(self, target_id: int) -> ArmedEntry[P] | None:
        entry = self.book.remove(target_id)
        await self._channel.publish(ArmedEvent("cancel", target_id, self.origin))
        return entry

    async def fired(self, target_id: int) -> ArmedEntry[P] | None:
        entry = self.book.remove(target_id)
        await self._channel.publish(ArmedEvent("fire", target_id, self.origin))
        return entry

    # -- the others' changes ---------------------------------------------------------------------

    def apply(self, event: ArmedEvent) -> None:
        if event.origin == self.origin:
            return
        if event.kind == "arm" and event.target is not None:
            try:
                entry = self.book.add(event.target)
            except (BookFull, ValueError) as exc:
                log.warning("armed_event_refused", target_id=event.target_id, error=str(exc))
                return
            if entry.prepared is None and self._on_added is not None:
                self._on_added(entry)
        else:
            self.book.remove(event.target_id)

    async def rebuild(self) -> RebuildResult[P]:
        async with self._lock:
            result = await self.book.rebuild(self._source)
        self.rebuilds += 1
        log.info(
            "armed_book_rebuilt",
            size=len(self.book),
            added=len(result.added),
            removed=len(result.removed),
        )
        if self._on_added is not None:
            for entry in result.added:
                self._on_added(entry)
        return result

    async def run(self) -> None:
        """Until cancelled: listen on the channel (rebuilding at every subscription) and
        rebuild on a timer, often while Redis is gone, rarely while it delivers."""
        listener = asyncio.create_task(self._channel.run(self.apply, self._rebuild_quietly))
        try:
            elapsed = 0.0
            step = min(self._every_degraded_s, 1.0)
            while True:
                await asyncio.sleep(step)
                elapsed += step
                every = self._every_s if self._redis_available() else self._every_degraded_s
                if elapsed >= every:
                    elapsed = 0.0
                    await self._rebuild_quietly()
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _rebuild_quietly(self) -> None:
        try:
            await self.rebuild()
        except Exception:  # the database is down: keep the local book, the timer retries
            log.exception("armed_book_rebuild_failed")
