"""pump.fun and pump-fees account layouts, PDAs, events and the genesis state localnet starts with.

Field lists follow the `types` of the IDLs shipped in `@pump-fun/pump-sdk` 2.0.0
(`src/idl/pump.json`, `pump_fees.json`); the discriminators are those IDLs'
(sha256("account:<Name>")[:8] / sha256("event:<Name>")[:8] / sha256("global:<ix_name>")[:8]).
Accounts are decoded by field, never by length: a short account reads its missing trailing fields
as zero, a long one ignores the rest.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any, Final

from solders.pubkey import Pubkey

from localnet.pump.borsh import Struct

PUMP_PROGRAM_ID: Final = Pubkey.from_string("6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P")
PUMP_FEE_PROGRAM_ID: Final = Pubkey.from_string("pfeeUxB6jkeY1Hxd7CsFCAjcbHA9rWtchMGdZ6VojVZ")
MAYHEM_PROGRAM_ID: Final = Pubkey.from_string("MAyhSmzXzV1pTf7LsNkrNwkWKTo4ougAJ1PPg47MD4e")
USDC_MINT: Final = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
USDC_DECIMALS: Final = 6
WSOL_MINT: Final = Pubkey.from_string("So11111111111111111111111111111111111111112")
NATIVE_MINT_2022: Final = Pubkey.from_string("9pan9bMn5HatX4EJdBwg9VgCa7Uz5HL8N1m5D3NdXejP")
ZERO: Final = Pubkey.default()


def discriminator(namespace: str, name: str) -> bytes:
    return hashlib.sha256(f"{namespace}:{name}".encode()).digest()[:8]


def pump_pda(*seeds: bytes) -> Pubkey:
    return Pubkey.find_program_address(list(seeds), PUMP_PROGRAM_ID)[0]


def fee_pda(*seeds: bytes) -> Pubkey:
    return Pubkey.find_program_address(list(seeds), PUMP_FEE_PROGRAM_ID)[0]


GLOBAL: Final = pump_pda(b"global")
MINT_AUTHORITY: Final = pump_pda(b"mint-authority")
EVENT_AUTHORITY: Final = pump_pda(b"__event_authority")
GLOBAL_VOLUME_ACCUMULATOR: Final = pump_pda(b"global_volume_accumulator")
FEE_CONFIG: Final = fee_pda(b"fee_config", bytes(PUMP_PROGRAM_ID))
QUOTE_CONTROL: Final = pump_pda(b"quote-control")


def bonding_curve_address(mint: Pubkey) -> Pubkey:
    return pump_pda(b"bonding-curve", bytes(mint))


def bonding_curve_v2_address(mint: Pubkey) -> Pubkey:
    return pump_pda(b"bonding-curve-v2", bytes(mint))


def creator_vault_address(creator: Pubkey) -> Pubkey:
    return pump_pda(b"creator-vault", bytes(creator))


def user_volume_accumulator_address(user: Pubkey) -> Pubkey:
    return pump_pda(b"user_volume_accumulator", bytes(user))


def sharing_config_address(mint: Pubkey) -> Pubkey:
    return fee_pda(b"sharing-config", bytes(mint))


def holder_rewards_address(mint: Pubkey) -> Pubkey:
    return pump_pda(b"holder-rewards", bytes(mint))


def is_legacy_quote_mint(quote_mint: Pubkey) -> bool:
    """SOL-quoted (pda.ts `isLegacyQuoteMint`): curves store the zero key, builders pass WSOL."""
    return quote_mint in (ZERO, WSOL_MINT)


# ---- accounts --------------------------------------------------------------------------------
def _keys(n: int) -> tuple[str, int, int]:
    return ("array", "pubkey", n)  # type: ignore[return-value]


GLOBAL_LAYOUT: Final = Struct("Global", (
    ("initialized", "bool"), ("authority", "pubkey"), ("fee_recipient", "pubkey"),
    ("initial_virtual_token_reserves", "u64"), ("initial_virtual_sol_reserves", "u64"),
    ("initial_real_token_reserves", "u64"), ("token_total_supply", "u64"),
    ("fee_basis_points", "u64"), ("withdraw_authority", "pubkey"), ("enable_migrate", "bool"),
    ("pool_migration_fee", "u64"), ("creator_fee_basis_points", "u64"),
    ("fee_recipients", _keys(7)), ("set_creator_authority", "pubkey"),
    ("admin_set_creator_authority", "pubkey"), ("create_v2_enabled", "bool"),
    ("whitelist_pda", "pubkey"), ("reserved_fee_recipient", "pubkey"),
    ("mayhem_mode_enabled", "bool"), ("reserved_fee_recipients", _keys(7)),
    ("is_cashback_enabled", "bool"), ("buyback_fee_recipients", _keys(8)),
    ("buyback_basis_points", "u64"), ("initial_virtual_quote_reserves", "u64"),
    ("whitelisted_quote_mints", _keys(1)), ("creator_fee_configurable", "bool"),
    ("max_configurable_creator_fee_bps", "u64"), ("holder_reward_claim_authority", "pubkey"),
    ("is_holder_reward_enabled", "bool"),
))  # fmt: skip

BONDING_CURVE_LAYOUT: Final = Struct("BondingCurve", (
    ("virtual_token_reserves", "u64"), ("virtual_quote_reserves", "u64"),
    ("real_token_reserves", "u64"), ("real_quote_reserves", "u64"),
    ("token_total_supply", "u64"), ("complete", "bool"), ("creator", "pubkey"),
    ("is_mayhem_mode", "bool"), ("is_cashback_coin", "bool"), ("quote_mint", "pubkey"),
    ("creator_fee_bps", "u64"), ("can_edit_creator_fee", "bool"), ("is_holder_reward", "bool"),
))  # fmt: skip

FEES_LAYOUT: Final = Struct(
    "Fees", (("lp_fee_bps", "u64"), ("protocol_fee_bps", "u64"), ("creator_fee_bps", "u64"))
)
FEE_TIER_LAYOUT: Final = Struct(
    "FeeTier", (("market_cap_lamports_threshold", "u128"), ("fees", ("struct", FEES_LAYOUT)))
)
FEE_CONFIG_LAYOUT: Final = Struct("FeeConfig", (
    ("bump", "u8"), ("admin", "pubkey"), ("flat_fees", ("struct", FEES_LAYOUT)),
    ("fee_tiers", ("vec", FEE_TIER_LAYOUT)), ("stable_fee_tiers", ("vec", FEE_TIER_LAYOUT)),
    ("exotic_flat_fees", ("struct", FEES_LAYOUT)),
))  # fmt: skip

USER_VOLUME_ACCUMULATOR_LAYOUT: Final = Struct("UserVolumeAccumulator", (
    ("user", "pubkey"), ("needs_claim", "bool"), ("total_unclaimed_tokens", "u64"),
    ("total_claimed_tokens", "u64"), ("current_sol_volume", "u64"),
    ("last_update_timestamp", "i64"), ("has_total_claimed_tokens", "bool"),
    ("cashback_earned", "u64"), ("total_cashback_claimed", "u64"),
    ("stable_cashback_earned", "u64"), ("total_stable_cashback_claimed", "u64"),
))  # fmt: skip

GLOBAL_VOLUME_ACCUMULATOR_LAYOUT: Final = Struct("GlobalVolumeAccumulator", (
    ("start_time", "i64"), ("end_time", "i64"), ("seconds_in_a_day", "i64"), ("mint", "pubkey"),
    ("total_token_supply", ("array", "u64", 30)), ("sol_volumes", ("array", "u64", 30)),
))  # fmt: skip

QUOTE_CONTROL_MINT_LAYOUT: Final = Struct("QuoteControlMint", (
    ("mint", "pubkey"), ("initial_virtual_quote_reserves", "u64"),
))  # fmt: skip
QUOTE_CONTROL_LAYOUT: Final = Struct("QuoteControl", (
    ("admin", "pubkey"), ("_reserved", ("array", "u8", 64)),
    ("mints", ("vec", QUOTE_CONTROL_MINT_LAYOUT)),
))  # fmt: skip
SHAREHOLDER_LAYOUT: Final = Struct("Shareholder", (("address", "pubkey"), ("share_bps", "u16")))
# pump_fees.json `SharingConfig`; `status` is the ConfigStatus enum (0 Paused, 1 Active)
SHARING_CONFIG_LAYOUT: Final = Struct("SharingConfig", (
    ("bump", "u8"), ("version", "u8"), ("status", "u8"), ("mint", "pubkey"), ("admin", "pubkey"),
    ("admin_revoked", "bool"), ("shareholders", ("vec", SHAREHOLDER_LAYOUT)),
))  # fmt: skip
SHARING_ACTIVE: Final = 1
MAX_SHAREHOLDERS: Final = 10

ACCOUNT_DISCRIMINATORS: Final = {
    name: discriminator("account", name)
    for name in ("Global", "BondingCurve", "FeeConfig", "UserVolumeAccumulator",
                 "GlobalVolumeAccumulator", "QuoteControl", "SharingConfig")
}  # fmt: skip

GLOBAL_SIZE: Final = 8 + GLOBAL_LAYOUT.size()  # 1087, pump-sdk's GLOBAL_SIZE
BONDING_CURVE_SIZE: Final = 151  # BondingCurve::NEW_SIZE (extended); the fields take 125
FEE_CONFIG_SIZE: Final = 4097  # FeeConfig::CURRENT_SIZE
USER_VOLUME_ACCUMULATOR_SIZE: Final = 137
GLOBAL_VOLUME_ACCUMULATOR_SIZE: Final = 8 + GLOBAL_VOLUME_ACCUMULATOR_LAYOUT.size()


def encode_account(name: str, layout: Struct, values: dict[str, Any], size: int) -> bytes:
    raw = ACCOUNT_DISCRIMINATORS[name] + layout.encode(values)
    if len(raw) > size:
        raise ValueError(f"{name} needs {len(raw)} bytes, more than its {size}")
    return raw + bytes(size - len(raw))


def decode_account(name: str, layout: Struct, data: bytes) -> dict[str, Any] | None:
    """The fields, or None when the data is not that account (wrong discriminator)."""
    if bytes(data[:8]) != ACCOUNT_DISCRIMINATORS[name]:
        return None
    return layout.decode(bytes(data), 8)[0]


# ---- events ----------------------------------------------------------------------------------
CREATE_EVENT_LAYOUT: Final = Struct("CreateEvent", (
    ("name", "string"), ("symbol", "string"), ("uri", "string"), ("mint", "pubkey"),
    ("bonding_curve", "pubkey"), ("user", "pubkey"), ("creator", "pubkey"), ("timestamp", "i64"),
    ("virtual_token_reserves", "u64"), ("virtual_sol_reserves", "u64"),
    ("real_token_reserves", "u64"), ("token_total_supply", "u64"), ("token_program", "pubkey"),
    ("is_mayhem_mode", "bool"), ("is_cashback_enabled", "bool"), ("quote_mint", "pubkey"),
    ("virtual_quote_reserves", "u64"), ("creator_fee_bps", "u64"), ("is_holder_reward", "bool"),
))  # fmt: skip
TRADE_EVENT_LAYOUT: Final = Struct("TradeEvent", (
    ("mint", "pubkey"), ("sol_amount", "u64"), ("token_amount", "u64"), ("is_buy", "bool"),
    ("user", "pubkey"), ("timestamp", "i64"), ("virtual_sol_reserves", "u64"),
    ("virtual_token_reserves", "u64"), ("real_sol_reserves", "u64"),
    ("real_token_reserves", "u64"), ("fee_recipient", "pubkey"), ("fee_basis_points", "u64"),
    ("fee", "u64"), ("creator", "pubkey"), ("creator_fee_basis_points", "u64"),
    ("creator_fee", "u64"), ("track_volume", "bool"), ("total_unclaimed_tokens", "u64"),
    ("total_claimed_tokens", "u64"), ("current_sol_volume", "u64"),
    ("last_update_timestamp", "i64"), ("ix_name", "string"), ("mayhem_mode", "bool"),
    ("cashback_fee_basis_points", "u64"), ("cashback", "u64"),
    ("buyback_fee_basis_points", "u64"), ("buyback_fee", "u64"),
    ("shareholders", ("vec", SHAREHOLDER_LAYOUT)), ("quote_mint", "pubkey"),
    ("quote_amount", "u64"), ("virtual_quote_reserves", "u64"), ("real_quote_reserves", "u64"),
    ("holder_rewards_bps", "u64"), ("holder_rewards", "u64"),
))  # fmt: skip
COMPLETE_EVENT_LAYOUT: Final = Struct("CompleteEvent", (
    ("user", "pubkey"), ("mint", "pubkey"), ("bonding_curve", "pubkey"), ("timestamp", "i64"),
    ("quote_mint", "pubkey"),
))  # fmt: skip
COMPLETE_PUMP_AMM_MIGRATION_EVENT_LAYOUT: Final = Struct("CompletePumpAmmMigrationEvent", (
    ("user", "pubkey"), ("mint", "pubkey"), ("mint_amount", "u64"), ("sol_amount", "u64"),
    ("pool_migration_fee", "u64"), ("bonding_curve", "pubkey"), ("timestamp", "i64"),
    ("pool", "pubkey"), ("quote_mint", "pubkey"),
))  # fmt: skip


def event_log(layout: Struct, values: dict[str, Any]) -> str:
    """The `Program data: <base64>` line Anchor's `emit!` writes."""
    raw = discriminator("event", layout.name) + layout.encode(values)
    return f"Program data: {base64.b64encode(raw).decode()}"


