"""The ops HTTP server on METRICS_PORT: ``GET /metrics`` (exact route) and ``GET /health``."""

from __future__ import annotations

import errno
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client.exposition import choose_encoder

from sniper_bot.errors import ConfigError
from sniper_bot.observability.health import HealthRegistry, Status
from sniper_bot.observability.metrics import Metrics

__all__ = ["OpsServer", "create_ops_app"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_KNOWN_PATHS = frozenset({"/metrics", "/health"})


def create_ops_app(
    metrics: Metrics, health: HealthRegistry, *, compress: bool = False
) -> web.Application:
    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path if request.path in _KNOWN_PATHS else "other"
        start = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            metrics.http_requests.labels(request.method, path, str(status)).inc()
            metrics.http_request_duration_seconds.labels(request.method, path).observe(
                time.perf_counter() - start
            )

    async def metrics_handler(request: web.Request) -> web.Response:
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        response = web.Response(
            body=encoder(metrics.registry), headers={"Content-Type": content_type}
        )
        if compress:
            response.enable_compression()
        return response

    async def health_handler(_request: web.Request) -> web.Response:
        report = await health.report()
        return web.json_response(
            report.to_json(), status=503 if report.status is Status.DOWN else 200
        )

    app = web.Application(middlewares=[count])
    app.router.add_get("/metrics", metrics_handler)
    app.router.add_get("/health", health_handler)
    return app


class OpsServer:
    """Runs the ops app; a taken port is a one-line ConfigError naming METRICS_PORT."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self._app = app
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.bound_port: int | None = None

    async def start(self) -> None:
        runner = web.AppRunner(self._app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"METRICS_PORT: port {self._port} on {self._host} is already in use; stop the "
                    "other process or set METRICS_PORT to a free port (0 = any free port)"
                ) from None
            raise ConfigError(
                f"METRICS_PORT: cannot listen on {self._host}:{self._port} ({exc.strerror}); "
                "set METRICS_HOST/METRICS_PORT to an address this host can bind"
            ) from None
        self._runner = runner
        server = site._server  # aiohttp exposes no public accessor for the bound socket
        sockets = getattr(server, "sockets", None) or []
        self.bound_port = sockets[0].getsockname()[1] if sockets else self._port

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self._host in ("0.0.0.0", "::", "") else self._host  # noqa: S104
        return f"http://{host}:{self.bound_port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
