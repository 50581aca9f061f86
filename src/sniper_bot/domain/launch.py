"""New tokens/pools seen on chain (``LaunchEvent``) and the snipe orders waiting for them.

A ``LaunchEvent`` is what a detection listener emits once per mint: where it was seen
(``source``), the mint, its pool (bonding curve or AMM account), the creator when known, the slot
and signature of the announcement, the listener's monotonic clock reading when it was decoded
(``seen_at``, for latency) and the endpoint whose copy arrived first.

A ``CurveUpdate`` is one step of a pump.fun coin's life on its bonding curve as its events tell
it (the create, every trade, the completion): the reserves the event reports, no account read.
``CurveProgress`` is the latest state per coin the detector keeps (``progress_bps``: the share of
the curve's sellable tokens already bought, 10,000 once complete).

A ``SnipeTarget`` is a user's standing order "buy ``amount_lamports`` as soon as a matching coin
can be bought", stored in ``"SnipeTarget"``. It selects launches by exactly one of: a mint
(``token_mint``), a creator (``creator``: the dev wallet, any pump.fun create it signs) or a
``LaunchFilter`` (name/symbol substrings, launchpads, mints, creator allow/deny lists,
dev-buy size bounds, mayhem flag; an explicit, bounded value, never code). An armed target may
own a durable nonce account (``nonce_account``, authority the user's wallet) whose current
value (``nonce_value``) its prepared transaction uses. Its life:

    ARMED --pool seen (CAS, one replica wins)--> FIRED(order_id) --order failed--> FAILED
      |\\--user--> CANCELLED
      \\--expires_at passed--> EXPIRED
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sniper_bot.domain.fees import FeeLevel

__all__ = [
    "INITIAL_REAL_TOKEN_RESERVES",
    "LAUNCH_SOURCES",
    "MAX_DEV_BUY_LAMPORTS",
    "SNIPE_FINAL_STATES",
    "CurveEventKind",
    "CurveProgress",
    "CurveUpdate",
    "InvalidLaunchFilter",
    "LaunchEvent",
    "LaunchFilter",
    "LaunchSource",
    "NonceStatus",
    "SelectorKind",
    "SnipeStatus",
    "SnipeTarget",
    "selector_kind",
    "validate_pubkey_text",
]

LaunchSource = Literal["pumpfun", "raydium_v4", "raydium_cpmm", "pumpswap", "manual"]
LAUNCH_SOURCES: tuple[LaunchSource, ...] = (
    "pumpfun",
    "raydium_v4",
    "raydium_cpmm",
    "pumpswap",
    "manual",
)


@dataclass(frozen=True, slots=True)
class LaunchEvent:
    """A mint became tradable somewhere. Keys are base58 strings (no vendor types in domain)."""

    source: LaunchSource
    mint: str
    pool: str
    creator: str | None
    slot: int | None
    signature: str | None
    seen_at: float  # the listener's monotonic clock (seconds) when the notification was decoded
    endpoint: str  # the endpoint whose copy arrived first ("" when not from a WebSocket)


CurveEventKind = Literal["create", "trade", "complete"]
# Global.initial_real_token_reserves on mainnet (793.1 M tokens of 6 decimals): a curve whose
# create we did not see is measured against it.
INITIAL_REAL_TOKEN_RESERVES = 793_100_000_000_000


@dataclass(frozen=True, slots=True)
class CurveUpdate:
    """What one pump.fun event says about its coin's curve. Reserves are base units (lamports,
    token base units), ``None`` where the event does not carry them (a ``complete`` event)."""

    kind: CurveEventKind
    mint: str
    virtual_sol_reserves: int | None
    virtual_token_reserves: int | None
    real_sol_reserves: int | None
    real_token_reserves: int | None
    complete: bool
    slot: int | None
    signature: str | None
    seen_at: float
    initial_real_token_reserves: int | None = None  # a create's own figure
    token_total_supply: int | None = None
    is_buy: bool | None = None  # trades only
    sol_amount: int | None = None
    token_amount: int | None = None
    user: str | None = None
    creator: str | None = None  # a trade's coin creator (its TradeEvent says; exits watch it)


@dataclass(frozen=True, slots=True)
class CurveProgress:
    """The latest known state of one coin's bonding curve (integers only)."""

    mint: str
    virtual_sol_reserves: int
    virtual_token_reserves: int
    real_sol_reserves: int
    real_token_reserves: int
    complete: bool
    slot: int | None
    updated_at: float
    initial_real_token_reserves: int = INITIAL_REAL_TOKEN_RESERVES
    token_total_supply: int | None = None
    trades: int = 0
    quote_mint: str | None = None  # None: SOL; else the mint the curve is priced in

    @property
    def progress_bps(self) -> int:
        """Sold share of the curve's real tokens in basis points (pump.fun's progress bar)."""
        if self.complete:
            return 10_000
        initial = self.initial_real_token_reserves
        if initial <= 0:
            return 0
        sold = max(0, initial - self.real_token_reserves)
        return min(10_000, sold * 10_000 // initial)

    def market_cap_lamports(self, supply: int | None = None) -> int | None:
        """Spot price x supply in lamports (``None`` without a supply or reserves)."""
        total = supply if supply is not None else self.token_total_supply
        if total is None or self.virtual_token_reserves <= 0:
            return None
        return self.virtual_sol_reserves * total // self.virtual_token_reserves


class SnipeStatus(enum.StrEnum):
    ARMED = "ARMED"
    FIRED = "FIRED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"


SNIPE_FINAL_STATES = frozenset({SnipeStatus.CANCELLED, SnipeStatus.EXPIRED, SnipeStatus.FAILED})


class SelectorKind(enum.StrEnum):
    """What a target matches launches by (exactly one per target)."""

    MINT = "mint"
    CREATOR = "creator"
    FILTER = "filter"


class NonceStatus(enum.StrEnum):
    """The target's durable nonce account. PENDING: chosen, not yet initialised on chain (no
    usable value); READY: ``nonce_value`` is the account's current nonce, the one the prepared
    transaction uses; ADVANCED: that nonce was consumed (the buy landed, or recovery advanced it
    to void every copy that did not); CLOSED: the account was closed and its rent returned."""

    PENDING = "PENDING"
    READY = "READY"
    ADVANCED = "ADVANCED"
    CLOSED = "CLOSED"


_BASE58 = re.compile(r"[1-9A-HJ-NP-Za-km-z]{32,44}")


def validate_pubkey_text(value: str, what: str) -> str:
    """A base58 public key or hash (32-44 characters of the base58 alphabet), else ValueError."""
    if not isinstance(value, str) or _BASE58.fullmatch(value) is None:
        shown = value[:60] if isinstance(value, str) else type(value).__name__
        raise ValueError(f"{what} must be a base58 address of 32-44 characters, got {shown!r}")
    return value


_FILTER_KEYS = (
    "name_contains",
    "symbol_contains",
    "sources",
    "mints",
    "creators",
    "not_creators",
    "dev_buy_min_lamports",
    "dev_buy_max_lamports",
    "mayhem",
)
_LIST_KEYS = ("name_contains", "symbol_contains", "sources", "mints", "creators", "not_creators")
# the largest dev buy bound: more SOL than exists (u64 lamports)
MAX_DEV_BUY_LAMPORTS = 2**64 - 1


class InvalidLaunchFilter(ValueError):
    """A launch filter that is malformed or too large; the message names the field and limit."""


@dataclass(frozen=True, slots=True)
class LaunchFilter:
    """A launch matches when every non-empty clause matches: its name contains one of
    ``name_contains``, its symbol one of ``symbol_contains`` (both case-insensitive), its source
    is one of ``sources``, its mint one of ``mints``, its creator one of ``creators`` and none of
    ``not_creators``, the creator's own buy in the create's transaction (``dev_buy_lamports``, 0
    when it bought nothing) is within ``dev_buy_min_lamports``..``dev_buy_max_lamports``
    (inclusive) and its mayhem-mode flag equals ``mayhem``. A launch whose fact is unknown fails
    that clause (an unknown creator fails a deny list too: never buy what cannot be checked).

    Bounded (at most ``MAX_TERMS`` terms per clause of at most ``MAX_TERM_CHARS`` printable
    characters, ``MAX_JSON_BYTES`` as JSON) and validated on construction; terms are stored
    case-folded (addresses as given), deduplicated and sorted, so equal filters are equal values
    with equal JSON. ``mints`` + ``sources=("pumpswap",)`` is a graduation snipe: the coin's
    PumpSwap pool, once its curve completes.
    """

    MAX_TERMS = 8
    MAX_TERM_CHARS = 32
    MAX_JSON_BYTES = 1024

    name_contains: tuple[str, ...] = ()
    symbol_contains: tuple[str, ...] = ()
    sources: tuple[LaunchSource, ...] = ()
    mints: tuple[str, ...] = ()
    creators: tuple[str, ...] = ()
    not_creators: tuple[str, ...] = ()
    dev_buy_min_lamports: int | None = None
    dev_buy_max_lamports: int | None = None
    mayhem: bool | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "name_contains", _terms("name_contains", self.name_contains))
        object.__setattr__(self, "symbol_contains", _terms("symbol_contains", self.symbol_contains))
        for key in ("mints", "creators", "not_creators"):
            object.__setattr__(self, key, _addresses(key, getattr(self, key)))
        overlap = set(self.creators) & set(self.not_creators)
        if overlap:
            raise InvalidLaunchFilter(
                f"creator {sorted(overlap)[0]} is both allowed and denied; pick one"
            )
        if isinstance(self.sources, str) or not isinstance(self.sources, tuple | list):
            raise InvalidLaunchFilter(
                f"filter sources must be a list of {list(LAUNCH_SOURCES)}, got {self.sources!r}"
            )
        for source in self.sources:
            if source not in LAUNCH_SOURCES:
                raise InvalidLaunchFilter(
                    f"filter source {source!r} is not one of {', '.join(LAUNCH_SOURCES)}"
                )
        object.__setattr__(self, "sources", tuple(sorted(set(self.sources))))
        for key in ("dev_buy_min_lamports", "dev_buy_max_lamports"):
            value = getattr(self, key)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int)
                or not 0 <= value <= MAX_DEV_BUY_LAMPORTS
            ):
                raise InvalidLaunchFilter(
                    f"filter {key} must be whole lamports from 0 to {MAX_DEV_BUY_LAMPORTS}, "
                    f"got {value!r}"[:200]
                )
        low, high = self.dev_buy_min_lamports, self.dev_buy_max_lamports
        if low is not None and high is not None and low > high:
            raise InvalidLaunchFilter(
                f"filter dev buy minimum {low} lamports is above its maximum {high} lamports"
            )
        if self.mayhem is not None and not isinstance(self.mayhem, bool):
            raise InvalidLaunchFilter(f"filter mayhem must be true or false, got {self.mayhem!r}")
        if not any(getattr(self, key) for key in _LIST_KEYS) and (
            low is None and high is None and self.mayhem is None
        ):
            raise InvalidLaunchFilter(
                "a launch filter needs at least one of " + ", ".join(_FILTER_KEYS)
            )

    @property
    def on_graduation(self) -> bool:
        """A graduation snipe: named mints, on their PumpSwap pool only."""
        return bool(self.mints) and self.sources == ("pumpswap",)

    def matches(
        self,
        name: str | None,
        symbol: str | None,
        source: str,
        *,
        mint: str | None = None,
        creator: str | None = None,
        dev_buy_lamports: int | None = None,
        mayhem: bool | None = None,
    ) -> bool:
        if self.sources and source not in self.sources:
            return False
        if self.mints and mint not in self.mints:
            return False
        if self.creators and creator not in self.creators:
            return False
        if self.not_creators and (creator is None or creator in self.not_creators):
            return False
        if self.dev_buy_min_lamports is not None or self.dev_buy_max_lamports is not None:
            if dev_buy_lamports is None:
                return False
            if (
                self.dev_buy_min_lamports is not None
                and dev_buy_lamports < self.dev_buy_min_lamports
            ):
                return False
            if (
                self.dev_buy_max_lamports is not None
                and dev_buy_lamports > self.dev_buy_max_lamports
            ):
                return False
        if self.mayhem is not None and mayhem is not self.mayhem:
            return False
        if self.name_contains:
            if name is None:
                return False
            folded = name.casefold()
            if not any(term in folded for term in self.name_contains):
                return False
        if self.symbol_contains:
            if symbol is None:
                return False
            folded = symbol.casefold()
            if not any(term in folded for term in self.symbol_contains):
                return False
        return True

    def to_dict(self) -> dict[str, object]:
        """Only the non-empty clauses (the stored and published form)."""
        out: dict[str, object] = {}
        for key in _FILTER_KEYS:
            value = getattr(self, key)
            if key in _LIST_KEYS:
                if value:
                    out[key] = list(value)
            elif value is not None:
                out[key] = value
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: object) -> LaunchFilter:
        """Strict: an object with only the known keys; lists of strings, integer lamports, a
        boolean ``mayhem``."""
        if not isinstance(data, dict):
            raise InvalidLaunchFilter(
                f"a launch filter must be a JSON object, got {type(data).__name__}"
            )
        known = _FILTER_KEYS
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            raise InvalidLaunchFilter(
                f"unknown launch filter key(s) {', '.join(unknown)}; allowed: {', '.join(known)}"
            )
        parts: dict[str, tuple[str, ...]] = {}
        for key in _LIST_KEYS:
            value = data.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InvalidLaunchFilter(f"launch filter {key} must be a list of strings")
            parts[key] = tuple(value)
        return cls(
            name_contains=parts["name_contains"],
            symbol_contains=parts["symbol_contains"],
            sources=parts["sources"],  # type: ignore[arg-type]  # checked in __post_init__
            mints=parts["mints"],
            creators=parts["creators"],
            not_creators=parts["not_creators"],
            dev_buy_min_lamports=data.get("dev_buy_min_lamports"),
            dev_buy_max_lamports=data.get("dev_buy_max_lamports"),
            mayhem=data.get("mayhem"),
        )

    @classmethod
    def from_json(cls, text: str) -> LaunchFilter:
        if len(text.encode()) > cls.MAX_JSON_BYTES:
            raise InvalidLaunchFilter(
                f"a launch filter is at most {cls.MAX_JSON_BYTES} bytes of JSON, "
                f"got {len(text.encode())}"
            )
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InvalidLaunchFilter(f"a launch filter must be JSON: {exc}") from None
        return cls.from_dict(data)


