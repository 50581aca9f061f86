"""The PumpSwap AMM program (`pAMMBa...`), hosted by localnet (`localnet.pumpswap`).

Instructions: `buy`, `sell`, `buy_exact_quote_in`; `create_pool` runs only as pump's `migrate`
CPI (`create_canonical_pool`); anything else fails with Anchor's `InstructionFallbackNotFound`
(101). Account positions, seeds and arguments follow pump_amm.json (pump-swap-sdk 1.20.0),
remaining accounts the SDK's order (`pool-v2` PDA when the pool has a coin creator, then the
buyback fee recipient and its quote ATA). The vaults pay out through real token transfers signed
by the pool PDA (as `invoke_signed` does).
"""

from __future__ import annotations

import math as pymath
from dataclasses import dataclass
from typing import Any, Final

from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, TransferParams, create_account, transfer

from localnet.encoding import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, mint_fields
from localnet.market import instructions as tix
from localnet.pump import anchor
from localnet.pump.anchor import (
    ACCOUNT_NOT_INITIALIZED,
    ACCOUNT_OWNED_BY_WRONG_PROGRAM,
    CONSTRAINT_ADDRESS,
    CONSTRAINT_HAS_ONE,
    INSTRUCTION_DID_NOT_DESERIALIZE,
    INSTRUCTION_FALLBACK_NOT_FOUND,
    Reader,
    account_error,
    framework_error,
    thrown,
)
from localnet.pump.borsh import Struct
from localnet.pump.hosted import Invocation, ProgramError
from localnet.pump.state import PUMP_FEE_PROGRAM_ID, ZERO, discriminator
from localnet.pumpswap import amm
from localnet.pumpswap.state import (
    BUY_EVENT_LAYOUT,
    CREATE_POOL_EVENT_LAYOUT,
    EVENT_AUTHORITY,
    FEE_CONFIG,
    FEE_CONFIG_FIELDS,
    GLOBAL_CONFIG,
    GLOBAL_CONFIG_LAYOUT,
    GLOBAL_VOLUME_ACCUMULATOR,
    LP_DECIMALS,
    MINIMUM_LIQUIDITY,
    POOL_LAYOUT,
    POOL_SIZE,
    PUMP_AMM_PROGRAM_ID,
    SELL_EVENT_LAYOUT,
    USER_VOLUME_ACCUMULATOR_LAYOUT,
    USER_VOLUME_ACCUMULATOR_SIZE,
    WSOL_MINT,
    coin_creator_vault_authority,
    decode_account,
    encode_account,
    event_log,
    lp_mint_address,
    pool_address,
    pool_bump,
    pool_v2_address,
    user_volume_accumulator_address,
)

SYSTEM_PROGRAM: Final = tix.SYSTEM_PROGRAM_ID
ATA_PROGRAM: Final = tix.ASSOCIATED_TOKEN_PROGRAM_ID
MINT_LEN: Final = 82

# pump_amm.json "errors"
ZERO_BASE_AMOUNT = 6001
ZERO_QUOTE_AMOUNT = 6002
EXCEEDED_SLIPPAGE = 6004
INVALID_PROTOCOL_FEE_RECIPIENT = 6013
BUY_MORE_BASE_AMOUNT_THAN_POOL_RESERVES = 6016
DISABLED_BUY, DISABLED_SELL = 6020, 6021
OVERFLOW = 6023
DIVISION_BY_ZERO = 6025
BUY_SLIPPAGE_BELOW_MIN_BASE_AMOUNT_OUT = 6040
BUYBACK_FEE_RECIPIENT_NOT_AUTHORIZED = 6053
BUYBACK_FEE_RECIPIENT_MISSING = 6058
INVALID_POOL_V2 = 6062
INSUFFICIENT_REAL_QUOTE_RESERVES = 6063
ERROR_NAMES: Final = {
    6001: ("ZeroBaseAmount", ""), 6002: ("ZeroQuoteAmount", ""),
    6004: ("ExceededSlippage", ""), 6013: ("InvalidProtocolFeeRecipient", ""),
    6016: ("BuyMoreBaseAmountThanPoolReserves", ""), 6020: ("DisabledBuy", ""),
    6021: ("DisabledSell", ""), 6023: ("Overflow", ""), 6025: ("DivisionByZero", ""),
    6040: ("BuySlippageBelowMinBaseAmountOut",
           "buy: slippage - would buy less tokens than expected min_base_amount_out"),
    6053: ("BuybackFeeRecipientNotAuthorized", "Buyback fee recipient not authorized"),
    6058: ("BuybackFeeRecipientMissing", ""),
    6062: ("InvalidPoolV2", "pool_v2 remaining account is missing or invalid"),
    6063: ("InsufficientRealQuoteReserves",
           "BOOST: sell output exceeds the real quote vault. effective = real + virtual is "
           "pricing-only; payout is capped at real_vault, so quote min(out, real_vault)"),
}  # fmt: skip
DISABLE_BUY_FLAG, DISABLE_SELL_FLAG = 1 << 3, 1 << 4  # create_pool, deposit, withdraw, buy, sell

