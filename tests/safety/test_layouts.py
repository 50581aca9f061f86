"""Layout parsers: real bytes parse to their value, others raise only ParseError; round trips."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from sniper_bot.solana.layouts.metaplex import (
    MetadataCreator,
    MetaplexMetadata,
    TokenMetadata,
    pack_metaplex_metadata,
    pack_token_metadata,
    parse_metaplex_metadata,
    parse_token_metadata,
)
from sniper_bot.solana.layouts.pump import (
    PUMP_BONDING_CURVE_DISCRIMINATOR,
    PumpBondingCurve,
    parse_pump_bonding_curve,
)
from sniper_bot.solana.layouts.raydium import (
    CPMM_POOL_DISCRIMINATOR,
    CPMM_POOL_LEN,
    CpmmPool,
    RaydiumV4Pool,
    pack_raydium_v4,
    parse_cpmm_pool,
    parse_raydium_v4,
)
from sniper_bot.solana.layouts.token import (
    MintState,
    ParseError,
    TokenAccountState,
    pack_mint,
    pack_tlv,
    pack_token_account,
    parse_mint,
    parse_tlv,
    parse_token_account,
)
from sniper_bot.solana.layouts.token2022 import (
    ExtensionType,
    Pausable,
    TransferFee,
    TransferFeeConfig,
    TransferHook,
    decode_mint_extensions,
    encode_maybe_null,
    encode_pausable,
    encode_transfer_fee_config,
    encode_transfer_hook,
)
from sniper_bot.solana.pda import metadata_pda

Entries = tuple[tuple[int, bytes], ...]

pubkeys = st.binary(min_size=32, max_size=32).map(Pubkey.from_bytes)
nonzero_pubkeys = pubkeys.filter(lambda k: bytes(k) != bytes(32))
u64 = st.integers(0, 2**64 - 1)
u16 = st.integers(0, 2**16 - 1)
text = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]), max_size=40)
tlv_entries = st.lists(
    st.tuples(st.integers(1, 2**16 - 1), st.binary(max_size=80)), max_size=5
).map(tuple)

creators = st.none() | st.lists(
    st.builds(MetadataCreator, pubkeys, st.booleans(), st.integers(0, 100)), max_size=5
).map(tuple)


def pack_cpmm_pool(pool: CpmmPool) -> bytes:
    """A Raydium CPMM pool account as the chain holds it (PROTOCOLS.md), for the parser's checks."""
    data = bytearray(CPMM_POOL_LEN)
    data[:8] = CPMM_POOL_DISCRIMINATOR
    keys = (pool.pool_creator, pool.token_0_vault, pool.token_1_vault, pool.lp_mint,
            pool.token_0_mint, pool.token_1_mint)  # fmt: skip
    for i, key in enumerate(keys):
        data[40 + 32 * i : 72 + 32 * i] = bytes(key)
    data[329] = pool.status
    struct.pack_into("<Q", data, 333, pool.lp_supply)
    return bytes(data)


def pack_pump_bonding_curve(curve: PumpBondingCurve) -> bytes:
    head = PUMP_BONDING_CURVE_DISCRIMINATOR + struct.pack(
        "<QQQQQ?",
        curve.virtual_token_reserves,
        curve.virtual_quote_reserves,
        curve.real_token_reserves,
        curve.real_quote_reserves,
        curve.token_total_supply,
        curve.complete,
    )
    return head + (bytes(curve.creator) if curve.creator is not None else b"")


