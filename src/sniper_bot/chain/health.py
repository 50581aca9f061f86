"""Endpoint health: the background probe (getHealth + slot lag, and the way back to CLOSED for
refused endpoints) and the "RPC unavailable" error."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import structlog

from sniper_bot.chain.client import JsonRpcClient
from sniper_bot.chain.endpoint_state import EndpointState, outcome, state_name
from sniper_bot.chain.errors import RpcClientClosed, RpcError, RpcUnavailableError
from sniper_bot.errors import TemporaryError
from sniper_bot.observability.metrics import Metrics

__all__ = ["probe_health", "unavailable_error"]

log = structlog.get_logger(__name__)


MAX_PROBES_PER_ROUND = 10  # success_threshold probes close a breaker in one round (default 2)
_HEALTH_BATCH: list[tuple[str, list[Any] | None]] = [
    ("getHealth", None),
    ("getSlot", [{"commitment": "processed"}]),
]


async def probe_health(
    endpoints: Sequence[EndpointState],
    client_for: Callable[[EndpointState], JsonRpcClient],
    metrics: Metrics,
    max_slot_lag: int,
    timeout_s: float,
) -> None:
    """Mark endpoints behind when unhealthy or more than ``max_slot_lag`` slots behind the best,
    and walk refused endpoints back to CLOSED.

    An endpoint whose breaker is not CLOSED is probed through the breaker itself: once its OPEN
    timeout elapsed, ``acquire`` moves it to HALF_OPEN and admits the probe, whose outcome is
    recorded like any call's, so ``success_threshold`` good probes close it with no user traffic.
    Every step is the store's atomic one: replicas probing the same shared breaker take turns
    for its HALF_OPEN slots instead of overwriting each other.
    """

    async def probe(ep: EndpointState) -> int | None:
        await ep.breaker.refresh()  # another replica may have opened or closed it meanwhile
        if state_name(ep.breaker) == "CLOSED":
            return await _probe(ep, client_for(ep), metrics, timeout_s)
        return await _recover(ep, client_for(ep), metrics, timeout_s)

    slots = await asyncio.gather(*(probe(ep) for ep in endpoints))
    best = max((s for s in slots if s is not None), default=None)
    if best is None:
        return
    for ep, slot in zip(endpoints, slots, strict=True):
        if slot is not None and best - slot > max_slot_lag:
            if not ep.behind:
                log.warning("rpc_endpoint_behind", endpoint=ep.name, lag=best - slot)
            ep.behind = True


async def _probe(
    ep: EndpointState, client: JsonRpcClient, metrics: Metrics, timeout_s: float
) -> int | None:
    """One getHealth + getSlot batch; the endpoint's slot, or None when it did not answer."""
    try:
        health, slot = await _ask(ep, client, timeout_s)
    except RpcError as exc:
        log.info("rpc_health_probe_failed", endpoint=ep.name, reason=str(exc))
        return None
    return _note(ep, metrics, health, slot)


async def _recover(
    ep: EndpointState, client: JsonRpcClient, metrics: Metrics, timeout_s: float
) -> int | None:
    """Probe a refused endpoint through its breaker until it closes, refuses or a probe fails."""
    slot: int | None = None
    for _ in range(MAX_PROBES_PER_ROUND):
        if state_name(ep.breaker) == "CLOSED":
            break
        try:
            await ep.breaker.acquire()
        except TemporaryError:  # OPEN timeout not over, or another caller holds the probe slots
            break
        try:
            health, raw_slot = await _ask(ep, client, timeout_s)
        except RpcClientClosed:
            await ep.breaker.release()
            raise
        except RpcError as exc:
            log.info("rpc_health_probe_failed", endpoint=ep.name, reason=str(exc))
            if exc.retryable:
                await ep.breaker.record_failure()
            else:  # it answered: alive, though it refused the batch
                await ep.breaker.record_success()
            break
        except BaseException:
            await ep.breaker.release()
            raise
        if isinstance(health, RpcError) and health.retryable:  # unhealthy / behind
            await ep.breaker.record_failure()
            _note(ep, metrics, health, raw_slot)
            break
        await ep.breaker.record_success()
        slot = _note(ep, metrics, health, raw_slot)
    return slot


async def _ask(ep: EndpointState, client: JsonRpcClient, timeout_s: float) -> list[Any]:
    return await client.batch(_HEALTH_BATCH, timeout_s=timeout_s)


def _note(ep: EndpointState, metrics: Metrics, health: Any, slot: Any) -> int | None:
    ep.behind = isinstance(health, RpcError)
    if isinstance(slot, int) and not isinstance(slot, bool):
        ep.slot = slot
        metrics.rpc_endpoint_slot.labels(endpoint=ep.name).set(slot)
        return slot
    return None


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
