"""The corpus: every localnet token kind, checked through the real RPC facade and Jupiter venue.

Honest tokens score below 30; every honeypot kind scores at or above 70 with its mechanic named in
the findings. The table in docs/SAFETY.md must be these results (print them with ``-s``).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from rich.console import Console
from solders.keypair import Keypair

from localnet.testing import running_localnet
from sniper_bot.chain.endpoints import EndpointConfig
from sniper_bot.chain.pool import RpcPool
from sniper_bot.chain.rpc import SolanaRpc
from sniper_bot.domain.risk import RiskReport
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import BreakerConfig, BreakerRegistry, MemoryBreakerStore
from sniper_bot.safety.fetch import SnapshotFetcher
from sniper_bot.safety.render import EXIT_BLOCKED, EXIT_OK, run_check_token
from sniper_bot.safety.service import RiskService
from sniper_bot.trading.venues.jupiter.client import JupiterClient, JupiterVenue

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass
class Corpus:
    net: Any
    service: RiskService
    payer: Keypair


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def corpus() -> AsyncIterator[Corpus]:
    async with running_localnet(seed=11) as net, aiohttp.ClientSession() as session:
        urls = net.urls
        assert urls is not None
        configs = [EndpointConfig(name="helius", url=urls.rpc["helius"]["http"], rate_per_s=10_000)]
        metrics = Metrics()
        registry = BreakerRegistry(MemoryBreakerStore(), BreakerConfig(), metrics)
        pool = RpcPool(configs, registry, metrics, session, default_timeout_s=2.0)
        rpc = SolanaRpc(pool)
        venue = JupiterVenue(JupiterClient(session, urls.jupiter + "/swap/v1"))
        payer = Keypair()
        net.cluster.airdrop(payer.pubkey(), 10**9)
        fetcher = SnapshotFetcher(rpc, venue, fee_payer=payer.pubkey())
        yield Corpus(net, RiskService(fetcher, metrics=metrics), payer)
        await pool.close()


RESULTS: dict[str, RiskReport] = {}  # by their row label in docs/SAFETY.md
SAFETY_DOC = Path(__file__).resolve().parents[2] / "docs" / "SAFETY.md"
TABLE_HEAD = "| kind | score | honeypot | decisive finding |"
# kinds whose row label in the docs names their default parameters or moment
DOC_LABELS = {
    "transfer_fee": "transfer_fee (75%)",
    "low_liquidity": "low_liquidity (0.5 SOL)",
    "rug_pull": "rug_pull (before the rug)",
}
# rows of a token after something happened to it: only their own tests produce them
AFTER_AN_EVENT = {"rug_pull (after the rug)", "freeze_authority (after freezing buyers)"}


async def check(corpus: Corpus, kind: str, **params: Any) -> RiskReport:
    info = corpus.net.factory.create(kind, **params)
    report = await corpus.service.check(str(info.mint))
    RESULTS[DOC_LABELS.get(kind, kind)] = report
    decisive = report.decisive_finding
    print(
        f"| {kind} | {report.score} | {report.is_honeypot} | {decisive.code if decisive else ''} |"
    )
    return report


@pytest.mark.parametrize("kind", ["honest", "mutable_metadata", "rug_pull"])
async def test_honest_kinds_score_below_30(corpus: Corpus, kind: str) -> None:
    report = await check(corpus, kind)
    assert report.score < 30, [f.to_json() for f in report.findings if f.weight]
    assert not report.is_honeypot
    assert any(f.code == "sell_simulated" for f in report.findings)


@pytest.mark.parametrize(
    ("kind", "mechanic"),
    [
        ("freeze_authority", "freeze_authority_live"),
        ("mint_authority", "mint_authority_live"),
        ("transfer_fee", "transfer_fee"),
        ("permanent_delegate", "permanent_delegate"),
        ("non_transferable", "non_transferable"),
        ("default_frozen", "default_account_frozen"),
        ("transfer_hook", "transfer_hook"),
        ("pausable", "pause_authority_live"),
        ("concentrated", "top_holder_concentration"),
    ],
)
async def test_every_honeypot_kind_scores_70_or_more_and_names_its_mechanic(
    corpus: Corpus, kind: str, mechanic: str
) -> None:
    report = await check(corpus, kind)
    assert report.score >= 70
    assert report.is_honeypot
    assert mechanic in {f.code for f in report.findings if f.severity.rank >= 3}


async def test_low_liquidity_blocks_but_is_not_a_honeypot(corpus: Corpus) -> None:
    report = await check(corpus, "low_liquidity")
    assert report.score >= 70
    assert report.decisive_finding is not None
    assert report.decisive_finding.code == "low_liquidity"
    assert report.overridable


async def test_non_transferable_sell_simulation_fails_with_error_37(corpus: Corpus) -> None:
    report = RESULTS.get("non_transferable") or await check(corpus, "non_transferable")
    [sell] = [f for f in report.findings if f.code == "sell_fails"]
    assert sell.evidence["program_error"] == 37


async def test_a_rug_pull_is_caught_once_liquidity_is_pulled(corpus: Corpus) -> None:
    info = corpus.net.factory.create("rug_pull")
    before = await corpus.service.check(str(info.mint))
    assert before.score < 30
    corpus.net.factory.rug(info.mint)
    RESULTS["rug_pull (before the rug)"] = before
    after = await corpus.service.check(str(info.mint), force=True)
    RESULTS["rug_pull (after the rug)"] = after
    assert after.score >= 70
    assert {f.code for f in after.findings} & {"low_liquidity", "no_liquidity", "round_trip_tax"}


async def test_frozen_buyer_sell_fails_with_error_17(corpus: Corpus) -> None:
    """freeze_authority after its rug: a buyer's frozen account fails the simulated sell."""
    info = corpus.net.factory.create("freeze_authority")
    buyer = Keypair()
    corpus.net.cluster.airdrop(buyer.pubkey(), 10**9)
    corpus.net.market.trade(info.mint, buyer, "buy", 10**8)
    corpus.net.factory.rug(info.mint)
    report = await corpus.service.check(str(info.mint))
    assert report.is_honeypot
    assert "freeze_authority_live" in {f.code for f in report.findings}
    [sell] = [f for f in report.findings if f.code == "sell_fails"]
    assert sell.evidence["program_error"] == 17
    assert sell.evidence["holder"] == str(buyer.pubkey())
    RESULTS["freeze_authority (after freezing buyers)"] = report


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class RecordingSink:
    """The HoneypotCheck port, recording saves (PostgreSQL itself is covered by storage's suite)."""

    def __init__(self) -> None:
        self.saved: list[tuple[str, int, bool, dict[str, Any]]] = []

    async def save(self, mint: str, score: int, is_honeypot: bool, details: Any) -> None:
        self.saved.append((mint, score, is_honeypot, dict(details)))