# Every parser, the packer of what it parses and the values it must read back exactly.
LAYOUTS = [
    pytest.param(parse_mint, pack_mint, st.builds(
        MintState, st.none() | pubkeys, u64, st.integers(0, 255), st.booleans(),
        st.none() | pubkeys, tlv_entries), id="mint"),
    pytest.param(parse_token_account, pack_token_account, st.builds(
        TokenAccountState, pubkeys, pubkeys, u64, st.none() | pubkeys, st.integers(0, 2),
        st.none() | u64, u64, st.none() | pubkeys, tlv_entries), id="token_account"),
    pytest.param(parse_metaplex_metadata, pack_metaplex_metadata, st.builds(
        MetaplexMetadata, pubkeys, pubkeys, text, text, text, u16, creators, st.booleans(),
        st.booleans(), st.none() | st.integers(0, 255), st.none() | st.integers(0, 255)),
        id="metaplex_metadata"),
    pytest.param(parse_token_metadata, pack_token_metadata, st.builds(
        TokenMetadata, st.none() | nonzero_pubkeys, pubkeys, text, text, text,
        st.lists(st.tuples(text, text), max_size=4).map(tuple)), id="token_metadata"),
    pytest.param(parse_raydium_v4, pack_raydium_v4, st.builds(
        RaydiumV4Pool, u64, pubkeys, pubkeys, pubkeys, pubkeys, pubkeys, u64, u64),
        id="raydium_v4"),
    pytest.param(parse_cpmm_pool, pack_cpmm_pool, st.builds(
        CpmmPool, pubkeys, pubkeys, pubkeys, pubkeys, pubkeys, pubkeys, st.integers(0, 255), u64),
        id="cpmm_pool"),
    pytest.param(parse_pump_bonding_curve, pack_pump_bonding_curve, st.builds(
        PumpBondingCurve, u64, u64, u64, u64, u64, st.booleans(), st.none() | pubkeys),
        id="pump_bonding_curve"),
    pytest.param(lambda data: parse_tlv(data, 0), pack_tlv, tlv_entries, id="tlv"),
]  # fmt: skip


def damaged(data: bytes) -> st.SearchStrategy[bytes]:
    """``data`` cut short, extended, or with a few bytes overwritten."""
    overwrite = st.lists(st.tuples(st.integers(0, max(0, len(data) - 1)), st.integers(0, 255)),
                         min_size=1, max_size=4)  # fmt: skip

    def apply(edits: list[tuple[int, int]]) -> bytes:
        out = bytearray(data)
        for at, byte in edits:
            if at < len(out):
                out[at] = byte
        return bytes(out)

    return st.one_of(
        st.integers(0, len(data)).map(lambda n: data[:n]),
        st.binary(min_size=1, max_size=40).map(lambda tail: data + tail),
        overwrite.map(apply),
    )


@pytest.mark.parametrize(("parse", "pack", "values"), LAYOUTS)
@settings(max_examples=150, deadline=None)
@given(draw=st.data())
def test_bytes_parse_to_the_value_they_hold_or_raise_only_parse_error(
    parse: Callable[[bytes], object],
    pack: Callable[[Any], bytes],
    values: st.SearchStrategy[object],
    draw: st.DataObject,
) -> None:
    """A real value's bytes parse to that value; random or damaged bytes raise ``ParseError`` and
    nothing else, or parse to a value the layout holds (packed again, it reads back the same)."""
    value = draw.draw(values, label="value")
    packed = pack(value)
    data = draw.draw(st.one_of(st.just(packed), st.binary(max_size=900), damaged(packed)))
    try:
        parsed = parse(data)
    except ParseError:
        assert data != packed, "the bytes of a real value were refused"
        return
    if data == packed:
        assert parsed == value
    assert parse(pack(parsed)) == parsed


@settings(max_examples=100, deadline=None)
@given(
    data=st.one_of(
        st.binary(min_size=82, max_size=82),
        st.binary(min_size=165, max_size=400).map(lambda b: bytes(82) + bytes(83) + b"\x01" + b),
    )
)
def test_mint_like_bytes_decode_their_own_extensions_or_raise_parse_error(data: bytes) -> None:
    try:
        mint = parse_mint(data)
        ext = decode_mint_extensions(mint.extensions)
    except ParseError:
        return
    assert mint.decimals == data[44]
    assert mint.supply == int.from_bytes(data[36:44], "little")
    assert ext.types == mint.extension_types  # every TLV entry, in order, and nothing else


