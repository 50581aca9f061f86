"""``WithdrawalService``: SOL and token withdrawals from preview to a final state, crash-safe.

    preview(tg, destination, amount, mint)           -> WithdrawalPlan (reads, signs nothing)
    submit(tg, destination, amount, mint, pin, key)  -> WithdrawalRecord, within a second or two:
        PIN (lock-out counted) -> plan rebuilt from fresh balances -> row PENDING (idempotent on
        key) -> sign -> row SIGNED(signature, lastValidBlockHeight, bytes) -> send -> SENT
    shown(tg, id, final)                             -> the caller showed the record: a final one
        is marked told; otherwise a background watch resends the same bytes until the signature
        lands (meta.err decides CONFIRMED | FAILED) or the block height passes
        lastValidBlockHeight with no status (EXPIRED), then ``notify`` tells the owner
    execute(...)                                     -> submit + watch in the call (tests, tools)
    recover_all()                                    -> resolves every non-final row on start and
                                                        tells owners what ended untold
    run(stop)                                        -> every ``sweep_interval_s``: results whose
                                                        message failed, rows nobody watches

Telling the owner exactly once: the ``"notifiedAt"`` marker is claimed by compare-and-set before
the message goes out and released when sending raised, so of two replicas (or a live watch and a
recovery) one sends; a process killed between the claim and the send loses that one message
(it never sends two).

The same rules as the trade executor: nothing is sent before SIGNED is committed, only those bytes
are ever sent, EXPIRED needs proof, every transition is a compare-and-set. The same idempotency
key returns the same withdrawal: a double tap never makes a second transfer.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import structlog
from solders.account import Account
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from sniper_bot.chain.landing import (
    BlockHeightExpiry,
    Expired,
    Landing,
    LandingConfig,
    Phase,
    SignedTransaction,
    rpc_send,
)
from sniper_bot.chain.types import LandedTransaction, SignatureStatus
from sniper_bot.domain.fees import FEE_LEVEL_LAMPORTS, FeeLevel
from sniper_bot.domain.money import format_sol, format_tokens
from sniper_bot.domain.orders import OrderError, OrderErrorType
from sniper_bot.domain.withdrawal import (
    FINAL_WITHDRAWAL_STATES,
    SOL_ASSET,
    AmountRequest,
    WithdrawalErrorType,
    WithdrawalFailure,
    WithdrawalRecord,
    WithdrawalStatus,
    parse_amount_request,
)
from sniper_bot.errors import TemporaryError
from sniper_bot.observability.metrics import Metrics
from sniper_bot.ports.stores import StaleWithdrawalState
from sniper_bot.solana.layouts.token import (
    ACCOUNT_LEN,
    mint_decimals,
    token_account_amount,
    token_account_is_frozen,
)
from sniper_bot.solana.layouts.token2022 import token_account_size
from sniper_bot.solana.pda import associated_token_address
from sniper_bot.solana.programs import SYSTEM_PROGRAM_ID, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from sniper_bot.wallet.keys import AddressError, parse_address
from sniper_bot.wallet.service import WalletNotFoundError, WalletService, WalletView
from sniper_bot.wallet.withdraw import (
    TokenInfo,
    WithdrawalError,
    WithdrawalPreview,
    preview_sol,
    preview_token,
    sign_withdrawal,
)

__all__ = [
    "Boundary",
    "WithdrawalChain",
    "WithdrawalConfig",
    "WithdrawalPlan",
    "WithdrawalService",
    "WithdrawalStore",
]

log = structlog.get_logger(__name__)

Boundary = Callable[[str, WithdrawalRecord], Awaitable[None]]
# Tells the owner a final withdrawal; returns when told (or when the owner cannot be reached for
# good, e.g. the user blocked the bot); raises to be retried by the next sweep.
Notify = Callable[[WithdrawalRecord], Awaitable[None]]
_SOL_DECIMALS = 9
_ETHEREUM_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
# Token-2022 mint extension -> (account extension it forces on every new token account, size).
_ERROR_TYPES = {
    OrderErrorType.INSUFFICIENT_FUNDS: WithdrawalErrorType.INSUFFICIENT_FUNDS,
    OrderErrorType.BLOCKHASH_EXPIRED: WithdrawalErrorType.BLOCKHASH_EXPIRED,
    OrderErrorType.RPC_UNAVAILABLE: WithdrawalErrorType.RPC_UNAVAILABLE,
}


class WithdrawalChain(Protocol):
    """What the service reads and sends (``sniper_bot.chain.rpc.SolanaRpc`` satisfies it)."""

    async def get_balance(self, pubkey: Pubkey) -> int: ...
    async def get_multiple_accounts(self, pubkeys: Sequence[Pubkey]) -> list[Account | None]: ...
    async def recent_blockhash(self) -> tuple[Hash, int]: ...
    async def get_latest_blockhash(self) -> tuple[Hash, int]: ...
    async def send_transaction(
        self, tx: VersionedTransaction, *, skip_preflight: bool = False, fanout: int = 1
    ) -> Signature: ...
    async def get_signature_statuses(
        self, sigs: Sequence[Signature]
    ) -> list[SignatureStatus | None]: ...
    async def get_block_height(self) -> int: ...
    async def get_transaction(self, sig: Signature) -> LandedTransaction | None: ...


class WithdrawalStore(Protocol):
    """``sniper_bot.storage.repositories.withdrawals.WithdrawalRepository`` satisfies it;
    ``transition`` raises ``StaleWithdrawalState`` when another worker moved the row first."""

    async def create(
        self,
        *,
        user_id: int,
        wallet_id: int,
        asset: str,
        token_program: str | None,
        destination: str,
        amount: int,
        decimals: int,
        fee_lamports: int,
        rent_lamports: int,
        idempotency_key: str,
        withdrawal_id: str | None = None,
    ) -> tuple[WithdrawalRecord, bool]: ...
    async def get(self, user_id: int, withdrawal_id: str) -> WithdrawalRecord | None: ...
    async def get_by_id(self, withdrawal_id: str) -> WithdrawalRecord | None: ...
    async def get_by_idempotency_key(self, user_id: int, key: str) -> WithdrawalRecord | None: ...
    async def list_for_user(
        self, user_id: int, statuses: tuple[WithdrawalStatus, ...] | None = None, limit: int = 20
    ) -> list[WithdrawalRecord]: ...
    async def list_non_final(self) -> list[WithdrawalRecord]: ...
    async def list_unnotified(self, limit: int = 100) -> list[WithdrawalRecord]: ...
    async def claim_notification(self, withdrawal_id: str) -> bool: ...
    async def release_notification(self, withdrawal_id: str) -> None: ...
    async def user_id_for_telegram(self, telegram_id: int) -> int | None: ...
    async def transition(
        self,
        withdrawal_id: str,
        expected: WithdrawalStatus,
        new: WithdrawalStatus,
        **fields: object,
    ) -> WithdrawalRecord: ...


@dataclass(frozen=True, slots=True)
class WithdrawalConfig:
    priority_fee_lamports: int = FEE_LEVEL_LAMPORTS[FeeLevel.MEDIUM]
    poll_interval_s: float = 0.4
    resend_interval_s: float = 2.0
    land_deadline_s: float = 120.0  # one watch round; a background watch starts another
    send_fanout: int = 1
    pending_grace_s: float = 60.0  # recovery fails PENDING rows older than this (never signed)
    sweep_interval_s: float = 30.0  # untold results and unwatched rows are picked up this often
    retry_pause_s: float = 2.0  # a watch round that ended non-final or on an error waits this


@dataclass(frozen=True, slots=True)
class WithdrawalPlan:
    """The confirmation step: the wallet, what leaves, what it costs, where it goes.
    ``asset`` is ``"SOL"`` or the mint; amounts in base units; ``lines()`` for the message."""

    wallet_id: int
    asset: str
    token_program: str | None
    amount: int
    decimals: int
    source: str
    destination: str
    fee_lamports: int
    rent_lamports: int  # the recipient's new token account, paid by the sender
    total_sol_cost: int
    preview: WithdrawalPreview = field(repr=False)

    @property
    def creates_token_account(self) -> bool:
        return self.rent_lamports > 0

    def lines(self) -> list[str]:
        return self.preview.lines()

    @classmethod
    def of(cls, wallet_id: int, p: WithdrawalPreview) -> WithdrawalPlan:
        token = p.token
        return cls(
            wallet_id,
            SOL_ASSET if token is None else str(token.mint),
            None if token is None else str(token.token_program),
            p.amount,
            _SOL_DECIMALS if token is None else token.decimals,
            str(p.source),
            str(p.destination),
            p.fee_lamports,
            p.rent_lamports,
            p.total_sol_cost,
            p,
        )


def _account_size(mint_data: bytes, program: Pubkey) -> int:
    """A new ATA's size: Token 165; Token-2022 166 + TLVs (ImmutableOwner + what the mint
    forces on its accounts: transfer fee amount, non-transferable, hook, pausable)."""
    return ACCOUNT_LEN if program == TOKEN_PROGRAM_ID else token_account_size(mint_data)


class WithdrawalService:
    def __init__(
        self,
        rpc: WithdrawalChain,
        wallets: WalletService,
        repo: WithdrawalStore,
        metrics: Metrics,
        clock: Callable[[], datetime],
        *,
        config: WithdrawalConfig | None = None,
        boundary: Boundary | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        notify: Notify | None = None,
    ) -> None:
        self._rpc = rpc
        self._wallets = wallets
        self._repo = repo
        self._metrics = metrics
        self._clock = clock
        self.config = config or WithdrawalConfig()
        self._boundary = boundary
        self._sleep = sleep
        self._monotonic = monotonic
        self._notify = notify
        self._watches: dict[str, asyncio.Task[None]] = {}
        self._sink = _WithdrawalSink(self)
        self._landing = Landing(
            chain=rpc,
            send=rpc_send(rpc, preflight=True, fanout=self.config.send_fanout),
            config=LandingConfig(
                poll_interval_s=self.config.poll_interval_s,
                resend_interval_s=self.config.resend_interval_s,
                land_deadline_s=self.config.land_deadline_s,
            ),
            sleep=sleep,
            monotonic=monotonic,
        )

    # -- user actions ------------------------------------------------------------------------------

    async def preview(
        self,
        telegram_id: int,
        destination_text: str,
        amount_text: str,
        mint_text: str | None = None,
        *,
        wallet_id: int | None = None,
    ) -> WithdrawalPlan:
        """What would be sent from the active wallet (or ``wallet_id``); signs nothing."""
        wallet = await self._wallet(telegram_id, wallet_id)
        source = Pubkey.from_string(wallet.public_key)
        return await self._plan(source, wallet.id, destination_text, amount_text, mint_text)

    async def execute(
        self,
        telegram_id: int,
        destination_text: str,
        amount_text: str,
        mint_text: str | None,
        pin: str,
        idempotency_key: str,
        *,
        wallet_id: int | None = None,
    ) -> WithdrawalRecord:
        """``submit``, then watch in the call until final (or left SIGNED/SENT for recovery
        when the network stays silent past the deadline); the caller shows the result, so a
        final one is marked told."""
        record = await self.submit(
            telegram_id,
            destination_text,
            amount_text,
            mint_text,
            pin,
            idempotency_key,
            wallet_id=wallet_id,
        )
        record = await self._resume(record)
        if record.is_final:
            await self._repo.claim_notification(record.id)
        return record

    async def submit(
        self,
        telegram_id: int,
        destination_text: str,
        amount_text: str,
        mint_text: str | None,
        pin: str,
        idempotency_key: str,
        *,
        wallet_id: int | None = None,
    ) -> WithdrawalRecord:
        """PIN, then one signed transfer stored and sent once: the record comes back SENT (or
        SIGNED when the send's fate is unknown, FAILED when it was refused) without waiting for
        it to land; the caller shows it and calls ``shown``. Input errors raise
        ``WithdrawalError``; failures after the row exists are in the record's ``error``. The
        same key returns the same withdrawal as it is now."""
        signer = await self._wallets.unlock_for_withdrawal(telegram_id, wallet_id, pin)
        existing = await self._repo.get_by_idempotency_key(signer.user_id, idempotency_key)
        if existing is not None:
            return existing
        plan = await self._plan(
            signer.pubkey, signer.wallet_id, destination_text, amount_text, mint_text
        )
        record, created = await self._repo.create(
            user_id=signer.user_id,
            wallet_id=signer.wallet_id,
            asset=plan.asset,
            token_program=plan.token_program,
            destination=plan.destination,
            amount=plan.amount,
            decimals=plan.decimals,
            fee_lamports=plan.fee_lamports,
            rent_lamports=plan.rent_lamports,
            idempotency_key=idempotency_key,
        )
        if not created:
            return record
        log.info("withdrawal_created", withdrawal_id=record.id, user_id=record.user_id)
        try:
            # asked now, not the background cache: its hash may be most of 150 blocks old (with
            # localnet's 40 ms slots it can be past them) and a withdrawal can wait one round trip
            blockhash, last_valid = await self._rpc.get_latest_blockhash()
        except TemporaryError as exc:
            failure = WithdrawalFailure(WithdrawalErrorType.RPC_UNAVAILABLE, str(exc))
            return await self._fail(record, failure)
        signed = sign_withdrawal(signer, plan.preview, blockhash, last_valid)
        try:
            moved = await self._repo.transition(
                record.id,
                WithdrawalStatus.PENDING,
                WithdrawalStatus.SIGNED,
                signature=str(signed.signature),
                last_valid_block_height=signed.last_valid_block_height,
                signed_tx=signed.wire,
            )
        except StaleWithdrawalState:  # recovery failed it meanwhile: these bytes are never sent
            return await self._reload(record)
        await self._hook("signed", moved)
        return await self._landing.first_send(
            moved, _signed(moved), self._sink, ids={"withdrawal_id": moved.id}
        )

    async def shown(self, telegram_id: int, withdrawal_id: str, *, final: bool) -> None:
        """The owner was shown this withdrawal; ``final``: in a final state (so it is told).
        Otherwise the final result is pushed through ``notify`` when it lands."""
        record = await self.get(telegram_id, withdrawal_id)
        if record is None:
            return
        if final:
            await self._repo.claim_notification(record.id)
        else:
            self.follow(record)

    def follow(self, record: WithdrawalRecord) -> None:
        """Watch ``record`` in the background until final, then tell its owner (one watch per
        withdrawal in this process; another process watching too is harmless)."""
        if record.id in self._watches:
            return
        task = asyncio.create_task(self._watch(record), name=f"withdrawal-{record.id}")
        self._watches[record.id] = task
        task.add_done_callback(lambda _: self._watches.pop(record.id, None))

    async def _watch(self, record: WithdrawalRecord) -> None:
        while True:
            try:
                record = await self._recover(record)
                if record.is_final:
                    await self._deliver(record)
                    return
            except ValueError:  # a row that can never be resumed (no bytes): recovery logs it
                log.exception("withdrawal_watch_gave_up", withdrawal_id=record.id)
                return
            except Exception:  # a database or network error: the row is intact, try again
                log.warning("withdrawal_watch_error", withdrawal_id=record.id, exc_info=True)
            await self._sleep(self.config.retry_pause_s)
            try:
                record = await self._reload(record)
            except ValueError:
                return
            except Exception:
                log.warning("withdrawal_watch_reload_failed", withdrawal_id=record.id)

    async def _deliver(self, record: WithdrawalRecord) -> None:
        """Tell the owner a final withdrawal, once: claim the marker, send, release on error."""
        if self._notify is None or not await self._repo.claim_notification(record.id):
            return
        try:
            await self._notify(record)
        except Exception:
            log.warning("withdrawal_notify_failed", withdrawal_id=record.id, exc_info=True)
            await self._repo.release_notification(record.id)
            return
        log.info("withdrawal_notified", withdrawal_id=record.id, status=record.status.value)

    async def deliver_pending(self) -> int:
        """Tell owners every final withdrawal nobody told them about; returns how many."""
        if self._notify is None:
            return 0
        rows = await self._repo.list_unnotified()
        for row in rows:
            await self._deliver(row)
        return len(rows)

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``: every ``sweep_interval_s`` tell untold results and watch non-final
        rows nobody in this process watches (a watch that died, another replica's leftovers).
        On stop the watches are cancelled; their rows stay non-final for the next start."""
        try:
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), self.config.sweep_interval_s)
                    break
                except TimeoutError:
                    pass
                try:
                    await self.sweep()
                except Exception:  # a database hiccup: the next sweep tries again
                    log.warning("withdrawal_sweep_failed", exc_info=True)
        finally:
            await self.close()

    async def sweep(self) -> None:
        await self.deliver_pending()
        stale = self._clock() - timedelta(seconds=self.config.pending_grace_s)
        for row in await self._repo.list_non_final():
            if row.id not in self._watches and row.updated_at < stale:
                self.follow(row)

    async def close(self) -> None:
        """Cancel the background watches (rows stay as stored; recovery finishes them)."""
        tasks = list(self._watches.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def get(self, telegram_id: int, withdrawal_id: str) -> WithdrawalRecord | None:
        user_id = await self._repo.user_id_for_telegram(telegram_id)
        return None if user_id is None else await self._repo.get(user_id, withdrawal_id)

    async def list_recent(self, telegram_id: int, limit: int = 10) -> list[WithdrawalRecord]:
        user_id = await self._repo.user_id_for_telegram(telegram_id)
        return [] if user_id is None else await self._repo.list_for_user(user_id, limit=limit)

    async def recover_all(self) -> list[WithdrawalRecord]:
        """Resolve every non-final withdrawal (start-up): PENDING rows past the grace period
        were never signed and fail; SIGNED/SENT rows are watched to landing or expiry."""
        rows = [r for r in await self._repo.list_non_final() if r.id not in self._watches]
        log.info("withdrawal_recovery", count=len(rows))
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(self._recover(r)) for r in rows]
        done = [t.result() for t in tasks]
        await self.deliver_pending()  # what recovery just ended, and what ended untold before
        return done

    async def _recover(self, record: WithdrawalRecord) -> WithdrawalRecord:
        if record.status is WithdrawalStatus.PENDING:
            if self._clock() - record.created_at < timedelta(seconds=self.config.pending_grace_s):
                return record
            message = "interrupted before signing; nothing was sent"
            return await self._fail(
                record, WithdrawalFailure(WithdrawalErrorType.INTERRUPTED, message)
            )
        return await self._resume(record)

    # -- the plan ----------------------------------------------------------------------------------

    async def _wallet(self, telegram_id: int, wallet_id: int | None) -> WalletView:
        if wallet_id is None:
            return await self._wallets.active_wallet(telegram_id)
        for wallet in await self._wallets.list_wallets(telegram_id):
            if wallet.id == wallet_id:
                return wallet
        raise WalletNotFoundError

    async def _plan(
        self,
        source: Pubkey,
        wallet_id: int,
        destination_text: str,
        amount_text: str,
        mint_text: str | None,
    ) -> WithdrawalPlan:
        if _ETHEREUM_ADDRESS.fullmatch(destination_text.strip()):
            raise WithdrawalError(
                "That is an Ethereum address; this wallet sends on Solana only. Paste a Solana "
                "wallet address (base58, 32-44 characters)."
            )
        try:
            destination = parse_address(destination_text)
        except AddressError as exc:
            raise WithdrawalError(exc.user_message or str(exc)) from exc
        await self._check_destination(destination)
        if mint_text is None or mint_text.strip().upper() == SOL_ASSET:
            request = _amount(amount_text, _SOL_DECIMALS, " SOL")
            balance = await self._rpc.get_balance(source)
            preview = self._sol(source, str(destination), request, balance)
        else:
            preview = await self._token(source, destination, mint_text, amount_text)
        return WithdrawalPlan.of(wallet_id, preview)

    async def _check_destination(self, destination: Pubkey) -> None:
        """A wallet owns nothing but SOL: a program, a token account or a mint is not one."""
        (account,) = await self._rpc.get_multiple_accounts([destination])
        if account is None or account.owner == SYSTEM_PROGRAM_ID:
            return
        if account.executable:
            raise WithdrawalError(
                "That address is a program, not a wallet; funds sent there are lost. Paste the "
                "address of a wallet."
            )
        if account.owner in (TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID):
            if len(account.data) == 82 or (len(account.data) > 165 and account.data[165] == 1):
                raise WithdrawalError(
                    "That is a token's mint address, not a wallet; nothing was sent."
                )
            raise WithdrawalError(
                "That is a token account, not a wallet: paste its owner's wallet address "
                "(tokens are sent to the wallet's own account for them)."
            )
        raise WithdrawalError(
            "That address is an account of a program, not a wallet; paste a wallet address."
        )

    def _sol(
        self, source: Pubkey, destination: str, request: AmountRequest, balance: int
    ) -> WithdrawalPreview:
        fee = self.config.priority_fee_lamports
        amount = request.exact
        if amount is None:  # everything, or a share of what can leave after the fee
            most = preview_sol(
                source, destination, None, balance_lamports=balance, priority_fee_lamports=fee
            )
            if request.is_all:
                return most
            amount = request.resolve(most.amount)
            if amount <= 0:
                raise WithdrawalError(f"That share of {format_sol(most.amount)} is 0 lamports.")
        return preview_sol(
            source, destination, amount, balance_lamports=balance, priority_fee_lamports=fee
        )

    async def _token(
        self, source: Pubkey, destination: Pubkey, mint_text: str, amount_text: str
    ) -> WithdrawalPreview:
        try:
            mint = Pubkey.from_string(mint_text.strip())
        except ValueError:
            raise WithdrawalError(
                "That is not a token mint address; paste the token's mint (base58)."
            ) from None
        mint_account, sol_balance = await asyncio.gather(
            self._rpc.get_multiple_accounts([mint]), self._rpc.get_balance(source)
        )
        account = mint_account[0]
        if account is None:
            raise WithdrawalError("No token with this mint address exists; check the address.")
        data = bytes(account.data)
        decimals = mint_decimals(data)
        if account.owner not in (TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID) or decimals is None:
            raise WithdrawalError("That address is not a token mint; paste the token's mint.")
        token = TokenInfo(
            mint, account.owner, decimals, account_size=_account_size(data, account.owner)
        )
        request = _amount(amount_text, token.decimals, " of this token")
        src_ata = associated_token_address(source, mint, token.token_program)
        dst_ata = associated_token_address(destination, mint, token.token_program)
        held, recipient = await self._rpc.get_multiple_accounts([src_ata, dst_ata])
        held_data = bytes(held.data) if held is not None else b""
        balance = token_account_amount(held_data) if len(held_data) >= ACCOUNT_LEN else 0
        if balance == 0:
            raise WithdrawalError("This wallet holds none of this token; nothing to send.")
        if token_account_is_frozen(held_data):
            raise WithdrawalError(
                "Your account for this token is frozen by the token's freeze authority; "
                "it cannot be sent."
            )
        amount = None if request.is_all else request.resolve(balance)
        if amount == 0:
            raise WithdrawalError("That share is less than one base unit of the token.")
        return preview_token(
            source,
            str(destination),
            token,
            amount,
            token_balance=balance,
            sol_balance_lamports=sol_balance,
            destination_account_exists=recipient is not None,
            priority_fee_lamports=self.config.priority_fee_lamports,
        )

    # -- after SIGNED: the shared landing lifecycle (sniper_bot.chain.landing) -------------------

    async def _resume(self, record: WithdrawalRecord) -> WithdrawalRecord:
        if record.status not in (WithdrawalStatus.SIGNED, WithdrawalStatus.SENT):
            return record  # final, or PENDING in another call's hands
        return await self._landing.land(
            record, _signed(record), self._sink, ids={"withdrawal_id": record.id}
        )

    # -- persistence helpers -----------------------------------------------------------------------

    async def _fail(
        self, record: WithdrawalRecord, failure: WithdrawalFailure, **fields: object
    ) -> WithdrawalRecord:
        log.info(
            "withdrawal_failed",
            withdrawal_id=record.id,
            error_type=failure.type.value,
            error=failure.message,
        )
        return await self._move(record, WithdrawalStatus.FAILED, error=failure, **fields)

    async def _move(
        self, record: WithdrawalRecord, new: WithdrawalStatus, **fields: object
    ) -> WithdrawalRecord:
        try:
            moved = await self._repo.transition(record.id, record.status, new, **fields)
        except StaleWithdrawalState:  # another worker moved it first: take its word
            return await self._reload(record)
        log.info(
            f"withdrawal_{new.value.lower()}", withdrawal_id=moved.id, signature=moved.signature
        )
        self._count(new)
        await self._hook(new.value.lower(), moved)
        return moved

    async def _reload(self, record: WithdrawalRecord) -> WithdrawalRecord:
        current = await self._repo.get_by_id(record.id)
        if current is None:
            raise ValueError(f"withdrawal {record.id} disappeared")
        return current

    async def _hook(self, name: str, record: WithdrawalRecord) -> None:
        if self._boundary is not None:
            await self._boundary(name, record)

    def _count(self, status: WithdrawalStatus) -> None:
        # ``withdrawals_total{outcome}``, its own counter: order metrics never count withdrawals.
        if status in FINAL_WITHDRAWAL_STATES:
            self._metrics.withdrawals.labels(outcome=status.value.lower()).inc()


