"""Envelope encryption of wallet secrets: a keyring of master secrets, HKDF, AES-256-GCM.

    master secret (SESSION_MASTER_SECRET, 32+ random bytes)      one per key id in the keyring
        │ HKDF-SHA256(salt = 16 random bytes per row, info = "sniper-bot/wallet-kek/v1|<key id>")
        ▼
    key-encryption key (32 bytes, never stored, recomputed in ~4 µs on each open)
        │ AES-256-GCM(nonce = 12 random bytes,
        │             aad = "sniper-bot/wallet/v1|<user id>|<pubkey>|<key id>")
        ▼
    ciphertext (64-byte secret + 16-byte tag)
        -> stored as SealedSecret(key_id, salt, nonce, ciphertext)

The associated data binds a row to its owner, its public key and its key id: a ciphertext copied to
another user's row, relabelled with another key id or flipped by one bit refuses to open. Opening
also checks that the decrypted secret's public key is the row's public key.

Key ids: unless given explicitly, a master secret's id is the first 8 hex digits of SHA-256 over an
HKDF output of the secret (info ``sniper-bot/key-id/v1``). The id is stable (same secret, same id on
every replica), reveals nothing usable about the secret, and changes when the secret changes, which
is what rotation keys on. HKDF (not Argon2id) is right here because master secrets are random and
long; Argon2id is only for low-entropy PINs (``wallet/pin.py``).
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import re
from collections import Counter
from collections.abc import Mapping
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from solders.keypair import Keypair

from sniper_bot.domain.wallets import SealedSecret
from sniper_bot.errors import ConfigError, PermanentError

__all__ = [
    "MIN_SECRET_BYTES",
    "Keyring",
    "KeyringError",
    "MasterSecretError",
    "SecretLike",
    "UnsealError",
    "associated_data",
    "derive_key_id",
    "open_sealed",
    "seal",
    "validate_master_secret",
]

MIN_SECRET_BYTES = 32
# At least 128 bits by a character-frequency estimate: catches "aaaa...", short alphabets, words.
_MIN_ESTIMATED_BITS = 128.0
_MIN_DISTINCT_SYMBOLS = 10
_PLACEHOLDERS = (
    "change-me",
    "changeme",
    "change_me",
    "changethis",
    "replace-me",
    "replaceme",
    "replace_me",
    "placeholder",
    "example",
    "your-secret",
    "your_secret",
    "yoursecret",
    "insecure",
    "password",
    "xxxxxxxx",
)
_KEY_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
_SALT_BYTES = 16
_NONCE_BYTES = 12
_SECRET_BYTES = 64
_KEK_INFO = b"sniper-bot/wallet-kek/v1|"
_KEY_ID_INFO = b"sniper-bot/key-id/v1"
_GENERATE_HINT = "generate one with: openssl rand -hex 32"


class SecretLike(Protocol):
    """pydantic's ``SecretStr`` and anything else that hides its value until asked."""

    def get_secret_value(self) -> str: ...


class MasterSecretError(ConfigError):
    """A master secret is refused (too short, a placeholder, too little entropy)."""


class KeyringError(PermanentError):
    """A row names a key id the keyring does not hold, or the keyring itself is inconsistent."""


class UnsealError(PermanentError):
    """A sealed secret failed authentication: tampered, moved to another user/key id, wrong key."""


def _estimated_bits(material: bytes) -> float:
    counts = Counter(material)
    total = len(material)
    per_symbol = -sum(c / total * math.log2(c / total) for c in counts.values())
    return per_symbol * total


def _looks_patterned(material: bytes) -> bool:
    """A short unit repeated ("0123456789" * 4) or mostly runs/repeats of adjacent characters."""
    n = len(material)
    for period in range(1, n // 2 + 1):
        if material[period:] == material[:-period]:
            return True
    steps = sum(1 for a, b in itertools.pairwise(material) if b - a in (-1, 0, 1))
    return steps * 2 > n


def validate_master_secret(material: bytes, *, name: str = "SESSION_MASTER_SECRET") -> bytes:
    """Return ``material`` or raise MasterSecretError saying what is wrong and how to fix it.

    The message never contains the secret or any part of it.
    """
    if len(material) < MIN_SECRET_BYTES:
        raise MasterSecretError(
            f"{name} is {len(material)} bytes long; it needs at least {MIN_SECRET_BYTES} random "
            f"bytes ({_GENERATE_HINT})"
        )
    lowered = material.lower()
    for marker in _PLACEHOLDERS:
        if marker.encode() in lowered:
            raise MasterSecretError(
                f"{name} looks like a placeholder value; set a random secret ({_GENERATE_HINT})"
            )
    if (
        len(set(material)) < _MIN_DISTINCT_SYMBOLS
        or _estimated_bits(material) < _MIN_ESTIMATED_BITS
        or _looks_patterned(material)
    ):
        raise MasterSecretError(
            f"{name} does not look random enough (too few distinct characters); {_GENERATE_HINT}"
        )
    return material


def _reveal(secret: str | bytes | SecretLike) -> bytes:
    if isinstance(secret, bytes):
        return secret
    if isinstance(secret, str):
        return secret.encode()
    return secret.get_secret_value().encode()


def derive_key_id(material: bytes) -> str:
    """The stable short id of a master secret: 8 hex digits, one-way."""
    okm = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_ID_INFO).derive(material)
    return hashlib.sha256(okm).hexdigest()[:8]


