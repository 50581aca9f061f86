"""/start, /help, the home menu, positions and orders."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message

from sniper_bot.control.facade import Control
from sniper_bot.control.views import Identity
from sniper_bot.telegram.callbacks import MenuCb
from sniper_bot.telegram.keyboards import home_kb
from sniper_bot.telegram.render import render_home, render_order, render_positions
from sniper_bot.telegram.routers.limits import cancel_from_orders, limits_section

HELP = (
    "<b>How to use</b>\n"
    "• Paste a token mint address: you get its card with price and risk, and buy buttons.\n"
    "• /positions: your open positions, with sell buttons on each token card.\n"
    "• /orders: your last orders and why any failed.\n"
    "• /wallet: create, import, export or withdraw; /settings: slippage and priority fee.\n"
    "• /snipe MINT SOL: buy the moment a pool for MINT goes live; /snipe lists, /cancel ID.\n"
    "• /limit buy MINT SOL PRICE, /limit sell MINT PCT PRICE: limit orders; /dca buy MINT "
    "TOTAL PARTS EVERY: DCA (send /limit or /dca for details; /orders lists and cancels)."
)


def build() -> Router:
    router = Router(name=__name__)

    @router.message(CommandStart())
    async def start(message: Message, control: Control, ident: Identity) -> None:
        view = await control.start(ident)
        await message.answer(render_home(view), reply_markup=home_kb())

    @router.message(Command("help"))
    async def help_(message: Message) -> None:
        await message.answer(HELP)

    @router.message(Command("home"))
    async def home_cmd(message: Message, control: Control, ident: Identity) -> None:
        await message.answer(render_home(await control.home(ident)), reply_markup=home_kb())

    @router.message(Command("positions"))
    async def positions_cmd(message: Message, control: Control, ident: Identity) -> None:
        await message.answer(
            render_positions(await control.positions(ident)), reply_markup=home_kb()
        )

    @router.message(Command("orders"))
    async def orders_cmd(
        message: Message, command: CommandObject, control: Control, ident: Identity
    ) -> None:
        if command.args:  # /orders cancel L<id> | D<id>: a limit order or a DCA plan
            await message.answer(await cancel_from_orders(control, ident, command.args))
            return
        await message.answer(await _orders_text(control, ident), reply_markup=home_kb())

    @router.callback_query(MenuCb.filter(F.action.in_({"home", "positions", "orders"})))
    async def menu(
        query: CallbackQuery, callback_data: MenuCb, control: Control, ident: Identity
    ) -> None:
        await query.answer()
        if callback_data.action == "home":
            text = render_home(await control.home(ident))
        elif callback_data.action == "positions":
            text = render_positions(await control.positions(ident))
        else:
            text = await _orders_text(control, ident)
        if isinstance(query.message, Message):
            await query.message.answer(text, reply_markup=home_kb())

    return router


async def _orders_text(control: Control, ident: Identity) -> str:
    orders = await control.orders(ident, limit=10)
    pending = await limits_section(control, ident)  # limit orders and DCA plans
    if not orders:
        return pending or "No orders yet."
    text = "<b>Last orders</b>\n\n" + "\n\n".join(render_order(o) for o in orders)
    return f"{pending}\n\n{text}" if pending else text
