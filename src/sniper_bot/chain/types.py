"""Typed values the chain facade returns. Wire JSON never leaves ``chain``; callers get these.

Money is integers: lamports and token base units. ``err`` fields keep serde's externally-tagged
``TransactionError`` JSON as decoded (``"BlockhashNotFound"`` or
``{"InstructionError": [3, {"Custom": 6001}]}``) so callers classify with plain dict/str checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from solders.account import Account
from solders.pubkey import Pubkey
from solders.signature import Signature

__all__ = [
    "Commitment",
    "LandedTransaction",
    "SignatureStatus",
    "SimulationResult",
    "TokenAccountInfo",
    "TokenBalance",
    "TxError",
]

Commitment = Literal["processed", "confirmed", "finalized"]
TxError = dict[str, Any] | str | None


@dataclass(frozen=True, slots=True)
class SignatureStatus:
    """One entry of ``getSignatureStatuses``; ``confirmations`` is None once rooted."""

    slot: int
    confirmations: int | None
    err: TxError
    confirmation_status: str | None  # "processed" | "confirmed" | "finalized"

    @property
    def succeeded(self) -> bool:
        return self.err is None


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """``simulateTransaction``'s value: ``accounts`` aligned with the requested addresses."""

    err: TxError
    logs: list[str]
    units_consumed: int | None
    accounts: list[Account | None] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TokenBalance:
    """An entry of ``meta.preTokenBalances`` / ``postTokenBalances``; ``amount`` in base units."""

    account_index: int
    mint: str
    owner: str | None
    amount: int
    decimals: int
    program_id: str | None


@dataclass(frozen=True, slots=True)
class LandedTransaction:
    """A confirmed transaction as ``getTransaction`` reports it (json encoding, v0 supported)."""

    signature: Signature
    slot: int
    err: TxError
    fee: int
    account_keys: list[Pubkey]
    pre_balances: list[int]
    post_balances: list[int]
    pre_token_balances: list[TokenBalance]
    post_token_balances: list[TokenBalance]
    logs: list[str]

    @property
    def succeeded(self) -> bool:
        return self.err is None


@dataclass(frozen=True, slots=True)
class TokenAccountInfo:
    """A token account owned by a wallet; ``state`` is ``"initialized"`` or ``"frozen"``."""

    address: Pubkey
    mint: Pubkey
    owner: Pubkey
    amount: int
    decimals: int | None
    program_id: Pubkey
    state: str
