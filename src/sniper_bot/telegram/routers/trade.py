"""Paste a mint -> token card; buy presets, custom amounts, sells; snipes.

Confirm-before-buy (``confirmTrades`` in /settings): a buy the user starts by hand (a preset
button, or "Buy X SOL" and the typed amount) is kept in the conversation state and asked about
first ("✅ Buy" / "✖ Cancel"); only the confirmation places it, with the action id of the press
that started it, so a double tap on the confirmation is still one order."""

from __future__ import annotations

import asyncio
import re
import secrets
from html import escape
from typing import Any

import structlog
from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from sniper_bot.control.facade import AlreadyGraduated, Control
from sniper_bot.control.views import Identity, OrderView
from sniper_bot.domain.launch import InvalidLaunchFilter, LaunchFilter
from sniper_bot.domain.money import format_sol, parse_sol
from sniper_bot.errors import TemporaryError
from sniper_bot.telegram.callbacks import (
    STALE_BUTTON,
    BuyCb,
    ConfirmCb,
    ForgedCallback,
    SellCb,
    unpack_any,
)
from sniper_bot.telegram.keyboards import home_kb, token_kb
from sniper_bot.telegram.markup import Keyboard
from sniper_bot.telegram.render import render_order, render_snipes, render_token_card
from sniper_bot.telegram.routers.pnl import send_closed_card

log = structlog.get_logger(__name__)
MINT_RE = re.compile(r"^[1-9A-HJ-NP-Za-km-z]{32,44}$")
ID_RE = re.compile(r"[0-9]{1,40}")  # the facade bounds the value (no such snipe above int64)
POLL_S = 0.5
FOLLOW_MAX_S = 180.0


NEXT_USAGE = (
    "Usage: /snipe next SOL CLAUSE..., e.g. /snipe next 0.1 name=moon symbol=MOON dev<=1.5. "
    "Clauses (all must match): name=WORD[,WORD] symbol=WORD[,WORD] dev<=SOL dev>=SOL "
    "creator=ADDR[,ADDR] notcreator=ADDR[,ADDR] mayhem=yes|no"
)
_CLAUSE_RE = re.compile(r"^([a-z]+)(<=|>=|=)(.*)$", re.IGNORECASE)
_LIST_CLAUSES = {
    "name": "name_contains",
    "symbol": "symbol_contains",
    "creator": "creators",
    "notcreator": "not_creators",
}
_YES, _NO = ("yes", "true", "on", "1"), ("no", "false", "off", "0")


def _dev_bound(text: str) -> int:
    if text.strip() in ("0", "0.0", "0SOL", "0sol"):
        return 0  # dev<=0: the creator bought nothing
    return parse_sol(text)


def parse_launch_filter(clauses: list[str]) -> LaunchFilter:
    """The ``/snipe next`` clauses as a ``LaunchFilter``; ``ValueError`` with the sentence for
    the first bad clause (unknown key, repeated key, bad amount, bad address, bad flag), plain
    text (the caller escapes it for HTML)."""
    fields: dict[str, Any] = {}
    seen: set[str] = set()
    for clause in clauses:
        shown = clause[:60]
        match = _CLAUSE_RE.match(clause)
        if match is None:
            raise ValueError(
                f"'{shown}' is not a clause: write KEY=VALUE, dev<=SOL or dev>=SOL. {NEXT_USAGE}"
            )
        key, op, value = match.group(1).lower(), match.group(2), match.group(3)
        label = key + (op if key == "dev" else "")
        if label in seen:
            raise ValueError(f"'{label}' is given twice; give each clause once.")
        seen.add(label)
        if not value:
            raise ValueError(f"'{shown}' has no value after '{op}'.")
        if key == "dev":
            if op == "=":
                raise ValueError("Write the dev buy bound as dev<=SOL or dev>=SOL, e.g. dev<=1.5.")
            try:
                lamports = _dev_bound(value)
            except ValueError as exc:
                raise ValueError(f"dev{op}{value[:40]}: {exc}.") from None
            fields["dev_buy_max_lamports" if op == "<=" else "dev_buy_min_lamports"] = lamports
            continue
        if op != "=":
            raise ValueError(f"'{shown}': only dev takes <= or >=; write {key}=VALUE.")
        if key == "mayhem":
            if value.lower() not in _YES + _NO:
                raise ValueError(f"mayhem={value[:20]}: write mayhem=yes or mayhem=no.")
            fields["mayhem"] = value.lower() in _YES
            continue
        if key not in _LIST_CLAUSES:
            raise ValueError(
                f"Unknown clause '{key[:20]}'; use name, symbol, dev, creator, notcreator "
                "or mayhem."
            )
        terms = tuple(value.split(","))
        if key in ("creator", "notcreator"):
            bad = next((t for t in terms if not MINT_RE.match(t)), None)
            if bad is not None:
                raise ValueError(
                    f"{key}: '{bad[:60]}' is not a wallet address (32-44 characters of base58)."
                )
        elif any(not t.strip() for t in terms):
            raise ValueError(f"{key}= has an empty word; separate words with commas.")
        fields[_LIST_CLAUSES[key]] = terms
    low, high = fields.get("dev_buy_min_lamports"), fields.get("dev_buy_max_lamports")
    if low is not None and high is not None and low > high:
        raise ValueError(
            f"dev>={format_sol(low)} is above dev<={format_sol(high)}: no launch can match."
        )
    try:
        return LaunchFilter(**fields)
    except InvalidLaunchFilter as exc:
        text = str(exc)
        raise ValueError(text[:1].upper() + text[1:] + ".") from None


