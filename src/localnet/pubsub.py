"""The cluster's subscription hub: who wants which notification, at which commitment.

Transports (the WebSocket server in `localnet.rpc.ws`) register a `Sink` per subscription; the hub
calls it with `(method, subscription_id, result)` where `result` is the notification's
`params.result` (already in mainnet's wire shape). Events at commitment `confirmed`/`finalized` are
held back until the cluster is deep enough past the event's slot, as on mainnet.
"""

from __future__ import annotations

import base64
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import base58
from solders.account import Account
from solders.pubkey import Pubkey
from solders.signature import Signature

from localnet.encoding import DecimalsLookup, EncodingError, JsonDict, account_to_rpc

Sink = Callable[[str, int, Any], None]


@dataclass(frozen=True, slots=True)
class Memcmp:
    offset: int
    raw: bytes


@dataclass(frozen=True, slots=True)
class ProgramFilter:
    """`programSubscribe`/`getProgramAccounts` filters: all must match."""

    data_size: int | None = None
    memcmps: tuple[Memcmp, ...] = ()

    def matches(self, data: bytes) -> bool:
        if self.data_size is not None and len(data) != self.data_size:
            return False
        return all(data[m.offset : m.offset + len(m.raw)] == m.raw for m in self.memcmps)


def parse_filters(filters: Any) -> ProgramFilter:
    """Parse the RPC `filters` array; raises ValueError with agave-like messages."""
    if filters is None:
        return ProgramFilter()
    if not isinstance(filters, list):
        raise ValueError("filters must be an array")
    size: int | None = None
    memcmps: list[Memcmp] = []
    for item in filters:
        if not isinstance(item, dict) or len(item) != 1:
            raise ValueError(f"invalid filter {item!r}")
        if "dataSize" in item:
            if not isinstance(item["dataSize"], int) or item["dataSize"] < 0:
                raise ValueError("dataSize must be a non-negative integer")
            size = item["dataSize"]
        elif "memcmp" in item:
            spec = item["memcmp"]
            if not isinstance(spec, dict):
                raise ValueError("memcmp must be an object")
            offset, raw_text = spec.get("offset"), spec.get("bytes")
            if not isinstance(offset, int) or offset < 0 or not isinstance(raw_text, str):
                raise ValueError("memcmp needs an integer offset and a bytes string")
            encoding = spec.get("encoding", "base58")
            if len(raw_text) > 175:
                raise ValueError("Encoded binary (base 58) data should be less than 129 bytes")
            try:
                if encoding == "base58":
                    raw = base58.b58decode(raw_text)
                elif encoding == "base64":
                    raw = base64.b64decode(raw_text, validate=True)
                else:
                    raise ValueError(f"unsupported memcmp encoding {encoding!r}")
            except (ValueError, TypeError) as exc:
                raise ValueError(f"invalid memcmp bytes: {exc}") from exc
            if len(raw) > 128:
                raise ValueError("memcmp bytes must be at most 128 bytes")
            memcmps.append(Memcmp(offset, raw))
        else:
            raise ValueError(f"unsupported filter {item!r}")
    return ProgramFilter(size, tuple(memcmps))


@dataclass(slots=True)
class _Sub:
    id: int
    kind: str
    depth: int
    sink: Sink
    key: Any = None
    encoding: str = "base64"
    filters: ProgramFilter | None = None
    received: bool = False


