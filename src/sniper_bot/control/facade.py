"""``Control``: one method per user action, scoped by the Telegram user id.

Frontends call these methods and render the returned views. Every method resolves the caller's own
user row first and passes only that id downwards, so no id a user could type reaches another
user's wallet or orders. Errors reach the frontend as ``SniperBotError`` with a ``user_message``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

import structlog
from solders.pubkey import Pubkey

from sniper_bot.chain.endpoint_state import Read
from sniper_bot.control.coalesce import SharedReads
from sniper_bot.control.exits import (
    ExitsView,
    PositionExitView,
    apply_plan_text,
    defaults_rule,
    plan_text,
    position_exit_view,
)
from sniper_bot.control.pnl import PnlTrades, summarize_pnl
from sniper_bot.control.ports import (
    ChainReader,
    ExitPosition,
    ExitVerdict,
    OrderStore,
    PositionStore,
    RiskReports,
    SettledSnipe,
    Snipes,
    TradeProgress,
    Trading,
    Users,
    UserSettingsStore,
    Wallets,
    Withdrawals,
)
from sniper_bot.control.views import (
    ControlError,
    ExitView,
    ExportView,
    FindingView,
    HomeView,
    Identity,
    OrderView,
    PnlCardView,
    PnlView,
    PositionView,
    RiskView,
    SettingsView,
    SnipeView,
    TokenCardView,
    WalletView,
    WithdrawalView,
    WithdrawPreviewView,
)
from sniper_bot.domain.entities import (
    MIN_JITO_TIP_LAMPORTS,
    TIP_PERCENTILES,
    Order,
    Position,
    User,
    UserSettings,
)
from sniper_bot.domain.exits import format_ladder, parse_ladder
from sniper_bot.domain.fees import FEE_LEVEL_LAMPORTS, FeeLevel
from sniper_bot.domain.launch import CurveProgress, LaunchFilter, SnipeTarget
from sniper_bot.domain.limits import (  # limit orders and DCA (issue 18)
    DEFAULT_TTL_S,
    MAX_INTERVAL_S,
    MAX_TTL_S,
    MIN_INTERVAL_S,
    MIN_TTL_S,
    DcaPlan,
    DcaStatus,
    InvalidLimitInput,
    LimitOrder,
    LimitStatus,
    parse_band,
    parse_duration,
    parse_parts,
    parse_pct,
    parse_trigger,
)
from sniper_bot.domain.money import (
    LAMPORTS_PER_SOL,
    MAX_INT64,
    MAX_SOL,
    MAX_SOL_LAMPORTS,
    WSOL_MINT,
    InvalidAmount,
    format_sol,
    format_tokens,
    parse_sol,
)
from sniper_bot.domain.notify import NOTICE_FIELDS, NoticeKind, wants
from sniper_bot.domain.orders import OrderSide
from sniper_bot.domain.quotes import Quote
from sniper_bot.domain.risk import RiskReport
from sniper_bot.domain.withdrawal import WithdrawalRecord
from sniper_bot.errors import SniperBotError
from sniper_bot.ports.venue import Quoter
from sniper_bot.solana import pumpfun as pf
from sniper_bot.solana.layouts.token import MINT_LEN, mint_decimals, parse_mint
from sniper_bot.solana.layouts.token2022 import decode_mint_extensions
from sniper_bot.solana.programs import PUMP_AMM_PROGRAM_ID, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from sniper_bot.solana.pumpswap import USDC_MINT, canonical_pool_address
from sniper_bot.storage.errors import DatabaseUnavailable
from sniper_bot.trading.paper import PaperTrader, is_paper
from sniper_bot.trading.venues.pumpfun.curve import mint_supply_for
from sniper_bot.trading.venues.router import force_venue
from sniper_bot.wallet.service import WalletView as ServiceWallet

__all__ = [
    "MAINTENANCE_REFUSED",
    "AdminOps",
    "AdminStatusView",
    "AllocationSite",
    "BroadcastView",
    "Broadcasts",
    "Control",
    "ControlDeps",
    "MemoryView",
    "OrderProgress",
    "WithdrawPinRetry",
]

log = structlog.get_logger(__name__)

_TOKEN_PROGRAMS = {TOKEN_PROGRAM_ID: "spl-token", TOKEN_2022_PROGRAM_ID: "token-2022"}
MAX_FINDINGS_SHOWN = 4
_EXIT_FIELDS = frozenset(
    {"take_profit_pct", "stop_loss_pct", "trailing_stop_pct", "max_hold_minutes"}
)


PAPER_UNAVAILABLE = (
    "📝 Paper trading is on for everyone and its executor is missing: nothing was done."
)
NO_SUCH_SNIPE = "No such snipe. Send /snipe to see yours."
SOL_USD_TTL_S = 30.0  # the token card's SOL/USD price (a SOL -> USDC quote) is kept this long
NO_SUCH_WALLET = "No such wallet. Use /wallet to see yours."
NOT_A_MINT = "That address is not a token mint (it is another kind of account)."
NO_MINT_ACCOUNT = "No token exists at that address. Check it for a typo."


class AlreadyGraduated(ControlError):
    """A graduation snipe on a coin already on PumpSwap: it can be bought there now."""

    def __init__(self, mint: str, pool: str) -> None:
        self.mint, self.pool = mint, pool
        super().__init__(
            f"{mint} already graduated (pool {pool})",
            user_message=(
                f"{mint[:4]}…{mint[-4:]} already graduated: it trades on PumpSwap now, so a "
                "graduation snipe would never fire. Buy it on PumpSwap now from its card."
            ),
        )


BUY_NOT_PLACED = "The database is restarting; your buy was not placed. Try again in a few seconds."
BUY_UNKNOWN = (
    "The database is restarting, so this buy could not be confirmed. In a few seconds, check "
    "/orders before you buy again."
)


# What the user reads while a trade waits (the executor's progress events).
_PROGRESS_NOTES = {
    "landed_unrecorded": (
        "⛓ Your {what} landed on chain; recording it… Our database is slow to answer: the "
        "result follows here, do not repeat the {what}."
    ),
    "store_unavailable": (
        "⏳ Waiting for our database; your {what} is kept and goes on when it answers. Do not "
        "repeat it."
    ),
}
# Hears (the order as it is now, a sentence for its owner) while a buy or sell runs.
OrderProgress = Callable[[OrderView, str], Awaitable[None]]


def _check_sol_amount(lamports: int) -> None:
    """A SOL amount from any frontend (typed, or a button that may be forged), before storage."""
    if lamports <= 0:
        raise ControlError("non-positive amount", user_message="The amount must be above 0.")
    if lamports > MAX_SOL_LAMPORTS:
        raise ControlError(
            f"amount {lamports} above {MAX_SOL_LAMPORTS}",
            user_message=f"The amount is too large: at most {MAX_SOL} SOL.",
        )


@contextlib.contextmanager
def _routed_for(settings: UserSettings) -> Iterator[None]:
    """Quotes and orders inside the block go where this user's settings send them: "Force
    Jupiter" pins the venue router to Jupiter (the order's run is a task created inside, so it
    inherits the choice); otherwise the router's own rules pick the coin's venue."""
    with force_venue("jupiter" if settings.force_jupiter else None):
        yield


def _parse_tip(text: str, cap: int) -> int | None:
    """A typed Jito tip in SOL: lamports, or ``None`` for "auto" (from the tip floor)."""
    cleaned = text.strip()
    if cleaned.lower() in ("auto", "floor"):
        return None
    if cleaned.startswith("-"):
        raise ControlError("negative tip", user_message="A tip cannot be negative.")
    try:
        lamports = parse_sol(cleaned)
    except InvalidAmount as exc:
        sentence = str(exc)
        if "greater than 0" in sentence:
            sentence = "a fixed tip must be above 0 SOL (send auto for the tip floor)"
        raise ControlError(
            f"bad tip: {sentence}", user_message=f"Tip not saved: {sentence}."
        ) from None
    if lamports < MIN_JITO_TIP_LAMPORTS:
        raise ControlError(
            f"tip {lamports} below Jito's minimum",
            user_message="Tip not saved: Jito's minimum tip is "
            f"{format_sol(MIN_JITO_TIP_LAMPORTS)}.",
        )
    if lamports > cap:
        raise ControlError(
            f"tip {lamports} above the cap {cap}",
            user_message=f"Tip not saved: at most {format_sol(cap)} (the operator's limit).",
        )
    return lamports


def _valid_id(row_id: int) -> bool:
    """An id a row can have (a BigInteger primary key); others are "no such ..." at once."""
    return 1 <= row_id <= MAX_INT64


def _parse_mint(text: str) -> Pubkey:
    try:
        return Pubkey.from_string(text.strip())
    except ValueError:
        raise ControlError(
            f"invalid mint {text[:60]!r}",
            user_message="That is not a valid token address. Paste the mint address (32-44 "
            "characters of base58), e.g. from the token's page.",
        ) from None


@dataclass(frozen=True, slots=True)
class ControlDeps:
    """Everything the facade uses; built by the composition root."""

    users: Users  # storage UserRepository
    settings: UserSettingsStore  # storage SettingsRepository
    orders: OrderStore  # storage OrderRepository
    positions: PositionStore  # storage PositionRepository
    wallets: Wallets  # wallet.service.WalletService
    trading: Trading  # trading.service.TradingService
    rpc: ChainReader  # chain.rpc.SolanaRpc
    venue: Quoter  # the venue router (pump.fun curve, PumpSwap, Jupiter)
    risk: RiskReports  # safety.service.RiskService
    withdrawals: Withdrawals | None = None  # wallet withdrawals (PIN, preview, crash-safe send)
    risk_threshold: int = 70
    max_jito_tip_lamports: int = 10_000_000  # JITO_MAX_TIP_LAMPORTS: largest fixed tip in /settings


MAINTENANCE_REFUSED = (
    "🛠 The bot is in maintenance: new buys and snipes are paused. Your open positions are still "
    "watched (take-profit, stop-loss) and you can sell. Try again later."
)


@dataclass(frozen=True, slots=True)
class AdminStatusView:
    """What ``/status`` shows an admin."""

    status: str  # ok / degraded / down (the /health verdict)
    components: dict[str, str]  # component -> status (detail after a colon when not ok)
    breakers: dict[str, str]  # breaker name -> CLOSED / HALF_OPEN / OPEN
    queues: dict[str, int]  # queue -> depth (orders in flight by status, untold results...)
    version: str
    maintenance: bool
    maintenance_shared: bool  # the flag is in Redis (every replica sees it)


class AdminOps(Protocol):
    """The operator side the admin commands reach (built by the composition root)."""

    def is_admin(self, telegram_id: int) -> bool: ...

    async def status(self) -> AdminStatusView: ...

    async def maintenance(self) -> bool: ...

    async def set_maintenance(self, on: bool, *, by: int) -> AdminStatusView: ...

    async def memory(self, trace: bool | None = None) -> MemoryView: ...


class Ballast(Protocol):
    """Memory held on purpose for the memory-pressure chaos drill (``ops.chaos.MemoryBallast``,
    attached only with CHAOS_ENABLED)."""

    @property
    def held_mib(self) -> int: ...

    def hold(self, mib: int) -> int: ...

    def release(self) -> int: ...


CHAOS_DISABLED = (
    "/memory hog is a chaos drill: this bot runs it only with CHAOS_ENABLED=true "
    "(localnet or staging, never production)."
)


@dataclass(frozen=True, slots=True)
class AllocationSite:
    """One source line's live allocations (or their growth) as ``tracemalloc`` sees them."""

    file: str  # relative to its sys.path entry: no install paths
    line: int
    size: int  # bytes (growth: bytes more than at the previous look)
    count: int  # blocks (growth: may be negative)


