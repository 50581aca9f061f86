"""Token kinds as data: what each one sets up on chain and what its creator does later."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ProgramName = Literal["spl-token", "token-2022"]


@dataclass(frozen=True, slots=True)
class KindSpec:
    program: ProgramName = "spl-token"
    keep_mint_authority: bool = False
    keep_freeze_authority: bool = False
    mutable_metadata: bool = False
    creator_share: float = 0.02  # of the supply, to the creator
    holders: int = 10  # other wallets holding `holders_share` between them
    holders_share: float = 0.2
    liquidity_sol: float = 50.0
    fee_bps: int = 0  # Token-2022 transfer fee
    permanent_delegate: bool = False
    non_transferable: bool = False
    default_frozen: bool = False
    transfer_hook: bool = False
    pausable: bool = False
    rug_after_slots: int | None = None  # the engine pulls the liquidity after this many slots


KINDS: dict[str, KindSpec] = {
    "honest": KindSpec(),
    "freeze_authority": KindSpec(keep_freeze_authority=True),
    "mint_authority": KindSpec(keep_mint_authority=True),
    "transfer_fee": KindSpec(program="token-2022", fee_bps=7_500),
    "permanent_delegate": KindSpec(program="token-2022", permanent_delegate=True),
    "non_transferable": KindSpec(program="token-2022", non_transferable=True),
    "default_frozen": KindSpec(
        program="token-2022", default_frozen=True, keep_freeze_authority=True
    ),
    "transfer_hook": KindSpec(program="token-2022", transfer_hook=True),
    "pausable": KindSpec(program="token-2022", pausable=True),
    "concentrated": KindSpec(creator_share=0.9, holders=2, holders_share=0.02),
    "low_liquidity": KindSpec(liquidity_sol=0.5),
    "rug_pull": KindSpec(rug_after_slots=20),
    "mutable_metadata": KindSpec(mutable_metadata=True),
}

# What `rug` does for each kind (the creator's malicious move); other kinds pull liquidity.
RUG_ACTIONS: dict[str, str] = {
    "freeze_authority": "freeze_buyers",
    "mint_authority": "mint_and_dump",
    "permanent_delegate": "drain_holders",
    "pausable": "pause",
}
