"""Builders shared by the composition root and the CLI: Settings -> chain, venue, risk...

Nothing here runs at import time; each builder takes what it needs explicitly. ``Stack`` owns the
objects that need a running event loop (the aiohttp session) and closes them in order.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp

from sniper_bot.cache import FallbackCache, MemoryCache
from sniper_bot.cache.redis import RedisManager
from sniper_bot.cache.redis_breaker import RedisBreakerStore
from sniper_bot.chain.endpoints import EndpointConfig, endpoints_from_urls
from sniper_bot.chain.jito import JitoClient, TipFloorCache
from sniper_bot.chain.pool import DEFAULT_HEALTH_INTERVAL_S, RpcPool
from sniper_bot.chain.relays import RelayFanout, wire_trace_config
from sniper_bot.chain.rpc import SolanaRpc
from sniper_bot.config import Settings
from sniper_bot.domain.notify import NoticeKind
from sniper_bot.hotpath.nonce import NonceManager, RpcNonceChain
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience.breaker import BreakerRegistry
from sniper_bot.resilience.breaker_policy import BreakerConfig
from sniper_bot.resilience.breaker_store import MemoryBreakerStore
from sniper_bot.safety.creators import CreatorReputation
from sniper_bot.safety.external import external_sources
from sniper_bot.safety.fetch import RpcLaunchHistory, SnapshotFetcher
from sniper_bot.safety.service import RiskService
from sniper_bot.storage.database import Database
from sniper_bot.storage.repositories import Repositories
from sniper_bot.storage.repositories.paper import PaperRepository, PnlReads
from sniper_bot.trading.executor import ExecutorConfig, SwapExecutor
from sniper_bot.trading.paper import PaperTrader
from sniper_bot.trading.service import TradingService
from sniper_bot.trading.venues.jupiter.client import JupiterClient, JupiterVenue
from sniper_bot.trading.venues.pumpfun import PumpFunVenue
from sniper_bot.trading.venues.pumpswap import PumpSwapVenue
from sniper_bot.trading.venues.router import VenueRouter
from sniper_bot.wallet.crypto import Keyring
from sniper_bot.wallet.pin import LockoutPolicy, PinHasher
from sniper_bot.wallet.pingate import PinGate
from sniper_bot.wallet.service import WalletService
from sniper_bot.wallet.sessions import SignerCache

__all__ = [
    "Stack",
    "breaker_config",
    "build_breakers",
    "build_keyring",
    "build_relays",
    "build_signer_cache",
    "build_stack",
    "build_wallets",
    "endpoints",
    "health_interval_s",
    "worker_id",
]

MIN_HEALTH_INTERVAL_S = 0.5


def breaker_config(settings: Settings) -> BreakerConfig:
    b = settings.breaker
    return BreakerConfig(
        failure_threshold=b.failure_threshold,
        success_threshold=b.success_threshold,
        timeout_s=b.timeout_ms / 1000,
        monitoring_period_s=b.monitoring_period_ms / 1000,
    )


def health_interval_s(settings: Settings) -> float:
    """How often the RPC health probe runs: every 10 s, or every breaker timeout when that is
    shorter, so an idle endpoint's OPEN breaker is probed (and closed) soon after its timeout."""
    return max(
        MIN_HEALTH_INTERVAL_S, min(DEFAULT_HEALTH_INTERVAL_S, breaker_config(settings).timeout_s)
    )


def build_geyser_feeds(settings: Settings, metrics: Metrics, **hooks: Any) -> list[Any]:
    """The Yellowstone gRPC listener when GEYSER_ENABLED (``LaunchDetector(..., feeds=...)``);
    ``hooks``: its ``curves`` / ``on_curve`` / ``on_create`` / ``on_account``."""
    if not settings.rpc.geyser_enabled:
        return []
    from sniper_bot.detection.geyser import GeyserConfig, GeyserListener

    config = GeyserConfig(
        settings.rpc.geyser_endpoint.get_secret_value(),
        settings.rpc.geyser_x_token.get_secret_value(),
    )
    return [GeyserListener(config, metrics, **hooks)]


