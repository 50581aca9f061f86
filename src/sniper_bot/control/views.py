"""What the facade returns to frontends: plain frozen values, money in integers, no secrets.

Frontends only format these; they never reach storage, chain or trading themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sniper_bot.errors import PermanentError

__all__ = [
    "ControlError",
    "ExitView",
    "ExportView",
    "FindingView",
    "HomeView",
    "Identity",
    "OrderView",
    "PnlCardView",
    "PnlDayView",
    "PnlTokenView",
    "PnlView",
    "PositionView",
    "RiskView",
    "SettingsView",
    "SnipeView",
    "TokenCardView",
    "WalletView",
    "WithdrawPreviewView",
    "WithdrawalView",
]


class ControlError(PermanentError):
    """A user action that cannot be done as asked; ``user_message`` says why and what to do."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is asking: the Telegram user id is the identity; every query is scoped by it."""

    telegram_id: int
    username: str | None = None


@dataclass(frozen=True, slots=True)
class WalletView:
    id: int
    public_key: str
    label: str
    is_active: bool
    sol_lamports: int | None = None


@dataclass(frozen=True, slots=True)
class HomeView:
    wallet: WalletView
    sol_lamports: int
    open_positions: int
    created_wallet: bool = False
    balance_is_stale: bool = False
    paper_lamports: int | None = None  # paper trading: the simulated SOL balance (None: real)


@dataclass(frozen=True, slots=True)
class FindingView:
    severity: str
    title: str
    evidence: str


@dataclass(frozen=True, slots=True)
class RiskView:
    score: int
    blocked: bool
    is_honeypot: bool
    overridable: bool
    findings: tuple[FindingView, ...]


@dataclass(frozen=True, slots=True)
class TokenCardView:
    mint: str
    name: str | None
    symbol: str | None
    decimals: int
    token_program: str
    tokens_per_sol: int | None  # base units received for 1 SOL at the current quote, None: no route
    price_impact_pct: str | None
    risk: RiskView
    presets_lamports: tuple[int, ...]
    held_amount: int = 0
    is_stale: bool = False  # no RPC endpoint answered: the mint account is the last one seen
    # where a buy of this user goes now: "pumpfun" (the bonding curve), "pumpswap", "jupiter";
    # None: no venue quotes it
    venue: str | None = None
    force_jupiter: bool = False  # the user routes everything through Jupiter (/settings)
    # a pump.fun coin: its bonding curve (None: not a pump.fun coin, or the curve is unreadable)
    curve_progress_bps: int | None = None  # share of the curve's tokens sold, 10_000 = complete
    curve_complete: bool = False  # graduated: it trades on PumpSwap now
    market_cap_lamports: int | None = None  # spot price x supply, SOL-quoted curves only
    curve_quote_mint: str | None = None  # a curve priced in another mint than SOL (USDC...)
    market_cap_usd_micros: int | None = None  # the same in micro-USD (SOL->USDC quote; None: none)
    # the creator's holding from the risk report's launchpad layer (pump.fun coins): base units
    # and share of the supply in bps; creator_sold: its token account is empty (it sold out)
    creator_tokens: int | None = None
    creator_share_bps: int | None = None
    creator_sold: bool = False
    paper: bool = False  # paper trading: ``held_amount`` is the paper position, buys are simulated


@dataclass(frozen=True, slots=True)
class OrderView:
    id: str
    side: str
    kind: str
    status: str
    token_mint: str
    amount: int
    in_amount: int | None = None
    out_amount: int | None = None
    fee_lamports: int | None = None
    signature: str | None = None
    error_type: str | None = None
    error_sentence: str | None = None
    decimals: int | None = None
    paper: bool = False  # filled by the simulated executor: never signed, never on chain

    @property
    def is_final(self) -> bool:
        return self.status in ("CONFIRMED", "FAILED", "EXPIRED", "CANCELLED")


@dataclass(frozen=True, slots=True)
class PositionView:
    token_mint: str
    symbol: str | None
    token_amount: int
    decimals: int
    cost_basis_lamports: int
    value_lamports: int | None
    realized_pnl_lamports: int
    unrealized_pnl_lamports: int | None
    paper: bool = False  # a simulated position (paper trading)


@dataclass(frozen=True, slots=True)
class ExitView:
    """An automatic exit that sold a position."""

    token_mint: str
    reason: str
    value_lamports: int
    cost_basis_lamports: int
    order: OrderView | None
    step: int | None = None  # a ladder step (1-based): part of the position was sold


