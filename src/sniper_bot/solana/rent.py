"""Lamport costs the chain charges: the signature fee and the rent-exempt minimums we reserve."""

from __future__ import annotations

__all__ = ["ATA_RENT_LAMPORTS", "BASE_FEE_LAMPORTS", "RENT_EXEMPT_MINIMUM_LAMPORTS"]

BASE_FEE_LAMPORTS = 5_000  # per signature (co-signed swaps have two signers but one fee payer)
RENT_EXEMPT_MINIMUM_LAMPORTS = 890_880  # a 0-byte system account: (128 + 0) * 6960
# Rent-exempt minimum of a token account: 165 bytes (SPL Token); Token-2022 ATAs with the
# ImmutableOwner extension are 170 bytes. We reserve the larger one.
ATA_RENT_LAMPORTS = 2_074_080