def endpoints(settings: Settings) -> list[EndpointConfig]:
    rpc = settings.rpc
    return endpoints_from_urls(
        rpc.helius_url.get_secret_value(),
        rpc.quicknode_url.get_secret_value(),
        rpc.solana_url.get_secret_value(),
        rpc.backup_url.get_secret_value(),
        [u.strip() for u in rpc.extra_urls.get_secret_value().split(",") if u.strip()],
        ws_urls=rpc.ws_overrides(),
    )


def build_breakers(settings: Settings, metrics: Metrics, redis: RedisManager) -> BreakerRegistry:
    store: Any = RedisBreakerStore(redis) if redis.url is not None else MemoryBreakerStore()
    return BreakerRegistry(store, breaker_config(settings), metrics)


def build_keyring(settings: Settings) -> Keyring:
    secrets = settings.master_secrets()
    return Keyring.from_settings(secrets[0], secrets[1] if len(secrets) > 1 else None)


def build_signer_cache(settings: Settings) -> SignerCache:
    return SignerCache(settings.security.signer_ttl_s, time.monotonic)


def build_wallets(
    settings: Settings, repos: Repositories, metrics: Metrics, signers: SignerCache
) -> WalletService:
    return WalletService(
        users=repos.users,
        wallets=repos.wallets,
        keyring=build_keyring(settings),
        signers=signers,
        pins=PinGate(repos.users, PinHasher(), LockoutPolicy(), lambda: datetime.now(UTC)),
        metrics=metrics,
        admin_ids=settings.telegram.admin_id_set,
    )


def worker_id(configured: str = "") -> str:
    """The executor's lease owner: stable across restarts of one replica (``WORKER_ID``, else the
    host name), so a restarted process reclaims its own orders at once instead of waiting for the
    dead process's lease to lapse. Two processes sharing an id stay safe: every order transition is
    compare-and-set and a resend reuses the same signed bytes; the lease only avoids duplicate work.
    """
    return configured or socket.gethostname()


@dataclass
class Stack:
    """The network-facing objects of one process."""

    http: aiohttp.ClientSession
    breakers: BreakerRegistry
    pool: RpcPool
    rpc: SolanaRpc
    jupiter: JupiterClient
    venue: VenueRouter  # pump.fun curve -> PumpSwap pool -> Jupiter (trading.venues.router)
    risk: RiskService
    nonces: NonceManager  # durable nonces of hot snipes (hotpath.nonce)
    # every pump.fun creator's earlier coins (fed by the pump.fun listener's curve updates): the
    # hot snipe's decide_launch and the full check's creator layer read it
    reputation: CreatorReputation = field(default_factory=CreatorReputation)
    # the relay fan-out and tip floor (build_relays, once per stack): orders and the hot path
    relays: tuple[RelayFanout, TipFloorCache | None] | None = None

    async def close(self) -> None:
        """After every service stopped: whatever fails from here on is our own doing, so the
        breakers (shared through Redis, outliving this process) stop counting first."""
        self.breakers.stop()
        await self.pool.close()
        await self.http.close()
        await self.breakers.close()