# ---- genesis ---------------------------------------------------------------------------------
# The fee recipients the SDK picks from (bondingCurve.ts CURRENT_FEE_RECIPIENTS and
# CURRENT_FEE_RECIPIENTS_FOR_BUYBACK); Global lists the same keys, as on mainnet.
FEE_RECIPIENTS: Final = tuple(Pubkey.from_string(k) for k in (
    "62qc2CNXwrYqQScmEdiZFFAnJR262PxWEuNQtxfafNgV", "7VtfL8fvgNfhz17qKRMjzQEXgbdpnHHHQRh54R9jP2RJ",
    "7hTckgnGnLQR6sdH7YkqFTAA7VwTfYFaZ6EhEsU3saCX", "9rPYyANsfQZw3DnDmKE3YCQF5E8oD89UXoHn9JFEhJUz",
    "AVmoTthdrX6tKt4nDjco2D775W2YK3sDhxPcMmzUAmTY", "CebN5WGQ4jvEPvsVU4EoHEpgzq1VV7AbicfhtW4xC9iM",
    "FWsW1xNtWscwNmKv6wVsU1iTzRN6wmmk3MjxRP5tT7hz", "G5UZAVbAf46s7cKWoyKu8kYTip9DGTpbLZ2qa9Aq69dP",
))  # fmt: skip
BUYBACK_FEE_RECIPIENTS: Final = tuple(Pubkey.from_string(k) for k in (
    "5YxQFdt3Tr9zJLvkFccqXVUwhdTWJQc1fFg2YPbxvxeD", "9M4giFFMxmFGXtc3feFzRai56WbBqehoSeRE5GK7gf7",
    "GXPFM2caqTtQYC2cJ5yJRi9VDkpsYZXzYdwYpGnLmtDL", "3BpXnfJaUTiwXnJNe7Ej1rcbzqTTQUvLShZaWazebsVR",
    "5cjcW9wExnJJiqgLjq7DEG75Pm6JBgE1hNv4B2vHXUW6", "EHAAiTxcdDwQ3U4bU6YcMsQGaekdzLS3B5SmYo46kJtL",
    "5eHhjP8JaYkz83CWwvGU2uMUXefd3AazWGx4gpcuEEYD", "A7hAgCzFw14fejgCp387JUJRMNyz4j89JKnhtKU8piqW",
))  # fmt: skip
# Mayhem-mode coins pay "reserved" recipients; localnet derives its own (none trade here yet).
RESERVED_FEE_RECIPIENTS: Final = tuple(
    pump_pda(b"localnet-reserved-fee", bytes([i])) for i in range(8)
)
AUTHORITY: Final = pump_pda(b"localnet-global-authority")

