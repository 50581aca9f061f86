"""Arming a hot snipe: everything the launch's buy needs, prepared before the launch.

    arming = HotArming(book=sync, targets=repos.snipes, nonces=nonces, signers=wallets, ...)
    target = await arming.arm(user_id, wallet_id, creator="<dev wallet>", lamports=..., ...)
    await arming.cancel(user_id, target.id)

``arm``: validate; check the book's bounds; the wallet's signer (the one ``TradingService`` signs
with); its balance must pay the nonce account's rent and the fees (a clear refusal otherwise);
create the target's own durable nonce account (authority and payer: the user's wallet); store
the target with the nonce (``SnipeTargetRepository.arm``); prepare the ``PreparedBuy`` (signer,
priority fee from the user's level, Jito tip from the user's settings or the tip floor kept in
memory by ``TipFloorCache``, pump's Global/FeeConfig cached and refreshed in the background) and
add it to the ``ArmedBook`` through ``ArmedBookSync`` (published to the other replicas, which
prepare it themselves: ``prepare_later``).

Cancel, expiry and a finished fire retire the target: out of the book, and its nonce account
closed in the background (rent back to the wallet). Rebuilds (start, a missed Redis message)
prepare every entry from its database row; a row whose nonce account no longer holds the armed
value was consumed (the order fired before a crash): it is not armed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

import structlog
from solders.account import Account
from solders.hash import Hash
from solders.pubkey import Pubkey

from sniper_bot.domain.entities import UserSettings
from sniper_bot.domain.fees import FeeLevel, validate_slippage_bps
from sniper_bot.domain.launch import (
    LaunchFilter,
    NonceStatus,
    SnipeStatus,
    SnipeTarget,
    selector_kind,
)
from sniper_bot.errors import PermanentError
from sniper_bot.hotpath.book import ArmedBook, ArmedBookSync, ArmedEntry
from sniper_bot.hotpath.build import BuildError, PreparedBuy
from sniper_bot.hotpath.nonce import NonceError, NonceManager, NonceSigner
from sniper_bot.hotpath.sniper import HotOrder
from sniper_bot.solana import pumpfun as pf
from sniper_bot.solana.nonce import NONCE_RENT_EXEMPT_LAMPORTS
from sniper_bot.trading.fees import priority_fee_lamports

__all__ = [
    "ArmError",
    "HotArming",
    "PumpAccounts",
    "compute_unit_price",
]

log = structlog.get_logger(__name__)

HOT_COMPUTE_UNIT_LIMIT: Final = 150_000
# Signature fees the wallet pays besides the rent: the nonce creation, the buy, the close.
FEE_RESERVE_LAMPORTS: Final = 3 * 5_000 + 10_000
MICRO_LAMPORTS_PER_LAMPORT: Final = 1_000_000


class ArmError(PermanentError):
    """The hot snipe cannot be armed as asked; ``user_message`` says why."""


def compute_unit_price(total_lamports: int, compute_unit_limit: int) -> int:
    """Micro-lamports per compute unit for a total priority fee over ``compute_unit_limit``."""
    if total_lamports < 0 or compute_unit_limit <= 0:
        raise ValueError("a priority fee needs lamports >= 0 and a positive unit limit")
    return total_lamports * MICRO_LAMPORTS_PER_LAMPORT // compute_unit_limit


class ArmTargets(Protocol):
    """``storage.repositories.snipes.SnipeTargetRepository`` fits."""

    async def arm(
        self, *, user_id: int, wallet_id: int, token_mint: str | None = None,
        amount_lamports: int, slippage_bps: int, priority_fee: FeeLevel, expires_at: datetime,
        creator: str | None = None, launch_filter: LaunchFilter | None = None,
        nonce_account: str | None = None, nonce_value: str | None = None,
    ) -> SnipeTarget: ...  # fmt: skip
    async def get(self, user_id: int, target_id: int) -> SnipeTarget | None: ...
    async def cancel(self, user_id: int, target_id: int) -> SnipeTarget: ...
    async def set_nonce(
        self, target_id: int, *, account: str, value: str | None, status: NonceStatus,
        expected_value: str | None,
    ) -> SnipeTarget: ...  # fmt: skip
    async def expire_due(self, now: datetime | None = None) -> list[SnipeTarget]: ...


class ArmSigner(NonceSigner, Protocol):
    @property
    def wallet_id(self) -> int: ...


class ArmSigners(Protocol):
    """``wallet.service.WalletService`` (what ``TradingService`` signs with) fits."""

    async def signer(self, user_id: int, wallet_id: int | None = None) -> ArmSigner: ...


class UserSettingsSource(Protocol):
    async def get(self, user_id: int) -> UserSettings: ...


class ArmChain(Protocol):
    """``chain.rpc.SolanaRpc`` fits."""

    async def get_balance(self, pubkey: Pubkey) -> int: ...
    async def get_multiple_accounts(self, pubkeys: list[Pubkey]) -> list[Account | None]: ...


class TipSource(Protocol):
    """``chain.jito.TipFloorCache`` fits: answers from memory."""

    def tip(self, *, fixed: int | None = None, percentile: int | str = 75) -> int: ...


class PumpAccounts:
    """pump's Global and FeeConfig, read at the first arm and refreshed in the background."""

    def __init__(self, chain: ArmChain, *, max_age_s: float = 60.0) -> None:
        self._chain = chain
        self._max_age_s = max_age_s
        self.global_: pf.Global | None = None
        self.fee_config: pf.FeeConfig | None = None
        self._at: float | None = None

    async def get(self) -> tuple[pf.Global, pf.FeeConfig | None]:
        if (
            self.global_ is None
            or self._at is None
            or (time.monotonic() - self._at > self._max_age_s)
        ):
            await self.refresh()
        assert self.global_ is not None
        return self.global_, self.fee_config

    async def refresh(self) -> None:
        global_acc, fee_acc = await self._chain.get_multiple_accounts([pf.GLOBAL, pf.FEE_CONFIG])
        if global_acc is None:
            raise ArmError(
                "pump.fun Global account not found",
                user_message="pump.fun is not reachable right now; try again.",
            )
        self.global_ = pf.decode_global(bytes(global_acc.data))
        self.fee_config = None if fee_acc is None else pf.decode_fee_config(bytes(fee_acc.data))
        self._at = time.monotonic()


