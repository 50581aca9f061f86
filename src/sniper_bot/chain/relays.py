"""Landing that competes: the SAME signed bytes to every RPC endpoint and block engine at once.

    fanout = RelayFanout(pool, [JitoClient("ny", url, session), ...], breakers, metrics)
    dispatch = await fanout.send(raw, event_at=t0, source="pumpportal", venue="pumpfun")
    report = await fanout.watch(dispatch, create_slot=launch_slot, venue="pumpfun")

Legs of one ``send``:

- ``rpc``: ``sendTransaction`` (base64, skipPreflight) through ``RpcPool.send`` with a fan-out to
  every endpoint of the pool (the pool's own fan-out: breakers, limiters, failover metrics);
- ``jito:<engine>``, one per block engine: a one-transaction ``sendBundle`` when the transaction
  write-locks a Jito tip account, else Jito's ``sendTransaction``. Each engine has its breaker
  ``jito:<engine>`` (resilience, shared through Redis like the RPC endpoints'): an OPEN engine is
  skipped without a request, the others still get the bytes.

``mev_protect=True`` ("MEV protection" in /settings) sends bundles only: no ``rpc`` leg, never
the public mempool; a transaction without a tip is refused before anything is sent (a block
engine would refuse it too).

The hot path: ``send`` returns as soon as every leg has handed its request to its socket, or the
first relay accepted, whichever comes first; the other answers are collected in the background
(``Dispatch.settled()``), counted in metrics and logged. "On the wire" is aiohttp's request-chunk
hook (``wire_trace_config()``, to add to every session the legs use): it fires as the body is
written to the transport. ``snipe_latency_seconds{source,venue}`` is event -> that moment. Without
the hook on a session its legs count as written when they are answered.

Landing is at most once by construction only with a durable nonce or an on-chain tag (issue 15,
"at most once"); without one, the same signature still lands once: every relay gets identical
bytes, and a signature can be processed once. ``watch`` reports landed / failed / pending per relay
from ``getBundleStatuses`` / ``getInflightBundleStatuses`` and ``getSignatureStatuses``.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Literal

import aiohttp
import structlog
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from sniper_bot.chain import mapping
from sniper_bot.chain.endpoint_state import BreakerSource, outcome
from sniper_bot.chain.errors import (
    RpcClientClosed,
    RpcError,
    RpcMalformedResponse,
    RpcUnavailableError,
)
from sniper_bot.chain.jito import JITO_TIP_ACCOUNTS, BundleRejected, JitoClient
from sniper_bot.chain.pool import RpcPool
from sniper_bot.chain.types import SignatureStatus
from sniper_bot.errors import PermanentError, TemporaryError
from sniper_bot.observability.metrics import Metrics

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "Dispatch",
    "LandingReport",
    "LegResult",
    "Outgoing",
    "RelayFanout",
    "RelayOutcome",
    "RelayRefused",
    "has_tip",
    "wire_trace_config",
]

log = structlog.get_logger(__name__)

RPC_LEG = "rpc"
_UNSIGNED = Signature.default()
Kind = Literal["rpc", "bundle", "transaction"]
DEFAULT_BATCH_SIZE = 50  # sendTransaction calls per JSON-RPC batch (one HTTP request)
# An endpoint answering a batch with one of these (or a single error object, or no array) does
# not take batches: that chunk goes out as single requests, and so do its next ones for a while.
BATCH_REFUSED_HTTP = frozenset({400, 404, 405, 413, 415, 422, 501})
NO_BATCH_FOR_S = 300.0
_SEND_CONFIG = {"encoding": "base64", "skipPreflight": True, "maxRetries": 0}

# -- "on the wire": aiohttp's chunk-sent hook, routed to the leg that made the request ----------
_ON_WIRE: ContextVar[Callable[[], None] | None] = ContextVar("sniper_bot_on_wire", default=None)


async def _chunk_sent(
    _session: aiohttp.ClientSession, _ctx: SimpleNamespace, _params: object
) -> None:
    hook = _ON_WIRE.get()
    if hook is not None:
        hook()


def wire_trace_config() -> aiohttp.TraceConfig:
    """Add to ``aiohttp.ClientSession(trace_configs=[...])`` of every session a relay leg uses:
    ``RelayFanout`` then knows the moment each leg's body is written to its socket."""
    config = aiohttp.TraceConfig()
    config.on_request_chunk_sent.append(_chunk_sent)
    return config