IX_NAMES: Final = ("buy", "sell", "buy_exact_quote_in")
DISCRIMINATORS: Final = {discriminator("global", name): name for name in IX_NAMES}
_PASCAL: Final = {"buy": "Buy", "sell": "Sell", "buy_exact_quote_in": "BuyExactQuoteIn"}
BASE_UNITS: Final = {"buy": 33_000, "sell": 31_000, "buy_exact_quote_in": 34_000}
CREATE_POOL_UNITS: Final = 45_000

_SWAP_HEAD: Final = (
    "pool", "user", "global_config", "base_mint", "quote_mint", "user_base_token_account",
    "user_quote_token_account", "pool_base_token_account", "pool_quote_token_account",
    "protocol_fee_recipient", "protocol_fee_recipient_token_account", "base_token_program",
    "quote_token_program", "system_program", "associated_token_program", "event_authority",
    "program", "coin_creator_vault_ata", "coin_creator_vault_authority",
)  # fmt: skip
BUY_ACCOUNTS: Final = (*_SWAP_HEAD, "global_volume_accumulator", "user_volume_accumulator",
                       "fee_config", "fee_program")  # fmt: skip
SELL_ACCOUNTS: Final = (*_SWAP_HEAD, "fee_config", "fee_program")


def program_error(
    inv: Invocation, code: int, source: str = "instructions/swap.rs:0"
) -> ProgramError:
    return thrown(inv, code, ERROR_NAMES, f"programs/pump-amm/src/{source}")


class Accounts(anchor.Accounts):
    def load(  # type: ignore[override]
        self, name: str, kind: str, layout: Struct, owner: Pubkey
    ) -> dict[str, Any]:
        return super().load(name, kind, layout, owner, decode_account)


def handle(inv: Invocation) -> None:
    if len(inv.data) < 8 or inv.data[:8] not in DISCRIMINATORS:
        raise framework_error(inv, INSTRUCTION_FALLBACK_NOT_FOUND)
    name = DISCRIMINATORS[inv.data[:8]]
    inv.log(f"Program log: Instruction: {_PASCAL[name]}")
    try:
        _swap(inv, Reader(inv.data[8:]), name)
    except ValueError as exc:
        if "too short" in str(exc):
            raise framework_error(inv, INSTRUCTION_DID_NOT_DESERIALIZE) from exc
        raise


def base_units(inv: Invocation) -> int:
    return BASE_UNITS.get(DISCRIMINATORS.get(inv.data[:8], ""), 2_000)


def token_amount(inv: Invocation, key: Pubkey) -> int:
    account = inv.read(key)
    if account is None or len(account.data) < 72:
        return 0
    return int.from_bytes(bytes(account.data[64:72]), "little")


