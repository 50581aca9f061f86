"""RelayFanout on localnet: one signed transaction to 2 RPC endpoints and 2 block engines lands
once; a block engine that is down opens its breaker while the others still get the bytes; MEV
protection never sends to the RPC (proved by a capture server standing in for the provider)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from solders.pubkey import Pubkey
from solders.signature import Signature

from localnet.faults import FaultProfile
from localnet.jito import JitoEndpoint, bundle_id
from localnet.node import Localnet
from sniper_bot.chain.endpoints import EndpointConfig
from sniper_bot.chain.errors import RpcUnavailableError
from sniper_bot.chain.jito import JitoClient
from sniper_bot.chain.pool import RpcPool
from sniper_bot.chain.relays import RelayFanout, RelayRefused, has_tip
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import BreakerConfig, BreakerRegistry, BreakerState, MemoryBreakerStore

from . import test_jito as jt
from .conftest import ManualClock, sample
from .test_jito import SOL, Capture, engine_url, funded, signed_transfer

# fixtures shared with test_jito
localnet = jt.localnet
wired = jt.wired
capture = jt.capture


@pytest.fixture
async def second_engine(localnet: Localnet) -> AsyncIterator[JitoEndpoint]:
    """Another region's block engine in front of the same auction (the same leader)."""
    endpoint = JitoEndpoint(localnet.block_engine, seed=5)
    await endpoint.start()
    yield endpoint
    await endpoint.stop()


@pytest.fixture
def breakers(metrics: Metrics, clock: ManualClock) -> BreakerRegistry:
    config = BreakerConfig(failure_threshold=2, timeout_s=60.0)
    return BreakerRegistry(MemoryBreakerStore(), config, metrics, clock)


def rpc_pool(
    urls: list[str], breakers: BreakerRegistry, metrics: Metrics, session: aiohttp.ClientSession
) -> RpcPool:
    configs = [
        EndpointConfig(name=f"rpc{i}", url=url, rate_per_s=1000.0, priority=i)
        for i, url in enumerate(urls)
    ]
    return RpcPool(configs, breakers, metrics, session, default_timeout_s=1.0)


def localnet_rpcs(net: Localnet) -> list[str]:
    assert net.urls is not None
    return [net.urls.rpc[name]["http"] for name in ("helius", "quicknode")]