@dataclass(frozen=True, slots=True)
class MemoryView:
    """What ``/memory`` shows an admin (the runbook's "High Memory Usage" diagnosis)."""

    rss_kib: int | None  # None where there is no /proc
    peak_kib: int
    gc_collections: tuple[int, ...]  # per generation since start
    gc_pending: tuple[int, ...]  # gc.get_count()
    caches: dict[str, tuple[int, int]]  # name -> (items, bound)
    tracing: bool
    traced_bytes: int
    traced_peak_bytes: int
    top: tuple[AllocationSite, ...]
    growth: tuple[AllocationSite, ...] | None  # None: no earlier look while tracing


@dataclass(frozen=True, slots=True)
class BroadcastView:
    """An admin's /broadcast and its progress."""

    id: int
    status: str  # RUNNING | DONE
    total: int  # users when it started
    sent: int
    blocked: int  # users who blocked the bot (403), skipped
    failed: int


class Broadcasts(Protocol):
    """Sends one message to every user, resumably (``telegram/broadcast.py``)."""

    async def start(self, text: str, *, by: int) -> BroadcastView: ...

    async def latest(self) -> BroadcastView | None: ...


BROADCAST_MAX_CHARS = 4096  # Telegram's text limit


# Read paths (/positions, /orders) resolve the caller's user id from memory after the first
# look-up: a Telegram id's row id never changes. Mint decimals never change either.
MAX_CACHED = 100_000
_K = TypeVar("_K")
_V = TypeVar("_V")