@settings(max_examples=100, deadline=None)
@given(
    mint_authority=st.none() | pubkeys,
    supply=u64,
    decimals=st.integers(0, 255),
    freeze=st.none() | pubkeys,
    entries=tlv_entries,
)
def test_mint_round_trips(
    mint_authority: Pubkey | None,
    supply: int,
    decimals: int,
    freeze: Pubkey | None,
    entries: Entries,
) -> None:
    mint = MintState(mint_authority, supply, decimals, True, freeze, entries)
    assert parse_mint(pack_mint(mint)) == mint


@settings(max_examples=100, deadline=None)
@given(
    mint=pubkeys,
    owner=pubkeys,
    amount=u64,
    delegate=st.none() | pubkeys,
    state=st.integers(0, 2),
    native=st.none() | u64,
    delegated=u64,
    close=st.none() | pubkeys,
    entries=tlv_entries,
)
def test_token_account_round_trips(
    mint: Pubkey,
    owner: Pubkey,
    amount: int,
    delegate: Pubkey | None,
    state: int,
    native: int | None,
    delegated: int,
    close: Pubkey | None,
    entries: Entries,
) -> None:
    account = TokenAccountState(
        mint, owner, amount, delegate, state, native, delegated, close, entries
    )
    assert parse_token_account(pack_token_account(account)) == account


fees = st.builds(TransferFee, u64, u64, u16)


@settings(max_examples=100, deadline=None)
@given(
    config=st.builds(
        TransferFeeConfig, st.none() | nonzero_pubkeys, st.none() | nonzero_pubkeys, u64, fees, fees
    ),
    hook=st.builds(TransferHook, st.none() | nonzero_pubkeys, st.none() | nonzero_pubkeys),
    pausable=st.builds(Pausable, st.none() | nonzero_pubkeys, st.booleans()),
    delegate=st.none() | nonzero_pubkeys,
    default_state=st.integers(0, 2),
)
def test_extensions_round_trip(
    config: TransferFeeConfig,
    hook: TransferHook,
    pausable: Pausable,
    delegate: Pubkey | None,
    default_state: int,
) -> None:
    entries = (
        (ExtensionType.TRANSFER_FEE_CONFIG, encode_transfer_fee_config(config)),
        (ExtensionType.TRANSFER_HOOK, encode_transfer_hook(hook)),
        (ExtensionType.PAUSABLE, encode_pausable(pausable)),
        (ExtensionType.PERMANENT_DELEGATE, encode_maybe_null(delegate)),
        (ExtensionType.DEFAULT_ACCOUNT_STATE, bytes([default_state])),
        (ExtensionType.NON_TRANSFERABLE, b""),
    )
    mint = MintState(None, 1, 6, True, None, entries)
    ext = decode_mint_extensions(parse_mint(pack_mint(mint)).extensions)
    assert ext.transfer_fee == config
    assert ext.transfer_hook == hook
    assert ext.pausable == pausable
    assert ext.has_permanent_delegate
    assert ext.permanent_delegate == delegate
    assert ext.default_account_state == default_state
    assert ext.non_transferable
    assert ext.types == tuple(t for t, _ in entries)


def test_transfer_fee_switches_to_newer_fee_at_its_epoch() -> None:
    config = TransferFeeConfig(None, None, 0, TransferFee(0, 10, 100), TransferFee(50, 10, 9_000))
    assert config.fee_at(49).basis_points == 100
    assert config.fee_at(50).basis_points == 9_000
    assert config.fee_at(None).basis_points == 9_000
    assert config.max_basis_points == 9_000


def test_known_extension_with_wrong_size_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="TRANSFER_FEE_CONFIG"):
        decode_mint_extensions(((ExtensionType.TRANSFER_FEE_CONFIG, bytes(107)),))


