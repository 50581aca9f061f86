"""pump.fun launches and curve life from ``logsSubscribe`` mentions of the program (PROTOCOLS 3.3).

A successful ``create`` / ``create_v2`` logs ``Program log: Instruction: Create`` (``CreateV2``)
and the Anchor event as ``Program data: <base64(disc || borsh CreateEvent)>``; every buy and sell
logs a ``TradeEvent`` (reserves after the trade), the buy that empties the curve a
``CompleteEvent``. The decoders are wire facts (``sniper_bot.solana.pump_events``: current IDL
field order, trailing fields read as far as the bytes go); only lines the pump program wrote in
its own invocation count (Raydium LaunchLab's ``TradeEvent`` has the same discriminator).

``PumpFunListener.decode`` returns the ``LaunchEvent`` of a create (``None`` for anything else)
and folds every create, trade and completion into ``curves`` (a bounded ``CurveBook``: progress
per coin without polling), handing each ``CurveUpdate`` to ``on_curve`` when one is set. Failed
transactions (``err`` not null) are neither launches nor trades.

Graduations: the pump program's ``migrate`` / ``migrate_v2`` moves a complete curve to its
canonical PumpSwap pool inside one transaction that mentions the pump program, so it reaches this
subscription too. Its logs carry pump's ``CompletePumpAmmMigrationEvent`` (mint, pool, quote
mint) and PumpSwap's ``CreatePoolEvent`` (base and quote mints, pool, coin creator) as ``Program
data:`` lines of each program's own invocation (``migration_from_logs``); either one is a
``pumpswap`` ``LaunchEvent`` of the mint (SOL pairs only), with no request in between. A
``Migrate`` logged without a decodable event (truncated logs, events emitted only as CPIs) goes to
the ``MigrationResolver`` when one is given: it fetches the transaction (``getTransaction``,
retried while it is not confirmed yet) and decodes the pool from the instructions as the Geyser
listener does (``detection.instructions``), then hands the launch to the detector as a
WebSocket sighting.

``on_create`` (the hot path, ``hotpath.sniper.HotSniper.on_create``) gets every create as a
``CreateSeen`` before anything else is done with the notification: the decoded ``CreateEvent``
(its reserves), the instruction that logged it and every trade of the coin in the same
transaction (``trades``: the dev buy and any other wallet's bundled buy, which the risk decision
weighs; the last one's reserves are the curve's before anyone else can buy).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

import base58
import structlog
from solders.pubkey import Pubkey

from sniper_bot.chain.types import Commitment
from sniper_bot.chain.ws import Notification
from sniper_bot.detection.base import DecodeError, LaunchListener, Subscriptions, require_dict
from sniper_bot.detection.curves import CurveBook
from sniper_bot.detection.instructions import PoolCreate, decode_instructions, flatten
from sniper_bot.domain.launch import CurveUpdate, LaunchEvent, LaunchSource
from sniper_bot.domain.money import WSOL_MINT
from sniper_bot.solana.layouts.base import BorshReader
from sniper_bot.solana.programs import PUMP_AMM_PROGRAM_ID, PUMP_PROGRAM_ID
from sniper_bot.solana.pump_events import (
    CREATE_EVENT_DISCRIMINATOR,
    CREATE_INSTRUCTIONS,
    CompleteEvent,
    CreateEvent,
    EventLayoutError,
    LoggedEvent,
    TradeEvent,
    decode_create_event,
    event_discriminator,
    pump_log_events,
)

__all__ = [
    "CREATE_EVENT_DISCRIMINATOR",
    "CreateEvent",
    "CreateSeen",
    "MigrationLogs",
    "MigrationResolver",
    "PoolSeen",
    "PumpFunListener",
    "create_event_from_logs",
    "curve_updates",
    "migration_from_logs",
    "parse_create_event",
    "pools_of_transaction",
]

log = structlog.get_logger(__name__)

CurveSink = Callable[[CurveUpdate], None]


@dataclass(frozen=True, slots=True)
class CreateSeen:
    """A pump.fun create as the hot path needs it. ``trades``: every ``TradeEvent`` of the same
    mint in the same transaction after the create, in order (the dev buy, bundled buys by other
    wallets); ``last_trade`` the last of them, whose reserves are the curve's after it."""

    event: CreateEvent
    instruction: str | None
    slot: int | None
    signature: str | None
    seen_at: float
    trades: tuple[TradeEvent, ...] = ()

    @property
    def last_trade(self) -> TradeEvent | None:
        return self.trades[-1] if self.trades else None


