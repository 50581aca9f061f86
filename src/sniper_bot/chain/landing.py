"""One landing lifecycle for everything the bot signs: from stored signed bytes to a final state.

    SIGNED --first send--> SENT --status + getTransaction(meta.err)--> LANDED(ok) | FAILED(err)
                              \\-- the expiry rule says it can never land, and no status --> EXPIRED

The caller stored SIGNED (signature, expiry data, exact bytes) before calling: nothing here is
sent otherwise. Rules, the same for a swap on any venue and a withdrawal:

* Only the given (stored) bytes are ever sent, and resent every ``resend_interval_s``.
* A first send refused by preflight fails the record, except when the transaction exists after all
  (already processed, or a status) or the node does not know its blockhash (it may lag): then only
  the expiry rule decides.
* LANDED or FAILED is decided only from the landed transaction's ``meta.err``.
* EXPIRED only with proof: the ``ExpiryRule`` says the bytes can no longer land (block height past
  lastValidBlockHeight, or the durable nonce advanced) *and* one more look finds no signature.
* An RPC or store error (``TemporaryError``) inside the watch never ends it: the next poll goes on.

What is written, and how (compare-and-set, retries through an outage) is the caller's, through a
``LandingSink``; how bytes reach the network is an injected ``Send`` (the RPC pool today, a relay
fan-out later); how a ``TransactionError`` is explained is an injected ``Classify``.
"""

from __future__ import annotations

import struct
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

import structlog
from solders.account import Account
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from sniper_bot.chain.errors import PreflightFailure
from sniper_bot.chain.types import LandedTransaction, SignatureStatus, TxError
from sniper_bot.domain.orders import OrderError, OrderErrorType
from sniper_bot.errors import TemporaryError
from sniper_bot.solana.programs import SYSTEM_PROGRAM_ID
from sniper_bot.solana.tx_errors import classify_tx_error, is_already_processed

__all__ = [
    "BlockHeightExpiry",
    "Classify",
    "Expired",
    "ExpiryRule",
    "Landing",
    "LandingChain",
    "LandingConfig",
    "LandingSink",
    "NonceExpiry",
    "Phase",
    "Send",
    "SignedTransaction",
    "durable_nonce",
    "rpc_send",
]

log = structlog.get_logger(__name__)

_CONFIRMED = ("confirmed", "finalized")
_NONCE_ACCOUNT_LEN = 80  # versions u32, state u32, authority 32, durable nonce 32, fee u64
_NONCE_INITIALIZED = 1
_NONCE_VERSION_CURRENT = 1  # 0 legacy, 1 current; a later layout is not read as a nonce

R = TypeVar("R")
# Where a record stands for the lifecycle: "signed" (stored, maybe never sent), "sent", "final".
Phase = Literal["signed", "sent", "final"]


class LandingChain(Protocol):
    """The reads the lifecycle makes (``sniper_bot.chain.rpc.SolanaRpc`` satisfies it)."""

    async def get_signature_statuses(
        self, sigs: Sequence[Signature]
    ) -> list[SignatureStatus | None]: ...
    async def get_transaction(self, sig: Signature) -> LandedTransaction | None: ...
    async def get_block_height(self) -> int: ...
    async def get_multiple_accounts(self, pubkeys: Sequence[Pubkey]) -> list[Account | None]: ...


class Send(Protocol):
    """Put the bytes on the wire. ``first``: the first send (it may be simulated by the node);
    a resend is never simulated. Raises ``PreflightFailure`` (refused), ``TemporaryError``
    (unknown whether it reached a leader)."""

    async def __call__(self, tx: VersionedTransaction, *, first: bool) -> object: ...


class _SendingChain(Protocol):
    async def send_transaction(
        self, tx: VersionedTransaction, *, skip_preflight: bool = False, fanout: int = 1
    ) -> Signature: ...


def rpc_send(rpc: _SendingChain, *, preflight: bool, fanout: int) -> Send:
    """``Send`` through the RPC pool: preflight on the first send when ``preflight``, to
    ``fanout`` endpoints."""

    async def send(tx: VersionedTransaction, *, first: bool) -> object:
        skip = not preflight or not first
        return await rpc.send_transaction(tx, skip_preflight=skip, fanout=fanout)

    return send


class Classify(Protocol):
    """A ``TransactionError`` as an ``OrderError`` (``classify_tx_error`` or a venue's)."""

    def __call__(
        self,
        err: TxError,
        *,
        program_ids: Sequence[str],
        logs: Sequence[str],
        stage: Literal["simulation", "onchain"],
    ) -> OrderError: ...