def test_unknown_extension_is_kept_by_number() -> None:
    ext = decode_mint_extensions(((999, b"abc"),))
    assert ext.types == (999,)


def test_invalid_coption_tag_is_a_parse_error() -> None:
    data = bytearray(82)
    data[0] = 2
    with pytest.raises(ParseError, match="COption"):
        parse_mint(bytes(data))


def test_multisig_sized_account_is_not_a_token_account() -> None:
    with pytest.raises(ParseError):
        parse_token_account(bytes(355))


def test_tlv_overrun_is_a_parse_error() -> None:
    data = bytes(165) + b"\x01" + struct.pack("<HH", 1, 200) + bytes(10)
    with pytest.raises(ParseError, match="overruns"):
        parse_tlv(data)


@settings(max_examples=100, deadline=None)
@given(
    update=pubkeys,
    mint=pubkeys,
    name=text,
    symbol=text,
    uri=text,
    fee=u16,
    creators=creators,
    sale=st.booleans(),
    mutable=st.booleans(),
    nonce=st.none() | st.integers(0, 255),
    standard=st.none() | st.integers(0, 255),
)
def test_metaplex_metadata_round_trips(
    update: Pubkey,
    mint: Pubkey,
    name: str,
    symbol: str,
    uri: str,
    fee: int,
    creators: tuple[MetadataCreator, ...] | None,
    sale: bool,
    mutable: bool,
    nonce: int | None,
    standard: int | None,
) -> None:
    meta = MetaplexMetadata(
        update, mint, name, symbol, uri, fee, creators, sale, mutable, nonce, standard
    )
    assert parse_metaplex_metadata(pack_metaplex_metadata(meta)) == meta


def test_puffed_metaplex_metadata_strips_padding_and_tolerates_trailing_zeros() -> None:
    update, mint = Pubkey.new_unique(), Pubkey.new_unique()
    meta = MetaplexMetadata(
        update,
        mint,
        "Dog".ljust(32, "\x00"),
        "DOG".ljust(10, "\x00"),
        "https://x".ljust(200, "\x00"),
        0,
        None,
        False,
        True,
    )
    data = pack_metaplex_metadata(meta) + bytes(300)
    parsed = parse_metaplex_metadata(data)
    assert (parsed.name, parsed.symbol, parsed.uri) == ("Dog", "DOG", "https://x")
    assert parsed.is_mutable
    # puffed strings put is_mutable at offset 323 when there are no creators (PROTOCOLS.md 7.4)
    assert data[323] == 1


@settings(max_examples=100, deadline=None)
@given(
    update=st.none() | nonzero_pubkeys,
    mint=pubkeys,
    name=text,
    symbol=text,
    uri=text,
    extra=st.lists(st.tuples(text, text), max_size=4).map(tuple),
)
def test_token_metadata_round_trips(
    update: Pubkey | None,
    mint: Pubkey,
    name: str,
    symbol: str,
    uri: str,
    extra: tuple[tuple[str, str], ...],
) -> None:
    meta = TokenMetadata(update, mint, name, symbol, uri, extra)
    assert parse_token_metadata(pack_token_metadata(meta)) == meta


def test_metadata_pda_matches_the_published_usdc_address() -> None:
    usdc = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
    assert str(metadata_pda(usdc)) == "5x38Kp4hvdomTCnCrAny4UtMUt5rQBdB6px2K1Ui45Wq"


@settings(max_examples=100, deadline=None)
@given(status=u64, keys=st.lists(pubkeys, min_size=5, max_size=5), lp=u64, open_time=u64)
def test_raydium_v4_round_trips(status: int, keys: list[Pubkey], lp: int, open_time: int) -> None:
    base_vault, quote_vault, base_mint, quote_mint, lp_mint = keys
    pool = RaydiumV4Pool(
        status, base_vault, quote_vault, base_mint, quote_mint, lp_mint, lp, open_time
    )
    assert parse_raydium_v4(pack_raydium_v4(pool)) == pool
