"""Limit orders and DCA plans: ``/limit buy|sell``, ``/dca buy|sell``; listed and cancelled in
``/orders`` (``/orders cancel L<id>`` / ``D<id>``). The facade checks every input and answers a
bad one with its specific sentence (the error middleware shows it). A paper user's orders and
plans fill in the paper book; every line and message about one is marked 📝 PAPER."""

from __future__ import annotations

import re
from datetime import datetime

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from sniper_bot.control.facade import Control
from sniper_bot.control.views import Identity, OrderView
from sniper_bot.domain.limits import (
    DcaPlan,
    LimitOrder,
    TriggerKind,
    dca_part_amount,
    format_duration,
    format_price,
)
from sniper_bot.domain.money import format_sol, format_tokens
from sniper_bot.domain.orders import OrderSide
from sniper_bot.telegram.render import PAPER_MARK, render_order

__all__ = ["build", "cancel_from_orders", "limits_section", "render_dca", "render_limit"]

LIMIT_USAGE = (
    "Usage:\n"
    "/limit buy MINT SOL PRICE [TTL]: buy for SOL when the price falls to PRICE (SOL per token);"
    " mc:30 for a market cap below 30 SOL; TTL like 30m, 2h, 1d (default 1d)\n"
    "/limit sell MINT PCT PRICE [TTL]: sell PCT % of it when the price rises to PRICE\n"
    "Your limit orders are in /orders."
)
DCA_USAGE = (
    "Usage: /dca buy MINT TOTAL_SOL PARTS EVERY [LOW-HIGH]\n"
    "/dca sell MINT TOTAL PARTS EVERY [LOW-HIGH]: TOTAL in tokens (1500), a share of what you "
    "hold (50%) or all\n"
    "e.g. /dca buy MINT 1 4 1h buys 0.25 SOL every hour; /dca sell MINT 50% 5 30m sells half "
    "of your tokens in 5 parts, one every 30 minutes. A band like 0.00002-0.00004 (SOL per "
    "token) pauses it while the price is outside. Your plans are in /orders."
)
CANCEL_USAGE = "Usage: /orders cancel L12 (a limit order) or /orders cancel D3 (a DCA plan)"
_CANCEL = re.compile(r"cancel\s+#?([LlDd])([0-9]{1,40})")
_ICON = {"BUY": "🟢", "SELL": "🔴"}


def _short(address: str) -> str:
    return f"{address[:4]}…{address[-4:]}"


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def _trigger(order: LimitOrder) -> str:
    if order.trigger_kind is TriggerKind.MCAP:
        return f"market cap {'≤' if order.side is OrderSide.BUY else '≥'} " + format_sol(
            order.trigger_value
        )
    return f"price {'≤' if order.side is OrderSide.BUY else '≥'} " + format_price(
        order.trigger_value
    )


def render_limit(order: LimitOrder) -> str:
    what = (
        f"buy {format_sol(order.amount_lamports or 0)} of"
        if order.side is OrderSide.BUY
        else f"sell {order.sell_pct} % of"
    )
    line = (
        f"{PAPER_MARK + ' ' if order.paper else ''}"
        f"{_ICON[order.side.value]} L{order.id} {order.status.value}: {what} "
        f"{_short(order.token_mint)} at {_trigger(order)}"
    )
    if order.status.value == "OPEN":
        line += f", until {_when(order.expires_at)}"
    if order.error:
        line += f" ({order.error})"
    return line


def render_dca(plan: DcaPlan) -> str:
    part = dca_part_amount(plan.total_amount, plan.parts, min(plan.parts_done, plan.parts - 1))
    if plan.side is OrderSide.SELL:  # token base units
        total = format_tokens(plan.total_amount, plan.decimals) + " tokens"
        each = format_tokens(part, plan.decimals) + " tokens"
        verb = "sell "
    else:
        total, each, verb = format_sol(plan.total_amount), format_sol(part), ""
    line = (
        f"{PAPER_MARK + ' ' if plan.paper else ''}"
        f"🔁 D{plan.id} {plan.status.value}: {verb}{total} of "
        f"{_short(plan.token_mint)} in {plan.parts} parts of ~{each} every "
        f"{format_duration(plan.interval_seconds)}, {plan.parts_done}/{plan.parts} done"
    )
    if plan.has_band:
        low = format_price(plan.band_min_price) if plan.band_min_price is not None else "any"
        high = format_price(plan.band_max_price) if plan.band_max_price is not None else "any"
        line += f", band {low} – {high}"
    if plan.status.value in ("ACTIVE", "PAUSED") and plan.parts_done < plan.parts:
        line += f", next {_when(plan.next_at)}"
    if plan.error:
        line += f" ({plan.error})"
    return line


