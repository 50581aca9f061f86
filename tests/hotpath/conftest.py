"""Shared values of the hot-path tests: pump.fun's genesis Global / FeeConfig as localnet's
program writes them (decoded by the bot's decoders), an armed ``PreparedBuy`` factory and a
fresh ``CurveLaunch`` of a Token-2022 coin at Global's initial reserves."""

from __future__ import annotations

from typing import Any

import pytest
from solders.hash import Hash
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from localnet.pump.state import (
    FEE_CONFIG_LAYOUT,
    FEE_CONFIG_SIZE,
    GLOBAL_LAYOUT,
    GLOBAL_SIZE,
    encode_account,
    genesis_fee_config,
    genesis_global,
)
from sniper_bot.hotpath.build import CurveLaunch, PreparedBuy
from sniper_bot.solana import pumpfun as pf

SOL = 1_000_000_000


def genesis_accounts() -> tuple[bytes, bytes]:
    """(Global, FeeConfig) account data as localnet's genesis writes them."""
    g = encode_account("Global", GLOBAL_LAYOUT, genesis_global(), GLOBAL_SIZE)
    fc = encode_account("FeeConfig", FEE_CONFIG_LAYOUT, genesis_fee_config(), FEE_CONFIG_SIZE)
    return g, fc


@pytest.fixture(scope="session")
def pump_global() -> pf.Global:
    return pf.decode_global(genesis_accounts()[0])


@pytest.fixture(scope="session")
def pump_fee_config() -> pf.FeeConfig:
    return pf.decode_fee_config(genesis_accounts()[1])


def prepared_buy(
    g: pf.Global, fc: pf.FeeConfig | None, key: Keypair, **overrides: Any
) -> PreparedBuy:
    values: dict[str, Any] = {
        "user": key.pubkey(), "sign": key.sign_message, "amount_lamports": SOL // 10,
        "slippage_bps": 500, "compute_unit_limit": 120_000,
        "compute_unit_price_micro_lamports": 50_000, "nonce_account": Pubkey.new_unique(),
        "nonce_value": Hash.new_unique(), "global_": g, "fee_config": fc,
        "fee_recipient": g.fee_recipients_for(False)[0],
        "mayhem_fee_recipient": g.fee_recipients_for(True)[0],
        "buyback_fee_recipient": g.buyback_fee_recipients[0],
    }  # fmt: skip
    values.update(overrides)
    return PreparedBuy(**values)


def fresh_launch(g: pf.Global, **overrides: Any) -> CurveLaunch:
    mint = overrides.pop("mint", None) or Keypair().pubkey()
    values: dict[str, Any] = {
        "mint": mint, "bonding_curve": pf.bonding_curve_address(mint),
        "creator": Keypair().pubkey(), "token_program": pf.TOKEN_2022_PROGRAM_ID,
        "virtual_token_reserves": g.initial_virtual_token_reserves,
        "virtual_sol_reserves": g.initial_virtual_sol_reserves,
        "real_token_reserves": g.initial_real_token_reserves,
        "token_total_supply": g.token_total_supply,
    }  # fmt: skip
    values.update(overrides)
    return CurveLaunch(**values)
