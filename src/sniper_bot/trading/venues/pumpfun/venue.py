"""The pump.fun venue: quotes from the coin's bonding curve, `buy_v2` / `sell_v2` built here.

    venue = PumpFunVenue(rpc)                      # SolanaRpc fits PumpChain
    quote = await venue.quote(WSOL_MINT, mint, lamports, slippage_bps)
    swap = await venue.build_swap(quote, str(owner), priority_fee_lamports=fee)

A quote is one `getMultipleAccounts` round trip: the curve and the mint always (the curve is
never cached: its reserves and `complete` flag are what the quote is about; the mint's owner is
the coin's token program, SPL Token or Token-2022), plus `Global` and `FeeConfig` when their
cached copies are older than ``config_ttl_s``. The creator whose vault the trade pays comes from
the curve account just read, never from an instruction argument or a guess. A buy spends up to
``max_sol_cost`` = the quote's lamports plus the slippage share for exactly the quoted tokens; a
sell gives its tokens for at least ``min_sol_output`` = the quoted proceeds less the slippage.
Building needs no network but the cached blockhash.

Coins quoted in a mint other than SOL (USDC, a QuoteControl mint): the venue quotes and builds
them in that mint's base units when the order pays or receives that mint (``quote(USDC, coin)``,
``quote(coin, USDC)``; the quote mint's token program is read once and kept). An order in SOL for
such a coin is refused with ``UnsupportedCurveError``, whose sentence names the quote mint: the
venue never turns SOL into the quote behind the user's back (docs/ARCHITECTURE.md, pump.fun venue).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Protocol

from solders.account import Account
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from sniper_bot.domain.money import WSOL_MINT
from sniper_bot.domain.quotes import Quote, RouteStep, SwapMode, SwapTransaction
from sniper_bot.ports.venue import JitoTip
from sniper_bot.solana import pumpfun as pf
from sniper_bot.trading.errors import VenueRequestError, VenueUnavailable
from sniper_bot.trading.venues.pumpfun import curve as math
from sniper_bot.trading.venues.pumpfun.errors import (
    CurveCompleteError,
    NotOnCurveError,
    PumpBugError,
    UnsupportedCurveError,
)

__all__ = [
    "BUY_COMPUTE_UNITS",
    "SELL_COMPUTE_UNITS",
    "VENUE",
    "CurveState",
    "PumpChain",
    "PumpFunVenue",
    "quote_from_state",
]

VENUE: Final = "pumpfun"
# Compute-unit limits from measured usage: tests/trading/pumpfun/test_localnet.py simulates the
# venue's own transactions on localnet and measured 51,592 units for a first buy_v2 (with the
# idempotent ATA create and the volume accumulator it opens) and 31,696 for a sell_v2. Localnet
# charges the inner programs' real units plus a fixed amount per pump instruction, so the limits
# keep about 2.3x / 2.8x headroom for the mainnet program's own work; the test keeps them within
# 3x of what it measures.
BUY_COMPUTE_UNITS: Final = 120_000
SELL_COMPUTE_UNITS: Final = 90_000
_ATA_CREATE_IDEMPOTENT: Final = bytes([1])


class PumpChain(Protocol):
    """The slice of ``sniper_bot.chain.rpc.SolanaRpc`` the venue reads through."""

    async def get_multiple_accounts(self, pubkeys: Sequence[Pubkey]) -> list[Account | None]: ...
    async def recent_blockhash(self) -> tuple[Hash, int]: ...


@dataclass(frozen=True, slots=True)
class CurveState:
    """What a quote is computed from: one coin's curve and the program's fee configuration."""

    mint: Pubkey
    curve: pf.BondingCurve
    token_program: Pubkey
    global_: pf.Global
    fee_config: pf.FeeConfig | None
    slot: int | None = None
    quote_token_program: Pubkey = pf.TOKEN_PROGRAM_ID  # the program owning a non-SOL quote mint

    @property
    def quote_mint(self) -> Pubkey:
        """What the curve trades against: WSOL for a SOL curve, else its quote mint."""
        return pf.WSOL_MINT if self.curve.is_sol_quoted else self.curve.quote_mint


def _side_of(input_mint: str, output_mint: str) -> tuple[str, str, str]:
    """(side, coin, the mint the order pays or receives)."""
    if input_mint == output_mint:
        raise VenueRequestError(f"a swap needs two different mints, not {input_mint} twice")
    if input_mint == WSOL_MINT:
        return "buy", output_mint, input_mint
    if output_mint == WSOL_MINT:
        return "sell", input_mint, output_mint
    if input_mint in _KNOWN_QUOTES:
        return "buy", output_mint, input_mint
    if output_mint in _KNOWN_QUOTES:
        return "sell", input_mint, output_mint
    return "either", output_mint, input_mint


_KNOWN_QUOTES: Final = frozenset(str(m) for m in pf.STABLE_QUOTE_MINTS)


def _impact(state: CurveState, sol: int, tokens: int) -> Decimal:
    """How far the trade's average price is from the spot price (fees included), as a percent."""
    c = state.curve
    if sol <= 0 or tokens <= 0 or c.virtual_token_reserves == 0:
        return Decimal(0)
    spot = Decimal(c.virtual_quote_reserves) / Decimal(c.virtual_token_reserves)
    paid = Decimal(sol) / Decimal(tokens)
    return abs(paid - spot) / spot * 100


