"""PubSub over WebSocket: account/program/logs/signature/slot subscriptions, mainnet shapes."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

import structlog
from aiohttp import WSMsgType, web

from localnet.cluster import Cluster
from localnet.faults import FaultInjector
from localnet.pubsub import parse_filters
from localnet.rpc import params as p
from localnet.rpc.dispatch import dumps, error_response
from localnet.rpc.errors import (
    INVALID_PARAMS,
    PARSE_ERROR,
    RpcError,
    invalid_params,
    method_not_found,
)

log = structlog.get_logger(__name__)

After = Callable[[], None] | None


class PubSubConnection:
    """One client connection: its subscriptions and an ordered outgoing queue."""

    def __init__(self, cluster: Cluster, injector: FaultInjector) -> None:
        self.cluster = cluster
        self.injector = injector
        self.queue: asyncio.Queue[str] = asyncio.Queue()

    def sink(self, method: str, sub_id: int, result: Any) -> None:
        message = {
            "jsonrpc": "2.0",
            "method": method,
            "params": {"result": result, "subscription": sub_id},
        }
        self.queue.put_nowait(dumps(message))

    def handle(self, raw: str) -> None:
        try:
            request = json.loads(raw)
        except ValueError:
            self.queue.put_nowait(dumps(error_response(RpcError(PARSE_ERROR, "Parse error"), None)))
            return
        request_id = request.get("id") if isinstance(request, dict) else None
        try:
            if not isinstance(request, dict) or not isinstance(request.get("method"), str):
                raise RpcError(-32600, "Invalid request")
            result, after = self._call(request["method"], request.get("params"))
        except RpcError as exc:
            self.queue.put_nowait(dumps(error_response(exc, request_id)))
            return
        self.queue.put_nowait(dumps({"jsonrpc": "2.0", "result": result, "id": request_id}))
        if after is not None:
            after()

    def _call(self, method: str, params: Any) -> tuple[Any, After]:
        hub = self.cluster.hub
        if method.endswith("Unsubscribe"):
            (sub_id,) = p.positional(params, 1, 1)
            kind = method.removesuffix("Unsubscribe")
            if not isinstance(sub_id, int) or not hub.unsubscribe(sub_id, kind):
                raise RpcError(INVALID_PARAMS, "Invalid subscription id.")
            return True, None
        if method == "slotSubscribe":
            p.positional(params, 0, 0)
            return hub.subscribe_slots(self.sink), None
        if method == "accountSubscribe":
            key, cfg = p.positional(params, 1, 2)
            c = p.config(cfg)
            sub = hub.subscribe_account(
                p.pubkey(key),
                encoding=p.account_encoding(c, "base58"),
                depth=p.depth(c),
                sink=self.sink,
            )
            return sub, None
        if method == "programSubscribe":
            key, cfg = p.positional(params, 1, 2)
            c = p.config(cfg)
            try:
                filters = parse_filters(c.get("filters"))
            except ValueError as exc:
                raise invalid_params(str(exc)) from exc
            sub = hub.subscribe_program(
                p.pubkey(key),
                encoding=p.account_encoding(c, "base58"),
                filters=filters,
                depth=p.depth(c),
                sink=self.sink,
            )
            return sub, None
        if method == "logsSubscribe":
            flt, cfg = p.positional(params, 1, 2)
            c = p.config(cfg)
            if flt in ("all", "allWithVotes"):
                mentions = None
            elif isinstance(flt, dict) and isinstance(flt.get("mentions"), list):
                if len(flt["mentions"]) != 1:
                    raise invalid_params("Invalid Request: Only 1 address supported")
                mentions = p.pubkey(flt["mentions"][0])
            else:
                raise invalid_params('expected "all", "allWithVotes" or {"mentions": [..]}')
            return hub.subscribe_logs(mentions, depth=p.depth(c), sink=self.sink), None
        if method == "signatureSubscribe":
            return self._signature(params)
        raise method_not_found()

    def _signature(self, params: Any) -> tuple[Any, After]:
        key, cfg = p.positional(params, 1, 2)
        c = p.config(cfg)
        signature = p.signature(key)
        hub, cluster = self.cluster.hub, self.cluster
        sub = hub.subscribe_signature(
            signature,
            depth=p.depth(c),
            sink=self.sink,
            received=bool(c.get("enableReceivedNotification")),
        )
        landed = cluster.history.get(signature)
        if landed is None:
            return sub, None

        def after() -> None:
            hub.deliver_existing_signature(sub, landed.slot, cluster.slot, landed.err)

        return sub, after


async def serve_websocket(
    request: web.Request,
    cluster: Cluster,
    injector: FaultInjector,
    connections: dict[web.WebSocketResponse, web.Request],
) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(max_msg_size=1 << 20)
    await ws.prepare(request)
    if injector.in_outage():
        await ws.close()
        return ws
    conn = PubSubConnection(cluster, injector)
    connections[ws] = request

    async def writer() -> None:
        while True:
            message = await conn.queue.get()
            if '"method"' in message and injector.drop_ws():
                drop(request)
                return
            await ws.send_str(message)

    task = asyncio.create_task(writer(), name="localnet-ws-writer")
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                conn.handle(msg.data)
            elif msg.type == WSMsgType.ERROR:
                break
    finally:
        connections.pop(ws, None)
        cluster.hub.drop_sink(conn.sink)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await task
    return ws


def drop(request: web.Request) -> None:
    """Drop the connection abruptly (no close frame), as a dying provider does."""
    transport = request.transport
    if transport is not None:
        transport.abort()
