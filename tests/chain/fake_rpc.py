"""A scripted JSON-RPC HTTP server standing in for a remote provider (the process boundary).

Each server answers methods from ``results`` (method -> result JSON, or a callable of params)
and can be told to misbehave: ``fault`` = ("status", code, headers, body) | ("delay", seconds) |
("body", raw bytes) | ("rpc_error", code, message, data). Requests are recorded for assertions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

Fault = tuple[Any, ...]


@dataclass
class FakeRpc:
    name: str
    results: dict[str, Any] = field(default_factory=dict)
    fault: Fault | None = None
    seen: list[dict[str, Any]] = field(default_factory=list)
    headers_seen: list[dict[str, str]] = field(default_factory=list)
    server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/"))

    def count(self, method: str | None = None) -> int:
        return sum(1 for r in self.seen if method is None or r.get("method") == method)

    def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
        method = request.get("method", "")
        if self.fault is not None and self.fault[0] == "rpc_error":
            _, code, message, data = self.fault
            error: dict[str, Any] = {"code": code, "message": message}
            if data is not None:
                error["data"] = data
            return {"jsonrpc": "2.0", "error": error, "id": request.get("id")}
        if method not in self.results:
            return {
                "jsonrpc": "2.0",
                "error": {"code": -32601, "message": "Method not found"},
                "id": request.get("id"),
            }
        result = self.results[method]
        if callable(result):
            result = result(request.get("params"))
        return {"jsonrpc": "2.0", "result": result, "id": request.get("id")}

    async def handle(self, http_request: web.Request) -> web.StreamResponse:
        payload = await http_request.json()
        self.headers_seen.append(dict(http_request.headers))
        requests = payload if isinstance(payload, list) else [payload]
        self.seen.extend(requests)
        fault = self.fault
        if fault is not None:
            kind = fault[0]
            if kind == "status":
                _, status, headers, body = fault
                return web.Response(status=status, headers=headers, body=body)
            if kind == "delay":
                await asyncio.sleep(fault[1])
            if kind == "body":
                return web.Response(body=fault[1], content_type="application/json")
        answers = [self._answer(r) for r in requests]
        return web.json_response(answers if isinstance(payload, list) else answers[0])


async def start(name: str, results: dict[str, Any] | None = None) -> FakeRpc:
    fake = FakeRpc(name=name, results=dict(results or {}))
    app = web.Application()
    app.router.add_post("/", fake.handle)
    fake.server = TestServer(app)
    await fake.server.start_server()
    return fake


def counter(start_at: int) -> Callable[[Any], int]:
    state = {"n": start_at}

    def next_value(_params: Any) -> int:
        state["n"] += 1
        return state["n"]

    return next_value