CreateSink = Callable[[CreateSeen], None]


def parse_create_event(data: bytes) -> CreateEvent:
    """Discriminator + borsh fields; raises ``DecodeError`` (and nothing else) when malformed."""
    try:
        return decode_create_event(data)
    except EventLayoutError as exc:
        raise DecodeError(f"CreateEvent: {exc}") from exc


def _pump_events(logs: list[Any], program: Pubkey) -> tuple[list[LoggedEvent], list[str]]:
    try:
        return pump_log_events(logs, program)
    except EventLayoutError as exc:
        raise DecodeError(f"pump.fun event: {exc}") from exc


def create_event_from_logs(
    logs: list[Any], program: Pubkey = PUMP_PROGRAM_ID
) -> CreateEvent | None:
    """The CreateEvent of a ``create``/``create_v2`` transaction's logs; ``None`` when the pump
    program logged no create; ``DecodeError`` when it logged one without a decodable event."""
    events, instructions = _pump_events(logs, program)
    return _create_of(events, instructions)


def _create_of(events: list[LoggedEvent], instructions: list[str]) -> CreateEvent | None:
    for logged in events:
        if isinstance(logged.event, CreateEvent):
            return logged.event
    if any(name in CREATE_INSTRUCTIONS for name in instructions):
        raise DecodeError("a Create instruction was logged without a decodable CreateEvent")
    return None


def curve_updates(
    events: list[LoggedEvent], slot: int | None, signature: str | None, seen_at: float
) -> list[CurveUpdate]:
    """The curve steps these events tell, in log order (pure)."""
    out: list[CurveUpdate] = []
    for logged in events:
        e = logged.event
        if isinstance(e, CreateEvent):
            vsol = (
                e.virtual_quote_reserves
                if e.virtual_sol_reserves is None
                else e.virtual_sol_reserves
            )
            out.append(CurveUpdate(
                "create", str(e.mint), vsol, e.virtual_token_reserves,
                0 if vsol is not None else None, e.real_token_reserves, False, slot, signature,
                seen_at, initial_real_token_reserves=e.real_token_reserves,
                token_total_supply=e.token_total_supply, user=str(e.user),
            ))  # fmt: skip
        elif isinstance(e, TradeEvent):
            out.append(CurveUpdate(
                "trade", str(e.mint), e.virtual_sol_reserves, e.virtual_token_reserves,
                e.real_sol_reserves, e.real_token_reserves, False, slot, signature, seen_at,
                is_buy=e.is_buy, sol_amount=e.sol_amount, token_amount=e.token_amount,
                user=str(e.user), creator=None if e.creator is None else str(e.creator),
            ))  # fmt: skip
        elif isinstance(e, CompleteEvent):
            out.append(CurveUpdate(
                "complete", str(e.mint), None, None, None, None, True, slot, signature, seen_at,
                user=str(e.user),
            ))  # fmt: skip
    return out


# --- graduations (migrate -> the canonical PumpSwap pool) --------------------------------------
CREATE_POOL_EVENT_DISCRIMINATOR: Final = event_discriminator("CreatePoolEvent")  # PumpSwap
MIGRATION_EVENT_DISCRIMINATOR: Final = event_discriminator("CompletePumpAmmMigrationEvent")
MIGRATE_INSTRUCTIONS: Final = frozenset({"Migrate", "MigrateV2"})
_WSOL: Final = Pubkey.from_string(WSOL_MINT)
_ZERO: Final = Pubkey.default()
_DATA: Final = "Program data: "
_INSTRUCTION: Final = "Program log: Instruction: "


@dataclass(frozen=True, slots=True)
class PoolSeen:
    """A PumpSwap pool of ``mint`` (the non-WSOL side) told by a transaction's logs."""

    mint: Pubkey
    pool: Pubkey
    coin_creator: Pubkey | None  # CreatePoolEvent's (the curve's creator); None when untold
    event: str  # "CompletePumpAmmMigrationEvent" | "CreatePoolEvent"