class BuyX(StatesGroup):
    amount = State()


class BuyConfirm(StatesGroup):
    pending = State()  # a buy waiting for "✅ Buy" (confirmTrades); its mint, amount, action id


CONFIRM_GONE = "This confirmation is no longer open; nothing was bought. Tap a buy button again."


async def _confirm_first(
    message: Message, control: Control, ident: Identity, state: FSMContext, mint: str,
    lamports: int, action: str,
) -> bool:  # fmt: skip
    """With confirmTrades on: keep the buy in the conversation state, ask, and return True (the
    caller stops); False when the user buys at one tap."""
    if not await control.buy_needs_confirm(ident):
        return False
    nonce = secrets.token_hex(4)
    await state.set_state(BuyConfirm.pending)
    await state.update_data(mint=mint, lamports=lamports, action=action, nonce=nonce)
    b = Keyboard()
    b.button(text="✅ Buy", callback_data=ConfirmCb(ok=1, nonce=nonce))
    b.button(text="✖ Cancel", callback_data=ConfirmCb(ok=0, nonce=nonce))
    b.adjust(2)
    await message.answer(
        f"Buy {format_sol(lamports)} of <code>{escape(mint)}</code>?\n"
        "Confirm buys is on in /settings: nothing is placed until you tap ✅ Buy.",
        reply_markup=b.as_markup(),
    )
    return True


