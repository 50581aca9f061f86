"""Build a ``TokenSnapshot`` in three parallel rounds against the standard RPC and the venue.

    round 1: getMultipleAccounts[mint, metadata PDA, pump.fun curve PDA, canonical PumpSwap pool
             PDA] | getTokenLargestAccounts | getSlot | buy quote
    round 2: getMultipleAccounts[largest token accounts + route pools + pump.fun creator's ATA]
             | sell quote (round trip)
    round 3: getMultipleAccounts[pool vaults + LP mint]                | simulateTransaction

With ``history`` (``RpcLaunchHistory``), a pump.fun coin's launch window is read beside rounds
2-3: ``getSignaturesForAddress(bonding curve)`` (oldest = the create), ``getTransaction`` of the
create slot's transactions (their ``TradeEvent`` buys), and per early buyer (at most 5) its oldest
signature and transaction (was it funded by the creator?): ``TokenSnapshot.launch_window``. With
``creators`` (``safety.creators.CreatorReputation``) the curve creator's record is attached as
``TokenSnapshot.creator_stats`` (a dict lookup).

Sell simulation technique (works against any standard RPC, no account overrides needed):
``simulateTransaction`` with ``sigVerify=false`` + ``replaceRecentBlockhash=true`` of a
``TransferChecked`` of a small amount FROM a real holder's token account INTO the pool's token
vault: the token leg of a real sell. The source is a frozen holder if any (it shows the freeze in
use), else the creator, else the largest non-pool holder. The signature is not verified, so nobody's
key is needed, yet the token program runs every rule a sell meets: frozen accounts (17),
non-transferable (37), paused (67), transfer hooks, fees. The fee payer is the holder itself
unless ``fee_payer`` is configured (any funded address works). Hook extra accounts are not
resolved, so a hooked mint fails with MissingAccount (it is critical anyway).
The round trip (buy quote, then sell quote of what the buy yields) gives the effective tax.

External opinions (RugCheck, GoPlus; only when ``external`` sources are given) are asked in a task
started before round 1 and collected after round 3, so they cost nothing when they answer within
the on-chain rounds and at most their own timeout otherwise.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

import structlog
from solders.account import Account
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from sniper_bot.chain.types import LandedTransaction, SimulationResult
from sniper_bot.domain.money import WSOL_MINT
from sniper_bot.domain.quotes import Quote
from sniper_bot.errors import PermanentError, SniperBotError
from sniper_bot.ports.venue import NoRouteError, Quoter
from sniper_bot.safety.creators import CreatorLookup, CreatorStats
from sniper_bot.safety.external import ExternalSource, gather_opinions
from sniper_bot.safety.snapshot import (
    EarlyBuy,
    Holder,
    LaunchpadSnapshot,
    LaunchWindow,
    PoolKind,
    PoolSnapshot,
    RoundTrip,
    SellSimulation,
    TokenSnapshot,
)
from sniper_bot.solana.layouts import ParseError
from sniper_bot.solana.layouts.metaplex import MetaplexMetadata, parse_metaplex_metadata
from sniper_bot.solana.layouts.pump import parse_pump_bonding_curve
from sniper_bot.solana.layouts.raydium import parse_cpmm_pool, parse_raydium_v4
from sniper_bot.solana.layouts.token import parse_mint, parse_token_account
from sniper_bot.solana.layouts.token2022 import decode_mint_extensions
from sniper_bot.solana.pda import metadata_pda
from sniper_bot.solana.programs import (
    PUMP_PROGRAM_ID,
    RAYDIUM_CPMM_AUTHORITY_ID,
    RAYDIUM_CPMM_PROGRAM_ID,
    RAYDIUM_V4_AUTHORITY_ID,
    RAYDIUM_V4_PROGRAM_ID,
    SYSTEM_PROGRAM_ID,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
)
from sniper_bot.solana.pump_events import EventLayoutError, TradeEvent, pump_log_events
from sniper_bot.solana.pumpfun import associated_token_address, bonding_curve_address
from sniper_bot.solana.pumpswap import PUMP_AMM_PROGRAM_ID, canonical_pool_address, decode_pool
from sniper_bot.solana.rent import RENT_EXEMPT_MINIMUM_LAMPORTS

__all__ = [
    "ChainReader",
    "LaunchHistoryReader",
    "NotATokenError",
    "RpcLaunchHistory",
    "SignatureInfo",
    "SnapshotFetcher",
]

log = structlog.get_logger(__name__)

_TRANSFER_CHECKED = 12
_T = TypeVar("_T")


class ChainReader(Protocol):
    """The part of ``sniper_bot.chain.rpc.SolanaRpc`` the safety check uses."""

    async def get_slot(self, commitment: Any = "confirmed") -> int: ...

    async def get_multiple_accounts(self, pubkeys: Sequence[Pubkey]) -> list[Account | None]: ...

    async def get_token_largest_accounts(self, mint: Pubkey) -> list[tuple[Pubkey, int]]: ...

    async def simulate_transaction(
        self,
        tx: VersionedTransaction,
        *,
        sig_verify: bool = False,
        replace_recent_blockhash: bool = False,
        accounts: Sequence[Pubkey] = (),
    ) -> SimulationResult: ...


@dataclass(frozen=True, slots=True)
class SignatureInfo:
    signature: Signature
    slot: int
    failed: bool


class LaunchHistoryReader(Protocol):
    """The two history calls the bundled-launch read makes (``RpcLaunchHistory``)."""

    async def get_signatures_for_address(
        self, address: Pubkey, *, limit: int = 1_000
    ) -> list[SignatureInfo]: ...

    async def get_transaction(self, sig: Signature) -> LandedTransaction | None: ...


class RpcLaunchHistory:
    """``SolanaRpc`` plus ``getSignaturesForAddress`` (with slots), through the same pool."""

    def __init__(self, rpc: Any) -> None:  # sniper_bot.chain.rpc.SolanaRpc
        self.rpc = rpc

    async def get_signatures_for_address(
        self, address: Pubkey, *, limit: int = 1_000
    ) -> list[SignatureInfo]:
        def parse(result: Any) -> list[SignatureInfo]:
            if not isinstance(result, list):
                raise PermanentError("getSignaturesForAddress answered no list")
            return [
                SignatureInfo(
                    Signature.from_string(str(e["signature"])),
                    int(e["slot"]),
                    e.get("err") is not None,
                )
                for e in result
            ]

        config = {"limit": limit, "commitment": "confirmed"}
        result: list[SignatureInfo] = await self.rpc.pool.request(
            "getSignaturesForAddress", [str(address), config], parse=parse
        )
        return result

    async def get_transaction(self, sig: Signature) -> LandedTransaction | None:
        landed: LandedTransaction | None = await self.rpc.get_transaction(sig)
        return landed


_HISTORY_LIMIT = 1_000
_WINDOW_TXS = 12
_FUNDING_CHECKS = 5
_FUNDING_LIMIT = 50


class NotATokenError(PermanentError):
    """The address is not an SPL Token / Token-2022 mint."""


@dataclass(frozen=True, slots=True)
class _Round1:
    mint_account: Account
    metaplex: MetaplexMetadata | None
    largest: list[tuple[Pubkey, int]] | None
    slot: int | None
    buy: Quote | BaseException | None
    launchpad: LaunchpadSnapshot | None = None


class SnapshotFetcher:
    """Fetches everything the layers need for one mint. Raises only when the mint itself fails."""

    def __init__(
        self,
        rpc: ChainReader,
        venue: Quoter | None = None,
        *,
        round_trip_lamports: int = 100_000_000,
        slippage_bps: int = 5_000,
        fee_payer: Pubkey | None = None,
        external: Sequence[ExternalSource] = (),
        history: LaunchHistoryReader | None = None,
        creators: CreatorLookup | None = None,
    ) -> None:
        self._rpc = rpc
        self._history = history
        self._creators = creators
        self._external = tuple(external)
        self._venue = venue
        self._round_trip_lamports = round_trip_lamports
        self._slippage_bps = slippage_bps
        self._fee_payer = fee_payer

    @property
    def rpc(self) -> ChainReader:
        return self._rpc

    @property
    def external(self) -> tuple[ExternalSource, ...]:
        return self._external

    async def fetch(self, mint: Pubkey) -> TokenSnapshot:
        if not self._external:
            return await self._fetch_chain(mint)
        opinions = asyncio.create_task(gather_opinions(self._external, str(mint)))
        try:
            snapshot = await self._fetch_chain(mint)
        except BaseException:
            opinions.cancel()
            await asyncio.gather(opinions, return_exceptions=True)
            raise
        found, missing = await opinions
        return replace(snapshot, external=found, unavailable=snapshot.unavailable + missing)

    async def _fetch_chain(self, mint: Pubkey) -> TokenSnapshot:
        unavailable: list[str] = []
        r1 = await self._round1(mint, unavailable)
        mint_state = parse_mint(bytes(r1.mint_account.data))
        extensions = decode_mint_extensions(mint_state.extensions)
        program_id = r1.mint_account.owner
        buy = r1.buy if isinstance(r1.buy, Quote) else None
        route_keys = [Pubkey.from_string(k) for k in buy.amm_keys[:2]] if buy else []
        holder_keys = [address for address, _ in r1.largest or []]
        launchpad = r1.launchpad
        creator_keys = (
            [launchpad.creator_account]
            if launchpad is not None and launchpad.creator_account is not None
            else []
        )

        window_task = (
            asyncio.create_task(_guard(self._launch_window(mint, launchpad)))
            if launchpad is not None and self._history is not None
            else None
        )
        accounts_task = _guard(
            self._rpc.get_multiple_accounts([*holder_keys, *route_keys, *creator_keys])
        )
        sell_task = _guard(self._sell_quote(mint, buy))
        accounts, sell = await asyncio.gather(accounts_task, sell_task)
        if isinstance(accounts, BaseException):
            unavailable.append(f"holder and pool accounts: {accounts}")
            accounts = [None] * (len(holder_keys) + len(route_keys) + len(creator_keys))
        elif launchpad is not None and creator_keys:
            launchpad = _with_creator_account(launchpad, accounts[-1])
        holders = (
            _holders(r1.largest, accounts[: len(holder_keys)]) if r1.largest is not None else None
        )
        pool_accounts = accounts[len(holder_keys) : len(holder_keys) + len(route_keys)]
        pool = _pool(route_keys, pool_accounts, mint, holders)

        pool_task = _guard(self._complete_pool(pool))
        sim_task = _guard(
            self._simulate(mint, program_id, mint_state.decimals, holders, pool, r1, launchpad)
        )
        pool_result, simulation = await asyncio.gather(pool_task, sim_task)
        if isinstance(pool_result, BaseException):
            unavailable.append(f"pool vaults: {pool_result}")
        else:
            pool = pool_result
        if isinstance(simulation, BaseException):
            unavailable.append(f"sell simulation: {simulation}")
            simulation = None
        window: LaunchWindow | None = None
        if window_task is not None:
            read = await window_task
            if isinstance(read, BaseException):
                unavailable.append(f"launch window: {read}")
            else:
                window = read
        creator_stats = None
        if self._creators is not None and launchpad is not None and launchpad.creator is not None:
            known = str(launchpad.creator)
            creator_stats = self._creators.get(known) or CreatorStats(known)
        return TokenSnapshot(
            mint=mint,
            program_id=program_id,
            mint_state=mint_state,
            extensions=extensions,
            supply=mint_state.supply,
            decimals=mint_state.decimals,
            metaplex=r1.metaplex,
            holders=holders,
            pool=pool,
            sell_simulation=simulation,
            round_trip=self._round_trip(r1.buy, sell, unavailable),
            launchpad=launchpad,
            creator_stats=creator_stats,
            launch_window=window,
            slot=r1.slot,
            unavailable=tuple(unavailable),
        )

    async def _round1(self, mint: Pubkey, unavailable: list[str]) -> _Round1:
        buy_coro = (
            self._venue.quote(WSOL_MINT, str(mint), self._round_trip_lamports, self._slippage_bps)
            if self._venue is not None
            else _none()
        )
        curve_key, pool_key = bonding_curve_address(mint), canonical_pool_address(mint)
        accounts, largest, slot, buy = await asyncio.gather(
            self._rpc.get_multiple_accounts([mint, metadata_pda(mint), curve_key, pool_key]),
            _guard(self._rpc.get_token_largest_accounts(mint)),
            _guard(self._rpc.get_slot()),
            _guard(buy_coro),
        )
        mint_account = accounts[0]
        if mint_account is None:
            raise NotATokenError(f"{mint} does not exist on chain", user_message=_NOT_A_MINT)
        if mint_account.owner not in (TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID):
            raise NotATokenError(
                f"{mint} is owned by {mint_account.owner}, not a token program",
                user_message=_NOT_A_MINT,
            )
        metaplex = None
        if accounts[1] is not None:
            try:
                metaplex = parse_metaplex_metadata(bytes(accounts[1].data))
            except ParseError as exc:
                unavailable.append(f"metadata: {exc.message}")
        if isinstance(largest, BaseException):
            unavailable.append(f"largest accounts: {largest}")
            largest = None
        if isinstance(slot, BaseException):
            slot = None
        if isinstance(buy, BaseException) and not _is_no_route(buy):
            unavailable.append(f"buy quote: {buy}")
        launchpad = _launchpad(
            mint, mint_account.owner, curve_key, accounts[2], pool_key, accounts[3], unavailable
        )
        return _Round1(mint_account, metaplex, largest, slot, buy, launchpad)

    async def _sell_quote(self, mint: Pubkey, buy: Quote | None) -> Quote | None:
        if self._venue is None or buy is None or buy.out_amount <= 0:
            return None
        return await self._venue.quote(str(mint), WSOL_MINT, buy.out_amount, self._slippage_bps)

    def _round_trip(
        self,
        buy: Quote | BaseException | None,
        sell: Quote | BaseException | None,
        unavailable: list[str],
    ) -> RoundTrip | None:
        sol_in = self._round_trip_lamports
        if buy is None:
            return None
        if isinstance(buy, BaseException):
            return RoundTrip(sol_in, buy_error=_error_text(buy)) if _is_no_route(buy) else None
        if isinstance(sell, BaseException):
            if _is_no_route(sell):
                return RoundTrip(sol_in, tokens_out=buy.out_amount, sell_error=_error_text(sell))
            unavailable.append(f"sell quote: {sell}")
            return None
        if sell is None:
            return None
        return RoundTrip(buy.in_amount, tokens_out=buy.out_amount, sol_back=sell.out_amount)

    async def _complete_pool(self, pool: PoolSnapshot | None) -> PoolSnapshot | None:
        """Raydium pools: read both vault balances and the LP mint supply in one call."""
        if pool is None or pool.sol_vault is None or pool.token_vault is None:
            return pool
        keys = [pool.sol_vault, pool.token_vault]
        if pool.lp_mint is not None:
            keys.append(pool.lp_mint)
        fetched = await self._rpc.get_multiple_accounts(keys)
        lp_supply = None
        if len(fetched) > 2 and fetched[2] is not None:
            lp_supply = parse_mint(bytes(fetched[2].data)).supply
        return replace(
            pool,
            sol_reserve=_token_amount(fetched[0]),
            token_reserve=_token_amount(fetched[1]),
            lp_supply=lp_supply,
        )

    async def _simulate(
        self,
        mint: Pubkey,
        program_id: Pubkey,
        decimals: int,
        holders: tuple[Holder, ...] | None,
        pool: PoolSnapshot | None,
        r1: _Round1,
        launchpad: LaunchpadSnapshot | None = None,
    ) -> SellSimulation | None:
        if not holders or pool is None or pool.token_vault is None:
            return None
        creators = {r1.metaplex.update_authority} if r1.metaplex else set()
        candidates = [
            h
            for h in holders
            if h.owner is not None
            and h.amount > 0
            and h.address != pool.token_vault
            and h.owner not in pool.vault_owners
            and (launchpad is None or not launchpad.holds_reserve(h))
        ]
        if not candidates:
            return None
        # A frozen holder proves the freeze is in use; else the creator (funded), else the largest.
        source = max(candidates, key=lambda h: (h.frozen is True, h.owner in creators, h.amount))
        if source.owner is None:
            return None
        amount = max(1, source.amount // 1_000)
        payer = self._fee_payer or source.owner
        transfer = Instruction(
            program_id,
            struct.pack("<BQB", _TRANSFER_CHECKED, amount, decimals),
            [
                AccountMeta(source.address, is_signer=False, is_writable=True),
                AccountMeta(mint, is_signer=False, is_writable=False),
                AccountMeta(pool.token_vault, is_signer=False, is_writable=True),
                AccountMeta(source.owner, is_signer=True, is_writable=False),
            ],
        )
        message = MessageV0.try_compile(payer, [transfer], [], Hash.default())
        signers = message.header.num_required_signatures
        tx = VersionedTransaction.populate(message, [Signature.default()] * signers)
        result = await self._rpc.simulate_transaction(
            tx, sig_verify=False, replace_recent_blockhash=True
        )
        return SellSimulation(
            "transfer_to_pool",
            source.address,
            source.owner,
            amount,
            result.err,
            tuple(result.logs),
            result.units_consumed,
        )

    async def _launch_window(
        self, mint: Pubkey, launchpad: LaunchpadSnapshot
    ) -> LaunchWindow | None:
        """The create's slot: its buys by other wallets and whether the creator funded them."""
        history = self._history
        if history is None:
            return None
        sigs = await history.get_signatures_for_address(
            launchpad.bonding_curve, limit=_HISTORY_LIMIT
        )
        if not sigs or len(sigs) >= _HISTORY_LIMIT:
            return None  # nothing yet, or the create is older than one page: not read
        oldest = [s for s in reversed(sigs) if not s.failed]
        if not oldest:
            return None
        create_slot = oldest[0].slot
        in_slot = [s for s in oldest if s.slot == create_slot]
        window = in_slot[:_WINDOW_TXS]
        txs = await asyncio.gather(*(history.get_transaction(s.signature) for s in window))
        creator = launchpad.creator
        buys: list[EarlyBuy] = []
        dev_tokens = 0
        for info, tx in zip(window, txs, strict=True):
            if tx is None or tx.err is not None:
                continue
            for trade in _buys_of(tx.logs, mint):
                if creator is not None and trade.user == creator:
                    dev_tokens += trade.token_amount
                else:
                    buys.append(
                        EarlyBuy(trade.user, trade.token_amount, trade.sol_amount,
                                 str(info.signature))
                    )  # fmt: skip
        if creator is not None and buys:
            wallets = list(dict.fromkeys(b.user for b in buys))[:_FUNDING_CHECKS]
            funded = await asyncio.gather(
                *(_guard(self._funded_by(history, w, creator)) for w in wallets)
            )
            verdict = {
                w: f if isinstance(f, bool) else None for w, f in zip(wallets, funded, strict=True)
            }
            buys = [replace(b, funded_by_creator=verdict.get(b.user)) for b in buys]
        return LaunchWindow(
            create_slot,
            str(oldest[0].signature),
            len(window),
            tuple(buys),
            dev_tokens,
            truncated=len(in_slot) > len(window),
        )

    @staticmethod
    async def _funded_by(
        history: LaunchHistoryReader, wallet: Pubkey, creator: Pubkey
    ) -> bool | None:
        """True when ``wallet``'s oldest transaction is one the creator paid for and that gave
        the wallet its first lamports; None when its history is longer than one page."""
        sigs = await history.get_signatures_for_address(wallet, limit=_FUNDING_LIMIT)
        if not sigs or len(sigs) >= _FUNDING_LIMIT:
            return None
        tx = await history.get_transaction(sigs[-1].signature)
        if tx is None or not tx.account_keys or tx.account_keys[0] != creator:
            return False
        try:
            index = tx.account_keys.index(wallet)
        except ValueError:
            return False
        return tx.pre_balances[index] == 0 and tx.post_balances[index] > 0


