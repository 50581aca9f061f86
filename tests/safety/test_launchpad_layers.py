"""Launchpad risk on localnet's pump program: scripted creators launch with ``net.launchpad``
(``create_v2`` + the dev buy, other wallets trading), and the risk report is built through the
real RPC facade, as the bot builds it.

* the curve's own token account (the unsold supply) and, after graduation, the PumpSwap pool's
  vault are reserves, never holders, whatever route the venue reports (before: a 98% "whale");
* the creator's holding, read from its own token account (the curve names the creator), is the
  ``dev_holding`` finding;
* real concentration among the other wallets is still flagged;
* a creator whose token account is empty sold: ``dev_sold``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from localnet.testing import running_localnet
from sniper_bot.chain.endpoints import EndpointConfig
from sniper_bot.chain.pool import RpcPool
from sniper_bot.chain.rpc import SolanaRpc
from sniper_bot.domain.risk import DEFAULT_RISK_BLOCK_THRESHOLD, Finding, RiskReport, Severity
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import BreakerConfig, BreakerRegistry, MemoryBreakerStore
from sniper_bot.safety.fetch import SnapshotFetcher
from sniper_bot.safety.layers.launchpad import check_launchpad
from sniper_bot.safety.service import RiskService
from sniper_bot.safety.snapshot import LaunchpadSnapshot, TokenSnapshot
from sniper_bot.solana import pumpfun as pf
from sniper_bot.solana import pumpswap as ps
from sniper_bot.trading.venues.jupiter.client import JupiterClient, JupiterVenue
from sniper_bot.trading.venues.pumpfun import PumpFunVenue
from sniper_bot.trading.venues.pumpswap import PumpSwapVenue
from sniper_bot.trading.venues.router import VenueRouter

from .snapshots import SUPPLY, honest

onchain = pytest.mark.asyncio(loop_scope="module")

SOL = 1_000_000_000
THRESHOLD = DEFAULT_RISK_BLOCK_THRESHOLD


@dataclass
class Pad:
    net: Any
    routed: RiskService  # the production venue: the route names the curve or the pool
    unrouted: RiskService  # no route known (no venue, or its quote failed)

    def wallet(self, sol: int = 100) -> Keypair:
        key = Keypair()
        self.net.cluster.airdrop(key.pubkey(), sol * SOL)
        return key

    def launch(self, creator: Keypair, dev_buy: int) -> Pubkey:
        done = self.net.launchpad.launch(
            creator, name="Moon", symbol="MOON", dev_buy_lamports=dev_buy
        )
        return Pubkey.from_string(str(done.mint))

    def balance(self, mint: Pubkey, owner: Pubkey) -> int:
        return int(self.net.launchpad.token_balance(mint, owner))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pad() -> AsyncIterator[Pad]:
    async with running_localnet(seed=14) as net, aiohttp.ClientSession() as session:
        urls = net.urls
        assert urls is not None
        configs = [EndpointConfig(name="helius", url=urls.rpc["helius"]["http"], rate_per_s=10_000)]
        metrics = Metrics()
        registry = BreakerRegistry(MemoryBreakerStore(), BreakerConfig(), metrics)
        pool = RpcPool(configs, registry, metrics, session, default_timeout_s=2.0)
        rpc = SolanaRpc(pool)
        jupiter = JupiterVenue(JupiterClient(session, urls.jupiter + "/swap/v1"))
        venue = VenueRouter(jupiter, pumpfun=PumpFunVenue(rpc), pumpswap=PumpSwapVenue(rpc))
        yield Pad(
            net,
            RiskService(SnapshotFetcher(rpc, venue), metrics=metrics),
            RiskService(SnapshotFetcher(rpc, None), metrics=metrics),
        )
        await pool.close()


def one(report: RiskReport, code: str) -> Finding:
    found = [f for f in report.findings if f.code == code]
    assert len(found) == 1, (code, [f.to_json() for f in report.findings])
    return found[0]


def codes(report: RiskReport) -> set[str]:
    return {f.code for f in report.findings}


def named_accounts(report: RiskReport) -> set[str]:
    """Every address any finding's evidence names."""
    return {str(v) for f in report.findings for v in f.evidence.values() if isinstance(v, str)}


