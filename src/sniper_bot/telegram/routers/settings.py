"""/settings: slippage and priority fee presets."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from sniper_bot.control.facade import Control
from sniper_bot.control.views import Identity, SettingsView
from sniper_bot.telegram.callbacks import ForgedCallback, MenuCb, SettingsCb
from sniper_bot.telegram.keyboards import settings_choice, settings_kb
from sniper_bot.telegram.render import render_settings

_EXIT_FIELD = {
    "tp": "take_profit_pct",
    "sl": "stop_loss_pct",
    "trail": "trailing_stop_pct",
    "hold": "max_hold_minutes",
}


def _kb(view: SettingsView) -> InlineKeyboardMarkup:
    exits = {
        "tp": view.take_profit_pct,
        "sl": view.stop_loss_pct,
        "trail": view.trailing_stop_pct,
        "hold": view.max_hold_minutes,
    }
    return settings_kb(view.slippage_bps, view.priority_fee_level, exits)


def build() -> Router:
    router = Router(name=__name__)

    @router.message(Command("settings"))
    async def show(message: Message, control: Control, ident: Identity) -> None:
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
        query: CallbackQuery, callback_data: SettingsCb, control: Control, ident: Identity
    ) -> None:
        try:
            field, value = settings_choice(callback_data)
        except ForgedCallback as exc:  # not a button our keyboard offers
            await query.answer(str(exc))
            return
        if field == "slip" and isinstance(value, int):
            view = await control.update_settings(ident, slippage_bps=value)
        elif field in _EXIT_FIELD and not isinstance(value, str):
            view = await control.update_settings(ident, exits={_EXIT_FIELD[field]: value})
        else:
            view = await control.update_settings(ident, priority_fee_level=str(value))
        await query.answer("Saved")
        if isinstance(query.message, Message):
            await query.message.edit_text(render_settings(view), reply_markup=_kb(view))

    return router
