"""Mint and freeze authority: what the creator can still do to every holder, at any time.

* mint authority live -> CRITICAL: supply can be inflated and dumped on buyers;
* freeze authority live -> CRITICAL: any holder's account can be frozen, so sells fail (custom 17);
* token program: INFO (classic SPL Token vs Token-2022, whose extensions are checked separately).
Authorities that are well-known program PDAs (pump.fun's bonding-curve mint authority) are INFO.
"""

from __future__ import annotations

from solders.pubkey import Pubkey

from sniper_bot.domain.risk import Finding, Severity
from sniper_bot.safety.layers._finding import finding
from sniper_bot.safety.snapshot import TokenSnapshot

__all__ = ["PROGRAM_AUTHORITIES", "check_authorities"]

LAYER = "authority"

# Program-owned authorities that no person controls (PROTOCOLS.md section 0).
PROGRAM_AUTHORITIES: dict[Pubkey, str] = {
    Pubkey.from_string("TSLvdd1pWpHVjahSpsvCXUbgwsL3JAcvokwaKt1eokM"): "pump.fun mint authority",
}


def check_authorities(snap: TokenSnapshot) -> list[Finding]:
    out: list[Finding] = []
    mint_auth = snap.mint_state.mint_authority
    if mint_auth is not None:
        if mint_auth in PROGRAM_AUTHORITIES:
            out.append(
                finding(
                    "mint_authority_program",
                    LAYER,
                    Severity.INFO,
                    0,
                    f"Mint authority is held by a program ({PROGRAM_AUTHORITIES[mint_auth]}).",
                    mint_authority=mint_auth,
                )
            )
        else:
            out.append(
                finding(
                    "mint_authority_live",
                    LAYER,
                    Severity.CRITICAL,
                    75,
                    "Mint authority is live: the creator can print new supply and dump it.",
                    mint_authority=mint_auth,
                    supply=snap.supply,
                )
            )
    freeze = snap.mint_state.freeze_authority
    if freeze is not None:
        out.append(
            finding(
                "freeze_authority_live",
                LAYER,
                Severity.CRITICAL,
                80,
                "Freeze authority is live: the creator can freeze your tokens so sells fail.",
                freeze_authority=freeze,
            )
        )
    program = "Token-2022" if snap.is_token_2022 else "SPL Token"
    out.append(
        finding(
            "token_program",
            LAYER,
            Severity.INFO,
            0,
            f"Token program: {program}.",
            program_id=snap.program_id,
        )
    )
    return out
