"""Importing and exporting keys: both formats, every refusal names its rule, no echo."""

from __future__ import annotations

import json

import base58
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from sniper_bot.wallet.keys import (
    AddressError,
    KeyImportError,
    export_key,
    parse_address,
    parse_secret_key,
)

SYSTEM_PROGRAM = Pubkey.from_string("11111111111111111111111111111111")


@settings(max_examples=50)
@given(seed=st.binary(min_size=32, max_size=32))
def test_export_then_import_round_trips_in_both_formats(seed: bytes) -> None:
    kp = Keypair.from_seed(seed)
    exported = export_key(kp)
    assert bytes(parse_secret_key(exported.base58)) == bytes(kp)
    assert bytes(parse_secret_key(exported.json_array)) == bytes(kp)
    assert bytes(parse_secret_key(f"  {exported.base58}\n")) == bytes(kp)
    assert json.loads(exported.json_array) == list(bytes(kp))
    assert "redacted" in repr(exported)
    assert exported.base58 not in repr(exported)


def test_solana_cli_keypair_file_with_spaces_and_newlines() -> None:
    kp = Keypair()
    text = json.dumps(list(bytes(kp)), indent=2)
    assert parse_secret_key(text).pubkey() == kp.pubkey()


def _bad_inputs() -> list[object]:
    kp = Keypair()
    raw = bytes(kp)
    mismatched = raw[:32] + bytes(Keypair().pubkey())
    cases = [
        ("", "Paste your private key"),
        (base58.b58encode(raw[:63]).decode(), "decodes to 63 bytes"),
        (str(kp.pubkey()), "32 bytes: a public address or a bare seed"),
        (base58.b58encode(raw).decode()[:-3] + "0Il", "not valid base58"),
        ("[1,2,3", "not valid JSON"),
        (json.dumps({"key": list(raw)}), "list of numbers"),
        (json.dumps([*list(raw[:63]), 256]), "between 0 and 255"),
        (json.dumps(list(raw[:40])), "decodes to 40 bytes"),
        (json.dumps([True] * 64), "list of numbers"),
        (base58.b58encode(mismatched).decode(), "not the public key"),
        (json.dumps(list(mismatched)), "not the public key"),
        ("x" * 5000, "far too long"),
    ]
    return [pytest.param(text, fragment, id=fragment) for text, fragment in cases]


@pytest.mark.parametrize(("text", "fragment"), _bad_inputs())
def test_bad_imports_say_what_is_wrong_without_echoing(text: str, fragment: str) -> None:
    with pytest.raises(KeyImportError, match=fragment) as info:
        parse_secret_key(text)
    message = str(info.value)
    assert info.value.user_message == message
    if len(text) >= 8:
        assert text[:8] not in message
        assert text[-8:] not in message
    # Nothing chained that could carry the input (e.g. a decoder error quoting a character).
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__


pasted_keys = st.tuples(
    st.binary(min_size=32, max_size=32).map(Keypair.from_seed),
    st.booleans(),
    st.sampled_from(["", " ", "\n", "\t ", "\r\n"]),
).map(lambda t: t[2] + (export_key(t[0]).json_array if t[1] else export_key(t[0]).base58) + t[2])


def decoded(text: str) -> bytes:
    """The bytes the pasted text spells, read independently of the parser."""
    cleaned = text.strip()
    return bytes(json.loads(cleaned)) if cleaned.startswith("[") else base58.b58decode(cleaned)


@settings(max_examples=200)
@given(st.text(max_size=200) | pasted_keys)
def test_any_text_parses_to_the_key_it_spells_or_raises_a_key_import_error(text: str) -> None:
    message = ""
    try:
        kp = parse_secret_key(text)
    except KeyImportError as exc:
        message = str(exc)
    else:
        raw = decoded(text)
        assert bytes(kp) == raw
        assert kp.pubkey() == Keypair.from_seed(raw[:32]).pubkey()
    stripped = text.strip()
    if len(stripped) >= 12:
        assert stripped not in message


@given(pasted_keys)
def test_a_pasted_key_is_never_refused(text: str) -> None:
    assert bytes(parse_secret_key(text)) == decoded(text)


def test_parse_address_accepts_a_wallet() -> None:
    kp = Keypair()
    assert parse_address(f" {kp.pubkey()} ") == kp.pubkey()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("not an address!", "not a Solana address"),
        (base58.b58encode(bytes(Keypair())).decode(), "not a private key"),
        (
            str(
                Pubkey.find_program_address(
                    [b"seed"], Pubkey.from_string("11111111111111111111111111111111")
                )[0]
            ),
            "program-derived",
        ),
    ],
)
def test_parse_address_refusals(text: str, fragment: str) -> None:
    with pytest.raises(AddressError, match=fragment):
        parse_address(text)
