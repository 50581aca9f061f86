"""Notification decode cost per event, Yellowstone gRPC vs WebSocket logs, and first-seen gap.

Run: .venv/bin/python bench/bench_geyser_decode.py [--n 300] [--launches 20]

Decode: `--n` real pump.fun create_v2 + dev-buy transactions on a bare localnet cluster, each as
both feeds deliver it: the WebSocket `logsNotification` frame (JSON text -> `json.loads` ->
`PumpFunListener.decode`) and the Geyser `SubscribeUpdate` (protobuf bytes, localnet's server's
converter -> `FromString` -> `GeyserListener.decode`, with logs and with logs absent: instructions
only). Wire parse included on both sides. Reported: µs per event, and the ratio gRPC / WS of the
same run (comparable across runs; absolute µs are not on a shared box).
Gap: `--launches` creates on a running localnet with both feeds under one `LaunchDetector`;
which feed saw each mint first (`launch_first_seen_total{source}`) and the mean gap of the other.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from typing import Any

import aiohttp
from solders.compute_budget import set_compute_unit_limit
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.transaction import VersionedTransaction

from localnet import pump
from localnet.cluster import Cluster
from localnet.geyser.convert import transaction_info
from localnet.market import instructions as tix
from localnet.pump.launchpad import PumpLaunchpad, create_v2_instruction, trade_v2_instruction
from localnet.pump.state import BUYBACK_FEE_RECIPIENTS, FEE_RECIPIENTS
from localnet.testing import running_localnet
from sniper_bot.chain.endpoints import EndpointConfig
from sniper_bot.chain.ws import Notification, SubscriptionManager
from sniper_bot.detection import LaunchDetector, PumpFunListener
from sniper_bot.detection.geyser import GeyserConfig, GeyserListener
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience.backoff import Backoff
from yellowstone_proto import geyser_pb2 as pb

SOL = 1_000_000_000


def _transactions(n: int) -> list[tuple[str, bytes, bytes]]:
    cluster = Cluster(seed=5, slot_ms=None)
    pump.install(cluster)
    out = []
    for i in range(n):
        creator, mint = Keypair(), Keypair()
        user = creator.pubkey()
        cluster.airdrop(user, 20 * SOL)
        ixs = [set_compute_unit_limit(600_000),
               create_v2_instruction(mint.pubkey(), user, user, f"Coin {i}", f"C{i}",
                                     "https://x.invalid/c.json"),
               tix.create_associated_token_account_idempotent(user, user, mint.pubkey(),
                                                              tix.TOKEN_2022_PROGRAM_ID),
               trade_v2_instruction("buy", mint.pubkey(), user, user, 10**13, 5 * SOL,
                                    FEE_RECIPIENTS[0], BUYBACK_FEE_RECIPIENTS[0])]  # fmt: skip
        msg = MessageV0.try_compile(user, ixs, [], cluster.latest_blockhash())
        outcome = cluster.send_transaction(VersionedTransaction(msg, [creator, mint]))
        assert outcome.err is None, outcome.logs
        frame = json.dumps(
            {
                "jsonrpc": "2.0",
                "method": "logsNotification",
                "params": {
                    "subscription": 1,
                    "result": {
                        "context": {"slot": outcome.slot},
                        "value": {
                            "signature": str(outcome.signature),
                            "err": None,
                            "logs": list(outcome.logs),
                        },
                    },
                },
            }
        )
        info = transaction_info(outcome, 0, ([], []))
        full = pb.SubscribeUpdate(
            filters=["pumpfun"],
            transaction=pb.SubscribeUpdateTransaction(transaction=info, slot=outcome.slot),
        )
        bare = pb.SubscribeUpdate()
        bare.CopyFrom(full)
        del bare.transaction.transaction.meta.log_messages[:]
        bare.transaction.transaction.meta.log_messages_none = True
        out.append((frame, full.SerializeToString(), bare.SerializeToString()))  # fmt: skip
    return out


def _ws(frames: list[str]) -> float:
    listener = PumpFunListener()
    started = time.perf_counter()
    for frame in frames:
        result = json.loads(frame)["params"]["result"]
        note = Notification("launch:pumpfun", "logsNotification", "helius",
                            result["context"]["slot"], result["value"])  # fmt: skip
        assert listener.decode(note, 0.0) is not None
    return (time.perf_counter() - started) / len(frames) * 1e6


def _grpc(updates: list[bytes]) -> float:
    listener = GeyserListener(GeyserConfig("http://127.0.0.1:1"), Metrics())
    started = time.perf_counter()
    for raw in updates:
        decoded = listener.decode(pb.SubscribeUpdate.FromString(raw), 0.0)
        assert decoded is not None
        assert decoded.launches
    return (time.perf_counter() - started) / len(updates) * 1e6


async def _gap(launches: int) -> dict[str, Any]:
    fast = Backoff(base_s=0.01, factor=2.0, max_s=0.05, jitter=0.0)
    async with running_localnet(seed=9, slot_ms=20) as net, aiohttp.ClientSession() as session:
        assert net.urls is not None
        metrics = Metrics()
        rpc, g = net.urls.rpc["helius"], net.urls.geyser["geyser"]
        ws = [EndpointConfig(name="helius", url=rpc["http"], ws_url=rpc["ws"])]
        manager = SubscriptionManager(ws, metrics, session, redundancy=1, backoff=fast,
                                      rng=random.Random(1))  # fmt: skip
        geyser = GeyserListener(GeyserConfig(g["url"], g["x_token"], backoff=fast), metrics)
        detector = LaunchDetector(manager, [PumpFunListener()], metrics, feeds=[geyser])
        seen: list[str] = []

        async def sink(event: Any) -> None:
            seen.append(event.mint)

        task = asyncio.create_task(detector.run(sink))
        await asyncio.wait_for(geyser.connected.wait(), 10)
        while not net.cluster.hub:  # noqa: ASYNC110 - the WS subscription lives in the server
            await asyncio.sleep(0.01)
        pad = PumpLaunchpad(net.cluster, seed=3)
        value = metrics.registry.get_sample_value
        for i in range(launches):
            creator = Keypair()
            net.cluster.airdrop(creator.pubkey(), 5 * SOL)
            pad.launch(creator, name=f"Gap {i}", symbol=f"G{i}")
            await asyncio.sleep(0.03)
        deadline = time.monotonic() + 10

        def gaps() -> float:
            return sum(
                value("launch_first_seen_gap_seconds_count", {"source": s}) or 0
                for s in ("geyser", "websocket")
            )

        while gaps() < launches and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        out: dict[str, Any] = {}
        for s in ("geyser", "websocket"):
            first = value("launch_first_seen_total", {"source": s}) or 0
            count = value("launch_first_seen_gap_seconds_count", {"source": s}) or 0
            total = value("launch_first_seen_gap_seconds_sum", {"source": s}) or 0.0
            out[s] = (int(first), int(count), total / count * 1e3 if count else None)
        return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--launches", type=int, default=20)
    args = parser.parse_args()
    txs = _transactions(args.n)
    frames = [t[0] for t in txs]
    full, bare = [t[1] for t in txs], [t[2] for t in txs]
    _ws(frames[:20]), _grpc(full[:20])  # warm up
    ws, grpc_logs, grpc_bare = _ws(frames), _grpc(full), _grpc(bare)
    print(f"decode per event ({args.n} create+dev-buy transactions, wire parse included):")
    print(f"  websocket logsNotification (json + logs)   {ws:8.1f} µs")
    for label, cost in (("logs present", grpc_logs), ("instructions only", grpc_bare)):
        print(f"  geyser SubscribeUpdate, {label:18s}  {cost:8.1f} µs  ratio {cost / ws:.2f}x")
    gap = asyncio.run(_gap(args.launches))
    print(f"first seen on localnet ({args.launches} launches, both feeds in one detector):")
    for source, (first, count, mean_ms) in gap.items():
        shown = "-" if mean_ms is None else f"{mean_ms:.2f} ms"
        print(f"  {source:10s} first {first:3d}   seen later {count:3d} times, mean gap {shown}")


if __name__ == "__main__":
    main()
