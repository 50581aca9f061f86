"""The issue's oracle: the official Node client (@triton-one/yellowstone-grpc, tests/oracle/
geyser_subscribe.js) and OUR ``GeyserListener`` subscribe to localnet's Yellowstone server with
the very same filters (the listener's own ``subscribe_request``) and, over a scripted pump.fun
sequence (a create, a buy, a sell, on a watched bonding curve), receive the same transactions
(signatures) and the same account writes."""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict
from solders.keypair import Keypair

from localnet.testing import running_localnet
from sniper_bot.detection.geyser import AccountUpdate, GeyserConfig, GeyserListener
from sniper_bot.domain.launch import CurveUpdate, LaunchEvent
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience.backoff import Backoff

ORACLE = Path(__file__).resolve().parents[1] / "oracle"
SOL = 1_000_000_000


def _node_or_skip() -> None:
    if shutil.which("node") is None or not (ORACLE / "node_modules/@triton-one").is_dir():
        if os.environ.get("CI"):
            pytest.fail("node or tests/oracle/node_modules missing")
        pytest.skip("node or tests/oracle/node_modules missing (make the .stamp there)")


def _js_request(listener: GeyserListener) -> dict[str, Any]:
    """The listener's SubscribeRequest in the client's JS shape (camelCase, enums as numbers,
    64-bit integers as numbers)."""
    request = MessageToDict(listener.subscribe_request(None), use_integers_for_enums=True)
    for account_filter in request.get("accounts", {}).values():
        for f in account_filter.get("filters", []):
            if "datasize" in f:
                f["datasize"] = int(f["datasize"])
    return request


async def _lines(proc: asyncio.subprocess.Process) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    assert proc.stdout is not None
    while True:
        raw = await asyncio.wait_for(proc.stdout.readline(), 60)
        if not raw:
            err = await proc.stderr.read() if proc.stderr else b""
            raise AssertionError(f"oracle exited early: {err.decode()[-2000:]}")
        line = json.loads(raw)
        out.append(line)
        if line["event"] in ("done", "error", "ended", "timeout"):
            return out


async def test_official_client_and_our_listener_receive_the_same_updates() -> None:
    _node_or_skip()
    async with running_localnet(seed=33) as net:
        assert net.urls is not None
        g = net.urls.geyser["geyser"]
        cluster = net.cluster
        mint_kp, creator, trader = Keypair(), Keypair(), Keypair()
        for kp in (creator, trader):
            cluster.airdrop(kp.pubkey(), 10 * SOL)
        launches: list[LaunchEvent] = []
        curves: list[CurveUpdate] = []
        accounts: list[AccountUpdate] = []
        fast = Backoff(base_s=0.01, factor=2.0, max_s=0.05, jitter=0.0)
        listener = GeyserListener(
            GeyserConfig(g["url"], g["x_token"], backoff=fast), Metrics(),
            on_curve=curves.append, on_account=accounts.append, rng=random.Random(3),
        )  # fmt: skip
        (curve,) = listener.watch_positions([str(mint_kp.pubkey())])

        async def sink(event: LaunchEvent) -> None:
            launches.append(event)

        ours = asyncio.create_task(listener.run(sink))
        stop_slot = cluster.slot + 2
        proc = await asyncio.create_subprocess_exec(
            "node", str(ORACLE / "geyser_subscribe.js"), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "NODE_NO_WARNINGS": "1"},
        )  # fmt: skip
        try:
            assert proc.stdin is not None
            proc.stdin.write(json.dumps({
                "endpoint": g["url"], "x_token": g["x_token"], "request": _js_request(listener),
                "count": 10_000, "until_slot": stop_slot, "timeout_ms": 30_000,
            }).encode())  # fmt: skip
            proc.stdin.close()
            assert proc.stdout is not None
            first = json.loads(await asyncio.wait_for(proc.stdout.readline(), 60))
            assert first["event"] == "subscribed", first
            for _ in range(1000):  # both subscriptions registered on the server
                if len(net.geyser_feed.subscriptions) >= 2:
                    break
                await asyncio.sleep(0.01)
            assert len(net.geyser_feed.subscriptions) >= 2, "our listener never subscribed"

            pad = net.launchpad
            done = pad.launch(creator, name="Oracle Coin", symbol="ORCL", mint=mint_kp)
            buy = pad.buy(done.mint, trader, lamports=SOL // 10)
            sell = pad.sell(done.mint, trader, tokens=pad.quote_buy(done.mint, SOL // 20))
            cluster.advance_slots(1)
            cluster.advance_slots(1)
            lines = await _lines(proc)
            assert lines[-1]["event"] == "done", lines[-3:]
            node = [u for u in lines if u["event"] == "update"]
            for _ in range(1000):  # our stream, in order too: drained once it told stop_slot
                if listener.last_slot is not None and listener.last_slot >= stop_slot:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)
        finally:
            ours.cancel()
            await asyncio.gather(ours, return_exceptions=True)
            if proc.returncode is None:
                proc.kill()
            await proc.wait()

    node_txs = {u["signature"] for u in node if u["kind"] == "transaction"}
    our_txs = {e.signature for e in launches} | {c.signature for c in curves if c.signature}
    assert {done.create_signature, buy, sell} <= node_txs
    assert our_txs == node_txs, (sorted(our_txs ^ node_txs), node_txs)
    node_writes = [(u["pubkey"], u["slot"], u["writeVersion"]) for u in node
                   if u["kind"] == "account" and "positions" in u["filters"]]  # fmt: skip
    our_writes = [(a.pubkey, a.slot, a.write_version) for a in accounts]
    assert node_writes, "the official client saw no write of the watched curve"
    assert {w[0] for w in node_writes} == {curve}
    assert our_writes == node_writes
    assert [e.mint for e in launches] == [str(mint_kp.pubkey())]
