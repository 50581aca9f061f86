"""Exit plans: take-profit ladders and "sell when the creator sells", as defaults for every new
position and per open position.

- ``/exits`` (or the "🪜 Exits" button of /settings): the defaults and each open position's plan,
  with a button per position; ``/ladder 2x:50 4x:25`` (or ``off``) sets the default ladder.
- a position's view (``xp:<id>:v``): its plan, "Sell with creator" on/off, "Ladder…" (the next
  message is its ladder), "Use my defaults"; ``/exit ID sl 20 trail 15 ladder 2x:50`` edits any
  of its rules at once (``control.exits.apply_plan_text``).
Callback data stays far below Telegram's 64 bytes (``xp:<int64 id>:c1`` is at most 26).
"""

from __future__ import annotations

import re
from html import escape

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from sniper_bot.control.exits import PLAN_HELP, ExitsView, PositionExitView
from sniper_bot.control.facade import Control
from sniper_bot.control.views import ControlError, Identity
from sniper_bot.telegram.callbacks import MenuCb
from sniper_bot.telegram.markup import Keyboard

__all__ = ["DefaultExitCb", "PositionExitCb", "build", "render_exits", "render_position_exit"]

LADDER_PROMPT = (
    "Send the ladder: TARGET:SHARE steps, e.g. <code>2x:50 4x:25</code> (sell 50 % of the "
    "position at 2x, 25 % at 4x; the rest rides on the stop-loss or trailing stop), or "
    "<code>off</code>."
)
EXIT_USAGE = (
    f"Usage: /exit ID RULES (ID from /exits), e.g. /exit 12 ladder 2x:50 sl 20. {PLAN_HELP}"
)
_ID = re.compile(r"#?([0-9]{1,19})")


class PositionExitCb(CallbackData, prefix="xp"):
    position_id: int
    action: str  # v view | c1 / c0 creator on/off | l ladder prompt | r use the defaults


class DefaultExitCb(CallbackData, prefix="xd"):
    action: str  # c1 / c0 default creator on/off | l default ladder prompt


class LadderX(StatesGroup):
    default = State()  # the next message is the default ladder
    position = State()  # the next message is the ladder of the position in the state's data


def _short(address: str) -> str:
    return f"{address[:4]}…{address[-4:]}"


def render_position_exit(view: PositionExitView) -> str:
    source = "its own plan" if view.own_plan else "your defaults"
    return (
        f"<b>Exits of #{view.position_id}</b> {_short(view.token_mint)} ({source})\n"
        f"{escape(view.plan)}\n\nChange any rule: /exit {view.position_id} RULES, e.g. "
        f"/exit {view.position_id} ladder 2x:50 4x:25 sl 20"
    )


def render_exits(view: ExitsView) -> str:
    lines = [
        "<b>Automatic exits</b>",
        f"Defaults for every new position: {escape(view.defaults)}",
        f"Ladder: {escape(view.ladder)}",
        "Sell when the creator sells: " + ("on" if view.sell_with_creator else "off"),
    ]
    if view.positions:
        lines.append("\n<b>Open positions</b>")
        for p in view.positions:
            mark = "own plan" if p.own_plan else "defaults"
            lines.append(f"#{p.position_id} {_short(p.token_mint)} ({mark}): {escape(p.plan)}")
    lines.append("\n/ladder 2x:50 4x:25 sets the default ladder; /exit ID RULES edits a position.")
    return "\n".join(lines)


def exits_kb(view: ExitsView) -> InlineKeyboardMarkup:
    b = Keyboard()
    b.button(text="🪜 Default ladder…", callback_data=DefaultExitCb(action="l"))
    on = view.sell_with_creator
    b.button(
        text=f"👤 Sell with creator: {'on ✅' if on else 'off'}",
        callback_data=DefaultExitCb(action="c0" if on else "c1"),
    )
    for p in view.positions:
        b.button(
            text=f"⚙️ #{p.position_id} {_short(p.token_mint)}",
            callback_data=PositionExitCb(position_id=p.position_id, action="v"),
        )
    b.button(text="🏠 Home", callback_data=MenuCb(action="home"))
    b.adjust(2, *([1] * len(view.positions)), 1)
    return b.as_markup()


def position_kb(view: PositionExitView) -> InlineKeyboardMarkup:
    b = Keyboard()
    pid, on = view.position_id, view.sell_with_creator
    b.button(
        text=f"👤 Sell with creator: {'on ✅' if on else 'off'}",
        callback_data=PositionExitCb(position_id=pid, action="c0" if on else "c1"),
    )
    b.button(text="🪜 Ladder…", callback_data=PositionExitCb(position_id=pid, action="l"))
    if view.own_plan:
        b.button(
            text="↩️ Use my defaults", callback_data=PositionExitCb(position_id=pid, action="r")
        )
    b.button(text="🪜 All exits", callback_data=MenuCb(action="exits"))
    b.adjust(2, 1, 1)
    return b.as_markup()