@dataclass(frozen=True, slots=True)
class MigrationLogs:
    """``migrated``: the pump program logged ``Migrate`` / ``MigrateV2`` in its own invocation;
    ``pools``: the SOL-pair PumpSwap pools the decodable events name, first mention first."""

    migrated: bool
    pools: tuple[PoolSeen, ...]


def _event_reader(raw: bytes) -> BorshReader:
    return BorshReader(raw, error=ValueError, short="event ends at {have}, field needs {need}")


def _create_pool_event(raw: bytes) -> PoolSeen | None:
    """PumpSwap ``CreatePoolEvent`` (pump_amm.json field order); ``None`` for another pair."""
    r = _event_reader(raw)
    r.i64()  # timestamp
    r.u16()  # index
    r.pubkey()  # creator (the pool authority of a migration)
    base, quote = r.pubkey(), r.pubkey()
    r.take(2)  # base / quote decimals
    r.take(7 * 8)  # base/quote amount in, pool base/quote, minimum/initial liquidity, lp out
    r.u8()  # pool bump
    pool = r.pubkey()
    r.pubkeys(3)  # lp mint, user base / quote token accounts
    creator: Pubkey | None = None
    if len(raw) >= r.pos + 32:  # coin_creator: a later field of the event
        creator = r.pubkey()
        creator = None if creator == _ZERO else creator
    mint = _sol_side(base, quote)
    return None if mint is None else PoolSeen(mint, pool, creator, "CreatePoolEvent")


def _migration_event(raw: bytes) -> PoolSeen | None:
    """pump ``CompletePumpAmmMigrationEvent`` (pump.json); ``quote_mint`` trails (WSOL when an
    older event ends before it)."""
    r = _event_reader(raw)
    r.pubkey()  # user
    mint = r.pubkey()
    r.take(3 * 8)  # mint amount, sol amount, pool migration fee
    r.pubkey()  # bonding curve
    r.i64()  # timestamp
    pool = r.pubkey()
    quote = r.pubkey() if len(raw) >= r.pos + 32 else _WSOL
    if quote != _WSOL or mint == _WSOL:
        return None
    return PoolSeen(mint, pool, None, "CompletePumpAmmMigrationEvent")


def _sol_side(a: Pubkey, b: Pubkey) -> Pubkey | None:
    if b == _WSOL and a != _WSOL:
        return a
    if a == _WSOL and b != _WSOL:
        return b
    return None


def _add(pools: list[PoolSeen], seen: PoolSeen) -> None:
    """One pool told by both events is one pool: the first word kept, a missing creator filled."""
    for i, known in enumerate(pools):
        if known.pool == seen.pool:
            if known.coin_creator is None and seen.coin_creator is not None:
                pools[i] = replace(known, coin_creator=seen.coin_creator)
            return
    pools.append(seen)


def migration_from_logs(
    logs: Sequence[object], program: Pubkey = PUMP_PROGRAM_ID, amm: Pubkey = PUMP_AMM_PROGRAM_ID
) -> MigrationLogs:
    """The migration these logs tell (pure). Only lines each program wrote in its own invocation
    count; an event line that does not decode is skipped (the resolver reads the instructions)."""
    pump, pumpswap = str(program), str(amm)
    stack: list[str] = []
    migrated = False
    pools: list[PoolSeen] = []
    for line in logs:
        if not isinstance(line, str):
            continue
        if line.startswith("Program ") and " invoke [" in line:
            stack.append(line.split(" ", 2)[1])
            continue
        if line.startswith("Program ") and (line.endswith(" success") or " failed" in line):
            exiting = line.split(" ", 2)[1]
            while stack:
                if stack.pop() == exiting:
                    break
            continue
        if not stack or stack[-1] not in (pump, pumpswap):
            continue
        if line.startswith(_INSTRUCTION):
            if stack[-1] == pump and line[len(_INSTRUCTION) :].strip() in MIGRATE_INSTRUCTIONS:
                migrated = True
            continue
        if not line.startswith(_DATA):
            continue
        try:
            raw = base64.b64decode(line[len(_DATA) :], validate=True)
        except (binascii.Error, ValueError):
            continue
        head = raw[:8]
        decoder = None
        if stack[-1] == pump and head == MIGRATION_EVENT_DISCRIMINATOR:
            decoder = _migration_event
        elif stack[-1] == pumpswap and head == CREATE_POOL_EVENT_DISCRIMINATOR:
            decoder = _create_pool_event
        if decoder is None:
            continue
        try:
            seen = decoder(raw)
        except ValueError as exc:
            log.warning("pumpswap_event_undecodable", reason=str(exc)[:200])
            continue
        if seen is not None:
            _add(pools, seen)
    return MigrationLogs(migrated, tuple(pools))


