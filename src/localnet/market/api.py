"""A Jupiter-compatible Swap API ("Metis" v1, also under /v6) over the localnet market.

`GET /quote`, `POST /swap`, `POST /swap-instructions`, `GET /program-id-to-label` with the shapes of
PROTOCOLS section 1. Routing errors are HTTP 400 `{"error", "errorCode"}`; an optional API key is
checked in `x-api-key` (401); an optional rate limit answers 429 with the `x-ratelimit-*` headers
(60-second sliding window, `x-ratelimit-reset` in absolute Unix seconds).

`/swap-instructions` reports the same instructions `/swap` compiles, but the pool's co-signature
exists only in `/swap`'s transaction: a client assembling its own transaction from them cannot
complete the maker's leg (it fails with a missing signature).

Every parameter is honoured or refused, never ignored: `swapMode` other than ExactIn/ExactOut and
malformed booleans or numbers are validation errors (axum's "Failed to deserialize query string"
text, as Jupiter's server answers); `dexes`/`excludeDexes` take the labels of
`/program-id-to-label` (an unknown label is a validation error, a filter that leaves no pool is
COULD_NOT_FIND_ANY_ROUTE); `platformFeeBps` puts `platformFee {amount, feeBps}` in the quote and
the fee transfer to `feeAccount` in the transaction (`/swap` refuses a fee quote without one);
`asLegacyTransaction` gets a legacy transaction, or an error when the route does not fit in a
packet; `prioritizationFeeLamports: {"jitoTipLamports": N}` (or `jitoTipLamportsWithPayer`) adds a
System transfer to one of Jito's tip accounts instead of a compute-unit price. A `quoteResponse`
whose amounts disagree with its own `routePlan` is refused; one edited consistently is re-routed
and the chain's slippage guard judges it against the quoted `outAmount` and `slippageBps` (the
client's `otherAmountThreshold` is not used, as on Jupiter). `GET /price/v3?ids=` prices the
market's tokens and SOL in USD from the pools' reserves and `Market.sol_usd` (see
`price_v3`).
"""

from __future__ import annotations

import base64
import itertools
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiohttp import web
from solders.account import Account
from solders.instruction import Instruction
from solders.pubkey import Pubkey
from solders.token.state import TokenAccount

from localnet.jito.engine import TIP_ACCOUNT_BALANCE, TIP_ACCOUNTS
from localnet.market import instructions as ix
from localnet.market.market import (
    DEFAULT_COMPUTE_UNIT_LIMIT,
    JUPITER_PROGRAM_ID,
    Market,
    MarketError,
    Quote,
    Tip,
)
from localnet.market.pricing import Side, min_out, swap_exact_in

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PRIORITY_LEVEL_LAMPORTS = {"medium": 10_000, "high": 50_000, "veryHigh": 100_000}
AUTO_PRIORITY_LAMPORTS = 50_000
DYNAMIC_COMPUTE_UNIT_LIMIT = 120_000
MARKET_KEY: web.AppKey[Market] = web.AppKey("market", Market)
MAX_BPS = 10_000
MAX_PRICE_IDS = 50
SWAP_MODES = ("ExactIn", "ExactOut")
# Jupiter's /program-id-to-label (a subset: the programs localnet runs or stands in for, and a
# few mainnet AMMs so that filters naming them are valid); `dexes`/`excludeDexes` take its labels.
PROGRAM_LABELS: dict[str, str] = {
    "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8": "Raydium",
    "CAMMCzo5YL8w4VFF8KVHrK22GGUsp5VTaW7grrKgrWqK": "Raydium CLMM",
    "CPMMoo8L3F4NbTegBCKVNunggL7H1ZpdTHKxQB5qKP1C": "Raydium CP",
    "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P": "Pump.fun",
    "pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA": "Pump.fun Amm",
    "whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc": "Whirlpool",
    "LBUZKhRxPF3XUpBCjp4YzTKgLccjZhTSDM9YuVaPwxo": "Meteora DLMM",
    "Eo7WjKq67rjJQSZxS6z3YkapzY3eMj6Xy8X5EQVn5UaB": "Meteora",
    "PhoeNiXZ8ByJGLkxNfZRnkUfjvmuYqLR89jjFHGqdXY": "Phoenix",
    "opnb2LAfJYbRMAHHvqjCwQxanZn7ReEHp1k81EohpZb": "OpenBook V2",
    str(JUPITER_PROGRAM_ID): "Jupiter",
}
DEX_LABELS = frozenset(PROGRAM_LABELS.values())


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


