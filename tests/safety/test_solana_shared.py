"""The pieces solana.pumpfun, solana.pumpswap and solana.pump_events share: one Borsh reader
(each module still raising its own error with its own message), one ATA derivation, one
definition of each program id."""

from __future__ import annotations

import struct

import pytest
from solders.pubkey import Pubkey

from sniper_bot.solana import pda, programs, pump_events, pumpfun, pumpswap
from sniper_bot.solana.layouts.base import BorshReader


class _Short(Exception):
    pass


def test_reader_reads_every_field_in_order() -> None:
    key = Pubkey.new_unique()
    data = (
        b"D" * 8 + b"\x07\x01" + struct.pack("<HIQq", 513, 70_000, 2**64 - 1, -5)
        + (2**100).to_bytes(16, "little") + (-(2**90)).to_bytes(16, "little", signed=True)
        + bytes(key) * 2
    )  # fmt: skip
    r = BorshReader(data, error=_Short)
    assert (r.u8(), r.boolean(), r.u16(), r.u32(), r.u64(), r.i64()) == (
        7, True, 513, 70_000, 2**64 - 1, -5,
    )  # fmt: skip
    assert (r.u128(), r.i128(), r.pubkey(), r.pubkeys(1)) == (2**100, -(2**90), key, (key,))
    assert r.pos == len(data)


def test_reader_raises_the_given_error_and_does_not_advance() -> None:
    r = BorshReader(bytes(12), error=_Short)
    r.u16()
    with pytest.raises(_Short, match=r"^account data ends at 12, field needs 18$"):
        r.u64()
    assert r.pos == 10
    custom = BorshReader(bytes(9), 0, error=_Short, short="{have}<{need}")
    with pytest.raises(_Short, match=r"^9<32$"):
        custom.pubkey()


def test_each_module_keeps_its_own_error_and_message() -> None:
    # pumpfun's reader (its decoders pad short accounts, so the reader is where this shows)
    with pytest.raises(pumpfun.LayoutError, match=r"^account data ends at 8, field needs 16$"):
        pumpfun._reader(bytes(8)).u64()
    # pumpswap: a FeeConfig whose tier vector runs past the account
    fee_config = bytearray(pumpswap.FEE_CONFIG_DISCRIMINATOR + bytes(2504))
    fee_config[8 + 1 + 32 + 24 : 8 + 1 + 32 + 24 + 4] = struct.pack("<I", 1_000)
    with pytest.raises(pumpswap.LayoutError, match=r"^account data ends at 2512, needs \d+$"):
        pumpswap.decode_fee_config(bytes(fee_config))
    # pump_events: a TradeEvent cut inside a required field
    cut = pump_events.TRADE_EVENT_DISCRIMINATOR + bytes(20)
    with pytest.raises(
        pump_events.EventLayoutError,
        match=r"^TradeEvent ends at byte 28 inside required field 'mint'$",
    ):
        pump_events.decode_trade_event(cut)


def test_one_ata_derivation_and_one_definition_of_each_pump_program_id() -> None:
    assert pumpfun.associated_token_address is pda.associated_token_address
    assert pumpswap.associated_token_address is pda.associated_token_address
    assert pumpfun.PUMP_FEE_PROGRAM_ID is programs.PUMP_FEE_PROGRAM_ID
    assert pumpswap.PUMP_FEE_PROGRAM_ID is programs.PUMP_FEE_PROGRAM_ID
    assert pumpswap.PUMP_AMM_PROGRAM_ID is programs.PUMP_AMM_PROGRAM_ID
    assert str(programs.PUMP_AMM_PROGRAM_ID) == "pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA"
    assert str(programs.PUMP_FEE_PROGRAM_ID) == "pfeeUxB6jkeY1Hxd7CsFCAjcbHA9rWtchMGdZ6VojVZ"
