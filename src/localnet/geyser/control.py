"""Control API routes for the Geyser endpoints (added to localnet's control app by `Localnet`).

GET  /geyser                        -> [endpoint state, ...]
PUT  /geyser/{name}/faults          {"drop_after": 5, "lag_ms": 0, "queue_limit": 10000,
                                      "down": false}  (every field optional) -> endpoint state
POST /geyser/{name}/drop-streams    -> {"dropped": n}  (open Subscribe streams: UNAVAILABLE)
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from aiohttp import web

from localnet.geyser.server import GeyserEndpoint, GeyserFaults

GEYSER_KEY = web.AppKey("localnet_geyser", dict)


def _endpoint(request: web.Request) -> GeyserEndpoint:
    endpoints: dict[str, GeyserEndpoint] = request.app[GEYSER_KEY]
    name = request.match_info["name"]
    if name not in endpoints:
        raise web.HTTPNotFound(
            text=json.dumps({"error": f"no geyser endpoint {name!r}; known: {sorted(endpoints)}"}),
            content_type="application/json",
        )
    return endpoints[name]


async def list_geyser(request: web.Request) -> web.Response:
    endpoints: dict[str, GeyserEndpoint] = request.app[GEYSER_KEY]
    return web.json_response([e.stats() for e in endpoints.values()])


async def put_faults(request: web.Request) -> web.Response:
    endpoint = _endpoint(request)
    try:
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        faults = GeyserFaults.from_json(body)
    except ValueError as exc:
        return web.json_response({"error": f"invalid geyser faults: {exc}"}, status=400)
    endpoint.set_faults(faults)
    return web.json_response(endpoint.stats())


async def drop_streams(request: web.Request) -> web.Response:
    return web.json_response({"dropped": _endpoint(request).drop_streams()})


def register_geyser_routes(app: web.Application, endpoints: Mapping[str, GeyserEndpoint]) -> None:
    app[GEYSER_KEY] = dict(endpoints)
    app.router.add_get("/geyser", list_geyser)
    app.router.add_put("/geyser/{name}/faults", put_faults)
    app.router.add_post("/geyser/{name}/drop-streams", drop_streams)
