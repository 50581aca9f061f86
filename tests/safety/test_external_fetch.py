"""External opinions inside a real risk check: localnet chain + venue, fake RugCheck/GoPlus.

They are asked concurrently with the on-chain rounds, show up as findings with their source, never
block an honest token on their own, and every failure leaves the on-chain verdict intact.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from localnet.testing import running_localnet
from sniper_bot.chain.endpoints import EndpointConfig
from sniper_bot.chain.pool import RpcPool
from sniper_bot.chain.rpc import SolanaRpc
from sniper_bot.domain.risk import RiskReport, Severity
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import BreakerConfig, BreakerRegistry, MemoryBreakerStore
from sniper_bot.safety.external import ExternalSource, external_sources
from sniper_bot.safety.fetch import ChainReader, NotATokenError, SnapshotFetcher
from sniper_bot.safety.service import RiskService
from sniper_bot.trading.venues.jupiter.client import JupiterClient, JupiterVenue

from .test_external_clients import RUGCHECK_DANGER, Behaviour, FakeApis, fake_apis, goplus_danger

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass
class Env:
    net: Any
    rpc: SolanaRpc
    venue: JupiterVenue
    session: aiohttp.ClientSession
    payer: Keypair
    breakers: BreakerRegistry


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env() -> AsyncIterator[Env]:
    async with running_localnet(seed=31) as net, aiohttp.ClientSession() as session:
        urls = net.urls
        assert urls is not None
        configs = [EndpointConfig(name="helius", url=urls.rpc["helius"]["http"], rate_per_s=10_000)]
        metrics = Metrics()
        registry = BreakerRegistry(MemoryBreakerStore(), BreakerConfig(), metrics)
        pool = RpcPool(configs, registry, metrics, session, default_timeout_s=2.0)
        payer = Keypair()
        net.cluster.airdrop(payer.pubkey(), 10**9)
        venue = JupiterVenue(JupiterClient(session, urls.jupiter + "/swap/v1"))
        yield Env(net, SolanaRpc(pool), venue, session, payer, registry)
        await pool.close()


@pytest_asyncio.fixture(loop_scope="module")
async def apis() -> AsyncIterator[FakeApis]:
    async with fake_apis() as fakes:
        yield fakes


def sources(env: Env, apis: FakeApis, timeout_s: float = 1.5) -> tuple[ExternalSource, ...]:
    breakers = BreakerRegistry(MemoryBreakerStore(), BreakerConfig(), Metrics())
    return external_sources(
        env.session,
        breakers,
        rugcheck_url=apis.base_url,
        goplus_url=apis.base_url,
        timeout_s=timeout_s,
    )


def service(
    env: Env, external: Sequence[ExternalSource], rpc: ChainReader | None = None
) -> RiskService:
    fetcher = SnapshotFetcher(
        rpc or env.rpc, env.venue, fee_payer=env.payer.pubkey(), external=external
    )
    return RiskService(fetcher)


def external_findings(report: RiskReport) -> dict[str, tuple[Severity, int, Any]]:
    return {
        f.code: (f.severity, f.weight, f.evidence["source"])
        for f in report.findings
        if f.layer == "external"
    }


async def test_danger_opinions_are_findings_with_their_source_but_do_not_block(
    env: Env, apis: FakeApis
) -> None:
    mint = env.net.factory.create("mutable_metadata").mint  # 15 on chain, nothing critical
    apis.rugcheck = Behaviour(body=RUGCHECK_DANGER)
    apis.goplus = Behaviour(body=goplus_danger(str(mint)))
    report = await service(env, sources(env, apis)).check(str(mint))
    assert external_findings(report) == {
        "external_rugcheck": (Severity.HIGH, 30, "rugcheck"),
        "external_goplus": (Severity.HIGH, 30, "goplus"),
    }
    assert report.score == 69  # 15 + 10 on chain + 60 external, held below the block line
    assert not report.is_honeypot
    assert not report.blocks()


async def test_opinions_add_to_an_on_chain_block(env: Env, apis: FakeApis) -> None:
    mint = env.net.factory.create("freeze_authority").mint
    apis.rugcheck = Behaviour(body=RUGCHECK_DANGER)
    apis.goplus = Behaviour(body=goplus_danger(str(mint)))
    without = await service(env, ()).check(str(mint))
    report = await service(env, sources(env, apis)).check(str(mint))
    assert report.is_honeypot
    assert report.score == min(100, without.score + 60)
    assert report.decisive_finding is not None
    assert report.decisive_finding.layer == "authority"  # the chain decides, not the opinion


@pytest.mark.parametrize(
    "behaviour",
    [
        Behaviour(mode="hang"),
        Behaviour(mode="status", status=429),
        Behaviour(mode="status", status=503),
        Behaviour(mode="garbage"),
        Behaviour(body={"code": 1, "result": {}}),
    ],
    ids=["hang", "429", "503", "garbage", "not-analysed"],
)
async def test_every_failure_leaves_the_on_chain_report_unchanged(
    env: Env, apis: FakeApis, behaviour: Behaviour
) -> None:
    mint = env.net.factory.create("honest").mint
    apis.rugcheck = apis.goplus = behaviour
    fetcher = SnapshotFetcher(
        env.rpc, env.venue, fee_payer=env.payer.pubkey(), external=sources(env, apis, 0.3)
    )
    snapshot = await fetcher.fetch(mint)
    assert snapshot.external == ()
    assert set(snapshot.unavailable) == {"rugcheck opinion", "goplus opinion"}
    report = await RiskService(fetcher).check(str(mint))
    baseline = await service(env, ()).check(str(mint))
    assert external_findings(report) == {}
    assert (report.score, report.is_honeypot) == (baseline.score, baseline.is_honeypot)


class _WaitsForTheOpinionRequest:
    """The real RPC, but round 1 starts only once an external API has received its request."""

    def __init__(self, rpc: SolanaRpc, arrived: asyncio.Event) -> None:
        self._rpc = rpc
        self._arrived = arrived

    async def get_slot(self, commitment: Any = "confirmed") -> int:
        return await self._rpc.get_slot(commitment)

    async def get_multiple_accounts(self, pubkeys: Sequence[Pubkey]) -> list[Account | None]:
        await asyncio.wait_for(self._arrived.wait(), 5)
        return await self._rpc.get_multiple_accounts(pubkeys)

    async def get_token_largest_accounts(self, mint: Pubkey) -> list[tuple[Pubkey, int]]:
        return await self._rpc.get_token_largest_accounts(mint)

    async def simulate_transaction(self, tx: Any, **kwargs: Any) -> Any:
        return await self._rpc.simulate_transaction(tx, **kwargs)


async def test_opinions_are_asked_while_the_chain_is_read(env: Env, apis: FakeApis) -> None:
    # Chain first would stall on the wrapper above (it waits for the opinion request);
    # opinions first would time out (they answer only once round 1 has begun).
    mint = env.net.factory.create("honest").mint
    started = asyncio.Event()
    apis.rugcheck = Behaviour(mode="gated", body=RUGCHECK_DANGER, gate=started)
    apis.goplus = Behaviour(mode="gated", body=goplus_danger(str(mint)), gate=started)

    class _Signals(_WaitsForTheOpinionRequest):
        async def get_multiple_accounts(self, pubkeys: Sequence[Pubkey]) -> list[Account | None]:
            result = super().get_multiple_accounts(pubkeys)
            started.set()
            return await result

    rpc = _Signals(env.rpc, apis.arrived)
    fetcher = SnapshotFetcher(
        rpc, env.venue, fee_payer=env.payer.pubkey(), external=sources(env, apis, 5.0)
    )
    snapshot = await fetcher.fetch(mint)
    assert [o.source for o in snapshot.external] == ["rugcheck", "goplus"]


async def test_not_a_token_still_fails_and_the_opinion_task_is_cancelled(
    env: Env, apis: FakeApis
) -> None:
    apis.rugcheck = apis.goplus = Behaviour(mode="hang")
    fetcher = SnapshotFetcher(env.rpc, env.venue, external=sources(env, apis, 600.0))
    with pytest.raises(NotATokenError, match="does not exist on chain"):
        await fetcher.fetch(Keypair().pubkey())
    pending = [t for t in asyncio.all_tasks() if "gather_opinions" in repr(t.get_coro())]
    assert pending == []
