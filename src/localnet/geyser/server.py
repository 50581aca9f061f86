"""One named Yellowstone gRPC (Geyser) endpoint on its own port, serving a `GeyserFeed`.

Geyser.Subscribe is a bidirectional stream: each SubscribeRequest the client writes replaces the
stream's filters (a request carrying `ping` only gets a pong: filters stay); `from_slot`
first replays what the feed still holds. The server sends a ping every `ping_interval_s`.
Unary methods: Ping, GetSlot, GetBlockHeight, GetLatestBlockhash, IsBlockhashValid, GetVersion,
SubscribeReplayInfo.
When the endpoint has an `x_token`, every call must carry it as `x-token` metadata, else
UNAUTHENTICATED. Faults (`GeyserFaults`, set at run time through the control API):
`drop_after` ends each stream with UNAVAILABLE after that many updates, `lag_ms` delays every
update and answer, `queue_limit` is how many updates may wait for a slow reader before the server
tells it (INTERNAL "lagged ...") and disconnects, `down` answers UNAVAILABLE.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, fields
from typing import Any

import grpc
import structlog
from solders.hash import Hash, ParseHashError

from localnet.cluster import BLOCKHASH_WINDOW, Cluster
from localnet.geyser.feed import DEFAULT_QUEUE_LIMIT, GeyserFeed, Subscription
from localnet.geyser.filters import DEPTH, FilterError, compile_request
from yellowstone_proto import geyser_pb2 as pb
from yellowstone_proto import geyser_pb2_grpc as pb_grpc

log = structlog.get_logger(__name__)

DEFAULT_PING_INTERVAL_S = 15.0  # Yellowstone's server pings every 15 s
VERSION = "localnet-geyser"
STOP_GRACE_S = 0.5


@dataclass(frozen=True, slots=True)
class GeyserFaults:
    drop_after: int | None = None  # updates per stream, then UNAVAILABLE
    lag_ms: float = 0.0
    queue_limit: int = DEFAULT_QUEUE_LIMIT
    down: bool = False

    def __post_init__(self) -> None:
        if self.drop_after is not None and self.drop_after < 0:
            raise ValueError("drop_after must be >= 0 or null")
        if self.lag_ms < 0:
            raise ValueError("lag_ms must be >= 0")
        if self.queue_limit < 1:
            raise ValueError("queue_limit must be >= 1")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GeyserFaults:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(
                f"unknown geyser fault fields: {sorted(unknown)}; known: {sorted(known)}"
            )
        try:
            return cls(**data)
        except TypeError as exc:
            raise ValueError(str(exc)) from exc

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _depth(request: Any) -> int:
    if request.HasField("commitment"):
        if request.commitment not in DEPTH:
            raise FilterError(f"unknown commitment {request.commitment}")
        return DEPTH[request.commitment]
    return 0  # processed, as Yellowstone


class _Stream:
    """One open Subscribe call."""

    def __init__(self, queue_limit: int) -> None:
        self.sub = Subscription(queue_limit)
        self.wake = asyncio.Event()
        self.sub.wakeup = self.wake.set
        self.error: tuple[grpc.StatusCode, str] | None = None
        self.subscribed = False

    def fail(self, code: grpc.StatusCode, message: str) -> None:
        if self.error is None:
            self.error = (code, message)
        self.wake.set()


class GeyserEndpoint(pb_grpc.GeyserServicer):
    def __init__(
        self,
        name: str,
        feed: GeyserFeed,
        *,
        x_token: str | None = None,
        faults: GeyserFaults | None = None,
        ping_interval_s: float = DEFAULT_PING_INTERVAL_S,
    ) -> None:
        self.name = name
        self.feed = feed
        self.cluster: Cluster = feed.cluster
        self.x_token = x_token
        self.faults = faults or GeyserFaults()
        self.ping_interval_s = ping_interval_s
        self.host = "127.0.0.1"
        self.port = 0
        self._server: grpc.aio.Server | None = None
        self._streams: set[_Stream] = set()
        self.calls: dict[str, int] = {}
        self.refused: dict[str, int] = {}

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        server = grpc.aio.server()
        pb_grpc.add_GeyserServicer_to_server(self, server)
        self.port = server.add_insecure_port(f"{host}:{port}")
        self.host = host
        await server.start()
        self._server = server

    async def stop(self) -> None:
        if self._server is not None:
            for stream in tuple(self._streams):
                stream.fail(grpc.StatusCode.UNAVAILABLE, "localnet geyser endpoint stopping")
            await self._server.stop(STOP_GRACE_S)
            self._server = None

    def set_faults(self, faults: GeyserFaults) -> None:
        self.faults = faults
        for stream in tuple(self._streams):
            stream.sub.queue_limit = faults.queue_limit
            if faults.down:
                stream.fail(grpc.StatusCode.UNAVAILABLE, "endpoint down (localnet fault)")

    def drop_streams(self) -> int:
        """End every open Subscribe stream with UNAVAILABLE; returns how many."""
        streams = tuple(self._streams)
        for stream in streams:
            stream.fail(grpc.StatusCode.UNAVAILABLE, "stream dropped (localnet fault)")
        return len(streams)

    def stats(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "faults": self.faults.to_json(),
            "streams": len(self._streams),
            "calls": dict(self.calls),
            "refused": dict(self.refused),
            "first_available_slot": self.feed.first_available(),
        }

    # -- the gate every call passes ------------------------------------------------------------
    async def _admit(self, method: str, context: Any) -> None:
        self.calls[method] = self.calls.get(method, 0) + 1
        if self.x_token is not None:
            metadata = dict(context.invocation_metadata() or ())
            if metadata.get("x-token") != self.x_token:
                self.refused["unauthenticated"] = self.refused.get("unauthenticated", 0) + 1
                await context.abort(grpc.StatusCode.UNAUTHENTICATED, "No valid auth token")
        if self.faults.down:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "endpoint down (localnet fault)")
        if self.faults.lag_ms:
            await asyncio.sleep(self.faults.lag_ms / 1000)

    # -- Subscribe -------------------------------------------------------------------------------
    async def _read(self, stream: _Stream, requests: Any) -> None:
        try:
            async for request in requests:
                if request.HasField("ping"):
                    pong = pb.SubscribeUpdate(pong=pb.SubscribeUpdatePong(id=request.ping.id))
                    stream.sub.queue.append(pong)
                    stream.wake.set()
                    continue  # a keepalive (clients send empty filters with it): filters stay
                try:
                    filters = compile_request(request)
                    from_slot = request.from_slot if request.HasField("from_slot") else None
                    self.feed.subscribe(stream.sub, filters, from_slot)
                    stream.subscribed = True
                except FilterError as exc:
                    stream.fail(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
                    return
        except (asyncio.CancelledError, grpc.aio.AioRpcError):
            raise
        except Exception as exc:  # the client's half closed badly: end the stream
            stream.fail(grpc.StatusCode.CANCELLED, f"request stream failed: {exc}")

    async def Subscribe(
        self, request_iterator: Any, context: Any
    ) -> AsyncIterator[pb.SubscribeUpdate]:
        await self._admit("Subscribe", context)
        # response headers now, as tonic does (grpc would hold them until the first update, and
        # clients that wait for them before writing their request would hang until a ping)
        await context.send_initial_metadata(())
        stream = _Stream(self.faults.queue_limit)
        self._streams.add(stream)
        reader = asyncio.create_task(self._read(stream, request_iterator))
        sent = 0
        loop = asyncio.get_running_loop()
        next_ping = loop.time() + self.ping_interval_s
        try:
            while True:
                if stream.error is not None:
                    break
                if stream.sub.lagged:
                    waiting = stream.sub.queue_limit
                    stream.fail(
                        grpc.StatusCode.INTERNAL,
                        f"lagged to send an update: more than {waiting} updates waiting "
                        "(the client reads too slowly); disconnected",
                    )
                    break
                if not stream.sub.queue:
                    stream.wake.clear()
                    timeout = max(0.0, next_ping - loop.time())
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stream.wake.wait(), timeout)
                    if loop.time() >= next_ping:
                        next_ping = loop.time() + self.ping_interval_s
                        stream.sub.queue.append(pb.SubscribeUpdate(ping=pb.SubscribeUpdatePing()))
                    continue
                update = stream.sub.queue.popleft()
                if self.faults.drop_after is not None and sent >= self.faults.drop_after:
                    stream.fail(
                        grpc.StatusCode.UNAVAILABLE,
                        f"stream dropped after {sent} updates (localnet fault)",
                    )
                    break
                if self.faults.lag_ms:
                    await asyncio.sleep(self.faults.lag_ms / 1000)
                yield update
                sent += 1
            if stream.error is not None:
                code, message = stream.error
                await context.abort(code, message)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            self.feed.unsubscribe(stream.sub)
            self._streams.discard(stream)

    async def SubscribePreprocessed(
        self, request_iterator: Any, context: Any
    ) -> AsyncIterator[Any]:
        await self._admit("SubscribePreprocessed", context)
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not served by localnet")
        yield  # pragma: no cover - makes this an async generator

    # -- unary -----------------------------------------------------------------------------------
    async def SubscribeReplayInfo(
        self, request: Any, context: Any
    ) -> pb.SubscribeReplayInfoResponse:
        await self._admit("SubscribeReplayInfo", context)
        first = self.feed.first_available()
        if first is None:
            return pb.SubscribeReplayInfoResponse()
        return pb.SubscribeReplayInfoResponse(first_available=first)

    async def Ping(self, request: Any, context: Any) -> pb.PongResponse:
        await self._admit("Ping", context)
        return pb.PongResponse(count=request.count)

    async def _commitment(self, request: Any, context: Any) -> int:
        try:
            return _depth(request)
        except FilterError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            raise  # abort raises; this keeps mypy's flow analysis honest

    async def GetSlot(self, request: Any, context: Any) -> pb.GetSlotResponse:
        await self._admit("GetSlot", context)
        depth = await self._commitment(request, context)
        return pb.GetSlotResponse(slot=self.cluster.slot_at(depth))

    async def GetBlockHeight(self, request: Any, context: Any) -> pb.GetBlockHeightResponse:
        await self._admit("GetBlockHeight", context)
        depth = await self._commitment(request, context)
        return pb.GetBlockHeightResponse(block_height=self.cluster.block_height_at(depth))

    async def GetLatestBlockhash(self, request: Any, context: Any) -> pb.GetLatestBlockhashResponse:
        await self._admit("GetLatestBlockhash", context)
        depth = await self._commitment(request, context)
        slot = self.cluster.slot_at(depth)
        hashes = self.cluster.block_hashes(slot)
        blockhash = hashes[0] if hashes is not None else self.cluster.latest_blockhash()
        return pb.GetLatestBlockhashResponse(
            slot=slot,
            blockhash=str(blockhash),
            last_valid_block_height=self.cluster.block_height_at(depth) + BLOCKHASH_WINDOW,
        )

    async def IsBlockhashValid(self, request: Any, context: Any) -> pb.IsBlockhashValidResponse:
        await self._admit("IsBlockhashValid", context)
        depth = await self._commitment(request, context)
        try:
            blockhash = Hash.from_string(request.blockhash)
        except (ValueError, ParseHashError) as exc:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"invalid blockhash {request.blockhash!r}: {exc}"
            )
            raise
        return pb.IsBlockhashValidResponse(
            slot=self.cluster.slot_at(depth), valid=self.cluster.blockhash_valid(blockhash)
        )

    async def GetVersion(self, request: Any, context: Any) -> pb.GetVersionResponse:
        await self._admit("GetVersion", context)
        version = {
            "version": {
                "package": VERSION,
                "version": "0.1.0",
                "proto": "laserstream-core-proto-js 9.1.0",
            },
            "extra": {"hostname": "localnet", "endpoint": self.name},
        }
        return pb.GetVersionResponse(version=json.dumps(version))