class Control:
    def __init__(self, deps: ControlDeps) -> None:
        self._d = deps
        self._snipes: Snipes | None = None
        self._admin: AdminOps | None = None
        self._ballast: Ballast | None = None  # CHAOS_ENABLED only (attach_ballast)
        self._user_ids: dict[tuple[int, str | None], int] = {}
        self._mint_decimals: dict[str, int] = {}
        self._shared = SharedReads()  # a hot coin's card reads, made once for everyone
        self._sol_usd: tuple[int | None, float] | None = None  # (micro-USD per SOL, when)
        self._paper: PaperTrader | None = None
        self._paper_everyone = False
        self._pnl: PnlTrades | None = None

    def attach_snipes(self, engine: Snipes) -> None:
        """The snipe engine (built after the facade because it shares the trading service)."""
        self._snipes = engine

    # --- paper trading (PAPER_TRADING, or the user's /settings switch) ------------------------
    def attach_paper(
        self, paper: PaperTrader, pnl: PnlTrades | None = None, *, everyone: bool = False
    ) -> None:
        """The simulated executor; ``everyone`` (PAPER_TRADING=true) puts every user on it."""
        self._paper, self._pnl, self._paper_everyone = paper, pnl, everyone

    def _paper_for(self, settings: UserSettings) -> PaperTrader | None:
        """The simulated executor when this user trades on paper, else None (real orders)."""
        if self._paper is None:
            if self._paper_everyone:  # never fall through to real money
                raise ControlError("paper trading not wired", user_message=PAPER_UNAVAILABLE)
            return None
        return self._paper if (self._paper_everyone or settings.paper_trading) else None

    async def pnl(self, ident: Identity) -> PnlView:
        """``/pnl``: realised PnL per day and per token, unrealised of the open positions."""
        user_id = await self._user_id(ident)
        settings = await self._d.settings.get(user_id)
        paper = self._paper_for(settings)
        if self._pnl is None:
            raise ControlError("no pnl reads", user_message="PnL is not available here.")
        trades = await self._pnl.trades(user_id, paper=paper is not None)
        opened = await self.positions(ident)
        symbols = {p.token_mint: p.symbol for p in opened}
        for mint in {t.token_mint for t in trades} - set(symbols):
            symbols[mint] = (await self._metadata(Pubkey.from_string(mint)))[1]
        return summarize_pnl(trades, opened, symbols, paper=paper is not None)

    async def pnl_card(
        self, ident: Identity, mint_text: str | None = None, *, closed_now: bool = False
    ) -> PnlCardView | None:
        """The card of the user's last closed position (of ``mint_text`` when given); with
        ``closed_now`` None while the token is still held (a partial sell closes nothing)."""
        summary = await self.pnl(ident)
        mint = str(_parse_mint(mint_text)) if mint_text else None
        if closed_now and any(t.open and t.token_mint == mint for t in summary.tokens):
            return None
        cards = [c for c in summary.closed if mint is None or c.token_mint == mint]
        return cards[-1] if cards else None

    # --- admin (ADMIN_TELEGRAM_IDS) --------------------------------------------------------
    def attach_admin(self, admin: AdminOps) -> None:
        """The operator side: /status, /maintenance, and the maintenance check of new orders."""
        self._admin = admin

    def is_admin(self, ident: Identity) -> bool:
        return self._admin is not None and self._admin.is_admin(ident.telegram_id)

    def _admin_ops(self, ident: Identity) -> AdminOps:
        if self._admin is None or not self._admin.is_admin(ident.telegram_id):
            raise ControlError("not an admin", user_message="That command is for admins.")
        return self._admin

    async def admin_status(self, ident: Identity) -> AdminStatusView:
        return await self._admin_ops(ident).status()

    async def set_maintenance(self, ident: Identity, on: bool) -> AdminStatusView:
        return await self._admin_ops(ident).set_maintenance(on, by=ident.telegram_id)

    def attach_ballast(self, ballast: Ballast) -> None:
        """CHAOS_ENABLED: ``/memory hog`` may hold memory on purpose (the memory-pressure drill)."""
        self._ballast = ballast

    async def admin_memory_hog(self, ident: Identity, mib: int | None) -> int:
        """/memory hog MIB (hold that much more) or /memory hog off (``None``: release it all);
        admins only, and only on a bot started with CHAOS_ENABLED. Returns the MiB now held (no
        /memory look: the next /memory's growth is measured from the one before the hog)."""
        self._admin_ops(ident)
        ballast = self._ballast
        if ballast is None:
            raise ControlError("chaos disabled", user_message=CHAOS_DISABLED)
        if mib is None:
            ballast.release()
        else:
            try:
                await asyncio.to_thread(ballast.hold, mib)
            except ValueError as exc:
                raise ControlError(str(exc), user_message=str(exc)) from None
        return ballast.held_mib

    async def admin_memory(self, ident: Identity, trace: bool | None = None) -> MemoryView:
        """/memory (``trace`` None), or tracemalloc started (True) / stopped (False) first."""
        return await self._admin_ops(ident).memory(trace)

    def attach_broadcasts(self, broadcasts: Broadcasts) -> None:
        self._broadcasts = broadcasts

    def _broadcaster(self, ident: Identity) -> Broadcasts:
        self._admin_ops(ident)
        broadcasts = getattr(self, "_broadcasts", None)
        if broadcasts is None:
            raise ControlError("no broadcaster", user_message="Broadcasts need the Telegram bot.")
        return broadcasts  # type: ignore[no-any-return]

    async def start_broadcast(self, ident: Identity, html_text: str, length: int) -> BroadcastView:
        """Admins only: ``html_text`` (``length`` characters as shown) to every user."""
        broadcasts = self._broadcaster(ident)
        if not html_text.strip():
            raise ControlError("empty broadcast", user_message="Usage: /broadcast TEXT")
        if length > BROADCAST_MAX_CHARS:
            raise ControlError(
                "broadcast too long",
                user_message=f"The text is {length} characters; a message holds at most "
                f"{BROADCAST_MAX_CHARS}.",
            )
        return await broadcasts.start(html_text, by=ident.telegram_id)

    async def last_broadcast(self, ident: Identity) -> BroadcastView | None:
        return await self._broadcaster(ident).latest()

    async def _refuse_new_orders_in_maintenance(self) -> None:
        if self._admin is not None and await self._admin.maintenance():
            raise ControlError("maintenance mode", user_message=MAINTENANCE_REFUSED)

    # --- identity --------------------------------------------------------------------------
    async def _user(self, ident: Identity) -> User:
        user: User = await self._d.users.get_or_create(ident.telegram_id, ident.username)
        _remember(self._user_ids, (ident.telegram_id, ident.username), user.id)
        return user

    async def _user_id(self, ident: Identity) -> int:
        """The caller's row id for a read-only command: from memory once seen (a changed
        username takes the full look-up, which records it)."""
        known = self._user_ids.get((ident.telegram_id, ident.username))
        return known if known is not None else (await self._user(ident)).id

    # --- home / wallets --------------------------------------------------------------------
    async def start(self, ident: Identity) -> HomeView:
        user = await self._user(ident)
        wallets = await self._d.wallets.list_wallets(ident.telegram_id)
        created = False
        if not wallets:
            await self._d.wallets.create_wallet(ident.telegram_id, username=ident.username)
            created = True
        return await self._home(ident, created=created, user_id=user.id)

    async def home(self, ident: Identity) -> HomeView:
        return await self._home(ident, created=False)

    async def _home(
        self, ident: Identity, *, created: bool, user_id: int | None = None
    ) -> HomeView:
        if user_id is None:
            user_id = await self._user_id(ident)
        active = await self._d.wallets.active_wallet(ident.telegram_id)
        paper = self._paper_for(await self._d.settings.get(user_id))
        balance, positions = await asyncio.gather(
            self._d.rpc.read_balance(Pubkey.from_string(active.public_key)),
            self._d.positions.list_open(user_id)
            if paper is None
            else paper.book.list_open(user_id),
        )
        return HomeView(
            paper_lamports=None if paper is None else await paper.balance(user_id),
            wallet=_wallet_view(active, balance.value),
            sol_lamports=balance.value,
            open_positions=len(positions),
            created_wallet=created,
            balance_is_stale=balance.stale,  # no endpoint answered: the last known balance
        )

    async def wallets(self, ident: Identity) -> list[WalletView]:
        await self._user(ident)
        wallets = await self._d.wallets.list_wallets(ident.telegram_id)
        balances = await asyncio.gather(
            *(self._d.rpc.get_balance(Pubkey.from_string(w.public_key)) for w in wallets),
            return_exceptions=True,
        )
        return [
            _wallet_view(w, b if isinstance(b, int) else None)
            for w, b in zip(wallets, balances, strict=True)
        ]

    async def create_wallet(self, ident: Identity) -> WalletView:
        await self._user(ident)
        return _wallet_view(
            await self._d.wallets.create_wallet(ident.telegram_id, username=ident.username), None
        )

    async def import_wallet(self, ident: Identity, secret_text: str) -> WalletView:
        await self._user(ident)
        return _wallet_view(
            await self._d.wallets.import_wallet(
                ident.telegram_id, secret_text, username=ident.username
            ),
            None,
        )

    async def activate_wallet(self, ident: Identity, wallet_id: int) -> WalletView:
        await self._user(ident)
        if not _valid_id(wallet_id):
            raise ControlError("wallet id out of range", user_message=NO_SUCH_WALLET)
        return _wallet_view(await self._d.wallets.set_active(ident.telegram_id, wallet_id), None)

    async def set_pin(self, ident: Identity, current: str | None, new: str) -> None:
        await self._user(ident)
        await self._d.wallets.set_pin(ident.telegram_id, new, current_pin=current)

    async def export_wallet(self, ident: Identity, wallet_id: int, pin: str) -> ExportView:
        await self._user(ident)
        if not _valid_id(wallet_id):
            raise ControlError("wallet id out of range", user_message=NO_SUCH_WALLET)
        exported = await self._d.wallets.export_key(ident.telegram_id, wallet_id, pin)
        wallets = await self._d.wallets.list_wallets(ident.telegram_id)
        public_key = next(w.public_key for w in wallets if w.id == wallet_id)
        return ExportView(public_key=public_key, secret_base58=exported.base58)

    # --- settings --------------------------------------------------------------------------
    async def settings(self, ident: Identity) -> SettingsView:
        user = await self._user(ident)
        s = await self._d.settings.get(user.id)
        return SettingsView(
            slippage_bps=s.slippage_bps,
            snipe_slippage_bps=s.snipe_slippage_bps,
            priority_fee_level=s.priority_fee_level.value,
            priority_fee_lamports=FEE_LEVEL_LAMPORTS.get(s.priority_fee_level),
            max_priority_fee_lamports=s.max_priority_fee_lamports,
            buy_presets_lamports=tuple(s.buy_presets_lamports),
            has_pin=user.pin_hash is not None,
            take_profit_pct=s.take_profit_pct,
            stop_loss_pct=s.stop_loss_pct,
            trailing_stop_pct=s.trailing_stop_pct,
            max_hold_minutes=s.max_hold_minutes,
            mev_protection=s.mev_protection,
            jito_tip_lamports=s.jito_tip_lamports,
            tip_percentile=s.tip_percentile,
            force_jupiter=s.force_jupiter,
            max_jito_tip_lamports=self._d.max_jito_tip_lamports,
            paper_trading=self._paper_everyone or s.paper_trading,
            paper_forced=self._paper_everyone,
            exit_ladder=format_ladder(s.exit_ladder),
            sell_with_creator=s.sell_with_creator,
            confirm_trades=s.confirm_trades,
            notify_fills=s.notify_fills,
            notify_exits=s.notify_exits,
            notify_snipe_misses=s.notify_snipe_misses,
            notify_copies=s.notify_copies,
        )

    async def wants_notice(self, user_id: int, kind: NoticeKind) -> bool:
        """Does the user (row id) get a pushed message of ``kind`` (``/settings`` →
        notifications)? A settings read that fails says yes: a message too many beats a fill
        nobody hears of."""
        if kind is NoticeKind.ALWAYS:
            return True
        try:
            return wants(await self._d.settings.get(user_id), kind)
        except Exception as exc:
            log.warning("notice_prefs_unreadable", user_id=user_id, error=type(exc).__name__)
            return True

    async def buy_needs_confirm(self, ident: Identity) -> bool:
        """``confirmTrades``: a buy the user starts by hand asks "Confirm?" first."""
        settings = await self._d.settings.get(await self._user_id(ident))
        return settings.confirm_trades

    async def update_settings(
        self,
        ident: Identity,
        *,
        slippage_bps: int | None = None,
        priority_fee_level: str | None = None,
        exits: dict[str, int | None] | None = None,
        mev_protection: bool | None = None,
        force_jupiter: bool | None = None,
        tip_percentile: int | None = None,
        paper_trading: bool | None = None,
        confirm_trades: bool | None = None,
        notify: dict[str, bool] | None = None,
    ) -> SettingsView:
        """Change settings; ``exits`` maps take_profit_pct / stop_loss_pct / trailing_stop_pct /
        max_hold_minutes to a value or None (off). ``tip_percentile`` (50/75/95/99) makes the
        Jito tip automatic again, taken from that percentile of the tip floor."""
        user = await self._user(ident)
        changes: dict[str, Any] = {}
        if mev_protection is not None:
            changes["mev_protection"] = mev_protection
        if force_jupiter is not None:
            changes["force_jupiter"] = force_jupiter
        if paper_trading is not None:
            changes["paper_trading"] = paper_trading
        if confirm_trades is not None:
            changes["confirm_trades"] = confirm_trades
        for name, on in (notify or {}).items():  # notify_fills / _exits / _snipe_misses / _copies
            if name not in NOTICE_FIELDS.values() or not isinstance(on, bool):
                raise ControlError(f"unknown notice {name}", user_message="Unknown notification.")
            changes[name] = on
        if tip_percentile is not None:
            if isinstance(tip_percentile, bool) or tip_percentile not in TIP_PERCENTILES:
                raise ControlError(
                    f"tip percentile {tip_percentile!r}",
                    user_message="The tip percentile is one of "
                    + ", ".join(str(p) for p in TIP_PERCENTILES)
                    + ".",
                )
            changes["tip_percentile"] = tip_percentile
            changes["jito_tip_lamports"] = None
        for name, value in (exits or {}).items():
            if name not in _EXIT_FIELDS:
                raise ControlError(f"unknown exit {name}", user_message="Unknown exit rule.")
            changes[name] = value
        if slippage_bps is not None:
            changes["slippage_bps"] = slippage_bps
        if priority_fee_level is not None:
            try:
                changes["priority_fee_level"] = FeeLevel(priority_fee_level.upper())
            except ValueError:
                raise ControlError(
                    f"unknown fee level {priority_fee_level!r}",
                    user_message="Unknown priority fee level; choose one of "
                    + ", ".join(level.value for level in FeeLevel),
                ) from None
        try:
            await self._d.settings.update(user.id, **changes)
        except SniperBotError:
            raise  # already carries the sentence for the user
        except ValueError as exc:
            raise ControlError(str(exc), user_message=f"Not saved: {exc}.") from None
        return await self.settings(ident)

    async def set_jito_tip(self, ident: Identity, text: str) -> SettingsView:
        """A fixed Jito tip typed in SOL ("0.001"), or "auto" for the tip floor. Refused with a
        sentence: negative, not a number, more than 9 decimals, below Jito's minimum tip
        (0.000001 SOL), above the operator's ``JITO_MAX_TIP_LAMPORTS``."""
        user = await self._user(ident)
        lamports = _parse_tip(text, self._d.max_jito_tip_lamports)
        await self._d.settings.update(user.id, jito_tip_lamports=lamports)
        return await self.settings(ident)

    # --- exit plans (ladders, sell with the creator: control.exits) ------------------------
    async def exits(self, ident: Identity) -> ExitsView:
        """/exits: the defaults new positions get and each open position's plan."""
        user = await self._user(ident)
        settings = await self._d.settings.get(user.id)
        positions = await self._d.positions.list_open(user.id)
        return ExitsView(
            defaults=plan_text(defaults_rule(settings)),
            ladder=format_ladder(settings.exit_ladder) or "off",
            sell_with_creator=settings.sell_with_creator,
            positions=tuple(position_exit_view(p, settings) for p in positions),
        )

    async def set_default_ladder(self, ident: Identity, text: str) -> ExitsView:
        """The default ladder from ``"2x:50 4x:25"`` (or ``off``); a sentence when bad."""
        user = await self._user(ident)
        try:
            ladder = parse_ladder(text)
        except ValueError as exc:
            raise ControlError(str(exc), user_message=f"Not saved: {exc}.") from None
        await self._d.settings.update(user.id, exit_ladder=ladder)
        return await self.exits(ident)

    async def set_default_sell_with_creator(self, ident: Identity, on: bool) -> ExitsView:
        user = await self._user(ident)
        await self._d.settings.update(user.id, sell_with_creator=bool(on))
        return await self.exits(ident)

    async def position_exits(self, ident: Identity, position_id: int) -> PositionExitView:
        user = await self._user(ident)
        position = await self._open_position(user.id, position_id)
        return position_exit_view(position, await self._d.settings.get(user.id))

    async def edit_position_exits(
        self, ident: Identity, position_id: int, text: str
    ) -> PositionExitView:
        """Change this position's own plan (``control.exits.apply_plan_text``), starting from
        the plan in force (its own, else the defaults); ``reset`` goes back to the defaults."""
        user = await self._user(ident)
        position = await self._open_position(user.id, position_id)
        settings = await self._d.settings.get(user.id)
        if text.strip().lower() in ("reset", "defaults", "default"):
            plan = None
        else:
            current = position.exit_plan or defaults_rule(settings)
            plan = apply_plan_text(current, text)
        saved = await self._d.positions.set_exit_plan(user.id, position.id, plan)
        return position_exit_view(saved, settings)

    async def _open_position(self, user_id: int, position_id: int) -> Position:
        missing = ControlError(
            f"no open position {position_id}",
            user_message="That position is not open (or not yours). Send /exits for the list.",
        )
        if not _valid_id(position_id):
            raise missing
        position = await self._d.positions.get_open_by_id(user_id, position_id)
        if position is None:
            raise missing
        return position

    # --- tokens ----------------------------------------------------------------------------
    async def token_card(self, ident: Identity, mint_text: str) -> TokenCardView:
        user = await self._user(ident)
        mint = _parse_mint(mint_text)
        read = await self._shared.get(
            ("mint", mint), lambda: self._d.rpc.read_account_info(mint), keep=_exists
        )
        account = read.value
        if account is None:
            raise ControlError(f"no account at {mint}", user_message=NO_MINT_ACCOUNT)
        program = _TOKEN_PROGRAMS.get(account.owner)
        decimals = mint_decimals(bytes(account.data))
        if program is None or decimals is None:
            raise ControlError(f"{mint} is owned by {account.owner}", user_message=NOT_A_MINT)
        settings = await self._d.settings.get(user.id)
        paper = self._paper_for(settings)
        report, quote, held, meta, curve = await asyncio.gather(
            self._d.risk.check(str(mint)),  # shared by every user: never under one's routing
            self._card_quote(settings, str(mint)),
            self._held(ident, mint, account.owner)
            if paper is None
            else self._paper_held(paper, user.id, str(mint)),
            self._shared.get(("meta", mint), lambda: self._metadata(mint, bytes(account.data))),
            self._shared.get(("curve", mint), lambda: self._curve(mint)),
        )
        sol_curve = curve is not None and curve.quote_mint is None
        cap = curve.market_cap_lamports() if curve is not None and sol_curve else None
        return TokenCardView(
            mint=str(mint),
            name=meta[0],
            symbol=meta[1],
            decimals=decimals,
            token_program=program,
            tokens_per_sol=quote.out_amount if quote is not None else None,
            price_impact_pct=f"{quote.price_impact_pct:.2f}" if quote is not None else None,
            risk=self._risk_view(report),
            presets_lamports=tuple(settings.buy_presets_lamports),
            held_amount=held,
            is_stale=read.stale,  # no endpoint answered: the mint as last seen
            venue=quote.venue if quote is not None else None,
            force_jupiter=settings.force_jupiter,
            curve_progress_bps=curve.progress_bps if curve is not None else None,
            curve_complete=curve.complete if curve is not None else False,
            market_cap_lamports=cap,
            curve_quote_mint=curve.quote_mint if curve is not None else None,
            market_cap_usd_micros=await self._usd_micros(cap) if cap is not None else None,
            **_creator_fields(report),
            paper=paper is not None,
        )

    async def _usd_micros(self, lamports: int) -> int | None:
        """``lamports`` in micro-USD at the router's 1 SOL -> USDC quote, shared and kept
        ``SOL_USD_TTL_S`` (``None`` when there is no route)."""
        now = time.monotonic()
        cached = self._sol_usd
        if cached is None or now - cached[1] > SOL_USD_TTL_S:
            quote = await self._shared.get(
                ("sol_usd",),
                lambda: self._quote_or_none(WSOL_MINT, str(USDC_MINT), LAMPORTS_PER_SOL, 50),
                keep=lambda quote: quote is not None,
            )
            cached = self._sol_usd = (quote.out_amount if quote is not None else None, now)
        per_sol = cached[0]
        return None if per_sol is None else lamports * per_sol // LAMPORTS_PER_SOL

    async def _card_quote(self, settings: UserSettings, mint: str) -> Quote | None:
        """1 SOL of ``mint`` quoted where this user's buy would go (its venue is the card's)."""
        with _routed_for(settings):  # this task's own context: the other reads are not forced
            return await self._shared.get(
                ("quote", mint, settings.slippage_bps, settings.force_jupiter),
                lambda: self._quote_or_none(
                    WSOL_MINT, mint, LAMPORTS_PER_SOL, settings.slippage_bps
                ),
                keep=lambda quote: quote is not None,
            )

    async def _curve(self, mint: Pubkey) -> CurveProgress | None:
        """The coin's pump.fun bonding curve as it is now (``None``: no curve, or unreadable).
        The curve's progress is measured against Global's initial real token reserves; the
        market cap (SOL-quoted curves only) on the supply the program prices with."""
        try:
            curve_acc, global_acc = await self._d.rpc.get_multiple_accounts(
                [pf.bonding_curve_address(mint), pf.GLOBAL]
            )
            if curve_acc is None or curve_acc.owner != pf.PUMP_PROGRAM_ID:
                return None
            c = pf.decode_bonding_curve(bytes(curve_acc.data))
            initial = None
            if global_acc is not None and global_acc.owner == pf.PUMP_PROGRAM_ID:
                initial = pf.decode_global(bytes(global_acc.data)).initial_real_token_reserves
        except (SniperBotError, ValueError) as exc:
            log.info("token_card_no_curve", mint=str(mint), reason=str(exc)[:200])
            return None
        extra: dict[str, Any] = {} if not initial else {"initial_real_token_reserves": initial}
        return CurveProgress(
            mint=str(mint),
            virtual_sol_reserves=c.virtual_quote_reserves,
            virtual_token_reserves=c.virtual_token_reserves,
            real_sol_reserves=c.real_quote_reserves,
            real_token_reserves=c.real_token_reserves,
            complete=c.complete,
            quote_mint=None if c.is_sol_quoted else str(c.quote_mint),
            slot=None,
            updated_at=0.0,
            token_total_supply=mint_supply_for(c) if c.is_sol_quoted else None,
            **extra,
        )

    async def _quote_or_none(
        self, input_mint: str, output_mint: str, amount: int, slippage_bps: int
    ) -> Quote | None:
        try:
            return await self._d.venue.quote(input_mint, output_mint, amount, slippage_bps)
        except SniperBotError as exc:
            log.info("token_card_no_quote", mint=output_mint, reason=exc.message)
            return None

    async def _paper_held(self, paper: PaperTrader, user_id: int, mint: str) -> int:
        position = await paper.book.position(user_id, mint)
        return position.token_amount if position is not None else 0

    async def _held(self, ident: Identity, mint: Pubkey, program: Pubkey) -> int:
        active = await self._d.wallets.active_wallet(ident.telegram_id)
        accounts = await self._d.rpc.get_token_accounts_by_owner(
            Pubkey.from_string(active.public_key), program
        )
        return sum(a.amount for a in accounts if a.mint == mint)

    async def _metadata(
        self, mint: Pubkey, mint_data: bytes | None = None
    ) -> tuple[str | None, str | None]:
        """(name, symbol): a Token-2022 mint's own TokenMetadata extension (pump.fun's
        ``create_v2`` coins keep theirs there, they have no Metaplex account), else the Metaplex
        Metadata account. ``mint_data``: the mint account, when the caller has it already."""
        from sniper_bot.solana.layouts.metaplex import parse_metaplex_metadata
        from sniper_bot.solana.pda import metadata_pda

        try:
            wanted = [metadata_pda(mint)] + ([mint] if mint_data is None else [])
            accounts = await self._d.rpc.get_multiple_accounts(wanted)
        except SniperBotError:
            return None, None
        own_mint = accounts[1] if mint_data is None else None
        if own_mint is not None and own_mint.owner == TOKEN_2022_PROGRAM_ID:
            mint_data = bytes(own_mint.data)
        if mint_data is not None and len(mint_data) > MINT_LEN:
            try:
                own = decode_mint_extensions(parse_mint(mint_data).extensions).token_metadata
            except (SniperBotError, ValueError):
                own = None
            if own is not None and (own.name or own.symbol):
                return own.name or None, own.symbol or None
        account = accounts[0]
        if account is None:
            return None, None
        try:
            meta = parse_metaplex_metadata(bytes(account.data))
        except (SniperBotError, ValueError):
            return None, None
        return meta.name or None, meta.symbol or None

    def _risk_view(self, report: RiskReport) -> RiskView:
        ordered = sorted(report.findings, key=lambda f: (-f.severity.rank, -f.weight))
        shown = [f for f in ordered if f.severity.rank >= 1][:MAX_FINDINGS_SHOWN]
        return RiskView(
            score=report.score,
            blocked=report.blocks(self._d.risk_threshold),
            is_honeypot=report.is_honeypot,
            overridable=report.overridable,
            findings=tuple(
                FindingView(
                    f.severity.value,
                    f.title,
                    ", ".join(f"{k}={v}" for k, v in list(f.evidence.items())[:3]),
                )
                for f in shown
            ),
        )

    # --- trading ---------------------------------------------------------------------------
    async def buy(
        self,
        ident: Identity,
        mint_text: str,
        lamports: int,
        action_id: str,
        *,
        progress: OrderProgress | None = None,
    ) -> OrderView:
        """Place and run a buy. ``progress`` hears what the user should know while the call
        waits (e.g. the swap landed and its result waits for the database). The frontend calls
        ``order_shown`` once it showed the final result, or the order outbox pushes it."""
        mint = _parse_mint(mint_text)
        _check_sol_amount(lamports)
        await self._refuse_new_orders_in_maintenance()
        try:
            user = await self._user(ident)
            settings, _ = await asyncio.gather(
                self._d.settings.get(user.id), self._check_token_mint(mint)
            )
        except DatabaseUnavailable as exc:  # nothing of this buy was written
            raise DatabaseUnavailable(exc.message, user_message=BUY_NOT_PLACED) from exc
        if settings.force_jupiter:
            await self._shared_risk(mint)
        trading: Trading = self._paper_for(settings) or self._d.trading
        try:
            with _routed_for(settings):
                order: Order = await trading.buy(
                    user.id,
                    None,
                    str(mint),
                    lamports,
                    settings.slippage_bps,
                    settings.priority_fee_level,
                    action_id,
                    progress=self._progress(progress),
                )
        except DatabaseUnavailable as exc:  # the order row may exist: never say "not placed"
            raise DatabaseUnavailable(exc.message, user_message=BUY_UNKNOWN) from exc
        return await self._order_view(order)

    async def _shared_risk(self, mint: Pubkey) -> None:
        """The risk report every user shares, made under the router's own rules before a
        forced buy runs: the order's risk gate then reads it from the cache instead of probing
        routes through Jupiter only (a report that would be cached for everyone)."""
        try:
            await self._d.risk.check(str(mint))
        except SniperBotError as exc:  # the order's own gate asks again and decides
            log.info("forced_buy_risk_prefetch_failed", mint=str(mint), reason=exc.message)

    async def _check_token_mint(self, mint: Pubkey) -> None:
        """A wallet or program address pasted as a mint is refused before any order exists."""
        account = await self._d.rpc.get_account_info(mint)
        if account is None:
            raise ControlError(f"no account at {mint}", user_message=NO_MINT_ACCOUNT)
        if account.owner not in _TOKEN_PROGRAMS or len(account.data) < MINT_LEN:
            raise ControlError(f"{mint} is owned by {account.owner}", user_message=NOT_A_MINT)

    async def sell(
        self,
        ident: Identity,
        mint_text: str,
        percent: int,
        action_id: str,
        *,
        progress: OrderProgress | None = None,
    ) -> OrderView:
        user = await self._user(ident)
        mint = _parse_mint(mint_text)
        if not 1 <= percent <= 100:
            raise ControlError("bad percent", user_message="Sell between 1 and 100 %.")
        account = await self._d.rpc.get_account_info(mint)
        if account is None or account.owner not in _TOKEN_PROGRAMS:
            raise ControlError("not a mint", user_message="That address is not a token mint.")
        settings = await self._d.settings.get(user.id)
        paper = self._paper_for(settings)
        if paper is not None:
            held = await self._paper_held(paper, user.id, str(mint))
        else:
            held = await self._held(ident, mint, account.owner)
        amount = held * percent // 100
        if amount <= 0:
            raise ControlError(
                "nothing to sell",
                user_message="Your active wallet holds none of this token."
                if paper is None
                else "📝 Your paper position holds none of this token.",
            )
        trading: Trading = paper or self._d.trading
        with _routed_for(settings):
            order: Order = await trading.sell(
                user.id,
                None,
                str(mint),
                amount,
                settings.slippage_bps,
                settings.priority_fee_level,
                action_id,
                progress=self._progress(progress),
            )
        return await self._order_view(order)

    async def order_shown(self, ident: Identity, order_id: str) -> None:
        """The owner was just shown this order in a final state: mark it told, so the outbox
        does not push it again (shown first, marked after: a crash in between repeats it once
        rather than losing it)."""
        try:
            user = await self._user(ident)
            order = await self._d.orders.get(user.id, order_id)
        except Exception as exc:  # the outbox may then push it once more: logged, not fatal
            log.warning("order_told_mark_failed", order_id=order_id, error=type(exc).__name__)
            return
        if order is not None:
            await self._told(order, user.id)

    async def order_outcome(self, order_id: str) -> tuple[int, OrderView] | None:
        """For the order outbox: whose final order this is (Telegram id), and how it ended."""
        order = await self._d.orders.get_by_id(order_id)
        if order is None or not order.is_final:
            return None
        user = await self._d.users.get(order.user_id)
        if user is None:
            return None
        return user.telegram_id, await self._order_view(order)

    async def _told(self, order: Order, user_id: int) -> None:
        """The caller shows this order to its owner now: a final one needs no push later."""
        if not order.is_final:
            return  # the outbox pushes the result when it ends
        try:
            await self._d.orders.mark_notified(order.id, datetime.now(UTC), user_id=user_id)
        except Exception as exc:  # the outbox may then push it once more: logged, not fatal
            log.warning("order_told_mark_failed", order_id=order.id, error=type(exc).__name__)

    def _progress(self, progress: OrderProgress | None) -> TradeProgress | None:
        """The executor's progress events as (view, sentence) for the frontend."""
        if progress is None:
            return None

        async def on_event(event: str, order: Order) -> None:
            note = _PROGRESS_NOTES.get(event)
            if note is not None:
                what = "buy" if order.side.value == "BUY" else "sell"
                await progress(await self._order_view(order), note.format(what=what))

        return on_event

    async def order(self, ident: Identity, order_id: str) -> OrderView:
        user = await self._user(ident)
        order = await self._d.orders.get(user.id, order_id)
        if order is None:
            raise ControlError("order not found", user_message="No such order.")
        return await self._order_view(order)

    async def orders(self, ident: Identity, *, limit: int = 10) -> list[OrderView]:
        orders = await self._d.orders.list_for_user(await self._user_id(ident), limit=limit)
        return list(await asyncio.gather(*(self._order_view(o) for o in orders)))

    async def positions(self, ident: Identity) -> list[PositionView]:
        user_id = await self._user_id(ident)
        settings = await self._d.settings.get(user_id)
        paper = self._paper_for(settings)
        if paper is not None:
            positions = await paper.book.list_open(user_id)
        else:
            positions = await self._d.positions.list_open(user_id)
        if not positions:
            return []

        async def view(p: Position) -> PositionView:
            decimals = await self._decimals(p.token_mint)
            value = None
            if p.token_amount > 0:
                quote = await self._quote_or_none(
                    p.token_mint, WSOL_MINT, p.token_amount, settings.slippage_bps
                )
                value = quote.out_amount if quote is not None else None
            mint = Pubkey.from_string(p.token_mint)
            meta = await self._shared.get(("meta", mint), lambda: self._metadata(mint))
            return PositionView(
                token_mint=p.token_mint,
                symbol=meta[1],
                token_amount=p.token_amount,
                decimals=decimals,
                cost_basis_lamports=p.cost_basis_lamports,
                value_lamports=value,
                realized_pnl_lamports=p.realized_pnl_lamports,
                unrealized_pnl_lamports=None if value is None else value - p.cost_basis_lamports,
                paper=paper is not None,
            )

        return list(await asyncio.gather(*(view(p) for p in positions)))

    async def _decimals(self, mint: str) -> int:
        known = self._mint_decimals.get(mint)
        if known is not None:
            return known
        try:
            account = await self._d.rpc.get_account_info(Pubkey.from_string(mint))
        except SniperBotError:
            return 0
        decimals = mint_decimals(bytes(account.data)) if account is not None else None
        if decimals is not None:  # a mint's decimals never change
            _remember(self._mint_decimals, mint, decimals)
        return decimals or 0

    async def _order_view(self, order: Order) -> OrderView:
        decimals = await self._decimals(order.token_mint)
        return OrderView(
            id=order.id,
            side=order.side.value,
            kind=order.kind.value,
            status=order.status.value,
            token_mint=order.token_mint,
            amount=order.amount,
            in_amount=order.in_amount,
            out_amount=order.out_amount,
            fee_lamports=order.fee_lamports,
            signature=order.signature,
            error_type=order.error.type.value if order.error else None,
            error_sentence=order.error.user_message if order.error else None,
            decimals=decimals,
            paper=is_paper(order),
        )

    # --- snipes ----------------------------------------------------------------------------
    async def snipe(
        self, ident: Identity, mint_text: str, lamports: int, *, ttl_s: float | None = None
    ) -> SnipeView:
        """Arm a snipe: buy ``lamports`` of the mint the moment a pool for it goes live."""
        user = await self._user(ident)
        mint = _parse_mint(mint_text)
        return await self._arm_snipe(
            ident, user.id, lamports, lambda snipes: snipes.arm, str(mint), ttl_s
        )

    async def snipe_creator(
        self, ident: Identity, creator_text: str, lamports: int, *, ttl_s: float | None = None
    ) -> SnipeView:
        """Arm a creator snipe: buy ``lamports`` of the next pump.fun coin that wallet creates."""
        user = await self._user(ident)
        creator = _parse_mint(creator_text)  # any base58 public key
        return await self._arm_snipe(
            ident, user.id, lamports, lambda snipes: snipes.arm_creator, str(creator), ttl_s
        )

    async def snipe_filter(
        self,
        ident: Identity,
        launch_filter: LaunchFilter,
        lamports: int,
        *,
        ttl_s: float | None = None,
    ) -> SnipeView:
        """Arm a filter snipe: buy ``lamports`` of the next pump.fun coin the filter matches."""
        user = await self._user(ident)
        if not isinstance(launch_filter, LaunchFilter):
            raise ControlError("not a LaunchFilter", user_message="That filter is not valid.")
        return await self._arm_snipe(
            ident, user.id, lamports, lambda snipes: snipes.arm_filter, launch_filter, ttl_s
        )

    async def snipe_graduation(
        self, ident: Identity, mint_text: str, lamports: int, *, ttl_s: float | None = None
    ) -> SnipeView:
        """Arm a graduation snipe: buy ``lamports`` of the mint on PumpSwap the moment its
        bonding curve completes and its pool appears."""
        user = await self._user(ident)
        mint = _parse_mint(mint_text)
        _check_sol_amount(lamports)  # a bad amount's sentence before any chain read
        await self._still_on_its_curve(mint)
        return await self._arm_snipe(
            ident, user.id, lamports, lambda snipes: snipes.arm_graduation, str(mint), ttl_s
        )  # fmt: skip

    async def _still_on_its_curve(self, mint: Pubkey) -> None:
        """A graduation snipe waits for a coin still on its pump.fun curve: an unknown address,
        a non-mint, a coin without a curve and one already on PumpSwap (its canonical pool
        exists) are refused, the last with ``AlreadyGraduated`` (buy on PumpSwap now). A
        complete curve not migrated yet is accepted: the migration fires the snipe."""
        pool_address = canonical_pool_address(mint)
        # processed: a coin created (or migrated) in the last slot is already there
        mint_acc, curve_acc, pool_acc = await self._d.rpc.get_multiple_accounts_processed(
            [mint, pf.bonding_curve_address(mint), pool_address]
        )
        if mint_acc is None:
            raise ControlError(f"no account at {mint}", user_message=NO_MINT_ACCOUNT)
        if mint_acc.owner not in _TOKEN_PROGRAMS:
            raise ControlError(f"{mint} is owned by {mint_acc.owner}", user_message=NOT_A_MINT)
        if pool_acc is not None and pool_acc.owner == PUMP_AMM_PROGRAM_ID:
            raise AlreadyGraduated(str(mint), str(pool_address))
        if curve_acc is None or curve_acc.owner != pf.PUMP_PROGRAM_ID:
            raise ControlError(
                f"{mint} has no pump.fun bonding curve",
                user_message=(
                    "That token has no pump.fun bonding curve, so it never graduates to "
                    "PumpSwap. Send the mint to buy it where it trades now."
                ),
            )

    async def _arm_snipe(
        self,
        ident: Identity,
        user_id: int,
        lamports: int,
        pick: Callable[[Snipes], Callable[..., Awaitable[SnipeTarget]]],
        selector: object,
        ttl_s: float | None,
    ) -> SnipeView:
        """What every snipe kind shares: the amount, the engine, maintenance, the active wallet
        and the user's snipe slippage and fee level; ``pick`` names the engine's arm method.
        A paper user's snipe is armed on paper (``paper=True``: no nonce, no signature, filled
        in the paper book), creator and filter snipes included: the hot path's armed book
        matches them, the engine fills them through the paper executor, nothing signs."""
        _check_sol_amount(lamports)
        if self._snipes is None:
            raise ControlError("no snipe engine", user_message="Snipes are disabled.")
        await self._refuse_new_orders_in_maintenance()
        active = await self._d.wallets.active_wallet(ident.telegram_id)
        settings = await self._d.settings.get(user_id)
        paper = self._paper_for(settings) is not None
        extra: dict[str, Any] = {"paper": True} if paper else {}
        target = await pick(self._snipes)(
            user_id,
            active.id,
            selector,
            lamports,
            settings.snipe_slippage_bps,
            settings.priority_fee_level,
            ttl_s=ttl_s,
            **extra,
        )
        return _snipe_view(target)

    async def snipes(self, ident: Identity) -> list[SnipeView]:
        user = await self._user(ident)
        if self._snipes is None:
            return []
        return [_snipe_view(t) for t in await self._snipes.list_for_user(user.id)]

    async def cancel_snipe(self, ident: Identity, snipe_id: int) -> SnipeView:
        user = await self._user(ident)
        if self._snipes is None:
            raise ControlError("no snipe engine", user_message="Snipes are disabled.")
        if not _valid_id(snipe_id):  # no row has it; an int64 column cannot even be asked
            raise ControlError("snipe id out of range", user_message=NO_SUCH_SNIPE)
        return _snipe_view(await self._snipes.cancel(user.id, snipe_id))

    async def exit_outcome(
        self, user_id: int, position: ExitPosition, decision: ExitVerdict, order: Order | None
    ) -> tuple[int, ExitView] | None:
        """For the notifier: whose position an automatic exit sold (Telegram id), and how."""
        user = await self._d.users.get(user_id)
        if user is None:
            return None
        view = ExitView(
            token_mint=position.token_mint,
            reason=decision.reason.value,
            value_lamports=decision.value_lamports,
            cost_basis_lamports=decision.cost_basis_lamports,
            order=await self._order_view(order) if order is not None else None,
            step=None if decision.step is None else decision.step + 1,
        )
        return user.telegram_id, view

    async def snipe_outcome(
        self, result: SettledSnipe
    ) -> tuple[int, SnipeView, OrderView | None] | None:
        """For the notifier: whose snipe settled (Telegram id), and how."""
        user = await self._d.users.get(result.target.user_id)
        if user is None:
            return None
        order = await self._order_view(result.order) if result.order is not None else None
        return user.telegram_id, _snipe_view(result.target), order

    # --- withdrawals -----------------------------------------------------------------------
    async def withdraw_preview(
        self, ident: Identity, destination: str, amount_text: str, mint: str | None
    ) -> WithdrawPreviewView:
        if self._d.withdrawals is None:
            raise ControlError("withdrawals not wired", user_message="Withdrawals are disabled.")
        await self._user(ident)
        preview = await self._d.withdrawals.preview(
            ident.telegram_id, destination, amount_text, mint
        )
        return WithdrawPreviewView(
            asset=preview.asset,
            amount=preview.amount,
            decimals=preview.decimals,
            destination=preview.destination,
            fee_lamports=preview.fee_lamports,
            creates_token_account=preview.creates_token_account,
        )

    async def withdraw(
        self,
        ident: Identity,
        destination: str,
        amount_text: str,
        mint: str | None,
        pin: str,
        action_id: str,
    ) -> WithdrawalView:
        """PIN, sign, store, send once; returns within a second or two, usually SENT. The
        frontend shows it, then calls ``withdrawal_shown``: the final result is pushed to the
        owner when it lands. A wrong PIN with attempts left raises ``WithdrawPinRetry``."""
        if self._d.withdrawals is None:
            raise ControlError("withdrawals not wired", user_message="Withdrawals are disabled.")
        await self._user(ident)
        from sniper_bot.wallet.pin import WrongPinError

        try:
            record = await self._d.withdrawals.submit(
                ident.telegram_id, destination, amount_text, mint, pin, action_id
            )
        except WrongPinError as exc:
            if exc.attempts_left <= 0:
                raise
            raise WithdrawPinRetry(exc.attempts_left) from None
        return _withdrawal_view(record)

    async def withdrawal_shown(self, ident: Identity, view: WithdrawalView) -> None:
        """The owner saw ``view``: final, it is never pushed again; otherwise it is watched and
        its final result pushed (through ``withdrawal_outcome``) when it lands."""
        if self._d.withdrawals is not None:
            await self._d.withdrawals.shown(ident.telegram_id, view.id, final=view.is_final)

    async def withdrawal_outcome(
        self, record: WithdrawalRecord
    ) -> tuple[int, WithdrawalView] | None:
        """For the notifier: whose withdrawal ended (Telegram id), and how."""
        user = await self._d.users.get(record.user_id)
        if user is None:
            return None
        return user.telegram_id, _withdrawal_view(record)

    # --- limit orders and DCA (issue 18) ---------------------------------------------------
    def attach_limits(self, limits: LimitOrders, plans: DcaPlans) -> None:
        """The stores of limit orders and DCA plans (their monitors run in the app)."""
        self._limit_repos: tuple[LimitOrders, DcaPlans] | None = (limits, plans)

    def _limit_stores(self) -> tuple[LimitOrders, DcaPlans]:
        stores: tuple[LimitOrders, DcaPlans] | None = getattr(self, "_limit_repos", None)
        if stores is None:
            raise ControlError("no limit engine", user_message="Limit orders and DCA are off.")
        return stores

    async def _limit_mint(self, ident: Identity, mint_text: str) -> tuple[Pubkey, Pubkey, int]:
        """The mint, its token program and decimals; a specific sentence for anything else."""
        mint = _parse_mint(mint_text)
        account = await self._d.rpc.get_account_info(mint)
        if account is None:
            raise ControlError(f"no account at {mint}", user_message=NO_MINT_ACCOUNT)
        decimals = mint_decimals(bytes(account.data))
        if account.owner not in _TOKEN_PROGRAMS or decimals is None:
            raise ControlError(f"{mint} is owned by {account.owner}", user_message=NOT_A_MINT)
        return mint, account.owner, decimals

    async def limit_buy(
        self, ident: Identity, mint_text: str, sol_text: str, trigger_text: str,
        ttl_text: str | None = None,
    ) -> LimitOrder:  # fmt: skip
        """``/limit buy MINT SOL PRICE_OR_MCAP [TTL]``: buy when the price falls to the price
        (SOL per token) or the market cap below ``mc:N`` SOL, until the expiry."""
        lamports = _typed(parse_sol, sol_text)
        _check_sol_amount(lamports)
        kind, value = _typed(parse_trigger, trigger_text)
        ttl = _ttl(ttl_text)
        await self._refuse_new_orders_in_maintenance()
        limits, _ = self._limit_stores()
        user = await self._user(ident)
        mint, _, decimals = await self._limit_mint(ident, mint_text)
        await self._limit_room(limits, user.id)
        active = await self._d.wallets.active_wallet(ident.telegram_id)
        settings = await self._d.settings.get(user.id)
        return await limits.create(
            user_id=user.id, wallet_id=active.id, token_mint=str(mint), side=OrderSide.BUY,
            trigger_kind=kind, trigger_value=value, decimals=decimals,
            slippage_bps=settings.slippage_bps, priority_fee=settings.priority_fee_level,
            expires_at=datetime.now(UTC) + timedelta(seconds=ttl), amount_lamports=lamports,
            paper=self._paper_for(settings) is not None,
        )  # fmt: skip

    async def limit_sell(
        self, ident: Identity, mint_text: str, pct_text: str, trigger_text: str,
        ttl_text: str | None = None,
    ) -> LimitOrder:  # fmt: skip
        """``/limit sell MINT PCT PRICE [TTL]``: sell PCT % of the position when the price rises
        to PRICE (SOL per token; ``mc:N`` for a market cap), until the expiry."""
        pct = _typed(parse_pct, pct_text)
        kind, value = _typed(parse_trigger, trigger_text)
        ttl = _ttl(ttl_text)
        limits, _ = self._limit_stores()
        user = await self._user(ident)
        mint, program, decimals = await self._limit_mint(ident, mint_text)
        settings = await self._d.settings.get(user.id)
        paper = self._paper_for(settings)
        if await self._held_for_sale(ident, paper, user.id, mint, program) <= 0:
            raise ControlError("nothing to sell", user_message=_nothing_held(paper))
        await self._limit_room(limits, user.id)
        active = await self._d.wallets.active_wallet(ident.telegram_id)
        return await limits.create(
            user_id=user.id, wallet_id=active.id, token_mint=str(mint), side=OrderSide.SELL,
            trigger_kind=kind, trigger_value=value, decimals=decimals,
            slippage_bps=settings.slippage_bps, priority_fee=settings.priority_fee_level,
            expires_at=datetime.now(UTC) + timedelta(seconds=ttl), sell_pct=pct,
            paper=paper is not None,
        )  # fmt: skip

    async def _held_for_sale(
        self, ident: Identity, paper: PaperTrader | None, user_id: int, mint: Pubkey,
        program: Pubkey,
    ) -> int:  # fmt: skip
        """Tokens a sell could sell: the paper position's on paper, the active wallet's else."""
        if paper is not None:
            return await self._paper_held(paper, user_id, str(mint))
        return await self._held(ident, mint, program)

    async def _limit_room(self, limits: LimitOrders, user_id: int) -> None:
        if await limits.count_open_for_user(user_id) >= MAX_OPEN_LIMITS:
            raise ControlError(
                "too many limit orders",
                user_message=f"You have {MAX_OPEN_LIMITS} open limit orders, the most there can "
                "be. Cancel one in /orders first.",
            )

    async def dca_buy(
        self, ident: Identity, mint_text: str, total_text: str, parts_text: str,
        every_text: str, band_text: str | None = None,
    ) -> DcaPlan:  # fmt: skip
        """``/dca buy MINT TOTAL_SOL PARTS EVERY [LOW-HIGH]``: TOTAL in PARTS buys, one every
        EVERY, paused while the price is outside the band."""
        total = _typed(parse_sol, total_text)
        _check_sol_amount(total)
        parts = _typed(parse_parts, parts_text)
        every = _typed(parse_duration, every_text, "interval", MIN_INTERVAL_S, MAX_INTERVAL_S)
        low, high = _typed(parse_band, band_text) if band_text is not None else (None, None)
        if total // parts < MIN_DCA_PART_LAMPORTS:
            raise ControlError(
                "dca part too small",
                user_message=f"Each part would be {format_sol(total // parts)}; a part must be "
                f"at least {format_sol(MIN_DCA_PART_LAMPORTS)}. Use fewer parts or a larger total.",
            )
        await self._refuse_new_orders_in_maintenance()
        _, plans = self._limit_stores()
        user = await self._user(ident)
        mint, _, decimals = await self._limit_mint(ident, mint_text)
        await self._dca_room(plans, user.id)
        active = await self._d.wallets.active_wallet(ident.telegram_id)
        settings = await self._d.settings.get(user.id)
        return await plans.create(
            user_id=user.id, wallet_id=active.id, token_mint=str(mint), side=OrderSide.BUY,
            total_amount=total, parts=parts, interval_seconds=every, decimals=decimals,
            slippage_bps=settings.slippage_bps, priority_fee=settings.priority_fee_level,
            band_min_price=low, band_max_price=high, paper=self._paper_for(settings) is not None,
        )  # fmt: skip

    async def dca_sell(
        self, ident: Identity, mint_text: str, total_text: str, parts_text: str,
        every_text: str, band_text: str | None = None,
    ) -> DcaPlan:  # fmt: skip
        """``/dca sell MINT TOTAL PARTS EVERY [LOW-HIGH]``: sell TOTAL tokens (or ``N%`` of what
        the active wallet, or the paper position, holds now) in PARTS sells, one every EVERY,
        paused while the price is outside the band. TOTAL cannot exceed what is held."""
        parts = _typed(parse_parts, parts_text)
        every = _typed(parse_duration, every_text, "interval", MIN_INTERVAL_S, MAX_INTERVAL_S)
        low, high = _typed(parse_band, band_text) if band_text is not None else (None, None)
        await self._refuse_new_orders_in_maintenance()
        _, plans = self._limit_stores()
        user = await self._user(ident)
        mint, program, decimals = await self._limit_mint(ident, mint_text)
        settings = await self._d.settings.get(user.id)
        paper = self._paper_for(settings)
        held = await self._held_for_sale(ident, paper, user.id, mint, program)
        if held <= 0:
            raise ControlError("nothing to sell", user_message=_nothing_held(paper))
        total = _sell_total(total_text, held, decimals)
        if total // parts < 1:
            raise ControlError(
                "dca sell part empty",
                user_message=f"{format_tokens(total, decimals)} tokens cannot be split in "
                f"{parts} parts. Use fewer parts or a larger total.",
            )
        await self._dca_room(plans, user.id)
        active = await self._d.wallets.active_wallet(ident.telegram_id)
        return await plans.create(
            user_id=user.id, wallet_id=active.id, token_mint=str(mint), side=OrderSide.SELL,
            total_amount=total, parts=parts, interval_seconds=every, decimals=decimals,
            slippage_bps=settings.slippage_bps, priority_fee=settings.priority_fee_level,
            band_min_price=low, band_max_price=high, paper=paper is not None,
        )  # fmt: skip

    async def _dca_room(self, plans: DcaPlans, user_id: int) -> None:
        running = await plans.list_for_user(user_id, (DcaStatus.ACTIVE, DcaStatus.PAUSED))
        if len(running) >= MAX_RUNNING_DCA:
            raise ControlError(
                "too many dca plans",
                user_message=f"You have {MAX_RUNNING_DCA} running DCA plans, the most there can "
                "be. Cancel one in /orders first.",
            )

    async def limits_and_plans(
        self, ident: Identity, *, limit: int = 10
    ) -> tuple[list[LimitOrder], list[DcaPlan]]:
        """The caller's latest limit orders and DCA plans (for ``/orders``), newest first."""
        stores: tuple[LimitOrders, DcaPlans] | None = getattr(self, "_limit_repos", None)
        if stores is None:
            return [], []
        user_id = await self._user_id(ident)
        limits, plans = await asyncio.gather(
            stores[0].list_for_user(user_id, limit=limit),
            stores[1].list_for_user(user_id, limit=limit),
        )
        return limits, plans

    async def cancel_limit(self, ident: Identity, limit_id: int) -> LimitOrder:
        limits, _ = self._limit_stores()
        user = await self._user(ident)
        if not _valid_id(limit_id):
            raise ControlError("limit id out of range", user_message=NO_SUCH_LIMIT)
        return await limits.cancel(user.id, limit_id)

    async def cancel_dca(self, ident: Identity, plan_id: int) -> DcaPlan:
        _, plans = self._limit_stores()
        user = await self._user(ident)
        if not _valid_id(plan_id):
            raise ControlError("dca id out of range", user_message=NO_SUCH_DCA)
        return await plans.cancel(user.id, plan_id)

    async def limit_outcome(
        self, user_id: int, order: Order | None
    ) -> tuple[int, OrderView | None] | None:
        """For the notifiers of limit orders and DCA parts: the owner's Telegram id and the
        order's view (``None``: the step made no order)."""
        user = await self._d.users.get(user_id)
        if user is None:
            return None
        return user.telegram_id, await self._order_view(order) if order is not None else None

    # --- copy trading (issue 18) -----------------------------------------------------------
    def attach_copy(self, follows: Any, max_leaders: int) -> None:
        """The follows store (``storage.repositories.copy.CopyRepository``; the copy trader runs
        in the app) and ``COPY_MAX_LEADERS``."""
        self._copy: tuple[Any, int] | None = (follows, max_leaders)

    def _copy_store(self) -> tuple[Any, int]:
        store: tuple[Any, int] | None = getattr(self, "_copy", None)
        if store is None:
            raise ControlError("no copy trader", user_message="Copy trading is off.")
        return store

    async def copy_add(
        self, ident: Identity, wallet_text: str, size_text: str, max_trade_text: str | None = None,
        max_day_text: str | None = None, sell_with_leader: bool = False,
    ) -> Any:  # fmt: skip
        """``/copy add WALLET SOL|PCT% [MAX_PER_TRADE] [MAX_PER_DAY] [sell]``."""
        from sniper_bot.domain import copy as cp
        from sniper_bot.solana.programs import SYSTEM_PROGRAM_ID

        try:
            leader = Pubkey.from_string(wallet_text.strip())
        except ValueError:
            raise ControlError("bad leader", user_message=NOT_A_WALLET) from None
        if size_text.strip().endswith("%"):
            try:
                mode, size = cp.CopyMode.BPS, cp.parse_size_bps(size_text)
            except cp.InvalidCopyInput as exc:
                sentence = str(exc)
                raise ControlError(
                    "bad copy share", user_message=sentence[:1].upper() + sentence[1:] + "."
                ) from None
        else:
            mode, size = cp.CopyMode.FIXED, _typed(parse_sol, size_text)
            if size < cp.MIN_COPY_LAMPORTS:
                raise ControlError(
                    "copy size too small",
                    user_message=f"A copy must be at least {format_sol(cp.MIN_COPY_LAMPORTS)}.",
                )
        per_trade = _copy_cap("max per trade", max_trade_text)
        per_day = _copy_cap("max per day", max_day_text)
        if mode is cp.CopyMode.FIXED and per_trade is not None and size > per_trade:
            raise ControlError(
                "size above max per trade",
                user_message=f"The size ({format_sol(size)}) is above your max per trade "
                f"({format_sol(per_trade)}).",
            )
        if per_trade is not None and per_day is not None and per_trade > per_day:
            raise ControlError(
                "max per trade above max per day",
                user_message=f"The max per trade ({format_sol(per_trade)}) is above the max per "
                f"day ({format_sol(per_day)}).",
            )
        await self._refuse_new_orders_in_maintenance()
        follows, max_leaders = self._copy_store()
        user = await self._user(ident)
        mine = await self._d.wallets.list_wallets(ident.telegram_id)
        if str(leader) in {w.public_key for w in mine}:
            raise ControlError("own wallet", user_message=OWN_WALLET)
        account = await self._d.rpc.get_account_info(leader)
        if account is not None and (account.executable or account.owner != SYSTEM_PROGRAM_ID):
            raise ControlError(f"{leader} is owned by {account.owner}", user_message=NOT_A_WALLET)
        current = await follows.list_for_user(user.id)
        for existing in current:
            if existing.leader == str(leader):
                raise ControlError(
                    "already followed",
                    user_message=f"You already follow this wallet (#{existing.id}). Remove it "
                    f"with /copy remove {existing.id} to change its rules.",
                )
        if len(current) >= max_leaders:
            raise ControlError(
                "too many leaders",
                user_message=f"You already follow {len(current)} wallets, the most there can be "
                f"({max_leaders}). Remove one with /copy remove ID first.",
            )
        active = await self._d.wallets.active_wallet(ident.telegram_id)
        settings = await self._d.settings.get(user.id)
        if self._paper_everyone or settings.paper_trading:
            raise ControlError("paper user", user_message=PAPER_COPY_REFUSED)
        return await follows.create(
            user_id=user.id, wallet_id=active.id, leader=str(leader), mode=mode, size_value=size,
            slippage_bps=settings.slippage_bps, priority_fee=settings.priority_fee_level,
            max_per_trade=per_trade, max_per_day=per_day, sell_with_leader=sell_with_leader,
        )  # fmt: skip

    async def copy_list(self, ident: Identity) -> list[Any]:
        follows, _ = self._copy_store()
        result: list[Any] = await follows.list_for_user(await self._user_id(ident))
        return result

    async def copy_remove(self, ident: Identity, follow_id: int) -> Any:
        follows, _ = self._copy_store()
        user = await self._user(ident)
        if not _valid_id(follow_id):
            raise ControlError("follow id out of range", user_message=NO_SUCH_FOLLOW)
        return await follows.remove(user.id, follow_id)


