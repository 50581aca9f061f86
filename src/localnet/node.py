"""Composition of a whole localnet: cluster, named RPC endpoints, control API, market apps.

`Localnet(config).start()` returns `LocalnetUrls`, whose `to_json()` is the `--json FILE` contract:
`{"rpc": {"<name>": {"http": URL, "ws": URL}}, "jupiter": URL, "telegram": URL, "control": URL}`.

The market half (Jupiter API, token factory, scenario engine, fake Telegram, `/tokens` control
routes) lives in `localnet.market`, `localnet.tokens`, `localnet.launches`, `localnet.telegram`;
they are imported at start, so this module works while one of them is still missing (its URL is
then "").
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import structlog
from aiohttp import web

from localnet.cluster import Cluster
from localnet.control import create_control_app
from localnet.faults import PRESETS, FaultProfile
from localnet.rpc.server import SHUTDOWN_TIMEOUT_S, RpcEndpoint

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    name: str
    profile: FaultProfile = field(default_factory=FaultProfile)
    port: int = 0


DEFAULT_ENDPOINTS = (
    EndpointConfig("helius", PRESETS["helius"]),
    EndpointConfig("quicknode", PRESETS["quicknode"]),
    EndpointConfig("public", PRESETS["public"]),
)


@dataclass(frozen=True, slots=True)
class LocalnetConfig:
    """What the CLI (`--seed/--scenario/--slot-ms`) and test fixtures set. Port 0 = a free port."""

    seed: int = 0
    slot_ms: int | None = 400
    sigverify: bool = True
    host: str = "127.0.0.1"
    endpoints: tuple[EndpointConfig, ...] = DEFAULT_ENDPOINTS
    control_port: int = 0
    jupiter_port: int = 0
    telegram_port: int = 0
    scenario: Path | None = None
    jupiter_api_key: str | None = None


@dataclass(frozen=True, slots=True)
class LocalnetUrls:
    rpc: Mapping[str, Mapping[str, str]]
    jupiter: str
    telegram: str
    control: str

    def to_json(self) -> dict[str, Any]:
        return {
            "rpc": {name: dict(urls) for name, urls in self.rpc.items()},
            "jupiter": self.jupiter,
            "telegram": self.telegram,
            "control": self.control,
        }


def _endpoint_seed(seed: int, name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:8], "little")


def _optional(module: str, attribute: str) -> Any:
    """`module.attribute` of the market half; None while it does not exist yet.

    TODO(market): once every market-half module exists this fallback only guards partial checkouts.
    """
    try:
        mod: ModuleType = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            log.warning("localnet.module_missing", module=module)
            return None
        raise
    found = getattr(mod, attribute, None)
    if found is None:
        log.warning("localnet.attribute_missing", module=module, attribute=attribute)
    return found


class Localnet:
    """Everything on loopback; `start()` then `stop()` (or `async with running_localnet()`)."""

    def __init__(self, config: LocalnetConfig | None = None) -> None:
        self.config = config or LocalnetConfig()
        self.cluster = Cluster(
            seed=self.config.seed, slot_ms=self.config.slot_ms, sigverify=self.config.sigverify
        )
        self.endpoints: dict[str, RpcEndpoint] = {
            ep.name: RpcEndpoint(
                ep.name, self.cluster, ep.profile, seed=_endpoint_seed(self.config.seed, ep.name)
            )
            for ep in self.config.endpoints
        }
        self.market: Any = None
        self.factory: Any = None
        self.engine: Any = None
        self.telegram: Any = None
        self._runners: list[web.AppRunner] = []
        self.urls: LocalnetUrls | None = None

    async def _serve(self, app: web.Application, port: int) -> str:
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, port)
        await site.start()
        self._runners.append(runner)
        return f"http://{self.config.host}:{runner.addresses[0][1]}"

    def _build_market(self, control: web.Application) -> tuple[Any, Any]:
        """B's objects and apps; returns (jupiter_app, telegram_app), None where not present."""
        seed = self.config.seed
        jupiter_app = telegram_app = None
        market_cls = _optional("localnet.market", "Market")
        if market_cls is not None:
            self.market = market_cls(self.cluster, seed)
            create_jupiter = _optional("localnet.market.api", "create_jupiter_app")
            if create_jupiter is not None:
                jupiter_app = create_jupiter(
                    self.market, api_key=self.config.jupiter_api_key, rate_limit=None
                )
            factory_cls = _optional("localnet.tokens", "TokenFactory")
            if factory_cls is not None:
                self.factory = factory_cls(self.cluster, self.market)
                engine_cls = _optional("localnet.launches", "ScenarioEngine")
                if engine_cls is not None:
                    self.engine = engine_cls(self.cluster, self.market, self.factory, seed)
                    if self.config.scenario is not None and hasattr(self.engine, "load"):
                        self.engine.load(self.config.scenario)
        fake_cls = _optional("localnet.telegram", "FakeTelegram")
        if fake_cls is not None:
            self.telegram = fake_cls()
            create_telegram = _optional("localnet.telegram.server", "create_telegram_app")
            if create_telegram is not None:
                telegram_app = create_telegram(self.telegram)
        register = _optional("localnet.launches", "register_control_routes")
        if register is not None:
            register(
                control,
                market=self.market,
                factory=self.factory,
                engine=self.engine,
                telegram=self.telegram,
            )
        return jupiter_app, telegram_app

    async def start(self) -> LocalnetUrls:
        """Start the slot clock, every endpoint, the control API and the market apps."""
        try:
            return await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> LocalnetUrls:
        host = self.config.host
        for ep_config in self.config.endpoints:
            await self.endpoints[ep_config.name].start(host, ep_config.port)
        control = create_control_app(self.cluster, self.endpoints)
        jupiter_app, telegram_app = self._build_market(control)
        control_url = await self._serve(control, self.config.control_port)
        jupiter_url = (
            "" if jupiter_app is None else await self._serve(jupiter_app, self.config.jupiter_port)
        )
        telegram_url = (
            ""
            if telegram_app is None
            else await self._serve(telegram_app, self.config.telegram_port)
        )
        if self.engine is not None and hasattr(self.engine, "start"):
            await self.engine.start()
        await self.cluster.start()
        self.urls = LocalnetUrls(
            rpc={n: {"http": e.http_url, "ws": e.ws_url} for n, e in self.endpoints.items()},
            jupiter=jupiter_url,
            telegram=telegram_url,
            control=control_url,
        )
        log.info("localnet.started", **self.urls.to_json())
        return self.urls

    async def stop(self) -> None:
        await self.cluster.stop()
        if self.engine is not None and hasattr(self.engine, "stop"):
            await self.engine.stop()
        for endpoint in self.endpoints.values():
            await endpoint.stop()
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