def build() -> Router:
    router = Router(name=__name__)

    @router.message(F.text.regexp(MINT_RE))
    async def paste_mint(message: Message, control: Control, ident: Identity) -> None:
        card = await control.token_card(ident, (message.text or "").strip())
        await message.answer(render_token_card(card), reply_markup=token_kb(card))

    @router.callback_query(BuyCb.filter())
    async def buy(
        query: CallbackQuery,
        callback_data: BuyCb,
        control: Control,
        ident: Identity,
        state: FSMContext,
    ) -> None:
        message = query.message if isinstance(query.message, Message) else None
        if callback_data.lamports < 0:  # refresh the card
            await query.answer()
            card = await control.token_card(ident, callback_data.mint)
            if message is not None:
                await message.edit_text(render_token_card(card), reply_markup=token_kb(card))
            return
        if callback_data.lamports == 0:
            await query.answer()
            await state.set_state(BuyX.amount)
            await state.update_data(mint=callback_data.mint)
            if message is not None:
                await message.answer("How much SOL? (e.g. 0.25)")
            return
        # one rendered button = one action: a double tap on it is the same order
        action = f"tg:{message.chat.id}:{message.message_id}:{query.data}" if message else query.id
        if message is not None and await _confirm_first(
            message, control, ident, state, callback_data.mint, callback_data.lamports, action
        ):
            await query.answer()
            return
        await query.answer("Buying…")
        live = _Live(message) if message is not None else None
        order = await control.buy(
            ident,
            callback_data.mint,
            callback_data.lamports,
            action,
            progress=live.progress if live is not None else None,
        )
        if live is not None:
            await _follow(control, ident, live, order)

    @router.message(BuyX.amount)
    async def buy_amount(
        message: Message, control: Control, ident: Identity, state: FSMContext
    ) -> None:
        data = await state.get_data()
        try:
            lamports = parse_sol(message.text or "")
        except ValueError as exc:
            await message.answer(
                f"{escape(str(exc))}. Send an amount like 0.25, or /home to cancel."
            )
            return
        await state.clear()
        action = f"tg:{message.chat.id}:{message.message_id}:buyx"
        mint = str(data["mint"])
        if await _confirm_first(message, control, ident, state, mint, lamports, action):
            return
        live = _Live(message)
        order = await control.buy(
            ident, str(data["mint"]), lamports, action, progress=live.progress
        )
        await _follow(control, ident, live, order)

    @router.callback_query(ConfirmCb.filter())
    async def confirm(
        query: CallbackQuery,
        callback_data: ConfirmCb,
        control: Control,
        ident: Identity,
        state: FSMContext,
    ) -> None:
        message = query.message if isinstance(query.message, Message) else None
        data = await state.get_data()
        if (
            await state.get_state() != BuyConfirm.pending.state
            or data.get("nonce") != callback_data.nonce
        ):
            await query.answer(CONFIRM_GONE)
            return
        await state.clear()
        if message is not None:
            await message.edit_reply_markup(reply_markup=None)
        if not callback_data.ok:
            await query.answer("Cancelled")
            if message is not None:
                await message.answer("Buy cancelled: nothing was placed.")
            return
        await query.answer("Buying…")
        live = _Live(message) if message is not None else None
        order = await control.buy(
            ident,
            str(data["mint"]),
            int(data["lamports"]),
            str(data["action"]),
            progress=live.progress if live is not None else None,
        )
        if live is not None:
            await _follow(control, ident, live, order)

    @router.callback_query(SellCb.filter())
    async def sell(
        query: CallbackQuery, callback_data: SellCb, control: Control, ident: Identity
    ) -> None:
        await query.answer("Selling…")
        message = query.message if isinstance(query.message, Message) else None
        action = f"tg:{message.chat.id}:{message.message_id}:{query.data}" if message else query.id
        live = _Live(message) if message is not None else None
        order = await control.sell(
            ident,
            callback_data.mint,
            callback_data.percent,
            action,
            progress=live.progress if live is not None else None,
        )
        if live is not None:
            await _follow(control, ident, live, order)
        if message is not None:  # a sell that closed the position: its PnL card (sendPhoto)
            await send_closed_card(message, control, ident, order)

    @router.message(Command("snipe"))
    async def snipe(
        message: Message, command: CommandObject, control: Control, ident: Identity
    ) -> None:
        parts = (command.args or "").split()
        if not parts:
            await message.answer(render_snipes(await control.snipes(ident)))
            return
        if parts[0].lower() == "next":  # /snipe next SOL CLAUSE...: the next matching create
            if len(parts) < 3:
                await message.answer(escape(NEXT_USAGE))
                return
            try:
                next_lamports = parse_sol(parts[1])
            except ValueError as exc:
                await message.answer(escape(f"{exc}. {NEXT_USAGE}"))
                return
            try:
                launch_filter = parse_launch_filter(parts[2:])
            except ValueError as exc:
                await message.answer(escape(str(exc)))
                return
            view = await control.snipe_filter(ident, launch_filter, next_lamports)
            await message.answer(
                render_snipes([view]) + "\nIt fires on the next pump.fun launch that matches."
            )
            return
        if parts[0].lower() in ("grad", "graduation"):  # /snipe grad MINT SOL: its PumpSwap pool
            if len(parts) != 3 or not MINT_RE.match(parts[1]):
                await message.answer(
                    "Usage: /snipe grad MINT SOL, e.g. /snipe grad 7xKX…AsU 0.1: buys on PumpSwap "
                    "the moment the coin's bonding curve completes and its pool appears."
                )
                return
            try:
                grad_lamports = parse_sol(parts[2])
            except ValueError as exc:
                await message.answer(f"{escape(str(exc))}.")
                return
            try:
                grad = await control.snipe_graduation(ident, parts[1], grad_lamports)
            except AlreadyGraduated as exc:  # the offer: its card, whose buttons buy on PumpSwap
                await message.answer(escape(exc.user_message))
                card = await control.token_card(ident, exc.mint)
                await message.answer(render_token_card(card), reply_markup=token_kb(card))
                return
            await message.answer(
                render_snipes([grad]) + "\nIt fires when the coin graduates to PumpSwap."
            )
            return
        if parts[0].lower() == "dev":  # /snipe dev CREATOR SOL: the creator's next pump.fun coin
            if len(parts) != 3 or not MINT_RE.match(parts[1]):
                await message.answer("Usage: /snipe dev CREATOR SOL, e.g. /snipe dev 9xQe…Fin 0.1")
                return
            try:
                dev_lamports = parse_sol(parts[2])
            except ValueError as exc:
                await message.answer(f"{escape(str(exc))}.")
                return
            dev = await control.snipe_creator(ident, parts[1], dev_lamports)
            await message.answer(
                render_snipes([dev]) + "\nIt fires on that wallet's next pump.fun launch."
            )
            return
        if len(parts) != 2 or not MINT_RE.match(parts[0]):
            await message.answer("Usage: /snipe MINT SOL, e.g. /snipe 7xKX…AsU 0.1")
            return
        try:
            lamports = parse_sol(parts[1])
        except ValueError as exc:
            await message.answer(f"{escape(str(exc))}.")
            return
        view = await control.snipe(ident, parts[0], lamports)
        await message.answer(render_snipes([view]) + "\nIt fires the moment a pool goes live.")

    @router.message(Command("cancel"))
    async def cancel(
        message: Message, command: CommandObject, control: Control, ident: Identity
    ) -> None:
        arg = (command.args or "").strip().lstrip("#")
        if not ID_RE.fullmatch(arg):  # ASCII digits only: str.isdigit() accepts "²" and "١"
            await message.answer("Usage: /cancel ID (see /snipe for your snipes)")
            return
        await message.answer(render_snipes([await control.cancel_snipe(ident, int(arg))]))

    @router.message(F.text & ~F.text.startswith("/"))
    async def anything_else(message: Message, control: Control, ident: Identity) -> None:
        """Text no other handler took: an address with a typo gets the facade's sentence."""
        text = (message.text or "").strip()
        if " " not in text and 20 <= len(text) <= 60:
            # an address with a typo: the facade answers with the specific sentence
            card = await control.token_card(ident, text)
            await message.answer(render_token_card(card), reply_markup=token_kb(card))
            return
        await message.answer(
            "Paste a token mint address to see its card, or send /help for the commands."
        )

    # the last callback handler of the last router: a button no handler took (forged, or from
    # an older version of the bot) is still answered, or the user's client keeps spinning
    @router.callback_query()
    async def unknown_button(query: CallbackQuery) -> None:
        try:
            kind = type(unpack_any(query.data or "")).__name__  # ours, but no longer served
        except ForgedCallback:
            kind = "forged"
        log.info("telegram_unknown_button", kind=kind)
        await query.answer(STALE_BUTTON)

    return router


