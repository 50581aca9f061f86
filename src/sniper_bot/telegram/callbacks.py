"""Typed callback payloads (Telegram limits callback data to 64 bytes).

Callback data comes back from the client and can be forged: a payload that does not unpack into
one of these (wrong prefix, missing part, ``"abc"`` or ``"²"`` where a number goes) matches no
handler and gets ``STALE_BUTTON``; values that unpack are still checked by the handler or the
facade (amounts, ids and setting choices are bounded before any database call).
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

__all__ = [
    "STALE_BUTTON",
    "BuyCb",
    "ConfirmCb",
    "ForgedCallback",
    "MenuCb",
    "SellCb",
    "SettingsCb",
    "WalletCb",
    "unpack_any",
]

STALE_BUTTON = "This button is no longer valid. Send /start for the menu."


class ForgedCallback(ValueError):
    """Callback data no keyboard of this bot made; ``str(exc)`` is the sentence for the user."""


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


class ConfirmCb(CallbackData, prefix="cf"):
    """Confirm-before-buy: ``ok`` 1 buys the pending buy (kept in the conversation state), 0
    drops it; ``nonce`` names that pending buy, so an older prompt's button does nothing."""

    ok: int
    nonce: str


_ALL: tuple[type[CallbackData], ...] = (MenuCb, BuyCb, SellCb, WalletCb, SettingsCb, ConfirmCb)


def unpack_any(data: str) -> CallbackData:
    """The payload as the callback type whose prefix it carries; ``ForgedCallback`` otherwise."""
    for kind in _ALL:
        try:
            return kind.unpack(data)
        except (TypeError, ValueError):
            continue
    raise ForgedCallback(STALE_BUTTON)
