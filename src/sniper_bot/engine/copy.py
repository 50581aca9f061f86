"""``CopyTrader``: mirrors the buys and sells of followed wallets with each follower's rules.

    trader = CopyTrader(follows=CopyRepository(db), positions=repos.positions, trading=trading,
                        transactions=rpc.get_transaction, subscriptions=manager, on_copied=tell)
    PumpFunListener(on_curve=trader.on_curve)    # pump.fun curve trades: no extra subscription
    tg.create_task(trader.run(stop))

Where a leader's trades come from:
- pump.fun curve trades: the detector's ``CurveUpdate`` of each ``TradeEvent`` carries the trader
  (``user``), side and amounts; ``on_curve`` is O(1) for a wallet nobody follows;
- every other venue (PumpSwap, Jupiter-routed swaps...): a ``logsSubscribe`` ``mentions`` of each
  followed wallet; each successful transaction is fetched (``getTransaction``) and decoded from
  the leader's pre/post token balances (``decode_leader_trade``): the mint whose balance moved,
  the side, the tokens and the SOL (lamports, plus the fee when the leader paid it, plus wrapped
  SOL). A signature already seen as a curve event is not fetched again.

Mirroring happens once per (follow, leader signature): ``claim_buy`` / ``claim_sell`` insert the
``"CopyTrade"`` row (unique) and the order goes through ``TradingService`` under
``copy:<follow id>:<leader signature>`` (the executor's risk check applies to a buy). A replay of
the event, a restart or a second replica finds the row and places nothing; a process killed
between the claim and the order leaves a PLACED row without one, which the recovery pass
resubmits under the same key (the order if it was made, never a second one). Sizing is
``domain.copy``: fixed SOL or a share of the leader's SOL, max per trade, max per day; "sell with
the leader" sells the share of the user's tokens the leader sold of its own (its balance before
the sale read from the decoded transaction).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any, Protocol

import structlog
from solders.pubkey import Pubkey
from solders.signature import Signature

from sniper_bot.chain.types import LandedTransaction
from sniper_bot.domain.copy import (
    CopyDecision,
    CopyFollow,
    CopyTradeRecord,
    LeaderTrade,
    copy_key,
    decide_buy,
    sell_amount,
)
from sniper_bot.domain.entities import Order, Position
from sniper_bot.domain.launch import CurveUpdate
from sniper_bot.domain.money import WSOL_MINT
from sniper_bot.domain.orders import OrderStatus
from sniper_bot.engine.limits import Trader
from sniper_bot.errors import SniperBotError, TemporaryError

__all__ = ["CopyNotifier", "CopyStore", "CopyTrader", "decode_leader_trade"]

log = structlog.get_logger(__name__)

_SEEN_MAX = 10_000
_NOTHING_SPENT = (OrderStatus.FAILED, OrderStatus.EXPIRED, OrderStatus.CANCELLED)
PAPER_REFUSED = (
    "📝 Paper trading is on: copy trading trades real money only, so nothing was copied."
)


class CopyStore(Protocol):
    """``sniper_bot.storage.repositories.copy.CopyRepository`` fits."""

    async def list_active(self, limit: int = 100_000) -> list[CopyFollow]: ...
    async def get_follow(self, follow_id: int) -> CopyFollow | None: ...
    async def claim_buy(
        self, follow_id: int, signature: str, mint: str, decide: Callable[[int], CopyDecision]
    ) -> tuple[CopyTradeRecord, bool]: ...
    async def claim_sell(
        self, follow_id: int, signature: str, mint: str, tokens: int, reason: str | None
    ) -> tuple[CopyTradeRecord, bool]: ...
    async def list_unordered(self, older_than: timedelta) -> list[CopyTradeRecord]: ...
    async def attach_order(self, trade_id: int, order_id: str) -> None: ...
    async def mark_failed(self, trade_id: int, error: str) -> None: ...


class PositionSource(Protocol):
    async def get_position(self, user_id: int, wallet_id: int, mint: str) -> Position | None: ...


class Subscriptions(Protocol):
    """``sniper_bot.chain.ws.SubscriptionManager`` fits."""

    async def logs_subscribe(self, key: str, mentions: Pubkey | None = None) -> None: ...
    async def unsubscribe(self, key: str) -> None: ...
    def notifications(self) -> AsyncIterator[Any]: ...
    async def run(self) -> None: ...


TransactionSource = Callable[[Signature], Awaitable[LandedTransaction | None]]
# (the follow, the leader's trade, its CopyTrade row, the order (None: nothing placed), the
# sentence when nothing was placed)
CopyNotifier = Callable[
    [CopyFollow, LeaderTrade, CopyTradeRecord, Order | None, str | None], Awaitable[None]
]
PaperCheck = Callable[[int], Awaitable[bool]]


def decode_leader_trade(
    tx: LandedTransaction, leader: str, source: str = "logs"
) -> LeaderTrade | None:
    """The leader's swap in ``tx`` from its pre/post balances: the non-SOL mint whose balance
    (owned by the leader) moved most; ``None`` when none did (a transfer, a failed tx...)."""
    if tx.err is not None:
        return None
    deltas: dict[str, list[int]] = {}  # mint -> [before, after]
    for balances, at in ((tx.pre_token_balances, 0), (tx.post_token_balances, 1)):
        for b in balances:
            if b.owner == leader:
                deltas.setdefault(b.mint, [0, 0])[at] += b.amount
    wsol = deltas.pop(WSOL_MINT, [0, 0])
    moved = [(mint, after - before, before) for mint, (before, after) in deltas.items()]
    moved = [m for m in moved if m[1] != 0]
    if not moved:
        return None
    mint, delta, before = max(moved, key=lambda m: (abs(m[1]), m[0]))
    lamports = 0
    keys = [str(k) for k in tx.account_keys]
    if leader in keys:
        i = keys.index(leader)
        if i < len(tx.pre_balances) and i < len(tx.post_balances):
            lamports = tx.post_balances[i] - tx.pre_balances[i] + (tx.fee if i == 0 else 0)
    lamports += wsol[1] - wsol[0]
    is_buy = delta > 0
    sol = max(0, -lamports if is_buy else lamports)
    return LeaderTrade(
        leader=leader, mint=mint, is_buy=is_buy, sol_amount=sol,
        token_amount=abs(delta), signature=str(tx.signature), source=source,
        leader_tokens_before=before,
    )  # fmt: skip


class CopyTrader:
    def __init__(
        self,
        *,
        follows: CopyStore,
        positions: PositionSource,
        trading: Trader,
        transactions: TransactionSource,
        subscriptions: Subscriptions | None = None,
        on_copied: CopyNotifier | None = None,
        is_paper: PaperCheck | None = None,
        refresh_s: float = 2.0,
        recover_after_s: float = 30.0,
        tx_attempts: int = 5,
        tx_retry_s: float = 0.2,
    ) -> None:
        if refresh_s <= 0:
            raise ValueError("refresh_s must be > 0")
        self._follows = follows
        self._positions = positions
        self._trading = trading
        self._transactions = transactions
        self._subs = subscriptions
        self._on_copied = on_copied
        self._is_paper = is_paper
        self.refresh_s = refresh_s
        self._recover_after = timedelta(seconds=recover_after_s)
        self._tx_attempts = max(1, tx_attempts)
        self._tx_retry_s = tx_retry_s
        self._by_leader: dict[str, list[CopyFollow]] = {}
        self._subscribed: set[str] = set()
        self._seen: OrderedDict[str, None] = OrderedDict()  # signatures queued (either path)
        self._queue: asyncio.Queue[LeaderTrade] = asyncio.Queue(10_000)
        self._inflight: set[int] = set()  # CopyTrade ids being submitted by this process
        self.leader_trades = 0  # trades of followed wallets queued (tests, /status)
        self.copied = 0

    @property
    def leaders(self) -> set[str]:
        return set(self._by_leader)

    # -- the event paths ----------------------------------------------------------------------

    def on_curve(self, update: CurveUpdate) -> None:
        """A pump.fun event (the listener's ``on_curve``). O(1) for a wallet nobody follows."""
        if update.kind != "trade" or update.user is None or update.user not in self._by_leader:
            return
        if update.signature is None or update.is_buy is None:
            return
        if update.sol_amount is None or update.token_amount is None:
            return
        self._enqueue(
            LeaderTrade(
                leader=update.user, mint=update.mint, is_buy=update.is_buy,
                sol_amount=update.sol_amount, token_amount=update.token_amount,
                signature=update.signature, source="pumpfun",
            )
        )  # fmt: skip

    def _enqueue(self, trade: LeaderTrade) -> None:
        if trade.signature in self._seen:
            return
        self._seen[trade.signature] = None
        while len(self._seen) > _SEEN_MAX:
            self._seen.popitem(last=False)
        try:
            self._queue.put_nowait(trade)
            self.leader_trades += 1
        except asyncio.QueueFull:
            log.error("copy_queue_full", signature=trade.signature)

    async def on_logs(self, leader: str, value: Any) -> None:
        """A ``logsNotification`` of a transaction mentioning ``leader``: fetched and decoded."""
        if not isinstance(value, dict) or value.get("err") is not None:
            return
        signature = value.get("signature")
        if not isinstance(signature, str) or signature in self._seen:
            return
        tx = await self._fetch(signature)
        if tx is None:
            log.info("copy_tx_unavailable", signature=signature)
            return
        trade = decode_leader_trade(tx, leader)
        if trade is not None:
            self._enqueue(trade)

    async def _fetch(self, signature: str) -> LandedTransaction | None:
        sig = Signature.from_string(signature)
        for attempt in range(self._tx_attempts):
            try:
                tx = await self._transactions(sig)
            except SniperBotError as exc:
                log.info("copy_tx_fetch_failed", signature=signature, error=exc.message)
                tx = None
            if tx is not None:
                return tx
            if attempt + 1 < self._tx_attempts:
                await asyncio.sleep(self._tx_retry_s)
        return None

    # -- the loop -----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Refresh the follows every ``refresh_s``, mirror queued trades, until ``stop``."""
        log.info("copy_trader_started", refresh_s=self.refresh_s)
        tasks = [asyncio.create_task(self._consume(), name="copy:consume")]
        if self._subs is not None:
            tasks.append(asyncio.create_task(self._subs.run(), name="copy:ws"))
            tasks.append(asyncio.create_task(self._logs(), name="copy:logs"))
        try:
            while not stop.is_set():
                try:
                    await self.refresh()
                    await self.recover()
                except Exception as exc:  # the database may be away for a tick
                    log.error("copy_refresh_failed", error=repr(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.refresh_s)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        log.info("copy_trader_stopped")

    async def refresh(self) -> None:
        """The active follows by leader; the logs subscriptions follow them."""
        by_leader: dict[str, list[CopyFollow]] = {}
        for follow in await self._follows.list_active():
            by_leader.setdefault(follow.leader, []).append(follow)
        self._by_leader = by_leader
        if self._subs is None:
            return
        for leader in sorted(set(by_leader) - self._subscribed):
            await self._subs.logs_subscribe(f"copy:{leader}", Pubkey.from_string(leader))
            self._subscribed.add(leader)
        for leader in sorted(self._subscribed - set(by_leader)):
            await self._subs.unsubscribe(f"copy:{leader}")
            self._subscribed.discard(leader)

    async def _logs(self) -> None:
        assert self._subs is not None
        async for note in self._subs.notifications():
            key = getattr(note, "key", "")
            if not key.startswith("copy:"):
                continue
            try:
                await self.on_logs(key.removeprefix("copy:"), getattr(note, "value", None))
            except Exception as exc:  # one bad transaction never stops the stream
                log.error("copy_logs_failed", error=repr(exc))

    async def _consume(self) -> None:
        while True:
            trade = await self._queue.get()
            try:
                await self.mirror(trade)
            except Exception as exc:  # a bug or an outage: this trade is logged, the rest go on
                log.error("copy_mirror_failed", signature=trade.signature, error=repr(exc))

    async def drain(self) -> None:
        """Mirror everything queued (tests, without ``run``)."""
        while not self._queue.empty():
            await self.mirror(self._queue.get_nowait())

    # -- mirroring ----------------------------------------------------------------------------

    async def mirror(self, trade: LeaderTrade) -> list[CopyTradeRecord]:
        """The trade for every follow of its leader (each one independent of the others)."""
        follows = self._by_leader.get(trade.leader, [])
        if not follows:
            return []
        if (
            not trade.is_buy
            and trade.leader_tokens_before is None
            and any(f.sell_with_leader for f in follows)
        ):
            trade = await self._with_balance_before(trade)
        done = await asyncio.gather(
            *(self._mirror_one(f, trade) for f in follows), return_exceptions=True
        )
        out: list[CopyTradeRecord] = []
        for follow, result in zip(follows, done, strict=True):
            if isinstance(result, BaseException):
                log.error("copy_follow_failed", follow_id=follow.id, error=repr(result))
            elif result is not None:
                out.append(result)
        return out

    async def _with_balance_before(self, trade: LeaderTrade) -> LeaderTrade:
        """A curve sell's leader balance before it, from the transaction's token balances."""
        tx = await self._fetch(trade.signature)
        decoded = decode_leader_trade(tx, trade.leader) if tx is not None else None
        if decoded is None or decoded.mint != trade.mint:
            return trade
        return LeaderTrade(
            leader=trade.leader, mint=trade.mint, is_buy=False, sol_amount=trade.sol_amount,
            token_amount=trade.token_amount, signature=trade.signature, source=trade.source,
            leader_tokens_before=decoded.leader_tokens_before,
        )  # fmt: skip

    async def _mirror_one(self, follow: CopyFollow, trade: LeaderTrade) -> CopyTradeRecord | None:
        if self._is_paper is not None and await self._is_paper(follow.user_id):
            log.info("copy_skipped_paper", follow_id=follow.id)
            return None
        if trade.is_buy:
            record, created = await self._follows.claim_buy(
                follow.id, trade.signature, trade.mint,
                lambda spent: decide_buy(follow, trade.sol_amount, spent),
            )  # fmt: skip
        else:
            if not follow.sell_with_leader:
                return None
            tokens, reason = await self._sell_tokens(follow, trade)
            record, created = await self._follows.claim_sell(
                follow.id, trade.signature, trade.mint, tokens, reason
            )
        if not created:  # a replay, a restart or another replica: mirrored already
            log.info("copy_replayed", follow_id=follow.id, signature=trade.signature)
            return record
        if record.status != "PLACED":
            log.info("copy_skipped", follow_id=follow.id, reason=record.error)
            await self._notify(follow, trade, record, None, record.error)
            return record
        return await self._submit(follow, trade, record)

    async def _sell_tokens(self, follow: CopyFollow, trade: LeaderTrade) -> tuple[int, str | None]:
        position = await self._positions.get_position(follow.user_id, follow.wallet_id, trade.mint)
        held = position.token_amount if position is not None else 0
        if held <= 0:
            return 0, "you hold none of this token: nothing to sell with the leader"
        if trade.leader_tokens_before is None:
            return 0, "the leader's balance before its sale could not be read: nothing sold"
        return sell_amount(held, trade.leader_tokens_before, trade.token_amount), (
            "the leader's sale is too small to sell any of yours"
        )

    async def _submit(
        self, follow: CopyFollow, trade: LeaderTrade, record: CopyTradeRecord
    ) -> CopyTradeRecord:
        if record.id in self._inflight:  # the recovery pass met a copy still being submitted
            return record
        self._inflight.add(record.id)
        try:
            return await self._submit_once(follow, trade, record)
        finally:
            self._inflight.discard(record.id)

    async def _submit_once(
        self, follow: CopyFollow, trade: LeaderTrade, record: CopyTradeRecord
    ) -> CopyTradeRecord:
        key = copy_key(follow.id, record.leader_signature)
        try:
            if record.is_buy:
                order = await self._trading.buy(
                    follow.user_id, follow.wallet_id, record.token_mint, record.lamports,
                    follow.slippage_bps, follow.priority_fee, key,
                )  # fmt: skip
            else:
                order = await self._trading.sell(
                    follow.user_id, follow.wallet_id, record.token_mint, record.token_amount,
                    follow.slippage_bps, follow.priority_fee, key,
                )  # fmt: skip
        except TemporaryError as exc:  # the order may exist: the recovery pass resubmits the key
            log.warning("copy_submit_deferred", follow_id=follow.id, error=exc.message)
            return record
        except SniperBotError as exc:  # refused (risk check, balance): nothing was spent
            await self._follows.mark_failed(record.id, exc.user_message)
            log.warning("copy_refused", follow_id=follow.id, reason=exc.user_message)
            await self._notify(follow, trade, record, None, exc.user_message)
            return record
        await self._follows.attach_order(record.id, order.id)
        if order.status in _NOTHING_SPENT:  # refused by the executor (risk check...), not landed
            why = order.error.user_message if order.error is not None else order.status.value
            await self._follows.mark_failed(record.id, why)
        self.copied += 1
        log.info(
            "copy_placed", follow_id=follow.id, order_id=order.id, side="BUY" if record.is_buy
            else "SELL", leader_signature=record.leader_signature, status=order.status.value,
        )  # fmt: skip
        await self._notify(follow, trade, record, order, None)
        return record

    async def recover(self) -> None:
        """Claimed copies without an order (a crash between the two): the same key again."""
        for record in await self._follows.list_unordered(self._recover_after):
            follow = await self._follows.get_follow(record.follow_id)
            if follow is None:
                continue
            log.warning("copy_resumed", follow_id=follow.id, signature=record.leader_signature)
            trade = LeaderTrade(
                leader=follow.leader, mint=record.token_mint, is_buy=record.is_buy,
                sol_amount=0, token_amount=0, signature=record.leader_signature,
                source="recovery",
            )  # fmt: skip
            await self._submit(follow, trade, record)

    async def _notify(
        self,
        follow: CopyFollow,
        trade: LeaderTrade,
        record: CopyTradeRecord,
        order: Order | None,
        reason: str | None,
    ) -> None:
        if self._on_copied is None:
            return
        try:
            await self._on_copied(follow, trade, record, order, reason)
        except Exception as exc:  # a failing notifier never stops copying
            log.error("copy_notify_failed", follow_id=follow.id, error=repr(exc))
