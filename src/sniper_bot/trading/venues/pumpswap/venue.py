"""The PumpSwap venue: quotes from the pool's own state and the transaction built here, with no
third party in between (``sniper_bot.solana.pumpswap`` holds the wire facts).

    venue = PumpSwapVenue(rpc)                      # rpc: SolanaRpc (or any PumpSwapChain)
    state = await venue.pool_for_mint(mint)         # None: the coin has no PumpSwap pool (yet)
    quote = await venue.quote(WSOL_MINT, mint, lamports, slippage_bps)
    swap = await venue.build_swap(quote, user, priority_fee_lamports=fee)

Reads: one ``getMultipleAccounts`` per quote once warm (pool, both vaults, base mint); the
``GlobalConfig`` / ``FeeConfig`` pair is cached for ``config_ttl_s``, each pool's vault addresses
and each mint's token program for as long as the process lives (they never change). Building
reads nothing but the cached blockhash: the quote carries every account the swap needs.

What a quote becomes:

* buy, ExactIn (spend SOL): ``buy_exact_quote_in(spendable = amount, min_base_amount_out)``: the
  budget pays the fees too; ``other_amount_threshold`` is the tokens after slippage.
* buy, ExactOut (want tokens): ``buy(base_amount_out = amount, max_quote_amount_in)``.
* sell, ExactIn: ``sell(base_amount_in = amount, min_quote_amount_out)``.

For a WSOL-quoted pool the user's WSOL account is created (idempotent), funded with the SOL in and
synced, and closed after the swap (which unwraps whatever is left); the base token account is
created idempotent. The compute-unit limit is set per kind from measured usage (``COMPUTE_UNITS``,
tests/trading/pumpswap/test_localnet.py measures and checks it).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Protocol

from solders.account import Account
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import Instruction
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from sniper_bot.domain.orders import OrderError, OrderErrorType
from sniper_bot.domain.quotes import Quote, RouteStep, SwapMode, SwapTransaction
from sniper_bot.errors import PermanentError
from sniper_bot.ports.venue import JitoTip
from sniper_bot.resilience.lru import LruCache
from sniper_bot.solana import pumpswap as ps
from sniper_bot.trading.errors import NoRouteError, TradingError, VenueRequestError
from sniper_bot.trading.venues.pumpswap.errors import PUMP_AMM_PROGRAM, pumpswap_error

__all__ = [
    "COMPUTE_UNITS",
    "VENUE",
    "PoolState",
    "PumpSwapAccountError",
    "PumpSwapChain",
    "PumpSwapVenue",
]

VENUE: Final = "pumpswap"
# Compute-unit limits per kind, from measured usage of the whole transaction in its worst case (a
# fresh wallet: WSOL account and base ATA created, volume accumulator created on a first buy):
# localnet measured buy_exact_quote_in 69,932, buy 68,932, sell 49,331 units (simulateTransaction,
# tests/trading/pumpswap/test_localnet.py::test_compute_unit_limits_cover_measured_usage, which
# fails if a limit drops below its measure); the limits leave about 1.6x for mainnet's variance.
COMPUTE_UNITS: Final[Mapping[ps.SwapKind, int]] = {
    "buy": 110_000,
    "buy_exact_quote_in": 110_000,
    "sell": 80_000,
}
_DISABLE_BUY, _DISABLE_SELL = 1 << 3, 1 << 4
_CONFIG_KEY: Final = "configs"


class PumpSwapChain(Protocol):
    """The reads the venue needs (``sniper_bot.chain.rpc.SolanaRpc`` fits)."""

    async def get_multiple_accounts(self, pubkeys: Sequence[Pubkey]) -> list[Account | None]: ...
    async def recent_blockhash(self) -> tuple[Hash, int]: ...


class PumpSwapAccountError(TradingError, PermanentError):
    """An account PumpSwap needs is not what it must be (a pool that does not decode, a config
    missing): a bug or a program upgrade to report, never a retry."""

    error_type = OrderErrorType.REJECTED


@dataclass(frozen=True, slots=True)
class PoolState:
    """A pool with its vault balances now: what a quote prices on."""

    address: Pubkey
    pool: ps.Pool
    base_reserve: int
    quote_reserve: int
    base_mint_supply: int
    base_token_program: Pubkey
    quote_token_program: Pubkey

    @property
    def effective_quote_reserve(self) -> int:
        """Quote vault balance + ``virtual_quote_reserves`` (signed): what prices use."""
        return self.quote_reserve + self.pool.virtual_quote_reserves


@dataclass(frozen=True, slots=True)
class _Statics:
    base_vault: Pubkey
    quote_vault: Pubkey
    base_mint: Pubkey
    quote_mint: Pubkey


def _bug(message: str) -> PumpSwapAccountError:
    return PumpSwapAccountError(
        f"PumpSwap: {message}. This is a bug or a program change to report, not a market state",
        details={"venue": VENUE, "bug": True},
    )


class PumpSwapVenue:
    """``Venue`` over PumpSwap pools, plus ``pool_for_mint`` / ``read_pool`` for the router."""

    def __init__(
        self,
        rpc: PumpSwapChain,
        *,
        config_ttl_s: float = 60.0,
        max_pools: int = 4096,
        compute_units: Mapping[ps.SwapKind, int] = COMPUTE_UNITS,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rpc = rpc
        self._config_ttl_s = config_ttl_s
        self._configs: LruCache[str, tuple[ps.GlobalConfig, ps.FeeConfig | None]] = LruCache(
            1, clock
        )
        self._statics: LruCache[Pubkey, _Statics] = LruCache(max_pools, clock)
        self._programs: LruCache[Pubkey, Pubkey] = LruCache(max_pools * 2, clock)
        self._units = dict(compute_units)
        self._rng = rng or random.SystemRandom()

    @property
    def name(self) -> str:
        return VENUE

    # -- pools -------------------------------------------------------------------------------
    async def pool_for_mint(
        self, mint: str | Pubkey, quote_mint: str | Pubkey = ps.NATIVE_MINT
    ) -> PoolState | None:
        """The canonical pool of a graduated pump coin (``canonicalPumpPoolPda``), or ``None``
        when it does not exist (the coin is still on its curve, or never was a pump coin)."""
        key = Pubkey.from_string(mint) if isinstance(mint, str) else mint
        quote = Pubkey.from_string(quote_mint) if isinstance(quote_mint, str) else quote_mint
        return await self.read_pool(ps.canonical_pool_address(key, quote))

    async def read_pool(self, address: str | Pubkey) -> PoolState | None:
        """Any PumpSwap pool by address, with its vault balances; ``None`` when absent."""
        key = Pubkey.from_string(address) if isinstance(address, str) else address
        state, _ = await self._read(key)
        return state

    async def configs(self) -> tuple[ps.GlobalConfig, ps.FeeConfig | None]:
        cached = self._configs.get(_CONFIG_KEY)
        if cached is not None:
            return cached
        global_acc, fee_acc = await self._rpc.get_multiple_accounts([ps.GLOBAL_CONFIG,
                                                                     ps.FEE_CONFIG])  # fmt: skip
        return self._store_configs(global_acc, fee_acc)

    def _store_configs(
        self, global_acc: Account | None, fee_acc: Account | None
    ) -> tuple[ps.GlobalConfig, ps.FeeConfig | None]:
        if global_acc is None or global_acc.owner != ps.PUMP_AMM_PROGRAM_ID:
            raise _bug(f"GlobalConfig {ps.GLOBAL_CONFIG} is missing")
        try:
            config = ps.decode_global_config(bytes(global_acc.data))
            fees = (ps.decode_fee_config(bytes(fee_acc.data))
                    if fee_acc is not None and fee_acc.owner == ps.PUMP_FEE_PROGRAM_ID
                    else None)  # fmt: skip
        except ps.LayoutError as exc:
            raise _bug(f"config account does not decode: {exc}") from exc
        self._configs.set(_CONFIG_KEY, (config, fees), self._config_ttl_s)
        return config, fees

    async def _read(
        self, key: Pubkey
    ) -> tuple[PoolState | None, tuple[ps.GlobalConfig, ps.FeeConfig | None] | None]:
        """One round trip when the pool's vaults are known (and configs when they are stale)."""
        statics = self._statics.get(key)
        want_configs = self._configs.get(_CONFIG_KEY) is None
        named: dict[str, Pubkey] = {"pool": key}
        if statics is not None:
            named.update(base_vault=statics.base_vault, quote_vault=statics.quote_vault,
                         base_mint=statics.base_mint)  # fmt: skip
            if self._programs.get(statics.quote_mint) is None:
                named["quote_mint"] = statics.quote_mint
        if want_configs:
            named.update(global_config=ps.GLOBAL_CONFIG, fee_config=ps.FEE_CONFIG)
        got = dict(zip(named, await _fresh_accounts(self._rpc, list(named.values())),
                       strict=True))  # fmt: skip
        configs = (self._store_configs(got["global_config"], got["fee_config"])
                   if want_configs else None)  # fmt: skip
        pool_acc = got["pool"]
        if pool_acc is None or pool_acc.owner != ps.PUMP_AMM_PROGRAM_ID:
            return None, configs
        try:
            pool = ps.decode_pool(bytes(pool_acc.data))
        except ps.LayoutError as exc:
            raise _bug(f"pool {key} does not decode: {exc}") from exc
        fresh = _Statics(pool.pool_base_token_account, pool.pool_quote_token_account,
                         pool.base_mint, pool.quote_mint)  # fmt: skip
        if statics != fresh:  # first sight (or a changed pool): read its vaults and mints now
            self._statics.set(key, fresh)
            extra = await _fresh_accounts(
                self._rpc, [fresh.base_vault, fresh.quote_vault, fresh.base_mint, fresh.quote_mint]
            )
            got.update(zip(("base_vault", "quote_vault", "base_mint", "quote_mint"), extra,
                           strict=True))  # fmt: skip
        base_vault, quote_vault = got.get("base_vault"), got.get("quote_vault")
        base_mint, quote_mint = got.get("base_mint"), got.get("quote_mint")
        return self._state(key, pool, base_vault, quote_vault, base_mint, quote_mint), configs

    def _state(
        self, key: Pubkey, pool: ps.Pool, base_vault: Account | None,
        quote_vault: Account | None, base_mint: Account | None, quote_mint: Account | None,
    ) -> PoolState:  # fmt: skip
        if base_vault is None or quote_vault is None or base_mint is None:
            raise _bug(f"pool {key}: a vault or the base mint account is missing")
        if quote_mint is not None:
            self._programs.set(pool.quote_mint, quote_mint.owner)
        self._programs.set(pool.base_mint, base_mint.owner)
        quote_program = self._programs.get(pool.quote_mint)
        if quote_program is None:
            raise _bug(f"pool {key}: the quote mint {pool.quote_mint} is missing")
        try:
            return PoolState(
                key, pool, ps.token_account_amount(bytes(base_vault.data)),
                ps.token_account_amount(bytes(quote_vault.data)),
                ps.mint_supply(bytes(base_mint.data)), base_mint.owner, quote_program,
            )  # fmt: skip
        except ps.LayoutError as exc:
            raise _bug(f"pool {key}: {exc}") from exc

    # -- Venue -------------------------------------------------------------------------------
    async def quote(
        self,
        input_mint: str,
        output_mint: str,
        amount: int,
        slippage_bps: int,
        *,
        swap_mode: SwapMode = "ExactIn",
    ) -> Quote:
        if amount <= 0:
            raise VenueRequestError("a PumpSwap quote needs a positive amount in base units")
        wsol = str(ps.NATIVE_MINT)
        if input_mint == wsol and output_mint != wsol:
            buy, token = True, output_mint
        elif output_mint == wsol and input_mint != wsol:
            buy, token = False, input_mint
        else:
            raise VenueRequestError(
                f"PumpSwap quotes SOL pairs only, not {input_mint}->{output_mint}"
            )
        if not buy and swap_mode == "ExactOut":
            raise VenueRequestError("PumpSwap sells take an exact token amount (ExactIn)")
        key = ps.canonical_pool_address(Pubkey.from_string(token))
        state, configs = await self._read(key)
        if state is None:
            raise NoRouteError(f"PumpSwap has no pool for {token} (not graduated yet?)",
                               details={"venue": VENUE, "pool": str(key)})  # fmt: skip
        if configs is None:
            configs = await self.configs()
        return self.price(state, configs, buy=buy, amount=amount, slippage_bps=slippage_bps,
                          swap_mode=swap_mode)  # fmt: skip

    def price(
        self, state: PoolState, configs: tuple[ps.GlobalConfig, ps.FeeConfig | None], *,
        buy: bool, amount: int, slippage_bps: int, swap_mode: SwapMode = "ExactIn",
    ) -> Quote:  # fmt: skip
        """A quote on ``state`` (no reads): the SDK's math, the accounts the swap will need."""
        global_config, fee_config = configs
        pool = state.pool
        if global_config.disable_flags & (_DISABLE_BUY if buy else _DISABLE_SELL):
            raise NoRouteError(f"PumpSwap has {'buys' if buy else 'sells'} disabled",
                               error_type=OrderErrorType.REJECTED)  # fmt: skip
        args = (state.base_reserve, state.quote_reserve, pool.virtual_quote_reserves)
        try:
            fees = ps.compute_fees_bps(
                global_config,
                fee_config,
                pool,
                state.base_mint_supply,
                state.base_reserve,
                state.effective_quote_reserve,
            )
            creator = pool.has_coin_creator
            kind: ps.SwapKind
            b_res, q_eff = state.base_reserve, state.effective_quote_reserve
            # impact = 1 - num / den: what the size gets against the spot price, before fees
            if buy and swap_mode == "ExactIn":
                b = ps.buy_quote_input(amount, slippage_bps, *args, fees, coin_creator=creator)
                kind, ix_amount, limit = "buy_exact_quote_in", amount, b.min_base
                in_amount, out_amount, threshold = amount, b.base, b.min_base
                num, den = b.base * q_eff, b.internal_quote_without_fees * b_res
            elif buy:
                bb = ps.buy_base_input(amount, slippage_bps, *args, fees, coin_creator=creator)
                kind, ix_amount, limit = "buy", amount, bb.max_quote
                in_amount, out_amount, threshold = bb.ui_quote, amount, bb.max_quote
                num, den = amount * q_eff, bb.internal_quote_amount * b_res
            else:
                s = ps.sell_base_input(amount, slippage_bps, *args, fees, coin_creator=creator)
                kind, ix_amount, limit = "sell", amount, s.min_quote
                in_amount, out_amount, threshold = amount, s.ui_quote, s.min_quote
                num, den = s.internal_quote_amount_out * b_res, amount * q_eff
        except (ps.QuoteError, ZeroDivisionError) as exc:
            raise NoRouteError(
                f"PumpSwap cannot fill this size: {exc}",
                error_type=OrderErrorType.INSUFFICIENT_LIQUIDITY,
                details={"venue": VENUE, "pool": str(state.address)},
            ) from exc
        if out_amount <= 0:
            raise NoRouteError("PumpSwap: the amount buys or returns nothing after fees",
                               error_type=OrderErrorType.INSUFFICIENT_LIQUIDITY)  # fmt: skip
        recipients = global_config.fee_recipients(pool.is_mayhem_mode)
        if not recipients or not global_config.buyback_fee_recipients:
            raise _bug("GlobalConfig lists no protocol or buyback fee recipients")
        wsol = str(ps.NATIVE_MINT)
        base = str(pool.base_mint)
        raw: dict[str, Any] = {
            "kind": kind, "amount": str(ix_amount), "limit": str(limit),
            "pool": str(state.address), "pool_data_len": pool.data_len,
            "base_mint": base, "quote_mint": str(pool.quote_mint),
            "pool_base_token_account": str(pool.pool_base_token_account),
            "pool_quote_token_account": str(pool.pool_quote_token_account),
            "coin_creator": str(pool.coin_creator), "is_cashback_coin": pool.is_cashback_coin,
            "base_token_program": str(state.base_token_program),
            "quote_token_program": str(state.quote_token_program),
            "protocol_fee_recipient": str(self._rng.choice(recipients)),
            "buyback_fee_recipient": str(self._rng.choice(global_config.buyback_fee_recipients)),
            "base_reserve": str(state.base_reserve), "quote_reserve": str(state.quote_reserve),
            "virtual_quote_reserves": str(pool.virtual_quote_reserves),
            "fees_bps": [fees.lp_bps, fees.protocol_bps, fees.creator_bps if creator else 0],
        }  # fmt: skip
        impact = Decimal(0) if den <= 0 else max(Decimal(0), 1 - Decimal(num) / Decimal(den))
        step = RouteStep(
            amm_key=str(state.address), label="PumpSwap",
            input_mint=wsol if buy else base, output_mint=base if buy else wsol,
            in_amount=in_amount, out_amount=out_amount, bps=10_000,
        )  # fmt: skip
        return Quote(
            venue=VENUE, input_mint=step.input_mint, output_mint=step.output_mint,
            in_amount=in_amount, out_amount=out_amount, other_amount_threshold=threshold,
            swap_mode=swap_mode if buy else "ExactIn", slippage_bps=slippage_bps,
            price_impact_pct=impact.quantize(Decimal("0.000001")), route=(step,), raw=raw,
        )  # fmt: skip

    def explain(
        self, error: OrderError, program_ids: Sequence[str] = (), logs: Sequence[str] = ()
    ) -> OrderError:
        """``error`` as classified generically, made specific when the AMM raised it (slippage,
        liquidity, our own wrong accounts as a bug report: ``venues.pumpswap.errors``)."""
        details: dict[str, Any] = dict(error.details)
        code = details.get("custom")
        if details.get("program") != PUMP_AMM_PROGRAM or not isinstance(code, int):
            return error
        base = {k: v for k, v in details.items() if k != "note"}
        return pumpswap_error(code, base, simulation=details.get("stage") == "simulation")

    async def build_swap(
        self,
        quote: Quote,
        user_public_key: str,
        *,
        priority_fee_lamports: int | None,
        tip: JitoTip | None = None,
    ) -> SwapTransaction:
        """The swap; with ``tip`` a last System transfer from the user to the Jito tip account
        (a block engine takes the transaction as a bundle)."""
        if quote.venue != VENUE:
            raise VenueRequestError(f"a {quote.venue} quote cannot be built on PumpSwap")
        raw = quote.raw
        kind: ps.SwapKind = raw["kind"]
        user = Pubkey.from_string(user_public_key)
        instructions = swap_instructions_for(raw, user)
        if tip is not None:
            instructions.append(transfer(TransferParams(from_pubkey=user, to_pubkey=tip.account,
                                                        lamports=tip.lamports)))  # fmt: skip
        units = self._units[kind]
        budget = [set_compute_unit_limit(units)]
        fee = 0
        if priority_fee_lamports:
            micro = priority_fee_lamports * 1_000_000 // units
            if micro > 0:
                budget.append(set_compute_unit_price(micro))
                fee = -(-units * micro // 1_000_000)
        blockhash, last_valid = await self._rpc.recent_blockhash()
        message = MessageV0.try_compile(user, [*budget, *instructions], [], blockhash)
        tx = VersionedTransaction.populate(message, [Signature.default()])
        return SwapTransaction(bytes(tx), last_valid, prioritization_fee_lamports=fee,
                               compute_unit_limit=units)  # fmt: skip


def _key(raw: Mapping[str, Any], name: str) -> Pubkey:
    return Pubkey.from_string(str(raw[name]))


def swap_accounts_for(raw: Mapping[str, Any], user: Pubkey) -> ps.SwapAccounts:
    """The swap's accounts from a quote's ``raw`` (no reads)."""
    base, quote = _key(raw, "base_mint"), _key(raw, "quote_mint")
    base_program, quote_program = _key(raw, "base_token_program"), _key(raw, "quote_token_program")
    protocol, buyback = _key(raw, "protocol_fee_recipient"), _key(raw, "buyback_fee_recipient")
    return ps.SwapAccounts(
        pool=_key(raw, "pool"), user=user, base_mint=base, quote_mint=quote,
        user_base_token_account=ps.associated_token_address(user, base, base_program),
        user_quote_token_account=ps.associated_token_address(user, quote, quote_program),
        pool_base_token_account=_key(raw, "pool_base_token_account"),
        pool_quote_token_account=_key(raw, "pool_quote_token_account"),
        protocol_fee_recipient=protocol,
        protocol_fee_recipient_token_account=ps.associated_token_address(protocol, quote,
                                                                         quote_program),
        buyback_fee_recipient=buyback,
        buyback_fee_recipient_token_account=ps.associated_token_address(buyback, quote,
                                                                        quote_program),
        base_token_program=base_program, quote_token_program=quote_program,
        coin_creator=_key(raw, "coin_creator"), is_cashback_coin=bool(raw["is_cashback_coin"]),
    )  # fmt: skip


def swap_instructions_for(raw: Mapping[str, Any], user: Pubkey) -> list[Instruction]:
    """The instructions (without compute budget) a quote's swap sends."""
    return ps.swap_instructions(
        raw["kind"], swap_accounts_for(raw, user), int(raw["amount"]), int(raw["limit"]),
        pool_data_len=int(raw["pool_data_len"]),
    )  # fmt: skip


async def _fresh_accounts(chain: PumpSwapChain, keys: Sequence[Pubkey]) -> list[Account | None]:
    """Pricing reads at `processed` when the reader offers them (``SolanaRpc`` does): the state
    the trade will execute against, not the confirmed one a slot behind."""
    read = getattr(chain, "get_multiple_accounts_processed", None)
    if read is None:
        read = chain.get_multiple_accounts
    accounts: list[Account | None] = await read(keys)
    return accounts
