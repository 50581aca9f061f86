"""``TokenSnapshot``: everything the check layers look at, fetched once, parsed, immutable.

The fetcher (``safety.fetch``) fills it; the layers (``safety.layers``) are pure functions over it,
so every layer is unit-tested with hand-built snapshots and no I/O. A field that could not be
fetched is None and its reason is listed in ``unavailable`` (missing data is "unknown", never
"safe").
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from solders.pubkey import Pubkey

from sniper_bot.safety.creators import CreatorStats
from sniper_bot.solana.layouts.metaplex import MetaplexMetadata
from sniper_bot.solana.layouts.token import MintState
from sniper_bot.solana.layouts.token2022 import MintExtensions
from sniper_bot.solana.programs import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID

__all__ = [
    "TOKEN_2022_PROGRAM_ID",
    "TOKEN_PROGRAM_ID",
    "EarlyBuy",
    "ExternalOpinion",
    "Holder",
    "LaunchWindow",
    "LaunchpadSnapshot",
    "PoolKind",
    "PoolSnapshot",
    "RoundTrip",
    "SellSimulation",
    "TokenSnapshot",
]


@dataclass(frozen=True, slots=True)
class Holder:
    """One of ``getTokenLargestAccounts``: the token account, its balance and (parsed) owner."""

    address: Pubkey
    amount: int
    owner: Pubkey | None = None
    frozen: bool | None = None


class PoolKind(enum.StrEnum):
    RAYDIUM_V4 = "raydium_v4"
    RAYDIUM_CPMM = "raydium_cpmm"
    PUMP_BONDING_CURVE = "pump_bonding_curve"
    SYSTEM_ACCOUNT = "system_account"  # a key holding SOL + its token ATA (simple market makers)
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class PoolSnapshot:
    """The pool a route goes through: SOL depth (lamports), token reserve, LP burn state."""

    address: Pubkey
    kind: PoolKind
    sol_reserve: int | None
    token_reserve: int | None
    token_vault: Pubkey | None = None
    vault_owners: frozenset[Pubkey] = frozenset()  # owners whose holdings are pool reserves
    lp_mint: Pubkey | None = None
    lp_supply: int | None = None
    lp_total: int | None = None  # LP ever issued per the pool state; burned = total - supply
    label: str | None = None
    sol_vault: Pubkey | None = None  # token account holding the SOL side (Raydium pools)

    @property
    def lp_burned_bps(self) -> int | None:
        if self.lp_total is None or self.lp_supply is None or self.lp_total <= 0:
            return None
        burned = max(0, self.lp_total - self.lp_supply)
        return min(10_000, burned * 10_000 // self.lp_total)


@dataclass(frozen=True, slots=True)
class SellSimulation:
    """A simulated transfer/sell of real tokens from a real holder (signature not verified)."""

    technique: str  # "venue_sell" | "transfer_to_pool"
    source: Pubkey  # the token account the tokens leave
    holder_owner: Pubkey
    amount: int
    err: dict[str, Any] | str | None
    logs: tuple[str, ...] = ()
    units_consumed: int | None = None

    @property
    def succeeded(self) -> bool:
        return self.err is None


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """Buy ``sol_in`` lamports of the token, then sell what the buy yields, both quoted."""

    sol_in: int
    tokens_out: int | None = None
    sol_back: int | None = None
    buy_error: str | None = None
    sell_error: str | None = None
    transfer_fee_bps: int = 0  # Token-2022 fee the venue quote may not model

    @property
    def loss_bps(self) -> int | None:
        """Effective round-trip tax: share of ``sol_in`` that does not come back (fees included)."""
        if self.sol_back is None or self.sol_in <= 0:
            return None
        tokens_kept = 10_000 - self.transfer_fee_bps
        back = self.sol_back * tokens_kept // 10_000
        return max(0, min(10_000, (self.sol_in - back) * 10_000 // self.sol_in))


@dataclass(frozen=True, slots=True)
class ExternalOpinion:
    """A third-party verdict (RugCheck, GoPlus): advisory only, never required."""

    source: str
    score: int | None  # 0-100, higher = riskier
    risks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LaunchpadSnapshot:
    """A pump.fun coin as its own accounts show it (read with the mint, no extra round trip).

    ``curve_vault`` (the bonding curve's token account) holds the unsold supply and
    ``pool_vault`` (the canonical PumpSwap pool's base account, after graduation) the pool's
    reserve: neither is a holder. ``creator_balance`` is the creator's own token account
    (``creator_account``, its ATA) read with the holders; None when it could not be read.
    """

    bonding_curve: Pubkey
    curve_vault: Pubkey
    complete: bool
    creator: Pubkey | None
    curve_tokens: int | None = None  # real token reserves still on the curve
    pool: Pubkey | None = None
    pool_vault: Pubkey | None = None
    creator_account: Pubkey | None = None
    creator_account_exists: bool = False
    creator_balance: int | None = None

    @property
    def reserve_accounts(self) -> frozenset[Pubkey]:
        keys = {self.curve_vault}
        if self.pool_vault is not None:
            keys.add(self.pool_vault)
        return frozenset(keys)

    @property
    def reserve_owners(self) -> frozenset[Pubkey]:
        keys = {self.bonding_curve}
        if self.pool is not None:
            keys.add(self.pool)
        return frozenset(keys)

    def holds_reserve(self, holder: Holder) -> bool:
        return holder.address in self.reserve_accounts or (
            holder.owner is not None and holder.owner in self.reserve_owners
        )


@dataclass(frozen=True, slots=True)
class EarlyBuy:
    """A curve buy in the create's slot (``layers.bundled``): who, how much, and whether the
    creator funded that wallet (its oldest transaction is a transfer the creator paid for;
    ``None``: not checked or its history too long to tell)."""

    user: Pubkey
    token_amount: int
    sol_amount: int
    signature: str
    funded_by_creator: bool | None = None


@dataclass(frozen=True, slots=True)
class LaunchWindow:
    """The first slot of a pump.fun coin's curve: its create and the buys that landed with it,
    read from the curve's oldest signatures (``SnapshotFetcher(history=...)``)."""

    create_slot: int
    create_signature: str
    transactions: int  # transactions of the create's slot read
    buys: tuple[EarlyBuy, ...] = ()  # by wallets other than the creator
    dev_tokens: int = 0  # the creator's own buys in that slot
    truncated: bool = False  # the slot held more transactions than were read


@dataclass(frozen=True, slots=True)
class TokenSnapshot:
    mint: Pubkey
    program_id: Pubkey
    mint_state: MintState
    extensions: MintExtensions
    supply: int
    decimals: int
    metaplex: MetaplexMetadata | None = None
    holders: tuple[Holder, ...] | None = None
    pool: PoolSnapshot | None = None
    sell_simulation: SellSimulation | None = None
    round_trip: RoundTrip | None = None
    external: tuple[ExternalOpinion, ...] = ()
    launchpad: LaunchpadSnapshot | None = None
    creator_stats: CreatorStats | None = None  # the curve creator's record (safety.creators)
    launch_window: LaunchWindow | None = None  # the create's slot (bundled launch)
    epoch: int | None = None
    slot: int | None = None
    unavailable: tuple[str, ...] = field(default=())

    @property
    def is_token_2022(self) -> bool:
        return self.program_id == TOKEN_2022_PROGRAM_ID