class RelayRefused(PermanentError):
    """Nothing was sent: the request cannot be relayed as asked (MEV protection without a block
    engine or without a tip, bytes that are no signed transaction)."""


def _writable(tx: VersionedTransaction, index: int) -> bool:
    header = tx.message.header
    signed = header.num_required_signatures
    n = len(tx.message.account_keys)
    if index < signed:
        return index < signed - header.num_readonly_signed_accounts
    return index < n - header.num_readonly_unsigned_accounts


def has_tip(tx: VersionedTransaction, tip_accounts: frozenset[Pubkey] = JITO_TIP_ACCOUNTS) -> bool:
    """Does ``tx`` write-lock a tip account among its static keys (Jito's rule for a bundle)?"""
    return any(
        key in tip_accounts and _writable(tx, i) for i, key in enumerate(tx.message.account_keys)
    )


@dataclass(frozen=True, slots=True)
class LegResult:
    """One relay's answer to ``send``. ``reference``: the signature (rpc / transaction) or the
    bundle id; ``outcome``: ``accepted``, ``rejected`` (the relay refused these bytes),
    ``unreachable`` (transport failure, breaker OPEN: not accepted), ``cancelled``."""

    relay: str
    kind: Kind
    outcome: str
    reference: str | None = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def accepted(self) -> bool:
        return self.outcome == "accepted"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One signed transaction for ``send_many``, with the same per-transaction options as
    ``send`` (``tipped`` None: read from the bytes)."""

    raw: bytes
    mev_protect: bool = False
    tipped: bool | None = None


class _Item:
    """``send_many``'s bookkeeping of one transaction: its ``Dispatch``, the legs whose bytes are
    not yet written, and the RPC endpoints' answers (the ``rpc`` leg is one future per item)."""

    __slots__ = ("answers", "dispatch", "errors", "open", "params", "rpc", "sent_to", "wire_hook")

    def __init__(self, dispatch: Dispatch) -> None:
        self.dispatch = dispatch
        self.open: set[str] = set()
        self.rpc: asyncio.Future[LegResult] | None = None
        self.sent_to = 0  # RPC endpoints asked
        self.answers = 0
        self.errors: list[RpcError] = []
        self.params: list[Any] = []  # sendTransaction's params, encoded once for every endpoint
        self.wire_hook: Callable[[str], None] = _no_hook


def _no_hook(_name: str) -> None:
    return None


def refuses_batches(exc: RpcError) -> bool:
    """Did the endpoint refuse the batch itself (not the calls in it)?"""
    if isinstance(exc, RpcMalformedResponse):  # no array back
        return True
    if exc.code in BATCH_REFUSED_HTTP:
        return True
    return not exc.retryable and not isinstance(exc, RpcClientClosed)  # one error object


def _chunks(items: Sequence[_Item], size: int) -> Iterator[list[_Item]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


@dataclass(slots=True)
class Dispatch:
    """What ``send`` returns: the legs still running in the background and what is known so far."""

    signature: str
    raw: bytes
    mev_protect: bool
    started_at: float
    wire_at: float | None = None  # first leg's bytes handed to the socket (clock of the fan-out)
    legs: dict[str, asyncio.Future[LegResult]] = field(default_factory=dict)
    kinds: dict[str, Kind] = field(default_factory=dict)

    @property
    def results(self) -> dict[str, LegResult]:
        """The legs that finished so far."""
        return {
            name: task.result()
            for name, task in self.legs.items()
            if task.done() and not task.cancelled()
        }

    @property
    def first_accept(self) -> LegResult | None:
        accepted = [r for r in self.results.values() if r.accepted]
        return min(accepted, key=lambda r: r.seconds) if accepted else None

    async def accepted(self) -> LegResult:
        """The first relay that accepted (waits for it); raises ``BundleRejected`` when a relay
        refused the bytes and none accepted, ``RpcUnavailableError`` when none was reached."""
        pending = {t for t in self.legs.values() if not t.done()}
        while True:
            first = self.first_accept
            if first is not None:
                return first
            if not pending:
                raise _unsent(self)
            _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)

    async def settled(self) -> dict[str, LegResult]:
        """Every leg's answer (waits for the ones still running)."""
        await asyncio.gather(*self.legs.values(), return_exceptions=True)
        return self.results

    @property
    def bundle_ids(self) -> dict[str, str]:
        return {
            name: r.reference
            for name, r in self.results.items()
            if r.accepted and r.kind == "bundle" and r.reference
        }


