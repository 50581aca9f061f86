"""pump.fun `Create` as mainnet shows it: log lines with a Borsh `CreateEvent` (PROTOCOLS 3.3),
and the BondingCurve account data. The program cannot run here; the bytes are the real formats."""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass

from solders.pubkey import Pubkey

ZERO_KEY = Pubkey.default()

PUMP_PROGRAM_ID = Pubkey.from_string("6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P")
PUMP_GLOBAL = Pubkey.from_string("4wTV1YmiEkRvAtNtsSGPtUrqRYQMe5SKy2uB4Jjaxnjf")
PUMP_EVENT_AUTHORITY = Pubkey.from_string("Ce6TQqeHC9p8KetsN6JsjHK7UTZk7nasjjnr7XxXp9F1")
PUMP_MINT_AUTHORITY = Pubkey.from_string("TSLvdd1pWpHVjahSpsvCXUbgwsL3JAcvokwaKt1eokM")
CREATE_EVENT_DISCRIMINATOR = bytes.fromhex("1b72a94ddeeb6376")
BONDING_CURVE_DISCRIMINATOR = bytes.fromhex("17b7f83760d8ac60")
INITIAL_VIRTUAL_TOKEN_RESERVES = 1_073_000_000_000_000
INITIAL_VIRTUAL_SOL_RESERVES = 30_000_000_000
INITIAL_REAL_TOKEN_RESERVES = 793_100_000_000_000
TOKEN_TOTAL_SUPPLY = 1_000_000_000_000_000


@dataclass(frozen=True, slots=True)
class CreateEvent:
    name: str
    symbol: str
    uri: str
    mint: Pubkey
    bonding_curve: Pubkey
    user: Pubkey
    creator: Pubkey
    timestamp: int
    token_program: Pubkey
    virtual_token_reserves: int = INITIAL_VIRTUAL_TOKEN_RESERVES
    virtual_sol_reserves: int = INITIAL_VIRTUAL_SOL_RESERVES
    real_token_reserves: int = INITIAL_REAL_TOKEN_RESERVES
    token_total_supply: int = TOKEN_TOTAL_SUPPLY
    is_mayhem_mode: bool = False
    is_cashback_enabled: bool = False
    quote_mint: Pubkey = ZERO_KEY


def bonding_curve_address(mint: Pubkey) -> Pubkey:
    return Pubkey.find_program_address([b"bonding-curve", bytes(mint)], PUMP_PROGRAM_ID)[0]


def _string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<I", len(raw)) + raw


def encode_create_event(e: CreateEvent) -> bytes:
    """Discriminator + Borsh fields in IDL order (`virtual_quote_reserves` = virtual SOL)."""
    return (
        CREATE_EVENT_DISCRIMINATOR
        + _string(e.name) + _string(e.symbol) + _string(e.uri)
        + bytes(e.mint) + bytes(e.bonding_curve) + bytes(e.user) + bytes(e.creator)
        + struct.pack("<qQQQQ", e.timestamp, e.virtual_token_reserves, e.virtual_sol_reserves,
                      e.real_token_reserves, e.token_total_supply)
        + bytes(e.token_program) + bytes([e.is_mayhem_mode, e.is_cashback_enabled])
        + bytes(e.quote_mint) + struct.pack("<Q", e.virtual_sol_reserves)
        + struct.pack("<Q", 0) + b"\x00"  # creator_fee_bps (schedule rate), is_holder_reward
    )  # fmt: skip


def create_logs(event: CreateEvent) -> list[str]:
    """The log lines of a successful legacy `create` (what logsSubscribe subscribers see)."""
    pump = str(PUMP_PROGRAM_ID)
    system = "11111111111111111111111111111111"
    token = str(event.token_program)
    return [
        f"Program {pump} invoke [1]",
        "Program log: Instruction: Create",
        f"Program {system} invoke [2]",
        f"Program {system} success",
        f"Program {token} invoke [2]",
        "Program log: Instruction: InitializeMint2",
        f"Program {token} success",
        f"Program data: {base64.b64encode(encode_create_event(event)).decode()}",
        f"Program {pump} consumed 119043 of 200000 compute units",
        f"Program {pump} success",
    ]


def encode_bonding_curve(event: CreateEvent) -> bytes:
    """The 115-byte BondingCurve account right after `create`."""
    return (
        BONDING_CURVE_DISCRIMINATOR
        + struct.pack("<QQQQQ", event.virtual_token_reserves, event.virtual_sol_reserves,
                      event.real_token_reserves, 0, event.token_total_supply)
        + b"\x00" + bytes(event.creator) + bytes([event.is_mayhem_mode, event.is_cashback_enabled])
        + bytes(event.quote_mint)
    )  # fmt: skip