NOT_A_WALLET = (
    "That is not a wallet address. Paste the address of the wallet to follow (32-44 characters "
    "of base58), not a token or program."
)
OWN_WALLET = "That is one of your own wallets; follow another trader's wallet."
NO_SUCH_FOLLOW = "No such followed wallet. Send /copy list to see yours."
PAPER_COPY_REFUSED = (
    "📝 Paper trading is on: copy trading trades real money only, so nothing was followed. "
    "Turn paper trading off in /settings to use it."
)


def _copy_cap(name: str, text: str | None) -> int | None:
    """A copy limit in SOL; ``None`` (no limit) when absent or ``-``."""
    if text is None or text.strip() in ("-", "none"):
        return None
    try:
        return parse_sol(text)
    except InvalidAmount as exc:
        raise ControlError(f"bad {name}", user_message=f"The {name}: {exc}.") from None


MAX_OPEN_LIMITS = 20
MAX_RUNNING_DCA = 5
MIN_DCA_PART_LAMPORTS = 100_000  # 0.0001 SOL: below it fees eat the part
NO_SUCH_LIMIT = "No such limit order. Send /orders to see yours."
NO_SUCH_DCA = "No such DCA plan. Send /orders to see yours."


class LimitOrders(Protocol):
    """``sniper_bot.storage.repositories.limits.LimitOrderRepository`` fits."""

    async def create(self, **fields: Any) -> LimitOrder: ...
    async def list_for_user(
        self, user_id: int, statuses: tuple[LimitStatus, ...] | None = None, limit: int = 20
    ) -> list[LimitOrder]: ...
    async def count_open_for_user(self, user_id: int) -> int: ...
    async def cancel(self, user_id: int, limit_id: int) -> LimitOrder: ...