INITIAL_VIRTUAL_TOKEN_RESERVES: Final = 1_073_000_000_000_000
INITIAL_VIRTUAL_SOL_RESERVES: Final = 30_000_000_000
INITIAL_REAL_TOKEN_RESERVES: Final = 793_100_000_000_000
TOKEN_TOTAL_SUPPLY: Final = 1_000_000_000_000_000
TOKEN_DECIMALS: Final = 6


def genesis_global() -> dict[str, Any]:
    """Global as localnet starts it: mainnet's reserves, fee rates and recipient lists."""
    return {
        "initialized": True, "authority": AUTHORITY, "fee_recipient": FEE_RECIPIENTS[0],
        "initial_virtual_token_reserves": INITIAL_VIRTUAL_TOKEN_RESERVES,
        "initial_virtual_sol_reserves": INITIAL_VIRTUAL_SOL_RESERVES,
        "initial_real_token_reserves": INITIAL_REAL_TOKEN_RESERVES,
        "token_total_supply": TOKEN_TOTAL_SUPPLY, "fee_basis_points": 95,
        "withdraw_authority": AUTHORITY, "enable_migrate": True,
        "pool_migration_fee": 15_000_001, "creator_fee_basis_points": 5,
        "fee_recipients": list(FEE_RECIPIENTS[1:]), "set_creator_authority": AUTHORITY,
        "admin_set_creator_authority": AUTHORITY, "create_v2_enabled": True,
        "whitelist_pda": ZERO, "reserved_fee_recipient": RESERVED_FEE_RECIPIENTS[0],
        "mayhem_mode_enabled": False, "reserved_fee_recipients": list(RESERVED_FEE_RECIPIENTS[1:]),
        "is_cashback_enabled": False, "buyback_fee_recipients": list(BUYBACK_FEE_RECIPIENTS),
        "buyback_basis_points": 5_000, "initial_virtual_quote_reserves": 4_292_000_000,
        "whitelisted_quote_mints": [USDC_MINT], "creator_fee_configurable": True,
        "max_configurable_creator_fee_bps": 300, "holder_reward_claim_authority": AUTHORITY,
        "is_holder_reward_enabled": True,
    }  # fmt: skip


