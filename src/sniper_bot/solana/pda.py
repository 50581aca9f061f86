"""Program-derived addresses the bot computes (associated token accounts, Metaplex metadata)."""

from __future__ import annotations

from solders.pubkey import Pubkey

from sniper_bot.solana.programs import ASSOCIATED_TOKEN_PROGRAM_ID, METADATA_PROGRAM_ID

__all__ = ["associated_token_address", "metadata_pda"]


def associated_token_address(owner: Pubkey, mint: Pubkey, token_program: Pubkey) -> Pubkey:
    """The ATA of (owner, mint) under the mint's own token program: Token and Token-2022 differ."""
    seeds = [bytes(owner), bytes(token_program), bytes(mint)]
    return Pubkey.find_program_address(seeds, ASSOCIATED_TOKEN_PROGRAM_ID)[0]


def metadata_pda(mint: Pubkey) -> Pubkey:
    """The Metaplex Metadata account of ``mint``: ``["metadata", program, mint]``."""
    seeds = [b"metadata", bytes(METADATA_PROGRAM_ID), bytes(mint)]
    return Pubkey.find_program_address(seeds, METADATA_PROGRAM_ID)[0]
