"""Envelope encryption: round trip, and every way a sealed row can be wrong refuses to open."""

from __future__ import annotations

import dataclasses
import hashlib
import secrets

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr
from solders.keypair import Keypair

from sniper_bot.errors import ConfigError
from sniper_bot.wallet.crypto import (
    Keyring,
    KeyringError,
    MasterSecretError,
    UnsealError,
    derive_key_id,
    open_sealed,
    seal,
    validate_master_secret,
)


def _keyring() -> Keyring:
    return Keyring.from_settings(secrets.token_hex(32))


def test_round_trip_returns_the_same_keypair() -> None:
    ring = _keyring()
    kp = Keypair()
    sealed = seal(ring, bytes(kp), user_id=7, public_key=str(kp.pubkey()))
    opened = open_sealed(ring, sealed, user_id=7, public_key=str(kp.pubkey()))
    assert bytes(opened) == bytes(kp)
    assert sealed.key_id == ring.current_id
    assert bytes(kp) not in sealed.ciphertext
    assert len(sealed.ciphertext) == 80
    assert len(sealed.nonce) == 12
    assert len(sealed.salt) == 16


def test_two_seals_of_one_secret_differ() -> None:
    ring = _keyring()
    kp = Keypair()
    a = seal(ring, bytes(kp), user_id=1, public_key=str(kp.pubkey()))
    b = seal(ring, bytes(kp), user_id=1, public_key=str(kp.pubkey()))
    assert a.ciphertext != b.ciphertext
    assert a.nonce != b.nonce
    assert a.salt != b.salt


@given(position=st.integers(0, 79), bit=st.integers(0, 7))
def test_any_flipped_ciphertext_bit_refuses(position: int, bit: int) -> None:
    ring = Keyring("k1", {"k1": hashlib.sha256(b"fixed test secret").hexdigest().encode()})
    kp = Keypair.from_seed(bytes(range(32)))
    sealed = seal(ring, bytes(kp), user_id=1, public_key=str(kp.pubkey()))
    flipped = bytearray(sealed.ciphertext)
    flipped[position] ^= 1 << bit
    tampered = dataclasses.replace(sealed, ciphertext=bytes(flipped))
    with pytest.raises(UnsealError):
        open_sealed(ring, tampered, user_id=1, public_key=str(kp.pubkey()))


def test_tampered_nonce_or_salt_refuses() -> None:
    ring = _keyring()
    kp = Keypair()
    pk = str(kp.pubkey())
    sealed = seal(ring, bytes(kp), user_id=1, public_key=pk)
    for bad in (
        dataclasses.replace(sealed, nonce=bytes(12)),
        dataclasses.replace(sealed, salt=bytes(16)),
        dataclasses.replace(sealed, nonce=b"short"),
    ):
        with pytest.raises(UnsealError):
            open_sealed(ring, bad, user_id=1, public_key=pk)


def test_row_moved_to_another_user_refuses() -> None:
    ring = _keyring()
    kp = Keypair()
    sealed = seal(ring, bytes(kp), user_id=1, public_key=str(kp.pubkey()))
    with pytest.raises(UnsealError, match="moved to another user"):
        open_sealed(ring, sealed, user_id=2, public_key=str(kp.pubkey()))


def test_ciphertext_moved_to_another_public_key_refuses() -> None:
    ring = _keyring()
    kp, other = Keypair(), Keypair()
    sealed = seal(ring, bytes(kp), user_id=1, public_key=str(kp.pubkey()))
    with pytest.raises(UnsealError):
        open_sealed(ring, sealed, user_id=1, public_key=str(other.pubkey()))


def test_sealing_a_secret_under_the_wrong_public_key_is_caught_on_open() -> None:
    ring = _keyring()
    kp, other = Keypair(), Keypair()
    sealed = seal(ring, bytes(kp), user_id=1, public_key=str(other.pubkey()))
    with pytest.raises(UnsealError, match="another public key"):
        open_sealed(ring, sealed, user_id=1, public_key=str(other.pubkey()))


def test_relabelled_key_id_refuses() -> None:
    old, new = secrets.token_hex(32), secrets.token_hex(32)
    ring = Keyring.from_settings(new, old)
    kp = Keypair()
    pk = str(kp.pubkey())
    sealed = seal(ring, bytes(kp), user_id=1, public_key=pk)
    relabelled = dataclasses.replace(sealed, key_id=derive_key_id(old.encode()))
    with pytest.raises(UnsealError):
        open_sealed(ring, relabelled, user_id=1, public_key=pk)