def _addresses(key: str, values: object) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, tuple | list):
        raise InvalidLaunchFilter(f"filter {key} must be a list of addresses, got {values!r}"[:200])
    if len(values) > LaunchFilter.MAX_TERMS:
        raise InvalidLaunchFilter(
            f"filter {key} has {len(values)} addresses; at most {LaunchFilter.MAX_TERMS}"
        )
    out: set[str] = set()
    for value in values:
        if not isinstance(value, str) or _BASE58.fullmatch(value) is None:
            shown = value[:60] if isinstance(value, str) else type(value).__name__
            raise InvalidLaunchFilter(
                f"filter {key} entry {shown!r} is not a base58 address of 32-44 characters"
            )
        out.add(value)
    return tuple(sorted(out))


def _terms(key: str, values: object) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, tuple | list):
        raise InvalidLaunchFilter(f"filter {key} must be a list of strings, got {values!r}"[:200])
    if len(values) > LaunchFilter.MAX_TERMS:
        raise InvalidLaunchFilter(
            f"filter {key} has {len(values)} terms; at most {LaunchFilter.MAX_TERMS}"
        )
    out: set[str] = set()
    for value in values:
        if not isinstance(value, str):
            raise InvalidLaunchFilter(f"filter {key} terms must be strings, got {value!r}"[:200])
        term = value.strip().casefold()
        if not term:
            raise InvalidLaunchFilter(f"filter {key} has an empty term")
        if len(term) > LaunchFilter.MAX_TERM_CHARS:
            raise InvalidLaunchFilter(
                f"filter {key} term {term[:40]!r} has {len(term)} characters; "
                f"at most {LaunchFilter.MAX_TERM_CHARS}"
            )
        if not term.isprintable():
            raise InvalidLaunchFilter(f"filter {key} term {term!r} has control characters")
        out.add(term)
    return tuple(sorted(out))


