"""Control-API routes for the pump.fun curve (documented in docs/LOCALNET.md):

    POST /pump/launch        {"name", "symbol", "dev_buy_lamports"?, "creator_index"?,
                              "quote_mint"? ("usdc" or a mint address: a token-quoted curve;
                              the dev buy is then in its base units), "mayhem"?}
    POST /pump/{mint}/trade  {"side": "buy"|"sell", "lamports"? (buy), "tokens"? (sell; default
                              all), "trader_index"?}
    GET  /pump/{mint}        the BondingCurve fields
    POST /pump/{mint}/graduate  {"buyer_index"?} buy the curve out, then `migrate` it
    GET  /pumpswap/{mint}    the canonical Pool's fields and vault balances
    POST /pumpswap/{mint}/trade {"side": "buy"|"sell", "lamports"? (buy, fees included),
                              "tokens"? (sell; default all), "trader_index"?}

Creators and traders are wallets derived from the seed (`pump-creator-N`, `pump-trader-N`), each
airdropped 100 SOL the first time it is used (and 10,000 units of a coin's quote mint the first
time it launches or trades a token-quoted coin); a token-quoted coin's `lamports` are base units
of its quote.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from localnet.cluster import Cluster
from localnet.market.keys import derive_keypair
from localnet.pump.launchpad import LaunchError, PumpLaunchpad
from localnet.pump.quotes import fund_quote
from localnet.pump.state import USDC_MINT, WSOL_MINT
from localnet.pumpswap.market import PumpSwapMarket

WALLET_LAMPORTS = 100 * 1_000_000_000
QUOTE_UNITS = 10_000  # whole units of a quote mint a wallet gets the first time it trades one


def _json(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Pubkey) else v) for k, v in fields.items()}


def register_pump_routes(app: web.Application, cluster: Cluster, seed: int) -> PumpLaunchpad:
    pad = PumpLaunchpad(cluster, seed)
    funded: set[Pubkey] = set()

    def wallet(kind: str, index: int) -> Keypair:
        kp = derive_keypair(seed, f"pump-{kind}-{index}")
        if kp.pubkey() not in funded:
            cluster.airdrop(kp.pubkey(), WALLET_LAMPORTS * (3 if kind == "graduator" else 1))
            funded.add(kp.pubkey())
        return kp

    quote_funded: set[tuple[Pubkey, Pubkey]] = set()

    def funded_quote(owner: Pubkey, quote_mint: Pubkey) -> None:
        """Wallets trading a token-quoted coin get 10,000 whole units of its quote once."""
        if (owner, quote_mint) in quote_funded:
            return
        account = cluster.get_account(quote_mint)
        if account is None:
            raise ValueError(f"no quote mint at {quote_mint}")
        decimals = int(bytes(account.data)[44])
        fund_quote(cluster, owner, QUOTE_UNITS * 10**decimals, quote_mint)
        quote_funded.add((owner, quote_mint))

    async def body(request: web.Request) -> dict[str, Any]:
        data = await request.json() if request.can_read_body else {}
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text='{"error": "body must be a JSON object"}',
                                     content_type="application/json")  # fmt: skip
        return data

    def bad(message: str, status: int = 400) -> web.Response:
        return web.json_response({"error": message}, status=status)

    async def launch(request: web.Request) -> web.Response:
        params = await body(request)
        try:
            creator = wallet("creator", int(params.get("creator_index", 0)))
            quote = params.get("quote_mint")
            quote_mint = None
            if quote is not None:
                quote_mint = USDC_MINT if str(quote).lower() == "usdc" else Pubkey.from_string(
                    str(quote))  # fmt: skip
                funded_quote(creator.pubkey(), quote_mint)
            if params.get("mayhem"):
                pad.configure(mayhem_mode_enabled=True)
            done = pad.launch(
                creator, name=str(params.get("name", "Localnet Coin")),
                symbol=str(params.get("symbol", "LOCAL")), uri=str(params.get("uri", "")),
                dev_buy_lamports=int(params.get("dev_buy_lamports", 0)), quote_mint=quote_mint,
                mayhem=bool(params.get("mayhem", False)),
            )  # fmt: skip
        except (TypeError, ValueError) as exc:
            return bad(str(exc))
        except LaunchError as exc:
            return bad(f"{exc} logs={list(exc.logs[-3:])}")
        return web.json_response({
            "mint": str(done.mint), "creator": str(done.creator),
            "bonding_curve": str(done.bonding_curve), "create_signature": done.create_signature,
            "quote_mint": str(pad.quote_mint_of(done.mint)),
            "dev_buy_signature": done.dev_buy_signature, "dev_tokens": done.dev_tokens,
        }, status=201)  # fmt: skip

    async def trade(request: web.Request) -> web.Response:
        params = await body(request)
        side = params.get("side", "buy")
        if side not in ("buy", "sell"):
            return bad("side must be 'buy' or 'sell'")
        try:
            mint = Pubkey.from_string(request.match_info["mint"])
            trader = wallet("trader", int(params.get("trader_index", 0)))
            quote_mint = pad.quote_mint_of(mint)
            if quote_mint != WSOL_MINT:
                funded_quote(trader.pubkey(), quote_mint)
            if side == "buy":
                signature = pad.buy(mint, trader, lamports=int(params.get("lamports", 10**8)))
            else:
                held = pad.token_balance(mint, trader.pubkey())
                signature = pad.sell(mint, trader, tokens=int(params.get("tokens", held)))
        except (TypeError, ValueError) as exc:
            return bad(str(exc))
        except LaunchError as exc:
            return web.json_response({"error": str(exc), "err": exc.err}, status=400)
        return web.json_response({"signature": signature, "trader": str(trader.pubkey()),
                                  "tokens": pad.token_balance(mint, trader.pubkey())})  # fmt: skip

    async def curve(request: web.Request) -> web.Response:
        try:
            return web.json_response(
                _json(pad.curve(Pubkey.from_string(request.match_info["mint"])))
            )
        except ValueError as exc:
            return bad(str(exc), 404)

    swap = PumpSwapMarket(cluster, seed)

    async def graduate(request: web.Request) -> web.Response:
        params = await body(request)
        try:
            mint = Pubkey.from_string(request.match_info["mint"])
            buyer = wallet("graduator", int(params.get("buyer_index", 0)))
            done = pad.graduate(mint, buyer)
        except (TypeError, ValueError) as exc:
            return bad(str(exc))
        except LaunchError as exc:
            return web.json_response({"error": str(exc), "err": exc.err}, status=400)
        return web.json_response({
            "mint": str(done.mint), "pool": str(done.pool),
            "complete_signature": done.complete_signature,
            "migrate_signature": done.migrate_signature,
        })  # fmt: skip

    async def pool(request: web.Request) -> web.Response:
        try:
            state = swap.pool(Pubkey.from_string(request.match_info["mint"]))
        except ValueError as exc:
            return bad(str(exc), 404)
        return web.json_response({"pool": str(state.key), **_json(state.fields),
                                  "base_reserve": state.base_reserve,
                                  "quote_reserve": state.quote_reserve})  # fmt: skip

    async def swap_trade(request: web.Request) -> web.Response:
        params = await body(request)
        side = params.get("side", "buy")
        if side not in ("buy", "sell"):
            return bad("side must be 'buy' or 'sell'")
        try:
            mint = Pubkey.from_string(request.match_info["mint"])
            trader = wallet("trader", int(params.get("trader_index", 0)))
            if side == "buy":
                signature = swap.buy(mint, trader, lamports=int(params.get("lamports", 10**8)))
            else:
                held = swap.token_balance(mint, trader.pubkey())
                signature = swap.sell(mint, trader, tokens=int(params.get("tokens", held)))
        except (TypeError, ValueError) as exc:
            return bad(str(exc))
        except LaunchError as exc:
            return web.json_response({"error": str(exc), "err": exc.err}, status=400)
        return web.json_response({"signature": signature, "trader": str(trader.pubkey()),
                                  "tokens": swap.token_balance(mint, trader.pubkey())})  # fmt: skip

    app.router.add_post("/pump/{mint}/graduate", graduate)
    app.router.add_get("/pumpswap/{mint}", pool)
    app.router.add_post("/pumpswap/{mint}/trade", swap_trade)
    app.router.add_post("/pump/launch", launch)
    app.router.add_post("/pump/{mint}/trade", trade)
    app.router.add_get("/pump/{mint}", curve)
    return pad
