"""PumpSwap (pump AMM) account layouts, PDAs, events and the genesis state localnet starts with.

Field lists follow the `types` of `pump_amm.json` shipped in `@pump-fun/pump-sdk` 2.0.0 /
`@pump-fun/pump-swap-sdk` 1.20.0; discriminators are sha256("account:<Name>")[:8] /
sha256("event:<Name>")[:8] / sha256("global:<ix>")[:8], as in the IDL. Seeds follow the SDK's
`pda.ts`: pool `["pool", index u16 LE, creator, base_mint, quote_mint]`, the canonical pool of a
pump coin is index 0 created by pump's `["pool-authority", mint]` PDA and quoted in WSOL, LP mint
`["pool_lp_mint", pool]`, pool-v2 `["pool-v2", base_mint]`, coin creator vault
`["creator_vault", coin_creator]` (underscore: not pump's `creator-vault`).
"""

from __future__ import annotations

import base64
import struct
from typing import Any, Final

from solders.pubkey import Pubkey

from localnet.encoding import TOKEN_PROGRAM_ID
from localnet.market import instructions as tix
from localnet.pump.borsh import Struct
from localnet.pump.state import (
    BUYBACK_FEE_RECIPIENTS,
    FEE_CONFIG_LAYOUT,
    GLOBAL_VOLUME_ACCUMULATOR_LAYOUT,
    PUMP_FEE_PROGRAM_ID,
    RESERVED_FEE_RECIPIENTS,
    ZERO,
    discriminator,
    fee_pda,
    pump_pda,
)

PUMP_AMM_PROGRAM_ID: Final = Pubkey.from_string("pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA")
WSOL_MINT: Final = tix.WSOL_MINT
CANONICAL_POOL_INDEX: Final = 0


def amm_pda(*seeds: bytes) -> Pubkey:
    return Pubkey.find_program_address(list(seeds), PUMP_AMM_PROGRAM_ID)[0]


GLOBAL_CONFIG: Final = amm_pda(b"global_config")
EVENT_AUTHORITY: Final = amm_pda(b"__event_authority")
GLOBAL_VOLUME_ACCUMULATOR: Final = amm_pda(b"global_volume_accumulator")
FEE_CONFIG: Final = fee_pda(b"fee_config", bytes(PUMP_AMM_PROGRAM_ID))


def pool_address(index: int, creator: Pubkey, base_mint: Pubkey, quote_mint: Pubkey) -> Pubkey:
    return amm_pda(b"pool", struct.pack("<H", index), bytes(creator), bytes(base_mint),
                   bytes(quote_mint))  # fmt: skip


def pool_bump(index: int, creator: Pubkey, base_mint: Pubkey, quote_mint: Pubkey) -> int:
    seeds = [b"pool", struct.pack("<H", index), bytes(creator), bytes(base_mint), bytes(quote_mint)]
    return Pubkey.find_program_address(seeds, PUMP_AMM_PROGRAM_ID)[1]


def pool_authority_address(mint: Pubkey) -> Pubkey:
    """pump's `["pool-authority", mint]`: the creator of the coin's canonical pool."""
    return pump_pda(b"pool-authority", bytes(mint))


def canonical_pool_address(mint: Pubkey, quote_mint: Pubkey = WSOL_MINT) -> Pubkey:
    quote = WSOL_MINT if quote_mint == ZERO else quote_mint
    return pool_address(CANONICAL_POOL_INDEX, pool_authority_address(mint), mint, quote)


def lp_mint_address(pool: Pubkey) -> Pubkey:
    return amm_pda(b"pool_lp_mint", bytes(pool))


def pool_v2_address(base_mint: Pubkey) -> Pubkey:
    return amm_pda(b"pool-v2", bytes(base_mint))


def coin_creator_vault_authority(coin_creator: Pubkey) -> Pubkey:
    return amm_pda(b"creator_vault", bytes(coin_creator))


def user_volume_accumulator_address(user: Pubkey) -> Pubkey:
    return amm_pda(b"user_volume_accumulator", bytes(user))


def boost_vault_authority(pool: Pubkey) -> Pubkey:
    return amm_pda(b"boost_vault", bytes(pool))


# ---- accounts --------------------------------------------------------------------------------
def _keys(n: int) -> tuple[str, str, int]:
    return ("array", "pubkey", n)


