"""``Keyboard`` lays buttons out exactly as aiogram's ``InlineKeyboardBuilder`` (the oracle)."""

from __future__ import annotations

import pytest
from aiogram.utils.keyboard import InlineKeyboardBuilder

from sniper_bot.telegram.callbacks import MenuCb, SettingsCb
from sniper_bot.telegram.keyboards import settings_kb
from sniper_bot.telegram.markup import Keyboard

LAYOUTS = [(), (1,), (2, 2, 1), (5, 4, 3), (8,), (3, 1, 2, 8), (7, 1)]


@pytest.mark.parametrize("sizes", LAYOUTS)
@pytest.mark.parametrize("count", [0, 1, 2, 5, 9, 17, 37])
def test_rows_match_aiogram_builder(sizes: tuple[int, ...], count: int) -> None:
    ours, theirs = Keyboard(), InlineKeyboardBuilder()
    for i in range(count):
        data = MenuCb(action=f"a{i}") if i % 2 else f"raw:{i}"
        ours.button(text=f"b{i}", callback_data=data)
        theirs.button(text=f"b{i}", callback_data=data)
    ours.adjust(*sizes)
    theirs.adjust(*sizes)
    assert ours.as_markup() == theirs.as_markup()


@pytest.mark.parametrize("size", [0, 9, -1])
def test_a_row_size_aiogram_refuses_is_refused(size: int) -> None:
    with pytest.raises(ValueError, match="Row size"):
        InlineKeyboardBuilder().adjust(size)
    with pytest.raises(ValueError, match=f"Row size {size} is not allowed"):
        Keyboard().adjust(size)


def test_settings_keyboard_is_the_one_aiogram_builds() -> None:
    rows = settings_kb(100, "LOW", {"tp": 50}, switches={"mev": True}, tip_percentile=75)
    flat = [b for row in rows.inline_keyboard for b in row]
    theirs = InlineKeyboardBuilder()
    for b in flat:
        theirs.button(text=b.text, callback_data=b.callback_data or "")
    theirs.adjust(*[len(row) for row in rows.inline_keyboard])
    assert theirs.as_markup() == rows
    assert SettingsCb.unpack(flat[1].callback_data or "") == SettingsCb(field="slip", value="100")
    assert [len(r) for r in rows.inline_keyboard] == [5, 4, 3, 5, 5, 4, 4, 3, 1, 2, 2, 5, 1, 1]
