"""One named RPC endpoint: JSON-RPC on `POST /`, PubSub WebSocket on `GET /`, `GET /health`.

Each endpoint has its own port and `FaultInjector`; every endpoint serves the same `Cluster`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import structlog
from aiohttp import web

from localnet.cluster import Cluster
from localnet.faults import Fault, FaultInjector, FaultProfile
from localnet.rpc.dispatch import dumps, error_response, first_method, handle_payload, parse_error
from localnet.rpc.dispatch import request_ids as ids_of
from localnet.rpc.errors import node_behind
from localnet.rpc.ws import drop, serve_websocket

log = structlog.get_logger(__name__)

JSON = "application/json"
SHUTDOWN_TIMEOUT_S = 1.0


class RpcEndpoint:
    """A named endpoint (e.g. "helius") with a fault profile, served on 127.0.0.1:port."""

    def __init__(
        self,
        name: str,
        cluster: Cluster,
        profile: FaultProfile | None = None,
        *,
        seed: int = 0,
        injector: FaultInjector | None = None,
    ) -> None:
        self.name = name
        self.cluster = cluster
        self.injector = injector or FaultInjector(profile, seed=seed)
        self.requests: dict[str, int] = {}
        self.websockets: dict[web.WebSocketResponse, web.Request] = {}
        self._runner: web.AppRunner | None = None
        self.host = "127.0.0.1"
        self.port = 0

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def set_profile(self, profile: FaultProfile) -> None:
        self.injector.set_profile(profile)
        if self.injector.in_outage():
            self.drop_websockets()

    def drop_websockets(self) -> int:
        """Abort every open PubSub connection; returns how many."""
        dropped = 0
        for request in tuple(self.websockets.values()):
            drop(request)
            dropped += 1
        self.websockets.clear()
        return dropped

    def stats(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "http": self.http_url,
            "ws": self.ws_url,
            "profile": self.injector.profile.to_json(),
            "in_outage": self.injector.in_outage(),
            "requests": dict(self.requests),
            "faults": dict(self.injector.counts),
            "websockets": len(self.websockets),
        }

    def create_app(self) -> web.Application:
        app = web.Application(client_max_size=4 << 20)
        app.router.add_post("/", self._http)
        app.router.add_get("/", self._get_root)
        app.router.add_get("/health", self._health)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        runner = web.AppRunner(
            self.create_app(), access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        self.host = host
        self.port = runner.addresses[0][1]
        log.info("localnet.endpoint_started", endpoint=self.name, url=self.http_url)

    async def stop(self) -> None:
        if self._runner is not None:
            self.drop_websockets()
            await self._runner.cleanup()
            self._runner = None

    # -- handlers --------------------------------------------------------------------------------
    async def _health(self, request: web.Request) -> web.StreamResponse:
        decision = self.injector.decide("getHealth")
        if decision.fault is Fault.OUTAGE:
            return self._abort(request)
        if decision.fault is Fault.BEHIND:
            return web.Response(text="behind")
        if decision.fault in (Fault.HTTP_503, Fault.HTTP_504, Fault.HANG):
            return web.Response(status=503, text="unknown")
        return web.Response(text="ok")

    async def _get_root(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await serve_websocket(request, self.cluster, self.injector, self.websockets)
        return web.Response(
            status=405, text="Used HTTP Method is not allowed. POST or OPTIONS is required"
        )

    def _abort(self, request: web.Request) -> web.Response:
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=503)

    async def _http(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        try:
            payload = json.loads(body)
        except ValueError:
            return web.Response(text=dumps(parse_error()), content_type=JSON)
        method = first_method(payload)
        self.requests[method] = self.requests.get(method, 0) + 1
        peer = request.remote or "127.0.0.1"
        decision = self.injector.decide(method, peer)
        if decision.latency_s > 0:
            await asyncio.sleep(decision.latency_s)
        fault = decision.fault
        if fault is not Fault.NONE:
            return await self._fault(request, payload, decision.fault, decision.retry_after_s)
        return web.Response(
            text=dumps(handle_payload(self.cluster, payload, self.name)), content_type=JSON
        )

    async def _fault(
        self, request: web.Request, payload: Any, fault: Fault, retry_after: int
    ) -> web.StreamResponse:
        if fault is Fault.OUTAGE:
            return self._abort(request)
        if fault in (Fault.RATE_LIMITED, Fault.HTTP_429):
            first_id = ids_of(payload)[0]
            body = {
                "jsonrpc": "2.0",
                "id": first_id,
                "error": {"code": 429, "message": "Too many requests for a specific RPC call"},
            }
            return web.Response(
                status=429,
                text=dumps(body),
                content_type=JSON,
                headers={"Retry-After": str(retry_after)},
            )
        if fault is Fault.HTTP_503:
            return web.Response(status=503, text="Service Unavailable")
        if fault is Fault.HTTP_504:
            return web.Response(status=504, text="Gateway Timeout")
        if fault is Fault.HANG:
            await asyncio.sleep(self.injector.profile.hang_s)
            return web.Response(status=504, text="Gateway Timeout")
        if fault is Fault.BEHIND:
            slots = self.injector.profile.behind_slots
            errors = [error_response(node_behind(slots), i) for i in ids_of(payload)]
            body_out: Any = errors if isinstance(payload, list) else errors[0]
            return web.Response(text=dumps(body_out), content_type=JSON)
        # MALFORMED: a truncated JSON document with a JSON content type
        return web.Response(text='{"jsonrpc":"2.0","result":{"context":', content_type=JSON)