def _unsent(dispatch: Dispatch) -> RpcError:
    results = dispatch.results
    summary = "; ".join(f"{r.relay}: {r.outcome} ({r.error})" for r in results.values())
    if any(r.outcome == "rejected" for r in results.values()):
        return BundleRejected(
            f"no relay accepted transaction {dispatch.signature}, some refused it: {summary}",
            endpoint=next(r.relay for r in results.values() if r.outcome == "rejected"),
            user_message="The transaction was refused.",
        )
    return RpcUnavailableError(f"no relay accepted transaction {dispatch.signature}: {summary}")


@dataclass(frozen=True, slots=True)
class RelayOutcome:
    """``watch``'s view of one relay: ``landed`` (slot), ``failed`` (err or the engine's status),
    ``superseded`` (the signature is on chain, the engine still says Pending), ``pending`` (no
    final answer within the watch), ``not_sent`` (the leg was not accepted)."""

    relay: str
    status: str
    slot: int | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class LandingReport:
    signature: str
    landed: bool  # the transaction is on chain (with or without an error)
    slot: int | None
    err: Any
    via: str | None  # the block engine whose bundle landed it; "rpc" when no bundle did
    relays: dict[str, RelayOutcome]
    slot_delta: int | None = None  # landing slot - create slot, when the create slot was given


