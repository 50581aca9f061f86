"""/pnl: realised PnL per day and per token, unrealised of open positions (a chart, sendPhoto);
/pnl MINT: the card of that token's last closed position. A sell that closes a position sends
its card by itself (``send_closed_card``)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message

from sniper_bot.control.facade import Control
from sniper_bot.control.views import Identity, OrderView
from sniper_bot.telegram.cards import card_caption, pnl_caption, pnl_card_png, pnl_chart_png

__all__ = ["build", "send_closed_card"]

NO_CLOSED = "No closed position of that token yet. /pnl shows the summary."


async def send_closed_card(
    message: Message, control: Control, ident: Identity, order: OrderView
) -> None:
    """After a confirmed sell: the position's PnL card when the sell closed it."""
    if order.side != "SELL" or order.status != "CONFIRMED":
        return
    card = await control.pnl_card(ident, order.token_mint, closed_now=True)
    if card is not None:
        photo = BufferedInputFile(pnl_card_png(card), filename="pnl.png")
        await message.answer_photo(photo, caption=card_caption(card))


def build() -> Router:
    router = Router(name=__name__)

    @router.message(Command("pnl"))
    async def pnl(
        message: Message, command: CommandObject, control: Control, ident: Identity
    ) -> None:
        arg = (command.args or "").strip()
        if arg:
            card = await control.pnl_card(ident, arg)
            if card is None:
                await message.answer(NO_CLOSED)
                return
            photo = BufferedInputFile(pnl_card_png(card), filename="pnl.png")
            await message.answer_photo(photo, caption=card_caption(card))
            return
        view = await control.pnl(ident)
        chart = BufferedInputFile(pnl_chart_png(view), filename="pnl.png")
        await message.answer_photo(chart, caption=pnl_caption(view))

    return router
