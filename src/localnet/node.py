"""Composition of a whole localnet: cluster, named RPC endpoints, control API, market apps.

`Localnet(config).start()` returns `LocalnetUrls`, whose `to_json()` is the `--json FILE` contract:
`{"rpc": {"<name>": {"http": URL, "ws": URL}}, "jupiter": URL, "telegram": URL, "control": URL,
"jito": URL, "jito_engines": {"<name>": URL}, "geyser": {"<name>": {"url": URL, "x_token": T}}}`
(geyser: Yellowstone gRPC endpoints, `localnet.geyser`, plaintext HTTP/2, `x-token` metadata;
jito: block engines' base URLs, Jito's paths are under `/api/v1`). `jito` is the primary block
engine; `config.jito_engines` adds more (regions, each on its own port with its own fault
profile) feeding the same auction, so a bundle or transaction fanned out to several lands once
and every engine reports the same statuses; `jito_engines` lists all of them, the primary first
(the bot's `JITO_BLOCK_ENGINE_URLS` takes them joined by commas:
`LocalnetUrls.jito_block_engine_urls`).

The market half is built with the cluster: `market` (pools + Jupiter API), `factory` (token kinds),
`engine` (the scenario engine, run on every slot), `telegram` (the fake Bot API). Which scenario
plays: `config.scenario` (a TOML file) if set; else the endless default mix when
`config.default_scenario` is true; `None` there means "the entry point decides": `serve()` (the
CLI) plays it, a bare `Localnet` and `running_localnet()` do not.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from localnet.cluster import DEFAULT_STREAM_TICK_MS, Cluster
from localnet.control import create_control_app
from localnet.faults import PRESETS, FaultProfile
from localnet.geyser import GeyserEndpoint, GeyserFaults
from localnet.geyser import install as install_geyser
from localnet.geyser.control import register_geyser_routes
from localnet.geyser.server import DEFAULT_PING_INTERVAL_S
from localnet.history import DEFAULT_MAX_TRANSACTIONS, STATUS_CACHE_SLOTS
from localnet.jito import DEFAULT_TIP_FLOOR, BlockEngine, JitoEndpoint
from localnet.jito.control import register_jito_routes
from localnet.launches import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_SCENARIO,
    Scenario,
    ScenarioEngine,
    load_scenario,
    register_control_routes,
)
from localnet.launches.rivals import RivalSnipers
from localnet.market import Market
from localnet.market.api import create_jupiter_app
from localnet.pump import install as install_pump
from localnet.pump.control import register_pump_routes
from localnet.rpc.server import SHUTDOWN_TIMEOUT_S, RpcEndpoint
from localnet.telegram import FakeTelegram, create_telegram_app
from localnet.tokens import TokenFactory

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    name: str
    profile: FaultProfile = field(default_factory=FaultProfile)
    port: int = 0


@dataclass(frozen=True, slots=True)
class JitoEngineConfig:
    """One more block engine (a region: "ny", "frankfurt", ...) in front of the shared auction."""

    name: str
    profile: FaultProfile = field(default_factory=FaultProfile)
    port: int = 0


@dataclass(frozen=True, slots=True)
class GeyserConfig:
    """One Yellowstone gRPC endpoint. `x_token=None`: a token derived from the seed and name
    (published in `LocalnetUrls.geyser`); `""`: no token asked."""

    name: str = "geyser"
    port: int = 0
    x_token: str | None = None
    faults: GeyserFaults = field(default_factory=GeyserFaults)


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
    scenario: Path | None = None  # a scenario TOML file to play
    default_scenario: bool | None = None  # play the endless default mix (None: see module doc)
    jupiter_api_key: str | None = None
    max_transactions: int = DEFAULT_MAX_TRANSACTIONS  # history kept (statuses, getTransaction)
    status_slots: int = STATUS_CACHE_SLOTS  # ...but never what landed within this many slots
    max_tokens: int = DEFAULT_MAX_TOKENS  # engine launches kept; older ones are retired
    block_building: bool = True  # RPC transactions land in the slot's block (False: at once)
    stream_tick_ms: int | None = DEFAULT_STREAM_TICK_MS  # leader batches inside a slot (None: 1)
    jito_port: int = 0
    jito_profile: FaultProfile = field(default_factory=FaultProfile)  # the block engine's faults
    jito_tip_floor: int = DEFAULT_TIP_FLOOR  # lamports a bundle must tip at least
    jito_engines: tuple[JitoEngineConfig, ...] = ()  # more block engines, same auction
    geyser: tuple[GeyserConfig, ...] = (GeyserConfig(),)  # Yellowstone gRPC endpoints
    geyser_ping_interval_s: float = DEFAULT_PING_INTERVAL_S

    def __post_init__(self) -> None:
        names = [e.name for e in self.jito_engines]
        if "jito" in names or len(set(names)) != len(names) or not all(names):
            raise ValueError(
                f"jito_engines need distinct non-empty names other than 'jito', got {names}"
            )

    def scenario_path(self) -> Path | None:
        """The scenario file this config plays, or None."""
        if self.scenario is not None:
            return self.scenario
        return DEFAULT_SCENARIO if self.default_scenario else None


@dataclass(frozen=True, slots=True)
class LocalnetUrls:
    rpc: Mapping[str, Mapping[str, str]]
    jupiter: str
    telegram: str
    control: str
    jito: str = ""
    jito_engines: Mapping[str, str] = field(default_factory=dict)  # every block engine, by name
    geyser: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # {"url", "x_token"}

    @property
    def jito_block_engine_urls(self) -> str:
        """Every block engine's base URL, comma-separated (`JITO_BLOCK_ENGINE_URLS`)."""
        return ",".join(self.jito_engines.values()) if self.jito_engines else self.jito

    def to_json(self) -> dict[str, Any]:
        return {
            "rpc": {name: dict(urls) for name, urls in self.rpc.items()},
            "jupiter": self.jupiter,
            "telegram": self.telegram,
            "control": self.control,
            "jito": self.jito,
            "jito_engines": dict(self.jito_engines),
            "geyser": {name: dict(g) for name, g in self.geyser.items()},
        }


