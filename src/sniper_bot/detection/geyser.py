"""``GeyserListener``: launches, curve steps and watched accounts from a Yellowstone gRPC stream.

    listener = GeyserListener(GeyserConfig(endpoint, x_token), metrics, on_create=hot.on_create)
    detector = LaunchDetector(manager, ws_listeners, metrics, feeds=[listener])   # de-dup
    listener.watch([bonding_curve_of_a_position])                                 # positions

The only module of the bot that imports ``grpc`` and ``yellowstone_proto`` (import-linter).

One bidirectional ``Geyser.Subscribe`` stream (``grpc.aio``, the ``x-token`` header on every
call) at ``processed`` commitment with:

* transactions mentioning the pump.fun program, and those mentioning PumpSwap or Raydium (AMM v4,
  CPMM), both ``vote=false, failed=false``;
* accounts: Raydium v4 ``AmmInfo`` accounts (``datasize 752``, as the WebSocket listener's
  ``programSubscribe``), pump's ``Global`` (the curve genesis a create opens with) and the
  accounts ``watch`` names (positions' bonding curves: their reserves after every trade);
* slots (the stream's progress, also while nothing of ours happens).

A transaction is decoded from its instructions and inner instructions (``detection.instructions``),
so a create is seen with the logs truncated or absent; the events (Anchor event CPIs, else the
``Program data:`` logs, as the WebSocket listener reads them) give the exact reserves when
present. What comes out is what the WebSocket listeners emit: a ``LaunchEvent`` per create or
pool (``endpoint="geyser"``), a ``CurveUpdate`` per curve step (``on_curve``, ``curves``), a
``CreateSeen`` per create for the hot path (``on_create``).

Pings: the server's keep-alive ``ping`` updates are answered with a ``ping`` request. A stream
that ends or fails (the server dropped it, told us we were too slow, the network) is reopened
after a backoff with ``from_slot`` = the last slot seen, so nothing in between is missed; what the
replay repeats is dropped (signatures and account writes already handled, bounded LRUs). A
server that no longer has that slot (``from_slot`` refused) is resubscribed without it and the gap
is logged (``geyser_reconnects{reason="replay_refused"}``).

``GEYSER_X_TOKEN`` is a secret: it is sent as call metadata only and never logged or put in an
error (``repr`` of the config hides it).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

import base58
import grpc
import structlog
from solders.pubkey import Pubkey

from sniper_bot.detection.base import DecodeError
from sniper_bot.detection.curves import CurveBook
from sniper_bot.detection.instructions import (
    MAINNET_GENESIS,
    CurveGenesis,
    PumpCreate,
    TxFacts,
    curve_trade,
    decode_instructions,
    flatten,
)
from sniper_bot.detection.pumpfun import CreateSeen, curve_updates
from sniper_bot.domain.launch import CurveUpdate, LaunchEvent
from sniper_bot.domain.money import WSOL_MINT
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience.backoff import Backoff
from sniper_bot.resilience.lru import LruCache
from sniper_bot.solana import pumpfun as pf
from sniper_bot.solana.layouts import ParseError
from sniper_bot.solana.layouts.raydium import RAYDIUM_V4_LEN, parse_raydium_v4
from sniper_bot.solana.programs import (
    PUMP_AMM_PROGRAM,
    PUMP_PROGRAM,
    RAYDIUM_CPMM_PROGRAM,
    RAYDIUM_V4_PROGRAM,
)
from sniper_bot.solana.pump_events import (
    CreateEvent,
    EventLayoutError,
    LoggedEvent,
    TradeEvent,
    pump_log_events,
)
from yellowstone_proto import geyser_pb2 as pb
from yellowstone_proto import geyser_pb2_grpc as pb_grpc

__all__ = [
    "ENDPOINT_LABEL",
    "AccountUpdate",
    "GeyserConfig",
    "GeyserConfigError",
    "GeyserListener",
    "parse_endpoint",
]

log = structlog.get_logger(__name__)

ENDPOINT_LABEL: Final = "geyser"  # LaunchEvent.endpoint of what this feed saw first
_NOT_TRADABLE: Final = frozenset({0, 2, 3})  # AmmInfo statuses that are no launch
_MAX_MESSAGE: Final = 64 * 1024 * 1024
_REPLAY_REFUSED: Final = frozenset({grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.OUT_OF_RANGE})

CurveSink = Callable[[CurveUpdate], None]
CreateSink = Callable[[CreateSeen], None]
LaunchSink = Callable[[LaunchEvent], Awaitable[None]]


class GeyserConfigError(ValueError):
    """GEYSER_ENDPOINT is not a usable gRPC target (the message says why, never the token)."""


def parse_endpoint(endpoint: str) -> tuple[str, bool]:
    """``(target, tls)`` of ``host:port`` (TLS), ``https://host[:port]`` (TLS, 443 by default)
    or ``http://host:port`` (plaintext: a local or private endpoint)."""
    text = endpoint.strip()
    if not text:
        raise GeyserConfigError("GEYSER_ENDPOINT is empty; expected host:port")
    tls = True
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https"):
            raise GeyserConfigError(f"GEYSER_ENDPOINT scheme {parts.scheme!r}; expected https "
                                    "or http")  # fmt: skip
        if parts.username or parts.password or parts.query or parts.path not in ("", "/"):
            raise GeyserConfigError(
                "GEYSER_ENDPOINT carries a path, query or credentials; expected host:port (the "
                "token goes in GEYSER_X_TOKEN)"
            )
        tls = parts.scheme == "https"
        host = parts.hostname or ""
        try:
            port = parts.port or (443 if tls else None)
        except ValueError:
            raise GeyserConfigError("GEYSER_ENDPOINT port is not a number") from None
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep or not port_text.isdigit():
            raise GeyserConfigError("GEYSER_ENDPOINT has no port; expected host:port")
        port = int(port_text)
    if not host or port is None or not 0 < port < 65_536:
        raise GeyserConfigError("GEYSER_ENDPOINT needs a host and a port from 1 to 65535")
    return f"{host}:{port}", tls


