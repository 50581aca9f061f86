"""PumpSwap (the pump AMM, ``pAMMBa...``) on the wire: ids, PDAs, account layouts, the pricing
math and the instruction encoders, as the official ``@pump-fun/pump-swap-sdk`` 1.20.0 has them
(``src/sdk/pda.ts``, ``buy.ts``, ``sell.ts``, ``fees.ts``, ``offlinePumpAmm.ts``,
``idl/pump_amm.json``; tests/trading/pumpswap compares every builder and every quote to the
SDK's, byte for byte).

Seeds: pool ``["pool", index u16 LE, creator, base_mint, quote_mint]``; the canonical pool of a
graduated pump coin is index 0 created by pump's ``["pool-authority", mint]`` and quoted in WSOL
(the SDK's ``canonicalPumpPoolPda``); ``["pool-v2", base_mint]`` (remaining account of every trade
on a pool with a coin creator; without it the program reports a misleading Overflow, 6023);
coin-creator vault ``["creator_vault", coin_creator]`` (underscore: not pump's ``creator-vault``);
``fee_config`` is ``["fee_config", pAMM]`` under the pump fee program.

Prices are on *effective* reserves: the base vault's balance, and the quote vault's balance plus
the pool's signed ``virtual_quote_reserves`` (ignoring them misprices by about 10 %). Fees are
chosen from the fee program's ``FeeConfig`` (canonical pump pools by market cap, any other pool
flat); every fee is ``ceil(amount * bps / 10 000)``. Slippage follows the SDK: its factor is
``floor((1 ± pct / 100) * 1e9)`` in IEEE doubles (``pct = bps / 100``), reproduced bit for bit so
limits equal the SDK's (an exact integer factor differs in the last of 9 digits for 877 of the
10 001 bps values).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer

from sniper_bot.solana import programs as ids
from sniper_bot.solana.layouts.base import BorshReader
from sniper_bot.solana.pda import associated_token_address

__all__ = [
    "BUY_DISCRIMINATOR",
    "BUY_EXACT_QUOTE_IN_DISCRIMINATOR",
    "ERROR_NAMES",
    "EVENT_AUTHORITY",
    "FEE_CONFIG",
    "GLOBAL_CONFIG",
    "GLOBAL_VOLUME_ACCUMULATOR",
    "NATIVE_MINT",
    "NATIVE_MINT_2022",
    "POOL_ACCOUNT_NEW_SIZE",
    "PUMP_AMM_PROGRAM_ID",
    "PUMP_FEE_PROGRAM_ID",
    "PUMP_PROGRAM_ID",
    "SELL_DISCRIMINATOR",
    "USDC_MINT",
    "BuyBaseResult",
    "BuyQuoteResult",
    "FeeConfig",
    "FeeTier",
    "Fees",
    "GlobalConfig",
    "LayoutError",
    "Pool",
    "QuoteError",
    "SellBaseResult",
    "SwapAccounts",
    "SwapKind",
    "associated_token_address",
    "buy_base_input",
    "buy_exact_quote_in_instruction",
    "buy_instruction",
    "buy_quote_input",
    "canonical_pool_address",
    "coin_creator_vault_ata",
    "coin_creator_vault_authority",
    "compute_fees_bps",
    "create_ata_idempotent",
    "decode_fee_config",
    "decode_global_config",
    "decode_pool",
    "extend_account_instruction",
    "fee",
    "mint_supply",
    "pool_address",
    "pool_v2_address",
    "pump_pool_authority",
    "sell_base_input",
    "sell_instruction",
    "slippage_factor",
    "swap_accounts",
    "swap_instructions",
    "token_account_amount",
    "user_volume_accumulator",
]

# solana.programs owns the program ids, solana.pda the ATA derivation (re-exported here)
PUMP_AMM_PROGRAM_ID: Final = ids.PUMP_AMM_PROGRAM_ID
PUMP_PROGRAM_ID: Final = ids.PUMP_PROGRAM_ID
PUMP_FEE_PROGRAM_ID: Final = ids.PUMP_FEE_PROGRAM_ID
NATIVE_MINT: Final = Pubkey.from_string("So11111111111111111111111111111111111111112")
NATIVE_MINT_2022: Final = Pubkey.from_string("9pan9bMn5HatX4EJdBwg9VgCa7Uz5HL8N1m5D3NdXejP")
USDC_MINT: Final = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
_ZERO: Final = Pubkey.default()
_SYSTEM: Final = ids.SYSTEM_PROGRAM_ID
_TOKEN: Final = ids.TOKEN_PROGRAM_ID
_ATA: Final = ids.ASSOCIATED_TOKEN_PROGRAM_ID

SwapKind = Literal["buy", "buy_exact_quote_in", "sell"]
CANONICAL_POOL_INDEX: Final = 0
POOL_ACCOUNT_NEW_SIZE: Final = 300  # pools shorter than this get `extend_account` first (SDK)
_POOL_DECODE_SIZE: Final = 271
_GLOBAL_CONFIG_SIZE: Final = 949
FEE_CONFIG_SIZE_PRE_STABLE: Final = 2512
FEE_CONFIG_SIZE_POST_STABLE: Final = 4073
FEE_CONFIG_SIZE_POST_EXOTIC: Final = 4097
_PRECISION: Final = 1_000_000_000
_BPS: Final = 10_000

# sha256("account:<Name>")[:8] / sha256("global:<ix>")[:8], as in pump_amm.json
POOL_DISCRIMINATOR: Final = bytes([241, 154, 109, 4, 17, 177, 109, 188])
GLOBAL_CONFIG_DISCRIMINATOR: Final = bytes([149, 8, 156, 202, 160, 252, 176, 217])
FEE_CONFIG_DISCRIMINATOR: Final = bytes([143, 52, 146, 187, 219, 123, 76, 155])
BUY_DISCRIMINATOR: Final = bytes([102, 6, 61, 18, 1, 218, 235, 234])
SELL_DISCRIMINATOR: Final = bytes([51, 230, 133, 164, 1, 127, 131, 173])
BUY_EXACT_QUOTE_IN_DISCRIMINATOR: Final = bytes([198, 46, 21, 82, 180, 217, 232, 112])
EXTEND_ACCOUNT_DISCRIMINATOR: Final = bytes([234, 102, 194, 203, 150, 72, 62, 229])

# pump_amm.json "errors" (the ones a trade can meet; the rest are admin/liquidity paths)
ERROR_NAMES: Final[dict[int, str]] = {
    6000: "FeeBasisPointsExceedsMaximum", 6001: "ZeroBaseAmount", 6002: "ZeroQuoteAmount",
    6003: "TooLittlePoolTokenLiquidity", 6004: "ExceededSlippage", 6008: "InvalidBaseMint",
    6009: "InvalidQuoteMint", 6013: "InvalidProtocolFeeRecipient",
    6014: "InvalidPoolBaseTokenAccount", 6015: "InvalidPoolQuoteTokenAccount",
    6016: "BuyMoreBaseAmountThanPoolReserves", 6020: "DisabledBuy", 6021: "DisabledSell",
    6023: "Overflow", 6024: "Truncation", 6025: "DivisionByZero",
    6039: "BuyNotEnoughQuoteTokensToCoverFees", 6040: "BuySlippageBelowMinBaseAmountOut",
    6044: "NotEnoughRemainingAccounts", 6053: "BuybackFeeRecipientNotAuthorized",
    6057: "WrongBuybackFeeRecipientsCount", 6058: "BuybackFeeRecipientMissing",
    6059: "MissingCashbackAccounts", 6060: "InvalidCashbackAccumulator",
    6061: "InvalidCashbackAccumulatorAta", 6062: "InvalidPoolV2",
    6063: "InsufficientRealQuoteReserves",
}  # fmt: skip


class LayoutError(ValueError):
    """Account data that is not the PumpSwap account it should be (discriminator, length)."""


class QuoteError(ValueError):
    """The SDK's math refuses this input (zero reserves, more than the pool holds...)."""


