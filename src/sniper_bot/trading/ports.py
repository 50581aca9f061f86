"""What trading needs from its neighbours, as small Protocols (the real ones satisfy them).

``ChainPort`` is the slice of ``sniper_bot.chain.rpc.SolanaRpc`` the executor calls;
``OrderStore``/``TradeStore`` the slice of the storage repositories (a store raises
``TemporaryError`` when the database is unavailable, ``StaleOrderState`` when a compare-and-set
loses: storage translates its driver errors, so trading never imports storage). The risk gate is
``sniper_bot.ports.risk.RiskChecker``, the venue ``sniper_bot.ports.venue.Venue``. Tests use the
real implementations (localnet, PostgreSQL), not fakes of these.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from solders.account import Account
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from sniper_bot.chain.types import Commitment, LandedTransaction, SignatureStatus, SimulationResult
from sniper_bot.domain.entities import Order
from sniper_bot.domain.orders import OrderStatus

__all__ = ["ChainPort", "OrderStore", "TradeStore", "WalletKey"]


class ChainPort(Protocol):
    async def get_block_height(self, commitment: Commitment = "confirmed") -> int: ...
    async def get_balance(self, pubkey: Pubkey) -> int: ...
    async def get_multiple_accounts(self, pubkeys: Sequence[Pubkey]) -> list[Account | None]: ...
    async def get_signature_statuses(
        self, sigs: Sequence[Signature]
    ) -> list[SignatureStatus | None]: ...
    async def send_transaction(
        self, tx: VersionedTransaction, *, skip_preflight: bool = False, fanout: int = 1
    ) -> Signature: ...
    async def simulate_transaction(
        self,
        tx: VersionedTransaction,
        *,
        sig_verify: bool = False,
        replace_recent_blockhash: bool = False,
        accounts: Sequence[Pubkey] = (),
    ) -> SimulationResult: ...
    async def get_transaction(self, sig: Signature) -> LandedTransaction | None: ...
    async def get_recent_prioritization_fees(
        self, accounts: Sequence[Pubkey]
    ) -> list[tuple[int, int]]: ...
    def blockhash_rejected(self, blockhash: Hash) -> None: ...


class OrderStore(Protocol):
    async def get_by_id(self, order_id: str) -> Order | None: ...
    async def transition(
        self, order_id: str, expected: OrderStatus, new: OrderStatus, **fields: Any
    ) -> Order: ...
    async def update_fields(
        self, order_id: str, expected_status: OrderStatus, **fields: Any
    ) -> Order: ...
    async def claim(self, order_id: str, worker_id: str, lease_s: float, now: datetime) -> bool: ...
    async def release(self, order_id: str, worker_id: str) -> bool: ...
    async def list_non_final(self) -> list[Order]: ...


class TradeStore(Protocol):
    async def record_trade(
        self,
        *,
        order_id: str,
        in_amount: int,
        out_amount: int,
        fee_lamports: int,
        signature: str,
        slot: int | None = None,
    ) -> tuple[Any, Any]: ...


class WalletKey(Protocol):
    """An unlocked wallet key (``solders.keypair.Keypair`` fits)."""

    def sign_message(self, message: bytes) -> Signature: ...