def test_unknown_key_id_says_which_variable_to_set() -> None:
    kp = Keypair()
    pk = str(kp.pubkey())
    sealed = seal(_keyring(), bytes(kp), user_id=1, public_key=pk)
    with pytest.raises(KeyringError, match="SESSION_MASTER_SECRET_PREVIOUS"):
        open_sealed(_keyring(), sealed, user_id=1, public_key=pk)


def test_wrong_secret_under_the_same_explicit_key_id_refuses() -> None:
    kp = Keypair()
    pk = str(kp.pubkey())
    sealed = seal(
        Keyring("k1", {"k1": secrets.token_bytes(32)}), bytes(kp), user_id=1, public_key=pk
    )
    with pytest.raises(UnsealError):
        open_sealed(
            Keyring("k1", {"k1": secrets.token_bytes(32)}), sealed, user_id=1, public_key=pk
        )


def test_previous_secret_still_opens_after_the_current_one_changed() -> None:
    old, new = secrets.token_hex(32), secrets.token_hex(32)
    kp = Keypair()
    pk = str(kp.pubkey())
    sealed = seal(Keyring.from_settings(old), bytes(kp), user_id=3, public_key=pk)
    ring = Keyring.from_settings(SecretStr(new), SecretStr(old))
    assert ring.current_id == derive_key_id(new.encode()) != sealed.key_id
    assert bytes(open_sealed(ring, sealed, user_id=3, public_key=pk)) == bytes(kp)


def test_key_id_is_stable_short_and_not_the_secret() -> None:
    material = secrets.token_hex(32).encode()
    key_id = derive_key_id(material)
    assert key_id == derive_key_id(material)
    assert len(key_id) == 8
    assert int(key_id, 16) >= 0
    assert key_id not in material.decode()
    assert derive_key_id(secrets.token_hex(32).encode()) != key_id


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("short", "at least 32"),
        ("change-me-change-me-change-me-change-me", "placeholder"),
        ("CHANGEME" + "0123456789abcdef" * 3, "placeholder"),
        ("your-secret-goes-here-0123456789abcdef", "placeholder"),
        ("a" * 64, "random enough"),
        ("abababababababababababababababababab", "random enough"),
        ("0123456789" * 4, "random enough"),
    ],
)
def test_weak_master_secrets_are_refused_without_echoing_them(value: str, fragment: str) -> None:
    with pytest.raises(MasterSecretError, match=fragment) as info:
        Keyring.from_settings(value)
    assert value not in str(info.value)
    assert isinstance(info.value, ConfigError)
    assert "openssl rand -hex 32" in str(info.value)


def test_previous_secret_is_checked_too() -> None:
    with pytest.raises(MasterSecretError, match="SESSION_MASTER_SECRET_PREVIOUS"):
        Keyring.from_settings(secrets.token_hex(32), "change-me")


def test_generated_secrets_pass() -> None:
    for _ in range(50):
        validate_master_secret(secrets.token_hex(32).encode())
        validate_master_secret(secrets.token_urlsafe(32).encode())


def test_keyring_repr_shows_ids_not_material() -> None:
    material = secrets.token_hex(32)
    ring = Keyring.from_settings(material)
    assert material not in repr(ring)
    assert ring.current_id in repr(ring)


def test_keyring_refuses_bad_ids_and_missing_current() -> None:
    with pytest.raises(KeyringError, match="current key id"):
        Keyring("k2", {"k1": secrets.token_bytes(32)})
    with pytest.raises(KeyringError, match="invalid"):
        Keyring("bad id|x", {"bad id|x": secrets.token_bytes(32)})


def test_same_secret_as_current_and_previous_is_one_key() -> None:
    s = secrets.token_hex(32)
    ring = Keyring.from_settings(s, s)
    assert ring.key_ids == {ring.current_id}


def test_an_alphabet_walk_is_refused() -> None:
    with pytest.raises(MasterSecretError, match="random enough"):
        validate_master_secret(b"abcdefghijklmnopqrstuvwxyz0123456789")


def test_the_demo_secret_of_the_config_is_accepted() -> None:
    from sniper_bot.config import DEMO_MASTER_SECRET

    assert Keyring.from_settings(DEMO_MASTER_SECRET).current_id
