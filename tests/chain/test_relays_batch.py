"""RelayFanout.send_many on localnet: one launch's many orders as JSON-RPC batches.

200 transfers of 200 users go out as 4 batches per endpoint and each lands once; an endpoint that
refuses batches (HTTP 413, or one error object for the whole array) gets the same transactions
as single requests; a provider answering a batch out of order with errors for some calls gets
each answer mapped to its own transaction. The refusing / reordering provider is a real aiohttp
server in front of localnet (the process boundary), localnet executes every transaction."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from localnet.jito import bundle_id
from localnet.node import Localnet
from sniper_bot.chain.endpoints import EndpointConfig
from sniper_bot.chain.errors import RpcError
from sniper_bot.chain.jito import JitoClient
from sniper_bot.chain.pool import RpcPool
from sniper_bot.chain.relays import Dispatch, Outgoing, RelayFanout
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import BreakerConfig, BreakerRegistry, MemoryBreakerStore

from . import test_jito as jt
from .conftest import ManualClock, sample
from .test_jito import SOL, signed_transfer

localnet = jt.localnet
wired = jt.wired

AMOUNT = SOL // 1_000
FEE = 5_000


@pytest.fixture
def breakers(metrics: Metrics, clock: ManualClock) -> BreakerRegistry:
    config = BreakerConfig(failure_threshold=50)
    return BreakerRegistry(MemoryBreakerStore(), config, metrics, clock)


@dataclass
class Front:
    """A provider in front of localnet: forwards requests, refuses batches when told
    (``refuse``: "http" -> HTTP 413, "object" -> one JSON-RPC error object for the array), and
    answers ``fail`` signatures' calls with an error (not forwarded) and batches in reverse."""

    upstream: str
    refuse: str | None = None
    fail: dict[str, dict[str, Any]] = field(default_factory=dict)
    arrays: int = 0  # batch requests received
    singles: int = 0
    runner: web.AppRunner | None = None
    url: str = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read())
        if isinstance(body, list):
            self.arrays += 1
            if self.refuse == "http":
                return web.Response(status=413, text="batch requests are not allowed")
            if self.refuse == "object":
                error = {"code": -32600, "message": "batch requests are not supported"}
                return web.json_response({"jsonrpc": "2.0", "id": None, "error": error})
        else:
            self.singles += 1
        calls = body if isinstance(body, list) else [body]
        failed = {c["id"]: self.fail[sig] for c in calls if (sig := _sig(c)) in self.fail}
        forward = [c for c in calls if c["id"] not in failed]
        answers: list[Any] = []
        if forward:
            payload = forward if isinstance(body, list) else forward[0]
            async with aiohttp.ClientSession() as s, s.post(self.upstream, json=payload) as r:
                got = await r.json()
            answers = got if isinstance(got, list) else [got]
        for call_id, error in failed.items():
            answers.append({"jsonrpc": "2.0", "id": call_id, "error": error})
        if not isinstance(body, list):
            return web.json_response(answers[0])
        return web.json_response(list(reversed(answers)))

    async def start(self) -> Front:
        app = web.Application()
        app.router.add_post("/", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/"
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


def _sig(call: dict[str, Any]) -> str:
    raw = base64.b64decode(call["params"][0])
    return str(VersionedTransaction.from_bytes(raw).signatures[0])


@pytest.fixture
async def front(localnet: Localnet) -> AsyncIterator[Callable[..., Any]]:
    fronts: list[Front] = []

    async def make(**kwargs: Any) -> Front:
        assert localnet.urls is not None
        f = await Front(localnet.urls.rpc["quicknode"]["http"], **kwargs).start()
        fronts.append(f)
        return f

    yield make
    for f in fronts:
        await f.stop()


def fanout_over(
    urls: list[str],
    breakers: BreakerRegistry,
    metrics: Metrics,
    session: aiohttp.ClientSession,
    batch_size: int = 50,
) -> RelayFanout:
    configs = [
        EndpointConfig(name=f"rpc{i}", url=u, rate_per_s=1000.0, priority=i)
        for i, u in enumerate(urls)
    ]
    pool = RpcPool(configs, breakers, metrics, session, default_timeout_s=5.0)
    return RelayFanout(pool, [], breakers, metrics, batch_size=batch_size, timeout_s=5.0)


@dataclass
class Users:
    payers: list[Keypair]
    to: list[Pubkey]
    txs: list[VersionedTransaction]


def users(net: Localnet, n: int) -> Users:
    payers = [Keypair() for _ in range(n)]
    for payer in payers:
        net.cluster.airdrop(payer.pubkey(), SOL // 100)
    to = [Pubkey.new_unique() for _ in range(n)]
    blockhash = net.cluster.latest_blockhash()
    txs = [signed_transfer(p, t, AMOUNT, blockhash) for p, t in zip(payers, to, strict=True)]
    return Users(payers, to, txs)


def assert_landed_once(net: Localnet, u: Users, which: range | list[int]) -> None:
    net.cluster.advance_slots(2)  # a second slot: the resent copies changed nothing
    for k in which:
        assert net.cluster.get_balance(u.to[k]) == AMOUNT, k
        assert net.cluster.get_balance(u.payers[k].pubkey()) == SOL // 100 - AMOUNT - FEE, k


async def test_200_transactions_of_200_users_go_out_in_batches_and_each_lands_once(
    localnet: Localnet, breakers: BreakerRegistry, metrics: Metrics, wired: aiohttp.ClientSession
) -> None:
    assert localnet.urls is not None
    urls = [localnet.urls.rpc[n]["http"] for n in ("helius", "quicknode")]
    fanout = fanout_over(urls, breakers, metrics, wired)
    u = users(localnet, 200)
    names = ("helius", "quicknode")
    before = {n: localnet.endpoints[n].requests.get("sendTransaction", 0) for n in names}
    out = await fanout.send_many([Outgoing(bytes(tx)) for tx in u.txs], event_at=0.0,
                                 source="ws", venue="pumpfun")  # fmt: skip
    assert len(out) == 200
    for k, (tx, d) in enumerate(zip(u.txs, out, strict=True)):
        assert isinstance(d, Dispatch), (k, d)
        assert d.signature == str(tx.signatures[0])
        assert d.wire_at is not None  # the hook fired for each item
        result = (await d.settled())["rpc"]
        assert (result.outcome, result.reference) == ("accepted", d.signature)
    # 4 HTTP requests per endpoint (50 calls each), not 200
    for name in names:
        assert localnet.endpoints[name].requests["sendTransaction"] - before[name] == 4
    assert sample(metrics, "snipe_latency_seconds_count", source="ws", venue="pumpfun") == 200
    assert_landed_once(localnet, u, range(200))
    await fanout.close()


@pytest.mark.parametrize("refuse", ["http", "object"])
async def test_an_endpoint_refusing_batches_gets_single_requests(
    localnet: Localnet,
    breakers: BreakerRegistry,
    metrics: Metrics,
    wired: aiohttp.ClientSession,
    front: Callable[..., Any],
    refuse: str,
) -> None:
    refusing: Front = await front(refuse=refuse)
    fanout = fanout_over([refusing.url], breakers, metrics, wired, batch_size=20)
    u = users(localnet, 60)
    first = await fanout.send_many([Outgoing(bytes(tx)) for tx in u.txs[:40]])
    for d in first:  # send_many returns once written; the refusal comes with the answers
        assert isinstance(d, Dispatch), d
        assert (await d.settled())["rpc"].outcome == "accepted"
    second = await fanout.send_many([Outgoing(bytes(tx)) for tx in u.txs[40:]])
    for d in second:
        assert isinstance(d, Dispatch), d
        assert (await d.settled())["rpc"].outcome == "accepted"
    # both chunks of the first call were tried as batches (they went out together), the next
    # call's chunk went straight to single requests: the refusal is remembered
    assert refusing.arrays == 2
    assert refusing.singles == 60
    assert_landed_once(localnet, u, range(60))
    await fanout.close()


async def test_per_call_errors_are_mapped_to_their_own_transaction(
    localnet: Localnet,
    breakers: BreakerRegistry,
    metrics: Metrics,
    wired: aiohttp.ClientSession,
    front: Callable[..., Any],
) -> None:
    u = users(localnet, 30)
    bad = sorted(random.Random(3).sample(range(30), 7))
    errors = {
        str(u.txs[k].signatures[0]): {"code": -32002, "message": f"simulation failed #{k}"}
        for k in bad
    }
    provider: Front = await front(fail=errors)
    fanout = fanout_over([provider.url], breakers, metrics, wired, batch_size=30)
    out = await fanout.send_many([Outgoing(bytes(tx)) for tx in u.txs])
    for k, d in enumerate(out):  # written: the answers come after send_many returned
        assert isinstance(d, Dispatch), (k, d)
        if k in bad:
            with pytest.raises(RpcError) as refused:
                await d.accepted()
            assert f"simulation failed #{k}" in refused.value.message
            assert d.signature in refused.value.message
            assert (await d.settled())["rpc"].outcome == "rejected"
        else:
            assert (await d.accepted()).reference == str(u.txs[k].signatures[0])
    assert provider.arrays == 1  # one batch, answered in reverse order
    good = [k for k in range(30) if k not in bad]
    assert_landed_once(localnet, u, good)
    for k in bad:
        assert localnet.cluster.get_balance(u.to[k]) == 0
    await fanout.close()


async def test_block_engines_get_one_bundle_per_users_transaction_never_a_shared_one(
    localnet: Localnet, breakers: BreakerRegistry, metrics: Metrics, wired: aiohttp.ClientSession
) -> None:
    """A bundle is all-or-nothing: one user's failing buy would sink every other user's in it,
    so each tipped transaction is its own bundle (and the RPC endpoints get the batch)."""
    assert localnet.urls is not None
    rpc = EndpointConfig(name="rpc0", url=localnet.urls.rpc["helius"]["http"], rate_per_s=1e3)
    pool = RpcPool([rpc], breakers, metrics, wired, default_timeout_s=5.0)
    engine = JitoClient("ny", jt.engine_url(localnet), wired)
    fanout = RelayFanout(pool, [engine], breakers, metrics, timeout_s=5.0)
    payers = [jt.funded(localnet, SOL // 10) for _ in range(6)]
    to = [Pubkey.new_unique() for _ in payers]
    blockhash = localnet.cluster.latest_blockhash()
    txs = [
        signed_transfer(p, t, AMOUNT, blockhash, tip=1_000) for p, t in zip(payers, to, strict=True)
    ]
    out = await fanout.send_many(
        [Outgoing(bytes(tx), mev_protect=k % 2 == 0) for k, tx in enumerate(txs)]
    )
    for k, d in enumerate(out):
        assert isinstance(d, Dispatch), d
        results = await d.settled()
        assert results["jito:ny"].outcome == "accepted"
        assert results["jito:ny"].reference == bundle_id([txs[k]])  # a one-transaction bundle
        assert ("rpc" in results) is (k % 2 == 1)  # MEV protection: never the RPC
    assert localnet.jito.requests["sendBundle"] == 6
    localnet.cluster.advance_slots(2)
    for t in to:
        assert localnet.cluster.get_balance(t) == AMOUNT
    await fanout.close()
