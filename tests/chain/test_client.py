"""The thin client against a scripted provider: headers, timeouts, no retries, typed calls."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from solders.rpc.requests import GetSlot
from solders.rpc.responses import GetSlotResp

from sniper_bot.chain.client import JsonRpcClient
from sniper_bot.chain.errors import (
    RpcMalformedResponse,
    RpcRateLimited,
    RpcRequestError,
    RpcTimeout,
    RpcTransportError,
)

from . import fake_rpc


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def provider() -> AsyncIterator[fake_rpc.FakeRpc]:
    fake = await fake_rpc.start("helius", {"getSlot": 1234, "getHealth": "ok"})
    yield fake
    assert fake.server is not None
    await fake.server.close()


async def test_call_sends_endpoint_headers_and_returns_the_result(
    session: aiohttp.ClientSession, provider: fake_rpc.FakeRpc
) -> None:
    client = JsonRpcClient("helius", provider.url, session, headers={"x-api-key": "k1"})
    assert await client.call("getSlot", [{"commitment": "confirmed"}]) == 1234
    assert provider.headers_seen[0]["x-api-key"] == "k1"
    assert provider.seen[0]["params"] == [{"commitment": "confirmed"}]


async def test_timeout_is_per_call_and_not_retried(
    session: aiohttp.ClientSession, provider: fake_rpc.FakeRpc
) -> None:
    provider.fault = ("delay", 2.0)
    client = JsonRpcClient("helius", provider.url, session)
    with pytest.raises(RpcTimeout):
        await client.call("getSlot", timeout_s=0.05)
    assert provider.count("getSlot") == 1


async def test_http_429_is_rate_limited_with_retry_after_and_no_retry(
    session: aiohttp.ClientSession, provider: fake_rpc.FakeRpc
) -> None:
    provider.fault = ("status", 429, {"Retry-After": "3"}, b"Too Many Requests")
    client = JsonRpcClient("helius", provider.url, session)
    with pytest.raises(RpcRateLimited) as info:
        await client.call("getSlot")
    assert info.value.retry_after == 3.0
    assert provider.count() == 1


async def test_http_503_is_a_transport_error(
    session: aiohttp.ClientSession, provider: fake_rpc.FakeRpc
) -> None:
    provider.fault = ("status", 503, {}, b"Service Unavailable")
    client = JsonRpcClient("helius", provider.url, session)
    with pytest.raises(RpcTransportError) as info:
        await client.call("getSlot")
    assert info.value.code == 503


async def test_connection_refused_is_certainly_not_processed(
    session: aiohttp.ClientSession, unused_tcp_port: int
) -> None:
    client = JsonRpcClient("dead", f"http://127.0.0.1:{unused_tcp_port}/", session)
    with pytest.raises(RpcTransportError) as info:
        await client.call("getSlot")
    assert info.value.not_processed


async def test_typed_call_returns_the_solders_response(
    session: aiohttp.ClientSession, provider: fake_rpc.FakeRpc
) -> None:
    client = JsonRpcClient("helius", provider.url, session)
    resp = await client.call_typed(GetSlot(id=1), GetSlotResp)
    assert resp.value == 1234


async def test_typed_call_never_returns_solders_bare_int_for_an_unknown_error_code(
    session: aiohttp.ClientSession, provider: fake_rpc.FakeRpc
) -> None:
    # HTTP 200 + JSON-RPC code 429: solders' GetSlotResp.from_json would return the int 429.
    provider.fault = ("rpc_error", 429, "Too many requests", None)
    client = JsonRpcClient("helius", provider.url, session)
    with pytest.raises(RpcRateLimited):
        await client.call_typed(GetSlot(id=1), GetSlotResp)


async def test_typed_call_with_a_wrong_result_shape_is_malformed(
    session: aiohttp.ClientSession, provider: fake_rpc.FakeRpc
) -> None:
    provider.results["getSlot"] = {"unexpected": "object"}
    client = JsonRpcClient("helius", provider.url, session)
    with pytest.raises(RpcMalformedResponse):
        await client.call_typed(GetSlot(id=1), GetSlotResp)


async def test_batch_returns_results_and_errors_in_request_order(
    session: aiohttp.ClientSession, provider: fake_rpc.FakeRpc
) -> None:
    client = JsonRpcClient("helius", provider.url, session)
    slot, missing, health = await client.batch(
        [("getSlot", []), ("nope", None), ("getHealth", None)]
    )
    assert slot == 1234
    assert isinstance(missing, RpcRequestError)
    assert health == "ok"
    assert len(provider.headers_seen) == 1
