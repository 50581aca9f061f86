"""Control API routes of the block engine.

GET /jito                       -> engine state: URL, profile, requests, faults, bundle counts
GET /jito/tip_floor             -> {"lamports": n}
PUT /jito/tip_floor {"lamports": n}  -> {"lamports": n}
PUT /jito/faults    {<FaultProfile JSON>} or {"preset": name, ...}  -> engine state
GET /jito/engines                -> [engine state, ...] (every block engine, the primary first)
PUT /jito/engines/{name}/faults  {<FaultProfile JSON>} or {"preset": ...}  -> that engine's state
GET /jito/bundles/{bundle_id}    -> the bundle: status, landed slot, engines it arrived through
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from localnet.faults import PRESETS, FaultProfile
from localnet.jito.server import JitoEndpoint

JITO_KEY = web.AppKey("localnet_jito", JitoEndpoint)
JITO_ENGINES_KEY = web.AppKey("localnet_jito_engines", dict)


def _error(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


async def _body(request: web.Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except (ValueError, json.JSONDecodeError):
        return None
    return body if isinstance(body, dict) else None


async def get_jito(request: web.Request) -> web.Response:
    return web.json_response(request.app[JITO_KEY].stats())


async def get_tip_floor(request: web.Request) -> web.Response:
    return web.json_response({"lamports": request.app[JITO_KEY].engine.tip_floor})


async def put_tip_floor(request: web.Request) -> web.Response:
    body = await _body(request)
    lamports = None if body is None else body.get("lamports")
    engine = request.app[JITO_KEY].engine
    try:
        engine.set_tip_floor(lamports)  # type: ignore[arg-type]
    except ValueError as exc:
        return _error(f'expected {{"lamports": int >= 0}}: {exc}')
    return web.json_response({"lamports": engine.tip_floor})


async def put_faults(request: web.Request) -> web.Response:
    return await _set_faults(request, request.app[JITO_KEY])


async def get_engines(request: web.Request) -> web.Response:
    engines: dict[str, JitoEndpoint] = request.app[JITO_ENGINES_KEY]
    return web.json_response([e.stats() for e in engines.values()])


async def put_engine_faults(request: web.Request) -> web.Response:
    engines: dict[str, JitoEndpoint] = request.app[JITO_ENGINES_KEY]
    name = request.match_info["name"]
    if name not in engines:
        return web.json_response(
            {"error": f"no block engine {name!r}; known: {list(engines)}"}, status=404
        )
    return await _set_faults(request, engines[name])


async def get_bundle(request: web.Request) -> web.Response:
    identifier = request.match_info["bundle_id"]
    record = request.app[JITO_KEY].engine.record(identifier)
    if record is None:
        return web.json_response({"error": f"unknown bundle {identifier!r}"}, status=404)
    return web.json_response(
        {
            "bundle_id": record.bundle_id,
            "status": record.status,
            "landed_slot": record.landed_slot,
            "received_slot": record.received_slot,
            "transactions": record.signatures,
            "engines": sorted(record.engines),
            "tip": record.tip,
            "err": record.err,
            "failed_index": record.failed_index,
        }
    )


async def _set_faults(request: web.Request, endpoint: JitoEndpoint) -> web.Response:
    body = await _body(request)
    if body is None:
        return _error("body must be a JSON object")
    try:
        if "preset" in body:
            preset = body.pop("preset")
            if preset not in PRESETS:
                return _error(f"unknown preset {preset!r}; known: {sorted(PRESETS)}")
            profile = FaultProfile.from_json({**PRESETS[preset].to_json(), **body})
        else:
            profile = FaultProfile.from_json(body)
    except (ValueError, TypeError) as exc:
        return _error(f"invalid fault profile: {exc}")
    endpoint.set_profile(profile)
    return web.json_response(endpoint.stats())


def register_jito_routes(
    app: web.Application,
    endpoint: JitoEndpoint,
    engines: Mapping[str, JitoEndpoint] | None = None,
) -> None:
    """`endpoint`: the primary block engine; `engines`: all of them by name (default: it)."""
    app[JITO_KEY] = endpoint
    app[JITO_ENGINES_KEY] = dict(engines) if engines else {endpoint.name: endpoint}
    app.router.add_get("/jito/engines", get_engines)
    app.router.add_put("/jito/engines/{name}/faults", put_engine_faults)
    app.router.add_get("/jito/bundles/{bundle_id}", get_bundle)
    app.router.add_get("/jito", get_jito)
    app.router.add_get("/jito/tip_floor", get_tip_floor)
    app.router.add_put("/jito/tip_floor", put_tip_floor)
    app.router.add_put("/jito/faults", put_faults)
