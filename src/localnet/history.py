"""Transaction history, signature statuses and prioritization fees of the localnet cluster.

Commitment is modelled by depth: a transaction landed in slot `s` is `processed` at once,
`confirmed` when the cluster reaches slot `s + CONFIRMATION_DEPTH` and `finalized` at
`s + FINALITY_DEPTH`.

Retention is bounded like a real RPC node's: the oldest transactions (and with them their
signature statuses) are forgotten once more than `max_transactions` are held, but never one that
landed within the last `keep_slots` slots (default 300, agave's status-cache span; at least the
151 slots in which its blockhash can still be valid, so a resend of a forgotten transaction is
refused as `BlockhashNotFound` rather than executed twice).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from localnet.encoding import JsonDict, ui_token_amount

CONFIRMATION_DEPTH = 1
FINALITY_DEPTH = 32
PRIORITIZATION_FEE_SLOTS = 150
DEFAULT_MAX_TRANSACTIONS = 10_000
STATUS_CACHE_SLOTS = 300
MIN_KEEP_SLOTS = 151  # a blockhash is valid for 150 blocks after the one it was issued in
COMMITMENT_DEPTH = {"processed": 0, "confirmed": CONFIRMATION_DEPTH, "finalized": FINALITY_DEPTH}


def commitment_depth(commitment: str | None) -> int:
    """Depth for a commitment name (`None` = mainnet's default, `finalized`)."""
    if commitment is None:
        return FINALITY_DEPTH
    # Deprecated aliases still accepted by agave.
    alias = {
        "recent": "processed",
        "single": "confirmed",
        "singleGossip": "confirmed",
        "root": "finalized",
        "max": "finalized",
    }.get(commitment, commitment)
    if alias not in COMMITMENT_DEPTH:
        raise ValueError(f"unknown commitment {commitment!r}")
    return COMMITMENT_DEPTH[alias]


@dataclass(frozen=True, slots=True)
class TokenBalance:
    """One `preTokenBalances`/`postTokenBalances` entry."""

    account_index: int
    mint: Pubkey
    owner: Pubkey
    program_id: Pubkey
    amount: int
    decimals: int

    def to_rpc(self) -> JsonDict:
        return {
            "accountIndex": self.account_index,
            "mint": str(self.mint),
            "owner": str(self.owner),
            "programId": str(self.program_id),
            "uiTokenAmount": ui_token_amount(self.amount, self.decimals),
        }


@dataclass(frozen=True, slots=True)
class InnerInstruction:
    """One CPI as agave records it: indexes into the transaction's account keys (static keys,
    then lookup-table addresses), its data and its invocation stack height (2 = called by an
    outer instruction)."""

    program_id_index: int
    accounts: tuple[int, ...]
    data: bytes
    stack_height: int


InnerGroups = tuple[tuple[int, tuple[InnerInstruction, ...]], ...]
"""`(outer instruction index, its CPIs in execution order)`, only outer instructions that made
CPIs, in index order (agave's `innerInstructions`)."""


def inner_groups(per_instruction: Any) -> InnerGroups:
    """LiteSVM's `TransactionMetadata.inner_instructions()` (one list per outer instruction) in
    agave's form: empty lists dropped."""
    out: list[tuple[int, tuple[InnerInstruction, ...]]] = []
    for index, inner in enumerate(per_instruction):
        converted = tuple(
            InnerInstruction(
                int(ix.instruction().program_id_index),
                tuple(bytes(ix.instruction().accounts)),
                bytes(ix.instruction().data),
                int(ix.stack_height() or 2),
            )
            for ix in inner
        )
        if converted:
            out.append((index, converted))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class TxOutcome:
    """What `Cluster.send_transaction` did with a transaction.

    `landed` is False when the transaction was dropped before execution (bad blockhash, signature,
    fee payer): like mainnet, it is then not in history and its status stays unknown. `err` is the
    serde JSON form (`{"InstructionError":[1,{"Custom":6001}]}`) or None.
    """

    signature: Signature
    slot: int
    landed: bool
    err: Any
    logs: tuple[str, ...]
    units_consumed: int
    fee: int
    pre_balances: tuple[int, ...] = ()
    post_balances: tuple[int, ...] = ()
    pre_token_balances: tuple[TokenBalance, ...] = ()
    post_token_balances: tuple[TokenBalance, ...] = ()
    return_data: tuple[Pubkey, bytes] | None = None
    block_time: int = 0
    transaction: VersionedTransaction | None = field(default=None, repr=False, compare=False)
    inner_instructions: InnerGroups = ()
    # (writable, readonly) addresses its v0 message loaded from lookup tables, as they were then
    loaded_addresses: tuple[tuple[Pubkey, ...], tuple[Pubkey, ...]] = ((), ())

    @property
    def ok(self) -> bool:
        return self.landed and self.err is None


@dataclass(frozen=True, slots=True)
class SimOutcome:
    """What `Cluster.simulate_transaction` found; nothing changed on the cluster."""

    slot: int
    err: Any
    logs: tuple[str, ...]
    units_consumed: int
    fee: int
    pre_balances: tuple[int, ...] = ()
    post_balances: tuple[int, ...] = ()
    pre_token_balances: tuple[TokenBalance, ...] = ()
    post_token_balances: tuple[TokenBalance, ...] = ()
    return_data: tuple[Pubkey, bytes] | None = None
    post_accounts: dict[Pubkey, Any] = field(default_factory=dict)
    replacement_blockhash: tuple[str, int] | None = None
    inner_instructions: InnerGroups = ()
    loaded_accounts_data_size: int = 0


def confirmation_status(tx_slot: int, current_slot: int) -> str:
    age = current_slot - tx_slot
    if age >= FINALITY_DEPTH:
        return "finalized"
    if age >= CONFIRMATION_DEPTH:
        return "confirmed"
    return "processed"


class History:
    """Landed transactions by signature (bounded, oldest forgotten first) and per-slot
    prioritization fees (last 150 slots)."""

    def __init__(
        self,
        *,
        max_transactions: int = DEFAULT_MAX_TRANSACTIONS,
        keep_slots: int = STATUS_CACHE_SLOTS,
    ) -> None:
        if max_transactions < 1:
            raise ValueError("max_transactions must be at least 1")
        if keep_slots < MIN_KEEP_SLOTS:
            raise ValueError(
                f"keep_slots must be at least {MIN_KEEP_SLOTS} (the blockhash window), "
                f"got {keep_slots}"
            )
        self.max_transactions = max_transactions
        self.keep_slots = keep_slots
        self.evicted = 0
        self._by_signature: dict[Signature, TxOutcome] = {}
        self._order: deque[tuple[int, Signature]] = deque()
        self._fees: deque[tuple[int, int, frozenset[Pubkey]]] = deque()
        # getSignaturesForAddress: per account key, its signatures oldest first (as landed)
        self._by_address: dict[Pubkey, deque[Signature]] = {}
        self.transaction_count = 0  # every transaction ever landed (getTransactionCount)
        self._count_by_slot: deque[tuple[int, int]] = deque()  # recent slots' counts

    def __len__(self) -> int:
        return len(self._by_signature)

    def get(self, signature: Signature) -> TxOutcome | None:
        return self._by_signature.get(signature)

    def add(self, outcome: TxOutcome, *, cu_price: int, writable: frozenset[Pubkey]) -> None:
        if outcome.signature not in self._by_signature:
            self._order.append((outcome.slot, outcome.signature))
            for key in _account_keys(outcome):
                self._by_address.setdefault(key, deque()).append(outcome.signature)
            self.transaction_count += 1
            if self._count_by_slot and self._count_by_slot[-1][0] == outcome.slot:
                self._count_by_slot[-1] = (outcome.slot, self._count_by_slot[-1][1] + 1)
            else:
                self._count_by_slot.append((outcome.slot, 1))
        self._by_signature[outcome.signature] = outcome
        self._fees.append((outcome.slot, cu_price, writable))
        self._evict(outcome.slot)

    def block(self, slot: int) -> list[TxOutcome]:
        """The transactions held that landed in `slot`, in the order they executed."""
        out: list[TxOutcome] = []
        for landed_slot, signature in reversed(self._order):
            if landed_slot < slot:
                break
            outcome = self._by_signature.get(signature) if landed_slot == slot else None
            if outcome is not None:
                out.append(outcome)
        out.reverse()
        return out

    def prune(self, current_slot: int) -> None:
        """Once per slot: drop fees older than 150 slots and transactions over the limit."""
        oldest = current_slot - PRIORITIZATION_FEE_SLOTS
        while self._fees and self._fees[0][0] <= oldest:
            self._fees.popleft()
        while self._count_by_slot and self._count_by_slot[0][0] < current_slot - FINALITY_DEPTH:
            self._count_by_slot.popleft()
        self._evict(current_slot)

    def transaction_count_at(self, slot: int) -> int:
        """Transactions landed up to and including `slot` (a recent slot: the last 32 are kept)."""
        return self.transaction_count - sum(n for s, n in self._count_by_slot if s > slot)

    def signatures_for_address(
        self,
        address: Pubkey,
        *,
        max_slot: int,
        limit: int,
        before: Signature | None = None,
        until: Signature | None = None,
    ) -> list[TxOutcome]:
        """Transactions that loaded `address`, newest first (reverse execution order within a
        slot), landed at or below `max_slot`: strictly older than `before` (nothing when `before`
        is unknown, as agave) and stopping at `until` (excluded)."""
        signatures = self._by_address.get(address)
        if not signatures or (before is not None and before not in self._by_signature):
            return []
        out: list[TxOutcome] = []
        started = before is None
        for signature in reversed(signatures):
            if not started:
                started = signature == before
                continue
            if signature == until or len(out) >= limit:
                break
            outcome = self._by_signature[signature]
            if outcome.slot <= max_slot:
                out.append(outcome)
        return out

    def _evict(self, current_slot: int) -> None:
        protected_from = current_slot - self.keep_slots
        while len(self._order) > self.max_transactions and self._order[0][0] < protected_from:
            _, signature = self._order.popleft()
            outcome = self._by_signature.pop(signature)
            for key in _account_keys(outcome):
                held = self._by_address.get(key)
                if held and held[0] == signature:  # the oldest overall is the oldest of each key
                    held.popleft()
                    if not held:
                        del self._by_address[key]
            self.evicted += 1

    def status_json(
        self, signature: Signature, current_slot: int, *, search_history: bool = True
    ) -> JsonDict | None:
        """A `getSignatureStatuses` entry, or None when unknown. Without `search_history` only
        the status cache answers: a transaction landed more than 300 slots ago is forgotten."""
        outcome = self._by_signature.get(signature)
        if outcome is None:
            return None
        if not search_history and outcome.slot < current_slot - STATUS_CACHE_SLOTS:
            return None
        status = confirmation_status(outcome.slot, current_slot)
        return {
            "slot": outcome.slot,
            "confirmations": None if status == "finalized" else current_slot - outcome.slot,
            "err": outcome.err,
            "status": {"Ok": None} if outcome.err is None else {"Err": outcome.err},
            "confirmationStatus": status,
        }

    def recent_fees(self, first_slot: int) -> list[tuple[int, int, frozenset[Pubkey]]]:
        """(slot, compute-unit price, writable keys) of each transaction landed since
        `first_slot` (the last 150 slots are kept)."""
        return [fee for fee in self._fees if fee[0] >= first_slot]

    def prioritization_fees(self, current_slot: int, accounts: list[Pubkey]) -> list[JsonDict]:
        """`getRecentPrioritizationFees`: per recent slot, the minimum fee of landed transactions
        (restricted to those writing one of `accounts` when given), 0 for empty slots."""
        first = max(0, current_slot - PRIORITIZATION_FEE_SLOTS + 1)
        wanted = set(accounts)
        minimum: dict[int, int] = {}
        for slot, price, writable in self._fees:
            if wanted and not (wanted & writable):
                continue
            minimum[slot] = min(price, minimum.get(slot, price))
        return [
            {"slot": slot, "prioritizationFee": minimum.get(slot, 0)}
            for slot in range(first, current_slot + 1)
        ]


class AccountJournal:
    """What accounts were before they changed, per slot, for the last `FINALITY_DEPTH` slots:
    what lets reads at `confirmed` / `finalized` answer from that commitment's bank (the state
    at the end of an older slot) while the bank itself only holds the newest state."""

    def __init__(self) -> None:
        # (slot, {key: the account before its first change in that slot, None = absent})
        self._slots: deque[tuple[int, dict[Pubkey, Account | None]]] = deque()

    def record(self, slot: int, key: Pubkey, before: Account | None) -> None:
        """`key` is about to change (or just changed) in `slot`; `before` is its prior state."""
        if not self._slots or self._slots[-1][0] != slot:
            self._slots.append((slot, {}))
        self._slots[-1][1].setdefault(key, before)

    def prune(self, current_slot: int) -> None:
        """Forget changes no commitment can see behind any more (older than finalized)."""
        while self._slots and self._slots[0][0] <= current_slot - FINALITY_DEPTH:
            self._slots.popleft()

    def changed_after(self, slot: int) -> dict[Pubkey, Account | None]:
        """Every key changed in a slot after `slot`, with its state at the end of `slot`."""
        out: dict[Pubkey, Account | None] = {}
        for changed_slot, befores in self._slots:
            if changed_slot <= slot:
                continue
            for key, before in befores.items():
                out.setdefault(key, before)
        return out

    def state_at(self, key: Pubkey, slot: int, current: Account | None) -> Account | None:
        """`key` as it was at the end of `slot`, given its state now."""
        for changed_slot, befores in self._slots:
            if changed_slot > slot and key in befores:
                return befores[key]
        return current


def _account_keys(outcome: TxOutcome) -> tuple[Pubkey, ...]:
    tx = outcome.transaction
    return () if tx is None else tuple(dict.fromkeys(tx.message.account_keys))