def _fees(lp: int, protocol: int, creator: int) -> dict[str, int]:
    return {"lp_fee_bps": lp, "protocol_fee_bps": protocol, "creator_fee_bps": creator}


SOL: Final = 1_000_000_000
# Market-cap tiers (lamports): a new curve starts near 28 SOL and completes near 410 SOL, so every
# tier below is reached on a curve's way up.
GENESIS_FEE_TIERS: Final = (
    (0, _fees(0, 95, 30)),
    (50 * SOL, _fees(0, 93, 95)),
    (100 * SOL, _fees(0, 90, 70)),
    (200 * SOL, _fees(0, 85, 50)),
    (300 * SOL, _fees(0, 80, 30)),
)


def genesis_fee_config() -> dict[str, Any]:
    bump = Pubkey.find_program_address([b"fee_config", bytes(PUMP_PROGRAM_ID)], PUMP_FEE_PROGRAM_ID)
    tiers = [{"market_cap_lamports_threshold": t, "fees": f} for t, f in GENESIS_FEE_TIERS]
    return {
        "bump": bump[1], "admin": AUTHORITY, "flat_fees": _fees(25, 5, 0),
        "fee_tiers": tiers, "stable_fee_tiers": tiers, "exotic_flat_fees": _fees(0, 100, 25),
    }  # fmt: skip