@dataclass(frozen=True, slots=True)
class Expired:
    """Why a record is EXPIRED: the rule that proved it, a sentence and what was checked."""

    rule: Literal["block_height", "nonce"]
    reason: str
    details: dict[str, Any] = field(default_factory=dict)


class ExpiryRule(Protocol):
    """When the signed bytes can never land. ``can_still_land`` is asked while the signature has
    no status; once it says no, ``never_landed`` is the last look before EXPIRED."""

    async def can_still_land(self, chain: LandingChain) -> bool: ...
    async def never_landed(self, chain: LandingChain, sig: Signature) -> bool: ...
    def expired(self, sig: Signature) -> Expired: ...


@dataclass(frozen=True, slots=True)
class BlockHeightExpiry:
    """A recent-blockhash transaction: it can land only while the block height is at most
    ``last_valid_block_height``; after that a null status (the status cache still holds every
    signature of those blocks) proves it never did."""

    last_valid_block_height: int

    async def can_still_land(self, chain: LandingChain) -> bool:
        return await chain.get_block_height() <= self.last_valid_block_height

    async def never_landed(self, chain: LandingChain, sig: Signature) -> bool:
        return (await chain.get_signature_statuses([sig]))[0] is None

    def expired(self, sig: Signature) -> Expired:
        return Expired(
            "block_height",
            "block height passed lastValidBlockHeight and the signature never landed",
            {"signature": str(sig), "last_valid_block_height": self.last_valid_block_height},
        )


@dataclass(frozen=True, slots=True)
class NonceExpiry:
    """A durable-nonce transaction (signed with ``nonce`` of ``account`` as its blockhash): it
    can land while the account still holds that nonce, at any height. Once the nonce advanced
    it can never land, but the advance may be our own transaction landing, long ago: so it is
    expired only if neither the status cache nor the ledger (``getTransaction``) knows our
    signature. A closed or uninitialised nonce account can land nothing either."""

    account: Pubkey
    nonce: Hash

    async def can_still_land(self, chain: LandingChain) -> bool:
        (held,) = await chain.get_multiple_accounts([self.account])
        return durable_nonce(held) == self.nonce

    async def never_landed(self, chain: LandingChain, sig: Signature) -> bool:
        if (await chain.get_signature_statuses([sig]))[0] is not None:
            return False
        return await chain.get_transaction(sig) is None

    def expired(self, sig: Signature) -> Expired:
        return Expired(
            "nonce",
            "the durable nonce advanced and the signature never landed",
            {"signature": str(sig), "nonce_account": str(self.account), "nonce": str(self.nonce)},
        )


def durable_nonce(account: Account | None) -> Hash | None:
    """The nonce an initialised nonce account holds (system-owned, 80 bytes), else None."""
    if account is None or account.owner != SYSTEM_PROGRAM_ID:
        return None
    data = bytes(account.data)
    if len(data) != _NONCE_ACCOUNT_LEN:
        return None
    version, state = struct.unpack_from("<II", data, 0)
    if state != _NONCE_INITIALIZED or version > _NONCE_VERSION_CURRENT:
        return None
    return Hash.from_bytes(data[40:72])


@dataclass(frozen=True, slots=True)
class SignedTransaction:
    """The stored signed bytes as the lifecycle uses them: the transaction parsed from exactly
    those bytes, the signature watched, and the rule that proves expiry."""

    tx: VersionedTransaction
    signature: Signature
    expiry: ExpiryRule

    @classmethod
    def stored(cls, wire: bytes, signature: str, expiry: ExpiryRule) -> SignedTransaction:
        return cls(VersionedTransaction.from_bytes(wire), Signature.from_string(signature), expiry)

    @property
    def program_ids(self) -> list[str]:
        """The program of each instruction, by index (for classifying an ``InstructionError``)."""
        msg = self.tx.message
        keys = list(msg.account_keys)
        return [str(keys[ix.program_id_index]) for ix in msg.instructions]


class LandingSink(Protocol[R]):
    """The record's owner writes each outcome with its own compare-and-set. Every method returns
    the record as stored afterwards (a lost compare-and-set may return the winner's record, or
    raise to stop the caller); ``TemporaryError`` from one inside the watch is retried."""

    def phase(self, record: R) -> Phase: ...
    async def mark_sent(self, record: R) -> R:
        """A send reached a node: SIGNED -> SENT."""
        ...

    async def record_landed(self, record: R, landed: LandedTransaction) -> R:
        """Landed with ``meta.err`` null: record the result, then the success state."""
        ...

    async def mark_failed(
        self, record: R, error: OrderError, landed: LandedTransaction | None
    ) -> R:
        """Refused at the first send (``landed`` None) or landed with ``meta.err``."""
        ...

    async def mark_expired(self, record: R, expired: Expired) -> R: ...