def _query_error(message: str) -> MarketError:
    return MarketError("INVALID_REQUEST", f"Failed to deserialize query string: {message}")


def _body_error(message: str) -> MarketError:
    return MarketError(
        "INVALID_REQUEST", f"Failed to deserialize the JSON body into the target type: {message}"
    )


def _swap_mode(value: Any, error: Callable[[str], MarketError]) -> str:
    if value not in SWAP_MODES:
        raise error(f"swapMode: unknown variant `{value}`, expected `ExactIn` or `ExactOut`")
    return str(value)


def _bool_query(query: Any, name: str) -> bool:
    value = query.get(name, "false")
    if value not in ("true", "false"):
        raise _query_error(f"{name}: provided string was not `true` or `false`")
    return bool(value == "true")


def _bps(value: Any, name: str) -> int:
    bps = _int(value, name)
    if bps > MAX_BPS:
        raise MarketError("INVALID_REQUEST", f"{name} must be at most {MAX_BPS}, got {bps}")
    return bps


def _dex_filter(query: Any) -> Callable[[str], bool] | None:
    """`dexes` / `excludeDexes` (comma lists of labels) -> a label predicate, None = all."""

    def labels(name: str) -> set[str] | None:
        raw = query.get(name)
        if raw is None:
            return None
        names = {part.strip() for part in str(raw).split(",") if part.strip()}
        unknown = sorted(names - DEX_LABELS)
        if unknown:
            raise MarketError(
                "INVALID_REQUEST",
                f"{name}: unknown dex label(s) {', '.join(unknown)}; the labels are the values "
                "of /program-id-to-label",
            )
        return names

    only, excluded = labels("dexes"), labels("excludeDexes")
    if only is None and excluded is None:
        return None
    return lambda label: (only is None or label in only) and label not in (excluded or ())


def _pubkey(value: Any, name: str) -> Pubkey:
    try:
        return Pubkey.from_string(str(value))
    except ValueError:
        raise MarketError("INVALID_REQUEST", f"{name} is not a valid public key") from None