class DcaPlans(Protocol):
    """``sniper_bot.storage.repositories.dca.DcaPlanRepository`` fits."""

    async def create(self, **fields: Any) -> DcaPlan: ...
    async def list_for_user(
        self, user_id: int, statuses: tuple[DcaStatus, ...] | None = None, limit: int = 20
    ) -> list[DcaPlan]: ...
    async def cancel(self, user_id: int, plan_id: int) -> DcaPlan: ...


def _typed(parse: Callable[..., _V], text: str, *args: Any) -> _V:
    """A typed value through its parser; the parser's sentence becomes the user's."""
    try:
        return parse(text, *args)
    except (InvalidLimitInput, InvalidAmount) as exc:
        sentence = str(exc)
        raise ControlError(
            f"bad input: {sentence}", user_message=sentence[:1].upper() + sentence[1:] + "."
        ) from None


def _nothing_held(paper: PaperTrader | None) -> str:
    if paper is not None:
        return "📝 Your paper position holds none of this token."
    return "Your active wallet holds none of this token."


def _sell_total(text: str, held: int, decimals: int) -> int:
    """A DCA sell's total in base units: tokens (``1500``, ``12.5``), a share of ``held``
    (``50%``) or ``all``; at most ``held``."""
    from sniper_bot.domain.withdrawal import parse_amount_request

    try:
        request = parse_amount_request(text, decimals)
    except ValueError as exc:
        raise ControlError(
            f"bad token total: {exc}",
            user_message=f"The total to sell: {exc} Write tokens (e.g. 1500), a share of what "
            "you hold (e.g. 50%) or all.",
        ) from None
    total = request.resolve(held)
    if total <= 0:
        raise ControlError("dca sell total zero", user_message="That share of your tokens is 0.")
    if total > held:
        raise ControlError(
            "dca sell above holding",
            user_message=f"You hold {format_tokens(held, decimals)} tokens; the total to sell "
            f"({format_tokens(total, decimals)}) cannot be more.",
        )
    return total


