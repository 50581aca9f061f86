"""Well-known regulated stablecoins and wrapped assets: their issuer's powers are issuer risk.

A live mint or freeze authority is CRITICAL for an anonymous token: the creator can print and dump,
or freeze buyers so sells fail. On USDC the same authority belongs to Circle, a regulated issuer
that mints against reserves and freezes only sanctioned or court-ordered accounts. Blocking USDC as
a honeypot would be a false positive; calling it riskless would be a lie. So for the mints listed
here, and only when the mint is owned by the expected token program:

* the finding is still reported, with its evidence (the authority address), plus the issuer and
  the reason of the entry;
* it is re-weighted as issuer risk: ``ISSUER_RISK`` below (LOW / MEDIUM, never CRITICAL);
* only *powers held* are re-weighted (``issuer_powers`` of the entry). Powers *in use* keep their
  verdict: a transfer fee in force, a hook program set, a paused mint, frozen holders or a sell
  that fails in simulation are judged exactly as for any other token.

The list is data; add an entry only with a verifiable reason (issuer, regulator, what the power is
used for). It is keyed by address: nobody can create another account at these addresses on
mainnet, so a copycat with the same name or symbol gets no allowance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

from solders.pubkey import Pubkey

from sniper_bot.domain.risk import Finding, Severity
from sniper_bot.safety.snapshot import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, TokenSnapshot

__all__ = [
    "ISSUER_RISK",
    "KNOWN_TOKENS",
    "MINT_AND_FREEZE",
    "KnownToken",
    "apply_known_tokens",
    "known_token",
]

MINT_AND_FREEZE = frozenset({"mint_authority_live", "freeze_authority_live"})

# finding code -> (severity, weight, what the power means when a regulated issuer holds it)
ISSUER_RISK: Mapping[str, tuple[Severity, int, str]] = MappingProxyType(
    {
        "mint_authority_live": (
            Severity.LOW,
            5,
            "the issuer mints against reserves; supply follows deposits and redemptions",
        ),
        "freeze_authority_live": (
            Severity.MEDIUM,
            10,
            "the issuer can freeze an account, e.g. on a sanctions list or court order",
        ),
        "permanent_delegate": (
            Severity.MEDIUM,
            10,
            "the issuer can move or burn tokens from any account, e.g. to enforce a seizure",
        ),
        "transfer_fee_upgradable": (
            Severity.LOW,
            5,
            "the issuer may set a transfer fee (none is in force)",
        ),
        "transfer_hook_settable": (
            Severity.LOW,
            5,
            "the issuer may attach a transfer hook (none is set)",
        ),
        "mint_close_authority": (Severity.LOW, 5, "the issuer may close the mint once empty"),
        "confidential_transfers": (Severity.LOW, 5, "confidential transfers are configured"),
    }
)


@dataclass(frozen=True, slots=True)
class KnownToken:
    symbol: str
    issuer: str
    program: Pubkey
    reason: str
    issuer_powers: frozenset[str] = MINT_AND_FREEZE


_PYUSD_POWERS = MINT_AND_FREEZE | {
    "permanent_delegate",
    "transfer_fee_upgradable",
    "transfer_hook_settable",
    "mint_close_authority",
    "confidential_transfers",
}

KNOWN_TOKENS: Mapping[Pubkey, KnownToken] = MappingProxyType(
    {
        Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"): KnownToken(
            "USDC",
            "Circle",
            TOKEN_PROGRAM_ID,
            "Fiat-backed stablecoin issued by Circle (regulated money transmitter, monthly "
            "reserve attestations); mint and freeze authorities are Circle's by design.",
        ),
        Pubkey.from_string("Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB"): KnownToken(
            "USDT",
            "Tether",
            TOKEN_PROGRAM_ID,
            "Fiat-backed stablecoin issued by Tether (quarterly reserve attestations); Tether "
            "holds the mint and freeze authorities and freezes addresses on legal request.",
        ),
        Pubkey.from_string("2b1kV6DkPAnxd5ixfnxCpjxmKwqjjaYmCZfHsFu24GXo"): KnownToken(
            "PYUSD",
            "Paxos",
            TOKEN_2022_PROGRAM_ID,
            "PayPal USD, issued by Paxos Trust (NYDFS-regulated) on Token-2022; Paxos holds the "
            "mint, freeze, permanent-delegate, fee and hook authorities for compliance.",
            _PYUSD_POWERS,
        ),
        Pubkey.from_string("So11111111111111111111111111111111111111112"): KnownToken(
            "wSOL",
            "SPL Token program",
            TOKEN_PROGRAM_ID,
            "Wrapped SOL: the token program's native mint, 1:1 with lamports deposited; on "
            "mainnet it has no authorities at all.",
        ),
    }
)


def known_token(snap: TokenSnapshot) -> KnownToken | None:
    """The entry for this mint, if listed and owned by the program the entry expects."""
    entry = KNOWN_TOKENS.get(snap.mint)
    if entry is None or entry.program != snap.program_id:
        return None
    return entry


def _as_issuer_risk(f: Finding, entry: KnownToken) -> Finding:
    severity, weight, meaning = ISSUER_RISK[f.code]
    title = f.title.split(":")[0].rstrip(".")
    return replace(
        f,
        severity=severity,
        weight=weight,
        title=f"{title}, held by {entry.issuer} ({entry.symbol}): issuer risk, not a honeypot; "
        f"{meaning}.",
        evidence={
            **f.evidence,
            "known_token": entry.symbol,
            "issuer": entry.issuer,
            "reason": entry.reason,
            "weight_if_unknown": f.weight,
        },
    )


def apply_known_tokens(snap: TokenSnapshot, findings: Sequence[Finding]) -> list[Finding]:
    """Re-weight the issuer powers of a listed mint as issuer risk; everything else unchanged."""
    entry = known_token(snap)
    if entry is None:
        return list(findings)
    return [
        _as_issuer_risk(f, entry) if f.code in entry.issuer_powers and f.code in ISSUER_RISK else f
        for f in findings
    ]
