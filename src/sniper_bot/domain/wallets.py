"""Wallet values shared by storage (rows) and wallet/ (envelope encryption)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SealedSecret"]


@dataclass(frozen=True, slots=True)
class SealedSecret:
    """A wallet's 64-byte secret sealed with AES-256-GCM.

    ``key_id`` names the master secret in the keyring whose HKDF-derived key sealed it; ``salt`` is
    the per-row HKDF salt; the associated data binds (user id, public key, key id), so a row moved
    to another user or key id fails to open.
    """

    key_id: str
    salt: bytes
    nonce: bytes
    ciphertext: bytes

    def __repr__(self) -> str:  # never print ciphertext, even sealed
        return f"SealedSecret(key_id={self.key_id!r}, ciphertext=<{len(self.ciphertext)} bytes>)"
