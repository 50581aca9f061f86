"""JSON-RPC 2.0 envelope handling: single requests and batches over the method table."""

from __future__ import annotations

import json
from typing import Any

import structlog

from localnet.cluster import Cluster
from localnet.rpc import accounts, chain, transactions
from localnet.rpc.errors import (
    INTERNAL_ERROR,
    INVALID_REQUEST,
    PARSE_ERROR,
    RpcError,
    method_not_found,
)
from localnet.rpc.helius import ENDPOINT_HANDLERS

log = structlog.get_logger(__name__)

HANDLERS = {**accounts.HANDLERS, **chain.HANDLERS, **transactions.HANDLERS}


def error_response(error: RpcError, request_id: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": error.to_json(), "id": request_id}


def parse_error() -> dict[str, Any]:
    return error_response(RpcError(PARSE_ERROR, "Parse error"), None)


def first_method(payload: Any) -> str:
    """The method name a request is accounted under (first of a batch)."""
    if isinstance(payload, list):
        payload = payload[0] if payload else {}
    method = payload.get("method") if isinstance(payload, dict) else None
    return method if isinstance(method, str) else ""


def request_ids(payload: Any) -> list[Any]:
    items = payload if isinstance(payload, list) else [payload]
    return [item.get("id") if isinstance(item, dict) else None for item in items]


def handle_one(cluster: Cluster, request: Any, endpoint: str = "") -> dict[str, Any]:
    if not isinstance(request, dict) or request.get("jsonrpc") != "2.0":
        request_id = request.get("id") if isinstance(request, dict) else None
        return error_response(RpcError(INVALID_REQUEST, "Invalid request"), request_id)
    request_id = request.get("id")
    method = request.get("method")
    handler = None
    if isinstance(method, str):
        handler = HANDLERS.get(method) or ENDPOINT_HANDLERS.get(endpoint, {}).get(method)
    if handler is None:
        return error_response(method_not_found(), request_id)
    try:
        result = handler(cluster, request.get("params"))
    except RpcError as exc:
        return error_response(exc, request_id)
    except Exception:
        log.exception("localnet.rpc_internal_error", method=method)
        return error_response(RpcError(INTERNAL_ERROR, "Internal error"), request_id)
    return {"jsonrpc": "2.0", "result": result, "id": request_id}


def handle_payload(cluster: Cluster, payload: Any, endpoint: str = "") -> Any:
    """A decoded request body (object or batch) to the response body (object or array).
    `endpoint` names the provider: its own methods (Helius' `getPriorityFeeEstimate`) exist
    only there."""
    if isinstance(payload, list):
        if not payload:
            return error_response(RpcError(INVALID_REQUEST, "Invalid request"), None)
        return [handle_one(cluster, item, endpoint) for item in payload]
    return handle_one(cluster, payload, endpoint)


def dumps(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"))
