"""Bundled launches and serial ruggers on localnet's pump program, judged by the full RiskService.

Scripted creators (real signed transactions, slots stepped by hand so "the create's slot" is
exact): a bundler funds three fresh wallets with system transfers and their buys land in the
create's slot; an honest creator's coin is bought by unrelated wallets in later slots. The risk
report reads the curve's oldest signatures and transactions over the same RPC facade the bot uses
(``RpcLaunchHistory``). A serial rugger's earlier coins are fed to ``CreatorReputation`` from the
logs of their real transactions (``detection.pumpfun.curve_updates``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from localnet.testing import running_localnet
from sniper_bot.chain.endpoints import EndpointConfig
from sniper_bot.chain.pool import RpcPool
from sniper_bot.chain.rpc import SolanaRpc
from sniper_bot.detection.pumpfun import curve_updates
from sniper_bot.domain.risk import Finding, RiskReport, Severity
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import BreakerConfig, BreakerRegistry, MemoryBreakerStore
from sniper_bot.safety.creators import CreatorReputation
from sniper_bot.safety.fetch import RpcLaunchHistory, SnapshotFetcher
from sniper_bot.safety.service import RiskService
from sniper_bot.solana.pump_events import pump_log_events

onchain = pytest.mark.asyncio(loop_scope="module")
SOL = 1_000_000_000


@dataclass
class Pad:
    net: Any
    rpc: SolanaRpc
    reputation: CreatorReputation
    service: RiskService

    def wallet(self, sol: int = 50, funder: Keypair | None = None) -> Keypair:
        key = Keypair()
        if funder is None:
            self.net.cluster.airdrop(key.pubkey(), sol * SOL)
            return key
        ix = transfer(TransferParams(from_pubkey=funder.pubkey(), to_pubkey=key.pubkey(),
                                     lamports=sol * SOL))  # fmt: skip
        msg = MessageV0.try_compile(funder.pubkey(), [ix], [], self.net.cluster.latest_blockhash())
        outcome = self.net.cluster.send_transaction(VersionedTransaction(msg, [funder]))
        assert outcome.err is None
        return key

    def settle(self) -> None:
        self.net.cluster.advance_slots(3)  # past the confirmation depth of getSignatures

    async def feed(self, signature: str) -> None:
        """What detection would hand the cache for this transaction (its real logs)."""
        landed = await self.rpc.get_transaction(Signature.from_string(signature))
        assert landed is not None
        events, _ = pump_log_events(landed.logs)
        for update in curve_updates(events, landed.slot, signature, float(landed.slot)):
            self.reputation.observe(update)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pad() -> AsyncIterator[Pad]:
    async with running_localnet(seed=15) as net, aiohttp.ClientSession() as session:
        assert net.urls is not None
        configs = [EndpointConfig(name="helius", url=net.urls.rpc["helius"]["http"],
                                  rate_per_s=10_000)]  # fmt: skip
        metrics = Metrics()
        registry = BreakerRegistry(MemoryBreakerStore(), BreakerConfig(), metrics)
        pool = RpcPool(configs, registry, metrics, session, default_timeout_s=2.0)
        rpc = SolanaRpc(pool)
        reputation = CreatorReputation()
        fetcher = SnapshotFetcher(rpc, None, history=RpcLaunchHistory(rpc), creators=reputation)
        yield Pad(net, rpc, reputation, RiskService(fetcher, metrics=metrics))
        await pool.close()


def one(report: RiskReport, code: str) -> Finding:
    found = [f for f in report.findings if f.code == code]
    assert len(found) == 1, (code, [f.to_json() for f in report.findings])
    return found[0]


@onchain
async def test_a_bundled_launch_is_flagged_and_blocks(pad: Pad) -> None:
    creator = pad.wallet()
    bundle = [pad.wallet(6, funder=creator) for _ in range(3)]
    launch = pad.net.launchpad.launch(creator, name="Bndl", symbol="BNDL",
                                      dev_buy_lamports=SOL // 2)  # fmt: skip
    for wallet in bundle:  # the same slot as the create: nothing stepped the cluster
        pad.net.launchpad.buy(launch.mint, wallet, lamports=4 * SOL)
    pad.settle()
    report = await pad.service.check(str(launch.mint), force=True)
    bundled = one(report, "bundled_launch")
    assert bundled.severity is Severity.HIGH
    assert bundled.evidence["wallets"] == 3
    assert bundled.evidence["share_bps"] >= 2_500  # type: ignore[operator]
    assert set(str(bundled.evidence["buyers"]).split(",")) == {str(w.pubkey()) for w in bundle}
    funded = one(report, "bundle_funded_by_creator")
    assert funded.severity is Severity.HIGH
    assert funded.evidence["funded_wallets"] == 3
    assert report.blocks()
    assert not report.is_honeypot


@onchain
async def test_an_honest_launch_bought_later_by_strangers_is_not_a_bundle(pad: Pad) -> None:
    creator = pad.wallet()
    launch = pad.net.launchpad.launch(creator, name="Fair", symbol="FAIR",
                                      dev_buy_lamports=SOL // 2)  # fmt: skip
    pad.net.cluster.advance_slots(1)
    for _ in range(3):
        pad.net.launchpad.buy(launch.mint, pad.wallet(), lamports=SOL // 5)
    pad.settle()
    report = await pad.service.check(str(launch.mint), force=True)
    bundled = one(report, "bundled_launch")
    assert (bundled.severity, bundled.weight, bundled.evidence["wallets"]) == (Severity.INFO, 0, 0)
    assert bundled.evidence["dev_tokens"] == launch.dev_tokens  # the dev buy is the creator's
    assert "bundle_funded_by_creator" not in {f.code for f in report.findings}
    assert one(report, "creator_history").evidence["launches"] == 0
    assert not report.blocks()


@onchain
async def test_a_serial_ruggers_next_coin_blocks(pad: Pad) -> None:
    creator = pad.wallet(100)
    for n in range(2):  # two coins: create + dev buy, one stranger, the dev dumps everything
        launch = pad.net.launchpad.launch(creator, name=f"Rug{n}", symbol="RUG",
                                          dev_buy_lamports=2 * SOL)  # fmt: skip
        pad.net.cluster.advance_slots(1)
        pad.net.launchpad.buy(launch.mint, pad.wallet(), lamports=SOL)
        tokens = pad.net.launchpad.token_balance(launch.mint, creator.pubkey())
        dump = pad.net.launchpad.sell(launch.mint, creator, tokens=tokens)
        pad.settle()
        for sig in (launch.create_signature, launch.dev_buy_signature, dump):
            await pad.feed(str(sig))
    stats = pad.reputation.get(str(creator.pubkey()))
    assert stats is not None
    assert (stats.launches, stats.dumps) == (2, 2)

    nxt = pad.net.launchpad.launch(creator, name="Rug2", symbol="RUG", dev_buy_lamports=SOL // 10)
    pad.settle()
    report = await pad.service.check(str(nxt.mint), force=True)
    rugger = one(report, "serial_rugger")
    assert rugger.evidence["creator"] == str(creator.pubkey())
    assert rugger.evidence["dumps"] == 2
    assert report.blocks()
    assert report.overridable