def _ttl(text: str | None) -> int:
    if text is None:
        return DEFAULT_TTL_S
    return _typed(parse_duration, text, "expiry", MIN_TTL_S, MAX_TTL_S)


class WithdrawPinRetry(ControlError):
    """A wrong PIN at a withdrawal with attempts left: the same confirmation can take another."""

    def __init__(self, attempts_left: int) -> None:
        sentence = (
            f"Wrong PIN. {attempts_left} attempt(s) left before the PIN is locked. Send the PIN "
            "again, or /home to cancel."
        )
        super().__init__("wrong withdrawal PIN", user_message=sentence)
        self.attempts_left = attempts_left


def _exists(read: Read[Any]) -> bool:
    return read.value is not None  # "no such account" is asked again: it may be created


def _remember(cache: dict[_K, _V], key: _K, value: _V) -> None:
    if len(cache) >= MAX_CACHED and key not in cache:
        cache.clear()  # bounded: a rare full refill beats tracking recency on every read
    cache[key] = value


def _withdrawal_view(record: WithdrawalRecord) -> WithdrawalView:
    return WithdrawalView(
        id=record.id,
        status=record.status.value,
        asset=record.asset,
        amount=record.amount,
        decimals=record.decimals,
        destination=record.destination,
        fee_lamports=record.fee_lamports,
        signature=record.signature,
        error_sentence=record.error.user_message if record.error else None,
    )


