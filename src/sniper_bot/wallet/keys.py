"""Wallet keys in and out: generate, parse an import, format an export, parse an address.

Imports accept the two forms wallets hand out for a 64-byte Solana secret (32-byte seed, then the
32-byte public key): base58 (Phantom, Solflare, Backpack "export private key") and the JSON byte
array of the Solana CLI's keypair file (``[12,34,...]``, 64 numbers). Errors name what is wrong and
never echo the input, not even a fragment: the text a user pasted is a secret.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import base58
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from sniper_bot.errors import PermanentError

__all__ = [
    "SECRET_KEY_BYTES",
    "AddressError",
    "ExportedKey",
    "KeyImportError",
    "export_key",
    "generate_keypair",
    "parse_address",
    "parse_secret_key",
]

SECRET_KEY_BYTES = 64
_SEED_BYTES = 32
# A base58 64-byte secret is 86-88 characters; anything far outside is not a key at all.
_MAX_INPUT_CHARS = 2_000


class KeyImportError(PermanentError):
    """The pasted text is not a usable Solana secret key; the message says which rule it broke."""

    def __init__(self, message: str) -> None:
        super().__init__(message, user_message=message)


class AddressError(PermanentError):
    """The text is not a Solana address a transfer may go to."""

    def __init__(self, message: str) -> None:
        super().__init__(message, user_message=message)


@dataclass(frozen=True, slots=True)
class ExportedKey:
    """A secret in both import formats, for the explicit export action only. Never logged."""

    base58: str
    json_array: str

    def __repr__(self) -> str:
        return "ExportedKey(<redacted>)"


def generate_keypair() -> Keypair:
    """A new keypair from the operating system's CSPRNG."""
    return Keypair()


def _from_json(text: str) -> bytes:
    try:
        data = json.loads(text)
    except ValueError:
        raise KeyImportError(
            "That looks like a JSON byte array but is not valid JSON. Paste the whole content of "
            "the keypair file: [n,n,...] with 64 numbers."
        ) from None
    if not isinstance(data, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) for n in data
    ):
        raise KeyImportError("The JSON must be a list of numbers, like a Solana CLI keypair file.")
    if not all(0 <= n <= 255 for n in data):
        raise KeyImportError("Every number in the JSON byte array must be between 0 and 255.")
    if len(data) != SECRET_KEY_BYTES:
        raise KeyImportError(_length_message(len(data)))
    return bytes(data)


def _from_base58(text: str) -> bytes:
    try:
        raw = base58.b58decode(text)
    except ValueError:
        raise KeyImportError(
            "That is not valid base58: a Solana private key uses only letters and digits "
            "without 0, O, I and l. Copy it again from your wallet's export screen."
        ) from None
    if len(raw) != SECRET_KEY_BYTES:
        raise KeyImportError(_length_message(len(raw)))
    return raw


def _length_message(got: int) -> str:
    if got == _SEED_BYTES:
        return (
            "That is 32 bytes: a public address or a bare seed, not a full private key. Export "
            "the 64-byte private key from your wallet (base58) or the Solana CLI keypair file."
        )
    return f"A Solana private key is {SECRET_KEY_BYTES} bytes; this decodes to {got} bytes."


def parse_secret_key(text: str) -> Keypair:
    """Parse a pasted secret (base58 or JSON byte array) into a keypair; checks its public half."""
    cleaned = text.strip()
    if not cleaned:
        raise KeyImportError("Paste your private key (base58, or a keypair file's JSON array).")
    if len(cleaned) > _MAX_INPUT_CHARS:
        raise KeyImportError(
            f"That is far too long for a private key ({len(cleaned)} characters); paste only "
            "the key."
        )
    raw = _from_json(cleaned) if cleaned[0] in "[{" else _from_base58(cleaned)
    try:
        keypair = Keypair.from_bytes(raw)
    except ValueError:
        raise KeyImportError(
            "The last 32 bytes of this key are not the public key of its first 32 bytes: the key "
            "is corrupted or truncated. Copy it again from your wallet."
        ) from None
    finally:
        del raw
    return keypair


def export_key(keypair: Keypair) -> ExportedKey:
    raw = bytes(keypair)
    try:
        return ExportedKey(
            base58=base58.b58encode(raw).decode(),
            json_array=json.dumps(list(raw), separators=(",", ":")),
        )
    finally:
        del raw


def parse_address(text: str) -> Pubkey:
    """A destination wallet address: base58, 32 bytes, on the ed25519 curve (not a PDA)."""
    cleaned = text.strip()
    try:
        raw = base58.b58decode(cleaned)
    except ValueError:
        raise AddressError(
            "That is not a Solana address: addresses are base58 (letters and digits without "
            "0, O, I and l)."
        ) from None
    if len(raw) != 32:
        raise AddressError(
            f"A Solana address is 32 bytes; this decodes to {len(raw)}. Check you pasted an "
            "address, not a private key or a transaction signature."
        )
    pubkey = Pubkey(raw)
    if not pubkey.is_on_curve():
        raise AddressError(
            "That address is a program-derived account, not a wallet; funds sent there may be "
            "unrecoverable. Paste the address of a wallet you control."
        )
    return pubkey
