"""Control API routes of the block engine.

GET /jito                       -> engine state: URL, profile, requests, faults, bundle counts
GET /jito/tip_floor             -> {"lamports": n}
PUT /jito/tip_floor {"lamports": n}  -> {"lamports": n}
PUT /jito/faults    {<FaultProfile JSON>} or {"preset": name, ...}  -> engine state
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from localnet.faults import PRESETS, FaultProfile
from localnet.jito.server import JitoEndpoint

JITO_KEY = web.AppKey("localnet_jito", JitoEndpoint)


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
    endpoint = request.app[JITO_KEY]
    endpoint.set_profile(profile)
    return web.json_response(endpoint.stats())


def register_jito_routes(app: web.Application, endpoint: JitoEndpoint) -> None:
    app[JITO_KEY] = endpoint
    app.router.add_get("/jito", get_jito)
    app.router.add_get("/jito/tip_floor", get_tip_floor)
    app.router.add_put("/jito/tip_floor", put_tip_floor)
    app.router.add_put("/jito/faults", put_faults)