@dataclass(frozen=True, slots=True)
class GeyserConfig:
    endpoint: str
    x_token: str = field(default="", repr=False)  # secret: metadata only, never logged
    backoff: Backoff = field(
        default_factory=lambda: Backoff(base_s=0.2, factor=2.0, max_s=10.0, jitter=0.2)
    )
    watch_raydium_accounts: bool = True
    dedup_signatures: int = 200_000

    def __post_init__(self) -> None:
        parse_endpoint(self.endpoint)


@dataclass(frozen=True, slots=True)
class AccountUpdate:
    """A watched account's write as the stream delivered it (keys base58, data raw)."""

    pubkey: str
    owner: str
    lamports: int
    data: bytes
    slot: int
    write_version: int


AccountSink = Callable[[AccountUpdate], None]


@dataclass(slots=True)
class _Decoded:
    launches: list[LaunchEvent] = field(default_factory=list)
    curves: list[CurveUpdate] = field(default_factory=list)
    creates: list[CreateSeen] = field(default_factory=list)


class GeyserListener:
    """A launch feed (``engine.ports.LaunchFeed``): ``run(sink)`` until cancelled."""

    source: Final = "geyser"  # the feed's name in launch_first_seen_total{source}

    def __init__(
        self,
        config: GeyserConfig,
        metrics: Metrics,
        *,
        curves: CurveBook | None = None,
        on_curve: CurveSink | None = None,
        on_create: CreateSink | None = None,
        on_account: AccountSink | None = None,
        genesis: CurveGenesis = MAINNET_GENESIS,
        watch: Iterable[str] = (),
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.target, self.tls = parse_endpoint(config.endpoint)
        self._metrics = metrics
        self.curves = curves if curves is not None else CurveBook()
        self.on_curve = on_curve
        self.on_create = on_create
        self.on_account = on_account
        self.genesis = genesis
        self._watched: set[str] = {str(Pubkey.from_string(a)) for a in watch}
        self._curve_mints: dict[str, str] = {}  # watched bonding curve -> its mint
        self._clock = clock
        self._rng = rng or random.Random()
        self._signatures: LruCache[bytes, bool] = LruCache(config.dedup_signatures, clock)
        self._writes: LruCache[tuple[bytes, int], bool] = LruCache(config.dedup_signatures, clock)
        self._requests: asyncio.Queue[pb.SubscribeRequest] | None = None
        self._ping_id = 0
        # progress, for `sniper-bot feeds` and the resume point
        self.last_slot: int | None = None
        self.last_update_at: float | None = None
        self.lag_s: float | None = None  # server's created_at -> our receipt, last update
        self.reconnects = 0
        self.resumed_from: int | None = None  # the from_slot of the latest subscription
        self.duplicates = 0
        self.malformed = 0
        self.connected = asyncio.Event()

    # -- subscription --------------------------------------------------------------------------

    def watch(self, accounts: Iterable[str]) -> None:
        """Add accounts to the ``positions`` filter (sent at once on a live stream)."""
        added = {str(Pubkey.from_string(a)) for a in accounts} - self._watched
        if added:
            self._watched |= added
            self._resubscribe()

    def watch_positions(self, mints: Iterable[str]) -> list[str]:
        """Watch the bonding curves of these mints (positions still on their curve): every
        write becomes a ``CurveUpdate`` with the curve's exact reserves. Returns the curves."""
        curves = []
        for mint in mints:
            curve = str(pf.bonding_curve_address(Pubkey.from_string(mint)))
            self._curve_mints[curve] = mint
            curves.append(curve)
        self.watch(curves)
        return curves

    def unwatch(self, accounts: Iterable[str]) -> None:
        gone = {str(a) for a in accounts} & self._watched
        if gone:
            self._watched -= gone
            for curve in gone:
                self._curve_mints.pop(curve, None)
            self._resubscribe()

    def _resubscribe(self) -> None:
        if self._requests is not None:
            self._requests.put_nowait(self.subscribe_request(None))

    def subscribe_request(self, from_slot: int | None) -> pb.SubscribeRequest:
        tx = pb.SubscribeRequestFilterTransactions
        request = pb.SubscribeRequest(
            transactions={
                "pumpfun": tx(vote=False, failed=False, account_include=[PUMP_PROGRAM]),
                "pools": tx(vote=False, failed=False, account_include=[
                    PUMP_AMM_PROGRAM, RAYDIUM_V4_PROGRAM, RAYDIUM_CPMM_PROGRAM]),
            },
            accounts={"pump_global": pb.SubscribeRequestFilterAccounts(account=[str(pf.GLOBAL)])},
            slots={"slots": pb.SubscribeRequestFilterSlots(filter_by_commitment=True)},
            commitment=pb.CommitmentLevel.PROCESSED,
        )  # fmt: skip
        if self.config.watch_raydium_accounts:
            request.accounts["raydium_v4"].CopyFrom(pb.SubscribeRequestFilterAccounts(
                owner=[RAYDIUM_V4_PROGRAM],
                filters=[pb.SubscribeRequestFilterAccountsFilter(datasize=RAYDIUM_V4_LEN)],
            ))  # fmt: skip
        if self._watched:
            request.accounts["positions"].CopyFrom(
                pb.SubscribeRequestFilterAccounts(account=sorted(self._watched))
            )
        if from_slot is not None:
            request.from_slot = from_slot
        return request

    # -- the stream ----------------------------------------------------------------------------

    def _channel(self) -> grpc.aio.Channel:
        options = [
            ("grpc.max_receive_message_length", _MAX_MESSAGE),
            ("grpc.keepalive_time_ms", 15_000),
            ("grpc.keepalive_timeout_ms", 5_000),
            ("grpc.keepalive_permit_without_calls", 1),
        ]
        if self.tls:
            return grpc.aio.secure_channel(self.target, grpc.ssl_channel_credentials(), options)
        return grpc.aio.insecure_channel(self.target, options)

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        token = self.config.x_token
        return (("x-token", token),) if token else ()

    async def run(self, sink: LaunchSink) -> None:
        """Stream, decode and hand every launch to ``sink`` until cancelled; reconnects."""
        attempt = 0
        resume = True
        while True:
            # one slot back: a slot's status may be told before all of its transactions were
            # sent; what the replay repeats is dropped by signature / write version
            from_slot = max(0, self.last_slot - 1) if resume and self.last_slot else None
            resume = True
            self.resumed_from = from_slot
            received = 0
            try:
                received = await self._stream(sink, from_slot)
                reason = "ended"
            except grpc.aio.AioRpcError as exc:
                code = exc.code()
                reason = code.name.lower()
                if from_slot is not None and code in _REPLAY_REFUSED:
                    reason, resume = "replay_refused", False
                    log.warning("geyser_replay_refused", from_slot=from_slot,
                                detail=(exc.details() or "")[:200])  # fmt: skip
                elif code == grpc.StatusCode.UNAUTHENTICATED:
                    log.error("geyser_unauthenticated", target=self.target,
                              hint="check GEYSER_X_TOKEN")  # fmt: skip
                else:
                    log.warning("geyser_stream_failed", target=self.target, code=code.name,
                                detail=(exc.details() or "")[:200])  # fmt: skip
            finally:
                self.connected.clear()
                self._requests = None
            self.reconnects += 1
            self._metrics.geyser_reconnects.labels(reason=reason).inc()
            attempt = 0 if received else attempt + 1
            await asyncio.sleep(self.config.backoff.delay(attempt, self._rng))

    async def _stream(self, sink: LaunchSink, from_slot: int | None) -> int:
        requests: asyncio.Queue[pb.SubscribeRequest] = asyncio.Queue()
        requests.put_nowait(self.subscribe_request(from_slot))
        self._requests = requests

        async def outgoing() -> AsyncIterator[pb.SubscribeRequest]:
            while True:
                yield await requests.get()

        received = 0
        async with self._channel() as channel:
            stub = pb_grpc.GeyserStub(channel)
            call = stub.Subscribe(outgoing(), metadata=self._metadata())
            log.info("geyser_subscribing", target=self.target, from_slot=from_slot,
                     watched=len(self._watched))  # fmt: skip
            async for update in call:
                if not self.connected.is_set():
                    self.connected.set()
                received += 1
                await self._on_update(update, sink)
        return received

    async def _on_update(self, update: pb.SubscribeUpdate, sink: LaunchSink) -> None:
        now = self._clock()
        self.last_update_at = now
        if update.HasField("created_at"):
            self.lag_s = max(0.0, time.time() - update.created_at.ToDatetime().timestamp())
        kind = update.WhichOneof("update_oneof")
        if kind == "ping":
            self._ping_id = (self._ping_id + 1) % 2**31
            if self._requests is not None:
                self._requests.put_nowait(
                    pb.SubscribeRequest(ping=pb.SubscribeRequestPing(id=self._ping_id))
                )
            self._metrics.geyser_updates.labels(kind="ping").inc()
            return
        if kind == "pong" or kind is None:
            return
        try:
            decoded = self.decode(update, now)
        except (DecodeError, ValueError, TypeError, IndexError) as exc:
            self.malformed += 1
            self._metrics.geyser_updates.labels(kind="malformed").inc()
            log.warning("geyser_malformed", kind=kind, reason=str(exc)[:200])
            return
        if decoded is None:
            self.duplicates += 1
            self._metrics.geyser_updates.labels(kind="duplicate").inc()
            return
        self._metrics.geyser_updates.labels(kind=kind).inc()
        self._deliver(decoded)
        for event in decoded.launches:
            try:
                await sink(event)
            except Exception as exc:  # the consumer's failure must not stop the stream
                log.error("launch_sink_failed", mint=event.mint, error=repr(exc))

    def _deliver(self, decoded: _Decoded) -> None:
        if self.on_create is not None:
            for seen in decoded.creates:
                try:
                    self.on_create(seen)
                except Exception as exc:  # the hot path's failure never stops detection
                    log.warning("create_sink_failed", mint=str(seen.event.mint), error=repr(exc))
        for curve in decoded.curves:
            self.curves.apply(curve)
            if self.on_curve is not None:
                try:
                    self.on_curve(curve)
                except Exception as exc:
                    log.warning("curve_sink_failed", mint=curve.mint, error=repr(exc))

    # -- decoding (pure but for the de-dup memory and the progress) -----------------------------

    def decode(self, update: pb.SubscribeUpdate, seen_at: float) -> _Decoded | None:
        """What one update says; ``None`` for a copy already handled (a replay)."""
        kind = update.WhichOneof("update_oneof")
        if kind == "transaction":
            return self._transaction(update.transaction, seen_at)
        if kind == "account":
            return self._account(update.account, seen_at)
        if kind == "slot":
            self._advance(update.slot.slot)
        return _Decoded()

    def _advance(self, slot: int) -> None:
        if self.last_slot is None or slot > self.last_slot:
            self.last_slot = slot
            self._metrics.geyser_slot.set(slot)

    def _transaction(self, tx: pb.SubscribeUpdateTransaction, seen_at: float) -> _Decoded | None:
        info = tx.transaction
        signature = bytes(info.signature)
        if self._signatures.get(signature) is not None:
            return None
        self._signatures.set(signature, True)
        self._advance(tx.slot)
        out = _Decoded()
        meta = info.meta
        if info.is_vote or (meta.HasField("err") and meta.err.err):
            return out  # a failed transaction created and traded nothing
        message = info.transaction.message
        ixs = flatten(
            message.account_keys, meta.loaded_writable_addresses, meta.loaded_readonly_addresses,
            [(i.program_id_index, i.accounts, i.data) for i in message.instructions],
            [(g.index, [(i.program_id_index, i.accounts, i.data) for i in g.instructions])
             for g in meta.inner_instructions],
        )  # fmt: skip
        facts = decode_instructions(ixs, self.genesis)
        sig = base58.b58encode(signature).decode()
        events = self._events(facts, meta)
        self._creates(facts, events, meta, ixs_keys(message, meta), tx.slot, sig, seen_at, out)
        out.curves.extend(curve_updates(events, tx.slot, sig, seen_at))
        for pool in facts.pools:
            out.launches.append(LaunchEvent(
                source=pool.source, mint=str(pool.mint), pool=str(pool.pool),
                creator=None if pool.creator is None else str(pool.creator), slot=tx.slot,
                signature=sig, seen_at=seen_at, endpoint=ENDPOINT_LABEL,
            ))  # fmt: skip
        return out

    @staticmethod
    def _events(facts: TxFacts, meta: Any) -> list[LoggedEvent]:
        """The pump events: the event CPIs when the transaction has them, else its logs'."""
        if facts.events:
            return facts.events
        if meta.log_messages_none or not meta.log_messages:
            return []
        try:
            events, _ = pump_log_events(list(meta.log_messages))
        except EventLayoutError:
            return []  # a truncated or mangled log: the instructions still tell the create
        return events

    def _creates(
        self, facts: TxFacts, events: list[LoggedEvent], meta: Any, keys: list[bytes],
        slot: int, sig: str, seen_at: float, out: _Decoded,
    ) -> None:  # fmt: skip
        logged = {e.event.mint: e.event for e in events if isinstance(e.event, CreateEvent)}
        for create in facts.creates:
            mint = create.event.mint
            event = logged.get(mint)
            last: TradeEvent | None = None
            for e in events:
                if isinstance(e.event, TradeEvent) and e.event.mint == mint:
                    last = e.event
            if event is None:  # logs truncated or absent: the instruction's create
                event = create.event
                if last is None:
                    last = self._dev_buy(create, meta, keys)
                synthetic = [LoggedEvent(create.instruction, event)]
                if last is not None:
                    synthetic.append(LoggedEvent(create.instruction, last))
                out.curves.extend(curve_updates(synthetic, slot, sig, seen_at))
            trades = tuple(e.event for e in events
                           if isinstance(e.event, TradeEvent) and e.event.mint == mint)  # fmt: skip
            if not trades and last is not None:
                trades = (last,)  # the dev buy read from the curve's balance
            out.creates.append(CreateSeen(event, create.instruction, slot, sig, seen_at, trades))
            out.launches.append(LaunchEvent(
                source="pumpfun", mint=str(mint), pool=str(event.bonding_curve),
                creator=str(event.creator or event.user), slot=slot, signature=sig,
                seen_at=seen_at, endpoint=ENDPOINT_LABEL,
            ))  # fmt: skip

    def _dev_buy(self, create: PumpCreate, meta: Any, keys: list[bytes]) -> TradeEvent | None:
        """The curve's token balance after the create's transaction (a dev buy moved it)."""
        ata = bytes(create.associated_bonding_curve)
        for balance in meta.post_token_balances:
            index = balance.account_index
            if index < len(keys) and keys[index] == ata:
                amount = balance.ui_token_amount.amount
                if not amount.isdigit():
                    raise DecodeError(f"token balance {amount[:30]!r} is not an integer")
                return curve_trade(create.event.mint, create.event.user, int(amount),
                                   self.genesis)  # fmt: skip
        return None

    def _account(self, acc: pb.SubscribeUpdateAccount, seen_at: float) -> _Decoded | None:
        info = acc.account
        key = (bytes(info.pubkey), int(info.write_version))
        if info.write_version and self._writes.get(key) is not None:
            return None
        if info.write_version:
            self._writes.set(key, True)
        self._advance(acc.slot)
        out = _Decoded()
        pubkey = base58.b58encode(bytes(info.pubkey)).decode()
        owner = base58.b58encode(bytes(info.owner)).decode()
        data = bytes(info.data)
        if pubkey == str(pf.GLOBAL) and owner == PUMP_PROGRAM:
            try:
                self.genesis = CurveGenesis.from_global(pf.decode_global(data))
            except pf.LayoutError as exc:
                raise DecodeError(f"pump Global: {exc}") from exc
            return out
        if owner == RAYDIUM_V4_PROGRAM and len(data) == RAYDIUM_V4_LEN:
            launch = _raydium_launch(pubkey, data, acc.slot, seen_at)
            if launch is not None:
                out.launches.append(launch)
        if pubkey in self._watched:
            mint = self._curve_mints.get(pubkey)
            if mint is not None and owner == PUMP_PROGRAM and data[:8] == _CURVE_DISC:
                out.curves.append(_curve_of(pubkey, mint, data, acc.slot, seen_at))
            if self.on_account is not None:
                update = AccountUpdate(pubkey, owner, info.lamports, data, acc.slot,
                                       info.write_version)  # fmt: skip
                try:
                    self.on_account(update)
                except Exception as exc:
                    log.warning("account_sink_failed", account=pubkey, error=repr(exc))
        return out


_CURVE_DISC: Final = bytes.fromhex("17b7f83760d8ac60")  # sha256("account:BondingCurve")[:8]


def ixs_keys(message: Any, meta: Any) -> list[bytes]:
    """The transaction's account keys as instructions index them (static, then loaded)."""
    return [
        bytes(k)
        for k in (
            *message.account_keys,
            *meta.loaded_writable_addresses,
            *meta.loaded_readonly_addresses,
        )
    ]


def _curve_of(pubkey: str, mint: str, data: bytes, slot: int, seen_at: float) -> CurveUpdate:
    """A watched bonding curve's write: its reserves after the transaction (exact)."""
    try:
        curve = pf.decode_bonding_curve(data)
    except pf.LayoutError as exc:
        raise DecodeError(f"BondingCurve {pubkey}: {exc}") from exc
    return CurveUpdate(
        "complete" if curve.complete else "trade", mint,
        curve.virtual_quote_reserves, curve.virtual_token_reserves, curve.real_quote_reserves,
        curve.real_token_reserves, curve.complete, slot, None, seen_at,
        token_total_supply=curve.token_total_supply,
    )  # fmt: skip


def _raydium_launch(pubkey: str, data: bytes, slot: int, seen_at: float) -> LaunchEvent | None:
    try:
        pool = parse_raydium_v4(data)
    except (ValueError, ParseError) as exc:
        raise DecodeError(f"AmmInfo {pubkey}: {exc}") from exc
    if pool.status in _NOT_TRADABLE:
        return None
    base, quote = str(pool.base_mint), str(pool.quote_mint)
    if quote == WSOL_MINT and base != WSOL_MINT:
        mint = base
    elif base == WSOL_MINT and quote != WSOL_MINT:
        mint = quote
    else:
        return None
    return LaunchEvent(
        source="raydium_v4", mint=mint, pool=pubkey, creator=None, slot=slot, signature=None,
        seen_at=seen_at, endpoint=ENDPOINT_LABEL,
    )  # fmt: skip
