"""Localnet's Geyser endpoint from a Python grpc.aio client (and the official Node client)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from localnet.node import GeyserConfig, Localnet
from localnet.testing import running_localnet
from yellowstone_proto import geyser_pb2 as pb
from yellowstone_proto import geyser_pb2_grpc as pb_grpc

ORACLE_DIR = Path(__file__).resolve().parents[2] / "oracle"
TOKEN = "test-token"
SOL = 1_000_000_000
READ_TIMEOUT_S = 10.0


def sol_transfer(
    payer: Keypair, to: Pubkey, lamports: int, blockhash: Hash
) -> VersionedTransaction:
    ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=lamports))
    return VersionedTransaction(MessageV0.try_compile(payer.pubkey(), [ix], [], blockhash), [payer])


class Geyser:
    """A started localnet with one Geyser endpoint, and grpc.aio clients for it."""

    def __init__(self, net: Localnet) -> None:
        self.net = net
        self.cluster = net.cluster
        self.endpoint = net.geyser["geyser"]
        self.url = self.endpoint.url
        self._channels: list[grpc.aio.Channel] = []

    def stub(self) -> pb_grpc.GeyserStub:
        channel = grpc.aio.insecure_channel(self.url.removeprefix("http://"))
        self._channels.append(channel)
        return pb_grpc.GeyserStub(channel)

    async def subscribe(self, request: pb.SubscribeRequest, token: str | None = TOKEN) -> Any:
        """An open Subscribe call whose filters the server has applied."""
        before = len(self.net.geyser_feed.subscriptions)
        metadata = (("x-token", token),) if token is not None else ()
        call = self.stub().Subscribe(metadata=metadata)
        await call.write(request)
        await self.wait_subscriptions(before + 1)
        return call

    async def wait_subscriptions(self, n: int) -> None:
        for _ in range(500):
            if len(self.net.geyser_feed.subscriptions) >= n:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{n} subscriptions never registered")

    def funded(self, lamports: int = 10 * SOL) -> Keypair:
        kp = Keypair()
        self.cluster.airdrop(kp.pubkey(), lamports)
        return kp

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close()


async def read_updates(call: Any, n: int, *, keep_pings: bool = False) -> list[pb.SubscribeUpdate]:
    """The next `n` updates (pings/pongs skipped unless `keep_pings`)."""
    out: list[pb.SubscribeUpdate] = []
    while len(out) < n:
        update = await asyncio.wait_for(call.read(), READ_TIMEOUT_S)
        assert update is not grpc.aio.EOF, f"stream ended after {out}"
        if keep_pings or update.WhichOneof("update_oneof") not in ("ping", "pong"):
            out.append(update)
    return out


@pytest.fixture
async def geyser() -> AsyncIterator[Geyser]:
    async with running_localnet(geyser=(GeyserConfig("geyser", x_token=TOKEN),)) as net:
        g = Geyser(net)
        try:
            yield g
        finally:
            await g.close()


class NodeSubscriber:
    """tests/oracle/geyser_subscribe.js running: the official client's JSON lines."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[dict[str, Any]] = []

    async def next_line(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        raw = await asyncio.wait_for(self.proc.stdout.readline(), 60)
        if not raw:
            err = await self.proc.stderr.read() if self.proc.stderr else b""
            raise AssertionError(f"oracle exited: {err.decode()[-3000:]}")
        line: dict[str, Any] = json.loads(raw)
        self.lines.append(line)
        return line

    async def until(self, *events: str) -> dict[str, Any]:
        while True:
            line = await self.next_line()
            if line["event"] in events:
                return line

    async def close(self) -> None:
        """Reap the process (it exits by itself once done; killed if still running)."""
        if self.proc.returncode is None:
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                await pipe.read()

    def updates(self) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["event"] == "update"]


def ensure_oracle() -> None:
    """The official client from tests/oracle's lockfile (`npm ci` once when it is missing);
    without node/npm the test is skipped, except under CI."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing} not installed")
        pytest.skip(f"{missing} not installed")
    if (ORACLE_DIR / "node_modules" / "@triton-one" / "yellowstone-grpc").is_dir():
        return
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"], cwd=ORACLE_DIR, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.fail(f"npm ci failed in {ORACLE_DIR}: {done.stderr[-2000:]}")


async def _start_node_subscriber(payload: dict[str, Any]) -> NodeSubscriber:
    ensure_oracle()
    assert shutil.which("node")
    proc = await asyncio.create_subprocess_exec(
        "node", str(ORACLE_DIR / "geyser_subscribe.js"),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )  # fmt: skip
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(payload).encode())
    proc.stdin.close()
    return NodeSubscriber(proc)


NodeStarter = Callable[[dict[str, Any]], Awaitable[NodeSubscriber]]


@pytest.fixture
async def node_subscriber() -> AsyncIterator[NodeStarter]:
    """Starts geyser_subscribe.js runs; each is reaped at teardown."""
    started: list[NodeSubscriber] = []

    async def start(payload: dict[str, Any]) -> NodeSubscriber:
        sub = await _start_node_subscriber(payload)
        started.append(sub)
        return sub

    yield start
    for sub in started:
        await sub.close()
