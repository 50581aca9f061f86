"""The market half of the control API: tokens, scripted curve launches, rivals, Telegram users.

Rival snipers (`localnet.launches.rivals`): `GET /rivals/snipers[?limit=n]` (configs, wallets,
recent buys with landing slot and block index), `PUT /rivals/snipers/{name}` (`RivalConfig`
JSON: delay_ms, lamports, cu_price, slippage_bps, enabled), `DELETE /rivals/snipers/{name}`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from solders.pubkey import Pubkey

from localnet.encoding import TOKEN_2022_PROGRAM_ID
from localnet.launches.engine import ScenarioEngine
from localnet.launches.rivals import RivalConfig, RivalSnipers
from localnet.market.market import Market, MarketError
from localnet.pump.launchpad import LaunchError
from localnet.pump.state import bonding_curve_address
from localnet.telegram import FakeTelegram
from localnet.tokens import TokenError, TokenFactory, TokenInfo

SOL = 1_000_000_000


def _info(info: TokenInfo) -> dict[str, Any]:
    return {"mint": str(info.mint), "pool": str(info.pool), "creator": str(info.creator),
            "kind": info.kind, "token_program": str(info.token_program)}  # fmt: skip


def _bad(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


def register_control_routes(
    app: web.Application, *, market: Market, factory: TokenFactory, engine: ScenarioEngine,
    telegram: FakeTelegram, rival_snipers: RivalSnipers | None = None,
) -> None:  # fmt: skip
    async def body(request: web.Request) -> dict[str, Any]:
        data = await request.json() if request.can_read_body else {}
        return data if isinstance(data, dict) else {}

    def mint_of(request: web.Request) -> Pubkey:
        return Pubkey.from_string(request.match_info["mint"])

    async def create_token(request: web.Request) -> web.Response:
        params = await body(request)
        kind = str(params.pop("kind", "honest"))
        announce = str(params.pop("announce", "none"))
        try:
            info = engine.launch(kind, announce=announce, **params)
        except (TokenError, ValueError, TypeError) as exc:
            return _bad(str(exc))
        return web.json_response(_info(info), status=201)

    async def list_tokens(request: web.Request) -> web.Response:
        del request
        curves = [{"mint": str(r.mint), "pool": str(bonding_curve_address(r.mint)),
                   "creator": str(r.creator.pubkey()), "kind": r.kind,
                   "token_program": str(TOKEN_2022_PROGRAM_ID)}
                  for r in engine.curves.runs.values()]  # fmt: skip
        return web.json_response([*(_info(t.info) for t in factory.tokens.values()), *curves])

    async def rug(request: web.Request) -> web.Response:
        try:
            outcomes = factory.rug(mint_of(request))
        except (TokenError, ValueError) as exc:
            return _bad(str(exc), 404)
        return web.json_response({"signatures": [str(o.signature) for o in outcomes],
                                  "errors": [o.err for o in outcomes]})  # fmt: skip

    async def freeze(request: web.Request) -> web.Response:
        try:
            outcomes = factory.freeze_buyers(mint_of(request))
        except (TokenError, ValueError) as exc:
            return _bad(str(exc), 404)
        return web.json_response({"frozen": len(outcomes)})

    async def trade(request: web.Request) -> web.Response:
        params = await body(request)
        side = params.get("side", "buy")
        if side not in ("buy", "sell"):
            return _bad("side must be 'buy' or 'sell'")
        try:
            mint = mint_of(request)
            token = factory.get(mint)
            trader = engine.traders[0] if engine.traders else token.creator
            if "trader_index" in params and engine.traders:
                trader = engine.traders[int(params["trader_index"]) % len(engine.traders)]
            amount = int(params.get("amount", SOL))
            outcome = market.trade(mint, trader, side, amount)
        except (TokenError, ValueError) as exc:
            return _bad(str(exc))
        except MarketError as exc:
            return _bad(f"{exc.code}: {exc.message}")
        return web.json_response({"signature": str(outcome.signature), "err": outcome.err})

    async def user_message(request: web.Request) -> web.Response:
        text = (await body(request)).get("text")
        if not isinstance(text, str) or not text:
            return _bad("text is required")
        update = telegram.user_sends(int(request.match_info["id"]), text)
        return web.json_response(update, status=201)

    async def user_press(request: web.Request) -> web.Response:
        params = await body(request)
        try:
            user, message_id = int(request.match_info["id"]), int(params["message_id"])
            update = telegram.user_presses(user, message_id, str(params["data"]))
        except (KeyError, ValueError) as exc:
            return _bad(f"message_id and data are required and must exist: {exc}")
        return web.json_response(update, status=201)

    async def curve_launch(request: web.Request) -> web.Response:
        try:
            run = engine.launch_curve(**await body(request))
        except (ValueError, TypeError, KeyError) as exc:
            return _bad(f"bad curve plan: {exc}")
        except LaunchError as exc:
            return _bad(str(exc))
        return web.json_response(run.summary(), status=201)

    async def curve_run(request: web.Request) -> web.Response:
        run = engine.curves.runs.get(mint_of(request))
        if run is None:
            return _bad("no scripted curve launch for that mint (never launched, or retired)", 404)
        return web.json_response(run.summary())

    async def rivals(request: web.Request) -> web.Response:
        if request.method == "PUT":
            enabled = (await body(request)).get("enabled")
            if not isinstance(enabled, bool):
                return _bad('expected {"enabled": true|false}')
            engine.curves.rivals_enabled = enabled
        return web.json_response({"enabled": engine.curves.rivals_enabled})

    async def list_snipers(request: web.Request) -> web.Response:
        if rival_snipers is None:
            return _bad("no rival snipers on this localnet", 404)
        limit = request.query.get("limit", "100")
        if not limit.isdigit() or not 0 < int(limit) <= 10_000:
            return _bad("limit must be an integer 1..10000")
        return web.json_response(rival_snipers.report(int(limit)))

    async def put_sniper(request: web.Request) -> web.Response:
        if rival_snipers is None:
            return _bad("no rival snipers on this localnet", 404)
        try:
            params = await body(request)
        except ValueError:
            return _bad("body must be a JSON object")
        params["name"] = request.match_info["name"]
        try:
            config = rival_snipers.add(RivalConfig.from_json(params))
        except (ValueError, TypeError) as exc:
            return _bad(f"bad rival: {exc}")
        wallet = rival_snipers.wallet(config.name).pubkey()
        return web.json_response({**config.to_json(), "wallet": str(wallet)})

    async def delete_sniper(request: web.Request) -> web.Response:
        if rival_snipers is None or not rival_snipers.remove(request.match_info["name"]):
            return _bad(f"no rival {request.match_info['name']!r}", 404)
        return web.json_response({"removed": request.match_info["name"]})

    async def inbox(request: web.Request) -> web.Response:
        return web.json_response(telegram.inbox_view(int(request.match_info["id"])))

    app.router.add_post("/tokens", create_token)
    app.router.add_get("/tokens", list_tokens)
    app.router.add_post("/tokens/{mint}/rug", rug)
    app.router.add_post("/tokens/{mint}/trade", trade)
    app.router.add_post("/tokens/{mint}/freeze", freeze)
    app.router.add_post("/telegram/users/{id}/messages", user_message)
    app.router.add_post("/telegram/users/{id}/press", user_press)
    app.router.add_get("/telegram/users/{id}/inbox", inbox)
    app.router.add_post("/launches/curve", curve_launch)
    app.router.add_get("/launches/curve/{mint}", curve_run)
    app.router.add_put("/rivals", rivals)
    app.router.add_get("/rivals", rivals)
    app.router.add_get("/rivals/snipers", list_snipers)
    app.router.add_put("/rivals/snipers/{name}", put_sniper)
    app.router.add_delete("/rivals/snipers/{name}", delete_sniper)
