"""Metadata: can someone still change the token's name, symbol and link?

Mutable Metaplex metadata (``is_mutable``) or a Token-2022 TokenMetadata with an update authority
-> LOW (10): a classic tool for copycat swaps and bait-and-switch. No metadata at all -> LOW (5).
"""

from __future__ import annotations

from sniper_bot.domain.risk import Finding, Severity
from sniper_bot.safety.layers._finding import finding
from sniper_bot.safety.snapshot import TokenSnapshot

__all__ = ["check_metadata"]

LAYER = "metadata"


def check_metadata(snap: TokenSnapshot) -> list[Finding]:
    meta, ext_meta = snap.metaplex, snap.extensions.token_metadata
    if meta is None and ext_meta is None:
        return [
            finding("no_metadata", LAYER, Severity.LOW, 5, "The token has no metadata account.")
        ]
    out: list[Finding] = []
    if meta is not None:
        if meta.is_mutable:
            out.append(
                finding(
                    "metadata_mutable",
                    LAYER,
                    Severity.LOW,
                    10,
                    "Metadata is mutable: its update authority can change name, symbol and link.",
                    update_authority=meta.update_authority,
                    name=meta.name,
                    symbol=meta.symbol,
                )
            )
        else:
            out.append(
                finding(
                    "metadata_immutable",
                    LAYER,
                    Severity.INFO,
                    0,
                    f"Metadata is immutable ({meta.name} / {meta.symbol}).",
                    name=meta.name,
                    symbol=meta.symbol,
                )
            )
    if ext_meta is not None and ext_meta.update_authority is not None:
        out.append(
            finding(
                "token_metadata_mutable",
                LAYER,
                Severity.LOW,
                10,
                "Token-2022 metadata is mutable: its update authority can change it.",
                update_authority=ext_meta.update_authority,
                name=ext_meta.name,
                symbol=ext_meta.symbol,
            )
        )
    return out
