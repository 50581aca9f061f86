"""Program ids the bot deals with (PROTOCOLS section 0), as base58 strings and as ``Pubkey``.

The strings are what transactions, JSON-RPC answers and error details carry; the ``*_ID`` keys
what account owners and instructions compare against. One place for every module: nothing else
spells a program id.
"""

from __future__ import annotations

from solders.pubkey import Pubkey

__all__ = [
    "ASSOCIATED_TOKEN_PROGRAM",
    "ASSOCIATED_TOKEN_PROGRAM_ID",
    "COMPUTE_BUDGET_PROGRAM",
    "COMPUTE_BUDGET_PROGRAM_ID",
    "JUPITER_V6_PROGRAM",
    "MEMO_PROGRAM",
    "METADATA_PROGRAM",
    "METADATA_PROGRAM_ID",
    "PUMP_AMM_PROGRAM",
    "PUMP_AMM_PROGRAM_ID",
    "PUMP_FEE_PROGRAM",
    "PUMP_FEE_PROGRAM_ID",
    "PUMP_PROGRAM",
    "PUMP_PROGRAM_ID",
    "RAYDIUM_CPMM_AUTHORITY_ID",
    "RAYDIUM_CPMM_PROGRAM",
    "RAYDIUM_CPMM_PROGRAM_ID",
    "RAYDIUM_V4_AUTHORITY_ID",
    "RAYDIUM_V4_PROGRAM",
    "RAYDIUM_V4_PROGRAM_ID",
    "SYSTEM_PROGRAM",
    "SYSTEM_PROGRAM_ID",
    "TOKEN_2022_PROGRAM",
    "TOKEN_2022_PROGRAM_ID",
    "TOKEN_PROGRAM",
    "TOKEN_PROGRAMS",
    "TOKEN_PROGRAM_ID",
    "TOKEN_PROGRAM_IDS",
]

SYSTEM_PROGRAM = "11111111111111111111111111111111"
TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"  # noqa: S105 - a program id
TOKEN_2022_PROGRAM = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"  # noqa: S105 - a program id
ASSOCIATED_TOKEN_PROGRAM = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"  # noqa: S105 - a program id
COMPUTE_BUDGET_PROGRAM = "ComputeBudget111111111111111111111111111111"
MEMO_PROGRAM = "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr"
METADATA_PROGRAM = "metaqbxxUerdq28cj1RbAWkYQm3ybzjb6a8bt518x1s"
JUPITER_V6_PROGRAM = "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4"
RAYDIUM_V4_PROGRAM = "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8"
RAYDIUM_CPMM_PROGRAM = "CPMMoo8L3F4NbTegBCKVNunggL7H1ZpdTHKxQB5qKP1C"
PUMP_PROGRAM = "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P"
PUMP_AMM_PROGRAM = "pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA"  # PumpSwap
PUMP_FEE_PROGRAM = "pfeeUxB6jkeY1Hxd7CsFCAjcbHA9rWtchMGdZ6VojVZ"  # pump.fun's and PumpSwap's fees
TOKEN_PROGRAMS = frozenset({TOKEN_PROGRAM, TOKEN_2022_PROGRAM})

SYSTEM_PROGRAM_ID = Pubkey.from_string(SYSTEM_PROGRAM)
TOKEN_PROGRAM_ID = Pubkey.from_string(TOKEN_PROGRAM)
TOKEN_2022_PROGRAM_ID = Pubkey.from_string(TOKEN_2022_PROGRAM)
ASSOCIATED_TOKEN_PROGRAM_ID = Pubkey.from_string(ASSOCIATED_TOKEN_PROGRAM)
COMPUTE_BUDGET_PROGRAM_ID = Pubkey.from_string(COMPUTE_BUDGET_PROGRAM)
METADATA_PROGRAM_ID = Pubkey.from_string(METADATA_PROGRAM)
RAYDIUM_V4_PROGRAM_ID = Pubkey.from_string(RAYDIUM_V4_PROGRAM)
RAYDIUM_CPMM_PROGRAM_ID = Pubkey.from_string(RAYDIUM_CPMM_PROGRAM)
PUMP_PROGRAM_ID = Pubkey.from_string(PUMP_PROGRAM)
PUMP_AMM_PROGRAM_ID = Pubkey.from_string(PUMP_AMM_PROGRAM)
PUMP_FEE_PROGRAM_ID = Pubkey.from_string(PUMP_FEE_PROGRAM)
TOKEN_PROGRAM_IDS = frozenset({TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID})
# The PDAs that own every pool vault of each Raydium program (the liquidity layer checks them).
RAYDIUM_V4_AUTHORITY_ID = Pubkey.from_string("5Q544fKrFoe6tsEbD7S8EmxGTJYAKtTVhAW5Q5pge4j1")
RAYDIUM_CPMM_AUTHORITY_ID = Pubkey.from_string("GpMZbSM2GgvTKHJirzeGfMFoaZ8UR2X7F4v8vHTvxFbL")