def quote_from_state(
    state: CurveState, side: str, amount: int, slippage_bps: int, *, legacy: bool = False,
    paid_mint: str = WSOL_MINT,
) -> Quote:  # fmt: skip
    """The quote for ``amount`` (base units of the curve's quote to spend, or tokens to sell) on
    ``state``: pure. ``paid_mint`` is what the order pays (buy) or receives (sell); a curve quoted
    in another mint raises ``UnsupportedCurveError`` naming the curve's quote."""
    c = state.curve
    mint = str(state.mint)
    if c.complete:
        raise CurveCompleteError(mint)
    quote_mint = str(state.quote_mint)
    if paid_mint != quote_mint:
        raise UnsupportedCurveError(mint, quote_mint, paid=paid_mint)
    if legacy and not c.is_sol_quoted:
        legacy = False  # the legacy instructions move lamports: token-quoted curves are v2 only
    if amount <= 0:
        raise VenueRequestError("a quote needs a positive integer amount in base units")
    supply = math.mint_supply_for(c)
    g, fc = state.global_, state.fee_config
    if side == "buy":
        tokens = math.buy_tokens_for_sol(g, fc, supply, c, amount)
        if tokens <= 0:
            raise (
                CurveCompleteError(mint)
                if c.real_token_reserves == 0
                else VenueRequestError(
                    f"{amount} base units of {quote_mint} buy no tokens on this curve"
                )
            )
        limit = math.with_slippage_up(amount, slippage_bps)
        in_amount, out_amount, threshold = amount, tokens, tokens
        sol, sold = amount, tokens
    else:
        proceeds = math.sell_sol_for_tokens(g, fc, supply, c, amount)
        limit = math.with_slippage_down(max(proceeds, 0), slippage_bps)
        in_amount, out_amount, threshold = amount, max(proceeds, 0), limit
        sol, sold = max(proceeds, 0), amount
    curve_key = str(pf.bonding_curve_address(state.mint))
    src, dst = (quote_mint, mint) if side == "buy" else (mint, quote_mint)
    raw: dict[str, Any] = {
        "venue": VENUE, "side": side, "mint": mint, "creator": str(c.creator),
        "token_program": str(state.token_program), "quote_mint": quote_mint,
        "quote_token_program": str(state.quote_token_program),
        "tokens": out_amount if side == "buy" else amount,
        "limit": limit, "mayhem": c.is_mayhem_mode, "cashback": c.is_cashback_coin,
        "legacy": legacy, "slippage_bps": slippage_bps,
    }  # fmt: skip
    return Quote(
        venue=VENUE, input_mint=src, output_mint=dst, in_amount=in_amount, out_amount=out_amount,
        other_amount_threshold=threshold, swap_mode="ExactIn", slippage_bps=slippage_bps,
        price_impact_pct=_impact(state, sol, sold),
        route=(RouteStep(curve_key, "pump.fun", src, dst, in_amount, out_amount, 10_000),),
        context_slot=state.slot, raw=raw,
    )  # fmt: skip


def _ata_create(payer: Pubkey, owner: Pubkey, mint: Pubkey, token_program: Pubkey) -> Instruction:
    ata = pf.associated_token_address(owner, mint, token_program)
    metas = [
        AccountMeta(payer, True, True), AccountMeta(ata, False, True),
        AccountMeta(owner, False, False), AccountMeta(mint, False, False),
        AccountMeta(pf.SYSTEM_PROGRAM_ID, False, False), AccountMeta(token_program, False, False),
    ]  # fmt: skip
    return Instruction(pf.ASSOCIATED_TOKEN_PROGRAM_ID, _ATA_CREATE_IDEMPOTENT, metas)


