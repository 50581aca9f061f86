"""Account layouts: SPL Token / Token-2022 (``token``, ``token2022``), Metaplex and Token-2022
metadata (``metaplex``), Raydium pools (``raydium``), the pump.fun bonding curve (``pump``).
Every parser raises ``ParseError`` (``base``) on malformed bytes and nothing else."""

from sniper_bot.solana.layouts.base import ParseError

__all__ = ["ParseError"]