@dataclass
class Swap:
    """Everything a checked swap needs."""

    pool_key: Pubkey
    pool: dict[str, Any]
    config: dict[str, Any]
    user: Pubkey
    base_mint: Pubkey
    quote_mint: Pubkey
    base_program: Pubkey
    quote_program: Pubkey
    base_decimals: int
    quote_decimals: int
    base_supply: int
    user_base: Pubkey
    user_quote: Pubkey
    pool_base: Pubkey
    pool_quote: Pubkey
    protocol_recipient: Pubkey
    protocol_ata: Pubkey
    buyback: Pubkey
    buyback_ata: Pubkey
    creator_vault: Pubkey
    creator_vault_ata: Pubkey
    uva: Pubkey | None
    rates: amm.Rates
    base_reserve: int
    quote_reserve: int

    @property
    def effective_quote(self) -> int:
        return self.quote_reserve + int(self.pool["virtual_quote_reserves"])


def _mint(inv: Invocation, acc: Accounts, name: str, program_name: str) -> tuple[int, int]:
    key = acc.key(name)
    account = inv.read(key)
    if account is None:
        raise account_error(inv, ACCOUNT_NOT_INITIALIZED, name)
    program = acc.key(program_name)
    if account.owner != program:
        raise account_error(inv, ACCOUNT_OWNED_BY_WRONG_PROGRAM, name, account.owner, program)
    supply = int.from_bytes(bytes(account.data[36:44]), "little")
    return mint_fields(bytes(account.data))[1], supply


def _check(inv: Invocation, name: str) -> Swap:
    acc = Accounts(inv, BUY_ACCOUNTS if name != "sell" else SELL_ACCOUNTS)
    acc.signer("user")
    acc.writable("pool", "user", "user_base_token_account", "user_quote_token_account",
                 "pool_base_token_account", "pool_quote_token_account",
                 "protocol_fee_recipient_token_account", "coin_creator_vault_ata")  # fmt: skip
    acc.expect("global_config", GLOBAL_CONFIG, CONSTRAINT_ADDRESS)
    acc.expect("program", PUMP_AMM_PROGRAM_ID, CONSTRAINT_ADDRESS)
    acc.expect("system_program", SYSTEM_PROGRAM, CONSTRAINT_ADDRESS)
    acc.expect("associated_token_program", ATA_PROGRAM, CONSTRAINT_ADDRESS)
    acc.expect("event_authority", EVENT_AUTHORITY)
    acc.expect("fee_program", PUMP_FEE_PROGRAM_ID, CONSTRAINT_ADDRESS)
    acc.expect("fee_config", FEE_CONFIG)
    config = acc.load("global_config", "GlobalConfig", GLOBAL_CONFIG_LAYOUT, PUMP_AMM_PROGRAM_ID)
    pool = acc.load("pool", "Pool", POOL_LAYOUT, PUMP_AMM_PROGRAM_ID)
    fee_account = inv.read(FEE_CONFIG)
    fee_config = (decode_account("FeeConfig", FEE_CONFIG_FIELDS, bytes(fee_account.data))
                  if fee_account is not None else None)  # fmt: skip
    for field in ("base_mint", "quote_mint", "pool_base_token_account", "pool_quote_token_account"):
        acc.expect(field, pool[field], CONSTRAINT_HAS_ONE)
    base_decimals, base_supply = _mint(inv, acc, "base_mint", "base_token_program")
    quote_decimals, _ = _mint(inv, acc, "quote_mint", "quote_token_program")
    base_mint, quote_mint = acc.key("base_mint"), acc.key("quote_mint")
    quote_program = acc.key("quote_token_program")
    user = acc.key("user")
    acc.expect("coin_creator_vault_authority", coin_creator_vault_authority(pool["coin_creator"]))
    creator_vault = acc.key("coin_creator_vault_authority")
    acc.expect("coin_creator_vault_ata",
               tix.associated_token_address(creator_vault, quote_mint, quote_program))  # fmt: skip
    uva: Pubkey | None = None
    if name != "sell":
        acc.writable("user_volume_accumulator")
        acc.expect("global_volume_accumulator", GLOBAL_VOLUME_ACCUMULATOR)
        uva = acc.expect("user_volume_accumulator", user_volume_accumulator_address(user))
    recipients = (
        [config["reserved_fee_recipient"], *config["reserved_fee_recipients"]]
        if pool["is_mayhem_mode"] else list(config["protocol_fee_recipients"])
    )  # fmt: skip
    protocol_recipient = acc.key("protocol_fee_recipient")
    if protocol_recipient not in recipients or protocol_recipient == ZERO:
        raise program_error(inv, INVALID_PROTOCOL_FEE_RECIPIENT)
    protocol_ata = acc.expect(
        "protocol_fee_recipient_token_account",
        tix.associated_token_address(protocol_recipient, quote_mint, quote_program),
    )
    remaining = [m.pubkey for m in acc.remaining()]
    if pool["is_cashback_coin"]:
        remaining = remaining[1 if name != "sell" else 2 :]
    if pool["coin_creator"] != ZERO:
        pool_v2 = pool_v2_address(base_mint)
        if not remaining or remaining[0] in config["buyback_fee_recipients"]:
            # what mainnet reports without the pool-v2 account (LAUNCHPADS.md): a plain Overflow
            raise program_error(inv, OVERFLOW)
        if remaining[0] != pool_v2:
            raise program_error(inv, INVALID_POOL_V2)
        remaining = remaining[1:]
    if len(remaining) < 2:
        raise program_error(inv, BUYBACK_FEE_RECIPIENT_MISSING)
    buyback, buyback_ata = remaining[0], remaining[1]
    if buyback not in config["buyback_fee_recipients"]:
        raise program_error(inv, BUYBACK_FEE_RECIPIENT_NOT_AUTHORIZED)
    if buyback_ata != tix.associated_token_address(buyback, quote_mint, quote_program):
        raise program_error(inv, BUYBACK_FEE_RECIPIENT_NOT_AUTHORIZED)
    flag = DISABLE_SELL_FLAG if name == "sell" else DISABLE_BUY_FLAG
    if config["disable_flags"] & flag:
        raise program_error(inv, DISABLED_SELL if name == "sell" else DISABLED_BUY)
    base_reserve = token_amount(inv, pool["pool_base_token_account"])
    quote_reserve = token_amount(inv, pool["pool_quote_token_account"])
    effective = quote_reserve + int(pool["virtual_quote_reserves"])
    if base_reserve == 0 or effective <= 0:
        raise program_error(inv, DIVISION_BY_ZERO)
    rates = amm.rates(config, fee_config, pool, base_supply, base_reserve, effective)
    return Swap(
        acc.key("pool"), pool, config, user, base_mint, quote_mint, acc.key("base_token_program"),
        quote_program, base_decimals, quote_decimals, base_supply,
        acc.key("user_base_token_account"), acc.key("user_quote_token_account"),
        pool["pool_base_token_account"], pool["pool_quote_token_account"], protocol_recipient,
        protocol_ata, buyback, buyback_ata, creator_vault, acc.key("coin_creator_vault_ata"), uva,
        rates, base_reserve, quote_reserve,
    )  # fmt: skip


