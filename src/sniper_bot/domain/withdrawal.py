"""Withdrawal values: the persisted state machine, its classified errors, and amount parsing.

    PENDING --sign--> SIGNED(signature, lastValidBlockHeight, signed bytes) --first send--> SENT
    SIGNED | SENT --landed, meta.err null--> CONFIRMED
    SIGNED | SENT --landed with meta.err, or refused at preflight--> FAILED
    SIGNED | SENT --block height > lastValidBlockHeight and no status--> EXPIRED
    PENDING --interrupted before signing, or refused before signing--> FAILED

Nothing is sent before SIGNED is stored; after SIGNED only those bytes are ever sent.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sniper_bot.domain.orders import InvalidTransition

__all__ = [
    "FINAL_WITHDRAWAL_STATES",
    "SOL_ASSET",
    "WITHDRAWAL_TRANSITIONS",
    "AmountRequest",
    "WithdrawalErrorType",
    "WithdrawalFailure",
    "WithdrawalRecord",
    "WithdrawalStatus",
    "check_withdrawal_transition",
    "parse_amount_request",
]

SOL_ASSET = "SOL"
_U64_MAX = 2**64 - 1


class WithdrawalStatus(enum.StrEnum):
    PENDING = "PENDING"
    SIGNED = "SIGNED"
    SENT = "SENT"
    CONFIRMED = "CONFIRMED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"


FINAL_WITHDRAWAL_STATES = frozenset(
    {WithdrawalStatus.CONFIRMED, WithdrawalStatus.FAILED, WithdrawalStatus.EXPIRED}
)

WITHDRAWAL_TRANSITIONS: dict[WithdrawalStatus, frozenset[WithdrawalStatus]] = {
    WithdrawalStatus.PENDING: frozenset({WithdrawalStatus.SIGNED, WithdrawalStatus.FAILED}),
    WithdrawalStatus.SIGNED: frozenset(
        {
            WithdrawalStatus.SENT,
            WithdrawalStatus.CONFIRMED,
            WithdrawalStatus.FAILED,
            WithdrawalStatus.EXPIRED,
        }
    ),
    WithdrawalStatus.SENT: frozenset(
        {WithdrawalStatus.CONFIRMED, WithdrawalStatus.FAILED, WithdrawalStatus.EXPIRED}
    ),
    WithdrawalStatus.CONFIRMED: frozenset(),
    WithdrawalStatus.FAILED: frozenset(),
    WithdrawalStatus.EXPIRED: frozenset(),
}


def check_withdrawal_transition(current: WithdrawalStatus, target: WithdrawalStatus) -> None:
    if target not in WITHDRAWAL_TRANSITIONS[current]:
        raise InvalidTransition(f"withdrawal cannot move from {current} to {target}")


class WithdrawalErrorType(enum.StrEnum):
    INSUFFICIENT_FUNDS = "insufficient_funds"
    BLOCKHASH_EXPIRED = "blockhash_expired"
    REJECTED = "rejected"
    INTERRUPTED = "interrupted"
    RPC_UNAVAILABLE = "rpc_unavailable"


_USER_SENTENCES: dict[WithdrawalErrorType, str] = {
    WithdrawalErrorType.INSUFFICIENT_FUNDS: (
        "Not enough SOL or tokens for this withdrawal plus its fee. Nothing was sent; check the "
        "balance and try a smaller amount."
    ),
    WithdrawalErrorType.BLOCKHASH_EXPIRED: (
        "The withdrawal expired before the network processed it. Nothing was sent; try again."
    ),
    WithdrawalErrorType.REJECTED: (
        "The network rejected the withdrawal (for example the token account is frozen or the "
        "token cannot be transferred). Only the network fee was spent."
    ),
    WithdrawalErrorType.INTERRUPTED: (
        "The withdrawal was interrupted before it was signed. Nothing was sent; try again."
    ),
    WithdrawalErrorType.RPC_UNAVAILABLE: (
        "The Solana network is unreachable right now. Nothing was sent; try again in a minute."
    ),
}


@dataclass(frozen=True, slots=True)
class WithdrawalFailure:
    """Stored as JSON ``{type, message, ...}`` in ``"Withdrawal".error``."""

    type: WithdrawalErrorType
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def user_message(self) -> str:
        return _USER_SENTENCES[self.type]

    def to_json(self) -> dict[str, Any]:
        return {**self.details, "type": self.type.value, "message": self.message}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WithdrawalFailure:
        rest = {k: v for k, v in data.items() if k not in ("type", "message")}
        return cls(WithdrawalErrorType(data["type"]), str(data.get("message", "")), rest)


@dataclass(frozen=True, slots=True)
class WithdrawalRecord:
    """One ``"Withdrawal"`` row. ``asset`` is ``"SOL"`` or the mint address."""

    id: str
    user_id: int
    wallet_id: int
    asset: str
    token_program: str | None
    destination: str
    amount: int  # lamports or token base units
    decimals: int
    fee_lamports: int
    rent_lamports: int
    status: WithdrawalStatus
    idempotency_key: str
    created_at: datetime
    updated_at: datetime
    signature: str | None = None
    last_valid_block_height: int | None = None
    signed_tx: bytes | None = field(default=None, repr=False)
    error: WithdrawalFailure | None = None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_WITHDRAWAL_STATES

    @property
    def is_sol(self) -> bool:
        return self.asset == SOL_ASSET


@dataclass(frozen=True, slots=True)
class AmountRequest:
    """What the user asked to send: everything, a share of the maximum, or an exact amount.

    ``exact`` is in base units; ``percent_bps`` is 1..10_000 (10_000 means everything).
    """

    exact: int | None = None
    percent_bps: int | None = None

    @property
    def is_all(self) -> bool:
        return self.exact is None and self.percent_bps in (None, 10_000)

    def resolve(self, maximum: int) -> int:
        """The base units to send when at most ``maximum`` can go."""
        if self.exact is not None:
            return self.exact
        return maximum * (self.percent_bps or 10_000) // 10_000


_ALL_WORDS = frozenset({"all", "max", "everything"})


def parse_amount_request(text: str, decimals: int) -> AmountRequest:
    """Parse ``"0.5"``, ``"12,5"``, ``"50%"``, ``"100%"`` or ``"all"`` for an asset with
    ``decimals`` places. Raises ``ValueError`` with a sentence the user can act on."""
    cleaned = text.strip().lower().replace(",", ".").removesuffix("sol").strip()
    if cleaned in _ALL_WORDS:
        return AmountRequest()
    percent = cleaned.endswith("%")
    number = cleaned.removesuffix("%").strip()
    not_amount = "That is not an amount; send a number like 0.5, a share like 50%, or all."
    try:
        value = Decimal(number)
    except (InvalidOperation, ValueError):
        raise ValueError(not_amount) from None
    if not value.is_finite():
        raise ValueError(not_amount)
    if value <= 0:
        raise ValueError("The amount must be greater than 0.")
    if percent:
        if value > 100:
            raise ValueError("A share can be at most 100%.")
        bps = value * 100
        if bps != bps.to_integral_value():
            raise ValueError("Give the share with at most two decimals, like 12.5%.")
        return AmountRequest(percent_bps=int(bps))
    if value.adjusted() > 30:  # far past u64 whatever the decimals; keeps scaleb exact
        raise ValueError("The amount is too large.")
    units = value.scaleb(decimals)
    if units != units.to_integral_value():
        raise ValueError(f"This asset has {decimals} decimal places; the amount has more.")
    if units > _U64_MAX:
        raise ValueError("The amount is too large.")
    return AmountRequest(exact=int(units))