GLOBAL_CONFIG_LAYOUT: Final = Struct("GlobalConfig", (
    ("admin", "pubkey"), ("lp_fee_basis_points", "u64"), ("protocol_fee_basis_points", "u64"),
    ("disable_flags", "u8"), ("protocol_fee_recipients", _keys(8)),
    ("coin_creator_fee_basis_points", "u64"), ("admin_set_coin_creator_authority", "pubkey"),
    ("whitelist_pda", "pubkey"), ("reserved_fee_recipient", "pubkey"),
    ("mayhem_mode_enabled", "bool"), ("reserved_fee_recipients", _keys(7)),
    ("is_cashback_enabled", "bool"), ("buyback_fee_recipients", _keys(8)),
    ("buyback_basis_points", "u64"), ("boost_authority", "pubkey"), ("boost_enabled", "bool"),
    ("creator_fee_configurable", "bool"), ("max_configurable_creator_fee_bps", "u64"),
))  # fmt: skip
POOL_LAYOUT: Final = Struct("Pool", (
    ("pool_bump", "u8"), ("index", "u16"), ("creator", "pubkey"), ("base_mint", "pubkey"),
    ("quote_mint", "pubkey"), ("lp_mint", "pubkey"), ("pool_base_token_account", "pubkey"),
    ("pool_quote_token_account", "pubkey"), ("lp_supply", "u64"), ("coin_creator", "pubkey"),
    ("is_mayhem_mode", "bool"), ("is_cashback_coin", "bool"), ("virtual_quote_reserves", "i128"),
    ("creator_fee_bps", "u64"), ("can_edit_creator_fee", "bool"), ("is_holder_reward", "bool"),
))  # fmt: skip
USER_VOLUME_ACCUMULATOR_LAYOUT: Final = Struct("UserVolumeAccumulator", (
    ("user", "pubkey"), ("needs_claim", "bool"), ("total_unclaimed_tokens", "u64"),
    ("total_claimed_tokens", "u64"), ("current_sol_volume", "u64"),
    ("last_update_timestamp", "i64"), ("has_total_claimed_tokens", "bool"),
    ("cashback_earned", "u64"), ("total_cashback_claimed", "u64"),
))  # fmt: skip

GLOBAL_CONFIG_SIZE: Final = 8 + GLOBAL_CONFIG_LAYOUT.size()  # 949, the SDK's GLOBAL_CONFIG_SIZE
POOL_SIZE: Final = 300  # the SDK's POOL_ACCOUNT_NEW_SIZE (an extended pool; the fields take 270)
FEE_CONFIG_SIZE: Final = 4097
USER_VOLUME_ACCUMULATOR_SIZE: Final = 8 + USER_VOLUME_ACCUMULATOR_LAYOUT.size()
GLOBAL_VOLUME_ACCUMULATOR_SIZE: Final = 8 + GLOBAL_VOLUME_ACCUMULATOR_LAYOUT.size()
MINIMUM_LIQUIDITY: Final = 100
LP_DECIMALS: Final = 6


def encode_account(name: str, layout: Struct, values: dict[str, Any], size: int) -> bytes:
    raw = discriminator("account", name) + layout.encode(values)
    if len(raw) > size:
        raise ValueError(f"{name} needs {len(raw)} bytes, more than its {size}")
    return raw + bytes(size - len(raw))


def decode_account(name: str, layout: Struct, data: bytes) -> dict[str, Any] | None:
    if bytes(data[:8]) != discriminator("account", name):
        return None
    return layout.decode(bytes(data), 8)[0]