async def build_stack(
    settings: Settings,
    metrics: Metrics,
    redis: RedisManager,
    repos: Repositories | None,
) -> Stack:
    """Chain + venue + risk. Must run inside the event loop (it opens the HTTP session)."""
    http = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=200, ttl_dns_cache=300),
        trace_configs=[wire_trace_config()],  # RelayFanout's "on the wire" moment
    )
    breakers = build_breakers(settings, metrics, redis)
    pool = RpcPool(
        endpoints(settings),
        breakers,
        metrics,
        session=http,
        default_timeout_s=settings.rpc.timeout_ms / 1000,
        cache_items=settings.cache.max_items,
        health_interval_s=health_interval_s(settings),
    )
    rpc = SolanaRpc(pool)
    jupiter = JupiterClient(
        http,
        settings.jupiter.api_url,
        api_key=settings.jupiter.api_key.get_secret_value() or None,
        timeout_s=settings.jupiter.timeout_ms / 1000,
        breaker=breakers.get("jupiter"),
    )
    venue = VenueRouter(
        JupiterVenue(jupiter), pumpfun=PumpFunVenue(rpc), pumpswap=PumpSwapVenue(rpc)
    )
    external = (
        external_sources(
            http,
            breakers,
            rugcheck_url=settings.safety.rugcheck_url,
            goplus_url=settings.safety.goplus_url,
        )
        if settings.safety.external_apis
        else ()
    )
    reputation = CreatorReputation()
    risk = RiskService(
        # the launch window (create slot's buys, their funding) and the creator's record
        SnapshotFetcher(
            # unforced: the report is shared by every user, a forced user's order must not shape it
            rpc,
            venue.unforced(),
            external=external,
            history=RpcLaunchHistory(rpc),
            creators=reputation,
        ),
        repos.honeypot_checks if repos is not None else None,
        threshold=settings.safety.block_threshold,
        ttl_s=float(settings.safety.cache_ttl_s),
        metrics=metrics,
        # replicas reuse each other's reports through Redis; memory when Redis is gone
        shared=(
            FallbackCache(redis, MemoryCache(settings.cache.max_items), metrics)
            if redis.url is not None
            else None
        ),
    )
    nonces = NonceManager(RpcNonceChain(rpc))
    return Stack(http, breakers, pool, rpc, jupiter, venue, risk, nonces, reputation)


def build_trading(
    settings: Settings,
    stack: Stack,
    repos: Repositories,
    wallets: WalletService,
    metrics: Metrics,
) -> TradingService:
    config = ExecutorConfig(
        worker_id=worker_id(settings.trading.worker_id),
        send_fanout=settings.trading.send_fanout,
        honeypot_threshold=settings.safety.block_threshold,
        land_deadline_s=settings.trading.transaction_timeout_ms / 1000 * 4,
        cosigners=settings.trading.cosigner_policy,
        tip_percentile=settings.jito.tip_percentile,
    )
    raw = RpcNonceChain(stack.rpc)
    # every order through every RPC endpoint and block engine; MEV protection: bundles only
    relays, tips = build_relays(settings, stack, metrics)
    executor = SwapExecutor(
        venue=stack.venue,
        rpc=stack.rpc,
        orders=repos.orders,
        trades=repos.trades,
        metrics=metrics,
        config=config,
        risk_gate=stack.risk,
        nonces=stack.nonces,
        raw=raw,
        relays=relays,
        tips=tips,
        settings=repos.settings,
    )
    return TradingService(
        executor=executor,
        orders=repos.orders,
        signers=wallets,
        metrics=metrics,
        max_priority_fee_lamports=settings.trading.max_priority_fee_lamports,
        nonces=stack.nonces,
        raw=raw,
    )


def build_paper(settings: Settings, stack: Stack, db: Database) -> tuple[PaperTrader, PnlReads]:
    """The simulated executor of paper trading (PAPER_TRADING or the user's /settings switch):
    live quotes and the risk gate, fills into the paper book; never signs or sends. With it the
    read queries of /pnl."""
    paper = PaperTrader(
        venue=stack.venue,
        book=PaperRepository(db),
        start_lamports=settings.trading.paper_start_lamports,
        max_priority_fee_lamports=settings.trading.max_priority_fee_lamports,
        risk=stack.risk,
        honeypot_threshold=settings.safety.block_threshold,
    )
    return paper, PnlReads(db)


def build_relays(
    settings: Settings, stack: Stack, metrics: Metrics
) -> tuple[RelayFanout, TipFloorCache | None]:
    """Every RPC endpoint plus every configured block engine (``JITO_BLOCK_ENGINE_URLS``); the
    tip floor of the first engine, refreshed in the background (``TipFloorCache.run``). Built
    once per stack: the executor and the hot path share them."""
    if stack.relays is not None:
        return stack.relays
    jito = settings.jito
    uuid = jito.auth_uuid.get_secret_value() or None
    engines = [
        JitoClient(name, url, stack.http, auth_uuid=uuid, tip_floor_url=jito.tip_floor_url)
        for name, url in jito.engines().items()
    ]
    relays = RelayFanout(stack.pool, engines, stack.breakers, metrics, clock=time.monotonic)
    tips = TipFloorCache(engines[0], max_tip=jito.max_tip_lamports) if engines else None
    stack.relays = (relays, tips)
    return relays, tips


