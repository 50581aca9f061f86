"""JitoClient against localnet's real block engine (JSON-RPC over HTTP, LiteSVM landing), against a
capture server at the process boundary, and against Jito's own JS client (jito-js-rpc, the oracle
for the wire format: same paths, query, envelope and params for the same calls)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from localnet.faults import FaultProfile
from localnet.jito import TIP_ACCOUNTS, bundle_id
from localnet.node import Localnet
from localnet.testing import running_localnet
from sniper_bot.chain.errors import RpcRateLimited, RpcTimeout, RpcTransportError
from sniper_bot.chain.jito import (
    JITO_TIP_ACCOUNTS,
    BundleRejected,
    JitoClient,
    TipFloorCache,
    parse_tip_floor,
)
from sniper_bot.chain.relays import wire_trace_config
from sniper_bot.errors import ConfigError, PermanentError, TemporaryError

SOL = 1_000_000_000
ORACLE_DIR = Path(__file__).resolve().parents[1] / "oracle"
UUID = "3f2b8c1e-7d4a-4e9b-a1c6-5d8e2f0b9a7c"


# -- shared with test_relays ---------------------------------------------------------------------
@pytest.fixture
async def localnet() -> AsyncIterator[Localnet]:
    async with running_localnet(seed=41) as net:
        yield net


@pytest.fixture
async def wired() -> AsyncIterator[aiohttp.ClientSession]:
    """A session with the on-the-wire hook, as the composition root builds it."""
    async with aiohttp.ClientSession(trace_configs=[wire_trace_config()]) as s:
        yield s


def engine_url(net: Localnet) -> str:
    assert net.urls is not None
    return net.urls.jito


def funded(net: Localnet, lamports: int = 2 * SOL) -> Keypair:
    wallet = Keypair()
    net.cluster.airdrop(wallet.pubkey(), lamports)
    return wallet


def signed_transfer(
    payer: Keypair, to: Pubkey, lamports: int, blockhash: Hash, *, tip: int = 0, tip_index: int = 0
) -> VersionedTransaction:
    ixs = [transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=lamports))]
    if tip:
        ixs.append(
            transfer(
                TransferParams(
                    from_pubkey=payer.pubkey(), to_pubkey=TIP_ACCOUNTS[tip_index], lamports=tip
                )
            )
        )
    return VersionedTransaction(MessageV0.try_compile(payer.pubkey(), ixs, [], blockhash), [payer])


@dataclass
class Capture:
    """A recording HTTP server: every request's method, path+query, headers and JSON body."""

    answers: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    status: int = 200
    delay_s: float = 0.0
    seen: list[dict[str, Any]] = field(default_factory=list)
    runner: web.AppRunner | None = None
    url: str = ""

    def methods(self) -> list[str]:
        return [r["body"].get("method") for r in self.seen if isinstance(r["body"], dict)]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body = json.loads(raw) if raw else None
        self.seen.append(
            {
                "verb": request.method,
                "path": request.path_qs,
                "headers": {k.lower(): v for k, v in request.headers.items()},
                "body": body,
            }
        )
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.status != 200:
            return web.Response(status=self.status, text="nope")
        method = body.get("method") if isinstance(body, dict) else "GET"
        answer = self.answers.get(str(method))
        result = answer(body.get("params") if isinstance(body, dict) else None) if answer else None
        if method == "GET":
            return web.json_response(result)
        return web.json_response({"jsonrpc": "2.0", "result": result, "id": body["id"]})

    async def start(self) -> Capture:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


@pytest.fixture
async def capture() -> AsyncIterator[Capture]:
    server = await Capture().start()
    yield server
    await server.stop()