# ---- events ----------------------------------------------------------------------------------
_TRADE_TAIL: Final = (
    ("cashback_fee_basis_points", "u64"), ("cashback", "u64"),
    ("buyback_fee_basis_points", "u64"), ("buyback_fee", "u64"),
    ("virtual_quote_reserves", "i128"), ("can_boost", "bool"), ("base_supply", "u64"),
    ("holder_rewards_bps", "u64"), ("holder_rewards", "u64"),
)  # fmt: skip
BUY_EVENT_LAYOUT: Final = Struct("BuyEvent", (
    ("timestamp", "i64"), ("base_amount_out", "u64"), ("max_quote_amount_in", "u64"),
    ("user_base_token_reserves", "u64"), ("user_quote_token_reserves", "u64"),
    ("pool_base_token_reserves", "u64"), ("pool_quote_token_reserves", "u64"),
    ("quote_amount_in", "u64"), ("lp_fee_basis_points", "u64"), ("lp_fee", "u64"),
    ("protocol_fee_basis_points", "u64"), ("protocol_fee", "u64"),
    ("quote_amount_in_with_lp_fee", "u64"), ("user_quote_amount_in", "u64"), ("pool", "pubkey"),
    ("user", "pubkey"), ("user_base_token_account", "pubkey"),
    ("user_quote_token_account", "pubkey"), ("protocol_fee_recipient", "pubkey"),
    ("protocol_fee_recipient_token_account", "pubkey"), ("coin_creator", "pubkey"),
    ("coin_creator_fee_basis_points", "u64"), ("coin_creator_fee", "u64"),
    ("track_volume", "bool"), ("total_unclaimed_tokens", "u64"),
    ("total_claimed_tokens", "u64"), ("current_sol_volume", "u64"),
    ("last_update_timestamp", "i64"), ("min_base_amount_out", "u64"), ("ix_name", "string"),
    *_TRADE_TAIL,
))  # fmt: skip
SELL_EVENT_LAYOUT: Final = Struct("SellEvent", (
    ("timestamp", "i64"), ("base_amount_in", "u64"), ("min_quote_amount_out", "u64"),
    ("user_base_token_reserves", "u64"), ("user_quote_token_reserves", "u64"),
    ("pool_base_token_reserves", "u64"), ("pool_quote_token_reserves", "u64"),
    ("quote_amount_out", "u64"), ("lp_fee_basis_points", "u64"), ("lp_fee", "u64"),
    ("protocol_fee_basis_points", "u64"), ("protocol_fee", "u64"),
    ("quote_amount_out_without_lp_fee", "u64"), ("user_quote_amount_out", "u64"),
    ("pool", "pubkey"), ("user", "pubkey"), ("user_base_token_account", "pubkey"),
    ("user_quote_token_account", "pubkey"), ("protocol_fee_recipient", "pubkey"),
    ("protocol_fee_recipient_token_account", "pubkey"), ("coin_creator", "pubkey"),
    ("coin_creator_fee_basis_points", "u64"), ("coin_creator_fee", "u64"), *_TRADE_TAIL,
))  # fmt: skip
CREATE_POOL_EVENT_LAYOUT: Final = Struct("CreatePoolEvent", (
    ("timestamp", "i64"), ("index", "u16"), ("creator", "pubkey"), ("base_mint", "pubkey"),
    ("quote_mint", "pubkey"), ("base_mint_decimals", "u8"), ("quote_mint_decimals", "u8"),
    ("base_amount_in", "u64"), ("quote_amount_in", "u64"), ("pool_base_amount", "u64"),
    ("pool_quote_amount", "u64"), ("minimum_liquidity", "u64"), ("initial_liquidity", "u64"),
    ("lp_token_amount_out", "u64"), ("pool_bump", "u8"), ("pool", "pubkey"), ("lp_mint", "pubkey"),
    ("user_base_token_account", "pubkey"), ("user_quote_token_account", "pubkey"),
    ("coin_creator", "pubkey"), ("is_mayhem_mode", "bool"), ("creator_fee_bps", "u64"),
    ("can_edit_creator_fee", "bool"), ("is_holder_reward", "bool"),
))  # fmt: skip


def event_log(layout: Struct, values: dict[str, Any]) -> str:
    raw = discriminator("event", layout.name) + layout.encode(values)
    return f"Program data: {base64.b64encode(raw).decode()}"


# ---- genesis ---------------------------------------------------------------------------------
# GlobalConfig.protocol_fee_recipients on mainnet (pump-public-docs PUMP_SWAP_README.md).
PROTOCOL_FEE_RECIPIENTS: Final = tuple(Pubkey.from_string(k) for k in (
    "62qc2CNXwrYqQScmEdiZFFAnJR262PxWEuNQtxfafNgV", "7VtfL8fvgNfhz17qKRMjzQEXgbdpnHHHQRh54R9jP2RJ",
    "7hTckgnGnLQR6sdH7YkqFTAA7VwTfYFaZ6EhEsU3saCX", "9rPYyANsfQZw3DnDmKE3YCQF5E8oD89UXoHn9JFEhJUz",
    "AVmoTthdrX6tKt4nDjco2D775W2YK3sDhxPcMmzUAmTY", "FWsW1xNtWscwNmKv6wVsU1iTzRN6wmmk3MjxRP5tT7hz",
    "G5UZAVbAf46s7cKWoyKu8kYTip9DGTpbLZ2qa9Aq69dP", "JCRGumoE9Qi5BBgULTgdgTLjSgkCMSbF62ZZfGs84JeU",
))  # fmt: skip
ADMIN: Final = amm_pda(b"localnet-admin")


