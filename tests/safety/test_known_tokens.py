"""The stablecoin false positive: USDC-like issuer powers are issuer risk, not a honeypot.

Each token is built for real in LiteSVM (localnet): a mint with live authorities, initialised by
the token program at a scratch address and then placed (``set_account``) at the listed address,
with a pool holding 50 SOL, holders funded by real ``MintTo``s, and the Jupiter-compatible venue
routing it. The very same token built under a random address must still score >= 70: the
allowance is the address, never the shape.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account

from localnet.market import instructions as ix
from localnet.market.pricing import TransferFee
from localnet.testing import running_localnet
from sniper_bot.chain.endpoints import EndpointConfig
from sniper_bot.chain.pool import RpcPool
from sniper_bot.chain.rpc import SolanaRpc
from sniper_bot.domain.risk import RiskReport, Severity
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import BreakerConfig, BreakerRegistry, MemoryBreakerStore
from sniper_bot.safety.fetch import SnapshotFetcher
from sniper_bot.safety.layers import run_layers
from sniper_bot.safety.layers.known_tokens import KNOWN_TOKENS
from sniper_bot.safety.scoring import score_findings
from sniper_bot.safety.service import RiskService
from sniper_bot.solana.layouts.token import MintState
from sniper_bot.trading.venues.jupiter.client import JupiterClient, JupiterVenue

from .snapshots import honest

pytestmark = pytest.mark.asyncio(loop_scope="module")

USDC = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
USDT = Pubkey.from_string("Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB")
PYUSD = Pubkey.from_string("2b1kV6DkPAnxd5ixfnxCpjxmKwqjjaYmCZfHsFu24GXo")
WSOL = Pubkey.from_string("So11111111111111111111111111111111111111112")
DECIMALS = 6
SUPPLY = 1_000_000_000 * 10**DECIMALS
_U64_MAX = 2**64 - 1


@dataclass
class Net:
    net: Any
    service: RiskService


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def localnet() -> AsyncIterator[Net]:
    async with running_localnet(seed=23) as net, aiohttp.ClientSession() as session:
        urls = net.urls
        assert urls is not None
        configs = [EndpointConfig(name="helius", url=urls.rpc["helius"]["http"], rate_per_s=10_000)]
        metrics = Metrics()
        registry = BreakerRegistry(MemoryBreakerStore(), BreakerConfig(), metrics)
        pool = RpcPool(configs, registry, metrics, session, default_timeout_s=2.0)
        venue = JupiterVenue(JupiterClient(session, urls.jupiter + "/swap/v1"))
        payer = Keypair()
        net.cluster.airdrop(payer.pubkey(), 10**9)
        fetcher = SnapshotFetcher(SolanaRpc(pool), venue, fee_payer=payer.pubkey())
        yield Net(net, RiskService(fetcher, metrics=metrics))
        await pool.close()


def issue_token(net: Any, address: Pubkey, *, token_2022: bool = False) -> Keypair:
    """A live-authority mint at ``address`` with a 50 SOL pool and ten holders; the issuer key."""
    cluster, market = net.cluster, net.market
    issuer, scratch = Keypair(), Keypair()
    cluster.airdrop(issuer.pubkey(), 10 * 10**9)
    program = ix.TOKEN_2022_PROGRAM_ID if token_2022 else ix.TOKEN_PROGRAM_ID
    auth = issuer.pubkey()
    exts: list[tuple[int, int]] = []
    inits = []
    if token_2022:  # PYUSD's shape: a fee config at 0 bps, a permanent delegate, no hook program
        exts += [ix.EXT_TRANSFER_FEE_CONFIG, ix.EXT_PERMANENT_DELEGATE, ix.EXT_TRANSFER_HOOK]
        inits += [
            ix.initialize_transfer_fee_config(scratch.pubkey(), auth, 0, _U64_MAX),
            ix.initialize_permanent_delegate(scratch.pubkey(), auth),
            ix.initialize_transfer_hook(scratch.pubkey(), auth, Pubkey.default()),
        ]
    size = ix.mint_len(exts)
    rent = cluster.svm.minimum_balance_for_rent_exemption(size)
    market.send(
        [
            create_account(
                CreateAccountParams(
                    from_pubkey=auth,
                    to_pubkey=scratch.pubkey(),
                    lamports=rent,
                    space=size,
                    owner=program,
                )
            ),
            *inits,
            ix.initialize_mint2(program, scratch.pubkey(), DECIMALS, auth, auth),
        ],
        [issuer, scratch],
    )
    account = cluster.get_account(scratch.pubkey())
    cluster.set_account(address, account)  # the mint's data does not contain its own address
    cluster.close_account(scratch.pubkey())
    pool = market.open_pool(
        mint=address,
        token_program=program,
        decimals=DECIMALS,
        sol_lamports=50 * 10**9,
        transfer_fee=TransferFee(0, _U64_MAX),
    )
    holders = [Keypair().pubkey() for _ in range(10)]
    grants = [(pool.key, SUPPLY * 80 // 100)] + [(h, SUPPLY * 2 // 100) for h in holders]
    for i in range(0, len(grants), 4):
        batch = []
        for owner, amount in grants[i : i + 4]:
            ata = ix.associated_token_address(owner, address, program)
            if owner != pool.key:
                batch.append(
                    ix.create_associated_token_account_idempotent(auth, owner, address, program)
                )
            batch.append(ix.mint_to(program, address, ata, auth, amount))
        market.send(batch, [issuer])
    return issuer


async def check(localnet: Net, address: Pubkey, *, token_2022: bool = False) -> RiskReport:
    issue_token(localnet.net, address, token_2022=token_2022)
    report = await localnet.service.check(str(address))
    print(f"| {address} | {report.score} | {report.is_honeypot} |")
    return report


def weighted(report: RiskReport) -> dict[str, tuple[Severity, int]]:
    return {f.code: (f.severity, f.weight) for f in report.findings if f.weight}


@pytest.mark.parametrize(("symbol", "address"), [("USDC", USDC), ("USDT", USDT)])
async def test_live_authorities_on_a_known_stablecoin_are_issuer_risk_below_70(
    localnet: Net, symbol: str, address: Pubkey
) -> None:
    report = await check(localnet, address)
    assert report.score < 70, weighted(report)
    assert not report.is_honeypot
    by_code = {f.code: f for f in report.findings}
    mint_auth, freeze = by_code["mint_authority_live"], by_code["freeze_authority_live"]
    assert (mint_auth.severity, freeze.severity) == (Severity.LOW, Severity.MEDIUM)
    assert freeze.evidence["known_token"] == symbol
    assert freeze.evidence["weight_if_unknown"] == 80
    assert freeze.evidence["freeze_authority"]  # the evidence is still shown
    assert "issuer risk, not a honeypot" in freeze.title
    assert any(f.code == "sell_simulated" for f in report.findings)


async def test_the_same_token_under_a_random_address_is_a_honeypot(localnet: Net) -> None:
    report = await check(localnet, Keypair().pubkey())
    assert report.score >= 70
    assert report.is_honeypot
    assert weighted(report)["freeze_authority_live"] == (Severity.CRITICAL, 80)
    assert weighted(report)["mint_authority_live"] == (Severity.CRITICAL, 75)


async def test_pyusd_token_2022_issuer_powers_are_issuer_risk(localnet: Net) -> None:
    report = await check(localnet, PYUSD, token_2022=True)
    assert report.score < 70, weighted(report)
    delegate = next(f for f in report.findings if f.code == "permanent_delegate")
    assert (delegate.severity, delegate.evidence["known_token"]) == (Severity.MEDIUM, "PYUSD")


async def test_the_same_token_2022_under_a_random_address_is_a_honeypot(localnet: Net) -> None:
    report = await check(localnet, Keypair().pubkey(), token_2022=True)
    assert report.score >= 70
    assert weighted(report)["permanent_delegate"] == (Severity.CRITICAL, 85)


async def test_a_listed_address_under_the_wrong_token_program_gets_no_allowance(
    localnet: Net,
) -> None:
    # USDT is a classic SPL Token mint; a Token-2022 account at its address is not USDT.
    assert KNOWN_TOKENS[USDT].program == ix.TOKEN_PROGRAM_ID
    report = await localnet.service.check(str(USDT), force=True)
    assert report.score < 70  # the real shape still passes (cache bypassed, rebuilt report)
    net = localnet.net
    account = net.cluster.get_account(USDT)
    fake_owner = type(account)(
        account.lamports, bytes(account.data), ix.TOKEN_2022_PROGRAM_ID, False, 0
    )
    net.cluster.set_account(USDT, fake_owner)
    report = await localnet.service.check(str(USDT), force=True)
    assert report.is_honeypot
    assert (
        "known_token"
        not in next(f for f in report.findings if f.code == "freeze_authority_live").evidence
    )


async def test_wsol_with_live_authorities_is_issuer_risk_too() -> None:
    # The token program refuses MintTo on its native mint (error 10, "does not support native
    # tokens"), so wSOL is checked on a hand-built snapshot instead of a localnet pool.
    authority = Keypair().pubkey()
    state = MintState(authority, SUPPLY, 9, True, authority)
    for mint, honeypot in ((WSOL, False), (Keypair().pubkey(), True)):
        snap = honest(mint=mint, mint_state=state)
        score, is_honeypot = score_findings(run_layers(snap))
        assert is_honeypot is honeypot
        assert (score >= 70) is honeypot


async def test_every_entry_names_its_issuer_and_a_reason() -> None:
    assert {USDC, USDT, PYUSD, WSOL} <= set(KNOWN_TOKENS)
    for entry in KNOWN_TOKENS.values():
        assert entry.issuer
        assert len(entry.reason) > 40
        assert {"mint_authority_live", "freeze_authority_live"} <= entry.issuer_powers