def quote_to_json(q: Quote) -> dict[str, Any]:
    m = q.math
    fee = (
        {"amount": str(q.platform_fee), "feeBps": q.platform_fee_bps}
        if q.platform_fee_bps > 0
        else None
    )
    return {
        "inputMint": str(q.input_mint),
        "inAmount": str(m.in_amount),
        "outputMint": str(q.output_mint),
        "outAmount": str(q.out_amount),
        "otherAmountThreshold": str(q.other_amount_threshold),
        "swapMode": "ExactIn",
        "slippageBps": q.slippage_bps,
        "platformFee": fee,
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


def _check_quote(raw: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The quote's own consistency, as Jupiter validates it before building: a mode it knows, a
    one-pool route over the quote's mints and amount, an outAmount the route can pay, a fee that
    matches its bps. Returns (the route's swapInfo, platform fee bps)."""
    mode = _swap_mode(raw.get("swapMode"), _body_error)
    if mode != "ExactIn":
        raise MarketError("NOT_SUPPORTED", "ExactOut is not supported by this route's AMM")
    plan = raw.get("routePlan")
    if not isinstance(plan, list) or len(plan) != 1 or not isinstance(plan[0], dict):
        raise MarketError("INVALID_REQUEST", "quoteResponse.routePlan is not a route /quote made")
    info = plan[0].get("swapInfo")
    if not isinstance(info, dict):
        raise _body_error("quoteResponse.routePlan[0]: missing field `swapInfo`")
    for field_ in ("inputMint", "outputMint", "inAmount"):
        if str(info.get(field_)) != str(raw.get(field_)):
            raise MarketError(
                "INVALID_REQUEST",
                f"quoteResponse.{field_} {raw.get(field_)!r} does not match its routePlan "
                f"({info.get(field_)!r}): the quote was modified",
            )
    out = _int(raw.get("outAmount"), "outAmount")
    if out > _int(info.get("outAmount"), "routePlan outAmount"):
        raise MarketError(
            "INVALID_REQUEST",
            f"quoteResponse.outAmount {out} is more than its routePlan pays "
            f"({info.get('outAmount')}): the quote was modified",
        )
    fee = raw.get("platformFee")
    fee_bps = 0
    if fee is not None:
        if not isinstance(fee, dict):
            raise _body_error("quoteResponse.platformFee: invalid type, expected struct")
        fee_bps = _bps(fee.get("feeBps", 0), "platformFee.feeBps")
    _bps(raw.get("slippageBps", 50), "slippageBps")
    return info, fee_bps


def _quote_from_json(market: Market, body: dict[str, Any]) -> Quote:
    """Re-route the client's quote at current reserves. The chain's minimum out comes from the
    quoted outAmount and slippageBps (Jupiter's route args), not from otherAmountThreshold."""
    raw = body.get("quoteResponse")
    if not isinstance(raw, dict) or not raw.get("routePlan"):
        raise MarketError(
            "INVALID_REQUEST", "quoteResponse is required (the object /quote returned)"
        )
    info, fee_bps = _check_quote(raw)
    amm = _pubkey(info.get("ammKey"), "ammKey")
    pool = market.pool_by_key(amm)
    if pool is None:
        raise MarketError("MARKET_NOT_FOUND", f"Market {amm} not found")
    input_mint = _pubkey(raw.get("inputMint"), "inputMint")
    output_mint = _pubkey(raw.get("outputMint"), "outputMint")
    if {input_mint, output_mint} != {pool.mint, ix.WSOL_MINT}:
        raise MarketError(
            "INVALID_REQUEST", f"Market {amm} does not trade {input_mint} for {output_mint}"
        )
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
    slippage = _bps(raw.get("slippageBps", 50), "slippageBps")
    return Quote(
        pool=pool,
        side=side,
        input_mint=input_mint,
        output_mint=output_mint,
        math=math,
        other_amount_threshold=min_out(_int(raw.get("outAmount"), "outAmount"), slippage),
        slippage_bps=slippage,
        context_slot=market.cluster.slot,
        platform_fee_bps=fee_bps,
    )


def _fee_account(market: Market, body: dict[str, Any], quote: Quote) -> Pubkey | None:
    """`feeAccount`: required by a quote with a platform fee, and then an initialized token
    account of the output mint (wrapped SOL for a sell)."""
    raw = body.get("feeAccount")
    if quote.platform_fee_bps == 0:
        return None if raw is None else _pubkey(raw, "feeAccount")
    if raw is None:
        raise MarketError(
            "INVALID_REQUEST",
            "feeAccount is required: the quote has a platformFee "
            f"({quote.platform_fee_bps} bps, platformFeeBps in /quote)",
        )
    key = _pubkey(raw, "feeAccount")
    account = market.cluster.get_account(key)
    if account is None or account.owner not in (ix.TOKEN_PROGRAM_ID, ix.TOKEN_2022_PROGRAM_ID):
        raise MarketError(
            "INVALID_REQUEST", f"feeAccount {key} is not an initialized token account"
        )
    mint = TokenAccount.from_bytes(bytes(account.data[:165])).mint
    if mint != quote.output_mint:
        raise MarketError(
            "INVALID_REQUEST",
            f"feeAccount {key} holds {mint}; the fee is taken in the output mint "
            f"{quote.output_mint}",
        )
    return key


@dataclass(frozen=True, slots=True)
class Priority:
    micro_lamports: int = 0
    estimated: int = 0
    tip_payer: Pubkey | None = None  # a Jito tip instead of a compute-unit price
    tip_lamports: int = 0


_TIP_ROTATION = itertools.count()


def _priority(body: dict[str, Any], cu_limit: int, user: Pubkey) -> Priority:
    """The two mutually exclusive priority fields; `prioritizationFeeLamports` is EITHER a
    priority fee OR a Jito tip (Jupiter's SwapRequestPrioritizationFeeLamports)."""
    fee = body.get("prioritizationFeeLamports")
    price = body.get("computeUnitPriceMicroLamports")
    if fee is not None and price is not None:
        raise MarketError(
            "INVALID_COMPUTE_UNIT_PRICE_AND_PRIORITIZATION_FEE",
            "computeUnitPriceMicroLamports and prioritizationFeeLamports are mutually exclusive",
        )
    if price is not None:
        return Priority(_int(price, "computeUnitPriceMicroLamports"))
    lamports = 0
    if fee == "auto":
        lamports = AUTO_PRIORITY_LAMPORTS
    elif isinstance(fee, dict):
        if set(fee) == {"jitoTipLamports"}:
            return Priority(0, 0, user, _int(fee["jitoTipLamports"], "jitoTipLamports"))
        if set(fee) == {"jitoTipLamportsWithPayer"} and isinstance(
            fee["jitoTipLamportsWithPayer"], dict
        ):
            spec = fee["jitoTipLamportsWithPayer"]
            payer = _pubkey(spec.get("payer"), "jitoTipLamportsWithPayer.payer")
            return Priority(0, 0, payer, _int(spec.get("lamports"), "lamports"))
        if set(fee) == {"priorityLevelWithMaxLamports"} and isinstance(
            fee["priorityLevelWithMaxLamports"], dict
        ):
            spec = fee["priorityLevelWithMaxLamports"]
            level_name = spec.get("priorityLevel", "medium")
            if level_name not in PRIORITY_LEVEL_LAMPORTS:
                raise _body_error(
                    f"prioritizationFeeLamports.priorityLevelWithMaxLamports.priorityLevel: "
                    f"unknown variant `{level_name}`, expected one of `medium`, `high`, "
                    "`veryHigh`"
                )
            level = PRIORITY_LEVEL_LAMPORTS[level_name]
            lamports = min(level, _int(spec.get("maxLamports", level), "maxLamports"))
        elif set(fee) == {"autoMultiplier"}:
            lamports = AUTO_PRIORITY_LAMPORTS * _int(fee["autoMultiplier"], "autoMultiplier")
        else:
            raise _body_error(
                "prioritizationFeeLamports: data did not match any variant of untagged enum "
                "PrioritizationFeeLamports"
            )
    elif isinstance(fee, bool):
        raise _body_error("prioritizationFeeLamports: invalid type: boolean")
    elif isinstance(fee, int | str) and fee != "disabled":
        lamports = _int(fee, "prioritizationFeeLamports")
    micro = lamports * 1_000_000 // cu_limit
    return Priority(micro, micro)


def _tip(market: Market, priority: Priority) -> Tip | None:
    if priority.tip_payer is None:
        return None
    account = TIP_ACCOUNTS[next(_TIP_ROTATION) % len(TIP_ACCOUNTS)]
    if market.cluster.get_account(account) is None:  # as the block engine keeps them
        market.cluster.set_account(account, Account(TIP_ACCOUNT_BALANCE, b"", ix.SYSTEM_PROGRAM_ID))
    return Tip(priority.tip_payer, account, priority.tip_lamports)


@dataclass(frozen=True, slots=True)
class Built:
    quote: Quote
    user: Pubkey
    plan: Any
    priority: Priority
    legacy: bool


def _build(market: Market, body: dict[str, Any]) -> Built:
    user = _pubkey(body.get("userPublicKey"), "userPublicKey")
    quote = _quote_from_json(market, body)
    legacy = body.get("asLegacyTransaction", False)
    if not isinstance(legacy, bool):
        raise _body_error(f"asLegacyTransaction: invalid type: {legacy!r}, expected a boolean")
    dynamic = bool(body.get("dynamicComputeUnitLimit"))
    limit = DYNAMIC_COMPUTE_UNIT_LIMIT if dynamic else DEFAULT_COMPUTE_UNIT_LIMIT
    priority = _priority(body, limit, user)
    plan = market.plan_swap(
        quote,
        user,
        compute_unit_limit=limit,
        micro_lamports=priority.micro_lamports,
        fee_account=_fee_account(market, body, quote),
        tip=_tip(market, priority),
    )
    return Built(quote, user, plan, priority, legacy)


def _common(built: Built) -> dict[str, Any]:
    plan, priority = built.plan, built.priority
    if priority.tip_payer is not None:
        return {
            "prioritizationFeeLamports": priority.tip_lamports,
            "computeUnitLimit": plan.compute_unit_limit,
            "prioritizationType": {"jito": {"lamports": priority.tip_lamports}},
            "dynamicSlippageReport": None,
            "simulationError": None,
        }
    return {
        "prioritizationFeeLamports": plan.prioritization_fee_lamports,
        "computeUnitLimit": plan.compute_unit_limit,
        "prioritizationType": {
            "computeBudget": {
                "microLamports": plan.micro_lamports,
                "estimatedMicroLamports": priority.estimated,
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
    mode = _swap_mode(q.get("swapMode", "ExactIn"), _query_error)
    for name in ("onlyDirectRoutes", "restrictIntermediateTokens", "dynamicSlippage"):
        _bool_query(q, name)
    legacy = _bool_query(q, "asLegacyTransaction")
    dex_allowed = _dex_filter(q)
    fee_bps = _bps(q["platformFeeBps"], "platformFeeBps") if "platformFeeBps" in q else 0
    if mode != "ExactIn":
        return _error("NOT_SUPPORTED", "ExactOut is not supported by this route's AMM")
    for name in ("inputMint", "outputMint", "amount"):
        if name not in q:
            return _error("INVALID_REQUEST", f"Query parameter {name} is required")
    result = market.quote(
        _pubkey(q["inputMint"], "inputMint"),
        _pubkey(q["outputMint"], "outputMint"),
        _int(q["amount"], "amount"),
        _bps(q.get("slippageBps", "50"), "slippageBps"),
        platform_fee_bps=fee_bps,
        dex_allowed=dex_allowed,
    )
    if legacy:
        # Jupiter restricts an asLegacyTransaction quote to routes a legacy transaction can hold
        probe = market.plan_swap(
            result, market.maker.pubkey(), fee_account=market.maker.pubkey(), record=False
        )
        try:
            market.build_swap(probe, market.maker.pubkey(), result.pool, legacy=True)
        except MarketError:
            return _error("COULD_NOT_FIND_ANY_ROUTE", "Could not find any route")
    return web.json_response(quote_to_json(result))


async def swap(request: web.Request) -> web.Response:
    market = request.app[MARKET_KEY]
    built = _build(market, await _json_body(request))
    tx = market.build_swap(built.plan, built.user, built.quote.pool, legacy=built.legacy)
    return web.json_response(
        {
            "swapTransaction": base64.b64encode(bytes(tx)).decode(),
            "lastValidBlockHeight": market.cluster.last_valid_block_height(),
            **_common(built),
        }
    )


async def swap_instructions(request: web.Request) -> web.Response:
    market = request.app[MARKET_KEY]
    built = _build(market, await _json_body(request))
    plan = built.plan
    return web.json_response(
        {
            "tokenLedgerInstruction": None,
            "computeBudgetInstructions": [_instruction_json(i) for i in plan.compute_budget],
            "setupInstructions": [_instruction_json(i) for i in plan.setup],
            "swapInstruction": _instruction_json(plan.route),
            "cleanupInstruction": None,
            "otherInstructions": [_instruction_json(i) for i in plan.legs],
            "addressLookupTableAddresses": [],
            **_common(built),
        }
    )


async def program_id_to_label(request: web.Request) -> web.Response:
    del request
    return web.json_response(PROGRAM_LABELS)


def _iso(unix: int) -> str:
    stamp = datetime.fromtimestamp(unix, UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def _usd(value: Decimal) -> float:
    return float(round(value, 12))


def price_v3(market: Market, ids: Iterable[Pubkey]) -> dict[str, Any]:
    """Jupiter's Price API v3 body for `ids`: SOL at `market.sol_usd`, a token at its pool's
    spot price (SOL reserve per token, in whole units) times that; `liquidity` is both sides of
    the pool in USD. Mints without a pool are omitted, as Jupiter omits mints it cannot price."""
    out: dict[str, Any] = {}
    sol_usd = market.sol_usd
    for mint in ids:
        if mint == ix.WSOL_MINT:
            out[str(mint)] = {
                "usdPrice": _usd(sol_usd),
                "blockId": market.cluster.slot,
                "decimals": 9,
                "priceChange24h": None,
                "createdAt": _iso(market.cluster.block_time(market.started_slot)),
                "liquidity": None,
            }
            continue
        pool = market.pools.get(mint)
        if pool is None:
            continue
        sol, tokens = market.reserves(pool)
        if sol <= 0 or tokens <= 0:
            continue
        sol_per_token = (Decimal(sol) / 10**9) / (Decimal(tokens) / 10**pool.decimals)
        out[str(mint)] = {
            "usdPrice": _usd(sol_per_token * sol_usd),
            "blockId": market.cluster.slot,
            "decimals": pool.decimals,
            "priceChange24h": None,
            "createdAt": _iso(market.cluster.block_time(pool.created_slot)),
            "liquidity": _usd(2 * Decimal(sol) / 10**9 * sol_usd),
        }
    return out


async def price(request: web.Request) -> web.Response:
    market = request.app[MARKET_KEY]
    raw = request.query.get("ids")
    if raw is None:
        return _error("INVALID_REQUEST", "Failed to deserialize query string: missing field `ids`")
    names = [part.strip() for part in raw.split(",") if part.strip()]
    if not names or len(names) > MAX_PRICE_IDS:
        return _error("INVALID_REQUEST", f"ids must name 1 to {MAX_PRICE_IDS} mints")
    ids = [_pubkey(name, f"ids ({name})") for name in names]
    return web.json_response(price_v3(market, ids))


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
    app.router.add_get("/price/v3", price)
    return app