def _swap(inv: Invocation, r: Reader, name: str) -> None:
    amount, limit = r.u64(), r.u64()
    track_volume = r.optional_bool(True) if name != "sell" else True
    s = _check(inv, name)
    if name == "sell":
        _sell(inv, s, amount, limit)
    else:
        _buy(inv, s, name, amount, limit, track_volume)


def _creator_vault_ixs(inv: Invocation, s: Swap, creator_fee: int) -> list[Instruction]:
    if creator_fee == 0 or inv.read(s.creator_vault_ata) is not None:
        return []
    return [tix.create_associated_token_account_idempotent(s.user, s.creator_vault, s.quote_mint,
                                                            s.quote_program)]  # fmt: skip


def _quote_transfer(s: Swap, source: Pubkey, dest: Pubkey, owner: Pubkey,
                    amount: int) -> list[Instruction]:  # fmt: skip
    if amount <= 0:
        return []
    return [tix.transfer_checked(s.quote_program, source, s.quote_mint, dest, owner, amount,
                                 s.quote_decimals)]  # fmt: skip


def _buy(inv: Invocation, s: Swap, name: str, amount: int, limit: int, track: bool) -> None:
    effective = s.effective_quote
    if name == "buy_exact_quote_in":
        if amount == 0:
            raise program_error(inv, ZERO_QUOTE_AMOUNT)
        base_out, quote_in = amm.exact_quote_in(amount, s.base_reserve, effective, s.rates)
        if base_out == 0:
            raise program_error(inv, ZERO_BASE_AMOUNT)
        if base_out < limit:
            raise program_error(inv, BUY_SLIPPAGE_BELOW_MIN_BASE_AMOUNT_OUT)
        fees = amm.fees_on(quote_in, s.rates)
        max_quote, min_base = amount, limit
    else:
        base_out, max_quote, min_base = amount, limit, 0
        if base_out == 0:
            raise program_error(inv, ZERO_BASE_AMOUNT)
        if base_out > s.base_reserve:
            raise program_error(inv, BUY_MORE_BASE_AMOUNT_THAN_POOL_RESERVES)
        if base_out == s.base_reserve:
            raise program_error(inv, DIVISION_BY_ZERO)
        quote_in = amm.buy_quote_in(base_out, s.base_reserve, effective)
        fees = amm.fees_on(quote_in, s.rates)
    total = quote_in + fees.total
    if total > max_quote:
        raise program_error(inv, EXCEEDED_SLIPPAGE)
    buyback = fees.protocol * s.config["buyback_basis_points"] // 10_000
    user_base_before, user_quote_before = (
        token_amount(inv, s.user_base),
        token_amount(inv, s.user_quote),
    )
    ixs = _creator_vault_ixs(inv, s, fees.creator)
    ixs += _quote_transfer(s, s.user_quote, s.pool_quote, s.user, quote_in + fees.lp)
    ixs += _quote_transfer(s, s.user_quote, s.protocol_ata, s.user, fees.protocol - buyback)
    ixs += _quote_transfer(s, s.user_quote, s.buyback_ata, s.user, buyback)
    ixs += _quote_transfer(s, s.user_quote, s.creator_vault_ata, s.user, fees.creator)
    uva = _user_volume(inv, s, ixs)
    ixs.append(tix.transfer_checked(s.base_program, s.pool_base, s.base_mint, s.user_base,
                                    s.pool_key, base_out, s.base_decimals))  # fmt: skip
    inv.invoke(ixs)
    if uva is not None and s.uva is not None:
        if track and s.quote_mint == WSOL_MINT:
            uva["current_sol_volume"] += quote_in
            uva["last_update_timestamp"] = inv.now()
        _write_uva(inv, s.uva, uva)
    inv.log(event_log(BUY_EVENT_LAYOUT, {
        "timestamp": inv.now(), "base_amount_out": base_out, "max_quote_amount_in": max_quote,
        "user_base_token_reserves": user_base_before,
        "user_quote_token_reserves": user_quote_before,
        "pool_base_token_reserves": s.base_reserve, "pool_quote_token_reserves": s.quote_reserve,
        "quote_amount_in": quote_in, "lp_fee_basis_points": s.rates.lp_bps, "lp_fee": fees.lp,
        "protocol_fee_basis_points": s.rates.protocol_bps, "protocol_fee": fees.protocol,
        "quote_amount_in_with_lp_fee": quote_in + fees.lp,
        # buy_exact_quote_in reports the quote routed into the curve (pump-swap-sdk's
        # buyQuoteSimulation.spec.ts: userQuoteAmountIn == internalQuoteWithoutFees)
        "user_quote_amount_in": quote_in if name == "buy_exact_quote_in" else total,
        **_event_keys(s), "coin_creator_fee_basis_points": s.rates.creator_bps,
        "coin_creator_fee": fees.creator, "track_volume": track,
        "total_unclaimed_tokens": uva["total_unclaimed_tokens"] if uva else 0,
        "total_claimed_tokens": uva["total_claimed_tokens"] if uva else 0,
        "current_sol_volume": uva["current_sol_volume"] if uva else 0,
        "last_update_timestamp": uva["last_update_timestamp"] if uva else 0,
        "min_base_amount_out": min_base, "ix_name": name, **_event_tail(s, buyback),
    }))  # fmt: skip