def _snipe_view(target: SnipeTarget) -> SnipeView:
    return SnipeView(
        id=target.id,
        token_mint=target.token_mint
        or (
            target.launch_filter.mints[0]
            if target.launch_filter and target.launch_filter.on_graduation
            else ""
        ),
        amount_lamports=target.amount_lamports,
        slippage_bps=target.slippage_bps,
        status=target.status.value,
        expires_at=target.expires_at.isoformat(timespec="seconds"),
        order_id=target.order_id,
        error=target.error,
        creator=target.creator,
        launch_filter=_filter_text(target.launch_filter),
        on_graduation=target.launch_filter is not None and target.launch_filter.on_graduation,
        paper=target.paper,
    )


def _creator_fields(report: RiskReport) -> dict[str, Any]:
    """The token card's creator line from the launchpad layer's ``dev_holding``/``dev_sold``."""
    for f in report.findings:
        if f.code in ("dev_holding", "dev_sold"):
            amount, share = f.evidence.get("amount"), f.evidence.get("share_bps")
            if isinstance(amount, int) and isinstance(share, int):
                return {
                    "creator_tokens": amount,
                    "creator_share_bps": share,
                    "creator_sold": f.code == "dev_sold",
                }
    return {}


def _filter_text(launch_filter: LaunchFilter | None) -> str | None:
    """A filter as the user wrote it (``/snipe next`` clauses); ``None`` without one."""
    if launch_filter is None:
        return None
    f = launch_filter
    parts: list[str] = []
    for label, terms in (
        ("name", f.name_contains),
        ("symbol", f.symbol_contains),
        ("creator", f.creators),
        ("notcreator", f.not_creators),
    ):
        if terms:
            parts.append(f"{label}={','.join(terms)}")
    if f.dev_buy_min_lamports is not None:
        parts.append(f"dev>={format_sol(f.dev_buy_min_lamports)}")
    if f.dev_buy_max_lamports is not None:
        parts.append(f"dev<={format_sol(f.dev_buy_max_lamports)}")
    if f.mayhem is not None:
        parts.append(f"mayhem={'yes' if f.mayhem else 'no'}")
    if f.sources and not f.on_graduation:
        parts.append(f"source={','.join(f.sources)}")
    return " ".join(parts)


def _wallet_view(wallet: ServiceWallet, sol: int | None) -> WalletView:
    return WalletView(
        id=wallet.id,
        public_key=wallet.public_key,
        label=wallet.label,
        is_active=wallet.is_active,
        sol_lamports=sol,
    )
