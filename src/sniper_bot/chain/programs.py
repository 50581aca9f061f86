"""Program ids as ``Pubkey`` and the associated-token-account derivation (both token programs)."""

from __future__ import annotations

from solders.pubkey import Pubkey

from sniper_bot.domain import programs as ids

__all__ = [
    "ASSOCIATED_TOKEN_PROGRAM_ID",
    "COMPUTE_BUDGET_PROGRAM_ID",
    "METADATA_PROGRAM_ID",
    "SYSTEM_PROGRAM_ID",
    "TOKEN_2022_PROGRAM_ID",
    "TOKEN_PROGRAM_ID",
    "TOKEN_PROGRAM_IDS",
    "associated_token_address",
]

SYSTEM_PROGRAM_ID = Pubkey.from_string(ids.SYSTEM_PROGRAM)
TOKEN_PROGRAM_ID = Pubkey.from_string(ids.TOKEN_PROGRAM)
TOKEN_2022_PROGRAM_ID = Pubkey.from_string(ids.TOKEN_2022_PROGRAM)
ASSOCIATED_TOKEN_PROGRAM_ID = Pubkey.from_string(ids.ASSOCIATED_TOKEN_PROGRAM)
COMPUTE_BUDGET_PROGRAM_ID = Pubkey.from_string(ids.COMPUTE_BUDGET_PROGRAM)
METADATA_PROGRAM_ID = Pubkey.from_string(ids.METADATA_PROGRAM)
TOKEN_PROGRAM_IDS = frozenset({TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID})


def associated_token_address(owner: Pubkey, mint: Pubkey, token_program: Pubkey) -> Pubkey:
    """The ATA of (owner, mint) under the mint's own token program: Token and Token-2022 differ."""
    seeds = [bytes(owner), bytes(token_program), bytes(mint)]
    return Pubkey.find_program_address(seeds, ASSOCIATED_TOKEN_PROGRAM_ID)[0]