# ---- addresses -------------------------------------------------------------------------------
def _pda(program: Pubkey, *seeds: bytes) -> Pubkey:
    return Pubkey.find_program_address(list(seeds), program)[0]


GLOBAL_CONFIG: Final = _pda(PUMP_AMM_PROGRAM_ID, b"global_config")
EVENT_AUTHORITY: Final = _pda(PUMP_AMM_PROGRAM_ID, b"__event_authority")
GLOBAL_VOLUME_ACCUMULATOR: Final = _pda(PUMP_AMM_PROGRAM_ID, b"global_volume_accumulator")
FEE_CONFIG: Final = _pda(PUMP_FEE_PROGRAM_ID, b"fee_config", bytes(PUMP_AMM_PROGRAM_ID))


def pool_address(index: int, creator: Pubkey, base_mint: Pubkey, quote_mint: Pubkey) -> Pubkey:
    return _pda(PUMP_AMM_PROGRAM_ID, b"pool", struct.pack("<H", index), bytes(creator),
                bytes(base_mint), bytes(quote_mint))  # fmt: skip


def pump_pool_authority(mint: Pubkey) -> Pubkey:
    """pump's ``["pool-authority", mint]``: the creator of a graduated coin's canonical pool."""
    return _pda(PUMP_PROGRAM_ID, b"pool-authority", bytes(mint))


