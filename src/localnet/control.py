"""The control API (core half): JSON over HTTP for tests, chaos drills and operators.

    POST /airdrop                 {"pubkey": "...", "lamports": 1000000000} -> {"signature": "..."}
    PUT  /endpoints/{name}/faults {<FaultProfile JSON>} or {"preset": "public"} -> endpoint state
    POST /endpoints/{name}/drop-websockets                 -> {"dropped": n}
    GET  /endpoints                                         -> [endpoint state, ...]
    POST /slots/advance           {"n": 32}                 -> {"slot", "block_height"}
    GET  /state                                             -> cluster summary

The market half (`/tokens`, `/telegram/...`) is added by `register_control_routes` from the market
packages; see docs/LOCALNET.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from solders.pubkey import Pubkey

from localnet.cluster import Cluster
from localnet.faults import PRESETS, FaultProfile
from localnet.rpc.server import RpcEndpoint

MAX_ADVANCE = 100_000

CLUSTER_KEY = web.AppKey("localnet_cluster", Cluster)
ENDPOINTS_KEY = web.AppKey("localnet_endpoints", dict)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, json.JSONDecodeError) as exc:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"body must be a JSON object: {exc}"}),
            content_type="application/json",
        ) from exc
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "body must be a JSON object"}),
            content_type="application/json",
        )
    return body


def _endpoint(request: web.Request) -> RpcEndpoint:
    endpoints: dict[str, RpcEndpoint] = request.app[ENDPOINTS_KEY]
    name = request.match_info["name"]
    if name not in endpoints:
        raise web.HTTPNotFound(
            text=json.dumps({"error": f"no endpoint {name!r}; known: {sorted(endpoints)}"}),
            content_type="application/json",
        )
    return endpoints[name]


async def airdrop(request: web.Request) -> web.Response:
    body = await _json_body(request)
    try:
        pubkey = Pubkey.from_string(str(body["pubkey"]))
        lamports = body["lamports"]
        if not isinstance(lamports, int):
            raise TypeError("lamports must be an integer")
    except (KeyError, TypeError, ValueError) as exc:
        return _error(400, f'expected {{"pubkey": base58, "lamports": int}}: {exc}')
    try:
        signature = request.app[CLUSTER_KEY].airdrop(pubkey, lamports)
    except ValueError as exc:
        return _error(400, str(exc))
    return web.json_response({"signature": str(signature)})


async def put_faults(request: web.Request) -> web.Response:
    endpoint = _endpoint(request)
    body = await _json_body(request)
    try:
        if "preset" in body:
            preset = body.pop("preset")
            if preset not in PRESETS:
                return _error(400, f"unknown preset {preset!r}; known: {sorted(PRESETS)}")
            base = PRESETS[preset].to_json()
            profile = FaultProfile.from_json({**base, **body})
        else:
            profile = FaultProfile.from_json(body)
    except (ValueError, TypeError) as exc:
        return _error(400, f"invalid fault profile: {exc}")
    endpoint.set_profile(profile)
    return web.json_response(endpoint.stats())


async def drop_websockets(request: web.Request) -> web.Response:
    return web.json_response({"dropped": _endpoint(request).drop_websockets()})


async def list_endpoints(request: web.Request) -> web.Response:
    endpoints: dict[str, RpcEndpoint] = request.app[ENDPOINTS_KEY]
    return web.json_response([ep.stats() for ep in endpoints.values()])


async def advance_slots(request: web.Request) -> web.Response:
    body = await _json_body(request) if request.can_read_body else {}
    n = body.get("n", 1)
    if not isinstance(n, int) or not 0 <= n <= MAX_ADVANCE:
        return _error(400, f'"n" must be an integer 0..{MAX_ADVANCE}')
    cluster = request.app[CLUSTER_KEY]
    cluster.advance_slots(n)
    return web.json_response({"slot": cluster.slot, "block_height": cluster.block_height})


async def state(request: web.Request) -> web.Response:
    cluster = request.app[CLUSTER_KEY]
    endpoints: dict[str, RpcEndpoint] = request.app[ENDPOINTS_KEY]
    return web.json_response(
        {
            "slot": cluster.slot,
            "block_height": cluster.block_height,
            "blockhash": str(cluster.latest_blockhash()),
            "last_valid_block_height": cluster.last_valid_block_height(),
            "slot_ms": cluster.slot_ms,
            "transactions": len(cluster.history),
            "transactions_evicted": cluster.history.evicted,
            "block_building": cluster.block_building,
            "pending_transactions": cluster.pending_transactions,
            "subscriptions": len(cluster.hub),
            "endpoints": sorted(endpoints),
        }
    )


def create_control_app(cluster: Cluster, endpoints: Mapping[str, RpcEndpoint]) -> web.Application:
    app = web.Application()
    app[CLUSTER_KEY] = cluster
    app[ENDPOINTS_KEY] = dict(endpoints)
    app.router.add_post("/airdrop", airdrop)
    app.router.add_put("/endpoints/{name}/faults", put_faults)
    app.router.add_post("/endpoints/{name}/drop-websockets", drop_websockets)
    app.router.add_get("/endpoints", list_endpoints)
    app.router.add_post("/slots/advance", advance_slots)
    app.router.add_get("/state", state)
    return app
