"""The block engine's state: bundles received, landed at the top of the next block, statuses.

A bundle is up to 5 signed transactions executed in order and atomically (`Cluster.execute_bundle`):
all land in one block or none does (no fee either). What `sendBundle` refuses at once (HTTP 400,
`-32602`, Jito's messages): more than 5 transactions or none, one that does not decode, a bad
signature, a transaction already landed, no tip account write-locked. What it accepts and then
fails in the block (status `Failed`): a transaction that fails, a tip below the floor (the tip is
measured as the lamports the tip accounts gained over the whole bundle, so CPI tips count). What
it accepts and then drops before execution (status `Invalid`, like Jito's expired blockhash or
unfunded payer): a transaction the leader would drop.

Bundles are executed at the top of the leader's next batch (`Cluster.stream_tick` inside the
slot, or the top of the next slot's block), before that batch's ordinary transactions, highest
(static) tip first, ties by arrival; each one atomically and in order, so a bundle never
interleaves with anything else.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from solders.account import Account
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from localnet.cluster import Cluster, writable_flags
from localnet.history import confirmation_status

log = structlog.get_logger(__name__)

# Jito's mainnet tip accounts (getTipAccounts on mainnet.block-engine.jito.wtf)
TIP_ACCOUNTS: tuple[Pubkey, ...] = tuple(
    Pubkey.from_string(key)
    for key in (
        "96gYZGLnJYVFmbjzopPSU6QiEV5fGqZNyN9nmNhvrZU5",
        "HFqU5x63VTqvQss8hp11i4wVV8bD44PvwucfZ2bU7gRe",
        "Cw8CFyM9FkoMi7K7Crf6HNQqf4uEMzpKw6QNghXLvLkY",
        "ADaUMid9yfUytqMBgopwjb2DTLSokTSzL1zt6iGPaS49",
        "DfXygSm4jCyNCybVYYK6DwvWqjKee8pbDmJGcLWNDXjh",
        "ADuUkR4vqLUMWXxW9gh6D6L8pMSawimctcNZ5pGwDcEt",
        "DttWaMuVvTiduZRnguLF7jNxTgiMBZ1hyAumKUiL2KRL",
        "3AVi9Tg9Uo68tJfuvoKvqKNWKkC5wPdSSdeBnizKZ6jT",
    )
)
DEFAULT_TIP_FLOOR = 1_000  # lamports: Jito's minimum tip
MAX_BUNDLE_TRANSACTIONS = 5
MAX_STATUS_IDS = 5
RETENTION_SLOTS = 750  # getInflightBundleStatuses looks back five minutes (750 slots of 400 ms)
MAX_BUNDLES_KEPT = 20_000
TIP_SAMPLES = 1_000  # landed tips the tip floor percentiles are computed over
EMA_ALPHA = 0.1
TIP_ACCOUNT_BALANCE = 10_000_000  # the tip accounts exist (rent-exempt) like on mainnet
SYSTEM_PROGRAM = Pubkey.default()
INVALID_PARAMS = -32602

PENDING, LANDED, FAILED, INVALID = "Pending", "Landed", "Failed", "Invalid"


class JitoError(Exception):
    """A refusal with Jito's JSON-RPC shape: HTTP `status`, `{"code", "message", "data": null}`."""

    def __init__(self, message: str, code: int = INVALID_PARAMS, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.code, self.status = message, code, status

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": None}


def bundle_id(transactions: Sequence[VersionedTransaction]) -> str:
    """Jito's bundle id: SHA-256 (hex) of the first signatures joined by commas, in order."""
    joined = ",".join(str(tx.signatures[0]) for tx in transactions)
    return hashlib.sha256(joined.encode()).hexdigest()


def static_tip(tx: VersionedTransaction) -> int:
    """Lamports the top-level System transfers of `tx` send to tip accounts (for ordering)."""
    message = tx.message
    keys = list(message.account_keys)
    total = 0
    for ix in message.instructions:
        if keys[ix.program_id_index] != SYSTEM_PROGRAM:
            continue
        data = bytes(ix.data)
        accounts = list(ix.accounts)
        is_transfer = len(data) == 12 and data[:4] == b"\x02\x00\x00\x00" and len(accounts) >= 2
        if is_transfer and keys[accounts[1]] in TIP_ACCOUNTS:
            total += int.from_bytes(data[4:12], "little")
    return total


@dataclass(slots=True)
class BundleRecord:
    bundle_id: str
    transactions: tuple[VersionedTransaction, ...]
    received_slot: int
    arrival: int
    static_tip: int
    status: str = PENDING
    landed_slot: int | None = None
    tip: int = 0
    err: Any = None
    failed_index: int | None = None
    engines: set[str] = field(default_factory=set)  # the block engines it arrived through

    @property
    def signatures(self) -> list[str]:
        return [str(tx.signatures[0]) for tx in self.transactions]


class BlockEngine:
    """Receives bundles, lands them at the top of the leader's next batch, answers statuses."""

    def __init__(
        self,
        cluster: Cluster,
        *,
        tip_floor: int = DEFAULT_TIP_FLOOR,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.cluster = cluster
        self.tip_floor = tip_floor
        self._wall_clock = wall_clock
        self._queue: list[BundleRecord] = []
        self._bundles: OrderedDict[str, BundleRecord] = OrderedDict()
        self._arrivals = itertools.count()
        self._tips: deque[int] = deque(maxlen=TIP_SAMPLES)
        self._ema: float | None = None
        self.counts = {LANDED: 0, FAILED: 0, INVALID: 0}  # bundles that ended so, so far
        for account in TIP_ACCOUNTS:
            if cluster.get_account(account) is None:
                cluster.set_account(account, Account(TIP_ACCOUNT_BALANCE, b"", SYSTEM_PROGRAM))
        cluster.add_block_hook(self._land)

    # -- tip floor -------------------------------------------------------------------------------
    def set_tip_floor(self, lamports: int) -> None:
        if not isinstance(lamports, int) or isinstance(lamports, bool) or lamports < 0:
            raise ValueError("the tip floor must be an integer number of lamports >= 0")
        self.tip_floor = lamports

    def tip_floor_report(self) -> list[dict[str, Any]]:
        """`GET /api/v1/bundles/tip_floor`: percentiles of landed tips, in SOL (the floor when
        nothing landed yet)."""
        tips = sorted(self._tips) or [self.tip_floor]

        def percentile(p: int) -> float:
            rank = max(0, min(len(tips) - 1, -(-p * len(tips) // 100) - 1))
            return tips[rank] / 1e9

        ema = self._ema if self._ema is not None else float(self.tip_floor)
        now = datetime.fromtimestamp(self._wall_clock(), UTC).replace(second=0, microsecond=0)
        return [
            {
                "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "landed_tips_25th_percentile": percentile(25),
                "landed_tips_50th_percentile": percentile(50),
                "landed_tips_75th_percentile": percentile(75),
                "landed_tips_95th_percentile": percentile(95),
                "landed_tips_99th_percentile": percentile(99),
                "ema_landed_tips_50th_percentile": ema / 1e9,
            }
        ]

    # -- intake ----------------------------------------------------------------------------------
    def send_bundle(self, transactions: Sequence[VersionedTransaction], via: str = "jito") -> str:
        """Validate like Jito's ingress and queue for the next block; returns the bundle id.

        Every block engine (`via`: its name) feeds this one auction, as Jito's regional engines
        feed the same leader: the same bundle arriving through several of them, or again, while
        pending or after it landed, is one bundle and lands once."""
        if transactions:
            known = self._bundles.get(bundle_id(transactions))
            if known is not None and known.status in (PENDING, LANDED):
                known.engines.add(via)
                return known.bundle_id
        if not transactions:
            raise JitoError("bundle must contain at least one transaction")
        if len(transactions) > MAX_BUNDLE_TRANSACTIONS:
            raise JitoError(
                f"exceeded maximum number of transactions: {len(transactions)} > "
                f"{MAX_BUNDLE_TRANSACTIONS}"
            )
        seen: set[Any] = set()
        for tx in transactions:
            signature = tx.signatures[0]
            if self.cluster.sigverify and not all(tx.verify_with_results()):
                raise JitoError(f"transaction {signature} is invalid")
            if signature in seen:
                raise JitoError("bundle contains duplicate transactions")
            seen.add(signature)
            if self.cluster.history.get(signature) is not None:
                raise JitoError("bundle contains an already processed transaction")
        if not any(self._locks_tip_account(tx) for tx in transactions):
            raise JitoError(
                "Bundles must write lock at least one tip account to be eligible for the auction."
            )
        identifier = bundle_id(transactions)
        record = BundleRecord(
            identifier,
            tuple(transactions),
            self.cluster.slot,
            next(self._arrivals),
            sum(static_tip(tx) for tx in transactions),
            engines={via},
        )
        self._bundles[identifier] = record
        self._bundles.move_to_end(identifier)
        self._queue.append(record)
        return identifier

    def _locks_tip_account(self, tx: VersionedTransaction) -> bool:
        keys = self.cluster.loaded_keys(tx)
        flags = writable_flags(tx.message)
        static = zip(keys, flags, strict=False)  # lookup-table keys do not count (Jito's rule)
        return any(writable and key in TIP_ACCOUNTS for key, writable in static)

    # -- the block -------------------------------------------------------------------------------
    def _land(self, slot: int) -> None:
        """Block hook: execute the queued bundles at the top of this batch of block `slot`."""
        queue, self._queue = self._queue, []
        queue.sort(key=lambda r: (-r.static_tip, r.arrival))
        for record in queue:
            result = self.cluster.execute_bundle(record.transactions, self._tip_check(record))
            if result.landed:
                record.status, record.landed_slot = LANDED, slot
                self._tips.append(record.tip)
                self._ema = (
                    float(record.tip)
                    if self._ema is None
                    else EMA_ALPHA * record.tip + (1 - EMA_ALPHA) * self._ema
                )
            else:
                record.status = INVALID if result.dropped else FAILED
                record.err, record.failed_index = result.err, result.failed_index
            self.counts[record.status] += 1
            log.debug("localnet.jito_bundle", bundle_id=record.bundle_id, status=record.status)
        self._prune(slot)

    def _tip_check(self, record: BundleRecord) -> Callable[[Mapping[Pubkey, Account | None]], Any]:
        def check(before: Mapping[Pubkey, Account | None]) -> Any:
            gained = 0
            for key in TIP_ACCOUNTS:
                if key not in before:
                    continue
                old = before[key]
                gained += self.cluster.get_balance(key) - (old.lamports if old else 0)
            record.tip = gained
            if gained < self.tip_floor:
                return f"tip of {gained} lamports is below the tip floor of {self.tip_floor}"
            return None

        return check

    def _prune(self, slot: int) -> None:
        oldest = slot - RETENTION_SLOTS
        while self._bundles:
            first = next(iter(self._bundles.values()))
            too_many = len(self._bundles) > MAX_BUNDLES_KEPT
            if first.status == PENDING or (first.received_slot >= oldest and not too_many):
                break
            self._bundles.popitem(last=False)

    # -- statuses --------------------------------------------------------------------------------
    @staticmethod
    def _ids(ids: Any) -> list[str]:
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise JitoError("params must be an array of bundle ids")
        if not ids:
            raise JitoError("bundle ids must not be empty")
        if len(ids) > MAX_STATUS_IDS:
            raise JitoError(f"exceeded maximum number of bundle ids: {len(ids)} > {MAX_STATUS_IDS}")
        return ids

    def bundle_statuses(self, ids: Any) -> dict[str, Any]:
        """`getBundleStatuses`: landed bundles, null for the others."""
        value: list[dict[str, Any] | None] = []
        for identifier in self._ids(ids):
            record = self._bundles.get(identifier)
            if record is None or record.status != LANDED or record.landed_slot is None:
                value.append(None)
                continue
            value.append(
                {
                    "bundle_id": identifier,
                    "transactions": record.signatures,
                    "slot": record.landed_slot,
                    "confirmation_status": confirmation_status(
                        record.landed_slot, self.cluster.slot
                    ),
                    "err": {"Ok": None},
                }
            )
        return {"context": {"slot": self.cluster.slot}, "value": value}

    def inflight_bundle_statuses(self, ids: Any) -> dict[str, Any]:
        """`getInflightBundleStatuses`: Pending / Landed / Failed / Invalid (unknown or dropped)."""
        value = []
        for identifier in self._ids(ids):
            record = self._bundles.get(identifier)
            status = INVALID if record is None else record.status
            landed = record.landed_slot if record is not None and status == LANDED else None
            value.append({"bundle_id": identifier, "status": status, "landed_slot": landed})
        return {"context": {"slot": self.cluster.slot}, "value": value}

    def record(self, identifier: str) -> BundleRecord | None:
        return self._bundles.get(identifier)

    def stats(self) -> dict[str, Any]:
        return {
            "tip_floor": self.tip_floor,
            "pending": len(self._queue),
            "bundles": dict(self.counts),
            "kept": len(self._bundles),
        }