def build() -> Router:
    router = Router(name=__name__)

    async def show(message: Message, control: Control, ident: Identity) -> None:
        view = await control.exits(ident)
        await message.answer(render_exits(view), reply_markup=exits_kb(view))

    @router.message(Command("exits"))
    async def exits_cmd(
        message: Message, control: Control, ident: Identity, state: FSMContext
    ) -> None:
        if await state.get_state() in (LadderX.default.state, LadderX.position.state):
            await state.clear()
        await show(message, control, ident)

    @router.callback_query(MenuCb.filter(F.action == "exits"))
    async def exits_menu(query: CallbackQuery, control: Control, ident: Identity) -> None:
        await query.answer()
        if isinstance(query.message, Message):
            await show(query.message, control, ident)

    @router.message(Command("ladder"))
    async def ladder_cmd(
        message: Message, command: CommandObject, control: Control, ident: Identity
    ) -> None:
        if not (command.args or "").strip():
            await message.answer(LADDER_PROMPT)
            return
        view = await control.set_default_ladder(ident, command.args or "")
        await message.answer("Saved.\n\n" + render_exits(view), reply_markup=exits_kb(view))

    @router.message(Command("exit"))
    async def exit_cmd(
        message: Message, command: CommandObject, control: Control, ident: Identity
    ) -> None:
        parts = (command.args or "").split(maxsplit=1)
        found = _ID.fullmatch(parts[0]) if parts else None
        if found is None or len(parts) < 2:
            await message.answer(escape(EXIT_USAGE))
            return
        view = await control.edit_position_exits(ident, int(found.group(1)), parts[1])
        await message.answer(
            "Saved.\n\n" + render_position_exit(view), reply_markup=position_kb(view)
        )

    @router.callback_query(DefaultExitCb.filter())
    async def default_button(
        query: CallbackQuery,
        callback_data: DefaultExitCb,
        control: Control,
        ident: Identity,
        state: FSMContext,
    ) -> None:
        if callback_data.action == "l":
            await query.answer()
            await state.set_state(LadderX.default)
            if isinstance(query.message, Message):
                await query.message.answer(LADDER_PROMPT)
            return
        if callback_data.action not in ("c0", "c1"):
            await query.answer("That button is not one of the choices. Send /exits again.")
            return
        view = await control.set_default_sell_with_creator(ident, callback_data.action == "c1")
        await query.answer("Saved")
        if isinstance(query.message, Message):
            await query.message.edit_text(render_exits(view), reply_markup=exits_kb(view))

    @router.callback_query(PositionExitCb.filter())
    async def position_button(
        query: CallbackQuery,
        callback_data: PositionExitCb,
        control: Control,
        ident: Identity,
        state: FSMContext,
    ) -> None:
        pid, action = callback_data.position_id, callback_data.action
        if action == "l":
            await control.position_exits(ident, pid)  # refused now when it is not open
            await query.answer()
            await state.set_state(LadderX.position)
            await state.update_data(exit_position_id=pid)
            if isinstance(query.message, Message):
                await query.message.answer(f"Position #{pid}: {LADDER_PROMPT}")
            return
        changes = {"c1": "dev on", "c0": "dev off", "r": "reset"}
        if action == "v":
            view = await control.position_exits(ident, pid)
            await query.answer()
            if isinstance(query.message, Message):
                await query.message.answer(
                    render_position_exit(view), reply_markup=position_kb(view)
                )
            return
        if action not in changes:
            await query.answer("That button is not one of the choices. Send /exits again.")
            return
        view = await control.edit_position_exits(ident, pid, changes[action])
        await query.answer("Saved")
        if isinstance(query.message, Message):
            await query.message.edit_text(
                render_position_exit(view), reply_markup=position_kb(view)
            )

    @router.message(LadderX.default)
    async def default_ladder(
        message: Message, control: Control, ident: Identity, state: FSMContext
    ) -> None:
        try:
            view = await control.set_default_ladder(ident, message.text or "")
        except ControlError as exc:  # the prompt stays: the next message is another try
            await message.answer(f"{escape(exc.user_message)} Send another, or /exits to cancel.")
            return
        await state.clear()
        await message.answer("Saved.\n\n" + render_exits(view), reply_markup=exits_kb(view))

    @router.message(LadderX.position)
    async def position_ladder(
        message: Message, control: Control, ident: Identity, state: FSMContext
    ) -> None:
        pid = int((await state.get_data()).get("exit_position_id", 0))
        try:
            view = await control.edit_position_exits(ident, pid, f"ladder {message.text or ''}")
        except ControlError as exc:
            await message.answer(f"{escape(exc.user_message)} Send another, or /exits to cancel.")
            return
        await state.clear()
        await message.answer(
            "Saved.\n\n" + render_position_exit(view), reply_markup=position_kb(view)
        )

    return router