async def test_one_transaction_to_two_rpcs_and_two_engines_lands_once(
    localnet: Localnet,
    second_engine: JitoEndpoint,
    breakers: BreakerRegistry,
    metrics: Metrics,
    wired: aiohttp.ClientSession,
) -> None:
    pool = rpc_pool(localnet_rpcs(localnet), breakers, metrics, wired)
    engines = [
        JitoClient("ny", engine_url(localnet), wired),
        JitoClient("fra", second_engine.url, wired),
    ]
    fanout = RelayFanout(pool, engines, breakers, metrics)
    cluster = localnet.cluster
    payer, to = funded(localnet), Pubkey.new_unique()
    tx = signed_transfer(payer, to, SOL // 10, cluster.latest_blockhash(), tip=10_000)
    assert has_tip(tx)
    before, create_slot = cluster.get_balance(payer.pubkey()), cluster.slot
    event_at = time.perf_counter()  # the fan-out's default clock
    dispatch = await fanout.send(bytes(tx), event_at=event_at, source="ws", venue="pumpfun")
    assert dispatch.wire_at is not None
    assert dispatch.wire_at >= event_at
    assert dispatch.signature == str(tx.signatures[0])
    results = await dispatch.settled()
    assert {name: r.outcome for name, r in results.items()} == {
        "rpc": "accepted",
        "jito:ny": "accepted",
        "jito:fra": "accepted",
    }
    assert dispatch.bundle_ids == {"jito:ny": bundle_id([tx]), "jito:fra": bundle_id([tx])}
    assert localnet.jito.requests["sendBundle"] == 1
    assert second_engine.requests["sendBundle"] == 1
    cluster.advance_slots(1)
    report = await fanout.watch(
        dispatch, create_slot=create_slot, venue="pumpfun", poll_s=0.01, timeout_s=5
    )
    assert report.landed
    assert report.err is None
    assert report.slot == create_slot + 1
    assert report.slot_delta == 1
    assert report.via in ("jito:ny", "jito:fra")
    assert {n: o.status for n, o in report.relays.items()} == {
        "rpc": "landed",
        "jito:ny": "landed",
        "jito:fra": "landed",
    }
    # once: the recipient got the amount once, the payer paid amount + tip + one fee
    assert cluster.get_balance(to) == SOL // 10
    assert before - cluster.get_balance(payer.pubkey()) == SOL // 10 + 10_000 + 5_000
    assert localnet.block_engine.counts["Landed"] == 1
    cluster.advance_slots(2)  # the RPC copy was dropped as a duplicate, not landed again
    assert cluster.get_balance(to) == SOL // 10
    assert sample(metrics, "snipe_latency_seconds_count", source="ws", venue="pumpfun") == 1
    assert sample(metrics, "landed_slot_delta_count", venue="pumpfun") == 1
    assert sample(metrics, "landed_slot_delta_sum", venue="pumpfun") == 1
    for engine in ("ny", "fra"):
        assert sample(metrics, "jito_bundles_total", engine=engine, outcome="sent") == 1
        assert sample(metrics, "jito_bundles_total", engine=engine, outcome="landed") == 1
    await fanout.close()
    await pool.close()


async def test_an_engine_that_is_down_opens_its_breaker_and_the_others_still_get_the_bytes(
    localnet: Localnet,
    second_engine: JitoEndpoint,
    breakers: BreakerRegistry,
    metrics: Metrics,
    wired: aiohttp.ClientSession,
) -> None:
    pool = rpc_pool(localnet_rpcs(localnet), breakers, metrics, wired)
    engines = [
        JitoClient("ny", engine_url(localnet), wired),
        JitoClient("fra", second_engine.url, wired),
    ]
    fanout = RelayFanout(pool, engines, breakers, metrics)
    second_engine.set_profile(FaultProfile(http_503_rate=1.0))
    payer, cluster = funded(localnet, 5 * SOL), localnet.cluster
    blockhash = cluster.latest_blockhash()
    signatures: list[str] = []
    for n in range(3):
        tx = signed_transfer(payer, Pubkey.new_unique(), SOL // 10, blockhash, tip=1_000 + n)
        dispatch = await fanout.send(bytes(tx))
        results = await dispatch.settled()
        assert results["jito:ny"].accepted
        assert results["rpc"].accepted
        assert not results["jito:fra"].accepted
        signatures.append(dispatch.signature)
    # two 503s opened the breaker: the third send did not even try that engine
    assert breakers.get("jito:fra").state() is BreakerState.OPEN
    assert second_engine.requests["sendBundle"] == 2
    assert "Circuit breaker is OPEN" in (results["jito:fra"].error or "")
    assert breakers.get("jito:ny").state() is BreakerState.CLOSED
    assert sample(metrics, "jito_bundles_total", engine="fra", outcome="unreachable") == 3
    cluster.advance_slots(1)
    statuses = cluster.history
    for signature in signatures:
        assert statuses.get(Signature.from_string(signature)) is not None
    await fanout.close()
    await pool.close()


async def test_mev_protection_sends_bundles_only_never_the_rpc(
    localnet: Localnet,
    capture: Capture,
    breakers: BreakerRegistry,
    metrics: Metrics,
    wired: aiohttp.ClientSession,
) -> None:
    """The provider is a capture server (the process boundary): it must never see sendTransaction
    from a protected send, and does see one from an unprotected send (so the check can fail)."""
    capture.answers["sendTransaction"] = lambda params: "unused"
    capture.answers["getSignatureStatuses"] = lambda params: {
        "context": {"slot": 1},
        "value": [None],
    }
    pool = rpc_pool([capture.url + "/"], breakers, metrics, wired)
    fanout = RelayFanout(pool, [JitoClient("ny", engine_url(localnet), wired)], breakers, metrics)
    payer, cluster = funded(localnet), localnet.cluster
    blockhash = cluster.latest_blockhash()
    protected = signed_transfer(payer, Pubkey.new_unique(), SOL // 10, blockhash, tip=5_000)
    dispatch = await fanout.send(bytes(protected), mev_protect=True)
    results = await dispatch.settled()
    assert list(results) == ["jito:ny"]
    assert results["jito:ny"].accepted
    assert "sendTransaction" not in capture.methods()
    assert localnet.jito.requests["sendBundle"] == 1
    cluster.advance_slots(1)
    assert cluster.history.get(protected.signatures[0]) is not None

    untipped = signed_transfer(payer, Pubkey.new_unique(), SOL // 10, blockhash)
    with pytest.raises(RelayRefused, match="tips no Jito tip account"):
        await fanout.send(bytes(untipped), mev_protect=True)
    assert capture.methods().count("sendTransaction") == 0
    assert localnet.jito.requests["sendBundle"] == 1  # nothing was sent anywhere

    open_tx = signed_transfer(payer, Pubkey.new_unique(), SOL // 10, blockhash, tip=5_000)
    await (await fanout.send(bytes(open_tx))).settled()
    assert capture.methods().count("sendTransaction") == 1
    await fanout.close()
    await pool.close()


async def test_tip_accounts_an_engine_reports_count_as_tips(
    capture: Capture,
    breakers: BreakerRegistry,
    metrics: Metrics,
    session: aiohttp.ClientSession,
    localnet: Localnet,
) -> None:
    extra = Pubkey.new_unique()
    capture.answers["getTipAccounts"] = lambda _p: [str(extra)]
    pool = rpc_pool([capture.url + "/"], breakers, metrics, session)
    down = JitoClient("down", "http://127.0.0.1:9", session, timeout_s=0.3)
    fanout = RelayFanout(pool, [JitoClient("cap", capture.url, session), down], breakers, metrics)
    payer = funded(localnet)
    tx = signed_transfer(payer, extra, SOL // 10, localnet.cluster.latest_blockhash())
    assert not has_tip(tx, fanout.tip_accounts())
    accounts = await fanout.refresh_tip_accounts()  # one engine down: logged, the other counts
    assert extra in accounts
    assert has_tip(tx, accounts)
    await pool.close()


async def test_untipped_transactions_go_to_engines_as_plain_sends(
    localnet: Localnet,
    breakers: BreakerRegistry,
    metrics: Metrics,
    wired: aiohttp.ClientSession,
) -> None:
    pool = rpc_pool(localnet_rpcs(localnet), breakers, metrics, wired)
    fanout = RelayFanout(pool, [JitoClient("ny", engine_url(localnet), wired)], breakers, metrics)
    payer = funded(localnet)
    tx = signed_transfer(payer, Pubkey.new_unique(), SOL // 10, localnet.cluster.latest_blockhash())
    results = await (await fanout.send(bytes(tx))).settled()
    assert results["jito:ny"].kind == "transaction"
    assert results["jito:ny"].accepted
    assert localnet.jito.requests.get("sendBundle", 0) == 0
    assert localnet.jito.requests["sendTransaction"] == 1
    await fanout.close()
    await pool.close()


async def test_nothing_accepted_is_an_error_naming_every_relay(
    capture: Capture,
    breakers: BreakerRegistry,
    metrics: Metrics,
    wired: aiohttp.ClientSession,
    localnet: Localnet,
) -> None:
    capture.status = 503
    pool = rpc_pool([capture.url + "/"], breakers, metrics, wired)
    fanout = RelayFanout(pool, [JitoClient("ny", capture.url, wired)], breakers, metrics)
    payer = funded(localnet)
    tx = signed_transfer(
        payer, Pubkey.new_unique(), SOL // 10, localnet.cluster.latest_blockhash(), tip=5_000
    )
    dispatch = await fanout.send(bytes(tx))  # on the wire: the 503s come after
    with pytest.raises(RpcUnavailableError) as caught:
        await dispatch.accepted()
    assert "rpc: unreachable" in caught.value.message
    assert "jito:ny: unreachable" in caught.value.message
    async with aiohttp.ClientSession() as plain:  # no wire hook: send waits for the answers
        pool2 = rpc_pool([capture.url + "/"], breakers, metrics, plain)
        again = RelayFanout(pool2, [JitoClient("fra", capture.url, plain)], breakers, metrics)
        with pytest.raises(RpcUnavailableError, match="jito:fra: unreachable"):
            await again.send(bytes(tx))
        await pool2.close()
    with pytest.raises(RelayRefused, match="not a signed transaction"):
        await fanout.send(b"\x01garbage")
    no_engines = RelayFanout(pool, [], breakers, metrics)
    with pytest.raises(RelayRefused, match="JITO_BLOCK_ENGINE_URLS"):
        await no_engines.send(bytes(tx), mev_protect=True)
    await fanout.close()
    await pool.close()


async def test_a_bundle_below_the_tip_floor_fails_while_the_rpc_copy_lands(
    localnet: Localnet,
    breakers: BreakerRegistry,
    metrics: Metrics,
    wired: aiohttp.ClientSession,
) -> None:
    pool = rpc_pool(localnet_rpcs(localnet), breakers, metrics, wired)
    fanout = RelayFanout(pool, [JitoClient("ny", engine_url(localnet), wired)], breakers, metrics)
    localnet.block_engine.set_tip_floor(1_000_000)
    payer, cluster = funded(localnet), localnet.cluster
    tx = signed_transfer(
        payer, Pubkey.new_unique(), SOL // 10, cluster.latest_blockhash(), tip=5_000
    )
    dispatch = await fanout.send(bytes(tx))
    await dispatch.settled()  # both copies are at the leader before the slot ends
    cluster.advance_slots(1)
    report = await fanout.watch(dispatch, poll_s=0.01, timeout_s=5, create_slot=cluster.slot - 1)
    assert report.landed
    assert report.via == "rpc"
    assert report.slot_delta == 1
    assert report.relays["jito:ny"].status == "failed"
    assert report.relays["jito:ny"].detail == "Failed"
    assert report.relays["rpc"].status == "landed"
    assert sample(metrics, "jito_bundles_total", engine="ny", outcome="failed") == 1
    assert sample(metrics, "jito_bundles_total", engine="ny", outcome="landed") == 0
    await fanout.close()
    await pool.close()
