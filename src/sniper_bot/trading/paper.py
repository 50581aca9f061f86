"""Paper trading: the same buy/sell calls as ``TradingService`` on live quotes, filled by a
simulated executor that never builds, signs or sends a transaction.

    paper = PaperTrader(venue=router, book=PaperRepository(db), risk=risk, ...)
    order = await paper.buy(user_id, None, mint, lamports, slippage_bps, fee_level, key)

A fill is priced by the venue's live quote for the exact amount (its fees are in the quote, as on
chain) at the worst price the user's slippage accepts (``other_amount_threshold``: what a real
swap is guaranteed at least), and pays the network's fee as a real swap would (5 000 lamports a
signature plus the priority fee of the order's fee level). The risk gate blocks a paper buy as it
blocks a real one. The simulated SOL balance (``PAPER_START_LAMPORTS`` on first use) and the
positions live in the paper book (``"PaperAccount"``/``"PaperPosition"``/``"PaperTrade"``),
idempotent per (user, idempotency key). The returned ``Order`` is never stored as a
``"SniperOrder"``: its id is ``paper:<trade id>``, it has no signature, and
``quote["paper"]`` is True, which every frontend marks "📝 PAPER".

The same executor fills a paper user's snipes, limit orders, DCA parts (the engines pick it for
a row armed on paper) and automatic exits: ``PaperExitBook`` shows the paper book to a second
``engine.exits.PositionMonitor`` as its positions and its exit orders (a filled exit step is a
paper trade under the step's key, so a restart never sells a step twice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog
from solders.pubkey import Pubkey

from sniper_bot.domain.entities import Order, OrderKind, Position, Trade
from sniper_bot.domain.fees import FeeLevel, validate_slippage_bps
from sniper_bot.domain.money import WSOL_MINT, format_sol
from sniper_bot.domain.orders import OrderError, OrderErrorType, OrderSide, OrderStatus
from sniper_bot.errors import SniperBotError
from sniper_bot.ports.risk import RiskChecker
from sniper_bot.ports.venue import Quoter
from sniper_bot.trading.fees import priority_fee_lamports

__all__ = [
    "BASE_FEE_LAMPORTS",
    "PAPER_NOT_ENOUGH_SOL",
    "PAPER_NOT_ENOUGH_TOKENS",
    "PaperBook",
    "PaperExitBook",
    "PaperFill",
    "PaperTrader",
    "is_paper",
]

log = structlog.get_logger(__name__)

BASE_FEE_LAMPORTS = 5_000  # one signature
PAPER_NOT_ENOUGH_SOL = (
    "📝 Not enough paper SOL for this buy plus fees (paper balance {have}, needed {need}). "
    "Sell a paper position, or turn paper trading off in /settings."
)
PAPER_NOT_ENOUGH_TOKENS = "📝 Your paper position holds fewer tokens than this sell."


def is_paper(order: Order) -> bool:
    """True for an order the simulated executor filled (never signed, never on chain)."""
    return bool(order.quote and order.quote.get("paper"))


class PaperFill(Protocol):
    @property
    def trade(self) -> Trade: ...
    @property
    def position(self) -> Position: ...
    @property
    def lamports(self) -> int: ...
    @property
    def created(self) -> bool: ...


class PaperBook(Protocol):
    """The simulated book (``storage.repositories.paper.PaperRepository`` fits)."""

    async def balance(self, user_id: int, start_lamports: int) -> int: ...
    async def position(self, user_id: int, mint: str) -> Position | None: ...
    async def list_open(self, user_id: int) -> list[Position]: ...
    async def fill(
        self,
        *,
        user_id: int,
        idempotency_key: str,
        mint: str,
        side: OrderSide,
        in_amount: int,
        out_amount: int,
        fee_lamports: int,
        venue: str,
        start_lamports: int,
    ) -> PaperFill: ...


class PaperPositionsBook(Protocol):
    """What the paper exit monitor reads (``PaperRepository`` fits)."""

    async def position(self, user_id: int, mint: str) -> Position | None: ...
    async def list_all_open(self) -> list[Position]: ...
    async def trades_by_key_prefix(self, user_id: int, prefix: str) -> list[tuple[str, Trade]]: ...


class PaperExitBook:
    """The paper book as ``engine.exits.PositionMonitor`` reads a position store and its exit
    orders: every open paper position, one position, and the fills of an exit key family as
    CONFIRMED paper orders."""

    def __init__(self, book: PaperPositionsBook) -> None:
        self._book = book

    async def list_all_open(self) -> list[Position]:
        return await self._book.list_all_open()

    async def get_position(self, user_id: int, wallet_id: int, mint: str) -> Position | None:
        return await self._book.position(user_id, mint)

    async def list_by_key_prefix(self, user_id: int, prefix: str) -> list[Order]:
        out: list[Order] = []
        for key, trade in await self._book.trades_by_key_prefix(user_id, prefix):
            placed = _order(
                user_id, None, OrderKind.MANUAL, trade.token_mint, trade.side, trade.in_amount,
                0, FeeLevel.MEDIUM, key, 0, trade.created_at,
            )  # fmt: skip
            filled = replace(
                placed, id=f"paper:{trade.id}", status=OrderStatus.CONFIRMED,
                in_amount=trade.in_amount, out_amount=trade.out_amount,
                fee_lamports=trade.fee_lamports,
            )  # fmt: skip
            out.append(filled)
        return out


class PaperTrader:
    """``buy``/``sell`` with ``TradingService``'s signature; fills into the paper book."""

    def __init__(
        self,
        *,
        venue: Quoter,
        book: PaperBook,
        start_lamports: int,
        max_priority_fee_lamports: int,
        risk: RiskChecker | None = None,
        honeypot_threshold: int = 70,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        if start_lamports < 0:
            raise ValueError("PAPER_START_LAMPORTS cannot be negative")
        self._venue = venue
        self.book = book
        self.start_lamports = start_lamports
        self._max_fee = max_priority_fee_lamports
        self._risk = risk
        self._threshold = honeypot_threshold
        self._now = now or (lambda: datetime.now(UTC))

    async def balance(self, user_id: int) -> int:
        return await self.book.balance(user_id, self.start_lamports)

    async def buy(
        self,
        user_id: int,
        wallet_id: int | None,
        mint: str,
        lamports: int,
        slippage_bps: int,
        fee_level: FeeLevel,
        idempotency_key: str,
        *,
        kind: OrderKind = OrderKind.MANUAL,
        progress: Any = None,
    ) -> Order:
        return await self._trade(
            user_id, wallet_id, mint, OrderSide.BUY, lamports, slippage_bps, fee_level,
            idempotency_key, kind,
        )  # fmt: skip

    async def sell(
        self,
        user_id: int,
        wallet_id: int | None,
        mint: str,
        token_amount: int,
        slippage_bps: int,
        fee_level: FeeLevel,
        idempotency_key: str,
        *,
        progress: Any = None,
    ) -> Order:
        return await self._trade(
            user_id, wallet_id, mint, OrderSide.SELL, token_amount, slippage_bps, fee_level,
            idempotency_key, OrderKind.MANUAL,
        )  # fmt: skip

    async def _trade(
        self,
        user_id: int,
        wallet_id: int | None,
        mint: str,
        side: OrderSide,
        amount: int,
        slippage_bps: int,
        fee_level: FeeLevel,
        key: str,
        kind: OrderKind,
    ) -> Order:
        Pubkey.from_string(mint)  # a malformed mint fails before anything is read
        validate_slippage_bps(slippage_bps)
        if amount <= 0:
            raise ValueError("a paper order needs a positive amount")
        fee = priority_fee_lamports(
            fee_level if fee_level is not FeeLevel.AUTO else FeeLevel.MEDIUM,
            max_lamports=self._max_fee,
        )
        order = _order(user_id, wallet_id, kind, mint, side, amount, slippage_bps, fee_level, key,
                       fee, self._now())  # fmt: skip
        buy = side is OrderSide.BUY
        if buy and self._risk is not None:
            report = await self._risk.check(mint)
            if report.is_honeypot or report.score >= self._threshold:
                return _failed(order, OrderError(
                    OrderErrorType.HONEYPOT_BLOCKED,
                    f"risk score {report.score} >= {self._threshold}" if not report.is_honeypot
                    else f"honeypot (risk score {report.score})",
                    {"risk_score": report.score, "is_honeypot": report.is_honeypot},
                ))  # fmt: skip
        src, dst = (WSOL_MINT, mint) if buy else (mint, WSOL_MINT)
        try:
            quote = await self._venue.quote(src, dst, amount, slippage_bps)
        except SniperBotError as exc:
            error_type = OrderErrorType.NO_ROUTE
            return _failed(order, OrderError(error_type, exc.message, {
                "sentence": getattr(exc, "user_message", None) or "No route for this paper trade.",
            }))  # fmt: skip
        out = min(quote.other_amount_threshold, quote.out_amount)  # the worst accepted price
        total_fee = BASE_FEE_LAMPORTS + fee
        try:
            result = await self.book.fill(
                user_id=user_id, idempotency_key=key, mint=mint, side=side, in_amount=amount,
                out_amount=out, fee_lamports=total_fee, venue=quote.venue,
                start_lamports=self.start_lamports,
            )  # fmt: skip
        except ValueError as exc:  # the book's PaperFunds: it cannot pay (nothing was written)
            have, need = int(getattr(exc, "have", 0)), int(getattr(exc, "need", 0))
            sentence = (
                PAPER_NOT_ENOUGH_SOL.format(have=format_sol(have), need=format_sol(need))
                if buy
                else PAPER_NOT_ENOUGH_TOKENS
            )
            return _failed(order, OrderError(
                OrderErrorType.INSUFFICIENT_FUNDS, str(exc),
                {"sentence": sentence, "have": have, "need": need},
            ))  # fmt: skip
        trade = result.trade
        log.info(
            "paper_fill", user_id=user_id, side=side.value, mint=mint, in_amount=trade.in_amount,
            out_amount=trade.out_amount, fee_lamports=trade.fee_lamports, venue=quote.venue,
            replay=not result.created,
        )  # fmt: skip
        return replace(
            order,
            id=f"paper:{trade.id}",
            status=OrderStatus.CONFIRMED,
            in_amount=trade.in_amount,
            out_amount=trade.out_amount,
            fee_lamports=trade.fee_lamports,
            quote={
                "paper": True,
                "venue": quote.venue,
                "balance": result.lamports,
                "position_open": result.position.token_amount > 0,
            },
        )


def _order(
    user_id: int,
    wallet_id: int | None,
    kind: OrderKind,
    mint: str,
    side: OrderSide,
    amount: int,
    slippage_bps: int,
    fee_level: FeeLevel,
    key: str,
    fee: int,
    now: datetime,
) -> Order:
    return Order(
        id=f"paper:{key}", user_id=user_id, wallet_id=wallet_id, kind=kind, token_mint=mint,
        side=side, amount=amount, slippage_bps=slippage_bps, priority_fee=fee_level,
        priority_fee_lamports=fee, status=OrderStatus.PENDING, idempotency_key=key,
        created_at=now, updated_at=now, quote={"paper": True},
    )  # fmt: skip


def _failed(order: Order, error: OrderError) -> Order:
    return replace(order, status=OrderStatus.FAILED, error=error)
