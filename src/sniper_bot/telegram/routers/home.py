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
    "• Paste a token mint address: its card with price and risk, and buy buttons.\n"
    "• /start or /home: your wallet, balance and the menu; /positions: open positions (sell "
    "from the card of each token); /orders: last orders, limit orders and DCA plans "
    "(/orders cancel L12 or D3).\n"
    "• /wallet: create, import, switch, export or withdraw, and the deposit QR code.\n"
    "• /settings: slippage, priority fee, automatic exits, MEV protection, Jito tip, 📝 paper "
    "trading, confirm buys, and which messages you get (fills, exits, snipe misses, copy "
    "trades).\n"
    "• /snipe MINT SOL: buy the moment a pool for MINT goes live; /snipe dev CREATOR SOL: the "
    "next pump.fun coin of that wallet; /snipe next SOL name=moon dev&lt;=1.5: the next launch "
    "matching every clause; /snipe grad MINT SOL: buy on PumpSwap when it graduates; /snipe "
    "lists them, /cancel ID disarms one.\n"
    "• /exits: the exit plan of new positions and of each open one; /ladder 2x:50 4x:25 (or "
    "off): the default take-profit ladder; /exit ID sl 20 trail 15 ladder 2x:50: edit the plan "
    "of one position.\n"
    "• /limit buy MINT SOL PRICE [TTL], /limit sell MINT PCT PRICE [TTL]: limit orders "
    "(PRICE in SOL per token, or mc:N for a market cap).\n"
    "• /dca buy MINT TOTAL_SOL PARTS EVERY [LOW-HIGH], /dca sell MINT TOTAL PARTS EVERY "
    "[LOW-HIGH]: buy or sell in parts (TOTAL tokens, 50% or all; send /limit or /dca alone for "
    "details).\n"
    "• /copy add WALLET 0.1|25% [max_per_trade] [max_per_day] [sell], /copy list, /copy remove "
    "ID: copy the trades of a wallet.\n"
    "• /pnl: realised PnL per day and per token (chart); /pnl MINT: the last card of that token.\n"
    "• /help: this message."
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
