"""Transaction execution of the localnet cluster: send like a leader, simulate, record, notify.

`TransactionExecution` is the transaction half of `localnet.cluster.Cluster` (which supplies the
bank, slots, blockhash window, history and subscription hub); the helpers here are pure functions
over solders messages. Only `Cluster` instantiates it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from solders.account import Account
from solders.hash import Hash
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import Transaction, VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata

from localnet.encoding import (
    TOKEN_PROGRAMS,
    instruction_error_json,
    token_account_fields,
    token_account_kind,
    transaction_error_to_json,
)
from localnet.history import (
    AccountJournal,
    History,
    InnerGroups,
    SimOutcome,
    TokenBalance,
    TxOutcome,
    inner_groups,
)
from localnet.loaded_size import loaded_accounts_data_size, loaded_accounts_data_size_limit
from localnet.pubsub import SubscriptionHub

log = structlog.get_logger(__name__)

__all__ = [
    "COMPUTE_BUDGET_PROGRAM",
    "MAX_PENDING",
    "BundleCheck",
    "BundleResult",
    "Executed",
    "GuardFailure",
    "HostedResult",
    "NonceState",
    "TransactionExecution",
    "TransactionGuard",
    "TransactionProcessor",
    "as_versioned",
    "compute_unit_price",
    "durable_nonce",
    "durable_nonce_address",
    "nonce_state",
    "with_blockhash",
    "writable_flags",
]

COMPUTE_BUDGET_PROGRAM = Pubkey.from_string("ComputeBudget111111111111111111111111111111")
SYSTEM_PROGRAM = Pubkey.default()
NONCE_ACCOUNT_LEN = 80  # version u32, state u32, authority, durable nonce, lamports_per_signature
NONCE_VERSION_CURRENT = 1  # legacy (0) nonces cannot sign durable transactions (agave)
NONCE_INITIALIZED = 1
ADVANCE_NONCE_ACCOUNT = struct.pack("<I", 4)  # SystemInstruction::AdvanceNonceAccount
LAMPORTS_PER_SIGNATURE = 5_000
DURABLE_NONCE_PREFIX = b"DURABLE_NONCE"
MAX_PENDING = 100_000  # transactions queued for the next block; past that a leader drops them
LOOKUP_TABLE_META_SIZE = 56  # address lookup table header; the addresses follow, 32 bytes each
# failures while loading a transaction's accounts, after its fee payer was validated: agave commits
# these fee-only (SIMD-0082): landed with the error, the fee charged, nothing else changed
FEE_ONLY_ERRORS = frozenset(
    {"ProgramAccountNotFound", "InvalidProgramForExecution", "MaxLoadedAccountsDataSizeExceeded"}
)


@dataclass(frozen=True, slots=True)
class GuardFailure:
    """Fail a transaction as if instruction `instruction_index` returned `Custom(custom_code)`."""

    instruction_index: int
    custom_code: int
    logs: tuple[str, ...] = ()


TransactionGuard = Callable[[VersionedTransaction], GuardFailure | None]


@dataclass(frozen=True, slots=True)
class HostedResult:
    """What a `TransactionProcessor` made of a transaction: `dropped` set = failed before
    execution (not landed, no fee); else `err` (None = success), logs, units and the fee it
    charged. `post_accounts` are the accounts after a simulation (state already restored)."""

    err: Any
    logs: tuple[str, ...] = ()
    units_consumed: int = 0
    fee: int = 0
    dropped: Any = None
    post_accounts: dict[Pubkey, Account] = field(default_factory=dict)
    inner_instructions: InnerGroups = ()


class TransactionProcessor(Protocol):
    """Executes transactions with instructions of programs whose bytecode localnet lacks
    (pump.fun): `claims` says whether it must run `tx`; `execute` runs it atomically (every
    account restored on failure, or always when `commit` is false)."""

    def claims(self, tx: VersionedTransaction) -> bool: ...

    def execute(
        self, tx: VersionedTransaction, *, commit: bool, sig_verify: bool
    ) -> HostedResult: ...


@dataclass(frozen=True, slots=True)
class Executed:
    """A transaction that ran (landed, ok or failed) but is not recorded yet."""

    outcome: TxOutcome
    keys: list[Pubkey]
    pre: list[Account | None]
    post: list[Account | None]


@dataclass(frozen=True, slots=True)
class BundleResult:
    """What `execute_bundle` did. `landed`: every transaction succeeded and is recorded, in order.
    Otherwise nothing changed: `failed_index` is the transaction that failed (None when the
    bundle's `check` refused it), `err` why, `dropped` whether it failed before execution
    (blockhash, fee payer, signature, already processed) rather than during it."""

    landed: bool
    outcomes: tuple[TxOutcome, ...] = ()
    failed_index: int | None = None
    err: Any = None
    dropped: bool = False


BundleCheck = Callable[[Mapping[Pubkey, Account | None]], Any]
"""Called after a bundle executed, with every account it loads as it was before; a non-None
answer (the reason) rolls the whole bundle back."""


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


@dataclass(frozen=True, slots=True)
class NonceState:
    """An initialized System nonce account's state."""

    version: int
    authority: Pubkey
    durable_nonce: Hash
    lamports_per_signature: int


def nonce_state(account: Account | None) -> NonceState | None:
    """The state of an initialized nonce account (owned by the System program, 80 bytes), else
    None (absent, not a nonce account, uninitialized)."""
    if account is None or account.owner != SYSTEM_PROGRAM:
        return None
    data = bytes(account.data)
    if len(data) != NONCE_ACCOUNT_LEN:
        return None
    version, state = struct.unpack_from("<II", data, 0)
    if state != NONCE_INITIALIZED or version > NONCE_VERSION_CURRENT:
        return None
    (lamports_per_signature,) = struct.unpack_from("<Q", data, 72)
    return NonceState(
        version,
        Pubkey.from_bytes(data[8:40]),
        Hash.from_bytes(data[40:72]),
        int(lamports_per_signature),
    )


def durable_nonce(blockhash: Hash) -> Hash:
    """The durable nonce an advance stores while `blockhash` is the bank's last blockhash
    (agave's `DurableNonce::from_blockhash`: SHA-256 of "DURABLE_NONCE" + blockhash)."""
    return Hash(hashlib.sha256(DURABLE_NONCE_PREFIX + bytes(blockhash)).digest())


def durable_nonce_address(message: Any) -> Pubkey | None:
    """The nonce account of a durable-nonce transaction (agave's `get_durable_nonce`): its first
    instruction is System `AdvanceNonceAccount` and that instruction's first account is a
    writable static key. None for an ordinary transaction."""
    if not message.instructions:
        return None
    ix = message.instructions[0]
    keys = message.account_keys
    if ix.program_id_index >= len(keys) or keys[ix.program_id_index] != SYSTEM_PROGRAM:
        return None
    if bytes(ix.data)[:4] != ADVANCE_NONCE_ACCOUNT or not ix.accounts:
        return None
    index = ix.accounts[0]
    if index >= len(keys) or not writable_flags(message)[index]:
        return None
    address: Pubkey = keys[index]
    return address


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


class TransactionExecution:
    """Send/simulate/record over the cluster's bank; `Cluster` provides the state below."""

    svm: LiteSVM
    sigverify: bool
    slot: int
    history: History
    journal: AccountJournal
    # user traffic (block-built transactions, bundles) is journaled for reads at older
    # commitments; localnet's own on-the-spot setup is visible at every commitment at once
    _journaling: bool = False
    hub: SubscriptionHub
    _guards: list[TransactionGuard]
    _processors: list[TransactionProcessor]
    _decimals: dict[Pubkey, int]
    block_building: bool
    _pending: list[tuple[int, int, VersionedTransaction]]
    _pending_signatures: set[Signature]
    _block_hooks: list[Callable[[int], None]]
    _arrivals: itertools.count[int]
    batches: int

    def latest_blockhash(self) -> Hash:
        raise NotImplementedError

    def last_valid_block_height(self) -> int:
        raise NotImplementedError

    def blockhash_valid(self, blockhash: Hash) -> bool:
        raise NotImplementedError

    def block_time(self, slot: int) -> int:
        raise NotImplementedError

    def decimals_of(self, mint: Pubkey) -> int | None:
        raise NotImplementedError

    def get_balance(self, pubkey: Pubkey) -> int:
        raise NotImplementedError

    # -- transaction age: the blockhash window or a durable nonce ------------------------------
    def nonce_for(self, message: Any) -> Pubkey | None:
        """The nonce account that makes `message` valid regardless of its age, as agave's
        `check_load_and_advance_message_nonce_account`: a durable-nonce transaction whose
        `recent_blockhash` is the account's stored nonce, signed (in that first instruction) by
        the nonce authority, and advanceable (the stored nonce is not already the one an advance
        would store now). None otherwise."""
        address = durable_nonce_address(message)
        if address is None:
            return None
        recent = message.recent_blockhash
        if recent == durable_nonce(self.svm.latest_blockhash()):
            return None  # advanced at this blockhash already: not advanceable
        state = nonce_state(self.svm.get_account(address))
        if state is None or state.version != NONCE_VERSION_CURRENT or state.durable_nonce != recent:
            return None
        keys = message.account_keys
        signers = message.header.num_required_signatures
        first = message.instructions[0]
        if not any(i < signers and keys[i] == state.authority for i in first.accounts):
            return None
        return address

    def transaction_age_ok(self, message: Any) -> tuple[bool, Pubkey | None]:
        """(valid, nonce account): a blockhash of the window, else a usable durable nonce."""
        if self.blockhash_valid(message.recent_blockhash):
            return True, None
        nonce = self.nonce_for(message)
        return nonce is not None, nonce

    def _advance_nonce(self, address: Pubkey) -> None:
        """Store the next durable nonce in a nonce account a landed transaction used, like the
        runtime does whether the transaction succeeded or failed (a failed one was rolled back
        except for its fee: the advance is committed anyway)."""
        account = self.svm.get_account(address)
        if account is not None and nonce_state(account) is not None:
            self.svm.set_account(address, self._advanced_copy(account))

    def _advanced_copy(self, account: Account) -> Account:
        """`account` (a nonce account) as an advance at the current blockhash leaves it."""
        if nonce_state(account) is None:
            return account
        data = bytearray(bytes(account.data))
        data[40:72] = bytes(durable_nonce(self.svm.latest_blockhash()))
        data[72:80] = struct.pack("<Q", LAMPORTS_PER_SIGNATURE)
        return Account(
            account.lamports, bytes(data), account.owner, account.executable, account.rent_epoch
        )

    def add_transaction_guard(self, guard: TransactionGuard) -> None:
        self._guards.append(guard)

    def add_transaction_processor(self, processor: TransactionProcessor) -> None:
        self._processors.append(processor)

    # -- block building --------------------------------------------------------------------------
    def submit_transaction(self, tx: VersionedTransaction | Transaction) -> Signature:
        """A user transaction (RPC `sendTransaction`): with block building it waits for the end of
        the slot and lands in that block, ordered like a leader orders them (compute-unit price
        descending, then arrival); without, it executes now. Returns its signature either way."""
        vtx = as_versioned(tx)
        signature = vtx.signatures[0]
        if not self.block_building:
            self._journaling = True
            try:
                self.send_transaction(vtx)
            finally:
                self._journaling = False
            return signature
        if signature in self._pending_signatures or self.history.get(signature) is not None:
            return signature  # a resend while queued or after landing changes nothing
        if len(self._pending) >= MAX_PENDING:
            log.warning("localnet.block_queue_full", signature=str(signature))
            return signature
        self._pending.append((-compute_unit_price(vtx.message), next(self._arrivals), vtx))
        self._pending_signatures.add(signature)
        return signature

    @property
    def pending_transactions(self) -> int:
        """Transactions queued for the block being built."""
        return len(self._pending)

    def add_block_hook(self, hook: Callable[[int], None]) -> None:
        """`hook(slot)` runs at the top of every block, before its queued transactions (the Jito
        block engine lands its bundles there)."""
        self._block_hooks.append(hook)

    def _build_block(self) -> None:
        """One leader batch in the block of the current slot (its top, or a stream tick): block
        hooks (bundles) first, then the user transactions queued since the previous batch by
        compute-unit price (descending), ties by arrival."""
        self._journaling = True
        try:
            self._build_batch()
        finally:
            self._journaling = False

    def _build_batch(self) -> None:
        for hook in tuple(self._block_hooks):
            try:
                hook(self.slot)
            except Exception:  # one failing hook must not cost the block its transactions
                log.exception("localnet.block_hook_failed", slot=self.slot)
        self.batches += 1
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        self._pending_signatures.clear()
        pending.sort(key=lambda item: (item[0], item[1]))
        for _, _, vtx in pending:
            self.send_transaction(vtx)

    def loaded_addresses(self, vtx: VersionedTransaction) -> tuple[list[Pubkey], list[Pubkey]]:
        """(writable, readonly) addresses a v0 message loads from its lookup tables, in agave's
        order (every table's writable indexes, then every table's readonly ones); indexes a table
        does not have (the runtime refuses the transaction) are skipped."""
        writable: list[Pubkey] = []
        readonly: list[Pubkey] = []
        message = vtx.message
        if not isinstance(message, MessageV0):
            return writable, readonly
        for lookup in message.address_table_lookups:
            table = self.svm.get_account(lookup.account_key)
            if table is None:
                continue
            data = bytes(table.data)[LOOKUP_TABLE_META_SIZE:]
            addresses = [
                Pubkey.from_bytes(data[i : i + 32]) for i in range(0, len(data) // 32 * 32, 32)
            ]
            writable += [addresses[i] for i in lookup.writable_indexes if i < len(addresses)]
            readonly += [addresses[i] for i in lookup.readonly_indexes if i < len(addresses)]
        return writable, readonly

    def loaded_keys(self, vtx: VersionedTransaction) -> list[Pubkey]:
        """Every account a transaction loads: static keys, then lookup-table addresses
        (writable, then readonly), the order of its balances in `getTransaction`."""
        writable, readonly = self.loaded_addresses(vtx)
        return [*vtx.message.account_keys, *writable, *readonly]

    def loaded_data_size(self, vtx: VersionedTransaction, keys: Sequence[Pubkey]) -> int:
        """The loaded accounts data size of `vtx` (loading `keys`) against the bank now."""
        return loaded_accounts_data_size(vtx.message, keys, self.svm.get_account)

    def prepare_sysvars(self, message: Any) -> None:
        """Bring the sysvars a transaction reads up to date before it runs (`Cluster`)."""

    def execute_bundle(
        self, txs: Sequence[VersionedTransaction], check: BundleCheck | None = None
    ) -> BundleResult:
        """Execute `txs` in order, all or nothing: if one is dropped or fails, or `check` refuses
        the result, every account is restored and nothing is recorded (no fee either)."""
        keys = dict.fromkeys(k for vtx in txs for k in self.loaded_keys(vtx))
        snapshot = {k: self.svm.get_account(k) for k in keys}
        done: list[Executed] = []
        for index, vtx in enumerate(txs):
            if any(vtx.signatures[0] == e.outcome.signature for e in done):
                executed: TxOutcome | Executed = self._dropped(vtx, "AlreadyProcessed")
            else:
                executed = self._execute(vtx)
            if isinstance(executed, TxOutcome):
                self._restore(snapshot)
                err = "AlreadyProcessed" if executed.landed else executed.err
                return BundleResult(False, (), index, err, dropped=True)
            if executed.outcome.err is not None:
                self._restore(snapshot)
                return BundleResult(False, (), index, executed.outcome.err)
            done.append(executed)
        problem = check(snapshot) if check is not None else None
        if problem is not None:
            self._restore(snapshot)
            return BundleResult(False, (), None, problem)
        for executed in done:
            self._commit(executed)
        return BundleResult(True, tuple(e.outcome for e in done))

    def _restore(self, snapshot: Mapping[Pubkey, Account | None]) -> None:
        for key, before in snapshot.items():
            if before is not None:
                self.svm.set_account(key, before)
            elif self.svm.get_account(key) is not None:
                self.svm.set_account(key, Account(0, b"", Pubkey.default(), False, 0))
            self._decimals.pop(key, None)

    def _processor(self, tx: VersionedTransaction) -> TransactionProcessor | None:
        return next((p for p in self._processors if p.claims(tx)), None)

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
        """Execute now, like a leader at this point of the block: drop on pre-execution errors,
        else land (ok, or failed + fee) in the current slot. Localnet's own setup uses this;
        user transactions from RPC go through `submit_transaction` (block building)."""
        executed = self._execute(as_versioned(tx))
        if isinstance(executed, TxOutcome):
            return executed
        self._commit(executed)
        return executed.outcome

    def _execute(self, vtx: VersionedTransaction) -> TxOutcome | Executed:
        """Run `vtx` against the bank without recording it: a `TxOutcome` when it was dropped or
        already landed (nothing changed), else what `_commit` records and publishes."""
        signature = vtx.signatures[0]
        existing = self.history.get(signature)
        if existing is not None:
            return existing  # a resend of a landed transaction is a no-op, as on mainnet
        message = vtx.message
        age_ok, nonce = self.transaction_age_ok(message)
        if not age_ok:
            return self._dropped(vtx, "BlockhashNotFound")
        self.prepare_sysvars(message)
        loaded = self.loaded_addresses(vtx)
        keys = [*message.account_keys, *loaded[0], *loaded[1]]
        pre = [self.svm.get_account(k) for k in keys]
        # over its loaded-data limit it fails while loading, fee-only (SIMD-0186, SIMD-0082)
        too_large = self.loaded_data_size(vtx, keys) > loaded_accounts_data_size_limit(message)
        processor = self._processor(vtx) if not too_large else None
        failure = self._guard(vtx) if processor is None and not too_large else None
        hosted: HostedResult | None = None
        inner: InnerGroups = ()
        if processor is not None:
            hosted = processor.execute(vtx, commit=True, sig_verify=self.sigverify)
            if hosted.dropped is not None:
                return self._dropped(vtx, hosted.dropped)
            err = hosted.err
            inner = hosted.inner_instructions
        elif failure is None and not too_large:
            result = self.svm.send_transaction(vtx)
            if isinstance(result, FailedTransactionMetadata):
                err = transaction_error_to_json(result.err())
                meta = result.meta()
                fee_only = isinstance(err, str) and err in FEE_ONLY_ERRORS
                if fee_only and not self._charge_fee(keys[0], meta.fee()):
                    return self._dropped(vtx, "InsufficientFundsForFee")
            else:
                err, meta = None, result
            inner = inner_groups(meta.inner_instructions())
        else:
            sim = self.svm.simulate_transaction(vtx)
            meta = sim.meta()
            if isinstance(sim, FailedTransactionMetadata) and "InstructionError" not in str(
                transaction_error_to_json(sim.err())
            ):
                return self._dropped(vtx, transaction_error_to_json(sim.err()))
            if not self._charge_fee(keys[0], meta.fee()):
                return self._dropped(vtx, "InsufficientFundsForFee")
            if failure is not None:
                err = instruction_error_json(failure.instruction_index, failure.custom_code)
            else:
                err = "MaxLoadedAccountsDataSizeExceeded"
        post = [self.svm.get_account(k) for k in keys]
        pre_payer = pre[0].lamports if pre[0] is not None else 0
        post_payer = post[0].lamports if post[0] is not None else 0
        if err is not None and pre_payer == post_payer:
            return self._dropped(vtx, err)  # failed before execution: not landed, no fee
        if nonce is not None:
            self._advance_nonce(nonce)
            post = [self.svm.get_account(k) for k in keys]
        return_data = None
        if hosted is not None:
            logs, units, fee = hosted.logs, hosted.units_consumed, hosted.fee
        elif too_large:
            logs, units, fee = (), 0, meta.fee()
        else:
            logs = tuple(failure.logs) if failure is not None else tuple(meta.logs())
            units, fee = meta.compute_units_consumed(), meta.fee()
            if isinstance(meta, TransactionMetadata) and bytes(meta.return_data().data):
                rd = meta.return_data()
                return_data = (rd.program_id, bytes(rd.data))
        outcome = TxOutcome(
            signature=signature,
            slot=self.slot,
            landed=True,
            err=err,
            logs=logs,
            units_consumed=units,
            fee=fee,
            pre_balances=tuple(a.lamports if a else 0 for a in pre),
            post_balances=tuple(a.lamports if a else 0 for a in post),
            pre_token_balances=self._token_balances(keys, pre),
            post_token_balances=self._token_balances(keys, post),
            return_data=return_data,
            block_time=self.block_time(self.slot),
            transaction=vtx,
            loaded_addresses=(tuple(loaded[0]), tuple(loaded[1])),
            inner_instructions=inner,
        )
        return Executed(outcome, keys, pre, post)

    def _charge_fee(self, payer_key: Pubkey, fee: int) -> bool:
        """Debit a failed transaction's fee from its payer; False when it cannot pay."""
        payer = self.svm.get_account(payer_key)
        if payer is None or payer.lamports < fee:
            return False
        self.svm.set_account(
            payer_key,
            Account(payer.lamports - fee, bytes(payer.data), payer.owner, payer.executable),
        )
        return True

    def _commit(self, executed: Executed) -> None:
        """Record an executed transaction in history and notify subscribers."""
        outcome, keys = executed.outcome, executed.keys
        message = outcome.transaction.message if outcome.transaction is not None else None
        flags = writable_flags(message) if message is not None else []
        flags += [True] * len(outcome.loaded_addresses[0]) + [False] * len(
            outcome.loaded_addresses[1]
        )
        flags += [False] * (len(keys) - len(flags))
        writable = frozenset(k for k, w in zip(keys, flags, strict=True) if w)
        price = compute_unit_price(message) if message is not None else 0
        self.history.add(outcome, cu_price=price, writable=writable)
        self._publish(outcome, keys, executed.pre, executed.post)

    def _publish(
        self,
        outcome: TxOutcome,
        keys: list[Pubkey],
        pre: list[Account | None],
        post: list[Account | None],
    ) -> None:
        for key, before, after in zip(keys, pre, post, strict=True):
            if self._journaling and before != after:
                self.journal.record(outcome.slot, key, before)  # reads at older commitments
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
        nonce: Pubkey | None = None
        if not replace_recent_blockhash:
            age_ok, nonce = self.transaction_age_ok(message)
            if not age_ok:
                return SimOutcome(self.slot, "BlockhashNotFound", (), 0, 0)
        if sig_verify and self.history.get(vtx.signatures[0]) is not None:
            return SimOutcome(self.slot, "AlreadyProcessed", (), 0, 0)
        self.prepare_sysvars(message)
        keys = self.loaded_keys(vtx)
        pre = [self.svm.get_account(k) for k in keys]
        size, limit = self.loaded_data_size(vtx, keys), loaded_accounts_data_size_limit(message)
        processor = self._processor(vtx) if size <= limit else None
        if processor is not None:
            sim = self._simulate_hosted(processor, vtx, keys, pre, sig_verify, replacement)
            return dataclasses.replace(sim, loaded_accounts_data_size=size)
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
            if nonce is not None and nonce in post_accounts:
                post_accounts[nonce] = self._advanced_copy(post_accounts[nonce])
            post = [post_accounts.get(k, a) for k, a in zip(keys, pre, strict=True)]
        logs = tuple(meta.logs())
        failure = self._guard(vtx) if err is None else None
        if failure is not None:
            err = instruction_error_json(failure.instruction_index, failure.custom_code)
            logs, post, post_accounts = tuple(failure.logs), pre, {}
        inner = inner_groups(meta.inner_instructions()) if failure is None else ()
        units = meta.compute_units_consumed()
        return_data = None
        if bytes(meta.return_data().data):
            return_data = (meta.return_data().program_id, bytes(meta.return_data().data))
        if size > limit and (err is None or "InstructionError" in str(err)):
            # fails while loading: nothing ran, the reported size is the limit (SIMD-0186)
            err, logs, post, post_accounts = "MaxLoadedAccountsDataSizeExceeded", (), pre, {}
            inner, units, size, return_data = (), 0, limit, None
        return SimOutcome(
            slot=self.slot,
            err=err,
            logs=logs,
            units_consumed=units,
            fee=meta.fee(),
            pre_balances=tuple(a.lamports if a else 0 for a in pre),
            post_balances=tuple(a.lamports if a else 0 for a in post),
            pre_token_balances=self._token_balances(keys, pre),
            post_token_balances=self._token_balances(keys, post),
            return_data=return_data,
            post_accounts=post_accounts,
            replacement_blockhash=replacement,
            inner_instructions=inner,
            loaded_accounts_data_size=size,
        )

    def _simulate_hosted(
        self,
        processor: TransactionProcessor,
        vtx: VersionedTransaction,
        keys: list[Pubkey],
        pre: list[Account | None],
        sig_verify: bool,
        replacement: tuple[str, int] | None,
    ) -> SimOutcome:
        hosted = processor.execute(vtx, commit=False, sig_verify=sig_verify and self.sigverify)
        if hosted.dropped is not None:
            return SimOutcome(self.slot, hosted.dropped, (), 0, 0)
        post_accounts = hosted.post_accounts if hosted.err is None else {}
        post = [post_accounts.get(k, a) for k, a in zip(keys, pre, strict=True)]
        return SimOutcome(
            slot=self.slot,
            err=hosted.err,
            logs=hosted.logs,
            units_consumed=hosted.units_consumed,
            fee=hosted.fee,
            pre_balances=tuple(a.lamports if a else 0 for a in pre),
            post_balances=tuple(a.lamports if a else 0 for a in post),
            pre_token_balances=self._token_balances(keys, pre),
            post_token_balances=self._token_balances(keys, post),
            post_accounts=post_accounts,
            replacement_blockhash=replacement,
            inner_instructions=hosted.inner_instructions,
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