def canonical_pool_address(mint: Pubkey, quote_mint: Pubkey = NATIVE_MINT) -> Pubkey:
    """``canonicalPumpPoolPda``: a SOL curve stores the zero key, its pool is quoted in WSOL."""
    quote = NATIVE_MINT if quote_mint == _ZERO else quote_mint
    return pool_address(CANONICAL_POOL_INDEX, pump_pool_authority(mint), mint, quote)


def pool_v2_address(base_mint: Pubkey) -> Pubkey:
    return _pda(PUMP_AMM_PROGRAM_ID, b"pool-v2", bytes(base_mint))


def coin_creator_vault_authority(coin_creator: Pubkey) -> Pubkey:
    return _pda(PUMP_AMM_PROGRAM_ID, b"creator_vault", bytes(coin_creator))


def coin_creator_vault_ata(
    coin_creator: Pubkey, quote_mint: Pubkey, quote_program: Pubkey
) -> Pubkey:
    return associated_token_address(
        coin_creator_vault_authority(coin_creator), quote_mint, quote_program
    )


def user_volume_accumulator(user: Pubkey) -> Pubkey:
    return _pda(PUMP_AMM_PROGRAM_ID, b"user_volume_accumulator", bytes(user))


# ---- accounts --------------------------------------------------------------------------------
def _reader(data: bytes) -> BorshReader:
    return BorshReader(data, error=LayoutError, short="account data ends at {have}, needs {need}")


def _checked(data: bytes, discriminator: bytes, name: str, pad_to: int) -> bytes:
    raw = bytes(data)
    if raw[:8] != discriminator:
        raise LayoutError(f"not a PumpSwap {name} account (discriminator {raw[:8].hex()})")
    return raw if len(raw) >= pad_to else raw + bytes(pad_to - len(raw))


@dataclass(frozen=True, slots=True)
class Fees:
    lp_bps: int
    protocol_bps: int
    creator_bps: int

    @property
    def total_bps(self) -> int:
        return self.lp_bps + self.protocol_bps + self.creator_bps


@dataclass(frozen=True, slots=True)
class FeeTier:
    market_cap_lamports_threshold: int
    fees: Fees


@dataclass(frozen=True, slots=True)
class FeeConfig:
    """The pump fee program's ``FeeConfig`` for the AMM (``["fee_config", pAMM]``)."""

    admin: Pubkey
    flat_fees: Fees
    fee_tiers: tuple[FeeTier, ...]
    stable_fee_tiers: tuple[FeeTier, ...]
    exotic_flat_fees: Fees


@dataclass(frozen=True, slots=True)
class GlobalConfig:
    admin: Pubkey
    lp_fee_bps: int
    protocol_fee_bps: int
    disable_flags: int
    protocol_fee_recipients: tuple[Pubkey, ...]
    coin_creator_fee_bps: int
    reserved_fee_recipient: Pubkey
    mayhem_mode_enabled: bool
    reserved_fee_recipients: tuple[Pubkey, ...]
    is_cashback_enabled: bool
    buyback_fee_recipients: tuple[Pubkey, ...]
    buyback_bps: int
    creator_fee_configurable: bool
    max_configurable_creator_fee_bps: int

    def fee_recipients(self, mayhem: bool) -> tuple[Pubkey, ...]:
        """Who may receive the protocol fee of a pool (``getFeeRecipient``'s choice set)."""
        if mayhem:
            return (self.reserved_fee_recipient, *self.reserved_fee_recipients)
        return self.protocol_fee_recipients