def _amount(text: str, decimals: int, unit: str) -> AmountRequest:
    try:
        request = parse_amount_request(text, decimals)
    except ValueError as exc:
        raise WithdrawalError(str(exc)) from None
    if request.exact == 0:  # e.g. 1e-999999999: positive as written, zero once in base units
        smallest = format_tokens(1, decimals)
        raise WithdrawalError(f"That amount is zero; the least you can send is {smallest}{unit}.")
    return request


def _signed(record: WithdrawalRecord) -> SignedTransaction:
    if record.signature is None or record.signed_tx is None:
        raise ValueError(f"withdrawal {record.id} is {record.status} without signed bytes")
    if record.last_valid_block_height is None:
        raise ValueError(f"withdrawal {record.id} has no lastValidBlockHeight")
    expiry = BlockHeightExpiry(record.last_valid_block_height)
    return SignedTransaction.stored(record.signed_tx, record.signature, expiry)


class _WithdrawalSink:
    """``LandingSink[WithdrawalRecord]``: each landing outcome as a compare-and-set transition
    (a lost one takes the winner's row, which may be final: the watch then ends)."""

    def __init__(self, service: WithdrawalService) -> None:
        self._service = service

    def phase(self, record: WithdrawalRecord) -> Phase:
        if record.is_final:
            return "final"
        return "sent" if record.status is WithdrawalStatus.SENT else "signed"

    async def mark_sent(self, record: WithdrawalRecord) -> WithdrawalRecord:
        return await self._service._move(record, WithdrawalStatus.SENT)

    async def record_landed(
        self, record: WithdrawalRecord, landed: LandedTransaction
    ) -> WithdrawalRecord:
        return await self._service._move(
            record, WithdrawalStatus.CONFIRMED, fee_lamports=landed.fee
        )

    async def mark_failed(
        self, record: WithdrawalRecord, error: OrderError, landed: LandedTransaction | None
    ) -> WithdrawalRecord:
        if landed is None:
            return await self._service._fail(record, _failure(error))
        return await self._service._fail(record, _failure(error), fee_lamports=landed.fee)

    async def mark_expired(self, record: WithdrawalRecord, expired: Expired) -> WithdrawalRecord:
        failure = WithdrawalFailure(
            WithdrawalErrorType.BLOCKHASH_EXPIRED, expired.reason, dict(expired.details)
        )
        return await self._service._move(record, WithdrawalStatus.EXPIRED, error=failure)


def _failure(error: OrderError) -> WithdrawalFailure:
    kind = _ERROR_TYPES.get(error.type, WithdrawalErrorType.REJECTED)
    return WithdrawalFailure(kind, error.message, dict(error.details))
