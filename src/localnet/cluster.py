"""The localnet cluster: LiteSVM with slots, a 150-block blockhash window, history, notifications.

LiteSVM alone keeps only its latest blockhash valid and has no slots, statuses or subscriptions. The
cluster disables LiteSVM's blockhash check and checks the window itself; every slot gets a new
blockhash (`expire_blockhash`), and a transaction is valid while its blockhash was issued at most
150 blocks ago (`lastValidBlockHeight = issued block height + 150`).

Everything runs on one event loop: methods are synchronous and never block for long.
Everything that reaches the bank goes through `send_transaction`/`simulate_transaction`/
`set_account`/`airdrop` so history and subscribers stay consistent; `svm` is exposed for
read-only use.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import struct
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from solders.account import Account
from solders.clock import Clock
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction, VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata

from localnet.encoding import (
    TOKEN_PROGRAMS,
    instruction_error_json,
    mint_fields,
    token_account_fields,
    token_account_kind,
    transaction_error_to_json,
)
from localnet.history import (
    FINALITY_DEPTH,
    History,
    SimOutcome,
    TokenBalance,
    TxOutcome,
)
from localnet.pubsub import SubscriptionHub

__all__ = ["BLOCKHASH_WINDOW", "Cluster", "GuardFailure", "SimOutcome", "TxOutcome"]

log = structlog.get_logger(__name__)

BLOCKHASH_WINDOW = 150
GENESIS_SLOT = 1_000
COMPUTE_BUDGET_PROGRAM = Pubkey.from_string("ComputeBudget111111111111111111111111111111")
MEMO_PROGRAM = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
AIRDROP_LIMIT = 10**15


@dataclass(frozen=True, slots=True)
class GuardFailure:
    """Fail a transaction as if instruction `instruction_index` returned `Custom(custom_code)`."""

    instruction_index: int
    custom_code: int
    logs: tuple[str, ...] = ()


TransactionGuard = Callable[[VersionedTransaction], GuardFailure | None]


def as_versioned(tx: VersionedTransaction | Transaction) -> VersionedTransaction:
    return tx if isinstance(tx, VersionedTransaction) else VersionedTransaction.from_legacy(tx)


def writable_flags(message: Any) -> list[bool]:
    """Writability of each static account key, from the message header."""
    header = message.header
    n = len(message.account_keys)
    signed = header.num_required_signatures
    writable_signed = signed - header.num_readonly_signed_accounts
    writable_unsigned_end = n - header.num_readonly_unsigned_accounts
    return [i < writable_signed or (signed <= i < writable_unsigned_end) for i in range(n)]


def compute_unit_price(message: Any) -> int:
    """SetComputeUnitPrice micro-lamports per CU, 0 when absent."""
    keys = message.account_keys
    for ix in message.instructions:
        if keys[ix.program_id_index] == COMPUTE_BUDGET_PROGRAM:
            data = bytes(ix.data)
            if len(data) == 9 and data[0] == 3:
                return int(struct.unpack_from("<Q", data, 1)[0])
    return 0


def with_blockhash(tx: VersionedTransaction, blockhash: Hash) -> VersionedTransaction:
    """The same transaction with another recent blockhash (signatures become invalid)."""
    msg = tx.message
    new_msg: Message | MessageV0
    if isinstance(msg, MessageV0):
        new_msg = MessageV0(
            msg.header,
            list(msg.account_keys),
            blockhash,
            list(msg.instructions),
            list(msg.address_table_lookups),
        )
    else:
        new_msg = Message.new_with_compiled_instructions(
            msg.header.num_required_signatures,
            msg.header.num_readonly_signed_accounts,
            msg.header.num_readonly_unsigned_accounts,
            list(msg.account_keys),
            blockhash,
            list(msg.instructions),
        )
    return VersionedTransaction.populate(new_msg, list(tx.signatures))


class Cluster:
    """One LiteSVM bank with mainnet-like slots, blockhashes, statuses, history, notifications."""

    def __init__(
        self,
        *,
        seed: int = 0,
        slot_ms: int | None = 400,
        sigverify: bool = True,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.seed = seed
        self.slot_ms = slot_ms
        self.sigverify = sigverify
        self._wall_clock = wall_clock
        self.svm = LiteSVM().with_blockhash_check(False).with_sigverify(sigverify)
        self.slot = GENESIS_SLOT
        self.block_height = GENESIS_SLOT
        self.genesis_time = int(wall_clock())
        self._blockhashes: OrderedDict[Hash, int] = OrderedDict()
        self._blockhashes[self.svm.latest_blockhash()] = self.block_height
        self._sync_clock()
        self.history = History()
        self._decimals: dict[Pubkey, int] = {}
        self.hub = SubscriptionHub(self.decimals_of)
        self._guards: list[TransactionGuard] = []
        self._slot_listeners: list[Callable[[int], None]] = []
        self._task: asyncio.Task[None] | None = None
        self._airdrops = itertools.count(1)
        faucet_seed = hashlib.sha256(f"localnet-faucet-{seed}".encode()).digest()
        self._airdrop_payer = Keypair.from_seed(faucet_seed)
        self.svm.set_account(
            self._airdrop_payer.pubkey(),
            Account(lamports=AIRDROP_LIMIT * 1_000, data=b"", owner=Pubkey.default()),
        )

    # -- time ------------------------------------------------------------------------------------
    def latest_blockhash(self) -> Hash:
        return next(reversed(self._blockhashes))

    def last_valid_block_height(self) -> int:
        """For the latest blockhash (block_height + 150)."""
        return self.block_height + BLOCKHASH_WINDOW

    def blockhash_valid(self, blockhash: Hash) -> bool:
        issued = self._blockhashes.get(blockhash)
        return issued is not None and issued + BLOCKHASH_WINDOW >= self.block_height

    def slot_at(self, depth: int) -> int:
        """The slot seen at a commitment depth (`processed` 0, `confirmed` 1, `finalized` 32)."""
        return max(GENESIS_SLOT, self.slot - depth)

    def block_height_at(self, depth: int) -> int:
        return max(GENESIS_SLOT, self.block_height - depth)

    def block_time(self, slot: int) -> int:
        return self.genesis_time + ((slot - GENESIS_SLOT) * (self.slot_ms or 400)) // 1000

    def _sync_clock(self) -> None:
        self.svm.set_clock(Clock(self.slot, self.genesis_time, 0, 0, self.block_time(self.slot)))

    def on_slot(self, listener: Callable[[int], None]) -> None:
        """Call `listener(slot)` after every new slot (B's scenario engine, faults, ...)."""
        self._slot_listeners.append(listener)

    def advance_slots(self, n: int = 1) -> None:
        """Produce `n` slots, each with a new blockhash; blockhashes over 150 blocks old expire."""
        if n < 0:
            raise ValueError("n must be >= 0")
        for _ in range(n):
            self.slot += 1
            self.block_height += 1
            self.svm.expire_blockhash()
            self._blockhashes[self.svm.latest_blockhash()] = self.block_height
            while len(self._blockhashes) > BLOCKHASH_WINDOW + 1:
                self._blockhashes.popitem(last=False)
            self.history.prune_fees(self.slot)
            self.hub.on_slot(self.slot, self.slot - 1, self.slot_at(FINALITY_DEPTH))
            for listener in tuple(self._slot_listeners):
                listener(self.slot)
        if n:
            self._sync_clock()

    async def start(self) -> None:
        """Start the slot clock (no-op with `slot_ms=None`: slots then advance only when asked)."""
        if self.slot_ms is not None and self._task is None:
            self._task = asyncio.create_task(self._tick(self.slot_ms / 1000), name="localnet-slots")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _tick(self, period: float) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time() + period
        while True:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            # Catch up if the loop was busy, but never more than a few slots at once.
            due = min(4, 1 + int((loop.time() - next_at) / period))
            try:
                self.advance_slots(due)
            except Exception:  # a failing listener must not stop the chain
                log.exception("localnet.slot_advance_failed", slot=self.slot)
            next_at += due * period

    # -- accounts --------------------------------------------------------------------------------
    def get_account(self, pubkey: Pubkey) -> Account | None:
        return self.svm.get_account(pubkey)

    def get_balance(self, pubkey: Pubkey) -> int:
        account = self.svm.get_account(pubkey)
        return 0 if account is None else account.lamports

    def set_account(self, pubkey: Pubkey, account: Account) -> None:
        """Write an account directly and notify account/program subscribers."""
        self.svm.set_account(pubkey, account)
        self.hub.publish_account(self.slot, pubkey, account)

    def program_accounts(self, program: Pubkey) -> list[tuple[Pubkey, Account]]:
        return self.svm.get_program_accounts(program)

    def token_accounts_by_owner(
        self, owner: Pubkey, *, mint: Pubkey | None = None, program: Pubkey | None = None
    ) -> list[tuple[Pubkey, Account]]:
        """Token accounts (SPL Token and Token-2022) whose owner field is `owner`."""
        programs = (program,) if program is not None else TOKEN_PROGRAMS
        out: list[tuple[Pubkey, Account]] = []
        for prog in programs:
            for address, account in self.svm.get_program_accounts(prog):
                data = bytes(account.data)
                if token_account_kind(prog, data) != "account" or data[32:64] != bytes(owner):
                    continue
                if mint is not None and data[0:32] != bytes(mint):
                    continue
                out.append((address, account))
        return out

    def token_accounts_by_mint(self, mint: Pubkey) -> list[tuple[Pubkey, Account]]:
        owner_program = self.get_account(mint)
        if owner_program is None or owner_program.owner not in TOKEN_PROGRAMS:
            return []
        out: list[tuple[Pubkey, Account]] = []
        for address, account in self.svm.get_program_accounts(owner_program.owner):
            data = bytes(account.data)
            if token_account_kind(account.owner, data) == "account" and data[0:32] == bytes(mint):
                out.append((address, account))
        return out

    def decimals_of(self, mint: Pubkey) -> int | None:
        cached = self._decimals.get(mint)
        if cached is not None:
            return cached
        account = self.svm.get_account(mint)
        if account is None or token_account_kind(account.owner, bytes(account.data)) != "mint":
            return None
        decimals = mint_fields(bytes(account.data))[1]
        self._decimals[mint] = decimals
        return decimals

    def airdrop(self, pubkey: Pubkey, lamports: int) -> Signature:
        """Transfer from the faucet in a real, recorded transaction; ValueError on failure."""
        if lamports <= 0 or lamports > AIRDROP_LIMIT:
            raise ValueError(f"airdrop amount must be 1..{AIRDROP_LIMIT} lamports, got {lamports}")
        faucet = self._airdrop_payer.pubkey()
        ixs = [
            transfer(TransferParams(from_pubkey=faucet, to_pubkey=pubkey, lamports=lamports)),
            # a counter memo keeps repeated identical airdrops distinct transactions
            Instruction(MEMO_PROGRAM, f"airdrop {next(self._airdrops)}".encode(), []),
        ]
        tx = Transaction.new_signed_with_payer(
            ixs, faucet, [self._airdrop_payer], self.latest_blockhash()
        )
        outcome = self.send_transaction(tx)
        if outcome.signature == tx.signatures[0] and outcome.err is None and outcome.landed:
            return outcome.signature
        raise ValueError(f"airdrop of {lamports} lamports to {pubkey} failed: {outcome.err}")

    # -- transactions ----------------------------------------------------------------------------
    def add_transaction_guard(self, guard: TransactionGuard) -> None:
        self._guards.append(guard)

    def _guard(self, tx: VersionedTransaction) -> GuardFailure | None:
        for guard in self._guards:
            failure = guard(tx)
            if failure is not None:
                return failure
        return None

    def _token_balances(
        self, keys: Sequence[Pubkey], accounts: Sequence[Account | None]
    ) -> tuple[TokenBalance, ...]:
        out: list[TokenBalance] = []
        for index, account in enumerate(accounts):
            if account is None or account.owner not in TOKEN_PROGRAMS:
                continue
            data = bytes(account.data)
            if token_account_kind(account.owner, data) != "account":
                continue
            mint, owner, amount, _ = token_account_fields(data)
            decimals = self.decimals_of(mint) or 0
            out.append(TokenBalance(index, mint, owner, account.owner, amount, decimals))
        del keys
        return tuple(out)

    def _dropped(self, tx: VersionedTransaction, err: Any) -> TxOutcome:
        return TxOutcome(tx.signatures[0], self.slot, False, err, (), 0, 0, transaction=tx)

    def send_transaction(self, tx: VersionedTransaction | Transaction) -> TxOutcome:
        """Execute like a leader: drop on pre-execution errors, else land (ok, or failed + fee)."""
        vtx = as_versioned(tx)
        signature = vtx.signatures[0]
        existing = self.history.get(signature)
        if existing is not None:
            return existing  # a resend of a landed transaction is a no-op, as on mainnet
        message = vtx.message
        if not self.blockhash_valid(message.recent_blockhash):
            return self._dropped(vtx, "BlockhashNotFound")
        keys = list(message.account_keys)
        pre = [self.svm.get_account(k) for k in keys]
        failure = self._guard(vtx)
        if failure is None:
            result = self.svm.send_transaction(vtx)
            if isinstance(result, FailedTransactionMetadata):
                err = transaction_error_to_json(result.err())
                meta = result.meta()
            else:
                err, meta = None, result
        else:
            sim = self.svm.simulate_transaction(vtx)
            meta = sim.meta()
            if isinstance(sim, FailedTransactionMetadata) and "InstructionError" not in str(
                transaction_error_to_json(sim.err())
            ):
                return self._dropped(vtx, transaction_error_to_json(sim.err()))
            payer = self.svm.get_account(keys[0])
            if payer is None or payer.lamports < meta.fee():
                return self._dropped(vtx, "InsufficientFundsForFee")
            self.svm.set_account(
                keys[0],
                Account(
                    payer.lamports - meta.fee(), bytes(payer.data), payer.owner, payer.executable
                ),
            )
            err = instruction_error_json(failure.instruction_index, failure.custom_code)
        post = [self.svm.get_account(k) for k in keys]
        pre_payer = pre[0].lamports if pre[0] is not None else 0
        post_payer = post[0].lamports if post[0] is not None else 0
        if err is not None and pre_payer == post_payer:
            return self._dropped(vtx, err)  # failed before execution: not landed, no fee
        logs = tuple(failure.logs) if failure is not None else tuple(meta.logs())
        return_data = None
        if isinstance(meta, TransactionMetadata) and bytes(meta.return_data().data):
            rd = meta.return_data()
            return_data = (rd.program_id, bytes(rd.data))
        outcome = TxOutcome(
            signature=signature,
            slot=self.slot,
            landed=True,
            err=err,
            logs=logs,
            units_consumed=meta.compute_units_consumed(),
            fee=meta.fee(),
            pre_balances=tuple(a.lamports if a else 0 for a in pre),
            post_balances=tuple(a.lamports if a else 0 for a in post),
            pre_token_balances=self._token_balances(keys, pre),
            post_token_balances=self._token_balances(keys, post),
            return_data=return_data,
            block_time=self.block_time(self.slot),
            transaction=vtx,
        )
        flags = writable_flags(message)
        writable = frozenset(k for k, w in zip(keys, flags, strict=True) if w)
        self.history.add(outcome, cu_price=compute_unit_price(message), writable=writable)
        self._publish(outcome, keys, pre, post)
        return outcome

    def _publish(
        self,
        outcome: TxOutcome,
        keys: list[Pubkey],
        pre: list[Account | None],
        post: list[Account | None],
    ) -> None:
        for key, before, after in zip(keys, pre, post, strict=True):
            if after is not None and before != after:
                self.hub.publish_account(outcome.slot, key, after)
        self.hub.publish_logs(
            outcome.slot, outcome.signature, outcome.err, list(outcome.logs), set(keys)
        )
        self.hub.publish_signature(outcome.slot, outcome.signature, outcome.err)

    def simulate_transaction(
        self,
        tx: VersionedTransaction | Transaction,
        *,
        sig_verify: bool = True,
        replace_recent_blockhash: bool = False,
    ) -> SimOutcome:
        """Run without changing state. `sig_verify=False` allows unsigned transactions."""
        vtx = as_versioned(tx)
        replacement: tuple[str, int] | None = None
        if replace_recent_blockhash:
            vtx = with_blockhash(vtx, self.latest_blockhash())
            sig_verify = False
            replacement = (str(self.latest_blockhash()), self.last_valid_block_height())
        message = vtx.message
        if not replace_recent_blockhash and not self.blockhash_valid(message.recent_blockhash):
            return SimOutcome(self.slot, "BlockhashNotFound", (), 0, 0)
        if sig_verify and self.history.get(vtx.signatures[0]) is not None:
            return SimOutcome(self.slot, "AlreadyProcessed", (), 0, 0)
        keys = list(message.account_keys)
        pre = [self.svm.get_account(k) for k in keys]
        toggled = self.sigverify and not sig_verify
        if toggled:
            self.svm.with_sigverify(False)
        try:
            result = self.svm.simulate_transaction(vtx)
        finally:
            if toggled:
                self.svm.with_sigverify(True)
        meta = result.meta()
        post_accounts: dict[Pubkey, Any] = {}
        if isinstance(result, FailedTransactionMetadata):
            err = transaction_error_to_json(result.err())
            post = pre
        else:
            err = None
            post_accounts = dict(result.post_accounts())
            post = [post_accounts.get(k, a) for k, a in zip(keys, pre, strict=True)]
        logs = tuple(meta.logs())
        failure = self._guard(vtx) if err is None else None
        if failure is not None:
            err = instruction_error_json(failure.instruction_index, failure.custom_code)
            logs, post, post_accounts = tuple(failure.logs), pre, {}
        return_data = None
        if bytes(meta.return_data().data):
            return_data = (meta.return_data().program_id, bytes(meta.return_data().data))
        return SimOutcome(
            slot=self.slot,
            err=err,
            logs=logs,
            units_consumed=meta.compute_units_consumed(),
            fee=meta.fee(),
            pre_balances=tuple(a.lamports if a else 0 for a in pre),
            post_balances=tuple(a.lamports if a else 0 for a in post),
            pre_token_balances=self._token_balances(keys, pre),
            post_token_balances=self._token_balances(keys, post),
            return_data=return_data,
            post_accounts=post_accounts,
            replacement_blockhash=replacement,
        )

    def record_synthetic_transaction(
        self,
        *,
        signer: Keypair,
        logs: list[str],
        account_keys: list[Pubkey],
        mentions: list[Pubkey],
    ) -> Signature:
        """Store a transaction of a program that cannot run here (pump.fun `Create`) with these
        logs, and publish it to logs subscribers mentioning any of `mentions` (and "all")."""
        keys = [signer.pubkey(), *[k for k in account_keys if k != signer.pubkey()]]
        message = Message.new_with_compiled_instructions(
            1, 0, len(keys) - 1, keys, self.latest_blockhash(), []
        )
        vtx = VersionedTransaction.populate(message, [signer.sign_message(bytes(message))])
        balances = tuple(self.get_balance(k) for k in keys)
        outcome = TxOutcome(
            signature=vtx.signatures[0],
            slot=self.slot,
            landed=True,
            err=None,
            logs=tuple(logs),
            units_consumed=0,
            fee=0,
            pre_balances=balances,
            post_balances=balances,
            block_time=self.block_time(self.slot),
            transaction=vtx,
        )
        self.history.add(outcome, cu_price=0, writable=frozenset())
        self.hub.publish_logs(
            self.slot, outcome.signature, None, list(logs), set(mentions) | set(keys)
        )
        self.hub.publish_signature(self.slot, outcome.signature, None)
        return outcome.signature
