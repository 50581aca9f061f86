"""Composition root: Settings -> every object, and the supervised runtime.

Only this module (and ``cli``) builds objects. Long-running loops live in one
``asyncio.TaskGroup``; SIGTERM/SIGINT set the stop event; services get ``STOP_DEADLINE_S`` to return
with in-flight work persisted (orders are persisted before every send: a stop never loses a swap).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog

from sniper_bot.config import Settings, redact_dsn

if TYPE_CHECKING:
    from sniper_bot.components import Stack
    from sniper_bot.control.facade import Control
    from sniper_bot.domain.entities import Order, Position
    from sniper_bot.domain.exits import ExitDecision
    from sniper_bot.domain.withdrawal import WithdrawalRecord
    from sniper_bot.engine import SnipeEngine, SnipeResult
    from sniper_bot.engine.exits import PositionMonitor
    from sniper_bot.hotpath import HotArming, HotSniper
    from sniper_bot.ops.admin import AdminService
    from sniper_bot.ops.chaos import MemoryBallast
    from sniper_bot.telegram.bot import TelegramFrontend
    from sniper_bot.trading.service import TradingService
    from sniper_bot.wallet.withdrawals import WithdrawalService
from sniper_bot.errors import ConfigError
from sniper_bot.observability.health import ComponentHealth, HealthRegistry, Status
from sniper_bot.observability.logging import configure_logging
from sniper_bot.observability.metrics import Metrics
from sniper_bot.observability.server import OpsServer, create_ops_app

__all__ = ["STOP_DEADLINE_S", "App", "run_app"]

STOP_DEADLINE_S = 10.0
HOUSEKEEPING_INTERVAL_S = 60.0
OUTBOX_INTERVAL_S = 2.0  # how often final results nobody delivered are pushed
OUTBOX_GRACE_S = 10.0  # an order that changed this recently is left to the path that ended it
log = structlog.get_logger(__name__)

Service = Callable[[asyncio.Event], Awaitable[None]]


@dataclass
class App:
    """Everything the bot runs, built from settings. ``start`` does the I/O; ``run`` supervises."""

    settings: Settings
    metrics: Metrics = field(default_factory=Metrics)
    auto_migrate: bool = False

    def __post_init__(self) -> None:
        from sniper_bot.cache.redis import RedisManager
        from sniper_bot.components import build_signer_cache, build_wallets
        from sniper_bot.storage.database import Database
        from sniper_bot.storage.repositories import Repositories

        s = self.settings
        self.instance = s.observability.instance  # INSTANCE_ID, else host name-pid
        self.health = HealthRegistry(self.metrics, instance=self.instance)
        self.metrics.bot_instance_info.labels(instance_id=self.instance).set(1)
        self.database = Database(s.database_url, pool_size=s.database.connection_limit)
        self.repos = Repositories.build(self.database)
        self.signers = build_signer_cache(s)
        self.wallets = build_wallets(s, self.repos, self.metrics, self.signers)
        self.redis = RedisManager(
            s.redis_url,
            max_connections=s.redis.max_connections,
            max_retries=s.redis.max_retries,
            metrics=self.metrics,
        )
        self.ops = OpsServer(
            create_ops_app(self.metrics, self.health, compress=s.cache.compression_enabled),
            s.observability.metrics_host,
            s.observability.metrics_port,
        )
        self.stack: Stack | None = None
        self.trading: TradingService | None = None
        self.control: Control | None = None
        self.telegram: TelegramFrontend | None = None
        self._services: list[tuple[str, Service]] = []
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self.stop_event = asyncio.Event()
        self.failed: list[str] = []
        self.health.register("database", self._database_health, required=True)
        self.health.register("redis", self._redis_health, required=False)
        self.health.register("rpc", self._rpc_health, required=True)

    # --- health checks -------------------------------------------------------------------------
    async def _database_health(self) -> ComponentHealth:
        latency = await self.database.ping()
        return ComponentHealth(Status.OK, "", {"latency_ms": round(latency * 1000, 2)})

    async def _redis_health(self) -> ComponentHealth:
        status = self.redis.status()
        detail = {
            "ok": "",
            "disabled": "REDIS_URL is empty: in-process fallback",
            "degraded": "Redis unreachable: in-process fallback, reconnecting",
        }.get(status, "")
        return ComponentHealth(Status(status), detail)

    async def _rpc_health(self) -> ComponentHealth:
        if self.stack is None:
            return ComponentHealth(Status.DOWN, "not started")
        endpoints = self.stack.pool.status()
        usable = [e for e in endpoints if e.breaker_state != "OPEN" and not e.behind]
        data = {
            "pool_breaker": self.stack.pool.pool_state(),
            "endpoints": {e.name: e.breaker_state for e in endpoints},
        }
        if not usable:
            return ComponentHealth(Status.DOWN, "every RPC endpoint is refused", data)
        if len(usable) < len(endpoints):
            return ComponentHealth(Status.DEGRADED, "some RPC endpoints are refused", data)
        return ComponentHealth(Status.OK, "", data)

    # --- lifecycle -----------------------------------------------------------------------------
    def add_service(self, name: str, service: Service) -> None:
        """Register a long-running coroutine; it gets the stop event and must return when set."""
        self._services.append((name, service))

    def add_closer(self, closer: Callable[[], Awaitable[None]]) -> None:
        self._closers.append(closer)

    async def start(self) -> None:
        """Connect, check the schema, start the ops server. Raises ConfigError on bad setups."""
        await self.database.connect(attempts=self.settings.database.connect_attempts)
        self.add_closer(self.database.dispose)
        if not await self.database.is_up_to_date():
            if self.auto_migrate:
                await self.database.upgrade()
            else:
                current, head = await self.database.migration_status()
                raise ConfigError(
                    f"DATABASE_URL: the database schema is at {current or 'nothing'}, this version "
                    f"needs {head}; run `sniper-bot migrate` (or `make migrate`) first"
                )
        await self.redis.start()
        self.add_closer(self.redis.close)
        await self._build_runtime()
        await self.ops.start()
        self.add_closer(self.ops.stop)
        log.info(
            "app_started",
            metrics_url=f"{self.ops.url}/metrics",
            health_url=f"{self.ops.url}/health",
            database=redact_dsn(self.settings.database_url),
            redis=self.redis.status(),
        )

    async def _build_runtime(self) -> None:
        from sniper_bot.components import build_paper, build_stack, build_trading
        from sniper_bot.control.facade import Control, ControlDeps

        s = self.settings
        self.stack = stack = await build_stack(s, self.metrics, self.redis, self.repos)
        self.add_closer(stack.close)
        self.trading = trading = build_trading(s, stack, self.repos, self.wallets, self.metrics)
        self.withdrawals = withdrawals = self._build_withdrawals(stack)
        self.control = Control(
            ControlDeps(
                users=self.repos.users,
                settings=self.repos.settings,
                orders=self.repos.orders,
                positions=self.repos.positions,
                wallets=self.wallets,
                trading=trading,
                rpc=stack.rpc,
                venue=stack.venue,
                risk=stack.risk,
                withdrawals=withdrawals,
                risk_threshold=s.safety.block_threshold,
                max_jito_tip_lamports=s.jito.max_tip_lamports,
            )
        )
        self.paper, pnl = build_paper(s, stack, self.database)  # snipes, limits, DCA use it too
        self.control.attach_paper(  # paper trading: PAPER_TRADING, or the user's /settings switch
            self.paper, pnl, everyone=s.trading.paper_trading
        )

        async def chain_background(stop: asyncio.Event) -> None:
            await _until_stopped(stack.rpc.run_background(), stop)

        async def recovery(stop: asyncio.Event) -> None:
            """Every non-final order once at start, then (while the bot runs) each order whose
            lease lapsed: a worker that died or stopped in a database outage. A stop
            interrupts it at any point (every order is persisted before each step)."""

            async def start_then_claim() -> None:
                try:
                    orders = await trading.recover_all()
                    done = await withdrawals.recover_all()
                    log.info("recovery_done", orders=len(orders), withdrawals=len(done))
                except Exception:  # the database is away at start: the claimer catches up
                    log.warning("recovery_at_start_failed", exc_info=True)
                await trading.run_claimer(stop)

            await _until_stopped(start_then_claim(), stop)

        self.add_service("withdrawals", withdrawals.run)
        self.snipes = self._build_snipes(stack, trading)
        self.control.attach_snipes(self.snipes)
        self._ballast: MemoryBallast | None = None
        if self.settings.telegram.chaos_enabled:  # /memory hog: the memory-pressure drill
            from sniper_bot.ops.chaos import MemoryBallast

            self._ballast = MemoryBallast()
            self.control.attach_ballast(self._ballast)
        self.control.attach_admin(self._build_admin(stack))
        self.add_service("snipes", self.snipes.run)
        self.exits = self._build_exits(stack, trading)
        self.add_service("exits", self.exits.run)
        from sniper_bot.components import build_paper_exits

        self.paper_exits = build_paper_exits(self, stack)  # the paper book's positions
        self.add_service("paper_exits", self.paper_exits.run)
        self.add_service("chain", chain_background)
        self.add_service("recovery", recovery)
        self.add_service("order_outbox", self._order_outbox)
        self.add_service("housekeeping", self._housekeeping)
        token = s.telegram.bot_token.get_secret_value()
        if token:
            self._add_telegram(token)
        else:
            log.warning("telegram_disabled", reason="BOT_TOKEN is empty")

    def _ballast_size(self) -> dict[str, tuple[int, int]]:
        """/memory's line for the chaos ballast (CHAOS_ENABLED): MiB held / the most it holds."""
        ballast = self._ballast
        return {} if ballast is None else {"chaos ballast MiB": (ballast.held_mib, ballast.max_mib)}

    def _build_admin(self, stack: Stack) -> AdminService:
        """/status and /maintenance for ADMIN_TELEGRAM_IDS; the flag is shared through Redis."""
        from sniper_bot.cache.maintenance import MaintenanceFlag
        from sniper_bot.domain.orders import FINAL_STATES
        from sniper_bot.ops.admin import AdminService

        orders = self.repos.orders

        async def queues() -> dict[str, int]:
            counts = await orders.count_by_status()
            return {
                f"orders {status.value}": n
                for status, n in counts.items()
                if status not in FINAL_STATES
            } or {"orders in flight": 0}

        return AdminService(
            self.settings.telegram.admin_id_set,
            self.health,
            MaintenanceFlag(self.redis),
            breakers=lambda: {b.name: b.state().value for b in stack.breakers.all()},
            queues=queues,
            # /memory: the bounded caches reachable from here (items, bound)
            caches=lambda: (
                {"rpc reads": (len(stack.pool.cache), stack.pool.cache.max_items)}
                | self._ballast_size()
            ),
        )

    def _build_withdrawals(self, stack: Stack) -> WithdrawalService:
        from datetime import UTC, datetime

        from sniper_bot.wallet.withdrawals import WithdrawalService

        return WithdrawalService(
            stack.rpc,
            self.wallets,
            self.repos.withdrawals,
            self.metrics,
            lambda: datetime.now(UTC),
            # without a bot nobody can be told: results stay untold for a start that has one
            notify=self._notify_withdrawal if self.settings.telegram.bot_token else None,
        )

    async def _notify_withdrawal(self, record: WithdrawalRecord) -> None:
        """A withdrawal ended: tell its owner (raises to be retried when Telegram is down)."""
        if self.control is None or self.telegram is None:
            raise RuntimeError("the Telegram frontend is not built yet; kept for later")
        outcome = await self.control.withdrawal_outcome(record)
        if outcome is not None:
            await self.telegram.notify_withdrawal(*outcome)

    def _build_snipes(self, stack: Stack, trading: TradingService) -> SnipeEngine:
        """Launch detection (pump.fun logs, Raydium v4 accounts) on a dedicated subscription
        manager, subscribed on two endpoints at once, feeding the snipe engine."""
        from sniper_bot.chain.ws import SubscriptionManager
        from sniper_bot.components import build_geyser_feeds, endpoints
        from sniper_bot.detection import LaunchDetector, PumpFunListener, RaydiumV4Listener
        from sniper_bot.detection.pumpfun import MigrationResolver
        from sniper_bot.engine import QuoteRouteProbe, SnipeEngine

        manager = SubscriptionManager(
            endpoints(self.settings), self.metrics, session=stack.http, redundancy=2
        )
        arming, sniper = self._build_hot_path(stack, trading)
        cluster = self._build_cluster(manager, sniper) if self.settings.cluster.enabled else None
        hot_create = sniper.on_create if cluster is None else cluster.on_create
        # curve updates feed the creator reputation the hot path's risk decision reads, and
        # the limit orders on curve coins (issue 18: components.build_limits, its services)
        # and the followed wallets' curve trades (copy trading: components.build_copy)
        from sniper_bot.components import build_copy, build_limits

        curves = build_limits(self, stack, trading).curve_sink(stack.reputation.observe)
        copy_curves = build_copy(self, stack, trading).curve_sink(curves)

        def with_exits(update: Any) -> None:  # then the exit monitor's (built after this)
            try:
                copy_curves(update)
            finally:
                exits = getattr(self, "exits", None)
                if exits is not None:
                    exits.on_curve(update)

        curves = with_exits
        # a migrate whose logs name no pool: its transaction is fetched and decoded (graduation
        # snipes fire from the WebSocket logs alone, without GEYSER_ENABLED)
        migrations = MigrationResolver(lambda sig: stack.pool.request("getTransaction", [
            sig, {"encoding": "json", "commitment": "confirmed",
                  "maxSupportedTransactionVersion": 0},
        ]))  # fmt: skip
        pumpfun = PumpFunListener(on_create=hot_create, on_curve=curves,
                                  migrations=migrations)  # fmt: skip
        # GEYSER_ENABLED: the Yellowstone gRPC stream beside the WebSocket logs, same hooks (the
        # hot path drops the second sighting of a create), first seen wins in the detector
        geyser = build_geyser_feeds(self.settings, self.metrics, on_create=hot_create,
                                    on_curve=curves)  # fmt: skip
        source = manager if cluster is None else cluster.feed  # CLUSTER_ENABLED: the stream
        detector = LaunchDetector(source, [pumpfun, RaydiumV4Listener()], self.metrics,
                                  feeds=[*geyser, migrations])  # fmt: skip
        return SnipeEngine(
            feeds=[detector],
            targets=self.repos.snipes,
            trading=trading,
            risk=stack.risk,
            metrics=self.metrics,
            probe=QuoteRouteProbe(stack.venue),
            on_settled=self._notify_snipe,
            hot=arming,
            paper=self.paper,  # paper users' snipes fill in the paper book (never the hot path)
        )

    def _build_cluster(self, manager: Any, sniper: HotSniper) -> Any:
        """CLUSTER_ENABLED: one feed leader (Redis lease + fencing token) publishes the chain feed
        to a Redis stream every replica decodes; the armed orders are fired by the replica that
        owns their partition (consumer groups, reclaim after a crash); without Redis every
        replica decodes and fires on its own (``sniper_bot.cluster``)."""
        import time as _time

        from sniper_bot.cluster import (
            ClusteredFeed,
            ClusterNode,
            ClusterStore,
            Leadership,
            Membership,
            PartitionExecutor,
            instance_name,
        )
        from sniper_bot.detection.pumpfun import PumpFunListener
        from sniper_bot.hotpath import HotSniper

        c, client = self.settings.cluster, self.redis.client
        if client is None:
            raise ConfigError("CLUSTER_ENABLED: needs REDIS_URL (the replicas share Redis)")
        book, relays, decider, after = self._hot_parts
        instance = getattr(self, "instance", "") or instance_name()  # INSTANCE_ID
        store = ClusterStore(client)
        lead = Leadership(store, "ws", instance, lease_ms=c.lease_ms)
        feed = ClusteredFeed(manager, store, lead, replay_s=3 * c.lease_ms / 1000)
        members = Membership(store, instance, partitions=c.partitions, ttl_ms=c.lease_ms)

        def decoder(hot: Any) -> Any:
            listener = PumpFunListener(on_create=hot.on_create)
            return lambda note: listener.decode(note, _time.monotonic())

        executor = PartitionExecutor(
            store, "ws", members, book, decoders=decoder,
            snipers=lambda view: HotSniper(view, relays, risk=decider, after=after,
                                           paper=self._fire_paper),
            stream_ok=lambda: not feed.fallback, claim_idle_ms=c.claim_idle_ms,
        )  # fmt: skip
        node = ClusterNode(instance, feed, executor, sniper)

        async def cluster(stop: asyncio.Event) -> None:
            with node:
                await executor.run(stop)

        async def cluster_health() -> ComponentHealth:
            data = node.status()
            fallback = data["feeds"]["ws"]["mode"] == "fallback"
            alone = "Redis out of reach: this replica decodes and fires on its own"
            detail = alone if fallback else ""
            return ComponentHealth(Status.DEGRADED if fallback else Status.OK, detail, data)

        self.add_service("cluster", cluster)
        self.health.register("cluster", cluster_health, required=False)
        self.cluster = node
        return node

    async def _fire_paper(self, targets: list[Any], mint: str) -> None:
        """The hot path's paper matches (creator / filter snipes on paper), filled by the engine
        (built after the hot path: looked up when a create fires them)."""
        snipes = getattr(self, "snipes", None)
        if snipes is not None:
            await snipes.fire_paper(targets, mint)

    def _build_hot_path(self, stack: Stack, trading: TradingService) -> tuple[HotArming, HotSniper]:
        """The zero-round-trip snipe (issue 15): armed book shared through Redis, a durable
        nonce per target, the buy built from the pump.fun create and fanned out to every RPC
        endpoint and block engine; the bookkeeping after the send."""
        from sniper_bot.cache.armed import ArmedChannel
        from sniper_bot.components import build_relays
        from sniper_bot.hotpath import (
            ArmedBook,
            ArmedBookSync,
            FiredBookkeeping,
            HotArming,
            HotSniper,
            TradingRecorder,
        )
        from sniper_bot.hotpath.risk import DecisionRows, LaunchDecider
        from sniper_bot.safety.launch import LaunchPolicy
        from sniper_bot.storage.repositories.creators import CreatorHistoryRepository

        s = self.settings
        relays, tips = build_relays(s, stack, self.metrics)
        book: ArmedBook[Any] = ArmedBook()
        holder: list[HotArming] = []
        sync: ArmedBookSync[Any] = ArmedBookSync(
            book,
            ArmedChannel(self.redis),
            self.repos.snipes,
            on_added=lambda entry: holder[0].prepare_later(entry) if holder else None,
        )
        arming = HotArming(
            sync=sync, targets=self.repos.snipes, nonces=stack.nonces, signers=self.wallets,
            settings=self.repos.settings, chain=stack.rpc, tips=tips,
            tip_accounts=relays.tip_accounts, default_tip_percentile=s.jito.tip_percentile,
            bundles_available=bool(relays.engines),
            max_priority_fee_lamports=s.trading.max_priority_fee_lamports,
        )  # fmt: skip
        holder.append(arming)
        after = FiredBookkeeping(
            targets=self.repos.snipes, recorder=TradingRecorder(trading), orders=self.repos.orders,
            publisher=sync, retirement=arming, notify=self._notify_snipe,
            launches=DecisionRows(self.repos.honeypot_checks), watcher=relays,
        )  # fmt: skip
        reputation = stack.reputation
        decider = LaunchDecider(reputation, LaunchPolicy(threshold=s.safety.block_threshold))
        sniper = HotSniper(book, relays, risk=decider, after=after, paper=self._fire_paper)
        self.hot_arming, self.hot_sniper = arming, sniper
        self._hot_parts = (book, relays, decider, after)  # the cluster's executor reuses them

        async def hot_path(stop: asyncio.Event) -> None:
            history = CreatorHistoryRepository(self.database)  # restarts keep known ruggers
            workers: list[asyncio.Task[Any]] = [
                asyncio.create_task(arming.run(stop), name="hot-arming"),
                asyncio.create_task(reputation.run(history), name="creator-reputation"),
            ]
            if tips is not None:
                workers.append(asyncio.create_task(tips.run(), name="jito-tip-floor"))
                workers.append(asyncio.create_task(relays.refresh_tip_accounts()))
            try:
                await stop.wait()
            finally:
                await sniper.close()
                for worker in workers:
                    worker.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
                await relays.close()

        self.add_service("hot_path", hot_path)
        return arming, sniper

    def _build_exits(self, stack: Stack, trading: TradingService) -> PositionMonitor:
        from sniper_bot.engine.exits import PositionMonitor

        return PositionMonitor(
            positions=self.repos.positions,
            settings=self.repos.settings,
            trading=trading,
            venue=stack.venue,
            metrics=self.metrics,
            on_exit=self._notify_exit,
            orders=self.repos.orders,  # which ladder steps sold (crash-safe, per key)
        )

    async def _notify_exit(
        self, user_id: int, position: Position, decision: ExitDecision, order: Order
    ) -> None:
        reason, status = decision.reason.value, order.status.value
        if not order.id.startswith("paper:"):  # paper exits sell nothing real: not counted
            self.metrics.position_exits.labels(reason=reason, outcome=status).inc()
        if self.control is None or self.telegram is None:
            return
        from sniper_bot.domain.notify import NoticeKind

        if not await self.control.wants_notice(user_id, NoticeKind.EXIT):  # /settings: off
            await self._mark_told(order)  # muted is told: the outbox must not push it either
            return
        outcome = await self.control.exit_outcome(user_id, position, decision, order)
        if outcome is not None:
            await self.telegram.notify_exit(*outcome)
            await self._mark_told(order)

    async def _notify_snipe(self, result: SnipeResult) -> None:
        if self.control is None or self.telegram is None:
            return
        from sniper_bot.domain.notify import notice_of_snipe

        order_status = result.order.status.value if result.order is not None else None
        kind = notice_of_snipe(result.target.status.value, order_status)
        if not await self.control.wants_notice(result.target.user_id, kind):  # /settings: off
            await self._mark_told(result.order)
            return
        outcome = await self.control.snipe_outcome(result)
        if outcome is not None:
            await self.telegram.notify_snipe(*outcome)
            await self._mark_told(result.order)

    async def _mark_told(self, order: Order | None) -> None:
        """A message showed this order: if it was final there, the outbox must not repeat it."""
        from datetime import UTC, datetime

        if order is None or not order.is_final or order.id.startswith("paper:"):
            return  # the outbox pushes the final result when it ends (a paper fill has no row)
        try:
            await self.repos.orders.mark_notified(order.id, datetime.now(UTC))
        except Exception:
            log.warning("order_told_mark_failed", order_id=order.id, exc_info=True)

    async def _order_outbox(self, stop: asyncio.Event) -> None:
        """Every ``OUTBOX_INTERVAL_S``: push final orders whose owner was never told (ended in
        recovery or by a claimer, or the handler that placed them went away).

        Exactly once per order, as for withdrawals: the ``notifiedAt`` marker is claimed by
        compare-and-set before the message goes out and released when sending fails, so of
        two replicas one sends. The trade-off: a process killed between the claim and the send
        loses that one message; it never sends two. Orders that changed within
        ``OUTBOX_GRACE_S`` are left to the path that finished them (the handler that shows the
        result, the snipe or exit notifier), which marks them told.
        """
        from datetime import UTC, datetime, timedelta

        if self.telegram is None or self.control is None:
            return  # nobody to tell; results stay owed for a start that has a bot
        orders, control, telegram = self.repos.orders, self.control, self.telegram
        while not stop.is_set():
            try:
                now = datetime.now(UTC)
                owed = await orders.list_unnotified(now - timedelta(seconds=OUTBOX_GRACE_S))
            except Exception as exc:  # the database is away: the next round asks again
                log.info("order_outbox_unavailable", error=type(exc).__name__)
                owed = []
            for order in owed:
                if stop.is_set():
                    break
                try:
                    outcome = await control.order_outcome(order.id)
                    if outcome is None or not await orders.mark_notified(order.id, now):
                        continue
                    if not await _wanted(control, order):  # /settings: muted counts as told
                        log.info("order_result_muted", order_id=order.id)
                        continue
                except Exception as exc:
                    log.info("order_outbox_claim_failed", order_id=order.id, error=repr(exc))
                    continue
                try:
                    await telegram.notify_order(*outcome)
                    log.info("order_result_pushed", order_id=order.id, status=order.status.value)
                except Exception:  # Telegram is away: give the marker back for the next round
                    log.warning("order_outbox_send_failed", order_id=order.id, exc_info=True)
                    with contextlib.suppress(Exception):
                        await orders.unmark_notified(order.id, now)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), OUTBOX_INTERVAL_S)

    async def _housekeeping(self, stop: asyncio.Event) -> None:
        """Every minute: drop expired unlocked signers and expired durable sessions."""
        from datetime import UTC, datetime

        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), HOUSEKEEPING_INTERVAL_S)
                if stop.is_set():
                    break  # a stop starts no database work (the database may be what is away)
                self.signers.purge_expired()
                try:
                    await self.repos.sessions.purge_expired(datetime.now(UTC))
                except Exception as exc:  # a database hiccup must not stop the bot; next round
                    log.warning("session_purge_failed", error=type(exc).__name__)
        finally:
            self.signers.clear()

    def _add_telegram(self, token: str) -> None:
        from sniper_bot.telegram.bot import (
            TelegramFrontend,
            WebhookConfig,
            build_bot,
            build_dispatcher,
        )

        if self.control is None:
            raise RuntimeError("control is built before the Telegram frontend")
        dispatcher = build_dispatcher(
            self.control,
            self.metrics,
            redis_client=self.redis.client,
            redis_available=lambda: self.redis.available,
            on_redis_failure=self.redis.mark_failed,
            sessions=self.repos.sessions,
        )
        telegram = self.settings.telegram
        webhook = None
        if telegram.webhook_url:
            webhook = WebhookConfig(
                telegram.webhook_url,
                telegram.webhook_secret.get_secret_value(),
                host=telegram.webhook_host,
                port=telegram.webhook_port,
            )
        bot = build_bot(token, telegram.api_url, send_rate_per_s=telegram.send_rate_per_s)
        dedup = None
        if webhook is not None:  # replicas behind one URL: one answer per update (dedup.py)
            from sniper_bot.telegram.dedup import UpdateDedup

            dedup = UpdateDedup(
                self.redis.client,
                instance=self.instance,
                bot_id=bot.id,
                available=lambda: self.redis.available,
                on_failure=self.redis.mark_failed,
                metrics=self.metrics,
            )
        frontend = TelegramFrontend(bot, dispatcher, webhook=webhook, dedup=dedup)
        self.telegram = frontend
        self.add_service("telegram", frontend.run)
        from sniper_bot.storage.repositories.broadcasts import BroadcastRepository
        from sniper_bot.telegram.broadcast import BroadcastRunner

        broadcasts = BroadcastRunner(frontend.bot, BroadcastRepository(self.database))
        self.control.attach_broadcasts(broadcasts)
        self.add_service("broadcast", broadcasts.run)
        self.add_closer(frontend.close)

    async def run(self) -> None:
        """Run every service in one TaskGroup until the stop event is set or one of them fails.

        After the stop event, services get ``STOP_DEADLINE_S`` to return; stragglers are cancelled.
        """

        async def supervised(name: str, service: Service) -> None:
            """A ``TemporaryError`` (a database or RPC outage outlasting the service's own
            retries) runs the service again after a backoff (0.5 s doubling to 10 s, reset
            after a healthy run); any other error stops the bot (``service_failed``)."""
            from sniper_bot.errors import TemporaryError

            loop, delay = asyncio.get_running_loop(), 0.5
            while not self.stop_event.is_set():
                started = loop.time()
                try:
                    await service(self.stop_event)
                    return
                except asyncio.CancelledError:
                    log.warning("service_cancelled", service=name)
                    raise
                except TemporaryError as exc:
                    delay = 0.5 if loop.time() - started > 10.0 else delay
                    log.warning("service_retry", service=name, delay_s=delay,
                                error=type(exc).__name__)  # fmt: skip
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.stop_event.wait(), delay)
                    delay = min(delay * 2, 10.0)
                except Exception:
                    log.exception("service_failed", service=name)
                    self.failed.append(name)
                    self.stop_event.set()

        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(supervised(n, s), name=n) for n, s in self._services]
            await self.stop_event.wait()
            if tasks:
                _, pending = await asyncio.wait(tasks, timeout=STOP_DEADLINE_S)
                for task in pending:
                    log.error("service_stop_deadline", service=task.get_name())
                    task.cancel()

    async def close(self) -> None:
        for closer in reversed(self._closers):
            with contextlib.suppress(Exception):
                await closer()
        self._closers.clear()


