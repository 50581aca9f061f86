"""A user manages wallets through Telegram: import, PIN, export; another user cannot reach them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from solders.keypair import Keypair

from sniper_bot.control.views import Identity
from sniper_bot.errors import SniperBotError
from sniper_bot.telegram.callbacks import SellCb, WalletCb
from sniper_bot.telegram.routers import wallet as wallet_router

from .harness import ONE_BACKEND, SOL, BotUnderTest, Message, User, final, plain

pytestmark = pytest.mark.asyncio(loop_scope="module")

PIN = "482913"
SECRET_RE = re.compile(r"<code>([1-9A-HJ-NP-Za-km-z]{80,90})</code>")


async def _wallet_menu(user: User) -> Message:
    return await user.says("/wallet", until=lambda t: "Wallets" in t, what="wallet list")


async def _set_pin(user: User, pin: str) -> str:
    """Set Telegram PIN through the wallet menu; returns the bot's answer."""
    menu = await _wallet_menu(user)
    await user.presses(menu, "🔢 Set PIN", until=lambda t: "PIN" in t, what="PIN prompt")
    sent = await user.type(pin)
    reply = await user.wait_for(lambda m: True, after=sent, what="PIN answer")
    assert user.deleted(sent), "the message carrying the PIN must be deleted"
    return plain(reply["text"])


async def _export(user: User, pin: str, *, wallet_id: int | None = None) -> tuple[int, str]:
    """Ask to export the active wallet (or a forged ``wallet_id``); returns (reply id, text)."""
    menu = await _wallet_menu(user)
    if wallet_id is None:
        await user.presses(menu, "🔑 Export key", until=lambda t: "Send your PIN" in t)
    else:
        after = user.last_id()
        forged = WalletCb(action="export", wallet_id=wallet_id).pack()
        await user.press_data(menu["message_id"], forged)
        await user.wait_for(lambda m: "Send your PIN" in m.get("text", ""), after=after, what="ask")
    sent = await user.type(pin)
    reply = await user.wait_for(lambda m: True, after=sent, what="export answer")
    assert user.deleted(sent), "the message carrying the PIN must be deleted"
    return int(reply["message_id"]), str(reply["text"])


async def test_import_wallet_deletes_the_message_with_the_secret(bot: BotUnderTest) -> None:
    user = bot.user()
    created = await user.start()
    menu = await _wallet_menu(user)
    await user.presses(menu, "📥 Import", until=lambda t: "Send the secret key" in t)
    imported = Keypair()

    sent = await user.type(str(imported))
    reply = await user.wait_for(
        lambda m: "Imported wallet" in m.get("text", ""), after=sent, what="import answer"
    )

    assert user.deleted(sent)
    assert str(imported.pubkey()) in plain(reply["text"])
    rows = await bot.wallets_of(user)
    assert [(r["publicKey"], bool(r["isActive"])) for r in rows] == [
        (str(created), False),
        (str(imported.pubkey()), True),
    ]
    assert await user.start() == imported.pubkey()
    assert all(str(imported) not in m.get("text", "") for m in user.inbox())


@ONE_BACKEND
@pytest.mark.parametrize(
    ("pasted", "sentence"),
    [
        ("hello world", "That is not valid base58"),
        ("address", "That is 32 bytes: a public address"),
        ("[1, 2, 3]", "A Solana private key is 64 bytes; this decodes to 3 bytes."),
    ],
)
async def test_bad_import_gets_a_specific_error_and_no_wallet(
    bot: BotUnderTest, pasted: str, sentence: str
) -> None:
    user = bot.user()
    created = await user.start()
    menu = await _wallet_menu(user)
    await user.presses(menu, "📥 Import", until=lambda t: "Send the secret key" in t)
    text = str(Keypair().pubkey()) if pasted == "address" else pasted

    sent = await user.type(text)
    reply = await user.wait_for(lambda m: True, after=sent, what="import answer")

    assert sentence in plain(reply["text"])
    assert user.deleted(sent)
    rows = await bot.wallets_of(user)
    assert [r["publicKey"] for r in rows] == [str(created)]


async def test_export_requires_a_pin_and_wrong_pins_count_down(bot: BotUnderTest) -> None:
    user = bot.user()
    await user.start()

    _, without_pin = await _export(user, PIN)
    assert "Set a PIN first" in plain(without_pin)
    assert await _set_pin(user, PIN) == "PIN saved."
    _, first_wrong = await _export(user, "739164")
    _, second_wrong = await _export(user, "739165")

    left = re.search(r"Wrong PIN\. (\d+) attempt\(s\) left", plain(first_wrong))
    assert left is not None, first_wrong
    assert f"Wrong PIN. {int(left.group(1)) - 1} attempt(s) left" in plain(second_wrong)
    assert all(SECRET_RE.search(m.get("text", "")) is None for m in user.inbox())