# -- against localnet's block engine ---------------------------------------------------------------
async def test_a_bundle_is_sent_lands_and_reports_its_status(
    localnet: Localnet, session: aiohttp.ClientSession
) -> None:
    client = JitoClient("local", engine_url(localnet), session)
    payer, to = funded(localnet), Pubkey.new_unique()
    blockhash = localnet.cluster.latest_blockhash()
    first = signed_transfer(payer, to, SOL // 100, blockhash)
    second = signed_transfer(payer, to, SOL // 50, blockhash, tip=5_000, tip_index=2)
    identifier = await client.send_bundle([bytes(first), bytes(second)])
    assert identifier == bundle_id([first, second])
    assert await client.get_bundle_statuses([identifier]) == [None]
    [pending] = await client.get_inflight_bundle_statuses([identifier])
    assert (pending.status, pending.landed_slot) == ("Pending", None)
    localnet.cluster.advance_slots(1)
    slot = localnet.cluster.slot
    [landed] = await client.get_bundle_statuses([identifier])
    assert landed is not None
    assert (landed.slot, landed.err) == (slot, None)
    assert landed.transactions == (str(first.signatures[0]), str(second.signatures[0]))
    [inflight] = await client.get_inflight_bundle_statuses([identifier])
    assert (inflight.status, inflight.landed_slot) == ("Landed", slot)
    assert localnet.cluster.get_balance(to) == 3 * SOL // 100


async def test_a_refused_bundle_is_permanent_with_the_engines_message(
    localnet: Localnet, session: aiohttp.ClientSession
) -> None:
    client = JitoClient("local", engine_url(localnet), session)
    payer = funded(localnet)
    untipped = signed_transfer(
        payer, Pubkey.new_unique(), 1_000, localnet.cluster.latest_blockhash()
    )
    with pytest.raises(BundleRejected) as caught:
        await client.send_bundle([bytes(untipped)])
    assert isinstance(caught.value, PermanentError)
    assert "must write lock at least one tip account" in caught.value.message
    assert caught.value.code == -32602
    with pytest.raises(ValueError, match="at most 5"):
        await client.send_bundle([bytes(untipped)] * 6)
    with pytest.raises(ValueError, match="at least one"):
        await client.send_bundle([])


async def test_send_transaction_bundle_only_answers_the_signature_and_the_bundle_id(
    localnet: Localnet, session: aiohttp.ClientSession
) -> None:
    client = JitoClient("local", engine_url(localnet), session)
    payer = funded(localnet)
    tx = signed_transfer(
        payer, Pubkey.new_unique(), 1_000, localnet.cluster.latest_blockhash(), tip=2_000
    )
    signature, identifier = await client.send_transaction(bytes(tx), bundle_only=True)
    assert signature == str(tx.signatures[0])
    assert identifier == bundle_id([tx])
    plain = signed_transfer(payer, Pubkey.new_unique(), 1_000, localnet.cluster.latest_blockhash())
    assert await client.send_transaction(bytes(plain)) == (str(plain.signatures[0]), None)


async def test_engine_faults_are_temporary_and_classified(
    localnet: Localnet, session: aiohttp.ClientSession
) -> None:
    client = JitoClient("local", engine_url(localnet), session, timeout_s=0.3)
    localnet.jito.set_profile(FaultProfile(http_429_rate=1.0))
    with pytest.raises(RpcRateLimited) as limited:
        await client.get_tip_accounts()
    assert isinstance(limited.value, TemporaryError)
    localnet.jito.set_profile(FaultProfile(http_503_rate=1.0))
    with pytest.raises(RpcTransportError) as unavailable:
        await client.get_tip_accounts()
    assert unavailable.value.retryable
    assert unavailable.value.code == 503
    localnet.jito.set_profile(FaultProfile(hang_rate=1.0, hang_s=0.6))
    with pytest.raises(RpcTimeout):
        await client.get_tip_accounts()
    localnet.jito.set_profile(FaultProfile())
    assert set(await client.get_tip_accounts()) == JITO_TIP_ACCOUNTS


async def test_tip_accounts_are_cached(localnet: Localnet, session: aiohttp.ClientSession) -> None:
    client = JitoClient("local", engine_url(localnet), session)
    accounts = await client.get_tip_accounts()
    assert set(accounts) == set(TIP_ACCOUNTS)
    assert await client.get_tip_accounts() == accounts
    assert localnet.jito.requests["getTipAccounts"] == 1
    await client.get_tip_accounts(refresh=True)
    assert localnet.jito.requests["getTipAccounts"] == 2


async def test_tip_floor_from_the_engines_landed_tips(
    localnet: Localnet, session: aiohttp.ClientSession
) -> None:
    base = engine_url(localnet)
    client = JitoClient("local", base, session, tip_floor_url=f"{base}/api/v1/bundles/tip_floor")
    assert await client.get_tip_floor(75) == 1_000  # nothing landed: the engine's floor
    payer = funded(localnet, 10 * SOL)
    blockhash = localnet.cluster.latest_blockhash()
    for tip in (1_000, 2_000, 3_000, 4_000, 100_000):
        tx = signed_transfer(payer, Pubkey.new_unique(), SOL // 100, blockhash, tip=tip)
        await client.send_bundle([bytes(tx)])
    localnet.cluster.advance_slots(1)
    assert await client.get_tip_floor(50) == 3_000
    assert await client.get_tip_floor("75") == 4_000
    assert await client.get_tip_floor(99) == 100_000
    with pytest.raises(ValueError, match="unknown tip percentile"):
        await client.get_tip_floor(80)


async def test_the_tip_cache_answers_from_memory_within_the_bounds(
    localnet: Localnet, session: aiohttp.ClientSession
) -> None:
    base = engine_url(localnet)
    client = JitoClient("local", base, session, tip_floor_url=f"{base}/api/v1/bundles/tip_floor")
    cache = TipFloorCache(client, max_tip=50_000)
    assert cache.tip(percentile=95) == 1_000  # no report yet: Jito's minimum
    payer = funded(localnet, 10 * SOL)
    blockhash = localnet.cluster.latest_blockhash()
    for tip in (2_000, 4_000, 8_000, 100_000):
        tx = signed_transfer(payer, Pubkey.new_unique(), SOL // 100, blockhash, tip=tip)
        await client.send_bundle([bytes(tx)])
    localnet.cluster.advance_slots(1)
    floors = await cache.refresh()
    assert (floors["50"], floors["75"], floors["99"]) == (4_000, 8_000, 100_000)
    requests = localnet.jito.requests["tip_floor"]
    assert cache.tip(percentile=50) == 4_000
    assert cache.tip(percentile="75") == 8_000
    assert cache.tip(percentile=99) == 50_000  # capped at JITO_MAX_TIP_LAMPORTS
    assert cache.tip(fixed=20_000, percentile=99) == 20_000  # the user's fixed tip wins
    assert cache.tip(fixed=10) == 1_000
    assert localnet.jito.requests["tip_floor"] == requests  # tip() never asks the network
    localnet.jito.set_profile(FaultProfile(http_503_rate=1.0))
    with pytest.raises(RpcTransportError):
        await cache.refresh()
    assert cache.tip(percentile=75) == 8_000  # the last report stays
    with pytest.raises(ValueError, match="whole lamports"):
        cache.tip(fixed=-1)
    with pytest.raises(ValueError, match="unknown tip percentile"):
        cache.tip(percentile=60)
    with pytest.raises(ConfigError):
        TipFloorCache(client, max_tip=500)


# -- tip floor parsing (Jito's REST shape: a list of one object, values in SOL) -------------------
SAMPLE = [
    {
        "time": "2025-05-13T10:41:45Z",
        "landed_tips_25th_percentile": 0.0011,
        "landed_tips_50th_percentile": 0.005000001,
        "landed_tips_75th_percentile": 0.01555,
        "landed_tips_95th_percentile": 0.09339195639999975,
        "landed_tips_99th_percentile": 0.4846427910400001,
        "ema_landed_tips_50th_percentile": 0.005989477267191758,
        "landed_tips_1e6": 1e-06,
    }
]


@pytest.mark.parametrize(
    ("percentile", "lamports"),
    [
        (25, 1_100_000),
        (50, 5_000_001),
        ("75", 15_550_000),
        (95, 93_391_957),  # 93391956.3999... rounded up: a tip below the percentile loses
        (99, 484_642_792),
        ("ema50", 5_989_478),
    ],
)
def test_tip_floor_percentiles_become_whole_lamports(percentile: int | str, lamports: int) -> None:
    assert parse_tip_floor(SAMPLE, percentile) == lamports


def test_tip_floor_of_one_microsol_is_exactly_1000_lamports() -> None:
    assert parse_tip_floor([{"landed_tips_50th_percentile": 1e-06}], 50) == 1_000
    assert parse_tip_floor({"landed_tips_50th_percentile": 0}, 50) == 0  # a bare object too


@pytest.mark.parametrize(
    ("body", "percentile", "message"),
    [
        (SAMPLE, 80, "unknown tip percentile"),
        ([], 50, "not a non-empty array"),
        ("oops", 50, "not a non-empty array"),
        ([{"time": "x"}], 50, "has no landed_tips_50th_percentile"),
        ([{"landed_tips_50th_percentile": "0.1"}], 50, "not a number of SOL"),
        ([{"landed_tips_50th_percentile": True}], 50, "not a number of SOL"),
        ([{"landed_tips_50th_percentile": -0.1}], 50, "negative"),
        ([{"landed_tips_50th_percentile": float("nan")}], 50, "not a finite"),
    ],
)
def test_bad_tip_floor_answers_are_named(body: Any, percentile: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_tip_floor(body, percentile)


async def test_a_malformed_tip_floor_is_a_temporary_error(
    capture: Capture, session: aiohttp.ClientSession
) -> None:
    capture.answers["GET"] = lambda _p: [{"landed_tips_75th_percentile": "lots"}]
    client = JitoClient("cap", capture.url, session, tip_floor_url=f"{capture.url}/tip_floor")
    with pytest.raises(TemporaryError, match="not a number of SOL"):
        await client.get_tip_floor()
    capture.answers["GET"] = lambda _p: [{"landed_tips_50th_percentile": 2e-06}]
    assert await client.get_tip_floor(50) == 2_000
    with pytest.raises(TemporaryError, match="has no landed_tips_75th_percentile"):
        await client.get_tip_floor(75)
    capture.answers["GET"] = lambda _p: [{"time": "now"}]
    with pytest.raises(TemporaryError, match="none of the landed_tips"):
        await client.get_tip_floors()


# -- auth uuid: sent, never shown ------------------------------------------------------------------
async def test_the_uuid_is_sent_as_header_and_query_and_never_appears_in_errors(
    capture: Capture, session: aiohttp.ClientSession
) -> None:
    capture.answers["getTipAccounts"] = lambda _p: [str(k) for k in TIP_ACCOUNTS]
    client = JitoClient("cap", capture.url, session, auth_uuid=UUID)
    await client.get_tip_accounts()
    [request] = capture.seen
    assert request["path"] == f"/api/v1/bundles?uuid={UUID}"
    assert request["headers"]["x-jito-auth"] == UUID
    assert UUID not in repr(client)
    capture.status = 502
    with pytest.raises(RpcTransportError) as bad_gateway:
        await client.get_tip_accounts(refresh=True)
    await capture.stop()
    with pytest.raises(RpcTransportError) as refused:
        await client.get_tip_accounts(refresh=True)
    for exc in (bad_gateway.value, refused.value):
        assert UUID not in str(exc)
        assert UUID not in exc.user_message
        assert exc.endpoint == "cap"


def test_a_bad_engine_url_is_a_config_error(session: aiohttp.ClientSession) -> None:
    with pytest.raises(ConfigError, match="http"):
        JitoClient("x", "ftp://engine", session)
    with pytest.raises(ConfigError, match="no query"):
        JitoClient("x", "https://engine/?uuid=secret", session)
    assert JitoClient("x", "https://e.example/api/v1/", session).base_url == "https://e.example"


# -- oracle: Jito's own JavaScript client on the same capture server -------------------------------
ORACLE = r"""
const { JitoJsonRpcClient } = require("jito-js-rpc");
(async () => {
  const [url, uuid, tx, id] = process.argv.slice(1);
  const c = new JitoJsonRpcClient(url + "/api/v1", uuid);
  await c.sendBundle([[tx], { encoding: "base64" }]);
  await c.sendTxn([tx, { encoding: "base64" }], true);
  await c.sendTxn([tx, { encoding: "base64" }], false);
  await c.getBundleStatuses([[id]]);
  await c.getInFlightBundleStatuses([[id]]);
  await c.getTipAccounts();
})().catch((e) => { console.error(String(e)); process.exit(1); });
"""


def _oracle_available() -> bool:
    ok = shutil.which("node") is not None and (ORACLE_DIR / "node_modules" / "jito-js-rpc").is_dir()
    if not ok and os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail("jito-js-rpc is not installed in tests/oracle (make tests/oracle/node_modules)")
    return ok


def _comparable(request: dict[str, Any]) -> tuple[str, str, str, Any]:
    body = dict(request["body"])
    assert body.pop("id") is not None
    return request["verb"], request["path"], request["headers"]["content-type"], body


async def test_requests_match_jito_js_rpc(capture: Capture, session: aiohttp.ClientSession) -> None:
    if not _oracle_available():
        pytest.skip("node or tests/oracle/node_modules/jito-js-rpc missing")
    raw = bytes(range(7)) * 30
    tx = base64.b64encode(raw).decode()
    identifier = "ab" * 32
    capture.answers.update(
        {
            "sendBundle": lambda _p: identifier,
            "sendTransaction": lambda _p: "sig",
            "getBundleStatuses": lambda p: {"context": {"slot": 1}, "value": [None] * len(p[0])},
            "getInflightBundleStatuses": lambda p: {
                "context": {"slot": 1},
                "value": [{"bundle_id": i, "status": "Pending", "landed_slot": None} for i in p[0]],
            },
            "getTipAccounts": lambda _p: [str(k) for k in TIP_ACCOUNTS],
        }
    )
    proc = await asyncio.create_subprocess_exec(
        "node", "-e", ORACLE, capture.url, UUID, tx, identifier,
        cwd=ORACLE_DIR, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    theirs = [_comparable(r) for r in capture.seen]
    capture.seen.clear()
    client = JitoClient("cap", capture.url, session, auth_uuid=UUID)
    assert await client.send_bundle([raw]) == identifier
    await client.send_transaction(raw, bundle_only=True)
    await client.send_transaction(raw)
    await client.get_bundle_statuses([identifier])
    await client.get_inflight_bundle_statuses([identifier])
    await client.get_tip_accounts()
    ours = [_comparable(r) for r in capture.seen]
    assert len(theirs) == 6
    assert ours == theirs
    assert theirs[1][1] == f"/api/v1/transactions?bundleOnly=true&uuid={UUID}"