async def _wanted(control: Control, order: Order) -> bool:
    """Does the owner want this pushed order result (a snipe's, exit's, limit/DCA part's or
    copy's, by its key; an order placed by hand is always told)?"""
    from sniper_bot.domain.notify import notice_of_key

    confirmed = order.status.value == "CONFIRMED"
    kind = notice_of_key(order.idempotency_key, confirmed=confirmed)
    return await control.wants_notice(order.user_id, kind)


async def _until_stopped(work: Awaitable[None], stop: asyncio.Event) -> None:
    """Run a loop that never returns by itself until the stop event, then cancel it."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (task, stopper):
            t.cancel()
        await asyncio.gather(task, stopper, return_exceptions=True)
    if task.done() and not task.cancelled() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]


def install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


async def run_app(
    settings: Settings,
    *,
    auto_migrate: bool = False,
    on_started: Callable[[App], Awaitable[None]] | None = None,
    configure: Callable[[App], Any] | None = None,
) -> None:
    """Build, start, run until SIGTERM/SIGINT, stop. The whole process lifetime of `run`/`demo`."""
    configure_logging(
        level=settings.observability.log_level,
        fmt=settings.observability.log_format,
        secrets=settings.secret_values(),
    )
    app = App(settings, auto_migrate=auto_migrate)
    install_signal_handlers(app.stop_event)
    try:
        if configure is not None:
            configure(app)
        await app.start()
        if on_started is not None:
            await on_started(app)
        await app.run()
    finally:
        await app.close()
        log.info("app_stopped")
