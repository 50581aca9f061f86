"""A Jupiter-compatible Swap API ("Metis" v1, also under /v6) over the localnet market.

`GET /quote`, `POST /swap`, `POST /swap-instructions`, `GET /program-id-to-label` with the shapes of
PROTOCOLS section 1. Routing errors are HTTP 400 `{"error", "errorCode"}`; an optional API key is
checked in `x-api-key` (401); an optional rate limit answers 429 with the `x-ratelimit-*` headers
(60-second sliding window, `x-ratelimit-reset` in absolute Unix seconds).

`/swap-instructions` reports the same instructions `/swap` compiles, but the pool's co-signature
exists only in `/swap`'s transaction: a client assembling its own transaction from them cannot
complete the maker's leg (it fails with a missing signature).
"""

from __future__ import annotations

import base64
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from solders.instruction import Instruction
from solders.pubkey import Pubkey

from localnet.market.market import (
    DEFAULT_COMPUTE_UNIT_LIMIT,
    JUPITER_PROGRAM_ID,
    Market,
    MarketError,
    Quote,
)
from localnet.market.pricing import Side, min_out, swap_exact_in

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PRIORITY_LEVEL_LAMPORTS = {"medium": 10_000, "high": 50_000, "veryHigh": 100_000}
AUTO_PRIORITY_LAMPORTS = 50_000
DYNAMIC_COMPUTE_UNIT_LIMIT = 120_000
MARKET_KEY: web.AppKey[Market] = web.AppKey("market", Market)


@dataclass
class RateLimit:
    """At most `per_minute` requests in any 60 s window (like Jupiter's tiers)."""

    per_minute: int
    clock: Callable[[], float] = time.time
    _hits: deque[float] = field(default_factory=deque)

    def hit(self) -> tuple[bool, dict[str, str]]:
        now = self.clock()
        while self._hits and self._hits[0] <= now - 60:
            self._hits.popleft()
        allowed = len(self._hits) < self.per_minute
        if allowed:
            self._hits.append(now)
        reset = int((self._hits[0] if self._hits else now) + 60)
        headers = {
            "x-ratelimit-remaining": str(self.per_minute - len(self._hits) - (0 if allowed else 1)),
            "x-ratelimit-current": str(len(self._hits)),
            "x-ratelimit-reset": str(reset),
        }
        return allowed, headers


def _error(code: str, message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message, "errorCode": code}, status=status)


def _int(value: Any, name: str) -> int:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        raise MarketError("INVALID_REQUEST", f"{name} must be an integer, got {value!r}") from None
    if number < 0:
        raise MarketError("INVALID_REQUEST", f"{name} must not be negative")
    return number


def _pubkey(value: Any, name: str) -> Pubkey:
    try:
        return Pubkey.from_string(str(value))
    except ValueError:
        raise MarketError("INVALID_REQUEST", f"{name} is not a valid public key") from None


def quote_to_json(q: Quote) -> dict[str, Any]:
    m = q.math
    return {
        "inputMint": str(q.input_mint),
        "inAmount": str(m.in_amount),
        "outputMint": str(q.output_mint),
        "outAmount": str(m.out_amount),
        "otherAmountThreshold": str(q.other_amount_threshold),
        "swapMode": "ExactIn",
        "slippageBps": q.slippage_bps,
        "platformFee": None,
        "priceImpactPct": format(m.price_impact_pct.normalize(), "f"),
        "routePlan": [
            {
                "swapInfo": {
                    "ammKey": str(q.pool.key),
                    "label": q.pool.label,
                    "inputMint": str(q.input_mint),
                    "outputMint": str(q.output_mint),
                    "inAmount": str(m.in_amount),
                    "outAmount": str(m.out_amount),
                },
                "percent": 100,
                "bps": 10_000,
            }
        ],
        "contextSlot": q.context_slot,
        "timeTaken": 0.001,
    }


