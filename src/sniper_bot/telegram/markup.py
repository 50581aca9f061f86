"""``Keyboard``: the part of aiogram's ``InlineKeyboardBuilder`` the keyboards use, without its
copies. aiogram's builder deep-copies every button already added on each ``button()`` (pydantic
``deepcopy``, quadratic in the buttons): /settings' 37 buttons cost about 10 ms of CPU per reply,
which under 200 concurrent users is the bot's largest single cost. Rows come out exactly as
``InlineKeyboardBuilder.adjust`` lays them (sizes 1..8, the last size repeated for the rest).
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

__all__ = ["MAX_ROW", "Keyboard"]

MAX_ROW = 8  # Telegram's (and aiogram's) widest inline keyboard row


class Keyboard:
    def __init__(self) -> None:
        self._buttons: list[InlineKeyboardButton] = []
        self._sizes: tuple[int, ...] = (MAX_ROW,)

    def button(self, *, text: str, callback_data: CallbackData | str) -> None:
        data = callback_data.pack() if isinstance(callback_data, CallbackData) else callback_data
        self._buttons.append(InlineKeyboardButton(text=text, callback_data=data))

    def adjust(self, *sizes: int) -> None:
        for size in sizes:
            if not isinstance(size, int) or not 1 <= size <= MAX_ROW:
                raise ValueError(f"Row size {size} is not allowed, range: [1, {MAX_ROW}]")
        self._sizes = sizes or (MAX_ROW,)

    def as_markup(self) -> InlineKeyboardMarkup:
        rows: list[list[InlineKeyboardButton]] = []
        at = 0
        while at < len(self._buttons):
            size = self._sizes[min(len(rows), len(self._sizes) - 1)]
            rows.append(self._buttons[at : at + size])
            at += size
        return InlineKeyboardMarkup(inline_keyboard=rows)