def _buys_of(logs: Sequence[str], mint: Pubkey) -> list[TradeEvent]:
    try:
        events, _ = pump_log_events(logs)
    except EventLayoutError:
        return []
    return [
        e.event
        for e in events
        if isinstance(e.event, TradeEvent) and e.event.is_buy and e.event.mint == mint
    ]


_NOT_A_MINT = "That address is not a token mint. Paste the token's mint address."


async def _none() -> None:
    return None


async def _guard(coro: Any) -> Any:
    """Await ``coro``; a SniperBotError (or a parse error) becomes the returned value."""
    try:
        return await coro
    except SniperBotError as exc:
        return exc


def _is_no_route(exc: BaseException) -> bool:
    return isinstance(exc, NoRouteError)


def _error_text(exc: BaseException) -> str:
    details = getattr(exc, "details", None)
    if isinstance(details, dict) and details.get("errorCode"):
        return str(details["errorCode"])
    return str(exc)


def _token_amount(account: Account | None) -> int | None:
    if account is None:
        return None
    try:
        return parse_token_account(bytes(account.data)).amount
    except ParseError:
        return None


def _holders(
    largest: list[tuple[Pubkey, int]], accounts: Sequence[Account | None]
) -> tuple[Holder, ...]:
    out: list[Holder] = []
    for (address, amount), account in zip(largest, accounts, strict=False):
        owner: Pubkey | None = None
        frozen: bool | None = None
        if account is not None:
            try:
                state = parse_token_account(bytes(account.data))
                owner, frozen = state.owner, state.is_frozen
            except ParseError:
                pass
        out.append(Holder(address, amount, owner, frozen))
    return tuple(out)


