"""Every metric the bot exports, defined in one place.

Names are contracts with the runbook and its alert rules (``circuit_breaker_state``,
``swap_failures_total``, ``http_requests_total``...). A ``Metrics`` object owns its own
``CollectorRegistry`` so tests and several app instances never collide; the composition root builds
exactly one and injects it.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
)

__all__ = ["BREAKER_STATE_VALUE", "Metrics"]

# circuit_breaker_state values, as the runbook documents them.
BREAKER_STATE_VALUE = {"CLOSED": 0.0, "HALF_OPEN": 0.5, "OPEN": 1.0}

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_SNIPE_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
_SLOT_DELTA_BUCKETS = (0, 1, 2, 3, 4, 5, 8, 13, 21, 50, 150)
_SWAP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """The registry and every collector. Label sets are part of the contract."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        # process_resident_memory_bytes, process_cpu_seconds_total...: the dashboard's memory panel
        ProcessCollector(registry=r)

        # --- circuit breakers (runbook names) ---
        self.circuit_breaker_state = Gauge(
            "circuit_breaker_state",
            "Circuit breaker state: 0 = CLOSED, 0.5 = HALF_OPEN, 1 = OPEN",
            ["name"],
            registry=r,
        )
        self.circuit_breaker_failures = Counter(
            "circuit_breaker_failures",
            "Failures recorded by a circuit breaker",
            ["name"],
            registry=r,
        )
        self.circuit_breaker_successes = Counter(
            "circuit_breaker_successes",
            "Successes recorded by a circuit breaker",
            ["name"],
            registry=r,
        )
        self.circuit_breaker_rejections = Counter(
            "circuit_breaker_rejections",
            "Calls refused without being attempted because a breaker was OPEN",
            ["name"],
            registry=r,
        )
        self.circuit_breaker_transitions = Counter(
            "circuit_breaker_transitions",
            "State changes of a circuit breaker",
            ["name", "from_state", "to_state"],
            registry=r,
        )

        # --- RPC endpoints ---
        self.rpc_requests = Counter(
            "rpc_requests",
            "JSON-RPC requests by endpoint, method and outcome",
            ["endpoint", "method", "outcome"],
            registry=r,
        )
        self.rpc_request_duration_seconds = Histogram(
            "rpc_request_duration_seconds",
            "JSON-RPC request latency by endpoint and method",
            ["endpoint", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.rpc_failovers = Counter(
            "rpc_failovers",
            "Calls moved to another endpoint after a retryable failure",
            ["from_endpoint", "reason"],
            registry=r,
        )
        self.rpc_degraded_reads = Counter(
            "rpc_degraded_reads",
            "Reads answered from the stale cache because no endpoint was allowed",
            ["method"],
            registry=r,
        )
        self.rpc_endpoint_slot = Gauge(
            "rpc_endpoint_slot", "Last slot reported by an endpoint", ["endpoint"], registry=r
        )
        self.ws_messages = Counter(
            "ws_messages", "WebSocket notifications received", ["endpoint", "kind"], registry=r
        )
        self.ws_notification_lag_seconds = Histogram(
            "ws_notification_lag_seconds",
            "How much later an endpoint delivered a notification than the first endpoint",
            ["endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.ws_reconnects = Counter(
            "ws_reconnects", "WebSocket reconnects", ["endpoint"], registry=r
        )
        # --- launch feeds (WebSocket logs vs Yellowstone gRPC): which one saw a mint first ---
        self.launch_first_seen = Counter(
            "launch_first_seen",  # exported as launch_first_seen_total
            "Launches whose first sighting came from this feed (websocket, geyser)",
            ["source"],
            registry=r,
        )
        self.launch_first_seen_gap_seconds = Histogram(
            "launch_first_seen_gap_seconds",
            "How much later this feed saw a launch another feed had already seen",
            ["source"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.geyser_updates = Counter(
            "geyser_updates",
            "Yellowstone gRPC stream updates by kind (transaction, account, slot, ping, "
            "duplicate, malformed)",
            ["kind"],
            registry=r,
        )
        self.geyser_reconnects = Counter(
            "geyser_reconnects", "Yellowstone gRPC stream reconnects by reason", ["reason"],
            registry=r,
        )  # fmt: skip
        self.geyser_slot = Gauge(
            "geyser_slot", "Last slot a Yellowstone gRPC update carried", registry=r
        )

        # --- trading (runbook names) ---
        self.swap_execution_duration_seconds = Histogram(
            "swap_execution_duration_seconds",
            "Time from order start to a final state",
            ["side", "outcome"],
            buckets=_SWAP_BUCKETS,
            registry=r,
        )
        self.swap_failures = Counter(
            "swap_failures", "Failed swaps by classified reason", ["reason"], registry=r
        )
        self.swap_stage_duration_seconds = Histogram(
            "swap_stage_duration_seconds",
            "Latency of each executor stage",
            ["stage"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.orders = Gauge("orders", "Orders currently in each state", ["state"], registry=r)
        self.order_transitions = Counter(
            "order_transitions", "Order state transitions", ["to_state"], registry=r
        )

        # --- landing (issue 15): the hot path and the relays ---
        self.snipe_latency_seconds = Histogram(
            "snipe_latency_seconds",
            "Launch event received -> the signed buy's bytes on the wire, by source and venue",
            ["source", "venue"],
            buckets=_SNIPE_BUCKETS,
            registry=r,
        )
        self.landed_slot_delta = Histogram(
            "landed_slot_delta",
            "Slots between a launch's create transaction and the bot's landed buy (0 = same block)",
            ["venue"],
            buckets=_SLOT_DELTA_BUCKETS,
            registry=r,
        )
        self.jito_bundles = Counter(
            "jito_bundles",
            "Jito bundles by block engine and outcome: sent, rejected, unreachable, landed, failed",
            ["engine", "outcome"],
            registry=r,
        )

        self.position_exits = Counter(
            "position_exits",
            "Automatic exits of open positions by rule and outcome",
            ["reason", "outcome"],
            registry=r,
        )

        # --- safety ---
        self.risk_checks = Counter(
            "risk_checks",
            "Token risk checks by verdict and source",
            ["verdict", "source"],
            registry=r,
        )
        self.risk_check_duration_seconds = Histogram(
            "risk_check_duration_seconds",
            "Duration of a full (uncached) risk check",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )

        # --- ops HTTP server (runbook names) ---
        self.http_requests = Counter(
            "http_requests",
            "HTTP requests served by the ops server",
            ["method", "path", "status"],
            registry=r,
        )
        self.http_request_duration_seconds = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency of the ops server",
            ["method", "path"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )

        # --- cache / redis ---
        self.cache_requests = Counter(
            "cache_requests",
            "Cache lookups by backend and result",
            ["backend", "result"],
            registry=r,
        )
        self.redis_up = Gauge(
            "redis_up",
            "1 when Redis answers, 0 when the in-process fallback is in use",
            registry=r,
        )
        self.component_up = Gauge(
            "component_up",
            "Health of each component: 1 ok, 0.5 degraded, 0 down",
            ["component"],
            registry=r,
        )

        # --- telegram ---
        self.telegram_updates = Counter(
            "telegram_updates", "Telegram updates handled", ["kind", "outcome"], registry=r
        )
        self.telegram_update_duration_seconds = Histogram(
            "telegram_update_duration_seconds",
            "Time from an update reaching the dispatcher to its handling done (reply sent)",
            ["command"],  # a bounded set: telegram.middlewares.update_command
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )

        self.telegram_webhook_duplicates = Counter(
            "telegram_webhook_duplicates",
            "Webhook deliveries of an update already claimed: done (confirmed, not handled "
            "again) or busy (another replica is handling it: 503, Telegram retries)",
            ["outcome"],
            registry=r,
        )
        # --- replicas: 1 per process; Prometheus' target `instance` (host:port or the pod name,
        # deploy/prometheus/prometheus.yml) joins it to every other series of that replica ---
        self.bot_instance_info = Gauge(
            "bot_instance_info", "This process's INSTANCE_ID (always 1)", ["instance_id"],
            registry=r,
        )  # fmt: skip

        # --- wallet ---
        self.withdrawals = Counter(
            "withdrawals", "Withdrawals by final outcome", ["outcome"], registry=r
        )
        self.wallet_unlocks = Counter(
            "wallet_unlocks", "Wallet decryptions by outcome", ["outcome"], registry=r
        )

    def set_breaker_state(self, name: str, state: str) -> None:
        self.circuit_breaker_state.labels(name=name).set(BREAKER_STATE_VALUE[state])
