"""Bundled launches: other wallets buying in the create's own slot (or its very transaction).

The usual pattern: the creator funds a handful of fresh wallets and lands their buys with the
create (a Jito bundle, or one transaction with several signers), so a large share of the supply
is its own under other names; ``dev_holding`` sees only the creator's account. Inputs:
``TokenSnapshot.launch_window`` (the full check reads the curve's first slot over RPC) or the
create transaction's own ``TradeEvent``s (the hot path, ``safety.launch``). Layer ``bundled``:

* ``bundled_launch``: the share of the supply (burns not excluded: fresh coin) wallets other than
  the creator bought in the create's slot: >= 25% HIGH 40, >= 10% MEDIUM 15, any LOW 5 (snipers
  land in the create's slot on mainnet too; only the size says "bundle"); none: INFO 0;
* ``bundle_funded_by_creator``: at least one of those wallets was funded by the creator (its
  oldest transaction is a transfer the creator paid for): HIGH 40 when the creator and its
  funded wallets hold >= 20% of the supply together, else MEDIUM 20.

Evidence: ``slot``, ``wallets`` (count), ``buyers`` (the first five, comma-separated),
``bundle_tokens``, ``share_bps``, ``dev_tokens``, ``funded_wallets``, ``funded_share_bps``,
``transactions``, ``truncated``.
"""

from __future__ import annotations

from collections.abc import Sequence

from solders.pubkey import Pubkey

from sniper_bot.domain.risk import EvidenceValue, Finding, Severity
from sniper_bot.safety.layers._finding import bps_text, finding, share_bps
from sniper_bot.safety.snapshot import EarlyBuy, TokenSnapshot

__all__ = ["BUNDLE_FUNDED_WEIGHT", "bundle_findings", "check_bundled"]

LAYER = "bundled"
_BUNDLE_SHARE = ((2_500, Severity.HIGH, 40), (1_000, Severity.MEDIUM, 15))
BUNDLE_FUNDED_WEIGHT = 40
_FUNDED_HIGH_BPS = 2_000


def bundle_findings(
    buys: Sequence[EarlyBuy],
    *,
    supply: int,
    slot: int | None,
    dev_tokens: int = 0,
    transactions: int = 1,
    truncated: bool = False,
) -> list[Finding]:
    """The ``bundled`` layer's findings for these early buys by wallets other than the creator."""
    wallets: dict[Pubkey, int] = {}
    for buy in buys:
        wallets[buy.user] = wallets.get(buy.user, 0) + buy.token_amount
    tokens = sum(wallets.values())
    bps = share_bps(tokens, supply)
    evidence: dict[str, EvidenceValue | Pubkey] = {
        "slot": slot,
        "wallets": len(wallets),
        "buyers": ",".join(str(k) for k in list(wallets)[:5]),
        "bundle_tokens": tokens,
        "share_bps": bps,
        "dev_tokens": dev_tokens,
        "transactions": transactions,
        "truncated": truncated,
    }
    if not wallets:
        return [
            finding(
                "bundled_launch", LAYER, Severity.INFO, 0,
                "No other wallet bought in the create's slot.", **evidence,
            )
        ]  # fmt: skip
    severity, weight = Severity.LOW, 5
    for floor, sev, w in _BUNDLE_SHARE:
        if bps >= floor:
            severity, weight = sev, w
            break
    out = [
        finding(
            "bundled_launch", LAYER, severity, weight,
            f"{len(wallets)} other wallet(s) bought {bps_text(bps)} of the supply in the create's"
            " slot.",
            **evidence,
        )
    ]  # fmt: skip
    funded = {b.user for b in buys if b.funded_by_creator}
    if funded:
        funded_tokens = sum(wallets[k] for k in funded) + dev_tokens
        funded_bps = share_bps(funded_tokens, supply)
        high = funded_bps >= _FUNDED_HIGH_BPS
        out.append(
            finding(
                "bundle_funded_by_creator", LAYER,
                Severity.HIGH if high else Severity.MEDIUM, BUNDLE_FUNDED_WEIGHT if high else 20,
                f"{len(funded)} wallet(s) the creator funded bought in the create's slot: with the"
                f" creator they hold {bps_text(funded_bps)} of the supply.",
                **evidence, funded_wallets=len(funded),
                funded_buyers=",".join(str(k) for k in list(funded)[:5]),
                funded_share_bps=funded_bps,
            )
        )  # fmt: skip
    return out


def check_bundled(snap: TokenSnapshot) -> list[Finding]:
    window = snap.launch_window
    if window is None or snap.launchpad is None:
        return []
    return bundle_findings(
        window.buys,
        supply=snap.supply,
        slot=window.create_slot,
        dev_tokens=window.dev_tokens,
        transactions=window.transactions,
        truncated=window.truncated,
    )