@dataclass
class LimitEngines:
    """Limit orders and DCA plans (issue 18): their monitors, registered as the app's services."""

    limits: Any  # engine.limits.LimitMonitor
    dca: Any  # engine.dca.DcaMonitor

    def curve_sink(self, first: Any) -> Any:
        """A listener's ``on_curve``: ``first`` (the creator reputation), then the limit orders
        on pump.fun curve coins (their trigger is checked on every event, no polling)."""

        def both(update: Any) -> None:
            try:
                first(update)
            finally:
                self.limits.on_curve(update)

        return both


class _RealMoneyOnly:
    """The trading service for real-money limit orders and DCA plans, refusing one whose user
    trades on paper now (the switch changed since it was placed): a ``PermanentError`` that
    fails the order or plan with its sentence, never real money for a user who expects paper.
    A row placed on paper goes to the paper executor instead (``paper=`` of the monitors)."""

    def __init__(self, trading: TradingService, settings: Any, everyone: bool) -> None:
        self._trading, self._settings, self._everyone = trading, settings, everyone

    async def _check(self, user_id: int) -> None:
        from sniper_bot.errors import PermanentError

        if self._everyone or (await self._settings.get(user_id)).paper_trading:
            raise PermanentError(
                f"user {user_id} trades on paper",
                user_message="📝 Paper trading is on: this limit order or DCA plan was stopped "
                "instead of trading real money.",
            )

    async def buy(self, user_id: int, *args: Any, **kwargs: Any) -> Any:
        await self._check(user_id)
        return await self._trading.buy(user_id, *args, **kwargs)

    async def sell(self, user_id: int, *args: Any, **kwargs: Any) -> Any:
        await self._check(user_id)
        return await self._trading.sell(user_id, *args, **kwargs)


def build_limits(app: Any, stack: Stack, trading: TradingService) -> LimitEngines:
    """The limit-order and DCA monitors over the app's database, trading service and venue;
    attached to its control (commands) and told to its Telegram frontend (results)."""
    from solders.pubkey import Pubkey

    from sniper_bot.engine.dca import DcaMonitor
    from sniper_bot.engine.limits import LimitMonitor
    from sniper_bot.storage.repositories.dca import DcaPlanRepository
    from sniper_bot.storage.repositories.limits import LimitOrderRepository
    from sniper_bot.telegram.routers.limits import render_dca_step, render_limit_settled

    limits, plans = LimitOrderRepository(app.database), DcaPlanRepository(app.database)
    real = _RealMoneyOnly(trading, app.repos.settings, app.settings.trading.paper_trading)

    async def supply(mint: str) -> int:
        amount, _ = await stack.rpc.get_token_supply(Pubkey.from_string(mint))
        return amount

    async def tell(user_id: int, placed: Any, render: Any) -> None:
        if app.control is None or app.telegram is None:
            return
        if not await app.control.wants_notice(user_id, NoticeKind.FILL):  # /settings: muted
            if placed is not None and placed.is_final and not placed.id.startswith("paper:"):
                await app.repos.orders.mark_notified(placed.id, datetime.now(UTC))
            return
        outcome = await app.control.limit_outcome(user_id, placed)
        if outcome is None:
            return
        await app.telegram.bot.send_message(outcome[0], render(outcome[1]))
        if placed is not None and placed.is_final and not placed.id.startswith("paper:"):
            await app.repos.orders.mark_notified(placed.id, datetime.now(UTC))  # no repeat

    async def on_limit(order: Any, placed: Any) -> None:
        await tell(order.user_id, placed, lambda view: render_limit_settled(order, view))

    async def on_part(plan: Any, placed: Any) -> None:
        await tell(plan.user_id, placed, lambda view: render_dca_step(plan, view))

    paper = getattr(app, "paper", None)  # a row placed on paper fills in the paper book
    engines = LimitEngines(
        LimitMonitor(limits=limits, positions=app.repos.positions, trading=real,
                     venue=stack.venue, supply=supply, on_settled=on_limit, paper=paper,
                     paper_positions=paper.book if paper is not None else None),
        DcaMonitor(plans=plans, trading=real, venue=stack.venue, on_part=on_part, paper=paper),
    )  # fmt: skip
    app.control.attach_limits(limits, plans)
    app.add_service("limits", engines.limits.run)
    app.add_service("dca", engines.dca.run)
    return engines


