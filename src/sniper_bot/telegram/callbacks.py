"""Typed callback payloads (Telegram limits callback data to 64 bytes)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

__all__ = ["BuyCb", "MenuCb", "SellCb", "SettingsCb", "WalletCb"]


class MenuCb(CallbackData, prefix="m"):
    action: str  # home | positions | wallets | settings | orders | refresh


class BuyCb(CallbackData, prefix="b"):
    mint: str
    lamports: int  # 0 = ask for a custom amount
    override: bool = False


class SellCb(CallbackData, prefix="s"):
    mint: str
    percent: int


class WalletCb(CallbackData, prefix="w"):
    action: str  # new | import | use | export | withdraw | pin
    wallet_id: int = 0


class SettingsCb(CallbackData, prefix="st"):
    field: str  # slip | fee
    value: str