@dataclass(frozen=True, slots=True)
class Pool:
    """A ``Pool`` account; older, shorter accounts read their missing tail as 0 / false (SDK)."""

    pool_bump: int
    index: int
    creator: Pubkey
    base_mint: Pubkey
    quote_mint: Pubkey
    lp_mint: Pubkey
    pool_base_token_account: Pubkey
    pool_quote_token_account: Pubkey
    lp_supply: int
    coin_creator: Pubkey
    is_mayhem_mode: bool
    is_cashback_coin: bool
    virtual_quote_reserves: int  # i128: positive or negative
    creator_fee_bps: int
    can_edit_creator_fee: bool
    is_holder_reward: bool
    data_len: int

    @property
    def has_coin_creator(self) -> bool:
        return self.coin_creator != _ZERO

    @property
    def is_pump_pool(self) -> bool:
        return self.creator == pump_pool_authority(self.base_mint)


def _fees(r: BorshReader) -> Fees:
    return Fees(r.u64(), r.u64(), r.u64())


def _tiers(r: BorshReader) -> tuple[FeeTier, ...]:
    return tuple(FeeTier(r.u128(), _fees(r)) for _ in range(r.u32()))


def decode_pool(data: bytes) -> Pool:
    r = _reader(_checked(data, POOL_DISCRIMINATOR, "Pool", _POOL_DECODE_SIZE))
    return Pool(
        r.u8(), r.u16(), r.pubkey(), r.pubkey(), r.pubkey(), r.pubkey(), r.pubkey(), r.pubkey(),
        r.u64(), r.pubkey(), r.boolean(), r.boolean(), r.i128(), r.u64(), r.boolean(),
        r.boolean(), len(data),
    )  # fmt: skip


def decode_global_config(data: bytes) -> GlobalConfig:
    r = _reader(_checked(data, GLOBAL_CONFIG_DISCRIMINATOR, "GlobalConfig", _GLOBAL_CONFIG_SIZE))
    admin, lp, protocol, flags = r.pubkey(), r.u64(), r.u64(), r.u8()
    recipients, creator_bps = r.pubkeys(8), r.u64()
    r.pubkey(), r.pubkey()  # admin_set_coin_creator_authority, whitelist_pda
    reserved, mayhem, reserved_list = r.pubkey(), r.boolean(), r.pubkeys(7)
    cashback, buyback, buyback_bps = r.boolean(), r.pubkeys(8), r.u64()
    r.pubkey(), r.boolean()  # boost_authority, boost_enabled
    configurable, max_creator = r.boolean(), r.u64()
    return GlobalConfig(admin, lp, protocol, flags, recipients, creator_bps, reserved, mayhem,
                        reserved_list, cashback, buyback, buyback_bps, configurable,
                        max_creator)  # fmt: skip


def decode_fee_config(data: bytes) -> FeeConfig:
    """Versioned by length like the program (``FeeConfig::deserialize_versioned``): an account
    shorter than the stable / exotic versions has no stable tiers / exotic fees."""
    raw = bytes(data)
    if raw[:8] != FEE_CONFIG_DISCRIMINATOR:
        raise LayoutError("not a pump fee program FeeConfig account")
    if len(raw) < FEE_CONFIG_SIZE_PRE_STABLE:
        raise LayoutError(
            f"FeeConfig is {len(raw)} bytes; expected >= {FEE_CONFIG_SIZE_PRE_STABLE}"
        )
    r = _reader(raw)
    r.u8()  # bump
    admin, flat, tiers = r.pubkey(), _fees(r), _tiers(r)
    stable = _tiers(r) if len(raw) >= FEE_CONFIG_SIZE_POST_STABLE else ()
    exotic = _fees(r) if len(raw) >= FEE_CONFIG_SIZE_POST_EXOTIC else Fees(0, 0, 0)
    return FeeConfig(admin, flat, tiers, stable, exotic)


def token_account_amount(data: bytes) -> int:
    if len(data) < 72:
        raise LayoutError("not a token account (shorter than 72 bytes)")
    return int.from_bytes(bytes(data[64:72]), "little")


def mint_supply(data: bytes) -> int:
    if len(data) < 45:
        raise LayoutError("not a mint account (shorter than 45 bytes)")
    return int.from_bytes(bytes(data[36:44]), "little")


# ---- math (buy.ts / sell.ts / fees.ts / util.ts) ------------------------------------------------
def _ceil_div(a: int, b: int) -> int:
    if b == 0:
        raise QuoteError("Cannot divide by zero.")
    return (a + b - 1) // b


def fee(amount: int, bps: int) -> int:
    return _ceil_div(amount * bps, _BPS)


