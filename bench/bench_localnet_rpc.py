"""Throughput of the localnet RPC server on loopback.

Targets: getSlot >= 2,000 requests/s, sendTransaction >= 500/s on the 2-core machine.

Starts `python -m localnet` in a separate process (400 ms slots, signature verification on), clears
the fault profile of one endpoint, then drives it with aiohttp at a fixed concurrency:

    .venv/bin/python bench/bench_localnet_rpc.py [--requests 5000] [--concurrency 64]

sendTransaction runs with preflight (simulation) on, like a default client. The client speaks
HTTP/1.1 on bare asyncio streams so that it costs far less CPU than the server it measures.
Measured 2026-11 on the shared 2-core box (load average ~4 from other work):
getSlot 4,197 req/s, sendTransaction 1,341 tx/s at concurrency 32.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

ROOT = Path(__file__).resolve().parents[1]


async def start_localnet(json_path: Path) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "localnet",
        "--json",
        str(json_path),
        "--slot-ms",
        "400",
        "--no-scenario",  # measure the RPC server, not the launches of the default scenario
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    for _ in range(600):
        if os.path.exists(json_path):  # noqa: ASYNC240 - a stat per 50 ms poll
            return proc
        await asyncio.sleep(0.05)
    proc.kill()
    raise RuntimeError("localnet did not start within 30 s")


async def _raw_worker(host: str, port: int, bodies: Iterator[bytes]) -> int:
    """One keep-alive HTTP/1.1 connection on bare asyncio streams (a client far lighter than the
    server, so the number measures the server)."""
    reader, writer = await asyncio.open_connection(host, port)
    errors = 0
    try:
        for body in bodies:
            head = (
                f"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            writer.write(head + body)
            header = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in header.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            reply = await reader.readexactly(length)
            if not header.startswith(b"HTTP/1.1 200") or b'"error"' in reply:
                errors += 1
    finally:
        writer.close()
    return errors


async def drive(url: str, bodies: list[bytes], concurrency: int) -> tuple[float, int]:
    """Send every body over `concurrency` connections; returns (seconds, error replies)."""
    parsed = urlsplit(url)
    shared = iter(bodies)
    started = time.perf_counter()
    errors = await asyncio.gather(
        *(
            _raw_worker(parsed.hostname or "127.0.0.1", parsed.port or 80, shared)
            for _ in range(concurrency)
        )
    )
    return time.perf_counter() - started, sum(errors)


def rpc(method: str, params: list[Any], request_id: int) -> bytes:
    return json.dumps(
        {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
    ).encode()


def signed_transfers(payer: Keypair, to: Keypair, blockhash: Hash, n: int) -> list[bytes]:
    out = []
    for i in range(n):
        ix = transfer(
            TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to.pubkey(), lamports=1 + i)
        )
        tx = VersionedTransaction(
            MessageV0.try_compile(payer.pubkey(), [ix], [], blockhash), [payer]
        )
        encoded = base64.b64encode(bytes(tx)).decode()
        out.append(rpc("sendTransaction", [encoded, {"encoding": "base64"}], i))
    return out


async def main(requests: int, concurrency: int, report: Callable[[str], None]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        proc = await start_localnet(Path(tmp) / "localnet.json")
        try:
            urls = json.loads((Path(tmp) / "localnet.json").read_text())
            url = urls["rpc"]["helius"]["http"]
            async with aiohttp.ClientSession() as session:
                async with session.put(f"{urls['control']}/endpoints/helius/faults", json={}) as r:
                    r.raise_for_status()
                payer, to = Keypair(), Keypair()
                for who in (payer, to):
                    body = {"pubkey": str(who.pubkey()), "lamports": 10**12}
                    async with session.post(f"{urls['control']}/airdrop", json=body) as r:
                        r.raise_for_status()
                results: dict[str, float] = {}
                slot_bodies = [rpc("getSlot", [], i) for i in range(requests)]
                await drive(url, slot_bodies[:200], concurrency)  # warm up
                seconds, errors = await drive(url, slot_bodies, concurrency)
                results["getSlot_rps"] = requests / seconds
                report(f"getSlot         {requests / seconds:8.0f} req/s  ({errors} errors)")
                latest = rpc("getLatestBlockhash", [], 0)
                async with session.post(
                    url, data=latest, headers={"Content-Type": "application/json"}
                ) as r:
                    blockhash = Hash.from_string((await r.json())["result"]["value"]["blockhash"])
                tx_count = min(requests, 3000)
                tx_bodies = signed_transfers(payer, to, blockhash, tx_count)
                seconds, errors = await drive(url, tx_bodies, concurrency)
                results["sendTransaction_tps"] = tx_count / seconds
                report(f"sendTransaction {tx_count / seconds:8.0f} tx/s   ({errors} errors)")
                return results
        finally:
            proc.send_signal(signal.SIGINT)
            await proc.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.concurrency, print))
