"""What the market, token factory and launch engine need from the cluster.

`localnet.cluster.Cluster` satisfies this structurally; tests may pass anything that does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from solders.account import Account
from solders.hash import Hash
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import Transaction, VersionedTransaction

from localnet.cluster import GuardFailure


class OutcomeLike(Protocol):
    @property
    def signature(self) -> Signature: ...
    @property
    def err(self) -> Any: ...  # RPC serde JSON form or None
    @property
    def logs(self) -> Sequence[str]: ...
    @property
    def fee(self) -> int: ...


class ClusterPort(Protocol):
    @property
    def svm(self) -> LiteSVM: ...
    @property
    def slot(self) -> int: ...
    def latest_blockhash(self) -> Hash: ...
    def block_time(self, slot: int) -> int: ...
    def on_slot(self, listener: Callable[[int], None]) -> None: ...
    def last_valid_block_height(self) -> int: ...
    def get_account(self, pubkey: Pubkey) -> Account | None: ...
    def set_account(self, pubkey: Pubkey, account: Account) -> None: ...
    def close_account(self, pubkey: Pubkey) -> bool: ...
    def token_accounts_by_mint(self, mint: Pubkey) -> list[tuple[Pubkey, Account]]: ...
    def airdrop(self, pubkey: Pubkey, lamports: int) -> Signature: ...
    def add_transaction_guard(
        self, guard: Callable[[VersionedTransaction], GuardFailure | None]
    ) -> None: ...
    def send_transaction(self, tx: VersionedTransaction | Transaction) -> OutcomeLike: ...
    def record_synthetic_transaction(
        self,
        *,
        signer: Keypair,
        logs: list[str],
        account_keys: list[Pubkey],
        mentions: list[Pubkey],
    ) -> Signature: ...
