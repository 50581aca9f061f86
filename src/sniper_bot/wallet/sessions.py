"""Unlocked wallets held in process memory for a sliding TTL after their last use.

A decrypted signer never leaves this process: it is not serialised to Redis, the database or a log
(``UnlockedWallet`` refuses pickling and prints no key). Each use pushes its expiry ``ttl`` seconds
forward; an idle signer is dropped on the next access or ``purge_expired()``. What Python allows for
zeroising: we hold only the solders ``Keypair`` (Rust-owned memory, freed when the last reference
goes), never the 64 plaintext bytes, and drop every reference on expiry, eviction and ``clear()``.
Python cannot guarantee that no copy of the bytes survives in freed memory (see docs/SECURITY.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NoReturn

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

__all__ = ["SignerCache", "UnlockedWallet"]


@dataclass(frozen=True, slots=True)
class UnlockedWallet:
    """A wallet ready to sign: ids, cached public key (``pubkey()`` costs ~30 µs), the keypair."""

    user_id: int
    wallet_id: int
    pubkey: Pubkey
    keypair: Keypair = field(repr=False, compare=False)

    def sign_message(self, message: bytes) -> Signature:
        """Sign serialized message bytes (``solders.message.to_bytes_versioned(msg)``)."""
        return self.keypair.sign_message(message)

    def __reduce__(self) -> NoReturn:
        raise TypeError("an unlocked wallet cannot be serialised")

    def __getstate__(self) -> NoReturn:
        raise TypeError("an unlocked wallet cannot be serialised")


@dataclass(slots=True)
class _Entry:
    wallet: UnlockedWallet
    expires_at: float


class SignerCache:
    """Unlocked wallets by (user id, wallet id), each expiring ``ttl_seconds`` after its last use.

    ``ttl_seconds=0`` (SIGNER_TTL_S=0) holds nothing: every signature decrypts afresh (~0.1 ms).
    ``clock`` is monotonic seconds (``time.monotonic`` in production, a fake in tests).
    """

    def __init__(self, ttl_seconds: float, clock: Callable[[], float]) -> None:
        if ttl_seconds < 0:
            raise ValueError("the signer TTL cannot be negative (0 holds no signer at all)")
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: dict[tuple[int, int], _Entry] = {}

    @property
    def ttl_seconds(self) -> float:
        return self._ttl

    def get(self, user_id: int, wallet_id: int) -> UnlockedWallet | None:
        key = (user_id, wallet_id)
        entry = self._entries.get(key)
        if entry is None:
            return None
        now = self._clock()
        if now >= entry.expires_at:
            del self._entries[key]
            return None
        entry.expires_at = now + self._ttl
        return entry.wallet

    def put(self, wallet: UnlockedWallet) -> None:
        if self._ttl == 0:
            return
        self._entries[(wallet.user_id, wallet.wallet_id)] = _Entry(
            wallet, self._clock() + self._ttl
        )

    def evict(self, user_id: int, wallet_id: int) -> None:
        self._entries.pop((user_id, wallet_id), None)

    def evict_user(self, user_id: int) -> None:
        for key in [k for k in self._entries if k[0] == user_id]:
            del self._entries[key]

    def purge_expired(self) -> int:
        """Drop every expired signer; returns how many. Call it periodically (e.g. every minute)."""
        now = self._clock()
        expired = [k for k, e in self._entries.items() if now >= e.expires_at]
        for key in expired:
            del self._entries[key]
        return len(expired)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"SignerCache(ttl={self._ttl}, held={len(self._entries)})"
