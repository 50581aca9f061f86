"""Launchpad risk on pump.fun coins: what the creator still holds and whether it already sold.

A pump.fun coin has no mint or freeze authority and no LP to pull, so these findings (with the
holders layer, which excludes the curve's and the PumpSwap pool's own token accounts) carry the
decision for it. Inputs are ``TokenSnapshot.launchpad``: the bonding curve's ``creator`` and the
creator's token account (its ATA), read with the holders, no extra round trip.

* ``dev_holding``: the creator's token account balance as a share of the supply (burns
  excluded): >= 50% CRITICAL (75), >= 20% HIGH (40), >= 10% MEDIUM (15), >= 5% LOW (5), else
  INFO (0, the evidence of a small dev buy). A dev holding that much can sell it into the curve
  and take back most of the SOL every later buyer paid in.
* ``dev_sold``: the creator's token account exists and is empty: it bought (or received) the coin
  and sold or moved all of it out: HIGH (30). A partial sell is not visible from accounts alone
  (it needs the dev buy from the create's transaction or event; not implemented) and neither is an
  emptied account the creator closed (it reads like no dev buy).
* ``launchpad_unchecked``: the creator's account could not be read: LOW (5).
"""

from __future__ import annotations

from solders.pubkey import Pubkey

from sniper_bot.domain.risk import EvidenceValue, Finding, Severity
from sniper_bot.safety.layers._finding import bps_text, finding, share_bps
from sniper_bot.safety.layers.holders import BURN_OWNERS
from sniper_bot.safety.snapshot import TokenSnapshot

__all__ = ["check_launchpad"]

LAYER = "launchpad"

_DEV_HOLDING = (
    (5_000, Severity.CRITICAL, 75),
    (2_000, Severity.HIGH, 40),
    (1_000, Severity.MEDIUM, 15),
    (500, Severity.LOW, 5),
)
DEV_SOLD_WEIGHT = 30


def check_launchpad(snap: TokenSnapshot) -> list[Finding]:
    pad = snap.launchpad
    if pad is None:
        return []
    where: dict[str, EvidenceValue | Pubkey] = {
        "bonding_curve": pad.bonding_curve,
        "curve_complete": pad.complete,
        "venue": "pumpswap" if pad.pool is not None else "pumpfun",
    }
    if pad.creator is None or pad.creator_account is None:
        return [
            finding(
                "launchpad_unchecked", LAYER, Severity.LOW, 5,
                "The coin's creator is not recorded on its bonding curve: its holding is unknown.",
                **where,
            )
        ]  # fmt: skip
    if pad.creator_balance is None:
        return [
            finding(
                "launchpad_unchecked", LAYER, Severity.LOW, 5,
                "The creator's token account could not be read: its holding is unknown.",
                creator=pad.creator, token_account=pad.creator_account, **where,
            )
        ]  # fmt: skip
    burned = sum(h.amount for h in snap.holders or () if h.owner in BURN_OWNERS)
    supply = max(0, snap.supply - burned)
    bps = share_bps(pad.creator_balance, supply)
    evidence: dict[str, EvidenceValue | Pubkey] = {
        "creator": pad.creator,
        "token_account": pad.creator_account,
        "account_exists": pad.creator_account_exists,
        "amount": pad.creator_balance,
        "supply": supply,
        "share_bps": bps,
        **where,
    }
    if pad.creator_account_exists and pad.creator_balance == 0:
        return [
            finding(
                "dev_sold", LAYER, Severity.HIGH, DEV_SOLD_WEIGHT,
                "The creator's token account is empty: the dev sold or moved out all it held.",
                **evidence,
            )
        ]  # fmt: skip
    for floor, severity, weight in _DEV_HOLDING:
        if bps >= floor:
            return [
                finding(
                    "dev_holding", LAYER, severity, weight,
                    f"The creator holds {bps_text(bps)} of the supply and can sell it into the"
                    " curve.",
                    **evidence,
                )
            ]  # fmt: skip
    title = (
        f"The creator holds {bps_text(bps)} of the supply (a small dev buy)."
        if pad.creator_balance > 0
        else "The creator holds none of the supply."
    )
    return [finding("dev_holding", LAYER, Severity.INFO, 0, title, **evidence)]
