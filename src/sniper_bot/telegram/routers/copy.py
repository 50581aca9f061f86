"""Copy trading: ``/copy add WALLET SOL|PCT% [MAX_PER_TRADE] [MAX_PER_DAY] [sell]``, ``/copy
list``, ``/copy remove ID``. The facade checks every input and answers a bad one with its
specific sentence (the error middleware shows it); the copy trader's results are rendered here
(``render_copied``)."""

from __future__ import annotations

import re

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from sniper_bot.control.facade import Control
from sniper_bot.control.views import Identity, OrderView
from sniper_bot.domain.copy import CopyFollow, CopyTradeRecord, LeaderTrade, format_size
from sniper_bot.domain.money import format_sol
from sniper_bot.telegram.render import render_order

__all__ = ["build", "render_copied", "render_follow"]

COPY_USAGE = (
    "Usage:\n"
    "/copy add WALLET SOL|PCT% [MAX_PER_TRADE] [MAX_PER_DAY] [sell]: copy WALLET's buys with "
    "a fixed SOL size (0.1) or a share of its size (25%), at most MAX_PER_TRADE SOL a trade and "
    "MAX_PER_DAY SOL a day (- for no limit); sell: sell the same share of yours when it sells\n"
    "/copy list: the wallets you follow\n"
    "/copy remove ID: stop following one"
)
REMOVE_USAGE = "Usage: /copy remove ID (the number /copy list shows, like /copy remove 3)"
_ID = re.compile(r"#?([0-9]{1,40})")


def _short(address: str) -> str:
    return f"{address[:4]}…{address[-4:]}"


def render_follow(follow: CopyFollow) -> str:
    line = f"👥 #{follow.id} {_short(follow.leader)}: {format_size(follow.mode, follow.size_value)}"
    line += " a buy" if follow.mode.value == "FIXED" else " size a buy"
    if follow.max_per_trade is not None:
        line += f", at most {format_sol(follow.max_per_trade)} a trade"
    if follow.max_per_day is not None:
        line += f", {format_sol(follow.max_per_day)} a day"
    line += ", sells with the leader" if follow.sell_with_leader else ", buys only"
    return line


def render_copied(
    follow: CopyFollow,
    trade: LeaderTrade,
    record: CopyTradeRecord,
    placed: OrderView | None,
    reason: str | None,
) -> str:
    side = "buy" if record.is_buy else "sale"
    what = f"{_short(follow.leader)}'s {side} of {_short(record.token_mint)}"
    if placed is None:
        why = reason or "nothing to copy"
        return f"👥 Not copied: {what} (#{follow.id}): {why[:1].lower() + why[1:].rstrip('.')}."
    amount = format_sol(record.lamports) if record.is_buy else f"{record.token_amount} tokens"
    done = "Copy failed" if placed.status in ("FAILED", "EXPIRED", "CANCELLED") else "Copied"
    head = f"👥 {done}: {what} (#{follow.id}): {amount}"
    return f"{head}\n\n{render_order(placed)}"


def build() -> Router:
    router = Router(name=__name__)

    @router.message(Command("copy"))
    async def copy(
        message: Message, command: CommandObject, control: Control, ident: Identity
    ) -> None:
        parts = (command.args or "").split()
        verb = parts[0].lower() if parts else ""
        if verb == "list" and len(parts) == 1:
            follows = await control.copy_list(ident)
            if not follows:
                await message.answer("You follow no wallet yet.\n\n" + COPY_USAGE)
                return
            lines = [render_follow(f) for f in follows]
            await message.answer(
                "<b>Wallets you copy</b>\n" + "\n".join(lines) + "\nStop one with /copy remove ID."
            )
            return
        if verb == "remove":
            found = _ID.fullmatch(parts[1]) if len(parts) == 2 else None
            if found is None:
                await message.answer(REMOVE_USAGE)
                return
            removed = await control.copy_remove(ident, int(found.group(1)))
            await message.answer("Stopped copying:\n" + render_follow(removed))
            return
        if verb != "add" or len(parts) < 3:
            await message.answer(COPY_USAGE)
            return
        rest = parts[3:]
        sell = bool(rest) and rest[-1].lower() == "sell"
        if sell:
            rest = rest[:-1]
        if len(rest) > 2:
            await message.answer(COPY_USAGE)
            return
        per_trade = rest[0] if rest else None
        per_day = rest[1] if len(rest) > 1 else None
        follow = await control.copy_add(ident, parts[1], parts[2], per_trade, per_day, sell)
        await message.answer(
            "Copy trading on:\n" + render_follow(follow) + "\nEach of its trades is copied "
            "once, the moment it is seen. /copy list shows it."
        )

    return router
