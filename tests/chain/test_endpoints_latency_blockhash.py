"""Settings -> endpoints, the rpc-latency probe and table, the background blockhash cache."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from solders.hash import Hash

from sniper_bot.chain.blockhash import BlockhashCache
from sniper_bot.chain.endpoints import EndpointConfig, endpoints_from_urls, redact_url
from sniper_bot.chain.errors import RpcTransportError
from sniper_bot.chain.latency import percentile, probe_endpoints, render_latency_table
from sniper_bot.errors import ConfigError

from . import fake_rpc
from .conftest import ManualClock

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


async def test_blockhash_cache_answers_from_memory_and_shares_one_fetch() -> None:
    clock = ManualClock()
    calls = 0
    gate = asyncio.Event()

    async def fetch() -> tuple[Hash, int]:
        nonlocal calls
        calls += 1
        await gate.wait()
        return Hash.new_unique(), 1000 + calls

    cache = BlockhashCache(fetch, max_age_s=20, clock=clock)
    waiters = [asyncio.create_task(cache.get()) for _ in range(5)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*waiters)
    assert calls == 1
    assert len(set(results)) == 1
    clock.advance(10)
    assert await cache.get() == results[0]
    assert calls == 1
    clock.advance(11)
    assert (await cache.get())[1] == 1002


async def test_blockhash_refresh_failure_keeps_the_previous_hash() -> None:
    clock = ManualClock()
    answers: list[tuple[Hash, int] | Exception] = [
        (Hash.new_unique(), 7),
        RpcTransportError("down", endpoint="helius"),
    ]
    sleeps: list[float] = []

    async def fetch() -> tuple[Hash, int]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            raise asyncio.CancelledError

    cache = BlockhashCache(fetch, refresh_s=2.0, clock=clock, sleep=sleep)
    with pytest.raises(asyncio.CancelledError):
        await cache.run()
    kept = cache.peek()
    assert kept is not None
    assert kept[1] == 7
    assert sleeps == [2.0, 2.0]
