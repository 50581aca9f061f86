"""/wallet: create, import, switch, export (PIN), set PIN, withdraw (preview + PIN)."""

from __future__ import annotations

import asyncio
import contextlib

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message

from sniper_bot.control.facade import Control, WithdrawPinRetry
from sniper_bot.control.views import Identity, WalletView
from sniper_bot.telegram.callbacks import MenuCb, WalletCb
from sniper_bot.telegram.cards import deposit_qr_png
from sniper_bot.telegram.keyboards import home_kb, wallets_kb
from sniper_bot.telegram.render import (
    render_wallets,
    render_withdraw_preview,
    render_withdrawal,
)

SECRET_MESSAGE_TTL_S = 60.0


class WalletFlow(StatesGroup):
    import_secret = State()
    export_pin = State()
    pin_current = State()
    pin_new = State()
    withdraw_request = State()
    withdraw_pin = State()


# The states whose next message carries a secret or a PIN: deleted even when it is not handled.
SECRET_STATES = frozenset(
    str(s.state)
    for s in (
        WalletFlow.import_secret,
        WalletFlow.export_pin,
        WalletFlow.pin_current,
        WalletFlow.pin_new,
        WalletFlow.withdraw_pin,
    )
)


async def _delete_later(bot: Bot, chat_id: int, message_id: int, delay: float) -> None:
    await asyncio.sleep(delay)
    with contextlib.suppress(Exception):
        await bot.delete_message(chat_id, message_id)


async def _forget(message: Message) -> None:
    """Delete a user's message that carried a secret or PIN."""
    with contextlib.suppress(Exception):
        await message.delete()