class PumpFunVenue:
    """``Venue`` over the pump.fun program (SOL- and token-quoted curves, SPL Token and
    Token-2022 coins)."""

    def __init__(
        self,
        chain: PumpChain,
        *,
        config_ttl_s: float = 60.0,
        buy_compute_units: int = BUY_COMPUTE_UNITS,
        sell_compute_units: int = SELL_COMPUTE_UNITS,
        legacy_instructions: bool = False,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._chain = chain
        self._ttl = config_ttl_s
        self._units = {"buy": buy_compute_units, "sell": sell_compute_units}
        self._legacy = legacy_instructions
        self._rng = rng or random.Random()
        self._clock = clock
        self._config: tuple[float, pf.Global, pf.FeeConfig | None] | None = None
        # quote mint -> its token program (a mint's owner never changes)
        self._quote_programs: dict[Pubkey, Pubkey] = {m: pf.TOKEN_PROGRAM_ID
                                                      for m in pf.STABLE_QUOTE_MINTS}  # fmt: skip

    @property
    def name(self) -> str:
        return VENUE

    # -- reads -----------------------------------------------------------------------------------
    async def state(self, mint: str | Pubkey) -> CurveState:
        """The coin's curve now (raises ``NotOnCurveError`` when it has none)."""
        key = mint if isinstance(mint, Pubkey) else Pubkey.from_string(mint)
        cached = self._config
        fresh = cached is not None and self._clock() - cached[0] < self._ttl
        wanted = [pf.bonding_curve_address(key), key]
        if not fresh:
            wanted += [pf.GLOBAL, pf.FEE_CONFIG]
        accounts = await _fresh_accounts(self._chain, wanted)
        curve_acc, mint_acc = accounts[0], accounts[1]
        if curve_acc is None or curve_acc.owner != pf.PUMP_PROGRAM_ID:
            raise NotOnCurveError(
                f"{key} has no pump.fun bonding curve", details={"mint": str(key)}
            )
        if not fresh:
            global_acc, fee_acc = accounts[2], accounts[3]
            if global_acc is None:
                raise VenueUnavailable("pump.fun Global account is not readable")
            try:
                global_ = pf.decode_global(bytes(global_acc.data))
                fee_config = None if fee_acc is None else pf.decode_fee_config(bytes(fee_acc.data))
            except pf.LayoutError as exc:
                raise PumpBugError(f"cannot decode pump.fun config: {exc}") from exc
            self._config = (self._clock(), global_, fee_config)
        assert self._config is not None
        _, global_, fee_config = self._config
        if mint_acc is None:  # the curve is visible, the mint not yet on this node
            raise VenueUnavailable(f"mint {key} is not readable yet")
        try:
            curve = pf.decode_bonding_curve(bytes(curve_acc.data))
        except pf.LayoutError as exc:
            raise PumpBugError(f"cannot decode the bonding curve of {key}: {exc}") from exc
        if mint_acc.owner not in (pf.TOKEN_PROGRAM_ID, pf.TOKEN_2022_PROGRAM_ID):
            raise PumpBugError(f"mint {key} is owned by {mint_acc.owner}, not a token program")
        quote_program = pf.TOKEN_PROGRAM_ID
        if not curve.is_sol_quoted:
            quote_program = await self._quote_program(curve.quote_mint)
        return CurveState(key, curve, mint_acc.owner, global_, fee_config,
                          quote_token_program=quote_program)  # fmt: skip

    async def _quote_program(self, quote_mint: Pubkey) -> Pubkey:
        known = self._quote_programs.get(quote_mint)
        if known is not None:
            return known
        (account,) = await self._chain.get_multiple_accounts([quote_mint])
        if account is None:
            raise VenueUnavailable(f"quote mint {quote_mint} is not readable yet")
        if account.owner not in (pf.TOKEN_PROGRAM_ID, pf.TOKEN_2022_PROGRAM_ID):
            raise PumpBugError(f"quote mint {quote_mint} is owned by {account.owner}")
        self._quote_programs[quote_mint] = account.owner
        return account.owner

    # -- the Venue port --------------------------------------------------------------------------
    async def quote(
        self,
        input_mint: str,
        output_mint: str,
        amount: int,
        slippage_bps: int,
        *,
        swap_mode: SwapMode = "ExactIn",
    ) -> Quote:
        if swap_mode != "ExactIn":
            raise VenueRequestError("the pump.fun venue quotes ExactIn swaps only")
        side, mint, paid = _side_of(input_mint, output_mint)
        if side == "either":  # neither side is SOL or a known quote: find which one is the coin
            try:
                state = await self.state(output_mint)
                side = "buy"
            except NotOnCurveError:
                state = await self.state(input_mint)
                side, paid = "sell", output_mint
        else:
            state = await self.state(mint)
        return quote_from_state(state, side, amount, slippage_bps, legacy=self._legacy,
                                paid_mint=paid)  # fmt: skip

    async def build_swap(
        self,
        quote: Quote,
        user_public_key: str,
        *,
        priority_fee_lamports: int | None,
        tip: JitoTip | None = None,
    ) -> SwapTransaction:
        blockhash, last_valid = await self._chain.recent_blockhash()
        user = Pubkey.from_string(user_public_key)
        ixs = self.instructions(quote, user, priority_fee_lamports, tip=tip)
        msg = MessageV0.try_compile(user, ixs, [], blockhash)
        tx = VersionedTransaction.populate(msg, [Signature.default()])
        units = self._units[str(quote.raw["side"])]
        return SwapTransaction(bytes(tx), last_valid, priority_fee_lamports, units)

    # -- building (pure) -------------------------------------------------------------------------
    def instructions(
        self,
        quote: Quote,
        user: Pubkey,
        priority_fee_lamports: int | None,
        *,
        tip: JitoTip | None = None,
    ) -> list[Instruction]:
        """The swap's instructions; with ``tip`` the last one is the Jito tip transfer (a System
        transfer from the user: a block engine takes the transaction as a bundle)."""
        raw = quote.raw
        if raw.get("venue") != VENUE or raw.get("side") not in ("buy", "sell"):
            raise PumpBugError("build_swap got a quote the pump.fun venue did not make")
        side = str(raw["side"])
        global_ = self._config[1] if self._config is not None else None
        if global_ is None:
            raise PumpBugError("build_swap before any quote read pump.fun's Global")
        mint = Pubkey.from_string(str(raw["mint"]))
        creator = Pubkey.from_string(str(raw["creator"]))
        token_program = Pubkey.from_string(str(raw["token_program"]))
        recipients = [
            k for k in global_.fee_recipients_for(bool(raw["mayhem"])) if k != Pubkey.default()
        ]
        buybacks = [k for k in global_.buyback_fee_recipients if k != Pubkey.default()]
        if not recipients or not buybacks:
            raise PumpBugError("pump.fun Global lists no fee or buyback recipients")
        common: dict[str, Any] = {
            "user": user, "mint": mint, "creator": creator, "amount": int(raw["tokens"]),
            "fee_recipient": self._rng.choice(recipients),
            "buyback_fee_recipient": self._rng.choice(buybacks), "token_program": token_program,
        }  # fmt: skip
        quote_keys: dict[str, Any] = {
            "quote_mint": Pubkey.from_string(str(raw.get("quote_mint", WSOL_MINT))),
            "quote_token_program": Pubkey.from_string(
                str(raw.get("quote_token_program", pf.TOKEN_PROGRAM_ID))),
        }  # fmt: skip
        units = self._units[side]
        ixs = [set_compute_unit_limit(units)]
        if priority_fee_lamports:
            ixs.append(set_compute_unit_price(priority_fee_lamports * 1_000_000 // units))
        limit = int(raw["limit"])
        if side == "buy":
            ixs.append(_ata_create(user, user, mint, token_program))
            if raw.get("legacy"):
                ixs.append(pf.buy_instruction(max_sol_cost=limit, **common))
            else:
                ixs.append(pf.buy_v2_instruction(max_sol_cost=limit, **common, **quote_keys))
        elif raw.get("legacy"):
            ixs.append(pf.sell_instruction(min_sol_output=limit, cashback=bool(raw.get("cashback")),
                                           **common))  # fmt: skip
        else:
            ixs.append(pf.sell_v2_instruction(min_sol_output=limit, **common, **quote_keys))
        if tip is not None:
            ixs.append(transfer(TransferParams(from_pubkey=user, to_pubkey=tip.account,
                                               lamports=tip.lamports)))  # fmt: skip
        return ixs


async def _fresh_accounts(chain: PumpChain, keys: Sequence[Pubkey]) -> list[Account | None]:
    """Pricing reads at `processed` when the reader offers them (``SolanaRpc`` does): the state
    the trade will execute against, not the confirmed one a slot behind."""
    read = getattr(chain, "get_multiple_accounts_processed", None)
    if read is None:
        read = chain.get_multiple_accounts
    accounts: list[Account | None] = await read(keys)
    return accounts
