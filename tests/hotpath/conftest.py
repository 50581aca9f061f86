"""Shared values of the hot-path tests: pump.fun's genesis Global / FeeConfig as localnet's
program writes them (decoded by the bot's decoders), an armed ``PreparedBuy`` factory and a
fresh ``CurveLaunch`` of a Token-2022 coin at Global's initial reserves."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from solders.hash import Hash
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from localnet.node import Localnet
from localnet.pump.state import (
    FEE_CONFIG_LAYOUT,
    FEE_CONFIG_SIZE,
    GLOBAL_LAYOUT,
    GLOBAL_SIZE,
    encode_account,
    genesis_fee_config,
    genesis_global,
)
from localnet.testing import running_localnet
from sniper_bot.chain.endpoints import endpoints_from_urls
from sniper_bot.chain.pool import RpcPool
from sniper_bot.chain.rpc import SolanaRpc
from sniper_bot.hotpath.build import CurveLaunch, PreparedBuy
from sniper_bot.hotpath.nonce import NonceManager, RpcNonceChain
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import BreakerConfig, BreakerRegistry, MemoryBreakerStore
from sniper_bot.solana import pumpfun as pf
from sniper_bot.wallet.sessions import UnlockedWallet

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


# ---- localnet: real LiteSVM behind HTTP JSON-RPC, reached through SolanaRpc -------------------
@dataclasses.dataclass
class Chain:
    net: Localnet
    rpc: SolanaRpc
    nonces: NonceManager
    user: UnlockedWallet

    def lamports(self, key: Pubkey) -> int:
        account = self.net.cluster.get_account(key)
        return 0 if account is None else int(account.lamports)


def build_rpc(net: Localnet, session: aiohttp.ClientSession) -> SolanaRpc:
    """``SolanaRpc`` over an ``RpcPool`` of localnet's three endpoints, as the app builds it."""
    urls = net.urls
    assert urls is not None
    endpoints = endpoints_from_urls(
        urls.rpc["helius"]["http"], urls.rpc["quicknode"]["http"], urls.rpc["public"]["http"],
        None, rates={"helius": 10_000, "quicknode": 10_000, "solana": 10_000},
    )  # fmt: skip
    metrics = Metrics()
    breakers = BreakerRegistry(MemoryBreakerStore(), BreakerConfig(), metrics)
    return SolanaRpc(RpcPool(endpoints, breakers, metrics, session, default_timeout_s=5.0))


def wallet(funds: int, net: Localnet) -> UnlockedWallet:
    kp = Keypair()
    net.cluster.airdrop(kp.pubkey(), funds)
    return UnlockedWallet(user_id=1, wallet_id=1, pubkey=kp.pubkey(), keypair=kp)


@pytest.fixture
async def chain() -> AsyncIterator[Chain]:
    async with (
        running_localnet(seed=15, slot_ms=20) as net,
        aiohttp.ClientSession() as session,
    ):
        rpc = build_rpc(net, session)
        try:
            nonces = NonceManager(RpcNonceChain(rpc), poll_s=0.01, confirm_timeout_s=10.0)
            yield Chain(net, rpc, nonces, wallet(5 * SOL, net))
        finally:
            await rpc.pool.close()
