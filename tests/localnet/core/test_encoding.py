"""Wire encodings: amounts, serde errors, token parsing, program filters."""

from __future__ import annotations

import struct
from decimal import Decimal

import base58
import pytest
from hypothesis import given
from hypothesis import strategies as st
from solders.account import Account
from solders.pubkey import Pubkey
from solders.transaction_status import (
    InstructionErrorCustom,
    TransactionErrorFieldless,
    TransactionErrorInstructionError,
)

from localnet.encoding import (
    TOKEN_2022_PROGRAM_ID,
    EncodingError,
    account_to_rpc,
    parse_token_data,
    transaction_error_display,
    transaction_error_to_json,
    ui_amount_string,
)
from localnet.pubsub import parse_filters


@given(st.integers(min_value=0, max_value=2**64 - 1), st.integers(min_value=0, max_value=18))
def test_ui_amount_string_is_the_exact_decimal(amount: int, decimals: int) -> None:
    text = ui_amount_string(amount, decimals)
    assert Decimal(text) == Decimal(amount).scaleb(-decimals)
    assert not (("." in text) and text.endswith("0"))


def test_transaction_errors_use_the_serde_form() -> None:
    custom = TransactionErrorInstructionError(3, InstructionErrorCustom(6001))
    assert transaction_error_to_json(custom) == {"InstructionError": [3, {"Custom": 6001}]}
    assert transaction_error_to_json(TransactionErrorFieldless.BlockhashNotFound) == (
        "BlockhashNotFound"
    )
    assert transaction_error_to_json(None) is None
    assert transaction_error_display({"InstructionError": [3, {"Custom": 6001}]}) == (
        "Error processing Instruction 3: custom program error: 0x1771"
    )
    assert transaction_error_display("BlockhashNotFound") == "Blockhash not found"


def test_token_2022_mint_extensions_are_parsed() -> None:
    authority, hook = Pubkey.new_unique(), Pubkey.new_unique()
    base = bytearray(165)
    base[0:4] = b"\x01\x00\x00\x00"
    base[4:36] = bytes(authority)
    base[36:44] = struct.pack("<Q", 1_000)
    base[44], base[45] = 6, 1
    fee = bytes(authority) + bytes(32) + struct.pack("<Q", 0)
    fee += struct.pack("<QQH", 0, 10**9, 5000) * 2
    tlv = struct.pack("<HH", 1, 108) + fee + struct.pack("<HH", 9, 0)
    tlv += struct.pack("<HH", 14, 64) + bytes(authority) + bytes(hook)
    data = bytes(base) + b"\x01" + tlv
    parsed = parse_token_data(TOKEN_2022_PROGRAM_ID, data, None)
    assert parsed is not None
    assert parsed["program"] == "spl-token-2022"
    info = parsed["parsed"]["info"]
    assert info["mintAuthority"] == str(authority)
    assert info["supply"] == "1000"
    kinds = [e["extension"] for e in info["extensions"]]
    assert kinds == ["transferFeeConfig", "nonTransferable", "transferHook"]
    assert info["extensions"][0]["state"]["newerTransferFee"]["transferFeeBasisPoints"] == 5000
    assert info["extensions"][2]["state"]["programId"] == str(hook)


def test_base58_refuses_large_data_and_unparsed_owner_falls_back_to_base64() -> None:
    account = Account(lamports=1, data=bytes(200), owner=Pubkey.new_unique())
    with pytest.raises(EncodingError):
        account_to_rpc(account, encoding="base58")
    assert account_to_rpc(account, encoding="jsonParsed")["data"][1] == "base64"


@given(
    data=st.binary(max_size=64),
    offset=st.integers(min_value=0, max_value=70),
    length=st.integers(min_value=1, max_value=8),
)
def test_memcmp_matches_exactly_the_bytes_at_offset(data: bytes, offset: int, length: int) -> None:
    needle = data[offset : offset + length] or b"\x01"
    flt = parse_filters(
        [{"memcmp": {"offset": offset, "bytes": base58.b58encode(needle).decode()}}]
    )
    assert flt.matches(data) == (data[offset : offset + len(needle)] == needle)


@pytest.mark.parametrize(
    "filters",
    [
        [{"dataSize": -1}],
        [{"memcmp": {"offset": 0}}],
        [{"memcmp": {"offset": 0, "bytes": "0OIl"}}],
        [{"nope": 1}],
        {"dataSize": 1},
    ],
)
def test_bad_filters_are_refused(filters: object) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        parse_filters(filters)
