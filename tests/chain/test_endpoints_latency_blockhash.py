"""Settings -> endpoints, the rpc-latency probe and table, the background blockhash cache."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from solders.hash import Hash

from localnet.cluster import Cluster
from localnet.faults import FaultProfile
from localnet.rpc.server import RpcEndpoint
from sniper_bot.chain.blockhash import BlockhashCache
from sniper_bot.chain.endpoints import EndpointConfig, endpoints_from_urls, redact_url
from sniper_bot.chain.errors import RpcError, RpcTransportError, RpcUnavailableError
from sniper_bot.chain.latency import percentile, probe_endpoints, render_latency_table
from sniper_bot.chain.pool import RpcPool
from sniper_bot.chain.rpc import SolanaRpc
from sniper_bot.errors import ConfigError
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import BreakerConfig, BreakerRegistry, MemoryBreakerStore

from . import fake_rpc
from .conftest import NAMES, ManualClock, Net

Providers = dict[str, fake_rpc.FakeRpc]


def test_endpoints_follow_the_runbook_priority_order_and_derive_ws_urls() -> None:
    endpoints = endpoints_from_urls(
        "https://mainnet.helius-rpc.com/?api-key=K",
        None,
        "https://api.mainnet-beta.solana.com",
        "",
        ["http://10.0.0.5:8899", "https://api.mainnet-beta.solana.com"],
    )
    assert [e.name for e in endpoints] == ["helius", "solana", "rpc1"]
    assert [e.priority for e in endpoints] == [0, 1, 2]
    assert endpoints[0].ws_url == "wss://mainnet.helius-rpc.com/?api-key=K"
    assert endpoints[2].ws_url == "ws://10.0.0.5:8899"


def test_no_endpoint_at_all_is_a_config_error_naming_the_variables() -> None:
    with pytest.raises(ConfigError, match="SOLANA_RPC_URL"):
        endpoints_from_urls(None, None, None, None, [])


def test_a_url_without_scheme_is_a_config_error_that_hides_the_key() -> None:
    with pytest.raises(ConfigError) as info:
        endpoints_from_urls("mainnet.helius-rpc.com/?api-key=SECRET", None, None, None)
    assert "SECRET" not in info.value.message


def test_redacted_urls_drop_query_strings_and_path_tokens() -> None:
    assert (
        redact_url("https://x.quiknode.pro/abcdef0123456789/?k=1")
        == "https://x.quiknode.pro/abcdef0…"
    )


@given(
    st.lists(st.floats(min_value=0, max_value=1e4), min_size=1, max_size=50),
    st.floats(min_value=0, max_value=100),
)
def test_percentile_is_one_of_the_values_and_monotonic(values: list[float], pct: float) -> None:
    p = percentile(values, pct)
    assert p in values
    assert percentile(values, 100) == max(values)
    assert p is not None
    assert p <= (percentile(values, min(100.0, pct + 10)) or p)


async def test_probe_measures_every_endpoint_and_counts_errors(
    providers: Providers, session: aiohttp.ClientSession
) -> None:
    providers["quicknode"].fault = ("status", 503, {}, b"")
    providers["public"].results["getSlot"] = 990
    configs = [EndpointConfig(name=n, url=f.url) for n, f in providers.items()]
    probes = await probe_endpoints(
        configs, 4, 0.5, session=session, breaker_states={"quicknode": "OPEN"}
    )
    by_name = {p.name: p for p in probes}
    assert len(by_name["helius"].latencies_ms) == 4
    assert by_name["helius"].errors == 0
    assert by_name["helius"].slot == 1000
    assert by_name["quicknode"].errors == 4
    assert by_name["quicknode"].p50_ms is None
    console = Console(width=160, record=True)
    console.print(render_latency_table(probes))
    text = console.export_text()
    assert "quicknode" in text
    assert "4/4" in text
    assert "OPEN" in text
    assert "990 (-10)" in text


class ScriptedChain:
    """getLatestBlockhash / getBlockHeight of a chain that makes ``rate`` blocks per clock second:
    the height follows the manual clock, a fresh hash is valid 150 blocks past the height."""

    def __init__(self, clock: ManualClock, rate: float) -> None:
        self.clock = clock
        self.rate = rate
        self.start = clock()
        self.fetches = 0
        self.heights = 0
        self.jumped = 0  # blocks made at once (a localnet catching up slots)
        self.hash_fault: Exception | None = None
        self.height_fault: Exception | None = None
        self.degraded: tuple[Hash, int] | None = None  # what an outage's degraded read returns

    @property
    def height(self) -> int:
        return 1_000 + self.jumped + int((self.clock() - self.start) * self.rate)

    async def fetch(self) -> tuple[Hash, int]:
        self.fetches += 1
        if self.degraded is not None:
            return self.degraded
        if self.hash_fault is not None:
            raise self.hash_fault
        return Hash.new_unique(), self.height + 150

    async def block_height(self) -> int:
        self.heights += 1
        if self.height_fault is not None:
            raise self.height_fault
        return self.height


async def test_blockhash_cache_answers_from_memory_and_shares_one_fetch() -> None:
    clock = ManualClock()
    chain = ScriptedChain(clock, rate=2.5)
    gate = asyncio.Event()

    async def fetch() -> tuple[Hash, int]:
        await gate.wait()
        return await chain.fetch()

    cache = BlockhashCache(fetch, chain.block_height, clock=clock)
    waiters = [asyncio.create_task(cache.get()) for _ in range(5)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*waiters)
    assert (chain.fetches, chain.heights) == (1, 1)
    assert len(set(results)) == 1
    clock.advance(1)
    assert await cache.get() == results[0]  # one second at the assumed rate: from memory
    assert chain.fetches == 1


async def test_a_cached_hash_is_dropped_by_block_height_before_it_expires_not_by_age() -> None:
    """25 blocks/s (localnet's 40 ms slots): a 150-block hash lives 6 s, not 20 or 60."""
    clock = ManualClock()
    chain = ScriptedChain(clock, rate=25)
    cache = BlockhashCache(chain.fetch, chain.block_height, margin_blocks=30, clock=clock)
    await cache.refresh()
    clock.advance(2)
    _, last_valid = await cache.refresh()  # two samples: the rate is measured
    assert cache.blocks_per_s() == pytest.approx(1.5 * 25)
    chain.hash_fault = chain.height_fault = RpcTransportError("down", endpoint="helius")
    handed_out = 0
    while (cached := cache.peek()) is not None:
        assert cached[1] == last_valid
        assert chain.height <= last_valid - 30  # never handed out within the margin
        handed_out += 1
        clock.advance(0.1)
    assert handed_out > 10  # it did answer from memory for a while
    assert (
        chain.height < last_valid
    )  # dropped while the hash was still valid: the estimate errs high
    with pytest.raises(RpcTransportError):
        await cache.get()  # the refresh fails and the old hash is not handed out


async def test_a_burst_of_blocks_between_close_reads_does_not_inflate_the_rate() -> None:
    """Two reads 10 ms apart around a 4-slot catch-up are not a rate of 400 blocks/s: the rate is
    measured over at least a second, and the estimate starts from the latest read."""
    clock = ManualClock()
    chain = ScriptedChain(clock, rate=25)
    cache = BlockhashCache(chain.fetch, chain.block_height, initial_blocks_per_s=50, clock=clock)
    await cache.refresh()
    clock.advance(0.01)
    chain.jumped = 4
    await cache.refresh()
    assert cache.blocks_per_s() == 50  # still the initial rate: no span of a second yet
    clock.advance(2)
    await cache.refresh()
    assert cache.blocks_per_s() == pytest.approx(1.5 * 50 / 2)  # from the read 2 s before
    clock.advance(1)
    assert cache.estimated_height() == chain.height - 25 + 38  # latest read + 1 s at 37.5/s
    assert cache.peek() is not None


async def test_an_older_hash_from_a_degraded_read_is_never_handed_out() -> None:
    """During an outage the RPC facade may answer getLatestBlockhash from its degraded cache: the
    cache compares that answer with the tracked height instead of trusting it as new."""
    clock = ManualClock()
    chain = ScriptedChain(clock, rate=25)
    cache = BlockhashCache(chain.fetch, chain.block_height, clock=clock)
    first = await cache.refresh()
    clock.advance(2)
    second = await cache.refresh()
    chain.degraded = first  # the outage: the old answer comes back, heights still read
    clock.advance(2)
    assert await cache.refresh() == second  # not replaced by the older one
    clock.advance(4)  # the chain reaches second's lastValidBlockHeight - 30
    with pytest.raises(RpcUnavailableError, match="no blockhash valid"):
        await cache.get()
    assert cache.peek() is None


async def test_blockhash_refresh_failure_keeps_the_previous_hash() -> None:
    clock = ManualClock()
    chain = ScriptedChain(clock, rate=2.5)
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        chain.hash_fault = RpcTransportError("down", endpoint="helius")
        if len(sleeps) == 2:
            raise asyncio.CancelledError

    cache = BlockhashCache(chain.fetch, chain.block_height, refresh_s=2.0, clock=clock, sleep=sleep)
    with pytest.raises(asyncio.CancelledError):
        await cache.run()
    kept = cache.peek()
    assert kept is not None
    assert kept[1] == 1_150
    assert sleeps == [2.0, 2.0]
    assert chain.fetches == 2


def test_a_margin_of_150_blocks_or_more_is_refused() -> None:
    chain = ScriptedChain(ManualClock(), rate=2.5)
    with pytest.raises(ValueError, match="margin_blocks"):
        BlockhashCache(chain.fetch, chain.block_height, margin_blocks=150)


# --------------------------------------------------------------------- on localnet, fast slots
FAST_SLOT_MS = 40


@pytest.fixture
async def fast_net() -> AsyncIterator[Net]:
    cluster = Cluster(seed=11, slot_ms=FAST_SLOT_MS)
    endpoints = {name: RpcEndpoint(name, cluster, seed=i) for i, name in enumerate(NAMES)}
    for endpoint in endpoints.values():
        await endpoint.start()
    await cluster.start()
    yield Net(cluster, endpoints)
    await cluster.stop()
    for endpoint in endpoints.values():
        await endpoint.stop()


@pytest.fixture
async def fast_rpc(
    fast_net: Net, metrics: Metrics, session: aiohttp.ClientSession
) -> AsyncIterator[SolanaRpc]:
    """The real facade and pool on the real clock (breakers retry after 0.2 s)."""
    registry = BreakerRegistry(
        MemoryBreakerStore(), BreakerConfig(timeout_s=0.2), metrics, time.monotonic
    )
    configs = [
        EndpointConfig(name=name, url=ep.http_url, ws_url=ep.ws_url, rate_per_s=500, priority=i)
        for i, (name, ep) in enumerate(fast_net.endpoints.items())
    ]
    pool = RpcPool(configs, registry, metrics, session, default_timeout_s=0.3)
    yield SolanaRpc(pool)
    await pool.close()


def _blockhash_requests(net: Net) -> int:
    return sum(ep.requests.get("getLatestBlockhash", 0) for ep in net.endpoints.values())


async def _hand_out_until(rpc: SolanaRpc, cluster: Cluster, blocks: int) -> tuple[int, int]:
    """Ask for a blockhash every 10 ms until the cluster made ``blocks`` more blocks; every hash
    handed out is checked against the cluster at the moment it is handed out (same event loop:
    no slot passes in between). Returns (handed out, refused)."""
    until = cluster.block_height + blocks
    handed_out = refused = 0
    while cluster.block_height < until:
        try:
            blockhash, last_valid = await rpc.recent_blockhash()
        except RpcError:
            refused += 1
        else:
            assert cluster.blockhash_valid(blockhash), (
                f"expired blockhash handed out: lastValidBlockHeight {last_valid}, "
                f"block height {cluster.block_height}"
            )
            assert last_valid >= cluster.block_height
            handed_out += 1
        await asyncio.sleep(0.01)
    return handed_out, refused


@pytest.mark.timeout(120)
async def test_on_localnet_with_40_ms_slots_every_cached_blockhash_handed_out_is_valid(
    fast_net: Net, fast_rpc: SolanaRpc
) -> None:
    """150 blocks are 6 s here. Refreshing in the background, through an outage longer than a
    blockhash lives (the facade's degraded read keeps answering the old hash) and after it."""
    cluster = fast_net.cluster
    async with asyncio.TaskGroup() as group:
        background = group.create_task(fast_rpc.blockhash_cache.run())

        before = _blockhash_requests(fast_net)
        handed_out, refused = await _hand_out_until(fast_rpc, cluster, 150)
        assert handed_out > 0
        assert _blockhash_requests(fast_net) - before < handed_out / 4  # mostly from memory

        for endpoint in fast_net.endpoints.values():
            endpoint.set_profile(FaultProfile(down=True))
        handed_out, refused = await _hand_out_until(fast_rpc, cluster, 200)
        assert refused > 0  # the last hash ran out during the outage and was not handed out

        for endpoint in fast_net.endpoints.values():
            endpoint.set_profile(FaultProfile())
        handed_out, _ = await _hand_out_until(fast_rpc, cluster, 100)
        assert handed_out > 0
        background.cancel()


async def test_on_localnet_a_hash_cached_past_its_blocks_is_fetched_again_without_refresh(
    fast_net: Net, fast_rpc: SolanaRpc
) -> None:
    """No background refresh: the first hash is kept, the chain makes 160 blocks (6.4 s, far
    below any age limit), and the next ask gets a hash valid now instead of the expired one."""
    cluster = fast_net.cluster
    first, _ = await fast_rpc.recent_blockhash()
    issued_at = cluster.block_height
    while cluster.block_height <= issued_at + 160:  # noqa: ASYNC110 - the chain is the state
        await asyncio.sleep(0.05)
    assert not cluster.blockhash_valid(first)
    blockhash, last_valid = await fast_rpc.recent_blockhash()
    assert cluster.blockhash_valid(blockhash)
    assert last_valid >= cluster.block_height