def build() -> Router:
    router = Router(name=__name__)
    background: set[asyncio.Task[None]] = set()

    async def show(target: Message, control: Control, ident: Identity) -> list[WalletView]:
        wallets = await control.wallets(ident)
        await target.answer(render_wallets(wallets), reply_markup=wallets_kb(wallets))
        return wallets

    @router.message(Command("wallet"))
    async def wallet_cmd(message: Message, control: Control, ident: Identity) -> None:
        for w in await show(message, control, ident):
            if w.is_active:  # the deposit QR code of the active wallet's address (sendPhoto)
                qr = BufferedInputFile(deposit_qr_png(w.public_key), filename="deposit.png")
                caption = f"📥 Deposit SOL or tokens to:\n<code>{w.public_key}</code>"
                await message.answer_photo(qr, caption=caption)

    @router.callback_query(MenuCb.filter(F.action == "wallets"))
    async def wallet_menu(query: CallbackQuery, control: Control, ident: Identity) -> None:
        await query.answer()
        if isinstance(query.message, Message):
            await show(query.message, control, ident)

    @router.callback_query(WalletCb.filter())
    async def wallet_action(
        query: CallbackQuery,
        callback_data: WalletCb,
        control: Control,
        ident: Identity,
        state: FSMContext,
    ) -> None:
        await query.answer()
        message = query.message if isinstance(query.message, Message) else None
        if message is None:
            return
        action = callback_data.action
        if action == "new":
            await control.create_wallet(ident)
            await show(message, control, ident)
        elif action == "use":
            await control.activate_wallet(ident, callback_data.wallet_id)
            await show(message, control, ident)
        elif action == "import":
            await state.set_state(WalletFlow.import_secret)
            await message.answer(
                "Send the secret key (base58, or the JSON byte array of a Solana CLI keypair "
                "file). The message is deleted as soon as it is read."
            )
        elif action == "export":
            await state.set_state(WalletFlow.export_pin)
            await state.update_data(wallet_id=callback_data.wallet_id)
            await message.answer("Send your PIN to export this wallet's secret key.")
        elif action == "pin":
            has_pin = (await control.settings(ident)).has_pin
            await state.set_state(WalletFlow.pin_current if has_pin else WalletFlow.pin_new)
            await message.answer(
                "Send your current PIN."
                if has_pin
                else "Choose a PIN (6-12 digits; not a run like 123456 or one repeated digit)."
            )
        elif action == "withdraw":
            await state.set_state(WalletFlow.withdraw_request)
            await message.answer(
                "Send: DESTINATION AMOUNT [MINT]\ne.g. <code>9xQe…Vq 0.5</code> for SOL, or add a "
                "token mint to send tokens (amount in tokens, or 100% for all)."
            )

    @router.message(WalletFlow.import_secret)
    async def import_secret(
        message: Message, control: Control, ident: Identity, state: FSMContext
    ) -> None:
        text = message.text or ""
        await _forget(message)
        await state.clear()
        wallet = await control.import_wallet(ident, text)
        await message.answer(
            f"Imported wallet <code>{wallet.public_key}</code>.", reply_markup=home_kb()
        )

    @router.message(WalletFlow.export_pin)
    async def export_pin(
        message: Message, control: Control, ident: Identity, state: FSMContext, bot: Bot
    ) -> None:
        pin = message.text or ""
        await _forget(message)
        data = await state.get_data()
        await state.clear()
        export = await control.export_wallet(ident, int(data["wallet_id"]), pin)
        sent = await message.answer(
            f"Secret key of <code>{export.public_key}</code>:\n<tg-spoiler><code>"
            f"{export.secret_base58}</code></tg-spoiler>\nThis message deletes itself in "
            f"{SECRET_MESSAGE_TTL_S:.0f} s."
        )
        task = asyncio.create_task(
            _delete_later(bot, sent.chat.id, sent.message_id, SECRET_MESSAGE_TTL_S)
        )
        background.add(task)
        task.add_done_callback(background.discard)

    @router.message(WalletFlow.pin_current)
    async def pin_current(message: Message, state: FSMContext) -> None:
        await state.update_data(current_pin=message.text or "")
        await _forget(message)
        await state.set_state(WalletFlow.pin_new)
        await message.answer("Now send the new PIN (6-12 digits).")

    @router.message(WalletFlow.pin_new)
    async def pin_new(
        message: Message, control: Control, ident: Identity, state: FSMContext
    ) -> None:
        new_pin = message.text or ""
        await _forget(message)
        data = await state.get_data()
        await state.clear()
        current = data.get("current_pin")
        await control.set_pin(ident, str(current) if current is not None else None, new_pin)
        await message.answer("PIN saved.", reply_markup=home_kb())

    @router.message(WalletFlow.withdraw_request)
    async def withdraw_request(
        message: Message, control: Control, ident: Identity, state: FSMContext
    ) -> None:
        parts = (message.text or "").split()
        if len(parts) not in (2, 3):
            await message.answer("Send: DESTINATION AMOUNT [MINT], or /home to cancel.")
            return
        mint = parts[2] if len(parts) == 3 else None
        preview = await control.withdraw_preview(ident, parts[0], parts[1], mint)
        # one confirmed preview = one withdrawal: every PIN sent for it (a retry after a wrong
        # one, a message sent twice) carries the same idempotency key
        key = f"tg:{message.chat.id}:{message.message_id}:withdraw"
        await state.update_data(destination=parts[0], amount=parts[1], mint=mint, key=key)
        await state.set_state(WalletFlow.withdraw_pin)
        await message.answer(render_withdraw_preview(preview))

    @router.message(WalletFlow.withdraw_pin)
    async def withdraw_pin(
        message: Message, control: Control, ident: Identity, state: FSMContext
    ) -> None:
        pin = message.text or ""
        await _forget(message)
        data = await state.get_data()
        await state.clear()  # first, so a PIN sent twice is not a second attempt
        key = str(data.get("key") or f"tg:{message.chat.id}:{message.message_id}:withdraw")
        try:
            withdrawal = await control.withdraw(
                ident, str(data["destination"]), str(data["amount"]), data.get("mint"), pin, key
            )
        except WithdrawPinRetry:
            # the same confirmation takes another PIN; the error middleware says how many left
            await state.set_state(WalletFlow.withdraw_pin)
            await state.set_data(data)
            raise
        # answered within a second or two ("sent, confirming…"); the result is pushed on landing
        await message.answer(render_withdrawal(withdrawal), reply_markup=home_kb())
        await control.withdrawal_shown(ident, withdrawal)

    return router