_TOTAL_TOKEN_SUPPLY: Final = 1_000_000_000_000_000  # mayhem pools' market-cap basis
_SOL_LIKE: Final = frozenset({_ZERO, NATIVE_MINT, NATIVE_MINT_2022})
_STABLE: Final = frozenset({USDC_MINT})


def _fee_tier(tiers: Sequence[FeeTier], market_cap: int) -> Fees:
    if not tiers:
        raise QuoteError("Fee tiers cannot be empty.")
    if market_cap < tiers[0].market_cap_lamports_threshold:
        return tiers[0].fees
    for tier in reversed(tiers):
        if market_cap >= tier.market_cap_lamports_threshold:
            return tier.fees
    return tiers[0].fees


def compute_fees_bps(
    global_config: GlobalConfig,
    fee_config: FeeConfig | None,
    pool: Pool,
    base_mint_supply: int,
    base_reserve: int,
    effective_quote_reserve: int,
) -> Fees:
    """``computeFeesBps``: the schedule's rates (the creator rate even without a coin creator;
    the quote functions drop it then, as the SDK's do)."""
    if fee_config is None:
        return Fees(global_config.lp_fee_bps, global_config.protocol_fee_bps,
                    global_config.coin_creator_fee_bps)  # fmt: skip
    if base_reserve == 0:
        raise QuoteError("Division by zero: pool base token reserves cannot be zero")
    supply = _TOTAL_TOKEN_SUPPLY if pool.is_mayhem_mode else base_mint_supply
    cap = effective_quote_reserve * supply // base_reserve
    if not pool.is_pump_pool:
        fees = fee_config.flat_fees
    elif pool.quote_mint in _SOL_LIKE:
        fees = _fee_tier(fee_config.fee_tiers, cap)
    elif pool.quote_mint in _STABLE:
        fees = _fee_tier(fee_config.stable_fee_tiers or fee_config.fee_tiers, cap)
    else:
        exotic = fee_config.exotic_flat_fees
        fees = fee_config.flat_fees if exotic.total_bps == 0 else exotic
    if global_config.creator_fee_configurable and pool.creator_fee_bps > 0:
        return Fees(fees.lp_bps, fees.protocol_bps, pool.creator_fee_bps)
    return fees


def slippage_factor(slippage_bps: int, *, up: bool) -> int:
    """The SDK's ``Math.floor((1 ± slippage / 100) * 1e9)`` with ``slippage = bps / 100``."""
    pct = slippage_bps / 100
    return math.floor(((1 + pct / 100) if up else (1 - pct / 100)) * 1_000_000_000)


@dataclass(frozen=True, slots=True)
class BuyBaseResult:
    internal_quote_amount: int  # into the curve, before fees
    ui_quote: int  # what the user pays, fees included
    max_quote: int  # ui_quote raised by the slippage


@dataclass(frozen=True, slots=True)
class BuyQuoteResult:
    base: int  # tokens the budget buys
    internal_quote_without_fees: int
    max_quote: int  # the SDK's (for `buy`); ours for `buy_exact_quote_in` is `min_base`
    min_base: int  # base lowered by the slippage (the `min_base_amount_out` we send)


@dataclass(frozen=True, slots=True)
class SellBaseResult:
    ui_quote: int  # what the user receives, fees taken
    min_quote: int
    internal_quote_amount_out: int


def _user_fees(fees: Fees, coin_creator: bool) -> Fees:
    return fees if coin_creator else Fees(fees.lp_bps, fees.protocol_bps, 0)


def buy_base_input(
    base: int, slippage_bps: int, base_reserve: int, quote_reserve: int,
    virtual_quote_reserves: int, fees: Fees, *, coin_creator: bool,
) -> BuyBaseResult:  # fmt: skip
    """``buyBaseInput``: the quote ``base`` tokens cost, fees on top."""
    if base_reserve == 0 or quote_reserve == 0:
        raise QuoteError("Invalid input: 'baseReserve' or 'quoteReserve' cannot be zero.")
    if base > base_reserve:
        raise QuoteError("Cannot buy more base tokens than the pool reserves.")
    effective = quote_reserve + virtual_quote_reserves
    if base_reserve - base == 0:
        raise QuoteError("Pool would be depleted; denominator is zero.")
    quote_in = _ceil_div(effective * base, base_reserve - base)
    f = _user_fees(fees, coin_creator)
    total = quote_in + fee(quote_in, f.lp_bps) + fee(quote_in, f.protocol_bps)
    total += fee(quote_in, f.creator_bps)
    return BuyBaseResult(
        quote_in, total, total * slippage_factor(slippage_bps, up=True) // _PRECISION
    )