class _Live:
    """The one message that shows an order to the user who placed it: posted by the first
    progress note (or the result), edited after that."""

    def __init__(self, anchor: Message) -> None:
        self._anchor = anchor
        self._sent: Message | None = None
        self.last = ""

    async def show(self, text: str) -> Message:
        if self._sent is None:
            self._sent = await self._anchor.answer(text)
        elif text != self.last:
            await self._sent.edit_text(text)
        self.last = text
        return self._sent

    async def progress(self, order: OrderView, note: str) -> None:
        await self.show(render_order(order) + "\n" + escape(note))


async def _follow(control: Control, ident: Identity, live: _Live, order: OrderView) -> None:
    """Show the order; ``control.buy``/``sell`` ran the executor in the call, so it is usually
    final already. If not (the executor stopped watching before it landed), poll the row and edit
    the message until it is final, for at most ``FOLLOW_MAX_S``; past that the result is pushed
    to the user when it ends. A final result shown here is marked told (no push repeats it)."""
    sent = await live.show(render_order(order))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + FOLLOW_MAX_S
    while not order.is_final:
        if loop.time() > deadline:
            await live.show(live.last + "\nStill in progress: the result follows in a message.")
            return
        await asyncio.sleep(POLL_S)
        try:
            order = await control.order(ident, order.id)
        except TemporaryError:  # the database is restarting: ask again, keep the message
            continue
        await live.show(render_order(order))
    await control.order_shown(ident, order.id)
    await sent.edit_reply_markup(reply_markup=home_kb())
