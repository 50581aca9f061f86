"""Throughput of transaction intake with block building, and of the Jito block engine.

Starts `python -m localnet` in its own process (400 ms slots, signature verification on, block
building on, no scenario), then, in the same run, drives on loopback at a fixed concurrency:

- getSlot on the RPC endpoint (the baseline every ratio is against),
- sendTransaction on the RPC endpoint (preflight on; queued for the slot's block),
- sendTransaction on the block engine (`/api/v1/transactions`, no preflight, as Jito's proxy),
- sendBundle on the block engine (3 transfers + a tip per bundle),

then waits for the blocks and checks that every transaction and bundle landed.

    .venv/bin/python bench/bench_jito.py [--transactions 2000] [--bundles 500] [--concurrency 32]
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
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

ROOT = Path(__file__).resolve().parents[1]
TIP_ACCOUNT = Pubkey.from_string("96gYZGLnJYVFmbjzopPSU6QiEV5fGqZNyN9nmNhvrZU5")


async def start_localnet(json_path: Path) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "localnet",
        "--json",
        str(json_path),
        "--slot-ms",
        "400",
        "--no-scenario",
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


async def _worker(host: str, port: int, path: str, bodies: Iterator[bytes]) -> int:
    """One keep-alive HTTP/1.1 connection on bare asyncio streams (lighter than the server)."""
    reader, writer = await asyncio.open_connection(host, port)
    errors = 0
    try:
        for body in bodies:
            head = (
                f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
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
    parsed = urlsplit(url)
    shared = iter(bodies)
    host, port, path = parsed.hostname or "127.0.0.1", parsed.port or 80, parsed.path or "/"
    started = time.perf_counter()
    errors = await asyncio.gather(*(_worker(host, port, path, shared) for _ in range(concurrency)))
    return time.perf_counter() - started, sum(errors)


def rpc(method: str, params: list[Any], request_id: int = 1) -> bytes:
    body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
    return json.dumps(body).encode()


def transfer_tx(payer: Keypair, to: Pubkey, lamports: int, blockhash: Hash) -> VersionedTransaction:
    ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=lamports))
    return VersionedTransaction(MessageV0.try_compile(payer.pubkey(), [ix], [], blockhash), [payer])


def b64(tx: VersionedTransaction) -> str:
    return base64.b64encode(bytes(tx)).decode()


async def post(session: aiohttp.ClientSession, url: str, body: bytes) -> Any:
    async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as r:
        return await r.json()


async def main(
    transactions: int, bundles: int, concurrency: int, report: Callable[[str], None]
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        proc = await start_localnet(Path(tmp) / "localnet.json")
        try:
            urls = json.loads((Path(tmp) / "localnet.json").read_text())
            return await _run(urls, transactions, bundles, concurrency, report)
        finally:
            proc.send_signal(signal.SIGINT)
            await proc.wait()


async def _run(
    urls: dict[str, Any],
    transactions: int,
    bundles: int,
    concurrency: int,
    report: Callable[[str], None],
) -> dict[str, float]:
    rpc_url, jito, control = urls["rpc"]["helius"]["http"], urls["jito"], urls["control"]
    async with aiohttp.ClientSession() as session:
        async with session.put(f"{control}/endpoints/helius/faults", json={}) as r:
            r.raise_for_status()
        payer, to = Keypair(), Keypair()
        for who in (payer, to):
            body = {"pubkey": str(who.pubkey()), "lamports": 10**12}
            async with session.post(f"{control}/airdrop", json=body) as r:
                r.raise_for_status()
        latest = await post(
            session, rpc_url, rpc("getLatestBlockhash", [{"commitment": "processed"}])
        )
        blockhash = Hash.from_string(latest["result"]["value"]["blockhash"])
        amounts = iter(range(1, 10**9))  # every transaction distinct

        def tx() -> VersionedTransaction:
            return transfer_tx(payer, to.pubkey(), next(amounts), blockhash)

        results: dict[str, float] = {}
        slots = [rpc("getSlot", [], i) for i in range(transactions)]
        await drive(rpc_url, slots[:200], concurrency)  # warm up
        seconds, errors = await drive(rpc_url, slots, concurrency)
        base = transactions / seconds
        results["getSlot_rps"] = base
        report(f"getSlot (RPC, baseline)      {base:8.0f} req/s      ({errors} errors)")

        rpc_txs = [tx() for _ in range(transactions)]
        bodies = [
            rpc("sendTransaction", [b64(t), {"encoding": "base64"}], i)
            for i, t in enumerate(rpc_txs)
        ]
        seconds, errors = await drive(rpc_url, bodies, concurrency)
        results["rpc_sendTransaction_tps"] = transactions / seconds
        report(
            f"sendTransaction (RPC)        {transactions / seconds:8.0f} tx/s       "
            f"({errors} errors)  {transactions / seconds / base:.2f}x getSlot"
        )

        jito_txs = [tx() for _ in range(transactions)]
        bodies = [
            rpc("sendTransaction", [b64(t), {"encoding": "base64"}], i)
            for i, t in enumerate(jito_txs)
        ]
        seconds, errors = await drive(f"{jito}/api/v1/transactions", bodies, concurrency)
        results["jito_sendTransaction_tps"] = transactions / seconds
        report(
            f"sendTransaction (Jito)       {transactions / seconds:8.0f} tx/s       "
            f"({errors} errors)  {transactions / seconds / base:.2f}x getSlot"
        )

        bundle_txs = []
        for _ in range(bundles):
            tip = transfer(
                TransferParams(
                    from_pubkey=payer.pubkey(),
                    to_pubkey=TIP_ACCOUNT,
                    lamports=1_000 + next(amounts) % 1_000,
                )
            )
            tipped = VersionedTransaction(
                MessageV0.try_compile(payer.pubkey(), [tip], [], blockhash), [payer]
            )
            bundle_txs.append([tx(), tx(), tipped])
        bodies = [
            rpc("sendBundle", [[b64(t) for t in b], {"encoding": "base64"}], i)
            for i, b in enumerate(bundle_txs)
        ]
        seconds, errors = await drive(f"{jito}/api/v1/bundles", bodies, concurrency)
        results["jito_sendBundle_bps"] = bundles / seconds
        report(
            f"sendBundle (Jito, 3 tx)      {bundles / seconds:8.0f} bundles/s  "
            f"({errors} errors)  {bundles / seconds / base:.2f}x getSlot"
        )

        await asyncio.sleep(1.2)  # the blocks they were queued for
        sigs = [str(t.signatures[0]) for t in (*rpc_txs, *jito_txs)]
        sigs += [str(t.signatures[0]) for b in bundle_txs for t in b]
        landed = 0
        for i in range(0, len(sigs), 256):
            reply = await post(session, rpc_url, rpc("getSignatureStatuses", [sigs[i : i + 256]]))
            landed += sum(1 for s in reply["result"]["value"] if s is not None and s["err"] is None)
        report(f"landed: {landed} of {len(sigs)} transactions")
        async with session.get(f"{control}/jito") as r:
            state = await r.json()
        report(f"bundles: {state['bundles']}")
        results["landed_fraction"] = landed / len(sigs)
        return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transactions", type=int, default=2000)
    parser.add_argument("--bundles", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    out = asyncio.run(main(args.transactions, args.bundles, args.concurrency, print))
    sys.exit(0 if out["landed_fraction"] == 1.0 else 1)
