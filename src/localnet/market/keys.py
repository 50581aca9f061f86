"""Deterministic keys: the same seed and label always give the same keypair."""

from __future__ import annotations

import hashlib

from solders.keypair import Keypair


def derive_keypair(seed: int, label: str) -> Keypair:
    return Keypair.from_seed(hashlib.sha256(f"localnet:{seed}:{label}".encode()).digest())