class RelayFanout:
    """Every RPC endpoint and every block engine at once; built once by the composition root."""

    def __init__(
        self,
        pool: RpcPool,
        engines: Sequence[JitoClient],
        breakers: BreakerSource,
        metrics: Metrics,
        *,
        timeout_s: float = 2.0,
        clock: Callable[[], float] = time.perf_counter,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        names = [e.name for e in engines]
        if not 1 <= batch_size <= 1_000:
            raise ValueError(f"batch_size must be 1..1000 calls per request, got {batch_size}")
        if len(set(names)) != len(names):
            raise ValueError(f"block engine names must be unique, got {names}")
        self._pool = pool
        self._engines = list(engines)
        self._breakers = {e.name: breakers.get(f"jito:{e.name}") for e in engines}
        self._metrics = metrics
        self._timeout_s = timeout_s
        self._clock = clock
        self._sleep = sleep
        self._background: set[asyncio.Task[Any]] = set()
        self._counted: set[tuple[str, str]] = set()  # (engine, bundle id) landed/failed once
        self._closing = False
        self._batch_size = batch_size
        self._no_batch: dict[str, float] = {}  # endpoint -> until when it gets single requests
        self._children: dict[tuple[str, ...], Any] = {}  # metric label children, resolved once

    @property
    def engines(self) -> list[str]:
        return [e.name for e in self._engines]

    async def close(self) -> None:
        """Cancel legs still in flight (their breakers are released, not blamed)."""
        self._closing = True
        for task in list(self._background):
            task.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def refresh_tip_accounts(self) -> frozenset[Pubkey]:
        """Ask every engine for its tip accounts (off the hot path); failures are logged."""
        for engine in self._engines:
            try:
                await engine.get_tip_accounts(refresh=True)
            except RpcError as exc:
                log.info("jito_tip_accounts_unavailable", engine=engine.name, reason=exc.message)
        return self.tip_accounts()

    def tip_accounts(self) -> frozenset[Pubkey]:
        """Jito's known tip accounts plus whatever an engine's getTipAccounts returned."""
        fetched = {key for e in self._engines for key in e.cached_tip_accounts}
        return JITO_TIP_ACCOUNTS | fetched

    # ------------------------------------------------------------------------------ send
    async def send(
        self,
        raw: bytes,
        *,
        mev_protect: bool = False,
        tipped: bool | None = None,
        event_at: float | None = None,
        source: str = "unknown",
        venue: str = "unknown",
    ) -> Dispatch:
        """Put ``raw`` (one signed transaction) on every relay; return once every leg's bytes are
        written or the first relay accepted. Raises ``RelayRefused`` before sending anything when
        the mode cannot be honoured, ``BundleRejected`` / ``RpcUnavailableError`` when every leg
        ended without an accept before all were written (the legs' answers are in the message);
        refusals that come later are raised by ``Dispatch.accepted()``."""
        if self._closing:
            raise RpcClientClosed("relay fan-out is closed: nothing was sent", sent=False)
        started = self._clock()
        signature, tipped = self._admit(raw, mev_protect, tipped)
        dispatch = Dispatch(signature, raw, mev_protect, started)
        plan: list[tuple[str, Kind, Callable[[], Awaitable[LegResult]]]] = []
        if not mev_protect:
            plan.append((RPC_LEG, "rpc", lambda: self._rpc_leg(raw, started)))
        for engine in self._engines:
            kind: Kind = "bundle" if tipped else "transaction"
            plan.append(
                (f"jito:{engine.name}", kind, self._engine_call(engine, raw, kind, started))
            )

        loop = asyncio.get_running_loop()
        progressed = loop.create_future()
        written: set[str] = set()

        def wake() -> None:
            if not progressed.done():
                progressed.set_result(None)

        def on_wire(name: str) -> Callable[[], None]:
            def hook() -> None:
                if name in written:
                    return
                written.add(name)
                if dispatch.wire_at is None:
                    dispatch.wire_at = self._clock()
                    if event_at is not None:
                        self._latency(source, venue).observe(max(dispatch.wire_at - event_at, 0.0))
                wake()

            return hook

        for name, kind, run in plan:
            dispatch.kinds[name] = kind
            task = asyncio.create_task(
                self._leg(name, kind, run, on_wire(name)), name=f"relay {name}"
            )
            task.add_done_callback(lambda _t: wake())
            dispatch.legs[name] = task
            self._track(task)

        legs = dispatch.legs
        while True:
            done = [t for t in legs.values() if t.done() and not t.cancelled()]
            if any(t.result().accepted for t in done):
                break
            if len(done) == len(legs):
                raise _unsent(dispatch)
            if all(name in written or task.done() for name, task in legs.items()):
                break  # every leg's bytes are on the wire; their answers come in the background
            progressed = loop.create_future()
            await progressed
        if dispatch.wire_at is None:  # no hook on these sessions: the first accept is the moment
            dispatch.wire_at = self._clock()
            if event_at is not None:
                self._latency(source, venue).observe(max(dispatch.wire_at - event_at, 0.0))
        return dispatch

    def _admit(self, raw: bytes, mev_protect: bool, tipped: bool | None) -> tuple[str, bool]:
        """The signature and whether it tips; ``RelayRefused`` when the mode cannot be honoured."""
        try:
            tx = VersionedTransaction.from_bytes(raw)
        except (ValueError, TypeError) as exc:
            raise RelayRefused(f"not a signed transaction: {exc}") from exc
        signature = tx.signatures[0]
        if signature == _UNSIGNED:
            raise RelayRefused("the transaction is not signed (first signature is all zeros)")
        if tipped is None:
            tipped = has_tip(tx, self.tip_accounts())
        if mev_protect and not self._engines:
            raise RelayRefused(
                "MEV protection sends bundles only, and no block engine is configured "
                "(set JITO_BLOCK_ENGINE_URLS); nothing was sent"
            )
        if mev_protect and not tipped:
            raise RelayRefused(
                "MEV protection sends bundles only, and this transaction tips no Jito tip "
                "account (a block engine refuses a bundle without one); nothing was sent"
            )
        return str(signature), tipped

    async def _leg(
        self,
        name: str,
        kind: Kind,
        run: Callable[[], Awaitable[LegResult]],
        hook: Callable[[], None],
    ) -> LegResult:
        _ON_WIRE.set(hook)  # this task's context only (and the pool's subtasks it creates)
        try:
            result = await run()
        except asyncio.CancelledError:
            return LegResult(name, kind, "cancelled")
        except Exception as exc:  # a bug must not hide the other legs' answers
            log.exception("relay_leg_crashed", relay=name)
            return LegResult(name, kind, "unreachable", None, f"{type(exc).__name__}: {exc}")
        if result.accepted:
            hook()  # answered: certainly written (a session without the trace hook)
        level = log.debug if result.accepted else log.info
        level(
            "relay_leg",
            relay=name,
            kind=result.kind,
            outcome=result.outcome,
            reference=result.reference,
            error=result.error,
            ms=round(result.seconds * 1000, 3),
        )
        return result

    async def _rpc_leg(self, raw: bytes, started: float) -> LegResult:
        config = {"encoding": "base64", "skipPreflight": True, "maxRetries": 0}
        fanout = len(self._pool.endpoint_configs)
        try:
            sig = await self._pool.send(
                "sendTransaction",
                [base64.b64encode(raw).decode(), config],
                parse=mapping.signature,
                fanout=fanout,
                timeout_s=self._timeout_s,
            )
        except RpcError as exc:
            kind = "unreachable" if exc.retryable else "rejected"
            return LegResult(RPC_LEG, "rpc", kind, None, exc.message, self._clock() - started)
        return LegResult(RPC_LEG, "rpc", "accepted", str(sig), None, self._clock() - started)

    def _engine_call(
        self, engine: JitoClient, raw: bytes, kind: Kind, started: float
    ) -> Callable[[], Awaitable[LegResult]]:
        async def run() -> LegResult:
            return await self._engine_leg(engine, raw, kind, started)

        return run

    async def _engine_leg(
        self, engine: JitoClient, raw: bytes, kind: Kind, started: float
    ) -> LegResult:
        name = f"jito:{engine.name}"
        breaker = self._breakers[engine.name]
        try:
            await breaker.acquire()
        except TemporaryError as exc:
            self._bundles(engine.name, "unreachable", kind)
            return LegResult(name, kind, "unreachable", None, exc.message, 0.0)
        try:
            if kind == "bundle":
                reference = await engine.send_bundle([raw], timeout_s=self._timeout_s)
            else:
                reference, _ = await engine.send_transaction(raw, timeout_s=self._timeout_s)
        except RpcError as exc:
            elapsed = self._clock() - started
            if isinstance(exc, RpcClientClosed) or self._closing:
                await breaker.release()
                return LegResult(name, kind, "cancelled", None, exc.message, elapsed)
            if exc.retryable:
                await breaker.record_failure()
                self._bundles(engine.name, "unreachable", kind)
                return LegResult(name, kind, "unreachable", None, exc.message, elapsed)
            await breaker.record_success()  # the engine answered: it works, it refused these bytes
            self._bundles(engine.name, "rejected", kind)
            return LegResult(name, kind, "rejected", None, exc.message, elapsed)
        except BaseException:
            await breaker.release()
            raise
        await breaker.record_success()
        self._bundles(engine.name, "sent", kind)
        return LegResult(name, kind, "accepted", reference, None, self._clock() - started)

    def _bundles(self, engine: str, result: str, kind: Kind) -> None:
        if kind == "bundle":
            self._bundle_counter(engine, result).inc()

    def _latency(self, source: str, venue: str) -> Any:
        """``snipe_latency_seconds{source,venue}``'s child, resolved once per label pair."""
        key = ("latency", source, venue)
        child = self._children.get(key)
        if child is None:
            child = self._metrics.snipe_latency_seconds.labels(source=source, venue=venue)
            self._children[key] = child
        return child

    def _bundle_counter(self, engine: str, result: str) -> Any:
        key = ("bundles", engine, result)
        child = self._children.get(key)
        if child is None:
            child = self._metrics.jito_bundles.labels(engine=engine, outcome=result)
            self._children[key] = child
        return child

    def _track(self, task: asyncio.Task[Any]) -> None:
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ------------------------------------------------------------------------------ send_many
    async def send_many(
        self,
        items: Sequence[Outgoing],
        *,
        event_at: float | None = None,
        source: str = "unknown",
        venue: str = "unknown",
    ) -> list[Dispatch | Exception]:
        """Many signed transactions (one launch's orders, many users) at once; one entry back
        per item, in order: its ``Dispatch``, or the exception ``send`` would have raised for it
        alone (``RelayRefused`` before anything was sent, ``BundleRejected`` /
        ``RpcUnavailableError`` when every leg ended without an accept).

        The ``rpc`` leg goes out as JSON-RPC batches: ``batch_size`` ``sendTransaction`` calls
        per HTTP request, one request per chunk per endpoint (breaker, rate limit: one token per
        request); every call's answer is mapped back to its transaction by id and checked
        against its signature. An endpoint that refuses batches gets that chunk as single
        requests, and its next chunks too for ``NO_BATCH_FOR_S``. Block engines get one request
        per transaction, as in ``send``: one user's transaction is never put in a bundle with
        another's (a bundle is all-or-nothing: one user's failing buy would sink the others').

        Returns once every item's legs are written (or answered). The on-the-wire hook fires per
        item: a batch's first body chunk written puts each of its transactions on the wire."""
        if self._closing:
            raise RpcClientClosed("relay fan-out is closed: nothing was sent", sent=False)
        started = self._clock()
        loop = asyncio.get_running_loop()
        out: list[Dispatch | Exception] = []
        batched: list[_Item] = []
        tracked: list[_Item] = []
        latency = self._latency(source, venue) if event_at is not None else None
        state = {"open": 0}
        progressed: list[asyncio.Future[None]] = [loop.create_future()]

        def wake() -> None:
            if state["open"] <= 0 and not progressed[0].done():
                progressed[0].set_result(None)

        def settle(item: _Item, name: str) -> None:
            if name in item.open:
                item.open.discard(name)
                state["open"] -= 1
                wake()

        def hook_for(item: _Item) -> Callable[[str], None]:
            dispatch = item.dispatch

            def written(name: str) -> None:
                if dispatch.wire_at is None:
                    dispatch.wire_at = self._clock()
                    if latency is not None and event_at is not None:
                        latency.observe(max(dispatch.wire_at - event_at, 0.0))
                settle(item, name)

            return written

        for entry in items:
            try:
                signature, tipped = self._admit(entry.raw, entry.mev_protect, entry.tipped)
            except RelayRefused as exc:
                out.append(exc)
                continue
            item = _Item(Dispatch(signature, entry.raw, entry.mev_protect, started))
            item.wire_hook = hook_for(item)
            out.append(item.dispatch)
            tracked.append(item)
            if not entry.mev_protect:
                item.rpc = loop.create_future()
                item.dispatch.legs[RPC_LEG] = item.rpc
                item.dispatch.kinds[RPC_LEG] = "rpc"
                item.open.add(RPC_LEG)
                batched.append(item)
            for engine in self._engines:
                self._engine_task(item, engine, "bundle" if tipped else "transaction", settle)
            state["open"] += len(item.open)

        if batched:
            targets = self._pool.send_targets(len(self._pool.endpoint_configs))
            if not targets:
                for item in batched:
                    self._rpc_unreachable(item, "no RPC endpoint admits requests (breakers OPEN)")
                    settle(item, RPC_LEG)
            for chunk in _chunks(batched, self._batch_size):
                for item in chunk:
                    item.sent_to = len(targets)
                    item.params = [base64.b64encode(item.dispatch.raw).decode(), _SEND_CONFIG]
                for endpoint in targets:
                    task = asyncio.create_task(
                        self._batch_leg(endpoint, chunk, settle), name=f"relay rpc batch {endpoint}"
                    )
                    self._track(task)
        while state["open"] > 0:
            await progressed[0]
            progressed[0] = loop.create_future()
            wake()
        for k, value in enumerate(out):
            if isinstance(value, Dispatch):
                legs = value.legs.values()
                done = all(f.done() for f in legs)
                if done and not any(r.accepted for r in value.results.values()):
                    out[k] = _unsent(value)
                elif value.wire_at is None and value.first_accept is not None:
                    value.wire_at = self._clock()  # no hook on these sessions
                    if latency is not None and event_at is not None:
                        latency.observe(max(value.wire_at - event_at, 0.0))
        return out

    def _engine_task(
        self, item: _Item, engine: JitoClient, kind: Kind, settle: Callable[[_Item, str], None]
    ) -> None:
        name = f"jito:{engine.name}"
        item.open.add(name)
        item.dispatch.kinds[name] = kind
        raw, started = item.dispatch.raw, item.dispatch.started_at

        def hook() -> None:
            item.wire_hook(name)

        task = asyncio.create_task(
            self._leg(name, kind, self._engine_call(engine, raw, kind, started), hook),
            name=f"relay {name}",
        )
        task.add_done_callback(lambda _t: settle(item, name))
        item.dispatch.legs[name] = task
        self._track(task)

    async def _batch_leg(
        self, endpoint: str, chunk: list[_Item], settle: Callable[[_Item, str], None]
    ) -> None:
        """One chunk to one endpoint: a batch, or single requests when it refuses batches."""
        fired = False

        def written() -> None:
            nonlocal fired
            if not fired:
                fired = True
                for item in chunk:
                    item.wire_hook(RPC_LEG)

        _ON_WIRE.set(written)
        try:
            until = self._no_batch.get(endpoint)
            if until is not None and self._clock() < until:
                await self._singles(endpoint, chunk)
                return
            params = [item.params for item in chunk]
            try:
                answers = await self._pool.batch_on(
                    endpoint, "sendTransaction", params, timeout_s=self._timeout_s
                )
            except RpcError as exc:
                if refuses_batches(exc) and not self._closing:
                    self._no_batch[endpoint] = self._clock() + NO_BATCH_FOR_S
                    log.info("rpc_batch_refused", endpoint=endpoint, reason=exc.message)
                    await self._singles(endpoint, chunk)
                    return
                for item in chunk:
                    self._rpc_answer(item, endpoint, exc)
                return
            for item, answer in zip(chunk, answers, strict=True):
                self._rpc_answer(item, endpoint, self._checked(endpoint, item, answer))
        except Exception as exc:  # a bug must not leave the items' rpc legs unanswered
            log.exception("relay_batch_leg_crashed", endpoint=endpoint)
            crashed = RpcUnavailableError(f"{endpoint}: {type(exc).__name__}: {exc}")
            for item in chunk:
                self._rpc_answer(item, endpoint, crashed)
        except asyncio.CancelledError:
            for item in chunk:
                if item.rpc is not None and not item.rpc.done():
                    item.rpc.set_result(LegResult(RPC_LEG, "rpc", "cancelled"))
            raise
        finally:
            for item in chunk:
                if item.rpc is None or item.rpc.done():
                    settle(item, RPC_LEG)

    async def _singles(self, endpoint: str, chunk: list[_Item]) -> None:
        async def one(item: _Item) -> None:
            _ON_WIRE.set(lambda: item.wire_hook(RPC_LEG))  # this task's context only
            try:
                answer: Any = await self._pool.call_on(
                    endpoint, "sendTransaction", item.params, timeout_s=self._timeout_s
                )
            except RpcError as exc:
                answer = exc
            except Exception as exc:  # a bug: this item's leg still gets its answer
                log.exception("relay_single_leg_crashed", endpoint=endpoint)
                answer = RpcUnavailableError(f"{endpoint}: {type(exc).__name__}: {exc}")
            self._rpc_answer(item, endpoint, self._checked(endpoint, item, answer))

        await asyncio.gather(*(one(item) for item in chunk))

    @staticmethod
    def _checked(endpoint: str, item: _Item, answer: Any) -> Any:
        """A call's answer: its ``RpcError``, or the signature, which must be this item's."""
        if isinstance(answer, RpcError):
            return answer
        if answer != item.dispatch.signature:
            return RpcMalformedResponse(
                f"{endpoint}: sendTransaction answered {str(answer)[:100]!r} for transaction "
                f"{item.dispatch.signature}",
                endpoint=endpoint,
            )
        return answer

    def _rpc_answer(self, item: _Item, endpoint: str, answer: Any) -> None:
        """One endpoint's answer for one item: the first accept, or once all answered, the
        refusal (an endpoint refused the bytes) or ``unreachable``."""
        item.answers += 1
        future = item.rpc
        if future is None or future.done():
            return
        elapsed = self._clock() - item.dispatch.started_at
        if not isinstance(answer, RpcError):
            future.set_result(LegResult(RPC_LEG, "rpc", "accepted", answer, None, elapsed))
            item.wire_hook(RPC_LEG)  # answered: certainly written
            return
        item.errors.append(answer)
        if item.answers < item.sent_to:
            return
        refused = next((e for e in item.errors if not e.retryable), None)
        error = refused or item.errors[0]
        result = "rejected" if refused is not None else "unreachable"
        log.info("relay_leg", relay=RPC_LEG, kind="rpc", outcome=result,
                 signature=item.dispatch.signature, error=error.message)  # fmt: skip
        future.set_result(LegResult(RPC_LEG, "rpc", result, None, error.message, elapsed))

    @staticmethod
    def _rpc_unreachable(item: _Item, reason: str) -> None:
        if item.rpc is not None and not item.rpc.done():
            item.rpc.set_result(LegResult(RPC_LEG, "rpc", "unreachable", None, reason))

    # ------------------------------------------------------------------------------ watch
    async def watch(
        self,
        dispatch: Dispatch,
        *,
        timeout_s: float = 30.0,
        poll_s: float = 0.4,
        create_slot: int | None = None,
        venue: str = "unknown",
    ) -> LandingReport:
        """Poll until the signature is on chain and every accepted bundle is final, or
        ``timeout_s``; landed / failed / pending per relay. Observes ``landed_slot_delta`` and
        ``jito_bundles_total{outcome=landed|failed}`` once per bundle."""
        results = await dispatch.settled()
        deadline = self._clock() + timeout_s
        engines = {f"jito:{e.name}": e for e in self._engines}
        outcomes: dict[str, RelayOutcome] = {}
        for name, result in results.items():
            if not result.accepted:
                outcomes[name] = RelayOutcome(name, "not_sent", detail=result.error)
        status: SignatureStatus | None = None
        while True:
            status = await self._signature_status(dispatch.signature) or status
            for name, result in results.items():
                if not result.accepted or (name in outcomes and outcomes[name].status != "pending"):
                    continue
                if result.kind == "bundle" and result.reference:
                    outcomes[name] = await self._bundle_outcome(
                        engines[name], name, result.reference, status
                    )
                else:
                    outcomes[name] = self._signature_outcome(name, status)
            final = status is not None and all(o.status != "pending" for o in outcomes.values())
            if final or self._clock() >= deadline:
                break
            await self._sleep(poll_s)
        via = next((n for n, o in outcomes.items() if o.status == "landed" and n != RPC_LEG), None)
        if via is None and status is not None:
            via = RPC_LEG if RPC_LEG in outcomes else next(iter(outcomes), None)
        delta = None
        if status is not None and create_slot is not None:
            delta = status.slot - create_slot
            self._metrics.landed_slot_delta.labels(venue=venue).observe(max(delta, 0))
        return LandingReport(
            signature=dispatch.signature,
            landed=status is not None,
            slot=None if status is None else status.slot,
            err=None if status is None else status.err,
            via=via,
            relays=outcomes,
            slot_delta=delta,
        )

    async def _signature_status(self, signature: str) -> SignatureStatus | None:
        try:
            statuses = await self._pool.request(
                "getSignatureStatuses",
                [[signature], {"searchTransactionHistory": True}],
                parse=mapping.signature_statuses,
            )
        except RpcError as exc:
            if not exc.retryable:
                raise
            log.info("relay_watch_status_unavailable", signature=signature, reason=exc.message)
            return None
        return statuses[0] if statuses else None

    @staticmethod
    def _signature_outcome(name: str, status: SignatureStatus | None) -> RelayOutcome:
        if status is None:
            return RelayOutcome(name, "pending")
        if status.err is not None:
            return RelayOutcome(name, "failed", status.slot, str(status.err))
        return RelayOutcome(name, "landed", status.slot)

    async def _bundle_outcome(
        self, engine: JitoClient, name: str, bundle_id: str, status: SignatureStatus | None
    ) -> RelayOutcome:
        try:
            [landed] = await engine.get_bundle_statuses([bundle_id])
            if landed is not None:
                self._count(engine.name, bundle_id, "landed")
                return RelayOutcome(name, "landed", landed.slot)
            [inflight] = await engine.get_inflight_bundle_statuses([bundle_id])
        except RpcError as exc:
            log.info("relay_watch_bundle_unavailable", relay=name, reason=outcome(exc))
            return RelayOutcome(name, "pending", detail=exc.message)
        if inflight.status == "Landed":
            self._count(engine.name, bundle_id, "landed")
            return RelayOutcome(name, "landed", inflight.landed_slot)
        if inflight.status in ("Failed", "Invalid"):
            self._count(engine.name, bundle_id, "failed")
            return RelayOutcome(name, "failed", detail=inflight.status)
        if status is not None:  # the signature is on chain: this bundle cannot carry it again
            return RelayOutcome(name, "superseded", detail=f"still {inflight.status}")
        return RelayOutcome(name, "pending")

    def _count(self, engine: str, bundle_id: str, result: str) -> None:
        if (engine, bundle_id) in self._counted:
            return
        self._counted.add((engine, bundle_id))
        if len(self._counted) > 10_000:  # bounded: forget the oldest half
            for key in list(self._counted)[:5_000]:
                self._counted.discard(key)
        self._bundle_counter(engine, result).inc()