def pools_of_transaction(result: Any) -> list[PoolCreate]:
    """The pools a ``getTransaction`` result (``encoding: "json"``) creates, decoded from its
    instructions and inner instructions as the Geyser listener does; ``DecodeError`` when the
    result is not a transaction."""
    tx = require_dict(result, "getTransaction result")
    meta = require_dict(tx.get("meta"), "getTransaction meta")
    message = require_dict(require_dict(tx.get("transaction"), "transaction").get("message"),
                           "transaction message")  # fmt: skip
    loaded = meta.get("loadedAddresses") or {}

    def keys(values: Any) -> list[bytes]:
        if not isinstance(values, list):
            raise DecodeError("account keys are not a list")
        try:
            return [bytes(Pubkey.from_string(str(k))) for k in values]
        except ValueError as exc:
            raise DecodeError(f"account key: {exc}") from exc

    def raw(ix: Any) -> tuple[int, bytes, bytes]:
        ix = require_dict(ix, "instruction")
        try:
            return (
                int(ix["programIdIndex"]),
                bytes(int(a) for a in ix["accounts"]),
                base58.b58decode(str(ix["data"])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DecodeError(f"instruction: {exc!r}") from exc

    inner = [
        (int(require_dict(g, "inner instructions")["index"]), [raw(i) for i in g["instructions"]])
        for g in meta.get("innerInstructions") or []
    ]
    ixs = flatten(
        keys(message.get("accountKeys")), keys(loaded.get("writable") or []),
        keys(loaded.get("readonly") or []), [raw(i) for i in message.get("instructions") or []],
        inner,
    )  # fmt: skip
    return decode_instructions(ixs).pools


Fetch = Callable[[str], Awaitable[Any]]  # signature -> getTransaction result (json) or None
_LaunchSink = Callable[[LaunchEvent], Awaitable[None]]


class MigrationResolver:
    """The launches of migrations whose logs did not name the pool: ``submit`` queues the
    signature, ``run`` (a detector feed, ``LaunchDetector(feeds=[...])``) fetches the transaction
    (``None`` until it is confirmed: asked again every ``retry_s`` up to ``attempts`` times) and
    hands each PumpSwap pool it creates to the detector as a WebSocket sighting. The queue is
    bounded (``max_pending``): migrations are rare, a flood of them is dropped and logged."""

    source: Final = "websocket"  # detector.WEBSOCKET: these are the logs subscription's finds

    def __init__(
        self, fetch: Fetch, *, attempts: int = 20, retry_s: float = 0.5, max_pending: int = 1_000
    ) -> None:
        self._fetch = fetch
        self._attempts = attempts
        self._retry_s = retry_s
        self._queue: asyncio.Queue[tuple[str, int | None, float, str]] = asyncio.Queue(max_pending)
        self.resolved = 0
        self.unresolved = 0

    def submit(self, signature: str, slot: int | None, seen_at: float, endpoint: str) -> None:
        try:
            self._queue.put_nowait((signature, slot, seen_at, endpoint))
        except asyncio.QueueFull:
            self.unresolved += 1
            log.warning("migration_dropped", signature=signature, reason="queue full")

    async def run(self, sink: _LaunchSink) -> None:
        async with asyncio.TaskGroup() as group:
            while True:
                item = await self._queue.get()
                group.create_task(self._resolve(item, sink))

    async def _resolve(self, item: tuple[str, int | None, float, str], sink: _LaunchSink) -> None:
        signature, slot, seen_at, endpoint = item
        for attempt in range(self._attempts):
            try:
                result = await self._fetch(signature)
                pools = [] if result is None else pools_of_transaction(result)
            except Exception as exc:  # a failed read or an odd answer: asked again, then dropped
                log.warning("migration_fetch_failed", signature=signature, error=repr(exc)[:200])
                result, pools = None, []
            if result is not None:
                break
            if attempt + 1 < self._attempts:
                await asyncio.sleep(self._retry_s)
        else:
            self.unresolved += 1
            log.warning("migration_unresolved", signature=signature, attempts=self._attempts)
            return
        for pool in pools:
            if pool.source != "pumpswap":
                continue
            self.resolved += 1
            await sink(LaunchEvent(
                source="pumpswap", mint=str(pool.mint), pool=str(pool.pool),
                creator=None if pool.creator is None else str(pool.creator), slot=slot,
                signature=signature, seen_at=seen_at, endpoint=endpoint,
            ))  # fmt: skip


class PumpFunListener(LaunchListener):
    source: LaunchSource = "pumpfun"

    def __init__(
        self,
        key: str = "launch:pumpfun",
        commitment: Commitment = "processed",
        program: Pubkey = PUMP_PROGRAM_ID,
        *,
        curves: CurveBook | None = None,
        on_curve: CurveSink | None = None,
        on_create: CreateSink | None = None,
        migrations: MigrationResolver | None = None,
        amm: Pubkey = PUMP_AMM_PROGRAM_ID,
    ) -> None:
        super().__init__(key, commitment)
        self.program = program
        self.amm = amm
        self.migrations = migrations
        self.curves = curves if curves is not None else CurveBook()
        self.on_curve = on_curve
        self.on_create = on_create

    async def subscribe(self, subscriptions: Subscriptions) -> None:
        await subscriptions.logs_subscribe(
            self.key, mentions=self.program, commitment=self.commitment
        )

    def decode(self, note: Notification, seen_at: float) -> LaunchEvent | None:
        value = require_dict(note.value, "logs notification value")
        if value.get("err") is not None:
            return None  # failed transactions are delivered too; nothing was created or traded
        logs = value.get("logs")
        if not isinstance(logs, list):
            raise DecodeError("logs notification without a logs list")
        events, instructions = _pump_events(logs, self.program)
        signature = value.get("signature")
        sig = signature if isinstance(signature, str) else None
        if self.on_create is not None:
            self._hand_create(events, instructions, note.slot, sig, seen_at)
        for update in curve_updates(events, note.slot, sig, seen_at):
            self.curves.apply(update)
            if self.on_curve is not None:
                try:
                    self.on_curve(update)
                except Exception as exc:  # a consumer's failure never stops detection
                    log.warning("curve_sink_failed", mint=update.mint, error=repr(exc))
        event = _create_of(events, instructions)
        if event is None:
            return self._graduation(logs, note, sig, seen_at)
        return LaunchEvent(
            source=self.source,
            mint=str(event.mint),
            pool=str(event.bonding_curve),
            creator=str(event.creator or event.user),
            slot=note.slot,
            signature=sig,
            seen_at=seen_at,
            endpoint=note.endpoint,
        )

    def _graduation(
        self, logs: list[Any], note: Notification, sig: str | None, seen_at: float
    ) -> LaunchEvent | None:
        """The PumpSwap pool a ``migrate`` in these logs created (the first one told); a
        migration without a decodable event goes to the resolver."""
        found = migration_from_logs(logs, self.program, self.amm)
        if found.pools:
            pool = found.pools[0]
            return LaunchEvent(
                source="pumpswap",
                mint=str(pool.mint),
                pool=str(pool.pool),
                creator=None if pool.coin_creator is None else str(pool.coin_creator),
                slot=note.slot,
                signature=sig,
                seen_at=seen_at,
                endpoint=note.endpoint,
            )
        if found.migrated:
            if self.migrations is not None and sig is not None:
                self.migrations.submit(sig, note.slot, seen_at, note.endpoint)
            else:
                log.warning("migration_without_pool_event", signature=sig)
        return None

    def _hand_create(
        self, events: list[LoggedEvent], instructions: list[str], slot: int | None,
        sig: str | None, seen_at: float,
    ) -> None:  # fmt: skip
        assert self.on_create is not None
        for index, logged in enumerate(events):
            create = logged.event
            if not isinstance(create, CreateEvent):
                continue
            trades = tuple(
                later.event for later in events[index + 1 :]
                if isinstance(later.event, TradeEvent) and later.event.mint == create.mint
            )  # fmt: skip
            seen = CreateSeen(create, logged.instruction, slot, sig, seen_at, trades)
            try:
                self.on_create(seen)
            except Exception as exc:  # the hot path's failure never stops detection
                log.warning("create_sink_failed", mint=str(create.mint), error=repr(exc))
            return
