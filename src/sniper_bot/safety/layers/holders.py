"""Holder concentration from ``getTokenLargestAccounts``, excluding pool reserves and burns.

Pool reserves are the route's pool vault and, on a pump.fun coin, the bonding curve's own token
account (the unsold supply) and the canonical PumpSwap pool's base vault, known from the coin's
own accounts whatever the route (``TokenSnapshot.launchpad``).

Shares are of the supply that is not burned. Findings:
* top holder >= 50% CRITICAL (75), >= 20% HIGH (35), >= 10% MEDIUM (15);
* top 10 >= 70% HIGH (40), >= 40% MEDIUM (15);
* creator (metadata update authority / creators, mint or freeze authority) >= 20% HIGH (30),
  >= 5% MEDIUM (10); on a pump.fun coin the curve's creator counts too and its share is rated by
  the launchpad layer (``dev_holding``) instead, so it is not counted twice.
"""

from __future__ import annotations

from solders.pubkey import Pubkey

from sniper_bot.domain.risk import Finding, Severity
from sniper_bot.safety.layers._finding import bps_text, finding, share_bps
from sniper_bot.safety.snapshot import Holder, TokenSnapshot

__all__ = ["BURN_OWNERS", "check_holders", "creator_candidates"]

LAYER = "holders"

BURN_OWNERS = frozenset(
    {
        Pubkey.from_string("1nc1nerator11111111111111111111111111111111"),
        Pubkey.from_string("11111111111111111111111111111111"),
    }
)


def creator_candidates(snap: TokenSnapshot) -> frozenset[Pubkey]:
    keys: set[Pubkey] = set()
    if snap.metaplex is not None:
        keys.add(snap.metaplex.update_authority)
        keys.update(c.address for c in snap.metaplex.creators or ())
    if snap.extensions.token_metadata is not None:
        authority = snap.extensions.token_metadata.update_authority
        if authority is not None:
            keys.add(authority)
    for key in (snap.mint_state.mint_authority, snap.mint_state.freeze_authority):
        if key is not None:
            keys.add(key)
    return frozenset(keys)


def _is_pool(holder: Holder, snap: TokenSnapshot) -> bool:
    if snap.launchpad is not None and snap.launchpad.holds_reserve(holder):
        return True
    pool = snap.pool
    if pool is None:
        return False
    return holder.address == pool.token_vault or (
        holder.owner is not None and holder.owner in pool.vault_owners
    )


def _tiered(
    value: int, tiers: tuple[tuple[int, Severity, int], ...]
) -> tuple[Severity, int] | None:
    for floor, severity, weight in tiers:
        if value >= floor:
            return severity, weight
    return None


_TOP1 = ((5_000, Severity.CRITICAL, 75), (2_000, Severity.HIGH, 35), (1_000, Severity.MEDIUM, 15))
_TOP10 = ((7_000, Severity.HIGH, 40), (4_000, Severity.MEDIUM, 15))
_CREATOR = ((2_000, Severity.HIGH, 30), (500, Severity.MEDIUM, 10))


def check_holders(snap: TokenSnapshot) -> list[Finding]:
    if snap.holders is None:
        return [
            finding("holders_unchecked", LAYER, Severity.LOW, 5, "Holders could not be checked.")
        ]
    burned = sum(h.amount for h in snap.holders if h.owner in BURN_OWNERS)
    circulating = max(0, snap.supply - burned)
    reserve = sum(h.amount for h in snap.holders if _is_pool(h, snap))
    others = sorted(
        (h for h in snap.holders if h.owner not in BURN_OWNERS and not _is_pool(h, snap)),
        key=lambda h: h.amount,
        reverse=True,
    )
    top1 = others[0] if others else None
    top1_bps = share_bps(top1.amount, circulating) if top1 else 0
    top10_bps = share_bps(sum(h.amount for h in others[:10]), circulating)
    creators = creator_candidates(snap)
    pad = snap.launchpad
    if pad is not None and pad.creator is not None:
        creators |= {pad.creator}  # rated by the launchpad layer's dev_holding, not here
    creator_amount = sum(h.amount for h in others if h.owner in creators)
    creator_bps = share_bps(creator_amount, circulating)
    out: list[Finding] = []
    rated = _tiered(top1_bps, _TOP1)
    if rated is not None and top1 is not None:
        out.append(
            finding(
                "top_holder_concentration",
                LAYER,
                *rated,
                f"One wallet holds {bps_text(top1_bps)} of the supply and can dump it on buyers.",
                share_bps=top1_bps,
                token_account=top1.address,
                owner=None if top1.owner is None else str(top1.owner),
                amount=top1.amount,
            )
        )
    rated = _tiered(top10_bps, _TOP10)
    if rated is not None:
        out.append(
            finding(
                "top10_concentration",
                LAYER,
                *rated,
                f"The top 10 wallets hold {bps_text(top10_bps)} of the supply.",
                share_bps=top10_bps,
            )
        )
    rated = None if pad is not None else _tiered(creator_bps, _CREATOR)
    if rated is not None:
        out.append(
            finding(
                "creator_share",
                LAYER,
                *rated,
                f"The creator still holds {bps_text(creator_bps)} of the supply.",
                share_bps=creator_bps,
            )
        )
    out.append(
        finding(
            "holders",
            LAYER,
            Severity.INFO,
            0,
            f"Top holder {bps_text(top1_bps)}, top 10 {bps_text(top10_bps)}, "
            f"creator {bps_text(creator_bps)} (pool reserves and burns excluded).",
            top1_bps=top1_bps,
            top10_bps=top10_bps,
            creator_bps=creator_bps,
            burned=burned,
            pool_reserve=reserve,
        )
    )
    return out