def _pool(
    route_keys: list[Pubkey],
    accounts: Sequence[Account | None],
    mint: Pubkey,
    holders: tuple[Holder, ...] | None,
) -> PoolSnapshot | None:
    """The first route pool, classified by its owner program."""
    for key, account in zip(route_keys, accounts, strict=False):
        if account is None:
            continue
        try:
            return _classify_pool(key, account, mint, holders)
        except ParseError:
            log.info("safety.pool_unparsed", pool=str(key), owner=str(account.owner))
            return PoolSnapshot(key, PoolKind.UNKNOWN, None, None, vault_owners=frozenset({key}))
    return None


def _classify_pool(
    key: Pubkey, account: Account, mint: Pubkey, holders: tuple[Holder, ...] | None
) -> PoolSnapshot:
    raw = bytes(account.data)
    owners = frozenset({key})
    if account.owner == RAYDIUM_V4_PROGRAM_ID:
        v4 = parse_raydium_v4(raw)
        token_first = v4.base_mint == mint
        return PoolSnapshot(
            key,
            PoolKind.RAYDIUM_V4,
            sol_reserve=None,
            token_reserve=None,
            token_vault=v4.base_vault if token_first else v4.quote_vault,
            vault_owners=owners | {RAYDIUM_V4_AUTHORITY_ID},
            lp_mint=v4.lp_mint,
            lp_total=v4.lp_reserve,
            label="Raydium",
            sol_vault=v4.quote_vault if token_first else v4.base_vault,
        )
    if account.owner == RAYDIUM_CPMM_PROGRAM_ID:
        cp = parse_cpmm_pool(raw)
        token_first = cp.token_0_mint == mint
        return PoolSnapshot(
            key,
            PoolKind.RAYDIUM_CPMM,
            sol_reserve=None,
            token_reserve=None,
            token_vault=cp.token_0_vault if token_first else cp.token_1_vault,
            vault_owners=owners | {RAYDIUM_CPMM_AUTHORITY_ID},
            lp_mint=cp.lp_mint,
            lp_total=cp.lp_supply,
            label="Raydium CPMM",
            sol_vault=cp.token_1_vault if token_first else cp.token_0_vault,
        )
    vault = next((h.address for h in holders or () if h.owner == key), None)
    if account.owner == PUMP_PROGRAM_ID:
        curve = parse_pump_bonding_curve(raw)
        return PoolSnapshot(
            key,
            PoolKind.PUMP_BONDING_CURVE,
            curve.real_quote_reserves,
            curve.real_token_reserves,
            vault,
            owners,
        )
    if account.owner == SYSTEM_PROGRAM_ID:
        token_reserve = next((h.amount for h in holders or () if h.owner == key), None)
        return PoolSnapshot(
            key,
            PoolKind.SYSTEM_ACCOUNT,
            max(0, account.lamports - RENT_EXEMPT_MINIMUM_LAMPORTS),
            token_reserve,
            vault,
            owners,
        )
    return PoolSnapshot(key, PoolKind.UNKNOWN, None, None, vault, owners)


