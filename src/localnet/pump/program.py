"""The pump.fun bonding-curve program (`6EF8rr...`), hosted by localnet (`localnet.pump`).

Instructions: `create`, `create_v2`, `buy`, `buy_exact_sol_in`, `sell`, `buy_v2`, `sell_v2`,
`migrate`, `migrate_v2` (`localnet.pump.migrate`);
anything else fails with Anchor's `InstructionFallbackNotFound` (101). Account positions, seeds and
argument layouts follow pump-sdk 2.0.0's IDL; checks and errors follow the program's (IDL error
codes, Anchor's constraint codes and log lines).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, Final

from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import (
    CreateAccountParams,
    TransferParams,
    create_account,
    transfer,
)

from localnet.encoding import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, mint_fields
from localnet.market import instructions as tix
from localnet.pump import anchor
from localnet.pump import curve as math
from localnet.pump.anchor import (
    ACCOUNT_NOT_INITIALIZED,
    ACCOUNT_OWNED_BY_WRONG_PROGRAM,
    CONSTRAINT_ADDRESS,
    CONSTRAINT_ASSOCIATED,
    INSTRUCTION_DID_NOT_DESERIALIZE,
    INSTRUCTION_FALLBACK_NOT_FOUND,
    Reader,
    account_error,
    framework_error,
    thrown,
)
from localnet.pump.borsh import Struct
from localnet.pump.hosted import Invocation, ProgramError
from localnet.pump.state import (
    BONDING_CURVE_LAYOUT,
    BONDING_CURVE_SIZE,
    COMPLETE_EVENT_LAYOUT,
    CREATE_EVENT_LAYOUT,
    EVENT_AUTHORITY,
    FEE_CONFIG,
    FEE_CONFIG_LAYOUT,
    GLOBAL,
    GLOBAL_LAYOUT,
    GLOBAL_VOLUME_ACCUMULATOR,
    MINT_AUTHORITY,
    NATIVE_MINT_2022,
    PUMP_FEE_PROGRAM_ID,
    PUMP_PROGRAM_ID,
    QUOTE_CONTROL,
    QUOTE_CONTROL_LAYOUT,
    SHARING_ACTIVE,
    SHARING_CONFIG_LAYOUT,
    TOKEN_DECIMALS,
    TRADE_EVENT_LAYOUT,
    USER_VOLUME_ACCUMULATOR_LAYOUT,
    USER_VOLUME_ACCUMULATOR_SIZE,
    ZERO,
    bonding_curve_address,
    bonding_curve_v2_address,
    creator_vault_address,
    decode_account,
    discriminator,
    encode_account,
    event_log,
    is_legacy_quote_mint,
    pump_pda,
    sharing_config_address,
    user_volume_accumulator_address,
)
from localnet.tokens.metadata import Metadata, encode_metadata, metadata_address

SYSTEM_PROGRAM: Final = tix.SYSTEM_PROGRAM_ID
WSOL: Final = tix.WSOL_MINT
METADATA_PROGRAM: Final = tix.METADATA_PROGRAM_ID
METADATA_LEN: Final = 679
MINT_LEN: Final = 82
MAX_NAME, MAX_SYMBOL, MAX_URI = 32, 10, 200

# IDL error codes (pump.json "errors")
NOT_AUTHORIZED = 6000
TOO_MUCH_SOL_REQUIRED = 6002
TOO_LITTLE_SOL_RECEIVED = 6003
BONDING_CURVE_COMPLETE = 6005
CREATOR_SHOULD_NOT_BE_ZERO = 6030
BUY_ZERO_AMOUNT = 6020
NOT_ENOUGH_TOKENS_TO_BUY = 6021
SELL_ZERO_AMOUNT = 6022
OVERFLOW = 6024
BUY_SLIPPAGE_BELOW_MIN_TOKENS_OUT = 6042
NAME_TOO_LONG, SYMBOL_TOO_LONG, URI_TOO_LONG = 6043, 6044, 6045
CREATE_V2_DISABLED = 6046
MAYHEM_MODE_DISABLED = 6048
BUYBACK_FEE_RECIPIENT_NOT_AUTHORIZED = 6057
BUYBACK_FEE_RECIPIENT_MISSING = 6062
UNSUPPORTED_QUOTE_MINT = 6063
NOT_ENOUGH_REMAINING_ACCOUNTS = 6027
INVALID_QUOTE_TOKEN_PROGRAM = 6064
INVALID_ASSOCIATED_QUOTE_BONDING_CURVE = 6065
MAYHEM_MODE_QUOTE_MINT_NOT_ALLOWED = 6071
MISSING_CASHBACK_ACCOUNTS = 6072
INVALID_CASHBACK_ACCUMULATOR = 6073
INVALID_BONDING_CURVE_V2 = 6074
INVALID_QUOTE_CONTROL = 6075
CREATOR_FEE_NOT_CONFIGURABLE = 6077
CREATOR_FEE_BPS_OUT_OF_RANGE = 6078
CASHBACK_DEPRECATED = 6082
HOLDER_REWARD_DISABLED = 6084
ERROR_NAMES: Final = {
    6000: ("NotAuthorized", "The given account is not authorized to execute this instruction."),
    6002: ("TooMuchSolRequired",
           "slippage: Too much SOL required to buy the given amount of tokens."),
    6003: ("TooLittleSolReceived",
           "slippage: Too little SOL received to sell the given amount of tokens."),
    6005: ("BondingCurveComplete",
           "The bonding curve has completed and liquidity migrated to raydium."),
    6020: ("BuyZeroAmount", "Buy zero amount"),
    6021: ("NotEnoughTokensToBuy", "Not enough tokens to buy"),
    6022: ("SellZeroAmount", "Sell zero amount"),
    6024: ("Overflow", "Overflow"),
    6030: ("CreatorShouldNotBeZero", "Creator should not be zero"),
    6042: ("BuySlippageBelowMinTokensOut",
           "Slippage: Would buy less tokens than expected min_tokens_out"),
    6043: ("NameTooLong", "NameTooLong"),
    6044: ("SymbolTooLong", "SymbolTooLong"),
    6045: ("UriTooLong", "UriTooLong"),
    6046: ("CreateV2Disabled", "CreateV2Disabled"),
    6048: ("MayhemModeDisabled", "MayhemModeDisabled"),
    6057: ("BuybackFeeRecipientNotAuthorized", "Buyback fee recipient not authorized"),
    6062: ("BuybackFeeRecipientMissing", "BuybackFeeRecipientMissing"),
    6063: ("UnsupportedQuoteMint", "Unsupported quote mint"),
    6027: ("NotEnoughRemainingAccounts", "Not enough remaining accounts"),
    6064: ("InvalidQuoteTokenProgram",
           "Create v2: quote token program must be SPL Token or Token-2022"),
    6065: ("InvalidAssociatedQuoteBondingCurve",
           "Create v2: associated quote bonding curve address does not match derivation"),
    6071: ("MayhemModeQuoteMintNotAllowed", "Mayhem mode quote mint not allowed"),
    6072: ("MissingCashbackAccounts", "Cashback trade is missing the required remaining accounts"),
    6073: ("InvalidCashbackAccumulator", "Cashback user_volume_accumulator account is invalid"),
    6074: ("InvalidBondingCurveV2", "bonding_curve_v2 remaining account is missing or invalid"),
    6075: ("InvalidQuoteControl",
           "quote_control remaining account does not match derivation or is uninitialized"),
    6077: ("CreatorFeeNotConfigurable", "Configurable creator fees are disabled"),
    6078: ("CreatorFeeBpsOutOfRange",
           "Creator fee basis points must be between 1 and the configured maximum"),
    6082: ("CashbackDeprecated", "Cashback coins can no longer be created"),
    6084: ("HolderRewardDisabled", "Holder-reward coins are disabled"),
}  # fmt: skip

IX_NAMES: Final = ("create", "create_v2", "buy", "buy_exact_sol_in", "sell", "buy_v2", "sell_v2",
                   "migrate", "migrate_v2")  # fmt: skip
DISCRIMINATORS: Final = {discriminator("global", name): name for name in IX_NAMES}
_PASCAL: Final = {
    "create": "Create", "create_v2": "CreateV2", "buy": "Buy",
    "buy_exact_sol_in": "BuyExactSolIn", "sell": "Sell", "buy_v2": "BuyV2", "sell_v2": "SellV2",
    "migrate": "Migrate", "migrate_v2": "MigrateV2",
}  # fmt: skip
BASE_UNITS: Final = {
    "create": 36_000, "create_v2": 42_000, "buy": 28_000, "buy_exact_sol_in": 29_000,
    "sell": 26_000, "buy_v2": 31_000, "sell_v2": 29_000, "migrate": 60_000, "migrate_v2": 62_000,
}  # fmt: skip


# ---- errors as the program logs them -----------------------------------------------------------
def program_error(
    inv: Invocation, code: int, source: str = "instructions/trade.rs:0"
) -> ProgramError:
    return thrown(inv, code, ERROR_NAMES, f"programs/pump/src/{source}")


class Accounts(anchor.Accounts):
    def load(  # type: ignore[override]
        self, name: str, kind: str, layout: Struct, owner: Pubkey
    ) -> dict[str, Any]:
        return super().load(name, kind, layout, owner, decode_account)


_Reader = Reader


def _system_transfer(source: Pubkey, dest: Pubkey, lamports: int) -> list[Instruction]:
    if lamports <= 0:
        return []
    return [transfer(TransferParams(from_pubkey=source, to_pubkey=dest, lamports=lamports))]


# ---- the program ------------------------------------------------------------------------------
def handle(inv: Invocation) -> None:
    if len(inv.data) < 8 or inv.data[:8] not in DISCRIMINATORS:
        raise framework_error(inv, INSTRUCTION_FALLBACK_NOT_FOUND)
    name = DISCRIMINATORS[inv.data[:8]]
    inv.log(f"Program log: Instruction: {_PASCAL[name]}")
    reader = _Reader(inv.data[8:])
    try:
        if name in ("create", "create_v2"):
            _create(inv, reader, v2=name == "create_v2")
        elif name in ("migrate", "migrate_v2"):
            from localnet.pump.migrate import migrate  # imports PumpSwap, which imports us

            migrate(inv, v2=name == "migrate_v2")
        else:
            _trade(inv, reader, name)
    except ValueError as exc:
        if "too short" in str(exc) or "decode" in str(exc):
            raise framework_error(inv, INSTRUCTION_DID_NOT_DESERIALIZE) from exc
        raise


def base_units(inv: Invocation) -> int:
    return BASE_UNITS.get(DISCRIMINATORS.get(inv.data[:8], ""), 2_000)


CREATE_ACCOUNTS: Final = (
    "mint", "mint_authority", "bonding_curve", "associated_bonding_curve", "global",
    "mpl_token_metadata", "metadata", "user", "system_program", "token_program",
    "associated_token_program", "rent", "event_authority", "program",
)  # fmt: skip
CREATE_V2_ACCOUNTS: Final = (
    "mint", "mint_authority", "bonding_curve", "associated_bonding_curve", "global", "user",
    "system_program", "token_program", "associated_token_program", "mayhem_program_id",
    "global_params", "sol_vault", "mayhem_state", "mayhem_token_vault", "event_authority",
    "program",
)  # fmt: skip


def _create(inv: Invocation, r: _Reader, *, v2: bool) -> None:
    acc = Accounts(inv, CREATE_V2_ACCOUNTS if v2 else CREATE_ACCOUNTS)
    name, symbol, uri, creator = r.string(), r.string(), r.string(), r.pubkey()
    mayhem = r.boolean() if v2 else False
    cashback = r.optional_bool() if v2 else False
    creator_fee_bps = r.optional_u64() if v2 else 0
    holder_reward = r.optional_bool() if v2 else False
    acc.signer("mint", "user")
    acc.writable("mint", "bonding_curve", "associated_bonding_curve", "user")
    token_program = TOKEN_2022_PROGRAM_ID if v2 else TOKEN_PROGRAM_ID
    acc.expect("token_program", token_program, CONSTRAINT_ADDRESS)
    acc.expect("system_program", SYSTEM_PROGRAM, CONSTRAINT_ADDRESS)
    acc.expect("mint_authority", MINT_AUTHORITY)
    acc.expect("global", GLOBAL)
    acc.expect("event_authority", EVENT_AUTHORITY)
    mint, user = acc.key("mint"), acc.key("user")
    curve_key = acc.expect("bonding_curve", bonding_curve_address(mint))
    curve_ata = acc.expect(
        "associated_bonding_curve", tix.associated_token_address(curve_key, mint, token_program)
    )
    global_ = acc.load("global", "Global", GLOBAL_LAYOUT, PUMP_PROGRAM_ID)
    if not v2:
        acc.expect("mpl_token_metadata", METADATA_PROGRAM, CONSTRAINT_ADDRESS)
        acc.expect("metadata", metadata_address(mint))
    if v2 and not global_["create_v2_enabled"]:
        raise program_error(inv, CREATE_V2_DISABLED, "instructions/create_v2.rs:0")
    if mayhem and not global_["mayhem_mode_enabled"]:
        raise program_error(inv, MAYHEM_MODE_DISABLED, "instructions/create_v2.rs:0")
    if cashback:
        raise program_error(inv, CASHBACK_DEPRECATED, "instructions/create_v2.rs:0")
    if holder_reward and not global_["is_holder_reward_enabled"]:
        raise program_error(inv, HOLDER_REWARD_DISABLED, "instructions/create_v2.rs:0")
    quote = _create_quote(inv, acc, global_, curve_key, mayhem, creator_fee_bps) if v2 else None
    limits = ((name, MAX_NAME, NAME_TOO_LONG), (symbol, MAX_SYMBOL, SYMBOL_TOO_LONG),
              (uri, MAX_URI, URI_TOO_LONG))  # fmt: skip
    for text, limit, code in limits:
        if len(text.encode()) > limit:
            raise program_error(inv, code, "instructions/create.rs:0")
    if creator == ZERO:
        raise program_error(inv, CREATOR_SHOULD_NOT_BE_ZERO, "instructions/create.rs:0")
    if holder_reward:
        creator = pump_pda(b"holder-rewards", bytes(mint))

    supply = int(global_["token_total_supply"])
    ixs: list[Instruction] = []
    if v2:
        meta_len = 4 + 32 + 32 + sum(4 + len(t.encode()) for t in (name, symbol, uri)) + 4
        base_len = tix.ACCOUNT_BASE_LEN + 1 + 4 + 64  # mint + MetadataPointer
        ixs += [
            create_account(CreateAccountParams(
                from_pubkey=user, to_pubkey=mint, lamports=inv.rent(base_len + meta_len),
                space=base_len, owner=token_program)),
            _initialize_metadata_pointer(mint, MINT_AUTHORITY, mint),
            tix.initialize_mint2(token_program, mint, TOKEN_DECIMALS, user, None),
            _initialize_token_metadata(mint, MINT_AUTHORITY, user, name, symbol, uri),
        ]  # fmt: skip
    else:
        ixs += [
            create_account(CreateAccountParams(
                from_pubkey=user, to_pubkey=mint, lamports=inv.rent(MINT_LEN), space=MINT_LEN,
                owner=token_program)),
            tix.initialize_mint2(token_program, mint, TOKEN_DECIMALS, user, None),
        ]  # fmt: skip
    existing_curve = inv.read(curve_key)
    curve_rent = inv.rent(BONDING_CURVE_SIZE) - (existing_curve.lamports if existing_curve else 0)
    ixs += _system_transfer(user, curve_key, curve_rent)
    if quote is not None:  # the curve's quote account: created, not idempotently
        ata_ix = tix.create_associated_token_account_idempotent(
            user, curve_key, quote.mint, quote.token_program
        )
        ixs.append(Instruction(ata_ix.program_id, b"", ata_ix.accounts))
    ixs += [
        tix.create_associated_token_account_idempotent(user, curve_key, mint, token_program),
        tix.mint_to(token_program, mint, curve_ata, user, supply),
        tix.set_authority(token_program, mint, user, tix.AUTHORITY_MINT_TOKENS, None),
    ]
    metadata = metadata_address(mint)
    if not v2:
        ixs += _system_transfer(user, metadata, inv.rent(METADATA_LEN))
    inv.invoke(ixs)

    curve = {
        "virtual_token_reserves": global_["initial_virtual_token_reserves"],
        "virtual_quote_reserves": (
            global_["initial_virtual_sol_reserves"] if quote is None else quote.virtual_reserves
        ),
        "real_token_reserves": global_["initial_real_token_reserves"],
        "real_quote_reserves": 0, "token_total_supply": supply, "complete": False,
        "creator": creator, "is_mayhem_mode": mayhem, "is_cashback_coin": False,
        "quote_mint": ZERO if quote is None else quote.mint,
        "creator_fee_bps": 0 if quote is None else quote.creator_fee_bps,
        "can_edit_creator_fee": False, "is_holder_reward": holder_reward,
    }  # fmt: skip
    funded = inv.read(curve_key)
    inv.write(curve_key, Account(
        funded.lamports if funded else inv.rent(BONDING_CURVE_SIZE),
        encode_account("BondingCurve", BONDING_CURVE_LAYOUT, curve, BONDING_CURVE_SIZE),
        PUMP_PROGRAM_ID, False, 0))  # fmt: skip
    if not v2:
        meta = Metadata(MINT_AUTHORITY, mint, name, symbol, uri, is_mutable=False)
        funded_meta = inv.read(metadata)
        inv.write(metadata, Account(
            funded_meta.lamports if funded_meta else inv.rent(METADATA_LEN),
            encode_metadata(meta), METADATA_PROGRAM, False, 0))  # fmt: skip
    inv.log(event_log(CREATE_EVENT_LAYOUT, {
        "name": name, "symbol": symbol, "uri": uri, "mint": mint, "bonding_curve": curve_key,
        "user": user, "creator": creator, "timestamp": inv.now(),
        "virtual_token_reserves": curve["virtual_token_reserves"],
        "virtual_sol_reserves": curve["virtual_quote_reserves"],
        "real_token_reserves": curve["real_token_reserves"], "token_total_supply": supply,
        "token_program": token_program, "is_mayhem_mode": mayhem, "is_cashback_enabled": False,
        "quote_mint": curve["quote_mint"],
        "virtual_quote_reserves": curve["virtual_quote_reserves"],
        "creator_fee_bps": curve["creator_fee_bps"], "is_holder_reward": holder_reward,
    }))  # fmt: skip


@dataclass(frozen=True, slots=True)
class CreateQuote:
    """The non-SOL quote a `create_v2` selected with its remaining accounts."""

    mint: Pubkey
    token_program: Pubkey
    curve_ata: Pubkey
    virtual_reserves: int
    creator_fee_bps: int


def _create_quote(
    inv: Invocation, acc: Accounts, global_: dict[str, Any], curve_key: Pubkey, mayhem: bool,
    creator_fee_bps: int,
) -> CreateQuote | None:  # fmt: skip
    """`create_v2`'s remaining accounts: none (or WSOL / the zero key first) = SOL; else
    [quote mint, the curve's quote ATA, the quote token program, the QuoteControl PDA]."""
    src = "instructions/create_v2.rs:0"
    remaining = acc.remaining()
    if not remaining or is_legacy_quote_mint(remaining[0].pubkey):
        return None
    quote_mint = remaining[0].pubkey
    if quote_mint == NATIVE_MINT_2022:
        raise program_error(inv, UNSUPPORTED_QUOTE_MINT, src)
    if len(remaining) < 3:
        raise program_error(inv, NOT_ENOUGH_REMAINING_ACCOUNTS, src)
    quote_program = remaining[2].pubkey
    if quote_program not in (TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID):
        raise program_error(inv, INVALID_QUOTE_TOKEN_PROGRAM, src)
    mint_account = inv.read(quote_mint)
    if mint_account is None or mint_account.owner != quote_program:
        raise program_error(inv, UNSUPPORTED_QUOTE_MINT, src)
    curve_ata = tix.associated_token_address(curve_key, quote_mint, quote_program)
    if remaining[1].pubkey != curve_ata or not remaining[1].is_writable:
        raise program_error(inv, INVALID_ASSOCIATED_QUOTE_BONDING_CURVE, src)
    if quote_mint in global_["whitelisted_quote_mints"]:
        # a Global-whitelisted quote seeds from Global; creator_fee_bps is ignored
        return CreateQuote(quote_mint, quote_program, curve_ata,
                           int(global_["initial_virtual_quote_reserves"]), 0)  # fmt: skip
    if len(remaining) < 4:
        raise program_error(inv, UNSUPPORTED_QUOTE_MINT, src)
    if remaining[3].pubkey != QUOTE_CONTROL:
        raise program_error(inv, INVALID_QUOTE_CONTROL, src)
    control = inv.read(QUOTE_CONTROL)
    fields = None
    if control is not None and control.owner == PUMP_PROGRAM_ID:
        fields = decode_account("QuoteControl", QUOTE_CONTROL_LAYOUT, bytes(control.data))
    if fields is None:
        raise program_error(inv, INVALID_QUOTE_CONTROL, src)
    entry = next((m for m in fields["mints"] if m["mint"] == quote_mint), None)
    if entry is None:
        raise program_error(inv, UNSUPPORTED_QUOTE_MINT, src)
    if mayhem:
        raise program_error(inv, MAYHEM_MODE_QUOTE_MINT_NOT_ALLOWED, src)
    if creator_fee_bps:
        if not global_["creator_fee_configurable"]:
            raise program_error(inv, CREATOR_FEE_NOT_CONFIGURABLE, src)
        if not 1 <= creator_fee_bps <= global_["max_configurable_creator_fee_bps"]:
            raise program_error(inv, CREATOR_FEE_BPS_OUT_OF_RANGE, src)
    return CreateQuote(quote_mint, quote_program, curve_ata,
                       int(entry["initial_virtual_quote_reserves"]), creator_fee_bps)  # fmt: skip


def _initialize_metadata_pointer(mint: Pubkey, authority: Pubkey, address: Pubkey) -> Instruction:
    data = bytes([39, 0]) + bytes(authority) + bytes(address)
    return Instruction(TOKEN_2022_PROGRAM_ID, data, [AccountMeta(mint, False, True)])


_TOKEN_METADATA_INITIALIZE: Final = discriminator(
    "spl_token_metadata_interface", "initialize_account"
)


def _initialize_token_metadata(
    mint: Pubkey, update_authority: Pubkey, mint_authority: Pubkey, name: str, symbol: str, uri: str
) -> Instruction:
    data = _TOKEN_METADATA_INITIALIZE + b"".join(
        struct.pack("<I", len(t.encode())) + t.encode() for t in (name, symbol, uri)
    )
    return Instruction(TOKEN_2022_PROGRAM_ID, data, [
        AccountMeta(mint, False, True), AccountMeta(update_authority, False, False),
        AccountMeta(mint, False, False), AccountMeta(mint_authority, True, False),
    ])  # fmt: skip


# ---- trades -----------------------------------------------------------------------------------
LEGACY_BUY_ACCOUNTS: Final = (
    "global", "fee_recipient", "mint", "bonding_curve", "associated_bonding_curve",
    "associated_user", "user", "system_program", "token_program", "creator_vault",
    "event_authority", "program", "global_volume_accumulator", "user_volume_accumulator",
    "fee_config", "fee_program",
)  # fmt: skip
LEGACY_SELL_ACCOUNTS: Final = (
    "global", "fee_recipient", "mint", "bonding_curve", "associated_bonding_curve",
    "associated_user", "user", "system_program", "creator_vault", "token_program",
    "event_authority", "program", "fee_config", "fee_program",
)  # fmt: skip
_V2_HEAD: Final = (
    "global", "base_mint", "quote_mint", "base_token_program", "quote_token_program",
    "associated_token_program", "fee_recipient", "associated_quote_fee_recipient",
    "buyback_fee_recipient", "associated_quote_buyback_fee_recipient", "bonding_curve",
    "associated_base_bonding_curve", "associated_quote_bonding_curve", "user",
    "associated_base_user", "associated_quote_user", "creator_vault", "associated_creator_vault",
    "sharing_config",
)  # fmt: skip
BUY_V2_ACCOUNTS: Final = (*_V2_HEAD, "global_volume_accumulator", "user_volume_accumulator",
    "associated_user_volume_accumulator", "fee_config", "fee_program", "system_program",
    "event_authority", "program")  # fmt: skip
SELL_V2_ACCOUNTS: Final = (*_V2_HEAD, "user_volume_accumulator",
    "associated_user_volume_accumulator", "fee_config", "fee_program", "system_program",
    "event_authority", "program")  # fmt: skip


@dataclass
class TradeKeys:
    mint: Pubkey
    token_program: Pubkey
    fee_recipient: Pubkey
    buyback: Pubkey
    curve: Pubkey
    curve_ata: Pubkey
    user: Pubkey
    user_ata: Pubkey
    creator_vault: Pubkey
    uva: Pubkey | None
    quote: TradeQuote | None = None  # None: SOL (lamports); else the quote token's accounts
    shareholders: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TradeQuote:
    """A non-SOL curve's quote legs: every amount moves as `mint` between these accounts."""

    mint: Pubkey
    token_program: Pubkey
    decimals: int
    user_ata: Pubkey
    curve_ata: Pubkey
    fee_ata: Pubkey
    buyback_ata: Pubkey

    def ata(self, owner: Pubkey) -> Pubkey:
        return tix.associated_token_address(owner, self.mint, self.token_program)


def _trade(inv: Invocation, r: _Reader, name: str) -> None:
    v2 = name.endswith("_v2")
    is_buy = name.startswith("buy")
    if v2:
        acc = Accounts(inv, BUY_V2_ACCOUNTS if is_buy else SELL_V2_ACCOUNTS)
    else:
        acc = Accounts(inv, LEGACY_BUY_ACCOUNTS if is_buy else LEGACY_SELL_ACCOUNTS)
    amount, limit = r.u64(), r.u64()
    track_volume = r.optional_bool(True) if name in ("buy", "buy_exact_sol_in") else True
    mint = acc.key("base_mint" if v2 else "mint")
    token_program = acc.key("base_token_program" if v2 else "token_program")
    acc.signer("user")
    acc.writable("user", "bonding_curve", "fee_recipient", "creator_vault")
    acc.expect("global", GLOBAL)
    acc.expect("event_authority", EVENT_AUTHORITY)
    acc.expect("program", PUMP_PROGRAM_ID, CONSTRAINT_ADDRESS)
    acc.expect("fee_program", PUMP_FEE_PROGRAM_ID, CONSTRAINT_ADDRESS)
    acc.expect("system_program", SYSTEM_PROGRAM, CONSTRAINT_ADDRESS)
    curve_key = acc.expect("bonding_curve", bonding_curve_address(mint))
    acc.expect("fee_config", FEE_CONFIG)
    global_ = acc.load("global", "Global", GLOBAL_LAYOUT, PUMP_PROGRAM_ID)
    curve = acc.load("bonding_curve", "BondingCurve", BONDING_CURVE_LAYOUT, PUMP_PROGRAM_ID)
    fee_config = acc.load("fee_config", "FeeConfig", FEE_CONFIG_LAYOUT, PUMP_FEE_PROGRAM_ID)
    mint_account = inv.read(mint)
    if mint_account is None:
        raise account_error(inv, ACCOUNT_NOT_INITIALIZED, "base_mint" if v2 else "mint")
    if mint_account.owner != token_program:
        raise account_error(inv, ACCOUNT_OWNED_BY_WRONG_PROGRAM, "base_mint" if v2 else "mint",
                            mint_account.owner, token_program)  # fmt: skip
    curve_ata = acc.expect(
        "associated_base_bonding_curve" if v2 else "associated_bonding_curve",
        tix.associated_token_address(curve_key, mint, token_program),
    )
    user = acc.key("user")
    creator_vault = acc.expect("creator_vault", creator_vault_address(curve["creator"]))
    sol_curve = is_legacy_quote_mint(curve["quote_mint"])
    uva: Pubkey | None = None
    quote: TradeQuote | None = None
    shareholders: list[dict[str, Any]] = []
    if v2:
        quote_mint, quote_program = acc.key("quote_mint"), acc.key("quote_token_program")
        if quote_mint != (WSOL if sol_curve else curve["quote_mint"]):
            raise program_error(inv, UNSUPPORTED_QUOTE_MINT)
        for ata_name, owner in (
            ("associated_quote_fee_recipient", acc.key("fee_recipient")),
            ("associated_quote_buyback_fee_recipient", acc.key("buyback_fee_recipient")),
            ("associated_quote_bonding_curve", curve_key),
            ("associated_creator_vault", creator_vault),
        ):
            acc.expect(ata_name, tix.associated_token_address(owner, quote_mint, quote_program))
        acc.expect("sharing_config", sharing_config_address(mint))
        uva = acc.expect("user_volume_accumulator", user_volume_accumulator_address(user))
        acc.expect("associated_user_volume_accumulator",
                   tix.associated_token_address(uva, quote_mint, quote_program))  # fmt: skip
        if is_buy:
            acc.expect("global_volume_accumulator", GLOBAL_VOLUME_ACCUMULATOR)
        buyback = acc.key("buyback_fee_recipient")
        user_ata = acc.key("associated_base_user")
        if not sol_curve:
            quote = _trade_quote(inv, acc, quote_mint, quote_program, user, curve_key)
        shareholders = _shareholders(inv, acc.key("sharing_config"), mint)
    else:
        if not sol_curve:  # the legacy instructions move lamports: SOL curves only
            raise program_error(inv, UNSUPPORTED_QUOTE_MINT)
        if is_buy:
            acc.expect("global_volume_accumulator", GLOBAL_VOLUME_ACCUMULATOR)
            uva = acc.expect("user_volume_accumulator", user_volume_accumulator_address(user))
        remaining = acc.remaining()
        if not is_buy and curve["is_cashback_coin"]:
            # a cashback coin's legacy sell names the seller's volume accumulator first
            if not remaining:
                raise program_error(inv, MISSING_CASHBACK_ACCOUNTS)
            if remaining[0].pubkey != user_volume_accumulator_address(user):
                raise program_error(inv, INVALID_CASHBACK_ACCUMULATOR)
            uva, remaining = remaining[0].pubkey, remaining[1:]
        if not remaining:
            raise program_error(inv, OVERFLOW)  # what mainnet reports without bonding-curve-v2
        if remaining[0].pubkey != bonding_curve_v2_address(mint):
            raise program_error(inv, INVALID_BONDING_CURVE_V2)
        if len(remaining) < 2:
            raise program_error(inv, BUYBACK_FEE_RECIPIENT_MISSING)
        buyback = remaining[1].pubkey
        user_ata = acc.key("associated_user")
    if curve["complete"]:
        raise program_error(inv, BONDING_CURVE_COMPLETE)
    recipients = (
        [global_["reserved_fee_recipient"], *global_["reserved_fee_recipients"]]
        if curve["is_mayhem_mode"]
        else [global_["fee_recipient"], *global_["fee_recipients"]]
    )
    fee_recipient = acc.key("fee_recipient")
    if fee_recipient not in recipients:
        raise program_error(inv, NOT_AUTHORIZED)
    if buyback not in global_["buyback_fee_recipients"]:
        raise program_error(inv, BUYBACK_FEE_RECIPIENT_NOT_AUTHORIZED)
    keys = TradeKeys(mint, token_program, fee_recipient, buyback, curve_key, curve_ata, user,
                     user_ata, creator_vault, uva, quote, shareholders)  # fmt: skip
    decimals = mint_fields(bytes(mint_account.data))[1]
    rates = math.fee_rates(global_, fee_config, curve)
    if is_buy:
        _buy(inv, keys, global_, curve, rates, name, amount, limit, decimals, track_volume)
    else:
        _sell(inv, keys, global_, curve, rates, name, amount, limit, decimals)


def _trade_quote(
    inv: Invocation, acc: Accounts, quote_mint: Pubkey, quote_program: Pubkey, user: Pubkey,
    curve_key: Pubkey,
) -> TradeQuote:  # fmt: skip
    """A token-quoted trade's checks: the quote token program owns the quote mint, and the
    user's quote account is the canonical associated token account (the program's
    `validate_user_quote_token_account`)."""
    mint_account = inv.read(quote_mint)
    if mint_account is None or mint_account.owner != quote_program:
        raise program_error(inv, UNSUPPORTED_QUOTE_MINT)
    acc.writable("associated_quote_user", "associated_quote_bonding_curve",
                 "associated_quote_fee_recipient", "associated_quote_buyback_fee_recipient",
                 "associated_creator_vault")  # fmt: skip
    user_quote = acc.expect(
        "associated_quote_user",
        tix.associated_token_address(user, quote_mint, quote_program),
        CONSTRAINT_ASSOCIATED,
    )
    return TradeQuote(
        quote_mint, quote_program, mint_fields(bytes(mint_account.data))[1], user_quote,
        tix.associated_token_address(curve_key, quote_mint, quote_program),
        acc.key("associated_quote_fee_recipient"),
        acc.key("associated_quote_buyback_fee_recipient"),
    )  # fmt: skip


def _shareholders(inv: Invocation, key: Pubkey, mint: Pubkey) -> list[dict[str, Any]]:
    """The fee-sharing shareholders the TradeEvent lists: those of an active `SharingConfig`
    (the account may be uninitialized: the program checks before reading, so does this)."""
    account = inv.read(key)
    if account is None or account.owner != PUMP_FEE_PROGRAM_ID or not account.data:
        return []
    fields = decode_account("SharingConfig", SHARING_CONFIG_LAYOUT, bytes(account.data))
    if fields is None or fields["mint"] != mint or fields["status"] != SHARING_ACTIVE:
        return []
    return [dict(s) for s in fields["shareholders"]]


def _split(curve: dict[str, Any], creator_fee: int) -> tuple[int, int]:
    """(creator fee, cashback): a cashback coin pays the creator's share back to the trader."""
    return (0, creator_fee) if curve["is_cashback_coin"] else (creator_fee, 0)


def _pay(
    k: TradeKeys, source: Pubkey, dest_owner: Pubkey, amount: int, payer: Pubkey,
    *, create: bool,
) -> list[Instruction]:  # fmt: skip
    """`amount` of the quote token from `source` to `dest_owner`'s quote ATA (opened, paid by
    `payer`, when `create`); the source's authority is the user (owner or delegate)."""
    q = k.quote
    assert q is not None
    if amount <= 0:
        return []
    out: list[Instruction] = []
    if create:
        out.append(tix.create_associated_token_account_idempotent(payer, dest_owner, q.mint,
                                                                  q.token_program))  # fmt: skip
    out.append(tix.transfer_checked(q.token_program, source, q.mint, q.ata(dest_owner), k.user,
                                    amount, q.decimals))  # fmt: skip
    return out


def _buy(
    inv: Invocation, k: TradeKeys, global_: dict[str, Any], curve: dict[str, Any],
    rates: math.FeeRates, name: str, amount: int, limit: int, decimals: int, track_volume: bool,
) -> None:  # fmt: skip
    if amount == 0:
        raise program_error(inv, BUY_ZERO_AMOUNT)
    if name == "buy_exact_sol_in":
        tokens, sol = math.exact_sol_in_tokens(curve, amount, rates)
        tokens = min(tokens, curve["real_token_reserves"])
        if tokens == 0:
            raise program_error(inv, NOT_ENOUGH_TOKENS_TO_BUY)
        if tokens < limit:
            raise program_error(inv, BUY_SLIPPAGE_BELOW_MIN_TOKENS_OUT)
        max_cost = amount
    else:
        tokens = min(amount, curve["real_token_reserves"])
        if tokens == 0:
            raise program_error(inv, NOT_ENOUGH_TOKENS_TO_BUY)
        sol = math.buy_cost(curve, tokens)
        max_cost = limit
    protocol = math.fee(sol, rates.protocol_bps)
    creator_fee, cashback = _split(curve, math.fee(sol, rates.creator_bps))
    if sol + protocol + creator_fee + cashback > max_cost:
        raise program_error(inv, TOO_MUCH_SOL_REQUIRED)
    buyback = protocol * global_["buyback_basis_points"] // 10_000
    uva_fields: dict[str, Any] | None
    if k.quote is None:
        ixs = _system_transfer(k.user, k.curve, sol)
        ixs += _system_transfer(k.user, k.fee_recipient, protocol - buyback)
        ixs += _system_transfer(k.user, k.buyback, buyback)
        vault = inv.read(k.creator_vault)
        vault_lamports = vault.lamports if vault else 0
        top_up = max(0, inv.rent(0) - vault_lamports - creator_fee) if creator_fee else 0
        ixs += _system_transfer(k.user, k.creator_vault, creator_fee + top_up)
        uva_fields = _user_volume(inv, k, ixs)
        if cashback and k.uva is not None:
            ixs += _system_transfer(k.user, k.uva, cashback)
    else:
        q = k.quote
        ixs = _pay(k, q.user_ata, k.curve, sol, k.user, create=False)
        ixs += _pay(k, q.user_ata, k.fee_recipient, protocol - buyback, k.user, create=False)
        ixs += _pay(k, q.user_ata, k.buyback, buyback, k.user, create=False)
        ixs += _pay(k, q.user_ata, k.creator_vault, creator_fee, k.user, create=True)
        uva_fields = _user_volume(inv, k, ixs)
        if cashback and k.uva is not None:
            ixs += _pay(k, q.user_ata, k.uva, cashback, k.user, create=True)
    # The curve's token account pays out: the program signs for it; here the user is made its
    # delegate for exactly `tokens` (the token program clears the delegate when it is used up).
    _delegate(inv, k.curve_ata, k.user, tokens)
    ixs.append(tix.transfer_checked(k.token_program, k.curve_ata, k.mint, k.user_ata, k.user,
                                    tokens, decimals))  # fmt: skip
    inv.invoke(ixs)
    after = dict(curve)
    after["virtual_token_reserves"] -= tokens
    after["virtual_quote_reserves"] += sol
    after["real_token_reserves"] -= tokens
    after["real_quote_reserves"] += sol
    complete = after["real_token_reserves"] == 0
    after["complete"] = complete
    _write_curve(inv, k.curve, after)
    if uva_fields is not None and k.uva is not None:
        if track_volume and k.quote is None:  # the volume that earns PUMP is SOL volume
            uva_fields["current_sol_volume"] += sol
            uva_fields["last_update_timestamp"] = inv.now()
        _earn_cashback(uva_fields, k, cashback)
        _write_uva(inv, k.uva, uva_fields)
    _trade_event(inv, k, after, rates, name, sol, tokens, True, protocol, creator_fee, buyback,
                 global_, uva_fields, track_volume, cashback)  # fmt: skip
    if complete:
        inv.log(event_log(COMPLETE_EVENT_LAYOUT, {
            "user": k.user, "mint": k.mint, "bonding_curve": k.curve, "timestamp": inv.now(),
            "quote_mint": after["quote_mint"],
        }))  # fmt: skip


def _earn_cashback(fields: dict[str, Any], k: TradeKeys, cashback: int) -> None:
    if cashback:
        key = "cashback_earned" if k.quote is None else "stable_cashback_earned"
        fields[key] += cashback


def _sell(
    inv: Invocation, k: TradeKeys, global_: dict[str, Any], curve: dict[str, Any],
    rates: math.FeeRates, name: str, amount: int, limit: int, decimals: int,
) -> None:  # fmt: skip
    if amount == 0:
        raise program_error(inv, SELL_ZERO_AMOUNT)
    sol = math.sell_proceeds(curve, amount)
    protocol = math.fee(sol, rates.protocol_bps)
    creator_fee, cashback = _split(curve, math.fee(sol, rates.creator_bps))
    proceeds = sol - protocol - creator_fee - cashback
    if proceeds < limit:
        raise program_error(inv, TOO_LITTLE_SOL_RECEIVED)
    if sol > curve["real_quote_reserves"]:
        raise program_error(inv, OVERFLOW)
    buyback = protocol * global_["buyback_basis_points"] // 10_000
    ixs = [tix.transfer_checked(k.token_program, k.user_ata, k.mint, k.curve_ata, k.user, amount,
                                decimals)]  # fmt: skip
    uva_fields = _user_volume(inv, k, ixs) if k.uva is not None else None
    if k.quote is None:
        inv.invoke(ixs)
        inv.move_lamports(k.curve, k.user, proceeds)
        inv.move_lamports(k.curve, k.fee_recipient, protocol - buyback)
        inv.move_lamports(k.curve, k.buyback, buyback)
        inv.move_lamports(k.curve, k.creator_vault, creator_fee)
        if cashback and k.uva is not None:
            inv.move_lamports(k.curve, k.uva, cashback)
    else:
        # The curve's quote account pays out: the user is made its delegate for exactly what
        # leaves it (proceeds and fees), as for the base token on a buy.
        q = k.quote
        _delegate(inv, q.curve_ata, k.user, sol)
        ixs += _pay(k, q.curve_ata, k.user, proceeds, k.user, create=True)
        ixs += _pay(k, q.curve_ata, k.fee_recipient, protocol - buyback, k.user, create=False)
        ixs += _pay(k, q.curve_ata, k.buyback, buyback, k.user, create=False)
        ixs += _pay(k, q.curve_ata, k.creator_vault, creator_fee, k.user, create=True)
        if cashback and k.uva is not None:
            ixs += _pay(k, q.curve_ata, k.uva, cashback, k.user, create=True)
        inv.invoke(ixs)
    after = dict(curve)
    after["virtual_token_reserves"] += amount
    after["virtual_quote_reserves"] -= sol
    after["real_token_reserves"] += amount
    after["real_quote_reserves"] -= sol
    _write_curve(inv, k.curve, after)
    if uva_fields is not None and k.uva is not None:
        _earn_cashback(uva_fields, k, cashback)
        _write_uva(inv, k.uva, uva_fields)
    _trade_event(inv, k, after, rates, name, sol, amount, False, protocol, creator_fee, buyback,
                 global_, uva_fields, True, cashback)  # fmt: skip


def _delegate(inv: Invocation, token_account: Pubkey, delegate: Pubkey, amount: int) -> None:
    account = inv.read(token_account)
    if account is None:
        raise ProgramError({"Custom": ACCOUNT_NOT_INITIALIZED}, inv.logs)
    data = bytearray(account.data)
    data[72:76] = (1).to_bytes(4, "little")
    data[76:108] = bytes(delegate)
    data[121:129] = amount.to_bytes(8, "little")
    inv.write(token_account, Account(account.lamports, bytes(data), account.owner, False, 0))


def _user_volume(inv: Invocation, k: TradeKeys, ixs: list[Instruction]) -> dict[str, Any] | None:
    """The user's volume accumulator (created, rent paid by the user, when missing)."""
    if k.uva is None:
        return None
    account = inv.read(k.uva)
    if account is not None and account.owner == PUMP_PROGRAM_ID:
        fields = decode_account("UserVolumeAccumulator", USER_VOLUME_ACCUMULATOR_LAYOUT,
                                bytes(account.data))  # fmt: skip
        if fields is not None:
            return fields
    have = account.lamports if account else 0
    ixs += _system_transfer(k.user, k.uva, max(0, inv.rent(USER_VOLUME_ACCUMULATOR_SIZE) - have))
    return {
        "user": k.user, "needs_claim": False, "total_unclaimed_tokens": 0,
        "total_claimed_tokens": 0, "current_sol_volume": 0, "last_update_timestamp": 0,
        "has_total_claimed_tokens": True, "cashback_earned": 0, "total_cashback_claimed": 0,
        "stable_cashback_earned": 0, "total_stable_cashback_claimed": 0,
    }  # fmt: skip


def _write_uva(inv: Invocation, key: Pubkey, fields: dict[str, Any]) -> None:
    account = inv.read(key)
    lamports = account.lamports if account else inv.rent(USER_VOLUME_ACCUMULATOR_SIZE)
    data = encode_account("UserVolumeAccumulator", USER_VOLUME_ACCUMULATOR_LAYOUT, fields,
                          USER_VOLUME_ACCUMULATOR_SIZE)  # fmt: skip
    inv.write(key, Account(lamports, data, PUMP_PROGRAM_ID, False, 0))


def _write_curve(inv: Invocation, key: Pubkey, fields: dict[str, Any]) -> None:
    account = inv.read(key)
    if account is None:
        raise ProgramError({"Custom": ACCOUNT_NOT_INITIALIZED}, inv.logs)
    size = max(len(account.data), BONDING_CURVE_SIZE)
    data = encode_account("BondingCurve", BONDING_CURVE_LAYOUT, fields, size)
    inv.write(key, Account(account.lamports, data, PUMP_PROGRAM_ID, False, 0))


def _trade_event(
    inv: Invocation, k: TradeKeys, after: dict[str, Any], rates: math.FeeRates, name: str,
    sol: int, tokens: int, is_buy: bool, protocol: int, creator_fee: int, buyback: int,
    global_: dict[str, Any], uva: dict[str, Any] | None, track_volume: bool, cashback: int = 0,
) -> None:  # fmt: skip
    holder = bool(after["is_holder_reward"])
    cashback_bps = rates.creator_bps if after["is_cashback_coin"] else 0
    creator_bps = 0 if after["is_cashback_coin"] else rates.creator_bps
    inv.log(event_log(TRADE_EVENT_LAYOUT, {
        "mint": k.mint, "sol_amount": sol, "token_amount": tokens, "is_buy": is_buy,
        "user": k.user, "timestamp": inv.now(),
        "virtual_sol_reserves": after["virtual_quote_reserves"],
        "virtual_token_reserves": after["virtual_token_reserves"],
        "real_sol_reserves": after["real_quote_reserves"],
        "real_token_reserves": after["real_token_reserves"], "fee_recipient": k.fee_recipient,
        "fee_basis_points": rates.protocol_bps, "fee": protocol, "creator": after["creator"],
        "creator_fee_basis_points": creator_bps, "creator_fee": creator_fee,
        "track_volume": track_volume,
        "total_unclaimed_tokens": uva["total_unclaimed_tokens"] if uva else 0,
        "total_claimed_tokens": uva["total_claimed_tokens"] if uva else 0,
        "current_sol_volume": uva["current_sol_volume"] if uva else 0,
        "last_update_timestamp": uva["last_update_timestamp"] if uva else 0,
        "ix_name": name if name == "buy_exact_sol_in" else ("buy" if is_buy else "sell"),
        "mayhem_mode": after["is_mayhem_mode"], "cashback_fee_basis_points": cashback_bps,
        "cashback": cashback,
        "buyback_fee_basis_points": global_["buyback_basis_points"], "buyback_fee": buyback,
        "shareholders": k.shareholders, "quote_mint": after["quote_mint"], "quote_amount": sol,
        "virtual_quote_reserves": after["virtual_quote_reserves"],
        "real_quote_reserves": after["real_quote_reserves"],
        "holder_rewards_bps": creator_bps if holder else 0,
        "holder_rewards": creator_fee if holder else 0,
    }))  # fmt: skip