def buy_quote_input(
    quote: int, slippage_bps: int, base_reserve: int, quote_reserve: int,
    virtual_quote_reserves: int, fees: Fees, *, coin_creator: bool,
) -> BuyQuoteResult:  # fmt: skip
    """``buyQuoteInput``: the tokens a budget of ``quote`` (fees included) buys; the program's
    ``buy_exact_quote_in`` computes the same."""
    if base_reserve == 0 or quote_reserve == 0:
        raise QuoteError("Invalid input: 'baseReserve' or 'quoteReserve' cannot be zero.")
    effective = quote_reserve + virtual_quote_reserves
    f = _user_fees(fees, coin_creator)
    net = quote * _BPS // (_BPS + f.total_bps)
    with_fees = net + fee(net, f.lp_bps) + fee(net, f.protocol_bps) + fee(net, f.creator_bps)
    if with_fees > quote:
        net -= with_fees - quote
    denominator = effective + net - 1
    if denominator == 0:
        raise QuoteError("Pool would be depleted; denominator is zero.")
    base = _floor_div(base_reserve * (net - 1), denominator)
    max_quote = quote * slippage_factor(slippage_bps, up=True) // _PRECISION
    min_base = max(base, 0) * slippage_factor(slippage_bps, up=False) // _PRECISION
    return BuyQuoteResult(base, net, max_quote, min_base)


