"""The token card a snipe's user reads (issue 14): a pump.fun coin's card shows the market cap in
SOL, in USD once the router can quote SOL -> USDC (localnet's Jupiter-compatible market gets a
USDC pool at the mainnet USDC address), nothing in USD before; and the creator's buy (the dev's
tokens as a share of the supply, from the risk report's launchpad layer)."""

from __future__ import annotations

import re

import pytest
from solders.account import Account
from solders.keypair import Keypair
from solders.token.state import Mint

from localnet.market import instructions as ix
from sniper_bot.control import facade
from sniper_bot.domain.money import format_tokens
from sniper_bot.solana.programs import TOKEN_PROGRAM_ID
from sniper_bot.solana.pumpswap import USDC_MINT

from .harness import SOL, BotUnderTest, plain
from .test_pumpfun import steady_slots
from .test_trade_settings import curve_lines

pytestmark = pytest.mark.asyncio(loop_scope="module")
USD_PER_SOL = 150  # the USDC pool's price: 100 SOL against 15,000 USDC


def open_usdc_pool(bot: BotUnderTest) -> None:
    authority = Keypair()
    cluster, market = bot.net.cluster, bot.net.market
    cluster.airdrop(authority.pubkey(), SOL)
    data = bytes(Mint(mint_authority=authority.pubkey(), supply=0, decimals=6,
                      is_initialized=True, freeze_authority=None))  # fmt: skip
    rent = cluster.svm.minimum_balance_for_rent_exemption(len(data))
    cluster.set_account(USDC_MINT, Account(rent, data, TOKEN_PROGRAM_ID, False, 0))
    pool = market.open_pool(mint=USDC_MINT, token_program=TOKEN_PROGRAM_ID, decimals=6,
                            sol_lamports=100 * SOL, label="Orca")  # fmt: skip
    usdc = 100 * USD_PER_SOL * 10**6
    market.send([ix.mint_to(TOKEN_PROGRAM_ID, USDC_MINT, pool.token_account,
                            authority.pubkey(), usdc)], [authority])  # fmt: skip


async def test_the_card_shows_market_cap_in_usd_with_a_route_and_the_creators_buy(
    bot: BotUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(facade, "SOL_USD_TTL_S", 0.0)  # each card asks for the SOL/USD price
    user = bot.user()
    await user.funded(SOL)
    await steady_slots(bot)
    creator = Keypair()
    bot.net.cluster.airdrop(creator.pubkey(), 5 * SOL)
    coin = bot.net.launchpad.launch(creator, name="Card Coin", symbol="CARD",
                                    dev_buy_lamports=SOL // 2)  # fmt: skip
    _, cap_line = curve_lines(bot, coin.mint, creator.pubkey())

    card = plain((await user.card(coin.mint))["text"])
    assert cap_line in card, card
    assert "≈ $" not in card  # no SOL -> USDC route yet: no USD, no guess
    supply = int(bot.net.launchpad.curve(coin.mint)["token_total_supply"])
    bps = coin.dev_tokens * 10_000 // supply
    creator_line = (
        f"Creator's buy: {format_tokens(coin.dev_tokens, 6)} tokens held, "
        f"{bps // 100}.{bps % 100:02d} % of the supply"
    )
    assert creator_line in card, card

    open_usdc_pool(bot)
    card = plain((await user.card(coin.mint))["text"])
    found = re.search(re.escape(cap_line) + r" \(≈ \$([0-9,]+)\)", card)
    assert found is not None, card
    usd = int(found.group(1).replace(",", ""))
    cap_sol = int(bot.net.launchpad.curve(coin.mint)["virtual_quote_reserves"]) * supply
    cap_sol //= int(bot.net.launchpad.curve(coin.mint)["virtual_token_reserves"])
    # a 1 SOL quote into a 100 SOL pool: about 1 % impact and the pool's fee under 150 $/SOL
    assert cap_sol * 140 // SOL <= usd <= cap_sol * USD_PER_SOL // SOL, (usd, cap_sol)
    assert creator_line in card