def fresh_service(corpus: Corpus) -> tuple[RiskService, Clock, RecordingSink]:
    clock, sink = Clock(), RecordingSink()
    service = RiskService(
        corpus.service.fetcher, sink, ttl_s=300, authority_recheck_s=15, clock=clock
    )
    return service, clock, sink


async def test_concurrent_checks_of_one_mint_share_one_fetch_and_one_row(corpus: Corpus) -> None:
    service, _, sink = fresh_service(corpus)
    mint = str(corpus.net.factory.create("honest").mint)
    reports = await asyncio.gather(*(service.check(mint) for _ in range(8)))
    assert len(sink.saved) == 1
    assert all(r is reports[0] for r in reports)
    saved_mint, score, honeypot, details = sink.saved[0]
    assert (saved_mint, score, honeypot) == (mint, reports[0].score, False)
    assert RiskReport.from_json(details) == reports[0]


async def test_cache_serves_within_the_ttl_and_refetches_after(corpus: Corpus) -> None:
    service, clock, sink = fresh_service(corpus)
    mint = str(corpus.net.factory.create("honest").mint)
    first = await service.check(mint)
    clock.now += 10
    assert await service.check(mint) is first
    clock.now += 300
    assert await service.check(mint) is not first
    assert len(sink.saved) == 2


async def test_an_authority_change_forces_a_recheck(corpus: Corpus) -> None:
    service, clock, sink = fresh_service(corpus)
    info = corpus.net.factory.create("pausable")
    first = await service.check(str(info.mint))
    assert "paused" not in {f.code for f in first.findings}
    corpus.net.factory.pause(info.mint)
    clock.now += 20  # past authority_recheck_s, well within the TTL
    second = await service.check(str(info.mint))
    assert second is not first
    assert "paused" in {f.code for f in second.findings}
    assert len(sink.saved) == 2