def _floor_div(a: int, b: int) -> int:
    """BN's ``div``: truncation toward zero (differs from ``//`` for negative results)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def sell_base_input(
    base: int, slippage_bps: int, base_reserve: int, quote_reserve: int,
    virtual_quote_reserves: int, fees: Fees, *, coin_creator: bool,
) -> SellBaseResult:  # fmt: skip
    """``sellBaseInput``: the quote selling ``base`` tokens returns, fees taken."""
    if base_reserve == 0 or quote_reserve == 0:
        raise QuoteError("Invalid input: 'baseReserve' or 'quoteReserve' cannot be zero.")
    effective = quote_reserve + virtual_quote_reserves
    out = _floor_div(effective * base, base_reserve + base)
    f = _user_fees(fees, coin_creator)
    lp = fee(out, f.lp_bps)
    if quote_reserve < out - lp:
        raise QuoteError("Insufficient real quote reserves to cover the sell output.")
    final = out - lp - fee(out, f.protocol_bps) - fee(out, f.creator_bps)
    if final < 0:
        raise QuoteError("Fees exceed total output; final quote is negative.")
    return SellBaseResult(final, final * slippage_factor(slippage_bps, up=False) // _PRECISION, out)


# ---- instructions ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SwapAccounts:
    """The named accounts of ``buy`` / ``sell`` / ``buy_exact_quote_in`` (``swapAccounts``)."""

    pool: Pubkey
    user: Pubkey
    base_mint: Pubkey
    quote_mint: Pubkey
    user_base_token_account: Pubkey
    user_quote_token_account: Pubkey
    pool_base_token_account: Pubkey
    pool_quote_token_account: Pubkey
    protocol_fee_recipient: Pubkey
    protocol_fee_recipient_token_account: Pubkey
    buyback_fee_recipient: Pubkey
    buyback_fee_recipient_token_account: Pubkey
    base_token_program: Pubkey
    quote_token_program: Pubkey
    coin_creator: Pubkey
    is_cashback_coin: bool


def swap_accounts(
    pool_key: Pubkey, pool: Pool, user: Pubkey, *, base_token_program: Pubkey,
    quote_token_program: Pubkey, protocol_fee_recipient: Pubkey, buyback_fee_recipient: Pubkey,
) -> SwapAccounts:  # fmt: skip
    quote = pool.quote_mint
    return SwapAccounts(
        pool=pool_key, user=user, base_mint=pool.base_mint, quote_mint=quote,
        user_base_token_account=associated_token_address(user, pool.base_mint, base_token_program),
        user_quote_token_account=associated_token_address(user, quote, quote_token_program),
        pool_base_token_account=pool.pool_base_token_account,
        pool_quote_token_account=pool.pool_quote_token_account,
        protocol_fee_recipient=protocol_fee_recipient,
        protocol_fee_recipient_token_account=associated_token_address(
            protocol_fee_recipient, quote, quote_token_program),
        buyback_fee_recipient=buyback_fee_recipient,
        buyback_fee_recipient_token_account=associated_token_address(
            buyback_fee_recipient, quote, quote_token_program),
        base_token_program=base_token_program, quote_token_program=quote_token_program,
        coin_creator=pool.coin_creator, is_cashback_coin=pool.is_cashback_coin,
    )  # fmt: skip


def _metas(a: SwapAccounts, kind: SwapKind) -> list[AccountMeta]:
    vault = coin_creator_vault_authority(a.coin_creator)
    w, r = True, False
    metas = [
        AccountMeta(a.pool, False, w), AccountMeta(a.user, True, w),
        AccountMeta(GLOBAL_CONFIG, False, r), AccountMeta(a.base_mint, False, r),
        AccountMeta(a.quote_mint, False, r), AccountMeta(a.user_base_token_account, False, w),
        AccountMeta(a.user_quote_token_account, False, w),
        AccountMeta(a.pool_base_token_account, False, w),
        AccountMeta(a.pool_quote_token_account, False, w),
        AccountMeta(a.protocol_fee_recipient, False, r),
        AccountMeta(a.protocol_fee_recipient_token_account, False, w),
        AccountMeta(a.base_token_program, False, r), AccountMeta(a.quote_token_program, False, r),
        AccountMeta(_SYSTEM, False, r), AccountMeta(_ATA, False, r),
        AccountMeta(EVENT_AUTHORITY, False, r), AccountMeta(PUMP_AMM_PROGRAM_ID, False, r),
        AccountMeta(associated_token_address(vault, a.quote_mint, a.quote_token_program), False, w),
        AccountMeta(vault, False, r),
    ]  # fmt: skip
    if kind != "sell":
        metas += [AccountMeta(GLOBAL_VOLUME_ACCUMULATOR, False, r),
                  AccountMeta(user_volume_accumulator(a.user), False, w)]  # fmt: skip
    metas += [AccountMeta(FEE_CONFIG, False, r), AccountMeta(PUMP_FEE_PROGRAM_ID, False, r)]
    # remaining accounts, in the SDK's order
    if a.is_cashback_coin:
        uva = user_volume_accumulator(a.user)
        uva_ata = associated_token_address(uva, a.quote_mint, a.quote_token_program)
        metas.append(AccountMeta(uva_ata, False, w))
        if kind == "sell":
            metas.append(AccountMeta(uva, False, w))
    if a.coin_creator != _ZERO:
        metas.append(AccountMeta(pool_v2_address(a.base_mint), False, r))
    metas += [AccountMeta(a.buyback_fee_recipient, False, r),
              AccountMeta(a.buyback_fee_recipient_token_account, False, w)]  # fmt: skip
    return metas


def buy_instruction(a: SwapAccounts, base_amount_out: int, max_quote_amount_in: int) -> Instruction:
    """``buy(base_amount_out, max_quote_amount_in, track_volume=Some(true))``."""
    data = BUY_DISCRIMINATOR + struct.pack("<QQ", base_amount_out, max_quote_amount_in) + b"\x01"
    return Instruction(PUMP_AMM_PROGRAM_ID, data, _metas(a, "buy"))


def buy_exact_quote_in_instruction(
    a: SwapAccounts, spendable_quote_in: int, min_base_amount_out: int
) -> Instruction:
    """``buy_exact_quote_in(spendable_quote_in, min_base_amount_out, track_volume=Some(true))``:
    the buy account list (the SDK's buyQuoteSimulation.spec.ts builds it so)."""
    data = (BUY_EXACT_QUOTE_IN_DISCRIMINATOR
            + struct.pack("<QQ", spendable_quote_in, min_base_amount_out) + b"\x01")  # fmt: skip
    return Instruction(PUMP_AMM_PROGRAM_ID, data, _metas(a, "buy_exact_quote_in"))


def sell_instruction(
    a: SwapAccounts, base_amount_in: int, min_quote_amount_out: int
) -> Instruction:
    data = SELL_DISCRIMINATOR + struct.pack("<QQ", base_amount_in, min_quote_amount_out)
    return Instruction(PUMP_AMM_PROGRAM_ID, data, _metas(a, "sell"))


def extend_account_instruction(account: Pubkey, user: Pubkey) -> Instruction:
    """Grow an old pool account to ``POOL_ACCOUNT_NEW_SIZE`` (the SDK adds it before a trade)."""
    return Instruction(PUMP_AMM_PROGRAM_ID, EXTEND_ACCOUNT_DISCRIMINATOR, [
        AccountMeta(account, False, True), AccountMeta(user, True, True),
        AccountMeta(_SYSTEM, False, False), AccountMeta(EVENT_AUTHORITY, False, False),
        AccountMeta(PUMP_AMM_PROGRAM_ID, False, False),
    ])  # fmt: skip


def create_ata_idempotent(
    payer: Pubkey, ata: Pubkey, owner: Pubkey, mint: Pubkey, token_program: Pubkey
) -> Instruction:
    return Instruction(_ATA, b"\x01", [
        AccountMeta(payer, True, True), AccountMeta(ata, False, True),
        AccountMeta(owner, False, False), AccountMeta(mint, False, False),
        AccountMeta(_SYSTEM, False, False), AccountMeta(token_program, False, False),
    ])  # fmt: skip


def _sync_native(account: Pubkey) -> Instruction:
    return Instruction(_TOKEN, bytes([17]), [AccountMeta(account, False, True)])


def _close_account(account: Pubkey, owner: Pubkey) -> Instruction:
    return Instruction(_TOKEN, bytes([9]), [
        AccountMeta(account, False, True), AccountMeta(owner, False, True),
        AccountMeta(owner, True, False),
    ])  # fmt: skip


def swap_instructions(
    kind: SwapKind, a: SwapAccounts, amount: int, limit: int, *, pool_data_len: int,
    user_base_exists: bool = False, user_quote_exists: bool = False,
) -> list[Instruction]:  # fmt: skip
    """What ``PumpAmmSdk.buyInstructions`` / ``sellInstructions`` return (and the buy list with
    ``buy_exact_quote_in`` data): ``extend_account`` for a short pool; the WSOL leg (the user's
    WSOL account created when missing, funded with the quote in and synced for a buy; closed
    after, which unwraps); the other token account created (idempotent) when missing; the swap.

    ``buy``: amount = base out, limit = max quote in; ``buy_exact_quote_in``: amount = quote to
    spend (fees included), limit = min base out; ``sell``: amount = base in, limit = min quote out.
    """
    user = a.user
    out: list[Instruction] = []
    if pool_data_len < POOL_ACCOUNT_NEW_SIZE:
        out.append(extend_account_instruction(a.pool, user))
    buy = kind != "sell"
    # the leg the SDK's withWsolAccount wraps: the quote account of a buy, the base of a sell
    wrap_mint, wrap_ata, wrap_exists = (
        (a.quote_mint, a.user_quote_token_account, user_quote_exists) if buy
        else (a.base_mint, a.user_base_token_account, user_base_exists)
    )  # fmt: skip
    wrap_amount = (limit if kind == "buy" else amount) if buy else amount
    if wrap_mint == NATIVE_MINT:
        if not wrap_exists:
            out.append(create_ata_idempotent(user, wrap_ata, user, NATIVE_MINT, _TOKEN))
        if wrap_amount > 0:
            out.append(transfer(TransferParams(from_pubkey=user, to_pubkey=wrap_ata,
                                               lamports=wrap_amount)))  # fmt: skip
            out.append(_sync_native(wrap_ata))
    if buy and not user_base_exists:
        out.append(create_ata_idempotent(user, a.user_base_token_account, user, a.base_mint,
                                         a.base_token_program))  # fmt: skip
    if not buy and not user_quote_exists:
        out.append(create_ata_idempotent(user, a.user_quote_token_account, user, a.quote_mint,
                                         a.quote_token_program))  # fmt: skip
    if kind == "buy":
        out.append(buy_instruction(a, amount, limit))
        if a.base_mint == NATIVE_MINT:
            out.append(_close_account(a.user_base_token_account, user))
    elif kind == "buy_exact_quote_in":
        out.append(buy_exact_quote_in_instruction(a, amount, limit))
        if a.base_mint == NATIVE_MINT:
            out.append(_close_account(a.user_base_token_account, user))
    else:
        out.append(sell_instruction(a, amount, limit))
        if a.quote_mint == NATIVE_MINT:
            out.append(_close_account(a.user_quote_token_account, user))
    if wrap_mint == NATIVE_MINT:
        out.append(_close_account(wrap_ata, user))
    return out
