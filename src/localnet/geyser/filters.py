"""A `SubscribeRequest` compiled into matchers, with Yellowstone's semantics.

- accounts: a filter matches an account when every criterion it names holds: `account` (the
  pubkey is listed), `owner` (the owner is listed), each of `filters` (memcmp, datasize,
  lamports, token_account_state), `nonempty_txn_signature`. A filter naming nothing matches all.
- transactions / transactions_status: `vote`, `failed`, `signature` when set must equal;
  `account_include` (any key listed), `account_exclude` (no key listed), `account_required`
  (every listed key present), over static keys plus loaded addresses.
- slots: every status update; `filter_by_commitment` only the request's commitment;
  `interslot_updates` also CREATED_BANK/COMPLETED.
- blocks, entry: localnet does not build them: a request naming them is refused. blocks_meta works.
Bad input raises `FilterError` (the server answers INVALID_ARGUMENT with its text).
"""

from __future__ import annotations

import base64
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

import base58
from solders.pubkey import Pubkey

from localnet.history import CONFIRMATION_DEPTH, FINALITY_DEPTH
from yellowstone_proto import geyser_pb2 as pb

MAX_FILTERS = 32  # per kind
MAX_KEYS = 10_000  # per list of one filter
MAX_MEMCMP = 128  # bytes
SPL_TOKEN_ACCOUNT_SIZE = 165
DEPTH: dict[int, int] = {
    pb.PROCESSED: 0,
    pb.CONFIRMED: CONFIRMATION_DEPTH,
    pb.FINALIZED: FINALITY_DEPTH,
}
SLOT_STATUS_OF: dict[int, int] = {pb.PROCESSED: pb.SLOT_PROCESSED, pb.CONFIRMED: pb.SLOT_CONFIRMED,
                  pb.FINALIZED: pb.SLOT_FINALIZED}  # fmt: skip


class FilterError(ValueError):
    """A SubscribeRequest this server refuses (INVALID_ARGUMENT)."""


def _pubkeys(values: object, what: str) -> frozenset[Pubkey]:
    items = list(values)  # type: ignore[call-overload]
    if len(items) > MAX_KEYS:
        raise FilterError(f"{what}: at most {MAX_KEYS} pubkeys, got {len(items)}")
    out = set()
    for item in items:
        try:
            out.add(Pubkey.from_string(item))
        except ValueError as exc:
            raise FilterError(f"{what}: invalid pubkey {item!r}: {exc}") from exc
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class AccountFilter:
    accounts: frozenset[Pubkey]
    owners: frozenset[Pubkey]
    datasize: int | None = None
    memcmps: tuple[tuple[int, bytes], ...] = ()
    lamports: tuple[str, int] | None = None
    token_account_state: bool = False
    nonempty_txn_signature: bool | None = None

    def matches(self, info: pb.SubscribeUpdateAccountInfo) -> bool:
        if self.accounts and Pubkey.from_bytes(info.pubkey) not in self.accounts:
            return False
        if self.owners and Pubkey.from_bytes(info.owner) not in self.owners:
            return False
        data = info.data
        if self.datasize is not None and len(data) != self.datasize:
            return False
        if any(data[o : o + len(raw)] != raw for o, raw in self.memcmps):
            return False
        if self.lamports is not None:
            op, value = self.lamports
            lamports = info.lamports
            ok = {"eq": lamports == value, "ne": lamports != value, "lt": lamports < value,
                  "gt": lamports > value}[op]  # fmt: skip
            if not ok:
                return False
        if self.token_account_state and not (len(data) >= SPL_TOKEN_ACCOUNT_SIZE and data[108]):
            return False  # an initialized (or frozen) token account: state byte at 108
        if self.nonempty_txn_signature is not None:
            return info.HasField("txn_signature") == self.nonempty_txn_signature
        return True


@dataclass(frozen=True, slots=True)
class TransactionFilter:
    vote: bool | None
    failed: bool | None
    signature: bytes | None
    include: frozenset[Pubkey]
    exclude: frozenset[Pubkey]
    required: frozenset[Pubkey]

    def matches(
        self, is_vote: bool, failed: bool, signature: bytes, keys: AbstractSet[Pubkey]
    ) -> bool:
        if self.vote is not None and self.vote != is_vote:
            return False
        if self.failed is not None and self.failed != failed:
            return False
        if self.signature is not None and self.signature != signature:
            return False
        if self.include and not (self.include & keys):
            return False
        if self.exclude and self.exclude & keys:
            return False
        return self.required <= keys


@dataclass(frozen=True, slots=True)
class SlotFilter:
    filter_by_commitment: bool
    interslot_updates: bool


@dataclass(frozen=True, slots=True)
class Filters:
    """What one subscription wants; `depth`: the commitment as cluster depth."""

    commitment: int = pb.PROCESSED
    accounts: dict[str, AccountFilter] = field(default_factory=dict)
    slots: dict[str, SlotFilter] = field(default_factory=dict)
    transactions: dict[str, TransactionFilter] = field(default_factory=dict)
    transactions_status: dict[str, TransactionFilter] = field(default_factory=dict)
    blocks_meta: tuple[str, ...] = ()
    data_slices: tuple[tuple[int, int], ...] = ()

    @property
    def depth(self) -> int:
        return DEPTH[self.commitment]

    def wants_slot(self, status: int) -> list[str]:
        names = []
        for name, f in self.slots.items():
            if status in (pb.SLOT_CREATED_BANK, pb.SLOT_COMPLETED) and not f.interslot_updates:
                continue
            if f.filter_by_commitment and status != SLOT_STATUS_OF[self.commitment]:
                continue
            names.append(name)
        return names

    def slice(self, data: bytes) -> bytes:
        if not self.data_slices:
            return data
        return b"".join(data[o : o + n] for o, n in self.data_slices)


