"""/settings: slippage, priority fee, automatic exits, MEV protection, Jito tip, Force Jupiter,
paper trading, confirm-before-buy and which pushed messages to get (fills, exits, snipe misses,
copy trades)."""

from __future__ import annotations

from html import escape

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from sniper_bot.control.facade import Control
from sniper_bot.control.views import ControlError, Identity, SettingsView
from sniper_bot.domain.money import format_sol
from sniper_bot.telegram.callbacks import ForgedCallback, MenuCb, SettingsCb
from sniper_bot.telegram.keyboards import TIP_FIXED, settings_choice, settings_kb
from sniper_bot.telegram.render import render_settings

_EXIT_FIELD = {
    "tp": "take_profit_pct",
    "sl": "stop_loss_pct",
    "trail": "trailing_stop_pct",
    "hold": "max_hold_minutes",
}


# the notification switches (keyboards.NOTICE_SWITCHES) -> UserSettings fields
_NOTICE_FIELD = {
    "nfill": "notify_fills",
    "nexit": "notify_exits",
    "nmiss": "notify_snipe_misses",
    "ncopy": "notify_copies",
}


class TipX(StatesGroup):
    amount = State()  # the next message is a fixed Jito tip in SOL (or "auto")


def _kb(view: SettingsView) -> InlineKeyboardMarkup:
    exits = {
        "tp": view.take_profit_pct,
        "sl": view.stop_loss_pct,
        "trail": view.trailing_stop_pct,
        "hold": view.max_hold_minutes,
    }
    return settings_kb(
        view.slippage_bps,
        view.priority_fee_level,
        exits,
        switches={
            "mev": view.mev_protection,
            "jup": view.force_jupiter,
            "paper": view.paper_trading,
            "confirm": view.confirm_trades,
            "nfill": view.notify_fills,
            "nexit": view.notify_exits,
            "nmiss": view.notify_snipe_misses,
            "ncopy": view.notify_copies,
        },
        tip_percentile=view.tip_percentile,
        fixed_tip=view.jito_tip_lamports is not None,
    )


def _tip_prompt(view: SettingsView) -> str:
    return (
        "Send the Jito tip in SOL (e.g. 0.001; at most "
        f"{format_sol(view.max_jito_tip_lamports)}), or <code>auto</code> for the tip floor."
    )


def build() -> Router:
    router = Router(name=__name__)

    @router.message(Command("settings"))
    async def show(message: Message, control: Control, ident: Identity, state: FSMContext) -> None:
        if await state.get_state() == TipX.amount.state:
            await state.clear()  # /settings leaves the tip prompt
        view = await control.settings(ident)
        await message.answer(render_settings(view), reply_markup=_kb(view))

    @router.callback_query(MenuCb.filter(F.action == "settings"))
    async def menu(query: CallbackQuery, control: Control, ident: Identity) -> None:
        await query.answer()
        view = await control.settings(ident)
        if isinstance(query.message, Message):
            await query.message.answer(render_settings(view), reply_markup=_kb(view))

    @router.callback_query(SettingsCb.filter())
    async def change(
        query: CallbackQuery,
        callback_data: SettingsCb,
        control: Control,
        ident: Identity,
        state: FSMContext,
    ) -> None:
        try:
            field, value = settings_choice(callback_data)
        except ForgedCallback as exc:  # not a button our keyboard offers
            await query.answer(str(exc))
            return
        if field == "tip" and value == TIP_FIXED:
            await query.answer()
            await state.set_state(TipX.amount)
            if isinstance(query.message, Message):
                await query.message.answer(_tip_prompt(await control.settings(ident)))
            return
        if field == "slip" and isinstance(value, int):
            view = await control.update_settings(ident, slippage_bps=value)
        elif field in _EXIT_FIELD and not isinstance(value, str):
            view = await control.update_settings(ident, exits={_EXIT_FIELD[field]: value})
        elif field == "mev" and isinstance(value, int):
            view = await control.update_settings(ident, mev_protection=bool(value))
        elif field == "jup" and isinstance(value, int):
            view = await control.update_settings(ident, force_jupiter=bool(value))
        elif field == "paper" and isinstance(value, int):
            view = await control.update_settings(ident, paper_trading=bool(value))
        elif field == "confirm" and isinstance(value, int):
            view = await control.update_settings(ident, confirm_trades=bool(value))
        elif field in _NOTICE_FIELD and isinstance(value, int):
            view = await control.update_settings(ident, notify={_NOTICE_FIELD[field]: bool(value)})
        elif field == "tip" and isinstance(value, int):
            view = await control.update_settings(ident, tip_percentile=value)
        else:
            view = await control.update_settings(ident, priority_fee_level=str(value))
        await query.answer("Saved")
        if isinstance(query.message, Message):
            await query.message.edit_text(render_settings(view), reply_markup=_kb(view))

    @router.message(TipX.amount)
    async def tip_amount(
        message: Message, control: Control, ident: Identity, state: FSMContext
    ) -> None:
        try:
            view = await control.set_jito_tip(ident, message.text or "")
        except ControlError as exc:  # the prompt stays: the next message is another try
            await message.answer(
                f"{escape(exc.user_message)} Send another amount, or /settings to cancel."
            )
            return
        await state.clear()
        await message.answer(render_settings(view), reply_markup=_kb(view))

    return router