def _endpoint_seed(seed: int, name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:8], "little")


class Localnet:
    """Everything on loopback; `start()` then `stop()` (or `async with running_localnet()`)."""

    def __init__(self, config: LocalnetConfig | None = None) -> None:
        """Build everything (no sockets yet); a bad scenario file raises ValueError/OSError here."""
        self.config = config or LocalnetConfig()
        seed = self.config.seed
        scenario_path = self.config.scenario_path()
        self.scenario: Scenario | None = (
            None if scenario_path is None else load_scenario(scenario_path)
        )
        self.cluster = Cluster(
            seed=seed,
            slot_ms=self.config.slot_ms or None,
            sigverify=self.config.sigverify,
            max_transactions=self.config.max_transactions,
            status_slots=self.config.status_slots,
            block_building=self.config.block_building,
            stream_tick_ms=self.config.stream_tick_ms,
        )
        # Yellowstone gRPC: the feed taps the cluster's hub before anything subscribes to it
        self.geyser_feed = install_geyser(self.cluster)
        self.geyser: dict[str, GeyserEndpoint] = {}
        for g in self.config.geyser:
            token = g.x_token
            if token is None:
                token = (
                    "localnet-"
                    + hashlib.sha256(f"geyser:{seed}:{g.name}".encode()).hexdigest()[:24]
                )
            self.geyser[g.name] = GeyserEndpoint(
                g.name,
                self.geyser_feed,
                x_token=token or None,
                faults=g.faults,
                ping_interval_s=self.config.geyser_ping_interval_s,
            )
        self.endpoints: dict[str, RpcEndpoint] = {
            ep.name: RpcEndpoint(
                ep.name, self.cluster, ep.profile, seed=_endpoint_seed(seed, ep.name)
            )
            for ep in self.config.endpoints
        }
        self.block_engine = BlockEngine(self.cluster, tip_floor=self.config.jito_tip_floor)
        self.jito = JitoEndpoint(
            self.block_engine, self.config.jito_profile, seed=_endpoint_seed(seed, "jito")
        )
        # every block engine by name, the primary first: all feed `block_engine`
        self.jito_engines: dict[str, JitoEndpoint] = {"jito": self.jito}
        for extra in self.config.jito_engines:
            self.jito_engines[extra.name] = JitoEndpoint(
                self.block_engine,
                extra.profile,
                seed=_endpoint_seed(seed, f"jito-{extra.name}"),
                name=extra.name,
            )
        self.market = Market(self.cluster, seed)
        self.pump = install_pump(self.cluster)  # pump.fun + pump fees (localnet.pump)
        self.factory = TokenFactory(self.cluster, self.market)
        self.engine = ScenarioEngine(
            self.cluster, self.market, self.factory, seed, max_tokens=self.config.max_tokens
        )
        self.engine.curves.block_engine = self.block_engine  # bundle_via = "jito" launches
        # scripted rival snipers buying every pump.fun create (none until configured); a rival
        # with via = "jito" sends bundles through the block engine
        self.rivals = RivalSnipers(self.cluster, seed, block_engine=self.block_engine)
        # message dates from the chain's clock (block time of the newest slot)
        self.telegram = FakeTelegram(clock=lambda: self.cluster.block_time(self.cluster.slot))
        self._runners: list[web.AppRunner] = []
        self._engine_attached = False
        self.urls: LocalnetUrls | None = None

    async def _serve(self, app: web.Application, port: int) -> str:
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, port)
        await site.start()
        self._runners.append(runner)
        return f"http://{self.config.host}:{runner.addresses[0][1]}"

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
        await self.jito.start(host, self.config.jito_port)
        for extra in self.config.jito_engines:
            await self.jito_engines[extra.name].start(host, extra.port)
        for g in self.config.geyser:
            await self.geyser[g.name].start(host, g.port)
        control = create_control_app(self.cluster, self.endpoints)
        register_jito_routes(control, self.jito, self.jito_engines)
        register_geyser_routes(control, self.geyser)
        register_control_routes(
            control,
            market=self.market,
            factory=self.factory,
            engine=self.engine,
            telegram=self.telegram,
            rival_snipers=self.rivals,
        )
        self.launchpad = register_pump_routes(control, self.cluster, self.config.seed)
        jupiter = create_jupiter_app(
            self.market, api_key=self.config.jupiter_api_key, rate_limit=None
        )
        control_url = await self._serve(control, self.config.control_port)
        jupiter_url = await self._serve(jupiter, self.config.jupiter_port)
        telegram_url = await self._serve(
            create_telegram_app(self.telegram), self.config.telegram_port
        )
        if not self._engine_attached:
            # tokens launched through the engine (scenario or POST /tokens) get their timed
            # behaviour (rug timers, freezing buyers, other traders) on every slot
            self.engine.attach()
            self._engine_attached = True
            if self.scenario is not None:
                self.engine.load(self.scenario)
                log.info("localnet.scenario", name=self.scenario.name, slot=self.cluster.slot)
        await self.cluster.start()
        self.urls = LocalnetUrls(
            rpc={n: {"http": e.http_url, "ws": e.ws_url} for n, e in self.endpoints.items()},
            jupiter=jupiter_url,
            telegram=telegram_url,
            control=control_url,
            jito=self.jito.url,
            jito_engines={name: e.url for name, e in self.jito_engines.items()},
            geyser={n: {"url": g.url, "x_token": g.x_token or ""} for n, g in self.geyser.items()},
        )
        log.info("localnet.started", **self.urls.to_json())
        return self.urls

    async def stop(self) -> None:
        await self.cluster.stop()
        self.rivals.cancel_scheduled()
        for endpoint in self.endpoints.values():
            await endpoint.stop()
        for jito in self.jito_engines.values():
            await jito.stop()
        for geyser in self.geyser.values():
            await geyser.stop()
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