class SubscriptionHub:
    """Registry of subscriptions plus a queue of notifications waiting for commitment depth."""

    def __init__(self, decimals_of: DecimalsLookup) -> None:
        self._decimals_of = decimals_of
        self._ids = itertools.count(1)
        self._seq = itertools.count()
        self._subs: dict[int, _Sub] = {}
        self._accounts: dict[Pubkey, set[int]] = {}
        self._programs: dict[Pubkey, set[int]] = {}
        self._logs: set[int] = set()
        self._signatures: dict[Signature, set[int]] = {}
        self._slots: set[int] = set()
        self._pending: list[tuple[int, int, int, str, Any]] = []
        self._oneshot: dict[int, _Sub] = {}  # fired signature subs awaiting commitment depth

    def __len__(self) -> int:
        return len(self._subs)

    # -- subscribe / unsubscribe ---------------------------------------------------------------
    def _add(self, sub: _Sub, index: dict[Any, set[int]] | set[int], key: Any = None) -> int:
        self._subs[sub.id] = sub
        if isinstance(index, set):
            index.add(sub.id)
        else:
            index.setdefault(key, set()).add(sub.id)
        return sub.id

    def subscribe_slots(self, sink: Sink) -> int:
        return self._add(_Sub(next(self._ids), "slot", 0, sink), self._slots)

    def subscribe_account(self, pubkey: Pubkey, *, encoding: str, depth: int, sink: Sink) -> int:
        sub = _Sub(next(self._ids), "account", depth, sink, key=pubkey, encoding=encoding)
        return self._add(sub, self._accounts, pubkey)

    def subscribe_program(
        self, program: Pubkey, *, encoding: str, filters: ProgramFilter, depth: int, sink: Sink
    ) -> int:
        sub = _Sub(next(self._ids), "program", depth, sink, program, encoding, filters)
        return self._add(sub, self._programs, program)

    def subscribe_logs(self, mentions: Pubkey | None, *, depth: int, sink: Sink) -> int:
        """`mentions=None` means "all"."""
        return self._add(_Sub(next(self._ids), "logs", depth, sink, key=mentions), self._logs)

    def subscribe_signature(
        self, signature: Signature, *, depth: int, sink: Sink, received: bool = False
    ) -> int:
        sub = _Sub(next(self._ids), "signature", depth, sink, key=signature, received=received)
        return self._add(sub, self._signatures, signature)

    def unsubscribe(self, sub_id: int, kind: str | None = None) -> bool:
        sub = self._subs.get(sub_id) or self._oneshot.get(sub_id)
        if sub is None or (kind is not None and sub.kind != kind):
            return False
        self._oneshot.pop(sub_id, None)
        self._subs.pop(sub_id, None)
        if sub.kind == "slot":
            self._slots.discard(sub_id)
        elif sub.kind == "logs":
            self._logs.discard(sub_id)
        else:
            index = {"account": self._accounts, "program": self._programs}.get(
                sub.kind, self._signatures
            )
            ids = index.get(sub.key)
            if ids is not None:
                ids.discard(sub_id)
                if not ids:
                    del index[sub.key]
        return True

    def drop_sink(self, sink: Sink) -> int:
        """Remove every subscription of one transport (connection closed)."""
        subs = [*self._subs.values(), *self._oneshot.values()]
        ids = [sub.id for sub in subs if sub.sink == sink]  # bound methods: equal, not identical
        for sub_id in ids:
            self.unsubscribe(sub_id)
        return len(ids)

    # -- publish -------------------------------------------------------------------------------
    def _emit(self, sub: _Sub, slot: int, method: str, value: Any) -> None:
        result = {"context": {"slot": slot}, "value": value}
        if sub.depth == 0:
            sub.sink(method, sub.id, result)
        else:
            heapq.heappush(
                self._pending, (slot + sub.depth, next(self._seq), sub.id, method, result)
            )

    def _render(self, sub: _Sub, account: Account) -> JsonDict | None:
        try:
            return account_to_rpc(account, encoding=sub.encoding, decimals_of=self._decimals_of)
        except EncodingError:
            return None

    def publish_account(self, slot: int, pubkey: Pubkey, account: Account) -> None:
        for sub_id in tuple(self._accounts.get(pubkey, ())):
            sub = self._subs[sub_id]
            rendered = self._render(sub, account)
            if rendered is not None:
                self._emit(sub, slot, "accountNotification", rendered)
        program_subs = self._programs.get(account.owner)
        if not program_subs:
            return
        data = bytes(account.data)
        for sub_id in tuple(program_subs):
            sub = self._subs[sub_id]
            if sub.filters is not None and not sub.filters.matches(data):
                continue
            rendered = self._render(sub, account)
            if rendered is not None:
                value = {"pubkey": str(pubkey), "account": rendered}
                self._emit(sub, slot, "programNotification", value)

    def publish_logs(
        self, slot: int, signature: Signature, err: Any, logs: list[str], mentions: set[Pubkey]
    ) -> None:
        value = {"signature": str(signature), "err": err, "logs": logs}
        for sub_id in tuple(self._logs):
            sub = self._subs[sub_id]
            if sub.key is None or sub.key in mentions:
                self._emit(sub, slot, "logsNotification", value)

    def publish_signature(self, slot: int, signature: Signature, err: Any) -> None:
        for sub_id in tuple(self._signatures.get(signature, ())):
            sub = self._subs[sub_id]
            if sub.received:
                sub.sink(
                    "signatureNotification",
                    sub.id,
                    {"context": {"slot": slot}, "value": "receivedSignature"},
                )
            self._emit(sub, slot, "signatureNotification", {"err": err})
            self._retire(sub)

    def _retire(self, sub: _Sub) -> None:
        """One-shot: no longer matchable, but a notification waiting for depth still reaches it."""
        self.unsubscribe(sub.id)
        if sub.depth > 0:
            self._oneshot[sub.id] = sub

    def deliver_existing_signature(
        self, sub_id: int, tx_slot: int, current_slot: int, err: Any
    ) -> None:
        """A signature subscribed after it landed: notify now or when it reaches the commitment."""
        sub = self._subs.get(sub_id)
        if sub is None:
            return
        self._retire(sub)
        result = {"context": {"slot": tx_slot}, "value": {"err": err}}
        due = tx_slot + sub.depth
        if due <= current_slot:
            self._oneshot.pop(sub.id, None)
            sub.sink("signatureNotification", sub.id, result)
        else:
            entry = (due, next(self._seq), sub.id, "signatureNotification", result)
            heapq.heappush(self._pending, entry)

    def on_slot(self, slot: int, parent: int, root: int) -> None:
        """Called by the cluster for every new slot: slot notifications, then due deep ones."""
        for sub_id in tuple(self._slots):
            sub = self._subs[sub_id]
            sub.sink("slotNotification", sub_id, {"parent": parent, "root": root, "slot": slot})
        while self._pending and self._pending[0][0] <= slot:
            _, _, sub_id, method, result = heapq.heappop(self._pending)
            target = self._subs.get(sub_id) or self._oneshot.pop(sub_id, None)
            if target is not None:
                target.sink(method, sub_id, result)
