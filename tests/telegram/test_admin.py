"""Admin commands through the fake Telegram Bot API against the whole app on localnet.

Admins (``ADMIN_TELEGRAM_IDS``) get /status and /maintenance on|off; anyone else gets exactly
what an unknown command gets. While maintenance is on, new buys are refused with a sentence,
and a position bought before it can still be sold.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from e2e.harness import SOL, BotUnderTest, User, bot_under_test, final, plain
from sniper_bot.control.facade import MAINTENANCE_REFUSED
from sniper_bot.ops.admin import package_version

pytestmark = pytest.mark.asyncio(loop_scope="module")

ADMIN = 900_001


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BotUnderTest]:
    data_dir = tmp_path_factory.mktemp("admin")
    async with bot_under_test(data_dir, env={"ADMIN_TELEGRAM_IDS": f"{ADMIN},900002"}) as b:
        yield b


def _admin(bot: BotUnderTest) -> User:
    return User(bot.net, ADMIN)


async def _only_reply_is_help(user: User, command: str) -> list[str]:
    """Send ``command`` then /help; every bot message after ``command`` (help's included)."""
    after = user.last_id()
    await user.type(command)
    await user.says("/help", until=lambda t: "How to use" in t, what="help")
    return [plain(m["text"]) for m in user.inbox() if m["message_id"] > after]


async def test_status_shows_health_breakers_queues_and_version(bot: BotUnderTest) -> None:
    admin = _admin(bot)
    reply = await admin.says("/status", until=lambda t: "Status:" in t, what="status")
    text = plain(reply["text"])

    assert "Status: ✅ ok" in text
    assert f"Version: {package_version()}" in text
    assert "Maintenance: off (this process only (no Redis))" in text
    for component in ("database: ok", "redis: disabled", "rpc: ok"):
        assert component in text
    assert "rpc_pool: CLOSED" in text
    assert "rpc:helius: CLOSED" in text
    assert "orders in flight: 0" in text


async def test_non_admins_get_what_an_unknown_command_gets(bot: BotUnderTest) -> None:
    user = bot.user()
    await user.start()
    unknown = await _only_reply_is_help(user, "/nosuchcommand")
    status = await _only_reply_is_help(user, "/status")
    maintenance = await _only_reply_is_help(user, "/maintenance on")

    assert len(unknown) == 1
    assert "How to use" in unknown[0]
    assert status == unknown
    assert maintenance == unknown
    admin = _admin(bot)
    check = await admin.says("/status", until=lambda t: "Status:" in t)
    assert "Maintenance: off" in plain(check["text"])  # the non-admin's "on" did nothing


async def test_maintenance_refuses_new_buys_and_lets_positions_be_sold(bot: BotUnderTest) -> None:
    admin = _admin(bot)
    user = bot.user()
    wallet = await user.funded(2 * SOL)
    token = bot.launch("honest", liquidity_sol=100)
    card = await user.card(token.mint)
    bought = await user.buy(card, "Buy 0.1 SOL")
    assert "✅" in bought["text"]
    held = bot.token_balance(wallet, token.mint)

    usage = await admin.says("/maintenance", until=lambda t: "Usage" in t)
    assert "Usage: /maintenance on|off (now off)" in plain(usage["text"])
    on = await admin.says("/maintenance on", until=lambda t: "Maintenance" in t)
    assert "Maintenance ON for this process (Redis is away)" in plain(on["text"])

    card = await user.card(token.mint)
    refused = await user.presses(card, "Buy 0.1 SOL", until=lambda t: "maintenance" in t)
    assert plain(refused["text"]) == MAINTENANCE_REFUSED
    orders = await bot.orders_of(user)
    assert len(orders) == 1  # no order row for the refused buy
    snipe = await user.says(
        f"/snipe {token.mint} 0.1", until=lambda t: "maintenance" in t, what="snipe refused"
    )
    assert plain(snipe["text"]) == MAINTENANCE_REFUSED
    status = await admin.says("/status", until=lambda t: "Status:" in t)
    assert "Maintenance: ON" in plain(status["text"])

    sold = await user.presses(card, "Sell 100 %", until=final, what="sell result")
    assert "✅" in sold["text"], plain(sold["text"])
    assert bot.token_balance(wallet, token.mint) == 0 < held

    off = await admin.says("/maintenance off", until=lambda t: "Maintenance off" in t)
    assert "new orders are accepted again" in plain(off["text"])
    card = await user.card(token.mint)
    again = await user.buy(card, "Buy 0.1 SOL")
    assert "✅" in again["text"], plain(again["text"])