def genesis_global_config() -> dict[str, Any]:
    return {
        "admin": ADMIN, "lp_fee_basis_points": 20, "protocol_fee_basis_points": 5,
        "disable_flags": 0, "protocol_fee_recipients": list(PROTOCOL_FEE_RECIPIENTS),
        "coin_creator_fee_basis_points": 5, "admin_set_coin_creator_authority": ADMIN,
        "whitelist_pda": ZERO, "reserved_fee_recipient": RESERVED_FEE_RECIPIENTS[0],
        "mayhem_mode_enabled": False, "reserved_fee_recipients": list(RESERVED_FEE_RECIPIENTS[1:]),
        "is_cashback_enabled": False, "buyback_fee_recipients": list(BUYBACK_FEE_RECIPIENTS),
        "buyback_basis_points": 5_000, "boost_authority": ADMIN, "boost_enabled": False,
        "creator_fee_configurable": True, "max_configurable_creator_fee_bps": 300,
    }  # fmt: skip


def _fees(lp: int, protocol: int, creator: int) -> dict[str, int]:
    return {"lp_fee_bps": lp, "protocol_fee_bps": protocol, "creator_fee_bps": creator}


# Mainnet's pump-amm FeeConfig (the SDK's feeConfigMainnetFixture.ts, captured 2026-09-08):
# market-cap thresholds in lamports (SOL tiers) / USDC units (stable tiers); the first tier is
# (lp 2, protocol 93, creator 30), every later one (lp 20, protocol 5, creator c).
_CREATOR_BPS: Final = (95, 90, 85, 80, 75, 70, 65, 60, 55, 50, 45, 40, 35, 30, 28, 25, 23, 20, 18,
                       15, 13, 10, 8, 5)  # fmt: skip
_SOL_THRESHOLDS: Final = (
    420,
    1_470,
    2_460,
    3_440,
    4_420,
    9_820,
    14_740,
    19_650,
    24_560,
    29_470,
    34_380,
    39_300,
    44_210,
    49_120,
    54_030,
    58_940,
    63_860,
    68_770,
    73_681,
    78_590,
    83_500,
    88_400,
    93_330,
    98_240,
)  # fmt: skip  (x 1e9 lamports)
_STABLE_THRESHOLDS: Final = (59, 300, 500, 700, 900, *range(2_000, 20_001, 1_000))  # x 1e9


def _tiers(thresholds: tuple[int, ...]) -> list[dict[str, Any]]:
    tiers = [{"market_cap_lamports_threshold": 0, "fees": _fees(2, 93, 30)}]
    for threshold, creator in zip(thresholds, _CREATOR_BPS, strict=True):
        tiers.append({"market_cap_lamports_threshold": threshold * 1_000_000_000,
                      "fees": _fees(20, 5, creator)})  # fmt: skip
    return tiers


def genesis_fee_config() -> dict[str, Any]:
    bump = Pubkey.find_program_address(
        [b"fee_config", bytes(PUMP_AMM_PROGRAM_ID)], PUMP_FEE_PROGRAM_ID
    )[1]
    return {
        "bump": bump, "admin": ADMIN, "flat_fees": _fees(25, 5, 0),
        "fee_tiers": _tiers(_SOL_THRESHOLDS), "stable_fee_tiers": _tiers(_STABLE_THRESHOLDS),
        "exotic_flat_fees": _fees(0, 0, 0),
    }  # fmt: skip


FEE_CONFIG_FIELDS: Final = FEE_CONFIG_LAYOUT  # the pump fee program's FeeConfig, one layout


def native_mint_data() -> bytes:
    """The SPL Token native mint (`So111...`): no authorities, 9 decimals, initialized."""
    return struct.pack("<I32sQBBI32s", 0, bytes(32), 0, 9, 1, 0, bytes(32))


def token_account_data(
    mint: Pubkey, owner: Pubkey, amount: int, native_reserve: int | None
) -> bytes:
    """A plain initialized SPL Token account (165 bytes); WSOL accounts carry `is_native`."""
    native = (b"\x01\x00\x00\x00" + struct.pack("<Q", native_reserve)
              if native_reserve is not None else bytes(12))  # fmt: skip
    return (bytes(mint) + bytes(owner) + struct.pack("<Q", amount) + bytes(36) + b"\x01"
            + native + struct.pack("<Q", 0) + bytes(36))  # fmt: skip


def wsol_ata(owner: Pubkey) -> Pubkey:
    return tix.associated_token_address(owner, WSOL_MINT, TOKEN_PROGRAM_ID)