async def test_unchanged_authorities_keep_the_cached_report(corpus: Corpus) -> None:
    service, clock, sink = fresh_service(corpus)
    mint = str(corpus.net.factory.create("honest").mint)
    first = await service.check(mint)
    clock.now += 20
    assert await service.check(mint) is first
    assert len(sink.saved) == 1


async def test_check_token_prints_json_and_exits_3_when_blocked(corpus: Corpus) -> None:
    service, _, _ = fresh_service(corpus)
    mint = str(corpus.net.factory.create("non_transferable").mint)
    console = Console(record=True, width=200)
    code = await run_check_token(service, mint, as_json=True, console=console)
    assert code == EXIT_BLOCKED
    data = json.loads(console.export_text())
    assert data["blocked"] is True
    assert data["findings"][0]["severity"] == "critical"
    honest = str(corpus.net.factory.create("honest").mint)
    table_console = Console(record=True, width=200)
    assert await run_check_token(service, honest, as_json=False, console=table_console) == EXIT_OK
    assert "risk" in table_console.export_text()


def documented_rows() -> dict[str, tuple[int, bool, str]]:
    """docs/SAFETY.md's corpus table: row label -> (score, honeypot, decisive finding code)."""
    lines = SAFETY_DOC.read_text(encoding="utf-8").splitlines()
    rows: dict[str, tuple[int, bool, str]] = {}
    for line in lines[lines.index(TABLE_HEAD) + 2 :]:
        if not line.startswith("|"):
            break
        label, score, honeypot, finding = (c.strip() for c in line.strip("|").split("|")[:4])
        code = re.match(r"`([^`]*)`", finding)
        rows[label] = (int(score), honeypot == "yes", code.group(1) if code else "")
    return rows


def measured(report: RiskReport) -> tuple[int, bool, str]:
    decisive = report.decisive_finding
    return report.score, report.is_honeypot, decisive.code if decisive else ""


async def test_the_docs_table_is_what_the_corpus_scores(corpus: Corpus) -> None:
    """docs/SAFETY.md's table is these results (runs last in this module; ``-s`` prints them)."""
    documented = documented_rows()
    kinds = {label: kind for kind, label in DOC_LABELS.items()}
    for label in documented.keys() - RESULTS.keys() - AFTER_AN_EVENT:  # run alone: check them now
        await check(corpus, kinds.get(label, label))
    print(f"\n{TABLE_HEAD}\n|---|---|---|---|")
    for label, report in RESULTS.items():
        d = report.decisive_finding
        print(
            f"| {label} | {report.score} | {'yes' if report.is_honeypot else 'no'} | "
            f"`{d.code if d else ''}`: {d.title if d else ''} |"
        )
    assert RESULTS.keys() <= documented.keys(), "a corpus result has no row in docs/SAFETY.md"
    assert documented.keys() - RESULTS.keys() <= AFTER_AN_EVENT
    assert {label: measured(r) for label, r in RESULTS.items()} == {
        label: documented[label] for label in RESULTS
    }


async def test_a_replica_reuses_the_report_another_replica_stored_in_redis(
    corpus: Corpus, redis_url: str
) -> None:
    from sniper_bot.cache import FallbackCache, MemoryCache, RedisManager

    managers = [RedisManager(redis_url, metrics=Metrics()) for _ in range(2)]
    for manager in managers:
        await manager.start()
    try:
        sinks = [RecordingSink(), RecordingSink()]
        replicas = [
            RiskService(
                corpus.service.fetcher,
                sink,
                shared=FallbackCache(manager, MemoryCache(100)),
            )
            for sink, manager in zip(sinks, managers, strict=True)
        ]
        info = corpus.net.factory.create("pausable")
        mint = str(info.mint)
        first = await replicas[0].check(mint)
        second = await replicas[1].check(mint)
        assert second == first  # the same report, read from Redis
        assert (len(sinks[0].saved), len(sinks[1].saved)) == (1, 0)  # one full check in all
        corpus.net.factory.pause(info.mint)  # the pause authority acts: the mint changes
        replicas[1].invalidate(mint)
        third = await replicas[1].check(mint)
        assert len(sinks[1].saved) == 1  # the stored report no longer matches the chain
        assert third.score >= first.score
    finally:
        for manager in managers:
            await manager.close()