def _sell(inv: Invocation, s: Swap, amount: int, limit: int) -> None:
    if amount == 0:
        raise program_error(inv, ZERO_BASE_AMOUNT)
    quote_out = amm.sell_quote_out(amount, s.base_reserve, s.effective_quote)
    fees = amm.fees_on(quote_out, s.rates)
    if quote_out - fees.lp > s.quote_reserve:
        raise program_error(inv, INSUFFICIENT_REAL_QUOTE_RESERVES)
    received = quote_out - fees.total
    if received < 0:
        raise program_error(inv, OVERFLOW)
    if received < limit:
        raise program_error(inv, EXCEEDED_SLIPPAGE)
    buyback = fees.protocol * s.config["buyback_basis_points"] // 10_000
    user_base_before, user_quote_before = (
        token_amount(inv, s.user_base),
        token_amount(inv, s.user_quote),
    )
    ixs = [tix.transfer_checked(s.base_program, s.user_base, s.base_mint, s.pool_base, s.user,
                                amount, s.base_decimals)]  # fmt: skip
    ixs += _creator_vault_ixs(inv, s, fees.creator)
    ixs += _quote_transfer(s, s.pool_quote, s.user_quote, s.pool_key, received)
    ixs += _quote_transfer(s, s.pool_quote, s.protocol_ata, s.pool_key, fees.protocol - buyback)
    ixs += _quote_transfer(s, s.pool_quote, s.buyback_ata, s.pool_key, buyback)
    ixs += _quote_transfer(s, s.pool_quote, s.creator_vault_ata, s.pool_key, fees.creator)
    inv.invoke(ixs)
    inv.log(event_log(SELL_EVENT_LAYOUT, {
        "timestamp": inv.now(), "base_amount_in": amount, "min_quote_amount_out": limit,
        "user_base_token_reserves": user_base_before,
        "user_quote_token_reserves": user_quote_before,
        "pool_base_token_reserves": s.base_reserve, "pool_quote_token_reserves": s.quote_reserve,
        "quote_amount_out": quote_out, "lp_fee_basis_points": s.rates.lp_bps, "lp_fee": fees.lp,
        "protocol_fee_basis_points": s.rates.protocol_bps, "protocol_fee": fees.protocol,
        "quote_amount_out_without_lp_fee": quote_out - fees.lp, "user_quote_amount_out": received,
        **_event_keys(s), "coin_creator_fee_basis_points": s.rates.creator_bps,
        "coin_creator_fee": fees.creator, **_event_tail(s, buyback),
    }))  # fmt: skip