def _memcmp(spec: pb.SubscribeRequestFilterAccountsFilterMemcmp, where: str) -> tuple[int, bytes]:
    kind = spec.WhichOneof("data")
    try:
        if kind == "bytes":
            raw = spec.bytes
        elif kind == "base58":
            if len(spec.base58) > 175:
                raise FilterError(f"{where}: memcmp base58 data too long")
            raw = base58.b58decode(spec.base58)
        elif kind == "base64":
            raw = base64.b64decode(spec.base64, validate=True)
        else:
            raise FilterError(f"{where}: memcmp needs bytes, base58 or base64 data")
    except ValueError as exc:
        if isinstance(exc, FilterError):
            raise
        raise FilterError(f"{where}: invalid memcmp {kind} data: {exc}") from exc
    if len(raw) > MAX_MEMCMP:
        raise FilterError(f"{where}: memcmp data must be at most {MAX_MEMCMP} bytes")
    return spec.offset, raw


def _account_filter(name: str, f: pb.SubscribeRequestFilterAccounts) -> AccountFilter:
    where = f"accounts filter {name!r}"
    datasize: int | None = None
    memcmps: list[tuple[int, bytes]] = []
    lamports: tuple[str, int] | None = None
    token_state = False
    for item in f.filters:
        kind = item.WhichOneof("filter")
        if kind == "memcmp":
            memcmps.append(_memcmp(item.memcmp, where))
        elif kind == "datasize":
            if datasize is not None:
                raise FilterError(f"{where}: datasize given twice")
            datasize = item.datasize
        elif kind == "lamports":
            op = item.lamports.WhichOneof("cmp")
            if op is None:
                raise FilterError(f"{where}: lamports filter needs eq, ne, lt or gt")
            lamports = (op, getattr(item.lamports, op))
        elif kind == "token_account_state":
            token_state = item.token_account_state
        else:
            raise FilterError(f"{where}: empty filter")
    return AccountFilter(
        accounts=_pubkeys(f.account, f"{where} account"),
        owners=_pubkeys(f.owner, f"{where} owner"),
        datasize=datasize,
        memcmps=tuple(memcmps),
        lamports=lamports,
        token_account_state=token_state,
        nonempty_txn_signature=(
            f.nonempty_txn_signature if f.HasField("nonempty_txn_signature") else None
        ),
    )


def _transaction_filter(
    name: str, f: pb.SubscribeRequestFilterTransactions, kind: str
) -> TransactionFilter:
    where = f"{kind} filter {name!r}"
    signature: bytes | None = None
    if f.HasField("signature"):
        try:
            signature = base58.b58decode(f.signature)
        except ValueError as exc:
            raise FilterError(f"{where}: invalid signature {f.signature!r}") from exc
        if len(signature) != 64:
            raise FilterError(f"{where}: signature must be 64 bytes, got {len(signature)}")
    return TransactionFilter(
        vote=f.vote if f.HasField("vote") else None,
        failed=f.failed if f.HasField("failed") else None,
        signature=signature,
        include=_pubkeys(f.account_include, f"{where} account_include"),
        exclude=_pubkeys(f.account_exclude, f"{where} account_exclude"),
        required=_pubkeys(f.account_required, f"{where} account_required"),
    )


def compile_request(request: pb.SubscribeRequest) -> Filters:
    """The filters of one SubscribeRequest (it replaces the subscription's previous ones)."""
    for kind in ("accounts", "slots", "transactions", "transactions_status", "blocks_meta"):
        if len(getattr(request, kind)) > MAX_FILTERS:
            raise FilterError(f"at most {MAX_FILTERS} {kind} filters")
    if len(request.blocks) or len(request.entry):
        raise FilterError("blocks and entry subscriptions are not served by localnet")
    commitment = request.commitment if request.HasField("commitment") else pb.PROCESSED
    if commitment not in DEPTH:
        raise FilterError(f"unknown commitment {commitment}")
    slices: list[tuple[int, int]] = []
    for s in request.accounts_data_slice:
        if slices and s.offset < slices[-1][0] + slices[-1][1]:
            raise FilterError("accounts_data_slice must be sorted and not overlap")
        slices.append((s.offset, s.length))
    return Filters(
        commitment=commitment,
        accounts={n: _account_filter(n, f) for n, f in request.accounts.items()},
        slots={
            n: SlotFilter(f.filter_by_commitment, f.interslot_updates)
            for n, f in request.slots.items()
        },
        transactions={
            n: _transaction_filter(n, f, "transactions") for n, f in request.transactions.items()
        },
        transactions_status={
            n: _transaction_filter(n, f, "transactions_status")
            for n, f in request.transactions_status.items()
        },
        blocks_meta=tuple(request.blocks_meta),
        data_slices=tuple(slices),
    )
