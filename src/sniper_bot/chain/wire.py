"""JSON-RPC envelope decoding and failure classification: pure functions, no I/O.

Every way a provider can fail becomes exactly one ``RpcError`` subclass here, so the client and the
pool never inspect status codes or error codes themselves. Parsing of anything solders touches is
guarded with ``except BaseException`` because solders may raise ``pyo3_runtime.PanicException``
(a ``BaseException``) on unexpected shapes, or hand back a bare ``int`` where an object was due.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sniper_bot.chain.errors import (
    PreflightFailure,
    RpcError,
    RpcMalformedResponse,
    RpcNodeBehind,
    RpcRateLimited,
    RpcRequestError,
    RpcTransportError,
)

__all__ = [
    "decode_batch",
    "decode_single",
    "error_from_http",
    "error_from_rpc",
    "guarded",
    "parse_retry_after",
    "result_of",
]

T = TypeVar("T")

# JSON-RPC codes meaning "this node cannot answer now; another node may" (custom_error.rs).
_NODE_STATE_CODES = frozenset({-32001, -32004, -32005, -32007, -32009, -32014, -32016})
_RATE_LIMIT_CODES = frozenset({429, -32429})
_MAX_RETRY_AFTER_S = 300.0


def guarded(endpoint: str, what: str, fn: Callable[[], T]) -> T:
    """Run a parser; anything it raises (even a solders panic) becomes ``RpcMalformedResponse``."""
    try:
        return fn()
    except (asyncio.CancelledError, KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except RpcError:
        raise
    except BaseException as exc:  # PanicException is a BaseException
        raise RpcMalformedResponse(
            f"{endpoint}: could not parse {what}: {type(exc).__name__}: {str(exc)[:200]}",
            endpoint=endpoint,
        ) from exc


def parse_retry_after(value: str | None, now_epoch_s: float | None = None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date), clamped to [0, 300]."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None or now_epoch_s is None:
            return None
        seconds = when.timestamp() - now_epoch_s
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER_S)


def error_from_http(
    endpoint: str, status: int, body: bytes, retry_after: str | None, now_epoch_s: float
) -> RpcError:
    """The error for a non-200 HTTP answer."""
    if status == 429:
        return RpcRateLimited(
            f"{endpoint}: HTTP 429 Too Many Requests; calls move to the next endpoint",
            endpoint=endpoint,
            code=429,
            retry_after=parse_retry_after(retry_after, now_epoch_s),
        )
    if status in (401, 403):
        return RpcTransportError(
            f"{endpoint}: HTTP {status}: the provider refused the request; check the API key "
            "in the endpoint URL/headers or the plan limits",
            endpoint=endpoint,
            code=status,
        )
    snippet = body[:120].decode("utf-8", "replace")
    err = RpcTransportError(
        f"{endpoint}: HTTP {status} {snippet!r}", endpoint=endpoint, code=status
    )
    if status in (502, 503):  # gateway/outage answers come before the node does any work
        err.not_processed = True
    return err


def error_from_rpc(endpoint: str, error: Any) -> RpcError:
    """The error for a JSON-RPC ``error`` object."""
    if not isinstance(error, Mapping):
        return RpcMalformedResponse(f"{endpoint}: error member is not an object", endpoint=endpoint)
    code = error.get("code")
    message = str(error.get("message", ""))
    data = error.get("data")
    if not isinstance(code, int) or isinstance(code, bool):
        return RpcMalformedResponse(
            f"{endpoint}: JSON-RPC error without an integer code: {message[:120]!r}",
            endpoint=endpoint,
        )
    lowered = message.lower()
    if code in _RATE_LIMIT_CODES or "rate limit" in lowered or "too many requests" in lowered:
        return RpcRateLimited(f"{endpoint}: rate limited: {message}", endpoint=endpoint, code=code)
    if code == -32002:
        return _preflight(endpoint, message, data)
    if code in _NODE_STATE_CODES:
        return RpcNodeBehind(f"{endpoint}: {message} ({code})", endpoint=endpoint, code=code)
    if code == -32603:
        return RpcTransportError(
            f"{endpoint}: internal error: {message}", endpoint=endpoint, code=code
        )
    return RpcRequestError(
        f"{endpoint}: the node rejected the request: {message} ({code})",
        endpoint=endpoint,
        code=code,
        data=data,
    )


def _preflight(endpoint: str, message: str, data: Any) -> PreflightFailure:
    err: dict[str, Any] | str | None = None
    logs: list[str] = []
    units: int | None = None
    if isinstance(data, Mapping):
        raw_err = data.get("err")
        if isinstance(raw_err, dict | str):
            err = raw_err
        raw_logs = data.get("logs")
        if isinstance(raw_logs, list):
            logs = [str(line) for line in raw_logs]
        raw_units = data.get("unitsConsumed")
        if isinstance(raw_units, int) and not isinstance(raw_units, bool):
            units = raw_units
    return PreflightFailure(
        f"{endpoint}: {message or 'Transaction simulation failed'}",
        endpoint=endpoint,
        err=err,
        logs=logs,
        units_consumed=units,
        data=data,
    )


def result_of(endpoint: str, envelope: Any) -> Any:
    """The ``result`` of one decoded response object, or the classified error."""
    if not isinstance(envelope, Mapping):
        raise RpcMalformedResponse(
            f"{endpoint}: response is {type(envelope).__name__}, not a JSON-RPC object",
            endpoint=endpoint,
        )
    if envelope.get("error") is not None:
        raise error_from_rpc(endpoint, envelope["error"])
    if "result" not in envelope:
        raise RpcMalformedResponse(
            f"{endpoint}: response has neither result nor error", endpoint=endpoint
        )
    return envelope["result"]


def _loads(endpoint: str, body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise RpcMalformedResponse(
            f"{endpoint}: body is not JSON: {body[:80]!r}", endpoint=endpoint
        ) from exc


def decode_single(endpoint: str, body: bytes) -> Any:
    """Body of a single call -> its ``result``; raises the classified ``RpcError``."""
    return result_of(endpoint, _loads(endpoint, body))


def decode_batch(endpoint: str, body: bytes, ids: list[int]) -> list[Any]:
    """Body of a batch -> one entry per id, in request order: a result or an ``RpcError``."""
    decoded = _loads(endpoint, body)
    if not isinstance(decoded, list):
        # A node answers a whole batch with one error object when it refuses the batch itself.
        if isinstance(decoded, Mapping) and decoded.get("error") is not None:
            raise error_from_rpc(endpoint, decoded["error"])
        raise RpcMalformedResponse(f"{endpoint}: batch answer is not an array", endpoint=endpoint)
    by_id: dict[Any, Any] = {}
    for item in decoded:
        if isinstance(item, Mapping):
            by_id[item.get("id")] = item
    out: list[Any] = []
    for request_id in ids:
        item = by_id.get(request_id)
        if item is None:
            out.append(
                RpcMalformedResponse(
                    f"{endpoint}: batch answer lacks id {request_id}", endpoint=endpoint
                )
            )
            continue
        try:
            out.append(result_of(endpoint, item))
        except RpcError as exc:
            out.append(exc)
    return out
