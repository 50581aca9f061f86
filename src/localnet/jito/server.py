"""The block engine's HTTP face: Jito's JSON-RPC paths and the tip-floor REST endpoint.

    POST /api/v1/bundles        sendBundle getBundleStatuses getInflightBundleStatuses
                                getTipAccounts
    POST /api/v1/transactions   sendTransaction (?bundleOnly=true: a one-transaction bundle,
                                its id in the `x-bundle-id` header)
    POST /api/v1/getBundleStatuses, /api/v1/getInflightBundleStatuses, /api/v1/getTipAccounts
                                (the paths jito-py-rpc posts those methods to)
    GET  /api/v1/bundles/tip_floor

Refusals are HTTP 400 with `{"jsonrpc":"2.0","error":{"code":-32602,"message":...,"data":null},
"id":...}`; rate limiting (a fault profile's 429s and rate limit) is Jito's HTTP 429 `-32097
Network congested. Endpoint is globally rate limited.`. A `FaultProfile` applies as on the RPC
endpoints (latency, outages, 429, 503, 504, hangs, malformed bodies; `behind_*` does not apply).
`uuid` query parameters and `x-jito-auth` headers are accepted and ignored, as unauthenticated
sends are on mainnet.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import structlog
from aiohttp import web

from localnet.faults import Fault, FaultInjector, FaultProfile
from localnet.jito.engine import TIP_ACCOUNTS, BlockEngine, JitoError
from localnet.rpc import params as p
from localnet.rpc.errors import RpcError
from localnet.rpc.server import SHUTDOWN_TIMEOUT_S

log = structlog.get_logger(__name__)

JSON = "application/json"
RATE_LIMITED = {"code": -32097, "message": "Network congested. Endpoint is globally rate limited."}
BUNDLE_METHODS = ("sendBundle", "getBundleStatuses", "getInflightBundleStatuses", "getTipAccounts")
PATH_METHODS = {
    "bundles": BUNDLE_METHODS,
    "transactions": ("sendTransaction",),
    "getBundleStatuses": ("getBundleStatuses",),
    "getInflightBundleStatuses": ("getInflightBundleStatuses",),
    "getTipAccounts": ("getTipAccounts",),
}


def _body(request_id: Any, *, result: Any = None, error: dict[str, Any] | None = None) -> str:
    out: dict[str, Any] = {"jsonrpc": "2.0"}
    if error is not None:
        out["error"] = error
    else:
        out["result"] = result
    out["id"] = request_id
    return json.dumps(out, separators=(",", ":"))


class JitoEndpoint:
    """A Jito-compatible block engine on its own port, with its own fault profile."""

    def __init__(
        self,
        engine: BlockEngine,
        profile: FaultProfile | None = None,
        *,
        seed: int = 0,
        name: str = "jito",
    ) -> None:
        """`name`: this block engine's name (several, e.g. regions, can share one `engine`)."""
        self.name = name
        self.engine = engine
        self.injector = FaultInjector(profile, seed=seed)
        self.requests: dict[str, int] = {}
        self._runner: web.AppRunner | None = None
        self.host = "127.0.0.1"
        self.port = 0

    @property
    def url(self) -> str:
        """The block engine's base URL (append `/api/v1/bundles`; jito-py-rpc takes
        `url + "/api/v1"`)."""
        return f"http://{self.host}:{self.port}"

    def set_profile(self, profile: FaultProfile) -> None:
        self.injector.set_profile(profile)

    def stats(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "http": self.url,
            "profile": self.injector.profile.to_json(),
            "in_outage": self.injector.in_outage(),
            "requests": dict(self.requests),
            "faults": dict(self.injector.counts),
            **self.engine.stats(),
        }

    def create_app(self) -> web.Application:
        app = web.Application(client_max_size=1 << 20)
        app.router.add_get("/api/v1/bundles/tip_floor", self._tip_floor)
        for path in PATH_METHODS:
            app.router.add_post(f"/api/v1/{path}", self._rpc)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        runner = web.AppRunner(
            self.create_app(), access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S
        )
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        self._runner = runner
        self.host, self.port = host, runner.addresses[0][1]
        log.info("localnet.jito_started", name=self.name, url=self.url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- faults ----------------------------------------------------------------------------------
    async def _faulted(self, request: web.Request, method: str) -> web.StreamResponse | None:
        self.requests[method] = self.requests.get(method, 0) + 1
        decision = self.injector.decide(method, request.remote or "127.0.0.1")
        if decision.latency_s > 0:
            await asyncio.sleep(decision.latency_s)
        fault = decision.fault
        if fault in (Fault.NONE, Fault.BEHIND):
            return None
        if fault is Fault.OUTAGE:
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=503)
        if fault in (Fault.RATE_LIMITED, Fault.HTTP_429):
            return web.Response(
                status=429,
                text=_body(None, error={**RATE_LIMITED, "data": None}),
                content_type=JSON,
            )
        if fault is Fault.HTTP_503:
            return web.Response(status=503, text="Service Unavailable")
        if fault is Fault.HTTP_504:
            return web.Response(status=504, text="Gateway Timeout")
        if fault is Fault.HANG:
            await asyncio.sleep(self.injector.profile.hang_s)
            return web.Response(status=504, text="Gateway Timeout")
        return web.Response(text='{"jsonrpc":"2.0","result":', content_type=JSON)  # MALFORMED

    # -- handlers --------------------------------------------------------------------------------
    async def _tip_floor(self, request: web.Request) -> web.StreamResponse:
        faulted = await self._faulted(request, "tip_floor")
        if faulted is not None:
            return faulted
        return web.json_response(self.engine.tip_floor_report())

    async def _rpc(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rsplit("/", 1)[-1]
        try:
            payload = json.loads(await request.read())
        except ValueError:
            error = {"code": -32700, "message": "Parse error", "data": None}
            return web.Response(status=400, text=_body(None, error=error), content_type=JSON)
        method = payload.get("method") if isinstance(payload, dict) else None
        faulted = await self._faulted(request, method if isinstance(method, str) else "")
        if faulted is not None:
            return faulted
        if not isinstance(payload, dict) or payload.get("jsonrpc") != "2.0":
            error = {"code": -32600, "message": "Invalid request", "data": None}
            return web.Response(status=400, text=_body(None, error=error), content_type=JSON)
        request_id = payload.get("id")
        if method not in PATH_METHODS[path]:
            error = {"code": -32601, "message": "Method not found", "data": None}
            return web.Response(status=400, text=_body(request_id, error=error), content_type=JSON)
        headers: dict[str, str] = {}
        try:
            result = self._call(str(method), payload.get("params"), request, headers)
        except JitoError as exc:
            return web.Response(
                status=exc.status, text=_body(request_id, error=exc.to_json()), content_type=JSON
            )
        return web.Response(
            text=_body(request_id, result=result), content_type=JSON, headers=headers
        )

    def _call(self, method: str, params: Any, request: web.Request, headers: dict[str, str]) -> Any:
        engine = self.engine
        if method == "getTipAccounts":
            return [str(k) for k in TIP_ACCOUNTS]
        args = params if isinstance(params, list) else [params]
        first = args[0] if args else None
        if method == "getBundleStatuses":
            return engine.bundle_statuses(first)
        if method == "getInflightBundleStatuses":
            return engine.inflight_bundle_statuses(first)
        encoding = _encoding(args[1] if len(args) > 1 else None)
        if method == "sendBundle":
            if not isinstance(first, list):
                raise JitoError("params must be an array of encoded transactions")
            txs = [_decode(raw, encoding, i) for i, raw in enumerate(first)]
            return engine.send_bundle(txs, via=self.name)
        # sendTransaction: always skipPreflight, as Jito's proxy
        tx = _decode(first, encoding, 0)
        if request.query.get("bundleOnly", "").lower() == "true":
            headers["x-bundle-id"] = engine.send_bundle([tx], via=self.name)
        else:
            engine.cluster.submit_transaction(tx)
        return str(tx.signatures[0])


def _encoding(cfg: Any) -> str:
    encoding = cfg.get("encoding", "base58") if isinstance(cfg, dict) else "base58"
    if encoding not in ("base58", "base64"):
        raise JitoError(f"unknown variant `{encoding}`, expected `base58` or `base64`")
    return str(encoding)


def _decode(raw: Any, encoding: str, index: int) -> Any:
    try:
        return p.transaction(raw, encoding)
    except RpcError as exc:
        raise JitoError(f"transaction #{index} could not be decoded: {exc.message}") from exc