def _sol(lamports: int) -> str:
    return f"{lamports / 1_000_000_000:.6f}".rstrip("0").rstrip(".")


class HotArming:
    """Arms, prepares and retires hot snipe targets (see the module doc)."""

    def __init__(
        self,
        *,
        sync: ArmedBookSync[HotOrder],
        targets: ArmTargets,
        nonces: NonceManager,
        signers: ArmSigners,
        settings: UserSettingsSource,
        chain: ArmChain,
        pump: PumpAccounts | None = None,
        tips: TipSource | None = None,
        tip_accounts: Callable[[], frozenset[Pubkey]] | None = None,
        default_tip_percentile: int | str = 75,
        bundles_available: bool = False,
        max_priority_fee_lamports: int = 1_000_000,
        compute_unit_limit: int = HOT_COMPUTE_UNIT_LIMIT,
        default_ttl_s: float = 3_600.0,
        max_ttl_s: float = 7 * 24 * 3_600.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sync = sync
        self.book: ArmedBook[HotOrder] = sync.book
        self._targets = targets
        self._nonces = nonces
        self._signers = signers
        self._settings = settings
        self._chain = chain
        self.pump = pump or PumpAccounts(chain)
        self._tips = tips
        self._tip_accounts = tip_accounts
        self._percentile = default_tip_percentile
        self._bundles = bundles_available
        self._max_fee = max_priority_fee_lamports
        self._units = compute_unit_limit
        self.default_ttl_s = default_ttl_s
        self.max_ttl_s = max_ttl_s
        self._clock = clock
        self._tasks: set[asyncio.Task[Any]] = set()
        self._retired: set[int] = set()

    # -- arming -----------------------------------------------------------------------------------

    async def arm(
        self,
        user_id: int,
        wallet_id: int | None,
        *,
        lamports: int,
        slippage_bps: int,
        fee_level: FeeLevel,
        mint: str | None = None,
        creator: str | None = None,
        launch_filter: LaunchFilter | None = None,
        ttl_s: float | None = None,
    ) -> SnipeTarget:
        for value, what in ((mint, "token address (mint)"), (creator, "creator wallet")):
            if value is not None:
                try:
                    Pubkey.from_string(value)
                except ValueError:
                    raise ArmError(
                        f"invalid {what} {value[:60]!r}", user_message=f"That is not a {what}."
                    ) from None
        try:
            selector_kind(mint, creator, launch_filter)
        except ValueError as exc:
            raise ArmError(
                str(exc), user_message="A snipe needs one mint or one creator."
            ) from None
        if isinstance(lamports, bool) or not isinstance(lamports, int) or lamports <= 0:
            raise ArmError("non-positive amount", user_message="The amount must be above 0.")
        try:
            validate_slippage_bps(slippage_bps)
        except ValueError as exc:
            raise ArmError(str(exc), user_message=str(exc).capitalize() + ".") from None
        ttl = self.default_ttl_s if ttl_s is None else ttl_s
        if not 0 < ttl <= self.max_ttl_s:
            raise ArmError(
                f"ttl {ttl} s out of range",
                user_message=f"A snipe can wait up to {self.max_ttl_s / 3600:g} h.",
            )
        self.book.check_capacity(user_id)
        signer = await self._signers.signer(user_id, wallet_id)
        settings = await self._settings.get(user_id)
        order_tip = self._tip(settings)
        self._check_mev(settings, order_tip)
        needed = NONCE_RENT_EXEMPT_LAMPORTS + FEE_RESERVE_LAMPORTS + order_tip + lamports
        balance = await self._chain.get_balance(signer.pubkey)
        if balance < needed:
            fees = needed - lamports - NONCE_RENT_EXEMPT_LAMPORTS
            raise ArmError(
                f"wallet {signer.pubkey} holds {balance} lamports, the snipe needs {needed}",
                user_message=(
                    f"Your wallet holds {_sol(balance)} SOL; this snipe needs {_sol(needed)} SOL: "
                    f"{_sol(lamports)} to buy, {_sol(NONCE_RENT_EXEMPT_LAMPORTS)} refundable rent "
                    f"for its nonce account and {_sol(fees)}"
                    " in fees and tip. Deposit and try again."
                ),
            )
        g, fc = await self.pump.get()  # before the nonce: a failure here costs the user nothing
        try:
            nonce = await self._nonces.create(signer)
        except NonceError as exc:
            raise ArmError(
                f"nonce account creation failed: {exc}",
                user_message="Could not prepare the snipe on chain; nothing was armed. Try again.",
            ) from exc
        try:
            target = await self._targets.arm(
                user_id=user_id, wallet_id=signer.wallet_id, token_mint=mint,
                amount_lamports=lamports, slippage_bps=slippage_bps, priority_fee=fee_level,
                expires_at=self._clock() + timedelta(seconds=ttl), creator=creator,
                launch_filter=launch_filter, nonce_account=str(nonce.address),
                nonce_value=str(nonce.value),
            )  # fmt: skip
        except BaseException:
            self._spawn(self._close(nonce.address, signer), f"nonce-close:{nonce.address}")
            raise
        order = self._order(target, signer, settings, g, fc, nonce.address, nonce.value)
        await self.sync.armed(target, order)
        log.info(
            "hot_snipe_armed", target_id=target.id, user_id=user_id,
            selector=target.selector.value, lamports=lamports, nonce=str(nonce.address),
        )  # fmt: skip
        return target

    def _check_mev(self, settings: UserSettings, tip: int) -> None:
        """MEV protection means Jito bundles only: refuse to arm what could only go to RPC."""
        if not settings.mev_protection:
            return
        if not self._bundles:
            raise ArmError(
                "MEV protection is on and no block engine is configured",
                user_message=(
                    "MEV protection is on: your snipes go out as Jito bundles only, never to the "
                    "public mempool, and this bot has no Jito block engine configured. Nothing "
                    "was armed. Turn MEV protection off in /settings to snipe through RPC."
                ),
            )
        if tip <= 0 or self._tip_account() is None:
            raise ArmError(
                "MEV protection is on and no Jito tip is available",
                user_message=(
                    "MEV protection is on: a Jito bundle needs a tip, and no tip is available "
                    "right now (no tip floor or tip account known yet). Nothing was armed. Set a "
                    "Jito tip in /settings or try again in a minute."
                ),
            )

    def _tip(self, settings: UserSettings) -> int:
        if not (self._bundles or settings.mev_protection) or self._tips is None:
            return 0
        percentile: int | str = (
            settings.tip_percentile if settings.tip_percentile is not None else self._percentile
        )
        return self._tips.tip(fixed=settings.jito_tip_lamports, percentile=percentile)

    def _tip_account(self) -> Pubkey | None:
        if self._tip_accounts is None:
            return None
        accounts = sorted(self._tip_accounts(), key=str)
        return accounts[0] if accounts else None

    def _order(
        self,
        target: SnipeTarget,
        signer: NonceSigner,
        settings: UserSettings,
        g: pf.Global,
        fc: pf.FeeConfig | None,
        nonce_account: Pubkey,
        nonce_value: Hash,
    ) -> HotOrder:
        total_fee = priority_fee_lamports(
            target.priority_fee,
            max_lamports=min(self._max_fee, settings.max_priority_fee_lamports),
            compute_unit_limit=self._units,
        )
        tip = self._tip(settings)
        tip_account = self._tip_account() if tip > 0 else None
        if tip_account is None:
            tip = 0
        # MEV protection stays on even without a tip: the sniper and the relay fan-out then
        # refuse to send it (bundles only, never RPC) and the user is told.
        mev = settings.mev_protection
        if mev and tip <= 0:
            log.warning("hot_snipe_mev_without_tip", target_id=target.id)
        prepared = PreparedBuy(
            user=signer.pubkey, sign=signer.sign_message, amount_lamports=target.amount_lamports,
            slippage_bps=target.slippage_bps, compute_unit_limit=self._units,
            compute_unit_price_micro_lamports=compute_unit_price(total_fee, self._units),
            nonce_account=nonce_account, nonce_value=nonce_value, global_=g, fee_config=fc,
            fee_recipient=g.fee_recipients_for(False)[0],
            mayhem_fee_recipient=g.fee_recipients_for(True)[0],
            buyback_fee_recipient=g.buyback_fee_recipients[0],
            tip_lamports=tip, tip_account=tip_account,
        )  # fmt: skip
        return HotOrder(prepared, mev)

    async def prepare(self, target: SnipeTarget) -> HotOrder | None:
        """The prepared order of a stored target (a rebuild, another replica's arm); ``None``
        when it cannot fire from this replica (no nonce, or its nonce moved: it fired)."""
        if target.nonce_account is None or target.nonce_value is None:
            return None
        address = Pubkey.from_string(target.nonce_account)
        armed = Hash.from_string(target.nonce_value)
        current = await self._nonces.read(address)
        if current.value != armed:
            log.warning("hot_snipe_nonce_moved", target_id=target.id, nonce=str(address))
            return None
        signer = await self._signers.signer(target.user_id, target.wallet_id)
        settings = await self._settings.get(target.user_id)
        g, fc = await self.pump.get()
        return self._order(target, signer, settings, g, fc, address, armed)

    def prepare_later(self, entry: ArmedEntry[HotOrder]) -> None:
        """``ArmedBookSync``'s ``on_added``: prepare in the background, attach when ready."""
        self._spawn(self._prepare_entry(entry.target), f"hot-prepare:{entry.target.id}")

    async def _prepare_entry(self, target: SnipeTarget) -> None:
        held = self.book.get(target.id)
        if held is not None and held.prepared is not None and held.target == target:
            return  # armed here: prepared already
        try:
            order = await self.prepare(target)
        except (NonceError, BuildError, PermanentError) as exc:
            log.warning("hot_snipe_prepare_failed", target_id=target.id, error=str(exc))
            return
        if order is not None:
            current = self.book.get(target.id)
            if current is not None and current.target == target:
                self.book.set_prepared(target.id, order)

    async def rebuild(self) -> None:
        """The book from the database, every entry prepared (start)."""
        result = await self.sync.rebuild()
        await asyncio.gather(
            *(self._prepare_entry(e.target) for e in result.added), return_exceptions=True
        )

    async def reconcile_settings(self) -> int:
        """Re-prepare the entries whose owner switched MEV protection since they were prepared
        (a /settings change after arming; background, one settings read per user). Returns how
        many were re-prepared."""
        entries = [e for e in self.book.entries() if e.prepared is not None]
        wanted: dict[int, bool] = {}
        for user_id in {e.target.user_id for e in entries}:
            wanted[user_id] = (await self._settings.get(user_id)).mev_protection
        changed = 0
        for entry in entries:
            assert entry.prepared is not None
            if entry.prepared.mev_protect == wanted[entry.target.user_id]:
                continue
            order = await self.prepare(entry.target)
            current = self.book.get(entry.target.id)
            if order is not None and current is not None and current.target == entry.target:
                self.book.set_prepared(entry.target.id, order)
                changed += 1
        return changed

    # -- retiring ---------------------------------------------------------------------------------

    async def cancel(self, user_id: int, target_id: int) -> SnipeTarget:
        target = await self._targets.cancel(user_id, target_id)
        await self.sync.cancelled(target_id)
        self.retire_later(target)
        return target

    def retire_later(self, target: SnipeTarget) -> None:
        """Close the target's nonce account in the background (rent back to the wallet)."""
        if target.nonce_account is None or target.id in self._retired:
            return
        self._retired.add(target.id)
        self._spawn(self._retire(target), f"hot-retire:{target.id}")

    async def _retire(self, target: SnipeTarget) -> None:
        assert target.nonce_account is not None
        signer = await self._signers.signer(target.user_id, target.wallet_id)
        address = Pubkey.from_string(target.nonce_account)
        await self._close(address, signer)
        with contextlib.suppress(Exception):
            await self._targets.set_nonce(
                target.id, account=target.nonce_account, value=target.nonce_value,
                status=NonceStatus.CLOSED, expected_value=target.nonce_value,
            )  # fmt: skip

    async def _close(self, address: Pubkey, signer: NonceSigner) -> None:
        try:
            await self._nonces.close(address, signer, signer.pubkey)
            log.info("hot_snipe_nonce_closed", nonce=str(address))
        except NonceError as exc:
            log.warning("hot_snipe_nonce_close_failed", nonce=str(address), error=str(exc))

    async def expire_due(self) -> list[SnipeTarget]:
        """ARMED targets past their window become EXPIRED: out of the books, nonces closed."""
        expired = [t for t in await self._targets.expire_due(self._clock())]
        for target in expired:
            if target.nonce_account is not None:
                await self.sync.cancelled(target.id)
                self.retire_later(target)
        self.book.purge_expired()
        return expired

    async def run(self, stop: asyncio.Event, *, expiry_interval_s: float = 5.0) -> None:
        """Rebuild, then keep the book shared and prepared, pump's accounts fresh, expiry
        applied, until ``stop``."""
        with contextlib.suppress(Exception):
            await self.rebuild()
        syncing = asyncio.create_task(self.sync.run(), name="armed-book-sync")
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), expiry_interval_s)
                if stop.is_set():
                    break
                for step in (self.expire_due, self.pump.refresh, self.reconcile_settings):
                    try:
                        await step()
                    except Exception as exc:
                        log.warning("hot_arming_upkeep_failed", error=repr(exc))
        finally:
            syncing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await syncing
            await self.wait_idle(10.0)

    # -- plumbing ---------------------------------------------------------------------------------

    def _spawn(self, work: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.create_task(self._guarded(work, name), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _guarded(work: Awaitable[Any], name: str) -> None:
        try:
            await work
        except Exception:
            log.exception("hot_arming_task_failed", task=name)

    async def wait_idle(self, timeout_s: float | None = None) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                while self._tasks:
                    await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def owns(self, target: SnipeTarget) -> bool:
        """A target with a nonce account fires on the hot path only, never the slow one."""
        return target.nonce_account is not None and target.status is SnipeStatus.ARMED