def _launchpad(
    mint: Pubkey,
    token_program: Pubkey,
    curve_key: Pubkey,
    curve_account: Account | None,
    pool_key: Pubkey,
    pool_account: Account | None,
    unavailable: list[str],
) -> LaunchpadSnapshot | None:
    """The pump.fun curve (and the canonical PumpSwap pool once graduated) of ``mint``, if any."""
    if curve_account is None or curve_account.owner != PUMP_PROGRAM_ID:
        return None
    try:
        curve = parse_pump_bonding_curve(bytes(curve_account.data))
    except ParseError as exc:
        unavailable.append(f"bonding curve: {exc.message}")
        return None
    creator = curve.creator if curve.creator != Pubkey.default() else None
    pool: Pubkey | None = None
    pool_vault: Pubkey | None = None
    if pool_account is not None and pool_account.owner == PUMP_AMM_PROGRAM_ID:
        try:
            state = decode_pool(bytes(pool_account.data))
        except ValueError as exc:
            unavailable.append(f"PumpSwap pool: {exc}")
        else:
            pool, pool_vault = pool_key, state.pool_base_token_account
            if creator is None and state.has_coin_creator:
                creator = state.coin_creator
    return LaunchpadSnapshot(
        bonding_curve=curve_key,
        curve_vault=associated_token_address(curve_key, mint, token_program),
        complete=curve.complete,
        creator=creator,
        curve_tokens=curve.real_token_reserves,
        pool=pool,
        pool_vault=pool_vault,
        creator_account=(
            None if creator is None else associated_token_address(creator, mint, token_program)
        ),
    )


def _with_creator_account(
    launchpad: LaunchpadSnapshot, account: Account | None
) -> LaunchpadSnapshot:
    """The creator's ATA as read in round 2: absent (balance 0), or its balance."""
    if account is None:
        return replace(launchpad, creator_account_exists=False, creator_balance=0)
    balance = _token_amount(account)
    return replace(launchpad, creator_account_exists=balance is not None, creator_balance=balance)