def curve_vault(mint: Pubkey) -> Pubkey:
    """The bonding curve's own token account: the supply not sold yet."""
    curve = pf.bonding_curve_address(mint)
    return pf.associated_token_address(curve, mint, pf.TOKEN_2022_PROGRAM_ID)


def names_a_curve_holding(report: RiskReport, mint: Pubkey) -> bool:
    """A finding names the curve's token account, or the curve as a holder's owner."""
    curve = str(pf.bonding_curve_address(mint))
    holder_owners = {str(f.evidence.get("owner")) for f in report.findings if f.layer == "holders"}
    return str(curve_vault(mint)) in named_accounts(report) or curve in holder_owners


@onchain
async def test_an_honest_launch_scores_below_the_threshold_and_the_curve_is_no_whale(
    pad: Pad,
) -> None:
    creator = pad.wallet()
    mint = pad.launch(creator, SOL // 2)
    for _ in range(3):
        pad.net.launchpad.buy(mint, pad.wallet(), lamports=SOL // 5)
    dev = pad.balance(mint, creator.pubkey())
    for service in (pad.unrouted, pad.routed):
        report = await service.check(str(mint))
        weighted = [f.to_json() for f in report.findings if f.weight]
        assert report.score < THRESHOLD, weighted
        assert not report.is_honeypot, weighted
        assert not {"top_holder_concentration", "top10_concentration"} & codes(report), weighted
        assert not names_a_curve_holding(report, mint)
        holders = one(report, "holders")
        # the curve's unsold supply is a reserve: the largest holder is the dev with its buy
        assert holders.evidence["top1_bps"] == dev * 10_000 // (10**15)
        curve = pf.bonding_curve_address(mint)
        assert holders.evidence["pool_reserve"] == pad.balance(mint, curve) > 0
        small = one(report, "dev_holding")
        assert small.severity is Severity.INFO
        assert small.weight == 0
        assert small.evidence["creator"] == str(creator.pubkey())
        assert small.evidence["amount"] == dev > 0


@onchain
async def test_a_creator_holding_40_percent_gets_the_dev_holding_finding(pad: Pad) -> None:
    creator = pad.wallet()
    mint = pad.launch(creator, 19 * SOL)
    dev = pad.balance(mint, creator.pubkey())
    assert dev * 100 // 10**15 >= 40
    report = await pad.routed.check(str(mint))
    found = one(report, "dev_holding")
    assert found.severity is Severity.HIGH
    assert found.weight == 40
    assert found.evidence["creator"] == str(creator.pubkey())
    assert found.evidence["token_account"] == str(
        pf.associated_token_address(creator.pubkey(), mint, pf.TOKEN_2022_PROGRAM_ID)
    )
    assert found.evidence["amount"] == dev
    assert found.evidence["share_bps"] == dev * 10_000 // 10**15
    assert found.evidence["bonding_curve"] == str(pf.bonding_curve_address(mint))
    # the dev is also the top holder; together they block, but a user may override
    assert "top_holder_concentration" in codes(report)
    assert report.score >= THRESHOLD
    assert report.blocks(THRESHOLD)
    assert report.overridable
    assert "creator_share" not in codes(report)  # rated once, by the launchpad layer


@onchain
async def test_a_few_wallets_holding_most_of_the_circulating_supply_are_flagged(
    pad: Pad,
) -> None:
    mint = pad.launch(pad.wallet(), SOL // 2)
    whales = [pad.wallet() for _ in range(3)]
    for whale in whales:
        pad.net.launchpad.buy(mint, whale, lamports=8 * SOL)
    biggest = max(whales, key=lambda w: pad.balance(mint, w.pubkey()))
    for service in (pad.unrouted, pad.routed):
        report = await service.check(str(mint))
        top = one(report, "top_holder_concentration")
        assert top.severity is Severity.HIGH
        assert top.evidence["owner"] == str(biggest.pubkey())  # not the curve
        assert top.evidence["amount"] == pad.balance(mint, biggest.pubkey())
        top10 = one(report, "top10_concentration")
        held = sum(pad.balance(mint, w.pubkey()) for w in whales)
        assert top10.evidence["share_bps"] >= held * 10_000 // 10**15
        assert top10.evidence["share_bps"] < 6_000  # the curve's ~50% is not in it
        assert not names_a_curve_holding(report, mint)


@onchain
async def test_a_dev_that_sold_everything_gets_the_dev_sell_finding(pad: Pad) -> None:
    creator = pad.wallet()
    mint = pad.launch(creator, SOL)
    pad.net.launchpad.buy(mint, pad.wallet(), lamports=SOL // 2)
    pad.net.launchpad.sell(mint, creator, tokens=pad.balance(mint, creator.pubkey()))
    assert pad.balance(mint, creator.pubkey()) == 0
    report = await pad.routed.check(str(mint))
    sold = one(report, "dev_sold")
    assert sold.severity is Severity.HIGH
    assert sold.weight == 30
    assert sold.evidence["creator"] == str(creator.pubkey())
    assert sold.evidence["account_exists"] is True
    assert sold.evidence["amount"] == 0
    assert "dev_holding" not in codes(report)
    assert report.score < THRESHOLD  # a signal, not a block on its own


@onchain
async def test_a_graduated_coins_pool_vault_is_no_holder(pad: Pad) -> None:
    creator = pad.wallet()
    mint = pad.launch(creator, SOL // 2)
    buyer = pad.wallet(200)
    pad.net.launchpad.graduate(mint, buyer)
    pool = ps.canonical_pool_address(mint)
    vault = ps.associated_token_address(pool, mint, pf.TOKEN_2022_PROGRAM_ID)
    in_pool = pad.net.cluster.get_account(vault)
    assert in_pool is not None
    report = await pad.unrouted.check(str(mint))
    holders = one(report, "holders")
    dev, bought = pad.balance(mint, creator.pubkey()), pad.balance(mint, buyer.pubkey())
    assert holders.evidence["top10_bps"] == (dev + bought) * 10_000 // 10**15
    assert str(vault) not in named_accounts(report)
    assert one(report, "dev_holding").evidence["venue"] == "pumpswap"
    top = one(report, "top_holder_concentration")
    assert top.evidence["owner"] == str(buyer.pubkey())  # the buyer who completed the curve


# -- the tiers, on hand-built snapshots (each boundary once) ---------------------------------------


def launchpad_snapshot(balance: int | None, *, exists: bool = True) -> TokenSnapshot:
    mint, curve, creator = Pubkey.new_unique(), Pubkey.new_unique(), Pubkey.new_unique()
    pad = LaunchpadSnapshot(
        bonding_curve=curve,
        curve_vault=Pubkey.new_unique(),
        complete=False,
        creator=creator,
        creator_account=Pubkey.new_unique(),
        creator_account_exists=exists,
        creator_balance=balance,
    )
    return replace(honest(), mint=mint, launchpad=pad)


@pytest.mark.parametrize(
    ("share_bps", "severity", "weight"),
    [
        (5_000, Severity.CRITICAL, 75),
        (4_999, Severity.HIGH, 40),
        (2_000, Severity.HIGH, 40),
        (1_000, Severity.MEDIUM, 15),
        (500, Severity.LOW, 5),
        (499, Severity.INFO, 0),
    ],
)
def test_dev_holding_tiers(share_bps: int, severity: Severity, weight: int) -> None:
    snap = launchpad_snapshot(SUPPLY * share_bps // 10_000)
    [found] = check_launchpad(snap)
    assert (found.code, found.severity, found.weight) == ("dev_holding", severity, weight)
    assert found.evidence["share_bps"] == share_bps


def test_an_unreadable_creator_account_is_unknown_not_safe() -> None:
    [found] = check_launchpad(launchpad_snapshot(None, exists=False))
    assert (found.code, found.severity, found.weight) == ("launchpad_unchecked", Severity.LOW, 5)


def test_no_creator_account_is_no_dev_sell() -> None:
    [found] = check_launchpad(launchpad_snapshot(0, exists=False))
    assert (found.code, found.weight) == ("dev_holding", 0)


def test_not_a_pump_coin_has_no_launchpad_findings() -> None:
    assert check_launchpad(honest()) == []