def build_paper_exits(app: Any, stack: Stack) -> Any:
    """The automatic exits of paper positions: a second ``engine.exits.PositionMonitor`` over
    the paper book (``trading.paper.PaperExitBook``) selling through the paper executor, with
    the owners' exit rules and the same notifier (its messages are marked 📝 PAPER)."""
    from sniper_bot.engine.exits import PositionMonitor
    from sniper_bot.trading.paper import PaperExitBook

    book = PaperExitBook(app.paper.book)
    return PositionMonitor(positions=book, settings=app.repos.settings, trading=app.paper,
                           venue=stack.venue, metrics=app.metrics, on_exit=app._notify_exit,
                           orders=book)  # fmt: skip


@dataclass
class CopyEngine:
    """Copy trading (issue 18): the copy trader, registered as the app's ``copy`` service."""

    trader: Any  # engine.copy.CopyTrader

    def curve_sink(self, first: Any) -> Any:
        """A listener's ``on_curve``: ``first``, then the followed wallets' curve trades."""

        def both(update: Any) -> None:
            try:
                first(update)
            finally:
                self.trader.on_curve(update)

        return both


def build_copy(app: Any, stack: Stack, trading: TradingService) -> CopyEngine:
    """The copy trader over the app's database, trading service and RPC: pump.fun curve trades
    through ``curve_sink``, other venues through its own ``logsSubscribe`` ``mentions`` of each
    followed wallet; attached to the control (``/copy``) and told to the Telegram frontend."""
    from sniper_bot.chain.ws import SubscriptionManager
    from sniper_bot.engine.copy import CopyTrader
    from sniper_bot.storage.repositories.copy import CopyRepository
    from sniper_bot.telegram.routers.copy import render_copied

    follows = CopyRepository(app.database)
    everyone = app.settings.trading.paper_trading

    async def is_paper(user_id: int) -> bool:
        return bool(everyone or (await app.repos.settings.get(user_id)).paper_trading)

    async def tell(follow: Any, trade: Any, record: Any, placed: Any, reason: Any) -> None:
        if app.control is None or app.telegram is None:
            return
        if not await app.control.wants_notice(follow.user_id, NoticeKind.COPY):  # muted
            if placed is not None and placed.is_final:
                await app.repos.orders.mark_notified(placed.id, datetime.now(UTC))
            return
        outcome = await app.control.limit_outcome(follow.user_id, placed)
        if outcome is None:
            return
        text = render_copied(follow, trade, record, outcome[1], reason)
        await app.telegram.bot.send_message(outcome[0], text)
        if placed is not None and placed.is_final:  # shown final: the outbox must not repeat it
            await app.repos.orders.mark_notified(placed.id, datetime.now(UTC))

    manager = SubscriptionManager(endpoints(app.settings), app.metrics, session=stack.http)
    trader = CopyTrader(follows=follows, positions=app.repos.positions, trading=trading,
                        transactions=stack.rpc.get_transaction, subscriptions=manager,
                        on_copied=tell, is_paper=is_paper)  # fmt: skip
    app.control.attach_copy(follows, app.settings.trading.copy_max_leaders)
    app.add_service("copy", trader.run)
    return CopyEngine(trader)