def _event_keys(s: Swap) -> dict[str, Any]:
    return {
        "pool": s.pool_key, "user": s.user, "user_base_token_account": s.user_base,
        "user_quote_token_account": s.user_quote, "protocol_fee_recipient": s.protocol_recipient,
        "protocol_fee_recipient_token_account": s.protocol_ata,
        "coin_creator": s.pool["coin_creator"],
    }  # fmt: skip


def _event_tail(s: Swap, buyback: int) -> dict[str, Any]:
    vqr = int(s.pool["virtual_quote_reserves"])
    return {
        "cashback_fee_basis_points": 0, "cashback": 0,
        "buyback_fee_basis_points": s.config["buyback_basis_points"], "buyback_fee": buyback,
        "virtual_quote_reserves": vqr, "can_boost": vqr != 0, "base_supply": s.base_supply,
        "holder_rewards_bps": 0, "holder_rewards": 0,
    }  # fmt: skip


def _user_volume(inv: Invocation, s: Swap, ixs: list[Instruction]) -> dict[str, Any] | None:
    """The buyer's volume accumulator (created, rent paid by the user, when missing)."""
    if s.uva is None:
        return None
    account = inv.read(s.uva)
    if account is not None and account.owner == PUMP_AMM_PROGRAM_ID:
        fields = decode_account("UserVolumeAccumulator", USER_VOLUME_ACCUMULATOR_LAYOUT,
                                bytes(account.data))  # fmt: skip
        if fields is not None:
            return fields
    have = account.lamports if account else 0
    rent = max(0, inv.rent(USER_VOLUME_ACCUMULATOR_SIZE) - have)
    if rent:
        ixs.append(transfer(TransferParams(from_pubkey=s.user, to_pubkey=s.uva, lamports=rent)))
    return {
        "user": s.user, "needs_claim": False, "total_unclaimed_tokens": 0,
        "total_claimed_tokens": 0, "current_sol_volume": 0, "last_update_timestamp": 0,
        "has_total_claimed_tokens": True, "cashback_earned": 0, "total_cashback_claimed": 0,
    }  # fmt: skip


