"""Hand-built snapshots for layer unit tests: an honest token, tweaked one fact at a time."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from solders.pubkey import Pubkey

from sniper_bot.safety.snapshot import (
    TOKEN_PROGRAM_ID,
    Holder,
    PoolKind,
    PoolSnapshot,
    RoundTrip,
    SellSimulation,
    TokenSnapshot,
)
from sniper_bot.solana.layouts.metaplex import MetaplexMetadata
from sniper_bot.solana.layouts.token import MintState
from sniper_bot.solana.layouts.token2022 import MintExtensions

SUPPLY = 1_000_000_000_000_000
MINT = Pubkey.new_unique()
CREATOR = Pubkey.new_unique()
POOL = Pubkey.new_unique()
POOL_VAULT = Pubkey.new_unique()


def honest(**changes: Any) -> TokenSnapshot:
    holders = [Holder(POOL_VAULT, SUPPLY * 78 // 100, POOL)]
    holders.append(Holder(Pubkey.new_unique(), SUPPLY * 2 // 100, CREATOR))
    holders += [
        Holder(Pubkey.new_unique(), SUPPLY * 2 // 100, Pubkey.new_unique()) for _ in range(10)
    ]
    snap = TokenSnapshot(
        mint=MINT,
        program_id=TOKEN_PROGRAM_ID,
        mint_state=MintState(None, SUPPLY, 6, True, None),
        extensions=MintExtensions(),
        supply=SUPPLY,
        decimals=6,
        metaplex=MetaplexMetadata(
            CREATOR, MINT, "Honest", "HON", "https://x", 0, None, False, False
        ),
        holders=tuple(holders),
        pool=PoolSnapshot(
            POOL,
            PoolKind.RAYDIUM_V4,
            sol_reserve=50 * 10**9,
            token_reserve=SUPPLY * 78 // 100,
            token_vault=POOL_VAULT,
            vault_owners=frozenset({POOL}),
            lp_supply=0,
            lp_total=1_000,
        ),
        sell_simulation=SellSimulation("transfer_to_pool", holders[1].address, CREATOR, 10, None),
        round_trip=RoundTrip(10**8, tokens_out=1_000, sol_back=99_000_000),
        slot=1234,
    )
    return replace(snap, **changes)