async def limits_section(control: Control, ident: Identity) -> str:
    """The ``/orders`` part for limit orders and DCA plans ("" when the user has none)."""
    limits, plans = await control.limits_and_plans(ident)
    if not limits and not plans:
        return ""
    lines: list[str] = []
    if limits:
        lines += ["<b>Limit orders</b>", *(render_limit(o) for o in limits)]
    if plans:
        lines += ["<b>DCA plans</b>", *(render_dca(p) for p in plans)]
    lines.append("Cancel one with /orders cancel L12 or /orders cancel D3.")
    return "\n".join(lines)


async def cancel_from_orders(control: Control, ident: Identity, args: str) -> str:
    """``/orders cancel L<id>`` / ``D<id>``."""
    found = _CANCEL.fullmatch(args.strip())
    if found is None:
        return CANCEL_USAGE
    kind, number = found.group(1).upper(), int(found.group(2))
    if kind == "L":
        return "Cancelled:\n" + render_limit(await control.cancel_limit(ident, number))
    return "Cancelled:\n" + render_dca(await control.cancel_dca(ident, number))


def render_limit_settled(order: LimitOrder, placed: OrderView | None) -> str:
    head = "🎯 Limit order " + (
        "fired" if placed is not None else order.status.value.lower().replace("_", " ")
    )
    if order.paper:
        head = f"{PAPER_MARK} · {head} (simulated)"
    text = f"{head}\n{render_limit(order)}"
    return text + ("\n\n" + render_order(placed) if placed is not None else "")


def render_dca_step(plan: DcaPlan, placed: OrderView | None) -> str:
    if placed is not None:
        head = f"🔁 DCA part {plan.parts_done}/{plan.parts}"
    elif plan.status.value == "PAUSED":
        head = "⏸ DCA paused: the price is outside the band"
    else:
        head = f"🔁 DCA {plan.status.value.lower()}"
    if plan.paper:
        head = f"{PAPER_MARK} · {head} (simulated)"
    text = f"{head}\n{render_dca(plan)}"
    return text + ("\n\n" + render_order(placed) if placed is not None else "")


def build() -> Router:
    router = Router(name=__name__)

    @router.message(Command("limit"))
    async def limit(
        message: Message, command: CommandObject, control: Control, ident: Identity
    ) -> None:
        parts = (command.args or "").split()
        side = parts[0].lower() if parts else ""
        if side not in ("buy", "sell") or len(parts) not in (4, 5):
            await message.answer(LIMIT_USAGE)
            return
        ttl = parts[4] if len(parts) == 5 else None
        if side == "buy":
            order = await control.limit_buy(ident, parts[1], parts[2], parts[3], ttl)
        else:
            order = await control.limit_sell(ident, parts[1], parts[2], parts[3], ttl)
        await message.answer(
            "Limit order placed:\n" + render_limit(order) + "\nIt fires once, the moment the "
            "price is there. /orders lists it."
        )

    @router.message(Command("dca"))
    async def dca(
        message: Message, command: CommandObject, control: Control, ident: Identity
    ) -> None:
        parts = (command.args or "").split()
        side = parts[0].lower() if parts else ""
        if side not in ("buy", "sell") or len(parts) not in (5, 6):
            await message.answer(DCA_USAGE)
            return
        band = parts[5] if len(parts) == 6 else None
        start = control.dca_buy if side == "buy" else control.dca_sell
        plan = await start(ident, parts[1], parts[2], parts[3], parts[4], band)
        await message.answer("DCA plan started:\n" + render_dca(plan) + "\n/orders lists it.")

    return router