def _write_uva(inv: Invocation, key: Pubkey, fields: dict[str, Any]) -> None:
    account = inv.read(key)
    lamports = account.lamports if account else inv.rent(USER_VOLUME_ACCUMULATOR_SIZE)
    data = encode_account("UserVolumeAccumulator", USER_VOLUME_ACCUMULATOR_LAYOUT, fields,
                          USER_VOLUME_ACCUMULATOR_SIZE)  # fmt: skip
    inv.write(key, Account(lamports, data, PUMP_AMM_PROGRAM_ID, False, 0))


# ---- create_pool, as pump's migrate calls it ----------------------------------------------------
@dataclass(frozen=True, slots=True)
class NewPool:
    creator: Pubkey  # signs (pump's pool-authority PDA for a canonical pool)
    payer: Pubkey  # pays the rent of the new accounts
    base_mint: Pubkey
    base_program: Pubkey
    creator_base: Pubkey  # the creator's token accounts the liquidity comes from
    creator_quote: Pubkey
    base_amount: int
    quote_amount: int
    coin_creator: Pubkey
    is_mayhem_mode: bool = False
    creator_fee_bps: int = 0
    can_edit_creator_fee: bool = False
    is_holder_reward: bool = False
    index: int = 0
    quote_mint: Pubkey = WSOL_MINT
    quote_program: Pubkey = TOKEN_PROGRAM_ID


@dataclass(frozen=True, slots=True)
class CreatedPool:
    pool: Pubkey
    lp_mint: Pubkey
    creator_lp_account: Pubkey
    lp_amount: int


