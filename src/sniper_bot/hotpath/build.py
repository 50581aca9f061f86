"""A pump.fun first buy built from the create event alone: pure CPU, no IO, deterministic.

    prepared = PreparedBuy(user=..., sign=wallet.sign_message, amount_lamports=..., ...)  # arm time
    launch = CurveLaunch.from_create_event(event, instruction="CreateV2")        # on the path
    signed = build_curve_buy(prepared, launch)                                    # ~ one signature
    await relay.send_raw(signed.tx_bytes)

The transaction, v0, fee payer and only signer the user::

    0 AdvanceNonceAccount(prepared.nonce_account, authority = user)
    1 ComputeBudget SetComputeUnitLimit
    2 ComputeBudget SetComputeUnitPrice        (omitted when the price is 0)
    3 ATA CreateIdempotent(user, mint, the coin's token program)
    4 pump `buy(amount, max_sol_cost, track_volume = true)`
    5 System transfer of the Jito tip         (only with a tip)

with ``recent_blockhash`` = the nonce value armed with the order. Instruction 0 makes it a
durable-nonce transaction: the runtime accepts it only while the nonce account still holds that
value and advances it when the transaction is processed, so this order lands at most once on
every relay, whatever copies or re-signs exist (see ``hotpath.nonce``). ed25519 signatures are
deterministic (RFC 8032), so the same ``PreparedBuy`` + ``CurveLaunch`` give the same bytes and the
same signature on every replica: two replicas that fire one order send one transaction.

Why legacy ``buy`` and not ``buy_v2`` / ``buy_exact_sol_in``: pump-sdk 2.0.0's own buy builder for
SOL-quoted curves (``buyInstructions``, the README's "Buying coins") and its create-and-first-buy
(``createV2AndBuyInstructions``, Token-2022 coins included) both emit ``buy``; ``buy_v2`` is its
builder for token-quoted curves (27 accounts, quote ATAs we do not need), and the SDK has no
``buy_exact_sol_in`` builder at all (IDL only), so nothing official checks its bytes. ``buy`` is
18 accounts, the smallest transaction and the fewest per-launch PDAs. Its slippage guard is the
SDK's: ``amount`` tokens for at most ``max_sol_cost`` lamports.

Per order this derives one PDA, the user's token account. The launch-wide ones (the curve's token
account, the creator vault, ``bonding-curve-v2``) and the fresh curve are derived once per
``CurveLaunch``, on its first build (``CurveLaunch.accounts``), so a fan-out of 1,000 orders on one
launch derives them once; the user's volume accumulator and the fixed instructions are built once
at arm time. ``solana.pumpfun.buy_instruction`` derives all of them on every call, so the buy is
assembled here from the same account list (tests compare it with that builder and the SDK).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from sniper_bot.solana import pumpfun as pf
from sniper_bot.solana.nonce import advance_nonce_instruction
from sniper_bot.solana.pump_events import CreateEvent
from sniper_bot.solana.pumpswap import create_ata_idempotent
from sniper_bot.trading.venues.pumpfun import curve as curve_math
from sniper_bot.trading.venues.pumpfun.errors import quote_label

__all__ = [
    "MAX_COMPUTE_UNIT_LIMIT",
    "BuildError",
    "CurveLaunch",
    "LaunchAccounts",
    "PreparedBuy",
    "SignedBuy",
    "UnsupportedLaunchError",
    "build_curve_buy",
    "quote_refusal",
    "quote_tokens",
]

MAX_COMPUTE_UNIT_LIMIT: Final = 1_400_000
MAX_TX_BYTES: Final = 1_232
_ZERO: Final = Pubkey.default()


class BuildError(ValueError):
    """The hot path cannot build this buy (bad arm-time values or a launch it cannot trade)."""


class UnsupportedLaunchError(BuildError):
    """A launch the curve buy does not handle: token-quoted, complete, or buying nothing."""


def _ro(key: Pubkey) -> AccountMeta:
    return AccountMeta(key, False, False)


def _w(key: Pubkey) -> AccountMeta:
    return AccountMeta(key, False, True)


def _positive_int(name: str, value: object, *, zero: bool = False) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < (0 if zero else 1):
        kind = "a non-negative" if zero else "a positive"
        raise BuildError(f"{name} must be {kind} integer, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class PreparedBuy:
    """Everything a snipe's buy needs that is known when it is armed.

    ``sign`` signs the serialized message with the user's key (``UnlockedWallet.sign_message``);
    the user is fee payer, buyer and the nonce's authority. ``fee_recipient`` /
    ``mayhem_fee_recipient`` are picked at arm time from ``Global.fee_recipients_for(False/True)``
    and ``buyback_fee_recipient`` from ``Global.buyback_fee_recipients`` (the SDK picks at random
    per build; a fixed pick keeps the bytes deterministic). ``global_`` / ``fee_config`` are the
    cached pump accounts the token amount is priced with."""

    user: Pubkey
    sign: Callable[[bytes], Signature] = field(repr=False, compare=False)
    amount_lamports: int
    slippage_bps: int
    compute_unit_limit: int
    compute_unit_price_micro_lamports: int
    nonce_account: Pubkey
    nonce_value: Hash
    global_: pf.Global = field(repr=False)
    fee_config: pf.FeeConfig | None = field(repr=False)
    fee_recipient: Pubkey
    mayhem_fee_recipient: Pubkey
    buyback_fee_recipient: Pubkey
    tip_lamports: int = 0
    tip_account: Pubkey | None = None
    # derived at arm time (never passed)
    user_volume_accumulator: Pubkey = field(init=False)
    _head: tuple[Instruction, ...] = field(init=False, repr=False, compare=False)
    _tail: tuple[Instruction, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not callable(self.sign):
            raise BuildError("sign must be a callable bytes -> Signature")
        _positive_int("amount_lamports", self.amount_lamports)
        slippage = _positive_int("slippage_bps", self.slippage_bps, zero=True)
        if slippage > 10_000:
            raise BuildError(f"slippage_bps must be at most 10000, got {slippage}")
        units = _positive_int("compute_unit_limit", self.compute_unit_limit)
        if units > MAX_COMPUTE_UNIT_LIMIT:
            raise BuildError(f"compute_unit_limit must be at most {MAX_COMPUTE_UNIT_LIMIT}")
        price = _positive_int(
            "compute_unit_price_micro_lamports", self.compute_unit_price_micro_lamports, zero=True
        )
        tip = _positive_int("tip_lamports", self.tip_lamports, zero=True)
        if (tip > 0) != (self.tip_account is not None):
            raise BuildError("a Jito tip needs both tip_lamports > 0 and a tip_account")
        for name in ("fee_recipient", "mayhem_fee_recipient", "buyback_fee_recipient"):
            if getattr(self, name) == _ZERO:
                raise BuildError(f"{name} cannot be the zero key")
        head = [
            advance_nonce_instruction(self.nonce_account, self.user),
            set_compute_unit_limit(units),
        ]
        if price:
            head.append(set_compute_unit_price(price))
        tail: list[Instruction] = []
        if self.tip_account is not None:
            tail.append(
                transfer(
                    TransferParams(from_pubkey=self.user, to_pubkey=self.tip_account, lamports=tip)
                )
            )
        object.__setattr__(
            self, "user_volume_accumulator", pf.user_volume_accumulator_address(self.user)
        )
        object.__setattr__(self, "_head", tuple(head))
        object.__setattr__(self, "_tail", tuple(tail))

    @property
    def max_sol_cost(self) -> int:
        """What the buy may take from the curve at most (fees included): amount + slippage."""
        return curve_math.with_slippage_up(self.amount_lamports, self.slippage_bps)


@dataclass(frozen=True, slots=True)
class LaunchAccounts:
    """What every order's buy of one launch shares, derived once per ``CurveLaunch``."""

    curve_token_account: Pubkey  # the bonding curve's ATA of the mint (its token program)
    creator_vault: Pubkey  # ["creator-vault", creator]
    bonding_curve_v2: Pubkey  # ["bonding-curve-v2", mint]
    curve: pf.BondingCurve = field(repr=False)  # ``CurveLaunch.curve()``
    mint_supply: int  # the supply the curve is priced with (``curve_math.mint_supply_for``)


