"""Token kinds with real on-chain mechanics (SPL Token, Token-2022 extensions, Metaplex data)."""

from localnet.tokens.factory import Token, TokenError, TokenFactory, TokenInfo
from localnet.tokens.kinds import KINDS

__all__ = ["KINDS", "Token", "TokenError", "TokenFactory", "TokenInfo"]
