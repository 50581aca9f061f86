"""Jupiter wire JSON <-> our values. The only module that knows Jupiter's JSON keys.

Tolerates the documented schema drift (PROTOCOLS 1.2-1.5): amounts as strings or integers,
``routePlan[].bps`` or the older ``percent`` (nullable), ``feeAmount``/``feeMint`` removed in Nov
2025, ``platformFee`` null, unknown extra fields. Anything required that is missing or malformed
raises ``MalformedResponse`` naming the field.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from sniper_bot.domain.quotes import Quote, RouteStep, SwapMode, SwapTransaction

__all__ = [
    "MalformedResponse",
    "SwapInstructions",
    "error_code_of",
    "parse_quote",
    "parse_swap",
    "parse_swap_instructions",
    "quote_params",
    "swap_body",
]

VENUE = "jupiter"


class MalformedResponse(ValueError):
    """A Jupiter body lacks a required field or has one of the wrong type."""


@dataclass(frozen=True, slots=True)
class SwapInstructions:
    """``/swap-instructions``: the pieces to compose our own transaction."""

    compute_budget: tuple[Instruction, ...]
    setup: tuple[Instruction, ...]
    swap: Instruction
    cleanup: Instruction | None
    other: tuple[Instruction, ...]
    address_lookup_tables: tuple[Pubkey, ...]
    compute_unit_limit: int | None
    prioritization_fee_lamports: int | None

    def all(self) -> list[Instruction]:
        tail = [self.cleanup] if self.cleanup is not None else []
        return [*self.compute_budget, *self.setup, self.swap, *tail, *self.other]


def _int(data: Mapping[str, Any], key: str, *, required: bool = True) -> int | None:
    value = data.get(key)
    if value is None:
        if required:
            raise MalformedResponse(f"Jupiter response lacks {key!r}")
        return None
    if isinstance(value, bool):
        raise MalformedResponse(f"Jupiter field {key!r} is a bool, expected an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise MalformedResponse(f"Jupiter field {key!r} is not an integer: {value!r}")


def _req_int(data: Mapping[str, Any], key: str) -> int:
    value = _int(data, key)
    if value is None:  # pragma: no cover - _int raises first
        raise MalformedResponse(f"Jupiter response lacks {key!r}")
    return value


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedResponse(f"Jupiter response lacks the string {key!r}")
    return value


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


def _route_step(raw: Any) -> RouteStep:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("swapInfo"), Mapping):
        raise MalformedResponse("Jupiter routePlan entry lacks 'swapInfo'")
    info = raw["swapInfo"]
    bps = _int(raw, "bps", required=False)
    if bps is None:
        percent = _int(raw, "percent", required=False)
        bps = 10_000 if percent is None else percent * 100
    return RouteStep(
        amm_key=_str(info, "ammKey"),
        label=_opt_str(info, "label"),
        input_mint=_str(info, "inputMint"),
        output_mint=_str(info, "outputMint"),
        in_amount=_req_int(info, "inAmount"),
        out_amount=_req_int(info, "outAmount"),
        bps=bps,
        fee_amount=_int(info, "feeAmount", required=False),
        fee_mint=_opt_str(info, "feeMint"),
    )


def parse_quote(body: Any) -> Quote:
    """A ``GET /quote`` 200 body -> ``Quote`` (``raw`` keeps the body for ``/swap``)."""
    if not isinstance(body, Mapping):
        raise MalformedResponse("Jupiter quote is not a JSON object")
    mode = body.get("swapMode", "ExactIn")
    if mode not in ("ExactIn", "ExactOut"):
        raise MalformedResponse(f"Jupiter swapMode {mode!r} is unknown")
    swap_mode: SwapMode = "ExactIn" if mode == "ExactIn" else "ExactOut"
    plan = body.get("routePlan")
    if not isinstance(plan, list):
        raise MalformedResponse("Jupiter quote lacks 'routePlan'")
    impact_raw = body.get("priceImpactPct", "0")
    try:
        impact = Decimal(str(impact_raw if impact_raw is not None else "0"))
    except InvalidOperation:
        raise MalformedResponse(f"Jupiter priceImpactPct {impact_raw!r} is not a number") from None
    slippage = _int(body, "slippageBps", required=False)
    return Quote(
        venue=VENUE,
        input_mint=_str(body, "inputMint"),
        output_mint=_str(body, "outputMint"),
        in_amount=_req_int(body, "inAmount"),
        out_amount=_req_int(body, "outAmount"),
        other_amount_threshold=_req_int(body, "otherAmountThreshold"),
        swap_mode=swap_mode,
        slippage_bps=slippage if slippage is not None else 0,
        price_impact_pct=impact,
        route=tuple(_route_step(step) for step in plan),
        context_slot=_int(body, "contextSlot", required=False),
        raw=dict(body),
    )


def quote_params(
    input_mint: str,
    output_mint: str,
    amount: int,
    slippage_bps: int,
    *,
    swap_mode: SwapMode = "ExactIn",
    only_direct_routes: bool = False,
    max_accounts: int | None = None,
) -> dict[str, str]:
    if amount <= 0:
        raise ValueError("a quote needs a positive integer amount in base units")
    params = {
        "inputMint": input_mint,
        "outputMint": output_mint,
        "amount": str(int(amount)),
        "slippageBps": str(int(slippage_bps)),
        "swapMode": swap_mode,
    }
    if only_direct_routes:
        params["onlyDirectRoutes"] = "true"
    if max_accounts is not None:
        params["maxAccounts"] = str(max_accounts)
    return params


def swap_body(
    quote: Quote,
    user_public_key: str,
    *,
    priority_fee_lamports: int | None,
    jito_tip_lamports: int | None = None,
    wrap_and_unwrap_sol: bool = True,
    dynamic_compute_unit_limit: bool = True,
) -> dict[str, Any]:
    """The ``/swap`` request. ``prioritizationFeeLamports`` is EITHER a priority fee (lamports)
    OR a Jito tip (``{"jitoTipLamports": N}``: Jupiter adds a System transfer of N lamports to
    one of Jito's tip accounts), never both (@jup-ag/api SwapRequestPrioritizationFeeLamports):
    with a tip the priority fee is left out."""
    body: dict[str, Any] = {
        "quoteResponse": dict(quote.raw),
        "userPublicKey": user_public_key,
        "wrapAndUnwrapSol": wrap_and_unwrap_sol,
        "dynamicComputeUnitLimit": dynamic_compute_unit_limit,
    }
    if jito_tip_lamports is not None:
        body["prioritizationFeeLamports"] = {"jitoTipLamports": int(jito_tip_lamports)}
    elif priority_fee_lamports is not None:
        body["prioritizationFeeLamports"] = int(priority_fee_lamports)
    return body


def _simulation_error(body: Mapping[str, Any]) -> str | None:
    sim = body.get("simulationError")
    if sim is None:
        return None
    if isinstance(sim, Mapping):
        code = sim.get("errorCode") or "UNKNOWN"
        return f"{code}: {sim.get('error') or ''}".strip()
    return str(sim)


def parse_swap(body: Any) -> SwapTransaction:
    """A ``POST /swap`` 200 body -> ``SwapTransaction`` (base64 decoded)."""
    if not isinstance(body, Mapping):
        raise MalformedResponse("Jupiter swap response is not a JSON object")
    encoded = _str(body, "swapTransaction")
    try:
        tx_bytes = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedResponse("Jupiter swapTransaction is not base64") from None
    return SwapTransaction(
        tx_bytes=tx_bytes,
        last_valid_block_height=_req_int(body, "lastValidBlockHeight"),
        prioritization_fee_lamports=_int(body, "prioritizationFeeLamports", required=False),
        compute_unit_limit=_int(body, "computeUnitLimit", required=False),
        simulation_error=_simulation_error(body),
    )


def _instruction(raw: Any, what: str) -> Instruction:
    if not isinstance(raw, Mapping):
        raise MalformedResponse(f"Jupiter {what} is not an instruction object")
    try:
        program = Pubkey.from_string(_str(raw, "programId"))
        metas = [
            AccountMeta(
                Pubkey.from_string(str(a["pubkey"])), bool(a["isSigner"]), bool(a["isWritable"])
            )
            for a in raw.get("accounts") or []
        ]
        data = base64.b64decode(str(raw.get("data") or ""), validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise MalformedResponse(f"Jupiter {what} is malformed: {exc}") from None
    return Instruction(program, data, metas)


def parse_swap_instructions(body: Any) -> SwapInstructions:
    if not isinstance(body, Mapping):
        raise MalformedResponse("Jupiter swap-instructions response is not a JSON object")
    if body.get("swapInstruction") is None:
        raise MalformedResponse("Jupiter response lacks 'swapInstruction'")

    def many(key: str) -> tuple[Instruction, ...]:
        return tuple(_instruction(i, key) for i in body.get(key) or [])

    cleanup = body.get("cleanupInstruction")
    try:
        tables = tuple(Pubkey.from_string(a) for a in body.get("addressLookupTableAddresses") or [])
    except ValueError as exc:
        raise MalformedResponse(f"Jupiter addressLookupTableAddresses: {exc}") from None
    return SwapInstructions(
        compute_budget=many("computeBudgetInstructions"),
        setup=many("setupInstructions"),
        swap=_instruction(body["swapInstruction"], "swapInstruction"),
        cleanup=_instruction(cleanup, "cleanupInstruction") if cleanup is not None else None,
        other=many("otherInstructions"),
        address_lookup_tables=tables,
        compute_unit_limit=_int(body, "computeUnitLimit", required=False),
        prioritization_fee_lamports=_int(body, "prioritizationFeeLamports", required=False),
    )


def error_code_of(body: Any) -> tuple[str | None, str]:
    """An error body -> (errorCode, message); both shapes seen: ``{error, errorCode}`` or text."""
    if isinstance(body, Mapping):
        code = body.get("errorCode") or body.get("code")
        message = body.get("error") or body.get("message") or ""
        return (str(code) if code is not None else None, str(message))
    return None, str(body or "")[:300]
