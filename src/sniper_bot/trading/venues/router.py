"""One ``Venue`` for the whole bot that picks where each coin trades (issue 14 item 3).

    router = VenueRouter(jupiter, pumpfun=PumpFunVenue(rpc), pumpswap=PumpSwapVenue(rpc))
    quote = await router.quote(WSOL_MINT, mint, lamports, slippage_bps)   # routed
    swap = await router.build_swap(quote, owner, priority_fee_lamports=fee)  # by quote.venue

* a coin on a live pump.fun curve -> the pump.fun venue (built here, no third party);
* a graduated coin (its curve complete) -> PumpSwap, its canonical pool, when that venue is wired;
  otherwise Jupiter;
* anything else (no curve, or not a SOL pair) -> Jupiter.

The user can force Jupiter: ``mode="jupiter"`` for the whole process, or per order with
``with force_venue("jupiter"): await trading.buy(...)`` (a context variable: the order's run is a
task created inside the block, so it inherits the choice; an order resumed later by recovery is
routed again by the rules above). ``router.unforced()`` is the same router deaf to
``force_venue``: the risk check (one report cached for every user) quotes through it. Manual
trades, snipes, exits, the route probe and the token card all hold this one router, so they
agree on where a coin trades.

Graduation while an order is in flight: each (re)quote reads the curve again, so an order that
is built again before it was ever sent (the executor only re-quotes before SIGNED) goes to
PumpSwap; one whose transaction already landed failed with 6005 cannot have bought anything and
ends with a sentence saying the coin graduated (``venues.pumpfun.errors``). ``explain`` turns the
pump program's custom errors into those order errors.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from typing import Any, Final, Literal

import structlog

from sniper_bot.domain.money import WSOL_MINT
from sniper_bot.domain.orders import OrderError
from sniper_bot.domain.quotes import Quote, SwapMode, SwapTransaction
from sniper_bot.ports.venue import JitoTip
from sniper_bot.solana.pumpfun import PUMP_PROGRAM_ID
from sniper_bot.trading.errors import NoRouteError, VenueRequestError
from sniper_bot.trading.venue import Venue
from sniper_bot.trading.venues.pumpfun.errors import (
    CurveCompleteError,
    NotOnCurveError,
    UnsupportedCurveError,
    pump_order_error,
)
from sniper_bot.trading.venues.pumpfun.venue import PumpFunVenue

__all__ = ["ROUTING_MODES", "RoutingMode", "VenueRouter", "force_venue", "forced_venue"]

log = structlog.get_logger(__name__)

RoutingMode = Literal["auto", "jupiter"]
ROUTING_MODES: Final[tuple[RoutingMode, ...]] = ("auto", "jupiter")
_PUMP: Final = str(PUMP_PROGRAM_ID)
_forced: ContextVar[RoutingMode | None] = ContextVar("forced_venue", default=None)


@contextlib.contextmanager
def force_venue(mode: RoutingMode | None) -> Iterator[None]:
    """Route everything quoted inside the block as ``mode`` (``None``: the router's own)."""
    if mode is not None and mode not in ROUTING_MODES:
        raise ValueError(f"venue must be one of {', '.join(ROUTING_MODES)}, got {mode!r}")
    token = _forced.set(mode)
    try:
        yield
    finally:
        _forced.reset(token)


def forced_venue() -> RoutingMode | None:
    return _forced.get()


class VenueRouter:
    """``Venue`` that quotes on the coin's own venue and builds on the venue that quoted."""

    def __init__(
        self,
        jupiter: Venue,
        *,
        pumpfun: PumpFunVenue | None = None,
        pumpswap: Venue | None = None,
        mode: RoutingMode = "auto",
    ) -> None:
        if mode not in ROUTING_MODES:
            raise ValueError(f"routing mode must be one of {', '.join(ROUTING_MODES)}")
        self.jupiter = jupiter
        self.pumpfun = pumpfun
        self.pumpswap = pumpswap
        self.mode: RoutingMode = mode
        self._venues: dict[str, Venue] = {jupiter.name: jupiter}
        for venue in (pumpfun, pumpswap):
            if venue is not None:
                self._venues[venue.name] = venue

    @property
    def name(self) -> str:
        return "router"

    def venue_named(self, name: str) -> Venue:
        try:
            return self._venues[name]
        except KeyError:
            raise VenueRequestError(f"no venue named {name!r} is wired") from None

    async def quote(
        self,
        input_mint: str,
        output_mint: str,
        amount: int,
        slippage_bps: int,
        *,
        swap_mode: SwapMode = "ExactIn",
    ) -> Quote:
        return await self._quote(
            _forced.get() or self.mode,
            input_mint,
            output_mint,
            amount,
            slippage_bps,
            swap_mode=swap_mode,
        )

    def unforced(self) -> Venue:
        """This router as a ``Venue`` that ignores ``force_venue``: it quotes by the router's own
        rules (``mode`` and the coin's venue) whatever the caller's context. For what is shared
        by every user, such as the risk check whose report is cached for all of them: a forced
        user's order runs its risk gate inside ``force_venue("jupiter")``, and that report must
        not be made of Jupiter-only routes."""
        return _Unforced(self)

    async def _quote(
        self,
        mode: RoutingMode,
        input_mint: str,
        output_mint: str,
        amount: int,
        slippage_bps: int,
        *,
        swap_mode: SwapMode,
    ) -> Quote:
        sol_pair = (input_mint == WSOL_MINT) != (output_mint == WSOL_MINT)
        if mode == "jupiter" or not sol_pair:
            return await self.jupiter.quote(
                input_mint, output_mint, amount, slippage_bps, swap_mode=swap_mode
            )
        graduated: CurveCompleteError | None = None
        other_quote: UnsupportedCurveError | None = None
        if self.pumpfun is not None and swap_mode == "ExactIn":
            try:
                return await self.pumpfun.quote(input_mint, output_mint, amount, slippage_bps)
            except NotOnCurveError:
                pass  # not a pump.fun coin
            except CurveCompleteError as exc:
                graduated = exc
            except UnsupportedCurveError as exc:  # a SOL order for a USDC-quoted curve
                other_quote = exc  # Jupiter may have one atomic route; else its sentence
        if graduated is not None and self.pumpswap is not None:
            try:
                return await self.pumpswap.quote(
                    input_mint, output_mint, amount, slippage_bps, swap_mode=swap_mode
                )
            except NoRouteError as exc:  # migrated pools open a moment after the curve completes
                log.info("graduated_without_pool", error=str(exc))
        try:
            return await self.jupiter.quote(
                input_mint, output_mint, amount, slippage_bps, swap_mode=swap_mode
            )
        except NoRouteError:
            if graduated is not None:
                raise graduated from None  # the truer sentence: where the coin went
            if other_quote is not None:
                raise other_quote from None  # the truer sentence: what the curve is priced in
            raise

    async def build_swap(
        self,
        quote: Quote,
        user_public_key: str,
        *,
        priority_fee_lamports: int | None,
        tip: JitoTip | None = None,
    ) -> SwapTransaction:
        venue = self.venue_named(quote.venue)
        return await venue.build_swap(
            quote, user_public_key, priority_fee_lamports=priority_fee_lamports, tip=tip
        )

    def explain(
        self, error: OrderError, program_ids: Sequence[str] = (), logs: Sequence[str] = ()
    ) -> OrderError:
        """``error`` classified generically, made specific when pump.fun or PumpSwap raised it."""
        details: dict[str, Any] = dict(error.details)
        program = details.get("program")
        code = details.get("custom")
        if program != _PUMP or not isinstance(code, int):
            # the AMM's own codes (slippage 6004/6040, pool-v2 missing...) are PumpSwap's to read
            explain = getattr(self.pumpswap, "explain", None)
            explained = explain(error, program_ids, logs) if callable(explain) else error
            return explained if isinstance(explained, OrderError) else error
        base = {k: v for k, v in details.items() if k != "note"}
        return pump_order_error(code, base, pumpswap=self.pumpswap is not None)


class _Unforced:
    """``VenueRouter.unforced()``: the router's own routing, whatever ``force_venue`` says."""

    def __init__(self, router: VenueRouter) -> None:
        self._router = router

    @property
    def name(self) -> str:
        return self._router.name

    async def quote(
        self,
        input_mint: str,
        output_mint: str,
        amount: int,
        slippage_bps: int,
        *,
        swap_mode: SwapMode = "ExactIn",
    ) -> Quote:
        router = self._router
        return await router._quote(
            router.mode, input_mint, output_mint, amount, slippage_bps, swap_mode=swap_mode
        )

    async def build_swap(
        self,
        quote: Quote,
        user_public_key: str,
        *,
        priority_fee_lamports: int | None,
        tip: JitoTip | None = None,
    ) -> SwapTransaction:
        return await self._router.build_swap(
            quote, user_public_key, priority_fee_lamports=priority_fee_lamports, tip=tip
        )
