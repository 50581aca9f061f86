"""Inline keyboards built from views."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup

from sniper_bot.control.views import TokenCardView, WalletView
from sniper_bot.domain.entities import TIP_PERCENTILES
from sniper_bot.domain.money import format_sol
from sniper_bot.telegram.callbacks import (
    BuyCb,
    ForgedCallback,
    MenuCb,
    SellCb,
    SettingsCb,
    WalletCb,
)
from sniper_bot.telegram.markup import Keyboard

__all__ = ["home_kb", "settings_choice", "settings_kb", "token_kb", "wallets_kb"]

NOT_A_CHOICE = "That setting is not one of the choices. Open /settings again."

SLIPPAGE_CHOICES = (50, 100, 300, 500, 1000)
FEE_CHOICES = ("NONE", "LOW", "MEDIUM", "HIGH", "TURBO", "ULTRA", "AUTO")
# automatic exits: (callback field, label, choices); 0 = off
EXIT_CHOICES = (
    ("tp", "TP", (0, 25, 50, 100, 200)),
    ("sl", "SL", (0, 10, 20, 30, 50)),
    ("trail", "Trail", (0, 10, 20, 30)),
    ("hold", "Hold", (0, 30, 60, 240)),
)
# how orders are sent and routed: on/off switches (the button carries the value it sets), the
# Jito tip from a tip floor percentile, or "fixed" (the bot asks for an amount in SOL)
SWITCHES = (("mev", "MEV protection"), ("jup", "Force Jupiter"), ("paper", "📝 Paper trading"))
# confirm-before-buy and the pushed messages (domain.notify): on/off switches as above
NOTICE_SWITCHES = (
    ("confirm", "✋ Confirm buys"),
    ("nfill", "🔔 Fills"),
    ("nexit", "🔔 Exits"),
    ("nmiss", "🔔 Snipe misses"),
    ("ncopy", "🔔 Copy trades"),
)
TIP_FIXED = "fixed"


def home_kb() -> InlineKeyboardMarkup:
    b = Keyboard()  # aiogram's builder copies every button on each add
    b.button(text="📈 Positions", callback_data=MenuCb(action="positions"))
    b.button(text="🧾 Orders", callback_data=MenuCb(action="orders"))
    b.button(text="👛 Wallets", callback_data=MenuCb(action="wallets"))
    b.button(text="⚙️ Settings", callback_data=MenuCb(action="settings"))
    b.button(text="🔄 Refresh", callback_data=MenuCb(action="home"))
    b.adjust(2, 2, 1)
    return b.as_markup()


def token_kb(card: TokenCardView) -> InlineKeyboardMarkup:
    b = Keyboard()  # aiogram's builder copies every button on each add
    rows: list[int] = []
    if not card.risk.blocked and card.tokens_per_sol is not None:
        for lamports in card.presets_lamports:
            b.button(
                text=f"Buy {format_sol(lamports)}",
                callback_data=BuyCb(mint=card.mint, lamports=lamports),
            )
        rows.append(len(card.presets_lamports))
        b.button(text="Buy X SOL", callback_data=BuyCb(mint=card.mint, lamports=0))
        rows.append(1)
    if card.held_amount:
        for pct in (25, 50, 100):
            b.button(text=f"Sell {pct} %", callback_data=SellCb(mint=card.mint, percent=pct))
        rows.append(3)
    b.button(text="🔄 Refresh", callback_data=BuyCb(mint=card.mint, lamports=-1))
    b.button(text="🏠 Home", callback_data=MenuCb(action="home"))
    rows.append(2)
    b.adjust(*rows)
    return b.as_markup()


def wallets_kb(wallets: list[WalletView]) -> InlineKeyboardMarkup:
    b = Keyboard()  # aiogram's builder copies every button on each add
    for w in wallets:
        if not w.is_active:
            b.button(text=f"Use {w.label}", callback_data=WalletCb(action="use", wallet_id=w.id))
    active = next((w for w in wallets if w.is_active), None)
    b.button(text="➕ New wallet", callback_data=WalletCb(action="new"))
    b.button(text="📥 Import", callback_data=WalletCb(action="import"))
    if active is not None:
        b.button(text="🔑 Export key", callback_data=WalletCb(action="export", wallet_id=active.id))
        b.button(text="💸 Withdraw", callback_data=WalletCb(action="withdraw", wallet_id=active.id))
    b.button(text="🔢 Set PIN", callback_data=WalletCb(action="pin"))
    b.button(text="🏠 Home", callback_data=MenuCb(action="home"))
    b.adjust(1)
    return b.as_markup()


def settings_choice(cb: SettingsCb) -> tuple[str, int | str | None]:
    """A pressed settings button as ``(what, value)``: ``("slip", bps)``, ``("fee", level)``,
    ``("tp" | "sl" | "trail" | "hold", number or None for off)``, ``("mev" | "jup", 1 or 0)``
    (switch on / off), ``("tip", percentile)`` (automatic tip) or ``("tip", "fixed")`` (ask for
    an amount). Only values the keyboard offers are accepted: anything else (forged) raises
    ``ForgedCallback``."""
    if cb.field == "fee":
        if cb.value not in FEE_CHOICES:
            raise ForgedCallback(NOT_A_CHOICE)
        return "fee", cb.value
    if cb.field in {field for field, _ in SWITCHES + NOTICE_SWITCHES}:
        if cb.value not in ("0", "1"):
            raise ForgedCallback(NOT_A_CHOICE)
        return cb.field, int(cb.value)
    if cb.field == "tip":
        if cb.value == TIP_FIXED:
            return "tip", TIP_FIXED
        if cb.value not in {str(p) for p in TIP_PERCENTILES}:
            raise ForgedCallback(NOT_A_CHOICE)
        return "tip", int(cb.value)
    offered: tuple[int, ...] | None = SLIPPAGE_CHOICES if cb.field == "slip" else None
    for field, _label, choices in EXIT_CHOICES:
        if cb.field == field:
            offered = choices
    if offered is None or cb.value not in {str(v) for v in offered}:
        raise ForgedCallback(NOT_A_CHOICE)
    number = int(cb.value)
    if cb.field == "slip":
        return "slip", number
    return cb.field, number or None


def settings_kb(
    current_slippage: int,
    current_fee: str,
    exits: dict[str, int | None] | None = None,
    *,
    switches: dict[str, bool] | None = None,
    tip_percentile: int | None = None,
    fixed_tip: bool = False,
) -> InlineKeyboardMarkup:
    """``switches``: ``{"mev": on, "jup": on}``; ``tip_percentile`` / ``fixed_tip``: the current
    Jito tip (a percentile is marked only while the tip is automatic)."""
    b = Keyboard()  # aiogram's builder copies every button on each add
    exits = exits or {}
    for bps in SLIPPAGE_CHOICES:
        mark = "• " if bps == current_slippage else ""
        b.button(
            text=f"{mark}{bps / 100:g} %", callback_data=SettingsCb(field="slip", value=str(bps))
        )
    for level in FEE_CHOICES:
        mark = "• " if level == current_fee else ""
        b.button(text=f"{mark}{level}", callback_data=SettingsCb(field="fee", value=level))
    rows = [len(SLIPPAGE_CHOICES), 4, 3]
    for field, label, choices in EXIT_CHOICES:
        current = exits.get(field) or 0
        for value in choices:
            mark = "• " if value == current else ""
            unit = "m" if field == "hold" else "%"
            text = f"{mark}{label} {value}{unit}" if value else f"{mark}{label} off"
            b.button(text=text, callback_data=SettingsCb(field=field, value=str(value)))
        rows.append(len(choices))
    switches = switches or {}
    for field, label in SWITCHES:
        on = switches.get(field, False)
        b.button(
            text=f"{label}: {'on ✅' if on else 'off'}",
            callback_data=SettingsCb(field=field, value="0" if on else "1"),
        )
    rows.append(len(SWITCHES))
    for field, label in NOTICE_SWITCHES:
        on = switches.get(field, False)
        b.button(
            text=f"{label}: {'on ✅' if on else 'off'}",
            callback_data=SettingsCb(field=field, value="0" if on else "1"),
        )
    rows += [1, 2, 2]  # confirm buys; the four notifications two by two
    for percentile in TIP_PERCENTILES:
        mark = "• " if not fixed_tip and percentile == tip_percentile else ""
        b.button(
            text=f"{mark}Tip p{percentile}",
            callback_data=SettingsCb(field="tip", value=str(percentile)),
        )
    b.button(
        text=f"{'• ' if fixed_tip else ''}Fixed tip…",
        callback_data=SettingsCb(field="tip", value=TIP_FIXED),
    )
    rows.append(len(TIP_PERCENTILES) + 1)
    b.button(text="🪜 Exits: ladder, creator, per position", callback_data=MenuCb(action="exits"))
    b.button(text="🏠 Home", callback_data=MenuCb(action="home"))
    b.adjust(*rows, 1, 1)
    return b.as_markup()