@dataclass(frozen=True, slots=True)
class SnipeView:
    id: int
    token_mint: str
    amount_lamports: int
    slippage_bps: int
    status: str
    expires_at: str
    order_id: str | None = None
    error: str | None = None
    creator: str | None = None  # a creator snipe: the next pump.fun coin this wallet launches
    launch_filter: str | None = None  # a filter snipe: its clauses as /snipe next takes them
    on_graduation: bool = False  # fires on the mint's PumpSwap pool (its curve completed)
    paper: bool = False  # armed on paper: fills in the paper book, never signed


@dataclass(frozen=True, slots=True)
class SettingsView:
    slippage_bps: int
    snipe_slippage_bps: int
    priority_fee_level: str
    priority_fee_lamports: int | None
    max_priority_fee_lamports: int
    buy_presets_lamports: tuple[int, ...]
    has_pin: bool
    take_profit_pct: int | None = None
    stop_loss_pct: int | None = None
    trailing_stop_pct: int | None = None
    max_hold_minutes: int | None = None
    mev_protection: bool = False  # swaps go as Jito bundles only, never the public mempool
    jito_tip_lamports: int | None = None  # a fixed tip; None: from the tip floor
    tip_percentile: int | None = None  # the tip floor percentile; None: the operator's default
    force_jupiter: bool = False
    max_jito_tip_lamports: int = 0  # the largest fixed tip the operator allows
    paper_trading: bool = False  # this user's orders go to the simulated executor
    paper_forced: bool = False  # PAPER_TRADING=true: every user is on paper (no switch)
    exit_ladder: str = ""  # the default take-profit ladder ("50% at 2x, 25% at 4x"; "" off)
    sell_with_creator: bool = False  # new positions sell when their coin's creator sells
    confirm_trades: bool = False  # a manual buy asks "Confirm?" first
    notify_fills: bool = True  # pushed messages: snipes that bought, limit orders, DCA parts
    notify_exits: bool = True  # automatic exits
    notify_snipe_misses: bool = True  # snipes that failed, coins a standing snipe skipped
    notify_copies: bool = True  # copy trades


@dataclass(frozen=True, slots=True)
class PnlCardView:
    """One closed position (a round trip to zero tokens): what its PnL card shows."""

    token_mint: str
    symbol: str | None
    cost_lamports: int  # every buy's SOL plus fees
    proceeds_lamports: int  # every sell's SOL less fees
    realized_pnl_lamports: int
    opened_at: str  # ISO dates (UTC)
    closed_at: str
    trades: int
    paper: bool = False

    @property
    def pnl_bps(self) -> int | None:
        """Realised PnL over cost in basis points (None: nothing was paid)."""
        if self.cost_lamports <= 0:
            return None
        return self.realized_pnl_lamports * 10_000 // self.cost_lamports


@dataclass(frozen=True, slots=True)
class PnlDayView:
    day: str  # YYYY-MM-DD (UTC)
    realized_pnl_lamports: int
    trades: int


@dataclass(frozen=True, slots=True)
class PnlTokenView:
    token_mint: str
    symbol: str | None
    realized_pnl_lamports: int
    unrealized_pnl_lamports: int | None  # None: closed, or no quote for the open part
    open: bool


@dataclass(frozen=True, slots=True)
class PnlView:
    """``/pnl``: realised per day and per token, unrealised of open positions at live quotes."""

    days: tuple[PnlDayView, ...]
    tokens: tuple[PnlTokenView, ...]
    realized_pnl_lamports: int
    unrealized_pnl_lamports: int
    closed: tuple[PnlCardView, ...]  # oldest first
    paper: bool = False


@dataclass(frozen=True, slots=True)
class WithdrawPreviewView:
    asset: str  # "SOL" or the mint
    amount: int
    decimals: int
    destination: str
    fee_lamports: int
    creates_token_account: bool


@dataclass(frozen=True, slots=True)
class WithdrawalView:
    id: str
    status: str
    asset: str
    amount: int
    decimals: int
    destination: str
    fee_lamports: int
    signature: str | None = None
    error_sentence: str | None = None

    @property
    def is_final(self) -> bool:
        return self.status in ("CONFIRMED", "FAILED", "EXPIRED")


@dataclass(frozen=True, slots=True)
class ExportView:
    """The only view that carries a secret; the frontend deletes the message after a short time."""

    public_key: str
    secret_base58: str = field(repr=False)
