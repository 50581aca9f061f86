"""Proof by execution: a simulated sell of real tokens, and a round-trip quote for the tax.

A failed sell simulation is decisive (CRITICAL, 100) and names the program error: frozen = 17,
non-transferable = 37, paused = 67, or the transfer-hook program's own failure. Failures that say
nothing about the token (fee payer, blockhash, our own amount) are inconclusive (LOW).
The round trip (buy ``sol_in``, sell what comes back) gives the effective tax:
>= 50% CRITICAL (90), >= 20% HIGH (40), >= 10% MEDIUM (15); a buy route with no sell route is
CRITICAL (80).
"""

from __future__ import annotations

from typing import Any

from sniper_bot.domain.risk import Finding, Severity
from sniper_bot.safety.layers._finding import bps_text, finding
from sniper_bot.safety.snapshot import SellSimulation, TokenSnapshot

__all__ = ["TOKEN_ERRORS", "check_round_trip", "check_sell_simulation", "instruction_error"]

LAYER = "simulation"

# SPL Token / Token-2022 error enum positions (PROTOCOLS.md 7.6).
TOKEN_ERRORS: dict[int, str] = {
    0: "NotRentExempt",
    1: "InsufficientFunds",
    2: "InvalidMint",
    3: "MintMismatch",
    4: "OwnerMismatch",
    5: "FixedSupply",
    17: "AccountFrozen",
    18: "MintDecimalsMismatch",
    30: "TransferFeeExceedsMaximum",
    36: "NoMemo",
    37: "NonTransferable",
    67: "MintPaused",
}
# Errors that prove nothing about the token: our input, not the token's rules.
_INCONCLUSIVE_CUSTOM = frozenset({1, 18})


def instruction_error(err: dict[str, Any] | str | None) -> tuple[int, object] | None:
    """``{"InstructionError": [i, inner]}`` -> (i, inner); anything else -> None."""
    if not isinstance(err, dict):
        return None
    value = err.get("InstructionError")
    if isinstance(value, list | tuple) and len(value) == 2 and isinstance(value[0], int):
        return value[0], value[1]
    return None


def _custom_code(inner: object) -> int | None:
    if isinstance(inner, dict) and isinstance(inner.get("Custom"), int):
        return int(inner["Custom"])
    return None


def _failure(sim: SellSimulation) -> Finding:
    ix = instruction_error(sim.err)
    evidence: dict[str, Any] = {
        "technique": sim.technique,
        "source_account": str(sim.source),
        "holder": str(sim.holder_owner),
        "amount": sim.amount,
        "error": str(sim.err),
    }
    if ix is None:
        return finding(
            "sell_simulation_inconclusive",
            LAYER,
            Severity.LOW,
            5,
            f"The sell simulation could not run ({sim.err}); it proves nothing either way.",
            **evidence,
        )
    index, inner = ix
    code = _custom_code(inner)
    if code in _INCONCLUSIVE_CUSTOM and sim.technique == "transfer_to_pool":
        return finding(
            "sell_simulation_inconclusive",
            LAYER,
            Severity.LOW,
            5,
            f"The sell simulation failed with {TOKEN_ERRORS.get(code or 0, code)}, "
            "which says nothing about the token.",
            **evidence,
        )
    name = TOKEN_ERRORS.get(code, f"custom program error {code}") if code is not None else inner
    last_log = sim.logs[-1] if sim.logs else ""
    return finding(
        "sell_fails",
        LAYER,
        Severity.CRITICAL,
        100,
        f"A sell of this token fails in simulation: {name}"
        + (f" (error {code}, 0x{code:x})." if code is not None else "."),
        **evidence,
        instruction_index=index,
        program_error=code,
        program_error_name=str(name),
        last_log=last_log,
    )


def check_sell_simulation(snap: TokenSnapshot) -> list[Finding]:
    sim = snap.sell_simulation
    if sim is None:
        return [
            finding(
                "sell_unsimulated",
                LAYER,
                Severity.LOW,
                5,
                "No holder to simulate a sell from; the sell path is unproven.",
            )
        ]
    if not sim.succeeded:
        return [_failure(sim)]
    return [
        finding(
            "sell_simulated",
            LAYER,
            Severity.INFO,
            0,
            "A real sell of this token succeeds in simulation.",
            technique=sim.technique,
            source_account=sim.source,
            amount=sim.amount,
            units_consumed=sim.units_consumed,
        )
    ]


def check_round_trip(snap: TokenSnapshot) -> list[Finding]:
    trip = snap.round_trip
    if trip is None or trip.buy_error is not None:
        return []  # no buy route: reported by the liquidity layer
    if trip.sell_error is not None:
        return [
            finding(
                "no_sell_route",
                LAYER,
                Severity.CRITICAL,
                80,
                "The token can be bought but no route sells it back.",
                sol_in=trip.sol_in,
                tokens_out=trip.tokens_out,
                venue_error=trip.sell_error,
            )
        ]
    loss = trip.loss_bps
    if loss is None:
        return []
    evidence = {"sol_in": trip.sol_in, "tokens_out": trip.tokens_out, "sol_back": trip.sol_back}
    for floor, severity, weight in (
        (5_000, Severity.CRITICAL, 90),
        (2_000, Severity.HIGH, 40),
        (1_000, Severity.MEDIUM, 15),
    ):
        if loss >= floor:
            return [
                finding(
                    "round_trip_tax",
                    LAYER,
                    severity,
                    weight,
                    f"Buying and selling right back loses {bps_text(loss)}: a hidden tax.",
                    loss_bps=loss,
                    **evidence,
                )
            ]
    return [
        finding(
            "round_trip",
            LAYER,
            Severity.INFO,
            0,
            f"Round trip loses {bps_text(loss)} (pool fees and price impact).",
            loss_bps=loss,
            **evidence,
        )
    ]