@ONE_BACKEND
async def test_export_requires_a_pin_and_the_secret_message_is_deleted_later(
    bot: BotUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wallet_router, "SECRET_MESSAGE_TTL_S", 0.5)
    user = bot.user()
    wallet = await user.start()
    assert await _set_pin(user, PIN) == "PIN saved."  # without a PIN, or a wrong one: see above

    secret_id, shown = await _export(user, PIN)

    match = SECRET_RE.search(shown)
    assert match is not None, shown
    assert Keypair.from_base58_string(match.group(1)).pubkey() == wallet
    assert "deletes itself" in plain(shown)
    await user.wait_for_deleted(secret_id)
    assert all(match.group(1) not in m.get("text", "") for m in user.inbox())


@ONE_BACKEND
async def test_set_pin_prompt_states_the_rule_the_pin_policy_enforces(bot: BotUnderTest) -> None:
    user = bot.user()
    await user.start()
    menu = await _wallet_menu(user)
    prompt = await user.presses(menu, "🔢 Set PIN", until=lambda t: "PIN" in t)
    rule = re.search(r"(\d+)-(\d+) digits", prompt["text"])
    assert rule is not None, prompt["text"]
    shortest = "4829130571"[: int(rule.group(1))]

    sent = await user.type(shortest)
    reply = await user.wait_for(lambda m: True, after=sent, what="PIN answer")

    assert plain(reply["text"]) == "PIN saved."


async def test_user_b_cannot_touch_user_a_wallet_or_orders(bot: BotUnderTest) -> None:
    alice, bob = bot.user(), bot.user()
    alice_wallet = await alice.funded(2 * SOL)
    token = bot.launch("honest", liquidity_sol=100)
    await alice.buy(await alice.card(token.mint), "Buy 0.1 SOL")
    (alice_row,) = await bot.wallets_of(alice)
    (alice_order,) = await bot.orders_of(alice)
    alice_tokens = bot.token_balance(alice_wallet, token.mint)
    bob_wallet = await bob.start()
    assert await _set_pin(bob, "906142") == "PIN saved."

    use = await _forge(bob, WalletCb(action="use", wallet_id=alice_row["id"]).pack())
    assert "No such wallet" in use
    _, export = await _export(bob, "906142", wallet_id=alice_row["id"])
    assert "No such wallet" in plain(export)
    sell = await _forge(bob, SellCb(mint=str(token.mint), percent=100).pack())
    assert "Your active wallet holds none of this token." in sell
    # No button carries an order id; the facade Telegram calls is scoped the same way.
    assert bot.app.control is not None
    with pytest.raises(SniperBotError) as caught:
        await bot.app.control.order(Identity(bob.user_id), alice_order["id"])
    assert caught.value.user_message == "No such order."

    assert all(SECRET_RE.search(m.get("text", "")) is None for m in bob.inbox())
    assert not [m for m in bob.inbox() if final(m.get("text", "")) and "Sell" in m["text"]]
    assert await bot.orders_of(bob) == []
    (alice_after,) = await bot.orders_of(alice)
    assert _what_b_could_touch(alice_after) == _what_b_could_touch(alice_order)
    assert alice_after["notifiedAt"] is not None  # alice's handler marked the result it showed
    assert await bot.wallets_of(alice) == [alice_row]
    assert bot.token_balance(alice_wallet, token.mint) == alice_tokens
    assert await bob.start() == bob_wallet
    assert await alice.start() == alice_wallet
    assert bob_wallet != alice_wallet


# Written by alice's own side after the result she saw: her handler marks notifiedAt after
# showing the final message (so a read right after the buy may come before it), the executor
# releases its lease. Nothing user B does can reach them; every other column must stay put.
_ORDER_BOOKKEEPING = frozenset({"notifiedAt", "lockedBy", "lockedUntil", "updatedAt"})


def _what_b_could_touch(order: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in order.items() if k not in _ORDER_BOOKKEEPING}


async def _forge(user: User, callback_data: str) -> str:
    """Press a button with hand-made callback data on the user's own last bot message."""
    anchor = user.inbox()[-1]
    after = user.last_id()
    await user.press_data(int(anchor["message_id"]), callback_data)
    reply = await user.wait_for(lambda m: True, after=after, what=f"answer to {callback_data}")
    return plain(reply["text"])
