"""pump.fun bonding-curve facts: program ids, PDAs, account layouts and instruction encoders.

Everything here follows `@pump-fun/pump-sdk` 2.0.0 (its `src/idl/pump.json` / `pump_fees.json`,
`pda.ts`, `sdk.ts`); `tests/trading/pumpfun` checks the encoders byte for byte against the SDK's
builders. Accounts are decoded by field, never by length, as the SDK and the program do: a short
account reads its missing trailing fields as zero (`BondingCurve` padded to 125 bytes, `Global` to
1087), a long one ignores the rest; `FeeConfig` reads the layout version its length selects.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import Final

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from sniper_bot.solana.layouts.base import BorshReader
from sniper_bot.solana.pda import associated_token_address
from sniper_bot.solana.programs import (
    ASSOCIATED_TOKEN_PROGRAM_ID,
    PUMP_FEE_PROGRAM_ID,
    PUMP_PROGRAM_ID,
    SYSTEM_PROGRAM_ID,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
)

__all__ = [
    "ASSOCIATED_TOKEN_PROGRAM_ID",
    "BONDING_CURVE_SIZE",
    "BUYBACK_FEE_RECIPIENTS",
    "BUY_DISCRIMINATOR",
    "BUY_EXACT_SOL_IN_DISCRIMINATOR",
    "BUY_V2_DISCRIMINATOR",
    "EVENT_AUTHORITY",
    "FEE_CONFIG",
    "FEE_RECIPIENTS",
    "GLOBAL",
    "GLOBAL_VOLUME_ACCUMULATOR",
    "PUMP_FEE_PROGRAM_ID",
    "PUMP_PROGRAM_ID",
    "SELL_DISCRIMINATOR",
    "SELL_V2_DISCRIMINATOR",
    "STABLE_QUOTE_MINTS",
    "SYSTEM_PROGRAM_ID",
    "TOKEN_2022_PROGRAM_ID",
    "TOKEN_PROGRAM_ID",
    "TRADE_DISCRIMINATORS",
    "WSOL_2022_MINT",
    "WSOL_MINT",
    "BondingCurve",
    "FeeConfig",
    "FeeTier",
    "Fees",
    "Global",
    "LayoutError",
    "associated_token_address",
    "bonding_curve_address",
    "bonding_curve_v2_address",
    "buy_instruction",
    "buy_v2_instruction",
    "creator_vault_address",
    "decode_bonding_curve",
    "decode_fee_config",
    "decode_global",
    "is_legacy_quote_mint",
    "sell_instruction",
    "sell_v2_instruction",
    "sharing_config_address",
    "user_volume_accumulator_address",
]

# The pump.fun, fee and standard program ids are solana.programs', the ATA derivation
# solana.pda's (both re-exported here).
WSOL_MINT: Final = Pubkey.from_string("So11111111111111111111111111111111111111112")
WSOL_2022_MINT: Final = Pubkey.from_string("9pan9bMn5HatX4EJdBwg9VgCa7Uz5HL8N1m5D3NdXejP")
# pump_fees::state::STABLE_QUOTE_MINTS (mainnet USDC): they pay `stable_fee_tiers`.
STABLE_QUOTE_MINTS: Final = frozenset(
    {Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")}
)
_ZERO: Final = Pubkey.default()

BONDING_CURVE_SIZE: Final = 125  # every field the IDL declares, discriminator included
_BONDING_CURVE_INITIALIZE_SIZE: Final = 49  # the program rejects anything shorter
_GLOBAL_SIZE: Final = 1087
_FEE_CONFIG_INITIALIZE_SIZE: Final = 2512
_FEE_CONFIG_POST_STABLE_SIZE: Final = 4073
_FEE_CONFIG_CURRENT_SIZE: Final = 4097
_MAX_FEE_TIERS: Final = 50

# bondingCurve.ts CURRENT_FEE_RECIPIENTS / CURRENT_FEE_RECIPIENTS_FOR_BUYBACK (the SDK's static
# lists; Global carries the same keys on mainnet and is what the venue picks from).
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


class LayoutError(ValueError):
    """Account data that is not the account it claims to be (discriminator, length, vectors)."""


def _disc(namespace: str, name: str) -> bytes:
    return hashlib.sha256(f"{namespace}:{name}".encode()).digest()[:8]


BUY_DISCRIMINATOR: Final = _disc("global", "buy")
SELL_DISCRIMINATOR: Final = _disc("global", "sell")
BUY_V2_DISCRIMINATOR: Final = _disc("global", "buy_v2")
SELL_V2_DISCRIMINATOR: Final = _disc("global", "sell_v2")
BUY_EXACT_SOL_IN_DISCRIMINATOR: Final = _disc("global", "buy_exact_sol_in")
TRADE_DISCRIMINATORS: Final = frozenset(
    {BUY_DISCRIMINATOR, SELL_DISCRIMINATOR, BUY_V2_DISCRIMINATOR, SELL_V2_DISCRIMINATOR,
     BUY_EXACT_SOL_IN_DISCRIMINATOR}
)  # fmt: skip
_GLOBAL_DISC: Final = _disc("account", "Global")
_CURVE_DISC: Final = _disc("account", "BondingCurve")
_FEE_CONFIG_DISC: Final = _disc("account", "FeeConfig")


# ---- PDAs ------------------------------------------------------------------------------------
def _pump_pda(*seeds: bytes) -> Pubkey:
    return Pubkey.find_program_address(list(seeds), PUMP_PROGRAM_ID)[0]


def _fee_pda(*seeds: bytes) -> Pubkey:
    return Pubkey.find_program_address(list(seeds), PUMP_FEE_PROGRAM_ID)[0]


GLOBAL: Final = _pump_pda(b"global")
EVENT_AUTHORITY: Final = _pump_pda(b"__event_authority")
GLOBAL_VOLUME_ACCUMULATOR: Final = _pump_pda(b"global_volume_accumulator")
FEE_CONFIG: Final = _fee_pda(b"fee_config", bytes(PUMP_PROGRAM_ID))


def bonding_curve_address(mint: Pubkey) -> Pubkey:
    return _pump_pda(b"bonding-curve", bytes(mint))


def bonding_curve_v2_address(mint: Pubkey) -> Pubkey:
    return _pump_pda(b"bonding-curve-v2", bytes(mint))


def creator_vault_address(creator: Pubkey) -> Pubkey:
    """`["creator-vault", creator]` (hyphen; PumpSwap's `creator_vault` is another PDA)."""
    return _pump_pda(b"creator-vault", bytes(creator))


def user_volume_accumulator_address(user: Pubkey) -> Pubkey:
    return _pump_pda(b"user_volume_accumulator", bytes(user))


def sharing_config_address(mint: Pubkey) -> Pubkey:
    return _fee_pda(b"sharing-config", bytes(mint))


def is_legacy_quote_mint(quote_mint: Pubkey) -> bool:
    """SOL-quoted: curves store the zero key, builders pass WSOL (pda.ts `isLegacyQuoteMint`)."""
    return quote_mint in (WSOL_MINT, _ZERO)


# ---- accounts --------------------------------------------------------------------------------
def _reader(data: bytes) -> BorshReader:
    return BorshReader(data, error=LayoutError)


def _padded(data: bytes, size: int) -> bytes:
    return data if len(data) >= size else data + bytes(size - len(data))


def _check_disc(data: bytes, disc: bytes, name: str) -> None:
    if bytes(data[:8]) != disc:
        raise LayoutError(f"not a pump {name} account (discriminator)")


@dataclass(frozen=True, slots=True)
class Fees:
    lp_fee_bps: int
    protocol_fee_bps: int
    creator_fee_bps: int

    @property
    def is_zero(self) -> bool:
        return not (self.lp_fee_bps or self.protocol_fee_bps or self.creator_fee_bps)


@dataclass(frozen=True, slots=True)
class FeeTier:
    market_cap_lamports_threshold: int
    fees: Fees


@dataclass(frozen=True, slots=True)
class FeeConfig:
    """pump-fees `FeeConfig` (PDA `["fee_config", pump program]` under the fee program)."""

    flat_fees: Fees
    fee_tiers: tuple[FeeTier, ...]
    stable_fee_tiers: tuple[FeeTier, ...]
    exotic_flat_fees: Fees


@dataclass(frozen=True, slots=True)
class Global:
    """The fields of pump's `Global` a trade needs (fee rates, recipients, curve genesis)."""

    fee_recipient: Pubkey
    initial_virtual_token_reserves: int
    initial_virtual_sol_reserves: int
    initial_real_token_reserves: int
    token_total_supply: int
    fee_basis_points: int
    creator_fee_basis_points: int
    fee_recipients: tuple[Pubkey, ...]
    reserved_fee_recipient: Pubkey
    mayhem_mode_enabled: bool
    reserved_fee_recipients: tuple[Pubkey, ...]
    buyback_fee_recipients: tuple[Pubkey, ...]
    buyback_basis_points: int
    initial_virtual_quote_reserves: int
    whitelisted_quote_mints: tuple[Pubkey, ...]
    creator_fee_configurable: bool

    def fee_recipients_for(self, mayhem: bool) -> tuple[Pubkey, ...]:
        """Whom a trade may pay its protocol fee (fees.ts `getFeeRecipient`)."""
        if mayhem:
            return (self.reserved_fee_recipient, *self.reserved_fee_recipients)
        return (self.fee_recipient, *self.fee_recipients)


@dataclass(frozen=True, slots=True)
class BondingCurve:
    virtual_token_reserves: int
    virtual_quote_reserves: int
    real_token_reserves: int
    real_quote_reserves: int
    token_total_supply: int
    complete: bool
    creator: Pubkey
    is_mayhem_mode: bool
    is_cashback_coin: bool
    quote_mint: Pubkey  # the zero key for SOL curves
    creator_fee_bps: int
    can_edit_creator_fee: bool
    is_holder_reward: bool

    @property
    def is_sol_quoted(self) -> bool:
        return is_legacy_quote_mint(self.quote_mint)

    @property
    def has_creator(self) -> bool:
        return self.creator != _ZERO


def decode_global(data: bytes) -> Global:
    _check_disc(data, _GLOBAL_DISC, "Global")
    r = _reader(_padded(bytes(data), _GLOBAL_SIZE))
    r.boolean()  # initialized
    r.pubkey()  # authority
    fee_recipient = r.pubkey()
    ivt, ivs, irt, supply, fee_bps = r.u64(), r.u64(), r.u64(), r.u64(), r.u64()
    r.pubkey()  # withdraw_authority
    r.boolean()  # enable_migrate
    r.u64()  # pool_migration_fee
    creator_fee_bps = r.u64()
    fee_recipients = r.pubkeys(7)
    r.pubkeys(2)  # set_creator_authority, admin_set_creator_authority
    r.boolean()  # create_v2_enabled
    r.pubkey()  # whitelist_pda
    reserved = r.pubkey()
    mayhem = r.boolean()
    reserved_list = r.pubkeys(7)
    r.boolean()  # is_cashback_enabled
    buyback_list = r.pubkeys(8)
    buyback_bps, ivq = r.u64(), r.u64()
    whitelisted = r.pubkeys(1)
    configurable = r.boolean()
    return Global(
        fee_recipient, ivt, ivs, irt, supply, fee_bps, creator_fee_bps, fee_recipients, reserved,
        mayhem, reserved_list, buyback_list, buyback_bps, ivq, whitelisted, configurable,
    )  # fmt: skip


def decode_bonding_curve(data: bytes) -> BondingCurve:
    _check_disc(data, _CURVE_DISC, "BondingCurve")
    if len(data) < _BONDING_CURVE_INITIALIZE_SIZE:
        raise LayoutError(f"BondingCurve of {len(data)} bytes is shorter than any layout")
    r = _reader(_padded(bytes(data), BONDING_CURVE_SIZE))
    return BondingCurve(
        virtual_token_reserves=r.u64(), virtual_quote_reserves=r.u64(),
        real_token_reserves=r.u64(), real_quote_reserves=r.u64(), token_total_supply=r.u64(),
        complete=r.boolean(), creator=r.pubkey(), is_mayhem_mode=r.boolean(),
        is_cashback_coin=r.boolean(), quote_mint=r.pubkey(), creator_fee_bps=r.u64(),
        can_edit_creator_fee=r.boolean(), is_holder_reward=r.boolean(),
    )  # fmt: skip


def _fees(r: BorshReader) -> Fees:
    return Fees(r.u64(), r.u64(), r.u64())


def _tiers(r: BorshReader) -> tuple[FeeTier, ...]:
    count = r.u32()
    if count > _MAX_FEE_TIERS or r.pos + count * 40 > len(r.data):
        raise LayoutError(f"FeeConfig declares {count} fee tiers")
    return tuple(FeeTier(r.u128(), _fees(r)) for _ in range(count))


def decode_fee_config(data: bytes) -> FeeConfig:
    """`FeeConfig::deserialize_versioned`: the length selects the layout version (sdk.ts)."""
    data = bytes(data)
    _check_disc(data, _FEE_CONFIG_DISC, "FeeConfig")
    if len(data) < _FEE_CONFIG_INITIALIZE_SIZE:
        raise LayoutError(f"FeeConfig of {len(data)} bytes is shorter than any layout")
    r = _reader(data)
    r.u8()  # bump
    r.pubkey()  # admin
    flat = _fees(r)
    tiers = _tiers(r)
    stable: tuple[FeeTier, ...] = ()
    exotic = Fees(0, 0, 0)
    if len(data) >= _FEE_CONFIG_POST_STABLE_SIZE:
        stable = _tiers(r)
        if len(data) >= _FEE_CONFIG_CURRENT_SIZE:
            exotic = _fees(r)
    return FeeConfig(flat, tiers, stable, exotic)


# ---- instructions ----------------------------------------------------------------------------
def _ro(key: Pubkey) -> AccountMeta:
    return AccountMeta(key, False, False)


def _w(key: Pubkey) -> AccountMeta:
    return AccountMeta(key, False, True)


def _v2_accounts(
    *, buy: bool, user: Pubkey, mint: Pubkey, creator: Pubkey, fee_recipient: Pubkey,
    buyback_fee_recipient: Pubkey, token_program: Pubkey, quote_mint: Pubkey,
    quote_token_program: Pubkey,
) -> list[AccountMeta]:  # fmt: skip
    curve = bonding_curve_address(mint)
    vault = creator_vault_address(creator)
    uva = user_volume_accumulator_address(user)

    def quote_ata(owner: Pubkey) -> Pubkey:
        return associated_token_address(owner, quote_mint, quote_token_program)

    metas = [
        _ro(GLOBAL), _ro(mint), _ro(quote_mint), _ro(token_program), _ro(quote_token_program),
        _ro(ASSOCIATED_TOKEN_PROGRAM_ID), _w(fee_recipient), _w(quote_ata(fee_recipient)),
        _w(buyback_fee_recipient), _w(quote_ata(buyback_fee_recipient)), _w(curve),
        _w(associated_token_address(curve, mint, token_program)), _w(quote_ata(curve)),
        AccountMeta(user, True, True), _w(associated_token_address(user, mint, token_program)),
        _w(quote_ata(user)), _w(vault), _w(quote_ata(vault)), _ro(sharing_config_address(mint)),
    ]  # fmt: skip
    if buy:
        metas.append(_ro(GLOBAL_VOLUME_ACCUMULATOR))
    metas += [
        _w(uva), _w(quote_ata(uva)), _ro(FEE_CONFIG), _ro(PUMP_FEE_PROGRAM_ID),
        _ro(SYSTEM_PROGRAM_ID), _ro(EVENT_AUTHORITY), _ro(PUMP_PROGRAM_ID),
    ]  # fmt: skip
    return metas


def buy_v2_instruction(
    *, user: Pubkey, mint: Pubkey, creator: Pubkey, amount: int, max_sol_cost: int,
    fee_recipient: Pubkey, buyback_fee_recipient: Pubkey,
    token_program: Pubkey = TOKEN_2022_PROGRAM_ID, quote_mint: Pubkey = WSOL_MINT,
    quote_token_program: Pubkey = TOKEN_PROGRAM_ID,
) -> Instruction:  # fmt: skip
    """`buy_v2(amount tokens, max_sol_cost)`: sdk.ts `getBuyV2InstructionRaw` (27 accounts).

    ``creator`` must be the curve's (or the CreateEvent's) creator: the program derives the
    creator vault from the curve account and refuses another with 2006 ConstraintSeeds."""
    metas = _v2_accounts(
        buy=True, user=user, mint=mint, creator=creator, fee_recipient=fee_recipient,
        buyback_fee_recipient=buyback_fee_recipient, token_program=token_program,
        quote_mint=quote_mint, quote_token_program=quote_token_program,
    )  # fmt: skip
    data = BUY_V2_DISCRIMINATOR + struct.pack("<QQ", amount, max_sol_cost)
    return Instruction(PUMP_PROGRAM_ID, data, metas)


def sell_v2_instruction(
    *, user: Pubkey, mint: Pubkey, creator: Pubkey, amount: int, min_sol_output: int,
    fee_recipient: Pubkey, buyback_fee_recipient: Pubkey,
    token_program: Pubkey = TOKEN_2022_PROGRAM_ID, quote_mint: Pubkey = WSOL_MINT,
    quote_token_program: Pubkey = TOKEN_PROGRAM_ID,
) -> Instruction:  # fmt: skip
    """`sell_v2(amount tokens, min_sol_output)`: sdk.ts `getSellV2InstructionRaw` (26 accounts)."""
    metas = _v2_accounts(
        buy=False, user=user, mint=mint, creator=creator, fee_recipient=fee_recipient,
        buyback_fee_recipient=buyback_fee_recipient, token_program=token_program,
        quote_mint=quote_mint, quote_token_program=quote_token_program,
    )  # fmt: skip
    data = SELL_V2_DISCRIMINATOR + struct.pack("<QQ", amount, min_sol_output)
    return Instruction(PUMP_PROGRAM_ID, data, metas)


def buy_instruction(
    *, user: Pubkey, mint: Pubkey, creator: Pubkey, amount: int, max_sol_cost: int,
    fee_recipient: Pubkey, buyback_fee_recipient: Pubkey, token_program: Pubkey = TOKEN_PROGRAM_ID,
    track_volume: bool = True,
) -> Instruction:  # fmt: skip
    """Legacy `buy` (SOL curves only): sdk.ts `getBuyInstructionRaw`, with the
    `bonding-curve-v2` and buyback remaining accounts the program requires since 2026."""
    curve = bonding_curve_address(mint)
    metas = [
        _ro(GLOBAL), _w(fee_recipient), _ro(mint), _w(curve),
        _w(associated_token_address(curve, mint, token_program)),
        _w(associated_token_address(user, mint, token_program)), AccountMeta(user, True, True),
        _ro(SYSTEM_PROGRAM_ID), _ro(token_program), _w(creator_vault_address(creator)),
        _ro(EVENT_AUTHORITY), _ro(PUMP_PROGRAM_ID), _ro(GLOBAL_VOLUME_ACCUMULATOR),
        _w(user_volume_accumulator_address(user)), _ro(FEE_CONFIG), _ro(PUMP_FEE_PROGRAM_ID),
        _ro(bonding_curve_v2_address(mint)), _w(buyback_fee_recipient),
    ]  # fmt: skip
    data = BUY_DISCRIMINATOR + struct.pack("<QQ?", amount, max_sol_cost, track_volume)
    return Instruction(PUMP_PROGRAM_ID, data, metas)


def sell_instruction(
    *, user: Pubkey, mint: Pubkey, creator: Pubkey, amount: int, min_sol_output: int,
    fee_recipient: Pubkey, buyback_fee_recipient: Pubkey, token_program: Pubkey = TOKEN_PROGRAM_ID,
    cashback: bool = False,
) -> Instruction:  # fmt: skip
    """Legacy `sell`: sdk.ts `getSellInstructionRaw` (a cashback coin adds the user's volume
    accumulator before the fixed remaining accounts)."""
    curve = bonding_curve_address(mint)
    metas = [
        _ro(GLOBAL), _w(fee_recipient), _ro(mint), _w(curve),
        _w(associated_token_address(curve, mint, token_program)),
        _w(associated_token_address(user, mint, token_program)), AccountMeta(user, True, True),
        _ro(SYSTEM_PROGRAM_ID), _w(creator_vault_address(creator)), _ro(token_program),
        _ro(EVENT_AUTHORITY), _ro(PUMP_PROGRAM_ID), _ro(FEE_CONFIG), _ro(PUMP_FEE_PROGRAM_ID),
    ]  # fmt: skip
    if cashback:
        metas.append(_w(user_volume_accumulator_address(user)))
    metas += [_ro(bonding_curve_v2_address(mint)), _w(buyback_fee_recipient)]
    data = SELL_DISCRIMINATOR + struct.pack("<QQ", amount, min_sol_output)
    return Instruction(PUMP_PROGRAM_ID, data, metas)
