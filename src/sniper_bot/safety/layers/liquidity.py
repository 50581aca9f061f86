"""Liquidity: how much SOL a sell can reach, and whether the creator can pull it.

* no pool and no route -> CRITICAL (85): nothing to sell into;
* SOL depth < 0.01 SOL -> CRITICAL (85, liquidity pulled), < 1 SOL HIGH (70: blocked by default,
  but a user may override), < 5 SOL MEDIUM (25), < 10 SOL LOW (10);
* Raydium v4 / CPMM LP less than 90% burned -> HIGH (35): the LP holder can withdraw the pool;
  pump.fun bonding curve: INFO (program-held); other pool types: LOW (5), LP state unknown;
* a live pump.fun bonding curve's depth is INFO: the program buys back what was bought from it.
"""

from __future__ import annotations

from sniper_bot.domain.money import LAMPORTS_PER_SOL, format_sol
from sniper_bot.domain.risk import Finding, Severity
from sniper_bot.safety.layers._finding import bps_text, finding
from sniper_bot.safety.snapshot import PoolKind, PoolSnapshot, TokenSnapshot

__all__ = ["check_liquidity"]

LAYER = "liquidity"
_DEPTH = (
    (LAMPORTS_PER_SOL // 100, Severity.CRITICAL, 85, "Liquidity has been pulled"),
    (LAMPORTS_PER_SOL, Severity.HIGH, 70, "Very thin liquidity"),
    (5 * LAMPORTS_PER_SOL, Severity.MEDIUM, 25, "Thin liquidity"),
    (10 * LAMPORTS_PER_SOL, Severity.LOW, 10, "Modest liquidity"),
)


def _depth(pool: PoolSnapshot) -> Finding | None:
    if pool.sol_reserve is None:
        return finding(
            "liquidity_unknown",
            LAYER,
            Severity.LOW,
            5,
            "The pool's SOL depth could not be read.",
            pool=pool.address,
            pool_kind=pool.kind.value,
        )
    if pool.kind is PoolKind.PUMP_BONDING_CURVE:
        # The program itself buys every token back from the SOL buyers paid in, priced on its
        # virtual reserves: a fresh curve holds ~0 real SOL and nobody can pull what it holds.
        return finding(
            "curve_depth",
            LAYER,
            Severity.INFO,
            0,
            f"Bonding curve: the pump.fun program buys back from the {format_sol(pool.sol_reserve)}"
            " buyers paid in.",
            pool=pool.address,
            sol_reserve=pool.sol_reserve,
            token_reserve=pool.token_reserve,
        )
    for below, severity, weight, label in _DEPTH:
        if pool.sol_reserve < below:
            return finding(
                "low_liquidity",
                LAYER,
                severity,
                weight,
                f"{label}: the pool holds {format_sol(pool.sol_reserve)}; "
                "selling will move the price hard or fail.",
                pool=pool.address,
                sol_reserve=pool.sol_reserve,
                token_reserve=pool.token_reserve,
            )
    return finding(
        "liquidity",
        LAYER,
        Severity.INFO,
        0,
        f"Pool depth {format_sol(pool.sol_reserve)} ({pool.label or pool.kind.value}).",
        pool=pool.address,
        sol_reserve=pool.sol_reserve,
        token_reserve=pool.token_reserve,
    )


def _lp(pool: PoolSnapshot) -> Finding:
    if pool.kind is PoolKind.PUMP_BONDING_CURVE:
        return finding(
            "lp_program_held",
            LAYER,
            Severity.INFO,
            0,
            "Bonding curve: the liquidity is held by the pump.fun program, not by a person.",
            pool=pool.address,
        )
    burned = pool.lp_burned_bps
    if pool.kind in (PoolKind.RAYDIUM_V4, PoolKind.RAYDIUM_CPMM) and burned is not None:
        if burned < 9_000:
            return finding(
                "lp_not_burned",
                LAYER,
                Severity.HIGH,
                35,
                f"Only {bps_text(burned)} of the LP is burned: the LP holder can pull liquidity.",
                pool=pool.address,
                lp_mint=None if pool.lp_mint is None else str(pool.lp_mint),
                lp_burned_bps=burned,
            )
        return finding(
            "lp_burned",
            LAYER,
            Severity.INFO,
            0,
            f"{bps_text(burned)} of the LP is burned.",
            pool=pool.address,
            lp_burned_bps=burned,
        )
    return finding(
        "lp_unknown",
        LAYER,
        Severity.LOW,
        5,
        "Whether this pool's liquidity is locked cannot be determined for its pool type.",
        pool=pool.address,
        pool_kind=pool.kind.value,
    )


def check_liquidity(snap: TokenSnapshot) -> list[Finding]:
    pool = snap.pool
    if pool is None:
        trip = snap.round_trip
        if trip is not None and trip.buy_error is not None:
            return [
                finding(
                    "no_liquidity",
                    LAYER,
                    Severity.CRITICAL,
                    85,
                    "No pool or route trades this token: anything bought could not be sold.",
                    venue_error=trip.buy_error,
                )
            ]
        return [
            finding(
                "liquidity_unchecked", LAYER, Severity.LOW, 5, "Liquidity could not be checked."
            )
        ]
    out = [_lp(pool)]
    depth = _depth(pool)
    if depth is not None:
        out.insert(0, depth)
    return out
