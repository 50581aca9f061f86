"""The localnet cluster: LiteSVM with slots, a 150-block blockhash window, history, notifications.

LiteSVM alone keeps only its latest blockhash valid and has no slots, statuses or subscriptions. The
cluster disables LiteSVM's blockhash check and checks the window itself; every slot gets a new
blockhash (`expire_blockhash`), and a transaction is valid while its blockhash was issued at most
150 blocks ago (`lastValidBlockHeight = issued block height + 150`).

Transactions (send, simulate, synthetic records) live in `localnet.execution`.
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
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import structlog
from solders.account import Account
from solders.clock import Clock
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction, VersionedTransaction

from localnet.encoding import TOKEN_PROGRAMS, mint_fields, token_account_kind
from localnet.execution import (
    COMPUTE_BUDGET_PROGRAM,
    BundleResult,
    GuardFailure,
    TransactionExecution,
    TransactionGuard,
    TransactionProcessor,
    as_versioned,
    compute_unit_price,
    with_blockhash,
    writable_flags,
)
from localnet.history import (
    DEFAULT_MAX_TRANSACTIONS,
    FINALITY_DEPTH,
    STATUS_CACHE_SLOTS,
    AccountJournal,
    History,
    SimOutcome,
    TxOutcome,
)
from localnet.pubsub import SubscriptionHub

__all__ = [
    "BLOCKHASH_WINDOW",
    "COMPUTE_BUDGET_PROGRAM",
    "BundleResult",
    "Cluster",
    "GuardFailure",
    "SimOutcome",
    "TransactionGuard",
    "TxOutcome",
    "as_versioned",
    "compute_unit_price",
    "with_blockhash",
    "writable_flags",
]

log = structlog.get_logger(__name__)

BLOCKHASH_WINDOW = 150
GENESIS_SLOT = 1_000
MEMO_PROGRAM = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
AIRDROP_LIMIT = 10**15
DECIMALS_CACHE_SIZE = 4_096
BLOCKS_KEPT = 1_024  # slots whose blockhash getBlock can still name
DEFAULT_STREAM_TICK_MS = 50  # a streaming leader's batch interval inside its slot
SLOT_HASHES_KEPT = 512  # the SlotHashes sysvar's length (MAX_ENTRIES)
ADDRESS_LOOKUP_TABLE_PROGRAM = Pubkey.from_string("AddressLookupTab1e1111111111111111111111111")


class Cluster(TransactionExecution):
    """One LiteSVM bank with mainnet-like slots, blockhashes, statuses, history, notifications."""

    def __init__(
        self,
        *,
        seed: int = 0,
        slot_ms: int | None = 400,
        sigverify: bool = True,
        wall_clock: Callable[[], float] = time.time,
        max_transactions: int = DEFAULT_MAX_TRANSACTIONS,
        status_slots: int = STATUS_CACHE_SLOTS,
        block_building: bool = False,
        stream_tick_ms: int | None = DEFAULT_STREAM_TICK_MS,
    ) -> None:
        """`max_transactions`/`status_slots`: history retention (see `localnet.history`).
        `block_building`: `submit_transaction` (RPC sendTransaction) queues for the leader's next
        batch instead of executing at once (`Localnet` turns it on; a bare cluster is immediate).
        `stream_tick_ms`: with the slot clock running, the leader executes what it received every
        this many ms inside the slot (a streaming leader; see `stream_tick`); `None`/0, or a value
        not below `slot_ms`: one batch per slot, at its top."""
        if stream_tick_ms is not None and (
            isinstance(stream_tick_ms, bool) or not isinstance(stream_tick_ms, int)
        ):
            raise ValueError(
                f"stream_tick_ms must be an integer number of ms, got {stream_tick_ms!r}"
            )
        if stream_tick_ms is not None and stream_tick_ms < 0:
            raise ValueError(f"stream_tick_ms must be >= 0, got {stream_tick_ms}")
        self.seed = seed
        self.slot_ms = slot_ms
        self.stream_tick_ms = stream_tick_ms or None
        self.batches = 0  # leader batches executed (slot tops and stream ticks)
        self.sigverify = sigverify
        self._wall_clock = wall_clock
        # the cluster keeps the blockhash window and deduplicates signatures itself (History), so
        # a bundle rolled back leaves no trace in LiteSVM that would refuse it when resent
        self.svm = (
            LiteSVM()
            .with_blockhash_check(False)
            .with_sigverify(sigverify)
            .with_transaction_history(0)
        )
        self.slot = GENESIS_SLOT
        self.block_height = GENESIS_SLOT
        self.genesis_time = int(wall_clock())
        self._slot_hashes_synced = -1  # the slot the SlotHashes sysvar was last written at
        self._blockhashes: OrderedDict[Hash, int] = OrderedDict()
        self._blockhashes[self.svm.latest_blockhash()] = self.block_height
        self._slot_hashes: OrderedDict[int, Hash] = OrderedDict()
        self._slot_hashes[self.slot] = self.svm.latest_blockhash()
        self._sync_clock()
        self.history = History(max_transactions=max_transactions, keep_slots=status_slots)
        self.journal = AccountJournal()  # older states for confirmed / finalized reads
        self._decimals: dict[Pubkey, int] = {}
        self.hub = SubscriptionHub(self.decimals_of)
        self._guards: list[TransactionGuard] = []
        self._processors: list[TransactionProcessor] = []
        self._slot_listeners: list[Callable[[int], None]] = []
        self.block_building = block_building
        self._pending: list[tuple[int, int, VersionedTransaction]] = []
        self._pending_signatures: set[Signature] = set()
        self._block_hooks: list[Callable[[int], None]] = []
        self._arrivals = itertools.count()
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

    def block_hashes(self, slot: int) -> tuple[Hash, Hash] | None:
        """(blockhash, previousBlockhash) of a produced block still kept, else None."""
        blockhash = self._slot_hashes.get(slot)
        if blockhash is None:
            return None
        return blockhash, self._slot_hashes.get(slot - 1, blockhash)

    def slot_at(self, depth: int) -> int:
        """The slot seen at a commitment depth (`processed` 0, `confirmed` 1, `finalized` 32)."""
        return max(GENESIS_SLOT, self.slot - depth)

    def block_height_at(self, depth: int) -> int:
        return max(GENESIS_SLOT, self.block_height - depth)

    def block_time(self, slot: int) -> int:
        return self.genesis_time + ((slot - GENESIS_SLOT) * (self.slot_ms or 400)) // 1000

    def _sync_clock(self) -> None:
        self.svm.set_clock(Clock(self.slot, self.genesis_time, 0, 0, self.block_time(self.slot)))

    def prepare_sysvars(self, message: Any) -> None:
        """Before a transaction of the Address Lookup Table program: the SlotHashes sysvar lists
        the produced blocks before this slot, newest first (up to 512), so `CreateLookupTable`'s
        `recent_slot` and a deactivated table's cool-down are judged as agave judges them.
        Written at most once a slot, and only when such a transaction comes."""
        if self._slot_hashes_synced == self.slot:
            return
        if ADDRESS_LOOKUP_TABLE_PROGRAM not in message.account_keys:
            return
        entries = [(s, h) for s, h in reversed(self._slot_hashes.items()) if s < self.slot]
        self.svm.set_slot_hashes(entries[:SLOT_HASHES_KEPT])
        self._slot_hashes_synced = self.slot

    def on_slot(self, listener: Callable[[int], None]) -> None:
        """Call `listener(slot)` after every new slot (B's scenario engine, faults, ...)."""
        self._slot_listeners.append(listener)

    def advance_slots(self, n: int = 1) -> None:
        """Produce `n` slots, each with a new blockhash; blockhashes over 150 blocks old expire.

        `self.slot` is the slot whose block the leader is building (the `processed` bank): user
        transactions received since the last batch (`stream_tick`) are executed at the top of
        the next one: each step enters the next slot, runs that batch (`_build_block`: block
        hooks, then the queued transactions by priority), then issues its blockhash; whatever
        arrives during the slot is executed by the next stream tick, inside the same slot."""
        if n < 0:
            raise ValueError("n must be >= 0")
        for _ in range(n):
            self.slot += 1
            self.block_height += 1
            if self._pending or self._block_hooks:
                self._sync_clock()
                self._build_block()
            self.svm.expire_blockhash()
            self._blockhashes[self.svm.latest_blockhash()] = self.block_height
            while len(self._blockhashes) > BLOCKHASH_WINDOW + 1:
                self._blockhashes.popitem(last=False)
            self._slot_hashes[self.slot] = self.svm.latest_blockhash()
            if len(self._slot_hashes) > BLOCKS_KEPT:
                self._slot_hashes.popitem(last=False)
            self.history.prune(self.slot)
            self.journal.prune(self.slot)
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

    def stream_tick(self) -> None:
        """One batch of a streaming leader inside the current slot: block hooks (Jito bundles
        received meanwhile, atomically and in order), then the transactions received since the
        previous batch, by compute-unit price then arrival, all executed now in `self.slot` and
        published as they execute. The slot clock calls it every `stream_tick_ms`; with manual
        slots (`slot_ms=None`) call it to play a batch."""
        if self._pending or self._block_hooks:
            self._build_block()

    async def _tick(self, period: float) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time() + period
        tick = (self.stream_tick_ms or 0) / 1000
        while True:
            if tick and next_at - loop.time() > tick:
                # inside the slot: a streaming batch every `tick`, the slot boundary last
                await asyncio.sleep(tick)
                try:
                    self.stream_tick()
                except Exception:  # a failing batch must not stop the chain
                    log.exception("localnet.stream_tick_failed", slot=self.slot)
                continue
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

    def close_account(self, pubkey: Pubkey) -> bool:
        """Remove an account the way closing does (zero lamports, no data); subscribers see the
        closed state. False when there was nothing to close."""
        if self.svm.get_account(pubkey) is None:
            return False
        self.set_account(pubkey, Account(0, b"", Pubkey.default(), False, 0))
        self._decimals.pop(pubkey, None)
        return True

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
        if len(self._decimals) >= DECIMALS_CACHE_SIZE:
            self._decimals.pop(next(iter(self._decimals)))  # bounded: oldest mint first
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