def create_pool(inv: Invocation, p: NewPool) -> CreatedPool:
    """`create_pool` as the CPI of pump's `migrate` runs it (call inside `Invocation.cpi`): the
    pool account, its LP mint (Token-2022, authority the pool), both vaults, the liquidity moved
    from the creator's accounts, LP minted to the creator, `CreatePoolEvent`."""
    inv.log("Program log: Instruction: CreatePool")
    pool = pool_address(p.index, p.creator, p.base_mint, p.quote_mint)
    if inv.read(pool) is not None:
        raise ProgramError("AccountAlreadyInitialized", inv.logs)
    lp_mint = lp_mint_address(pool)
    base_vault = tix.associated_token_address(pool, p.base_mint, p.base_program)
    quote_vault = tix.associated_token_address(pool, p.quote_mint, p.quote_program)
    creator_lp = tix.associated_token_address(p.creator, lp_mint, TOKEN_2022_PROGRAM_ID)
    base_decimals = _decimals(inv, p.base_mint)
    quote_decimals = _decimals(inv, p.quote_mint)
    initial = pymath.isqrt(p.base_amount * p.quote_amount)
    lp_out = initial - MINIMUM_LIQUIDITY
    if lp_out <= 0:
        raise program_error(inv, 6003, "instructions/create_pool.rs:0")
    vault_authority = coin_creator_vault_authority(p.coin_creator)
    ixs = [
        create_account(CreateAccountParams(from_pubkey=p.payer, to_pubkey=pool,
                                           lamports=inv.rent(POOL_SIZE), space=POOL_SIZE,
                                           owner=PUMP_AMM_PROGRAM_ID)),
        create_account(CreateAccountParams(from_pubkey=p.payer, to_pubkey=lp_mint,
                                           lamports=inv.rent(MINT_LEN), space=MINT_LEN,
                                           owner=TOKEN_2022_PROGRAM_ID)),
        tix.initialize_mint2(TOKEN_2022_PROGRAM_ID, lp_mint, LP_DECIMALS, pool, None),
        tix.create_associated_token_account_idempotent(p.payer, pool, p.base_mint, p.base_program),
        tix.create_associated_token_account_idempotent(p.payer, pool, p.quote_mint,
                                                       p.quote_program),
        tix.create_associated_token_account_idempotent(p.payer, p.creator, lp_mint,
                                                       TOKEN_2022_PROGRAM_ID),
        tix.transfer_checked(p.base_program, p.creator_base, p.base_mint, base_vault, p.creator,
                             p.base_amount, base_decimals),
        tix.transfer_checked(p.quote_program, p.creator_quote, p.quote_mint, quote_vault,
                             p.creator, p.quote_amount, quote_decimals),
        tix.mint_to(TOKEN_2022_PROGRAM_ID, lp_mint, creator_lp, pool, lp_out),
    ]  # fmt: skip
    if p.coin_creator != ZERO:  # where the coin creator's fees will be paid
        ixs.append(tix.create_associated_token_account_idempotent(
            p.payer, vault_authority, p.quote_mint, p.quote_program))  # fmt: skip
    inv.invoke(ixs)
    bump = pool_bump(p.index, p.creator, p.base_mint, p.quote_mint)
    fields = {
        "pool_bump": bump, "index": p.index, "creator": p.creator, "base_mint": p.base_mint,
        "quote_mint": p.quote_mint, "lp_mint": lp_mint, "pool_base_token_account": base_vault,
        "pool_quote_token_account": quote_vault, "lp_supply": lp_out,
        "coin_creator": p.coin_creator, "is_mayhem_mode": p.is_mayhem_mode,
        "is_cashback_coin": False, "virtual_quote_reserves": 0,
        "creator_fee_bps": p.creator_fee_bps, "can_edit_creator_fee": p.can_edit_creator_fee,
        "is_holder_reward": p.is_holder_reward,
    }  # fmt: skip
    inv.write(pool, Account(inv.rent(POOL_SIZE), encode_account("Pool", POOL_LAYOUT, fields,
                                                                 POOL_SIZE),
                            PUMP_AMM_PROGRAM_ID, False, 0))  # fmt: skip
    inv.log(event_log(CREATE_POOL_EVENT_LAYOUT, {
        "timestamp": inv.now(), "index": p.index, "creator": p.creator, "base_mint": p.base_mint,
        "quote_mint": p.quote_mint, "base_mint_decimals": base_decimals,
        "quote_mint_decimals": quote_decimals, "base_amount_in": p.base_amount,
        "quote_amount_in": p.quote_amount, "pool_base_amount": token_amount(inv, base_vault),
        "pool_quote_amount": token_amount(inv, quote_vault),
        "minimum_liquidity": MINIMUM_LIQUIDITY, "initial_liquidity": initial,
        "lp_token_amount_out": lp_out, "pool_bump": bump, "pool": pool, "lp_mint": lp_mint,
        "user_base_token_account": p.creator_base, "user_quote_token_account": p.creator_quote,
        "coin_creator": p.coin_creator, "is_mayhem_mode": p.is_mayhem_mode,
        "creator_fee_bps": p.creator_fee_bps, "can_edit_creator_fee": p.can_edit_creator_fee,
        "is_holder_reward": p.is_holder_reward,
    }))  # fmt: skip
    inv.units += CREATE_POOL_UNITS
    return CreatedPool(pool, lp_mint, creator_lp, lp_out)


def _decimals(inv: Invocation, mint: Pubkey) -> int:
    account = inv.read(mint)
    if account is None:
        raise ProgramError({"Custom": ACCOUNT_NOT_INITIALIZED}, inv.logs)
    return mint_fields(bytes(account.data))[1]


def sync_native(account: Pubkey) -> Instruction:
    return Instruction(TOKEN_PROGRAM_ID, bytes([17]), [AccountMeta(account, False, True)])


__all__ = [
    "BUY_ACCOUNTS",
    "SELL_ACCOUNTS",
    "CreatedPool",
    "NewPool",
    "base_units",
    "create_pool",
    "handle",
    "sync_native",
]  # fmt: skip