@dataclass(frozen=True, slots=True)
class CurveLaunch:
    """A pump.fun coin as its create event describes it: what the first buy is built from.

    Immutable: ``accounts`` (the launch-wide PDAs and curve) is derived from the fields on first
    use and kept; ``dataclasses.replace`` gives a new launch that derives its own."""

    mint: Pubkey
    bonding_curve: Pubkey
    creator: Pubkey  # the curve's creator (the holder-rewards PDA for such coins): vault seed
    token_program: Pubkey
    virtual_token_reserves: int
    virtual_sol_reserves: int
    real_token_reserves: int
    token_total_supply: int
    is_mayhem_mode: bool = False
    is_cashback_coin: bool = False
    is_holder_reward: bool = False
    creator_fee_bps: int = 0
    quote_mint: Pubkey = _ZERO  # the zero key (or WSOL) for a SOL curve
    # a memo of ``accounts``: never passed, not part of equality, hash or repr
    _accounts: LaunchAccounts | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_create_event(cls, event: CreateEvent, instruction: str | None = None) -> CurveLaunch:
        """From a decoded ``CreateEvent``; ``instruction`` ("Create"/"CreateV2", as
        ``pump_log_events`` reports it) picks the token program for events too old to carry
        it (``create`` mints SPL Token coins, ``create_v2`` Token-2022 ones)."""
        token_program = event.token_program
        if token_program is None:
            if instruction == "CreateV2":
                token_program = pf.TOKEN_2022_PROGRAM_ID
            elif instruction == "Create":
                token_program = pf.TOKEN_PROGRAM_ID
            else:
                raise UnsupportedLaunchError(
                    f"create event of {event.mint} names no token program and no instruction"
                )
        if token_program not in (pf.TOKEN_PROGRAM_ID, pf.TOKEN_2022_PROGRAM_ID):
            raise UnsupportedLaunchError(f"{event.mint} uses token program {token_program}")
        reserves = (
            event.virtual_token_reserves,
            event.virtual_sol_reserves,
            event.real_token_reserves,
            event.token_total_supply,
        )
        if any(r is None for r in reserves):
            raise UnsupportedLaunchError(f"create event of {event.mint} carries no reserves")
        vt, vs, rt, supply = (int(r) for r in reserves if r is not None)
        return cls(
            mint=event.mint, bonding_curve=event.bonding_curve,
            creator=event.creator if event.creator is not None else event.user,
            token_program=token_program, virtual_token_reserves=vt, virtual_sol_reserves=vs,
            real_token_reserves=rt, token_total_supply=supply,
            is_mayhem_mode=bool(event.is_mayhem_mode),
            is_cashback_coin=bool(event.is_cashback_enabled),
            is_holder_reward=bool(event.is_holder_reward),
            creator_fee_bps=int(event.creator_fee_bps or 0),
            quote_mint=event.quote_mint if event.quote_mint is not None else _ZERO,
        )  # fmt: skip

    @property
    def accounts(self) -> LaunchAccounts:
        """The launch-wide PDAs and fresh curve, derived on first use and then kept (a value
        of the fields alone: a benign race derives the same keys twice)."""
        accounts = self._accounts
        if accounts is None:
            curve = self.curve()
            accounts = LaunchAccounts(
                curve_token_account=pf.associated_token_address(
                    self.bonding_curve, self.mint, self.token_program
                ),
                creator_vault=pf.creator_vault_address(self.creator),
                bonding_curve_v2=pf.bonding_curve_v2_address(self.mint),
                curve=curve,
                mint_supply=curve_math.mint_supply_for(curve),
            )
            object.__setattr__(self, "_accounts", accounts)
        return accounts

    def curve(self) -> pf.BondingCurve:
        """The curve the create leaves: these reserves, nothing bought or paid in yet."""
        return pf.BondingCurve(
            virtual_token_reserves=self.virtual_token_reserves,
            virtual_quote_reserves=self.virtual_sol_reserves,
            real_token_reserves=self.real_token_reserves, real_quote_reserves=0,
            token_total_supply=self.token_total_supply, complete=False, creator=self.creator,
            is_mayhem_mode=self.is_mayhem_mode, is_cashback_coin=self.is_cashback_coin,
            quote_mint=self.quote_mint, creator_fee_bps=self.creator_fee_bps,
            can_edit_creator_fee=False, is_holder_reward=self.is_holder_reward,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class SignedBuy:
    signature: Signature
    tx_bytes: bytes
    max_sol_cost: int
    token_amount: int


def _buy_instruction(
    prepared: PreparedBuy, launch: CurveLaunch, user_ata: Pubkey, amount: int, max_sol_cost: int
) -> Instruction:
    """``pf.buy_instruction``'s account list with the arm-time PDAs passed in."""
    accounts = launch.accounts
    fee_recipient = (
        prepared.mayhem_fee_recipient if launch.is_mayhem_mode else prepared.fee_recipient
    )
    metas = [
        _ro(pf.GLOBAL), _w(fee_recipient), _ro(launch.mint), _w(launch.bonding_curve),
        _w(accounts.curve_token_account), _w(user_ata),
        AccountMeta(prepared.user, True, True), _ro(pf.SYSTEM_PROGRAM_ID),
        _ro(launch.token_program), _w(accounts.creator_vault), _ro(pf.EVENT_AUTHORITY),
        _ro(pf.PUMP_PROGRAM_ID), _ro(pf.GLOBAL_VOLUME_ACCUMULATOR),
        _w(prepared.user_volume_accumulator), _ro(pf.FEE_CONFIG), _ro(pf.PUMP_FEE_PROGRAM_ID),
        _ro(accounts.bonding_curve_v2), _w(prepared.buyback_fee_recipient),
    ]  # fmt: skip
    data = pf.BUY_DISCRIMINATOR + struct.pack("<QQ?", amount, max_sol_cost, True)
    return Instruction(pf.PUMP_PROGRAM_ID, data, metas)


def quote_refusal(launch: CurveLaunch) -> str:
    """Why a launch quoted in a mint other than SOL gets no hot buy (the buy spends SOL)."""
    label = quote_label(str(launch.quote_mint))
    return (
        f"{launch.mint} launched on a pump.fun curve quoted in {label}, not SOL: the snipe "
        "spends SOL, so this coin was skipped"
    )


def quote_tokens(prepared: PreparedBuy, launch: CurveLaunch) -> int:
    """Tokens ``prepared.amount_lamports`` (fees included) buy on the launch's fresh curve
    (the SDK's ``getBuyTokenAmountFromSolAmount``)."""
    if not pf.is_legacy_quote_mint(launch.quote_mint):
        raise UnsupportedLaunchError(quote_refusal(launch))
    accounts = launch.accounts
    tokens = curve_math.buy_tokens_for_sol(
        prepared.global_,
        prepared.fee_config,
        accounts.mint_supply,
        accounts.curve,
        prepared.amount_lamports,
    )
    if tokens <= 0:
        raise UnsupportedLaunchError(
            f"{prepared.amount_lamports} lamports buy no tokens of {launch.mint}"
        )
    return tokens


def build_curve_buy(prepared: PreparedBuy, launch: CurveLaunch) -> SignedBuy:
    """The signed first buy of ``launch`` for ``prepared``: pure, deterministic, no IO."""
    tokens = quote_tokens(prepared, launch)
    max_sol_cost = prepared.max_sol_cost
    user, mint, token_program = prepared.user, launch.mint, launch.token_program
    user_ata = pf.associated_token_address(user, mint, token_program)
    ixs = [
        *prepared._head,
        create_ata_idempotent(user, user_ata, user, mint, token_program),
        _buy_instruction(prepared, launch, user_ata, tokens, max_sol_cost),
        *prepared._tail,
    ]
    message = MessageV0.try_compile(user, ixs, [], prepared.nonce_value)
    signature = prepared.sign(to_bytes_versioned(message))
    if not isinstance(signature, Signature):
        raise BuildError("sign must return a solders Signature")
    raw = bytes(VersionedTransaction.populate(message, [signature]))
    if len(raw) > MAX_TX_BYTES:
        raise BuildError(f"the buy is {len(raw)} bytes, over the {MAX_TX_BYTES}-byte packet")
    return SignedBuy(signature, raw, max_sol_cost, tokens)