def selector_kind(
    token_mint: str | None, creator: str | None, launch_filter: LaunchFilter | None
) -> SelectorKind:
    """Which one selector is given; ValueError unless exactly one is (addresses checked)."""
    given = [
        kind
        for kind, value in (
            (SelectorKind.MINT, token_mint),
            (SelectorKind.CREATOR, creator),
            (SelectorKind.FILTER, launch_filter),
        )
        if value is not None
    ]
    if len(given) != 1:
        raise ValueError(
            "a snipe target selects launches by exactly one of token_mint, creator or filter; "
            f"got {len(given)} ({', '.join(given) or 'none'})"
        )
    if token_mint is not None:
        validate_pubkey_text(token_mint, "token_mint")
    if creator is not None:
        validate_pubkey_text(creator, "creator")
    if launch_filter is not None and not isinstance(launch_filter, LaunchFilter):
        raise ValueError(f"filter must be a LaunchFilter, got {type(launch_filter).__name__}")
    return given[0]


@dataclass(frozen=True, slots=True)
class SnipeTarget:
    """One row of ``"SnipeTarget"``. ``amount_lamports`` is SOL in; ``order_id`` the last order
    fired for it (a ``no_route`` retry fires a new order, see ``SnipeEngine``).

    ``token_mint`` is the mint this target buys: its selector for a mint target; for a creator or
    filter target ``""`` until it fires, then the mint it fired on (``selector`` says which kind
    it is; ``creator`` / ``launch_filter`` hold the other selectors)."""

    id: int
    user_id: int
    wallet_id: int
    token_mint: str
    amount_lamports: int
    slippage_bps: int
    priority_fee: FeeLevel
    status: SnipeStatus
    created_at: datetime
    expires_at: datetime
    order_id: str | None = None
    fired_at: datetime | None = None
    error: str | None = None
    creator: str | None = None
    launch_filter: LaunchFilter | None = None
    nonce_account: str | None = None
    nonce_value: str | None = None
    nonce_status: NonceStatus | None = None
    paper: bool = False  # armed on paper: fills in the paper book, never signed (0015)

    @property
    def is_armed(self) -> bool:
        return self.status is SnipeStatus.ARMED

    @property
    def selector(self) -> SelectorKind:
        if self.launch_filter is not None:
            return SelectorKind.FILTER
        if self.creator is not None:
            return SelectorKind.CREATOR
        return SelectorKind.MINT