def _instruction_json(ins: Instruction) -> dict[str, Any]:
    return {
        "programId": str(ins.program_id),
        "accounts": [
            {"pubkey": str(a.pubkey), "isSigner": a.is_signer, "isWritable": a.is_writable}
            for a in ins.accounts
        ],
        "data": base64.b64encode(bytes(ins.data)).decode(),
    }


def _quote_from_json(market: Market, body: dict[str, Any]) -> Quote:
    """Re-route the client's quote at current reserves, keeping its threshold (like Jupiter)."""
    raw = body.get("quoteResponse")
    if not isinstance(raw, dict) or not raw.get("routePlan"):
        raise MarketError(
            "INVALID_REQUEST", "quoteResponse is required (the object /quote returned)"
        )
    amm = _pubkey(raw["routePlan"][0]["swapInfo"]["ammKey"], "ammKey")
    pool = market.pool_by_key(amm)
    if pool is None:
        raise MarketError("MARKET_NOT_FOUND", f"Market {amm} not found")
    input_mint = _pubkey(raw.get("inputMint"), "inputMint")
    side: Side = "sell" if input_mint == pool.mint else "buy"
    amount = _int(raw.get("inAmount"), "inAmount")
    sol, tokens = market.reserves(pool)
    math = swap_exact_in(
        side=side,
        amount_in=amount,
        sol_reserve=sol,
        token_reserve=tokens,
        pool_fee_bps=pool.fee_bps,
        transfer_fee=pool.transfer_fee,
    )
    slippage = _int(raw.get("slippageBps", 50), "slippageBps")
    threshold = raw.get("otherAmountThreshold")
    return Quote(
        pool=pool,
        side=side,
        input_mint=input_mint,
        output_mint=_pubkey(raw.get("outputMint"), "outputMint"),
        math=math,
        other_amount_threshold=(
            _int(threshold, "otherAmountThreshold")
            if threshold is not None
            else min_out(math.out_amount, slippage)
        ),
        slippage_bps=slippage,
        context_slot=market.cluster.slot,
    )


def _priority(body: dict[str, Any], cu_limit: int) -> tuple[int, int]:
    """(micro-lamports per CU, estimate) from the two mutually exclusive priority fields."""
    fee = body.get("prioritizationFeeLamports")
    price = body.get("computeUnitPriceMicroLamports")
    if fee is not None and price is not None:
        raise MarketError(
            "INVALID_COMPUTE_UNIT_PRICE_AND_PRIORITIZATION_FEE",
            "computeUnitPriceMicroLamports and prioritizationFeeLamports are mutually exclusive",
        )
    if price is not None:
        return _int(price, "computeUnitPriceMicroLamports"), 0
    lamports = 0
    if fee == "auto":
        lamports = AUTO_PRIORITY_LAMPORTS
    elif isinstance(fee, dict) and "priorityLevelWithMaxLamports" in fee:
        spec = fee["priorityLevelWithMaxLamports"]
        level = PRIORITY_LEVEL_LAMPORTS.get(spec.get("priorityLevel", "medium"), 10_000)
        lamports = min(level, _int(spec.get("maxLamports", level), "maxLamports"))
    elif isinstance(fee, int | str) and fee != "disabled":
        lamports = _int(fee, "prioritizationFeeLamports")
    micro = lamports * 1_000_000 // cu_limit
    return micro, micro


def _build(market: Market, body: dict[str, Any]) -> tuple[Quote, Pubkey, Any, int]:
    user = _pubkey(body.get("userPublicKey"), "userPublicKey")
    quote = _quote_from_json(market, body)
    dynamic = bool(body.get("dynamicComputeUnitLimit"))
    limit = DYNAMIC_COMPUTE_UNIT_LIMIT if dynamic else DEFAULT_COMPUTE_UNIT_LIMIT
    micro, estimated = _priority(body, limit)
    plan = market.plan_swap(quote, user, compute_unit_limit=limit, micro_lamports=micro)
    return quote, user, plan, estimated