class Keyring:
    """Master secrets by key id, and the id new seals use.

    ``Keyring("k2", {"k2": new, "k1": old})`` opens rows sealed under either and seals under k2.
    ``Keyring.from_settings(current, previous)`` derives the ids from the secrets themselves.
    """

    __slots__ = ("_current_id", "_secrets")

    def __init__(self, current_id: str, secrets: Mapping[str, bytes]) -> None:
        if current_id not in secrets:
            raise KeyringError(f"the current key id {current_id!r} has no secret in the keyring")
        for key_id, material in secrets.items():
            if not _KEY_ID_RE.match(key_id):
                raise KeyringError(
                    f"key id {key_id!r} is invalid: use 1-32 letters, digits, '.', '_' or '-'"
                )
            validate_master_secret(material, name=f"the master secret with key id {key_id!r}")
        self._current_id = current_id
        self._secrets = dict(secrets)

    @classmethod
    def from_settings(
        cls,
        current: str | bytes | SecretLike,
        previous: str | bytes | SecretLike | None = None,
    ) -> Keyring:
        """Build from SESSION_MASTER_SECRET and (during rotation) SESSION_MASTER_SECRET_PREVIOUS."""
        cur = validate_master_secret(_reveal(current), name="SESSION_MASTER_SECRET")
        secrets = {derive_key_id(cur): cur}
        if previous is not None and _reveal(previous):
            prev = validate_master_secret(_reveal(previous), name="SESSION_MASTER_SECRET_PREVIOUS")
            prev_id = derive_key_id(prev)
            if prev_id in secrets and secrets[prev_id] != prev:
                raise KeyringError(
                    "SESSION_MASTER_SECRET and SESSION_MASTER_SECRET_PREVIOUS derive the same key "
                    "id; generate a new current secret"
                )
            secrets.setdefault(prev_id, prev)
        return cls(derive_key_id(cur), secrets)

    @property
    def current_id(self) -> str:
        return self._current_id

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._secrets)

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._secrets

    def __repr__(self) -> str:  # ids only, never material
        return f"Keyring(current={self._current_id!r}, ids={sorted(self._secrets)!r})"

    def kek(self, key_id: str, salt: bytes) -> bytes:
        """The 32-byte key-encryption key for one row."""
        material = self._secrets.get(key_id)
        if material is None:
            raise KeyringError(
                f"this wallet was sealed under key id {key_id!r}, which is not in the keyring "
                f"(known: {', '.join(sorted(self._secrets))}); set SESSION_MASTER_SECRET_PREVIOUS "
                "to the secret that was current before the last rotation, then run "
                "`sniper-bot rotate-secret`",
                user_message="This wallet cannot be opened right now. The operator has been told.",
            )
        return HKDF(
            algorithm=hashes.SHA256(), length=32, salt=salt, info=_KEK_INFO + key_id.encode()
        ).derive(material)


def associated_data(user_id: int, public_key: str, key_id: str) -> bytes:
    """What a ciphertext is bound to; ``user_id`` is the owner's row id stored with the wallet."""
    return f"sniper-bot/wallet/v1|{user_id}|{public_key}|{key_id}".encode()


def seal(keyring: Keyring, secret: bytes, *, user_id: int, public_key: str) -> SealedSecret:
    """Seal a 64-byte Solana secret (seed ‖ public key) under the keyring's current key id."""
    if len(secret) != _SECRET_BYTES:
        raise ValueError(f"a wallet secret is {_SECRET_BYTES} bytes, got {len(secret)}")
    key_id = keyring.current_id
    salt = os.urandom(_SALT_BYTES)
    nonce = os.urandom(_NONCE_BYTES)
    aead = AESGCM(keyring.kek(key_id, salt))
    ciphertext = aead.encrypt(nonce, secret, associated_data(user_id, public_key, key_id))
    return SealedSecret(key_id=key_id, salt=salt, nonce=nonce, ciphertext=ciphertext)


def open_sealed(
    keyring: Keyring, sealed: SealedSecret, *, user_id: int, public_key: str
) -> Keypair:
    """Decrypt and check a sealed secret; return the keypair (the plaintext is not kept)."""
    if len(sealed.nonce) != _NONCE_BYTES or len(sealed.salt) != _SALT_BYTES:
        raise UnsealError(f"wallet {public_key} has a malformed sealed secret (salt/nonce length)")
    aead = AESGCM(keyring.kek(sealed.key_id, sealed.salt))
    try:
        plaintext = aead.decrypt(
            sealed.nonce,
            sealed.ciphertext,
            associated_data(user_id, public_key, sealed.key_id),
        )
    except InvalidTag:
        raise UnsealError(
            f"wallet {public_key} failed authentication: the row was altered, moved to another "
            "user or key id, or the master secret for its key id is wrong",
            user_message="This wallet cannot be opened. The operator has been told.",
        ) from None
    try:
        keypair = Keypair.from_bytes(plaintext)
    except ValueError:
        raise UnsealError(f"wallet {public_key} decrypted to an invalid keypair") from None
    finally:
        del plaintext
    if str(keypair.pubkey()) != public_key:
        raise UnsealError(f"wallet {public_key} decrypted to a secret of another public key")
    return keypair