@dataclass(frozen=True, slots=True)
class LandingConfig:
    poll_interval_s: float
    resend_interval_s: float
    land_deadline_s: float  # one watch round; the record stays non-final for the next


class Landing:
    """Sends stored signed bytes and watches them until LANDED, FAILED or EXPIRED."""

    def __init__(
        self,
        *,
        chain: LandingChain,
        send: Send,
        config: LandingConfig,
        sleep: Callable[[float], Awaitable[None]],
        monotonic: Callable[[], float],
        classify: Classify = classify_tx_error,
    ) -> None:
        self._chain = chain
        self._send = send
        self._config = config
        self._sleep = sleep
        self._monotonic = monotonic
        self._classify = classify

    async def first_send(
        self,
        record: R,
        signed: SignedTransaction,
        sink: LandingSink[R],
        *,
        ids: Mapping[str, object],
    ) -> R:
        """The first send of a just-stored SIGNED record; returns it SENT, FAILED, or as it was
        (unknown fate: the watch decides)."""
        try:
            await self._send(signed.tx, first=True)
        except PreflightFailure as exc:
            if is_already_processed(exc.err):
                return record
            status = (await self._chain.get_signature_statuses([signed.signature]))[0]
            if status is not None:  # it exists after all: let the watch read it
                return record
            error = self._classify(
                exc.err, program_ids=signed.program_ids, logs=exc.logs, stage="simulation"
            )
            if error.type is OrderErrorType.BLOCKHASH_EXPIRED:
                # This node does not know the blockhash (expired, or it lags): only the expiry
                # rule proves it can never land. Keep watching.
                log.info("first_send_blockhash_not_found", **ids)
                return record
            return await sink.mark_failed(record, error, None)
        except TemporaryError as exc:  # may or may not have reached a leader: keep watching
            log.warning("first_send_unconfirmed", **ids, error=str(exc))
            return record
        return await sink.mark_sent(record)

    async def land(
        self,
        record: R,
        signed: SignedTransaction,
        sink: LandingSink[R],
        *,
        ids: Mapping[str, object],
    ) -> R:
        """Watch (and resend) until final or ``land_deadline_s``; returns the latest record."""
        cfg, chain, sig = self._config, self._chain, signed.signature
        t0 = self._monotonic()
        last_send = t0 if sink.phase(record) == "sent" else float("-inf")
        while self._monotonic() - t0 < cfg.land_deadline_s and sink.phase(record) != "final":
            try:
                status = (await chain.get_signature_statuses([sig]))[0]
                if status is not None and status.confirmation_status in _CONFIRMED:
                    landed = await chain.get_transaction(sig)
                    if landed is not None:
                        return await self._settle(record, signed, landed, sink)
                elif status is None:
                    if not await signed.expiry.can_still_land(chain):
                        # It can no longer land: one more look decides (else look again after
                        # the poll interval; nothing is resent once it cannot land).
                        if await signed.expiry.never_landed(chain, sig):
                            return await sink.mark_expired(record, signed.expiry.expired(sig))
                    elif self._monotonic() - last_send >= cfg.resend_interval_s:
                        last_send = self._monotonic()
                        record = await self._resend(record, signed, sink, ids)
            except TemporaryError as exc:
                log.warning("landing_rpc_error", **ids, error=str(exc))
            await self._sleep(cfg.poll_interval_s)
        if sink.phase(record) != "final":
            log.warning("landing_deadline", **ids, phase=sink.phase(record))
        return record

    async def _resend(
        self,
        record: R,
        signed: SignedTransaction,
        sink: LandingSink[R],
        ids: Mapping[str, object],
    ) -> R:
        try:
            await self._send(signed.tx, first=False)
        except (TemporaryError, PreflightFailure) as exc:
            log.info("resend_failed", **ids, error=str(exc))
            return record
        if sink.phase(record) == "signed":
            record = await sink.mark_sent(record)
        return record

    async def _settle(
        self,
        record: R,
        signed: SignedTransaction,
        landed: LandedTransaction,
        sink: LandingSink[R],
    ) -> R:
        if landed.err is None:
            return await sink.record_landed(record, landed)
        error = self._classify(
            landed.err, program_ids=signed.program_ids, logs=landed.logs, stage="onchain"
        )
        return await sink.mark_failed(record, error, landed)