def _common(plan: Any, estimated: int) -> dict[str, Any]:
    return {
        "prioritizationFeeLamports": plan.prioritization_fee_lamports,
        "computeUnitLimit": plan.compute_unit_limit,
        "prioritizationType": {
            "computeBudget": {
                "microLamports": plan.micro_lamports,
                "estimatedMicroLamports": estimated,
            }
        },
        "dynamicSlippageReport": None,
        "simulationError": None,
    }


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise MarketError("INVALID_REQUEST", "the body must be JSON") from None
    if not isinstance(body, dict):
        raise MarketError("INVALID_REQUEST", "the body must be a JSON object")
    return body


async def quote(request: web.Request) -> web.Response:
    market = request.app[MARKET_KEY]
    q = request.query
    if q.get("swapMode", "ExactIn") != "ExactIn":
        return _error("NOT_SUPPORTED", "ExactOut is not supported by this route's AMM")
    for name in ("inputMint", "outputMint", "amount"):
        if name not in q:
            return _error("INVALID_REQUEST", f"Query parameter {name} is required")
    result = market.quote(
        _pubkey(q["inputMint"], "inputMint"),
        _pubkey(q["outputMint"], "outputMint"),
        _int(q["amount"], "amount"),
        _int(q.get("slippageBps", "50"), "slippageBps"),
    )
    return web.json_response(quote_to_json(result))


async def swap(request: web.Request) -> web.Response:
    market = request.app[MARKET_KEY]
    quote_, user, plan, estimated = _build(market, await _json_body(request))
    tx = market.build_swap(plan, user, quote_.pool)
    return web.json_response(
        {
            "swapTransaction": base64.b64encode(bytes(tx)).decode(),
            "lastValidBlockHeight": market.cluster.last_valid_block_height(),
            **_common(plan, estimated),
        }
    )


async def swap_instructions(request: web.Request) -> web.Response:
    market = request.app[MARKET_KEY]
    _, _, plan, estimated = _build(market, await _json_body(request))
    return web.json_response(
        {
            "tokenLedgerInstruction": None,
            "computeBudgetInstructions": [_instruction_json(i) for i in plan.compute_budget],
            "setupInstructions": [_instruction_json(i) for i in plan.setup],
            "swapInstruction": _instruction_json(plan.route),
            "cleanupInstruction": None,
            "otherInstructions": [_instruction_json(i) for i in plan.legs],
            "addressLookupTableAddresses": [],
            **_common(plan, estimated),
        }
    )


async def program_id_to_label(request: web.Request) -> web.Response:
    del request
    return web.json_response(
        {
            "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8": "Raydium",
            "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P": "Pump.fun",
            str(JUPITER_PROGRAM_ID): "Jupiter",
        }
    )


def create_jupiter_app(
    market: Market, *, api_key: str | None = None, rate_limit: RateLimit | None = None
) -> web.Application:
    @web.middleware
    async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if api_key is not None and request.headers.get("x-api-key") != api_key:
            return web.json_response(
                {"error": "Unauthorized", "errorCode": "UNAUTHORIZED"}, status=401
            )
        headers: dict[str, str] = {}
        if rate_limit is not None:
            allowed, headers = rate_limit.hit()
            if not allowed:
                return web.json_response(
                    {"error": "Too Many Requests"}, status=429, headers=headers
                )
        try:
            response = await handler(request)
        except MarketError as exc:
            response = _error(exc.code, exc.message)
        except (KeyError, TypeError, IndexError) as exc:
            response = _error("INVALID_REQUEST", f"malformed request: {exc}")
        response.headers.update(headers)
        return response

    app = web.Application(middlewares=[gate])
    app[MARKET_KEY] = market
    for base in ("/swap/v1", "/v6"):
        app.router.add_get(f"{base}/quote", quote)
        app.router.add_post(f"{base}/swap", swap)
        app.router.add_post(f"{base}/swap-instructions", swap_instructions)
        app.router.add_get(f"{base}/program-id-to-label", program_id_to_label)
    return app
