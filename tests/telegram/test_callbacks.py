"""Callback data comes back from the client and can be forged: every payload unpacks into one of
our callback types or is refused with ``ForgedCallback``; settings buttons accept only offered
choices."""

from __future__ import annotations

import pytest
from aiogram.filters.callback_data import CallbackData
from hypothesis import given
from hypothesis import strategies as st

from sniper_bot.telegram.callbacks import (
    STALE_BUTTON,
    BuyCb,
    ConfirmCb,
    ForgedCallback,
    MenuCb,
    SellCb,
    SettingsCb,
    WalletCb,
    unpack_any,
)
from sniper_bot.telegram.keyboards import (
    EXIT_CHOICES,
    FEE_CHOICES,
    SLIPPAGE_CHOICES,
    settings_choice,
    settings_kb,
)

MINT = "So11111111111111111111111111111111111111112"


@pytest.mark.parametrize(
    "made",
    [
        MenuCb(action="home"),
        BuyCb(mint=MINT, lamports=100_000_000),
        BuyCb(mint=MINT, lamports=-1),
        SellCb(mint=MINT, percent=50),
        WalletCb(action="use", wallet_id=3),
        SettingsCb(field="slip", value="300"),
    ],
)
def test_what_our_keyboards_make_unpacks_to_the_same_value(made: CallbackData) -> None:
    assert unpack_any(made.pack()) == made


@pytest.mark.parametrize(
    "forged",
    ["zzz:1", "b:abc", "b:M:²:0", "b:M:١:0", "b:M:1e9:0", "s:mint:abc", "m", "w:use:abc", "", ":"],
)
def test_forged_payloads_are_refused_with_the_stale_button_sentence(forged: str) -> None:
    with pytest.raises(ForgedCallback) as raised:
        unpack_any(forged)
    assert str(raised.value) == STALE_BUTTON


@given(st.text(max_size=64))
def test_any_payload_unpacks_to_our_type_or_is_refused(data: str) -> None:
    unpacked: CallbackData | None = None
    refusal = ""
    try:
        unpacked = unpack_any(data)
    except ForgedCallback as exc:
        refusal = str(exc)
    if unpacked is None:
        assert refusal == STALE_BUTTON
    else:
        assert isinstance(unpacked, MenuCb | BuyCb | SellCb | WalletCb | SettingsCb | ConfirmCb)


def test_every_settings_button_on_the_keyboard_is_a_valid_choice() -> None:
    markup = settings_kb(100, "MEDIUM", {"tp": 50})
    buttons = [b for row in markup.inline_keyboard for b in row if b.callback_data]
    choices = [
        settings_choice(SettingsCb.unpack(b.callback_data))
        for b in buttons
        if b.callback_data and b.callback_data.startswith("st:")
    ]
    expected = len(SLIPPAGE_CHOICES) + len(FEE_CHOICES) + sum(len(c) for _, _, c in EXIT_CHOICES)
    expected += 3 + 4 + 1  # MEV, Force Jupiter, Paper trading; tip p50/p75/p95/p99, fixed tip
    expected += 5  # confirm buys; notifications: fills, exits, snipe misses, copy trades
    assert len(choices) == expected
    assert ("slip", 300) in choices
    assert ("fee", "TURBO") in choices
    assert ("tp", None) in choices  # "off"
    assert ("hold", 240) in choices
    assert ("mev", 1) in choices  # both switches are off: their buttons turn them on
    assert ("jup", 1) in choices
    assert ("paper", 1) in choices
    assert {("confirm", 1), ("nfill", 1), ("nexit", 1), ("nmiss", 1), ("ncopy", 1)} <= set(choices)
    assert {("tip", 50), ("tip", 75), ("tip", 95), ("tip", 99), ("tip", "fixed")} <= set(choices)


def test_the_switch_buttons_set_the_opposite_of_the_current_value() -> None:
    markup = settings_kb(100, "MEDIUM", switches={"mev": True, "jup": False}, tip_percentile=95)
    labels = {b.text: b.callback_data for row in markup.inline_keyboard for b in row}
    assert labels["MEV protection: on ✅"] == "st:mev:0"
    assert labels["Force Jupiter: off"] == "st:jup:1"
    assert labels["• Tip p95"] == "st:tip:95"  # the automatic tip's percentile is marked
    fixed = settings_kb(100, "MEDIUM", tip_percentile=95, fixed_tip=True)
    fixed_labels = {b.text for row in fixed.inline_keyboard for b in row}
    assert {"Tip p95", "• Fixed tip…"} <= fixed_labels


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("slip", "abc"),
        ("slip", "²"),
        ("slip", "99999999999999999999999"),
        ("slip", "-5"),
        ("slip", "200"),  # a number, but not one the keyboard offers
        ("fee", "ZILLION"),
        ("tp", "1e3"),
        ("hold", "١"),
        ("nope", "1"),
        ("mev", "2"),
        ("mev", "true"),
        ("jup", ""),
        ("tip", "90"),
        ("tip", "0"),
        ("tip", "FIXED"),
        ("tip", "0.001"),
    ],
)
def test_a_forged_settings_value_is_refused(field: str, value: str) -> None:
    with pytest.raises(ForgedCallback) as raised:
        settings_choice(SettingsCb(field=field, value=value))
    assert str(raised.value) == "That setting is not one of the choices. Open /settings again."
