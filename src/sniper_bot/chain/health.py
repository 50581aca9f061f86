"""Endpoint health: the background probe (getHealth + slot lag) and the "RPC unavailable" error."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import structlog

from sniper_bot.chain.client import JsonRpcClient
from sniper_bot.chain.endpoint_state import EndpointState, outcome
from sniper_bot.chain.errors import RpcError, RpcUnavailableError
from sniper_bot.errors import TemporaryError
from sniper_bot.observability.metrics import Metrics

__all__ = ["probe_health", "unavailable_error"]

log = structlog.get_logger(__name__)


async def probe_health(
    endpoints: Sequence[EndpointState],
    client_for: Callable[[EndpointState], JsonRpcClient],
    metrics: Metrics,
    max_slot_lag: int,
    timeout_s: float,
) -> None:
    """Mark endpoints behind when unhealthy or more than ``max_slot_lag`` slots behind the best."""

    async def probe(ep: EndpointState) -> int | None:
        try:
            health, slot = await client_for(ep).batch(
                [("getHealth", None), ("getSlot", [{"commitment": "processed"}])],
                timeout_s=timeout_s,
            )
        except RpcError as exc:
            log.info("rpc_health_probe_failed", endpoint=ep.name, reason=str(exc))
            return None
        ep.behind = isinstance(health, RpcError)
        if isinstance(slot, int) and not isinstance(slot, bool):
            ep.slot = slot
            metrics.rpc_endpoint_slot.labels(endpoint=ep.name).set(slot)
            return slot
        return None

    slots = await asyncio.gather(*(probe(ep) for ep in endpoints))
    best = max((s for s in slots if s is not None), default=None)
    if best is None:
        return
    for ep, slot in zip(endpoints, slots, strict=True):
        if slot is not None and best - slot > max_slot_lag:
            if not ep.behind:
                log.warning("rpc_endpoint_behind", endpoint=ep.name, lag=best - slot)
            ep.behind = True


def unavailable_error(
    method: str, errors: Sequence[RpcError], refused: Sequence[str], names: Sequence[str]
) -> RpcUnavailableError:
    """What every endpoint said, in one sentence an operator can act on."""
    parts = [f"{e.endpoint}: {outcome(e)}" for e in errors]
    parts += [f"{name}: breaker OPEN" for name in refused]
    skipped = [n for n in names if n not in refused and all(e.endpoint != n for e in errors)]
    if skipped:
        parts.append(
            f"not allowed now (breaker OPEN, rate limited or out of time): {', '.join(skipped)}"
        )
    retry_after = min(
        (e.retry_after for e in errors if isinstance(e, TemporaryError) and e.retry_after),
        default=None,
    )
    err = RpcUnavailableError(
        f"RPC unavailable: {method} failed on every endpoint ({'; '.join(parts) or 'none'})",
        retry_after=retry_after,
    )
    if errors and all(e.not_processed for e in errors):
        err.not_processed = True
    return err
