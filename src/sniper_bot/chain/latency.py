"""``sniper-bot rpc-latency``: probe every endpoint N times and show p50/p95/max, errors, slot.

Probes bypass the pool (no failover, no breakers touched) so each endpoint is measured on its own;
the breaker state column comes from the caller (``RpcPool.status()``) when a pool is running.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import aiohttp
from rich.table import Table

from sniper_bot.chain.client import JsonRpcClient
from sniper_bot.chain.endpoints import EndpointConfig, redact_url
from sniper_bot.chain.errors import RpcError

__all__ = ["EndpointProbe", "percentile", "probe_endpoints", "render_latency_table"]


@dataclass(frozen=True, slots=True)
class EndpointProbe:
    name: str
    url: str
    latencies_ms: tuple[float, ...]
    errors: int
    last_error: str | None
    slot: int | None
    breaker_state: str | None = None

    @property
    def p50_ms(self) -> float | None:
        return percentile(self.latencies_ms, 50)

    @property
    def p95_ms(self) -> float | None:
        return percentile(self.latencies_ms, 95)

    @property
    def max_ms(self) -> float | None:
        return max(self.latencies_ms) if self.latencies_ms else None


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile (``pct`` in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil without floats drifting
    return ordered[min(len(ordered), int(rank)) - 1]


async def probe_endpoints(
    endpoints: Sequence[EndpointConfig],
    n: int,
    timeout_s: float,
    *,
    session: aiohttp.ClientSession | None = None,
    breaker_states: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> list[EndpointProbe]:
    """``getSlot`` ``n`` times on each endpoint, one after the other, each call timed."""
    own = session is None
    http = session or aiohttp.ClientSession()
    try:
        out: list[EndpointProbe] = []
        for cfg in endpoints:
            client = JsonRpcClient(cfg.name, cfg.url, http, headers=cfg.headers)
            latencies: list[float] = []
            errors = 0
            last_error: str | None = None
            slot: int | None = None
            for _ in range(n):
                started = clock()
                try:
                    result = await client.call(
                        "getSlot", [{"commitment": "processed"}], timeout_s=timeout_s
                    )
                except RpcError as exc:
                    errors += 1
                    last_error = exc.message
                    continue
                latencies.append((clock() - started) * 1000)
                if isinstance(result, int) and not isinstance(result, bool):
                    slot = result
            out.append(
                EndpointProbe(
                    name=cfg.name,
                    url=redact_url(cfg.url),
                    latencies_ms=tuple(latencies),
                    errors=errors,
                    last_error=last_error,
                    slot=slot,
                    breaker_state=(breaker_states or {}).get(cfg.name),
                )
            )
        return out
    finally:
        if own:
            await http.close()


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def render_latency_table(probes: Sequence[EndpointProbe]) -> Table:
    table = Table(title="RPC endpoint latency (getSlot)")
    for column in ("endpoint", "url", "p50 ms", "p95 ms", "max ms", "errors", "slot", "breaker"):
        table.add_column(column, justify="right" if "ms" in column or column == "slot" else "left")
    best_slot = max((p.slot for p in probes if p.slot is not None), default=None)
    for p in probes:
        slot = "-" if p.slot is None else str(p.slot)
        if p.slot is not None and best_slot is not None and best_slot - p.slot > 0:
            slot += f" (-{best_slot - p.slot})"
        total = len(p.latencies_ms) + p.errors
        errors = f"{p.errors}/{total}"
        if p.last_error:
            errors += f" {p.last_error[:40]}"
        table.add_row(
            p.name,
            p.url,
            _ms(p.p50_ms),
            _ms(p.p95_ms),
            _ms(p.max_ms),
            errors,
            slot,
            p.breaker_state or "-",
        )
    return table
