"""One durable nonce account per armed snipe: create, read, void, close, and who consumed it.

Why it makes a snipe at-most-once without a database write before the send: the snipe's
transaction (``hotpath.build``) starts with ``AdvanceNonceAccount`` of the order's own nonce
account and carries the nonce value armed with the order as its ``recent_blockhash``. The runtime
accepts such a transaction only while the account still stores that value, and processing it
(successfully or not: a failed transaction still pays its fee and still advances the nonce) stores
a new value. Every copy, every relay, every re-sign by a restarted or second replica carries the
same armed value, so at most one of them can ever be processed. Recovery after any crash:

    used = await nonces.consumed_by(address, armed)      # landed already? -> that signature
    if used is None:
        await nonces.void(address, authority, armed=armed)  # the armed value cannot land now
        used = await nonces.consumed_by(address, armed)  # it may have landed just before the void

``void`` is idempotent in effect: it advances the nonce with an ordinary transaction (recent
blockhash, not the nonce), so once one void is confirmed the armed value is dead; a second void,
or a void after the buy landed, only advances the nonce again (one signature fee) and never lets
anything signed for the armed value land. With ``armed`` given, ``void`` sends nothing when the
account no longer holds it (the buy or an earlier void already moved it). A void refused because
the nonce was stored in the current blockhash (``NonceBlockhashNotExpired``) waits for the next
blockhash and is sent again.

Commitment: every read and confirmation is ``confirmed``; a stale (degraded-cache) read of a nonce
is refused, never used to decide anything.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from solders.account import Account
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from sniper_bot.chain.pool import Read
from sniper_bot.chain.rpc import SolanaRpc
from sniper_bot.chain.types import Commitment, SignatureStatus, TxError
from sniper_bot.solana.nonce import (
    NONCE_RENT_EXEMPT_LAMPORTS,
    NonceAccountError,
    advance_nonce_instruction,
    create_nonce_instructions,
    decode_nonce_account,
    is_advance_nonce,
    withdraw_nonce_instruction,
)

__all__ = [
    "NonceAccount",
    "NonceChain",
    "NonceError",
    "NonceManager",
    "NonceSigner",
    "NonceUse",
    "RpcNonceChain",
]

_CONFIRMED: Final = frozenset({"confirmed", "finalized"})
_NOT_EXPIRED: Final = "NonceBlockhashNotExpired"


class NonceError(Exception):
    """A nonce operation that did not happen (failed, expired, or the account is not a nonce)."""


class NonceSigner(Protocol):
    """An unlocked key: ``wallet.sessions.UnlockedWallet`` fits."""

    @property
    def pubkey(self) -> Pubkey: ...
    def sign_message(self, message: bytes) -> Signature: ...


@dataclass(frozen=True, slots=True)
class NonceUse:
    """A landed transaction that consumed a nonce value (``err`` None when it succeeded)."""

    signature: Signature
    slot: int
    err: TxError


class NonceChain(Protocol):
    """The RPC calls the manager makes; ``RpcNonceChain`` adapts ``SolanaRpc`` to it."""

    async def read_account_info(self, pubkey: Pubkey) -> Read[Account | None]: ...
    async def get_latest_blockhash(
        self, commitment: Commitment = "confirmed"
    ) -> tuple[Hash, int]: ...
    async def get_block_height(self, commitment: Commitment = "confirmed") -> int: ...
    async def send_transaction(
        self, tx: VersionedTransaction, *, skip_preflight: bool = False, fanout: int = 1
    ) -> Signature: ...
    async def get_signature_statuses(
        self, sigs: Sequence[Signature]
    ) -> list[SignatureStatus | None]: ...
    async def get_signatures_for_address(
        self, address: Pubkey, *, limit: int = 100, before: Signature | None = None
    ) -> list[Signature]: ...
    async def get_transaction_raw(
        self, sig: Signature
    ) -> tuple[VersionedTransaction, int, TxError] | None: ...


class RpcNonceChain:
    """``SolanaRpc`` plus the two calls it does not offer yet (``getSignaturesForAddress`` and a
    ``getTransaction`` that keeps the message), made through the same pool."""

    def __init__(self, rpc: SolanaRpc) -> None:
        self.rpc = rpc

    async def read_account_info(self, pubkey: Pubkey) -> Read[Account | None]:
        return await self.rpc.read_account_info(pubkey)

    async def get_latest_blockhash(self, commitment: Commitment = "confirmed") -> tuple[Hash, int]:
        return await self.rpc.get_latest_blockhash(commitment)

    async def get_block_height(self, commitment: Commitment = "confirmed") -> int:
        return await self.rpc.get_block_height(commitment)

    async def send_transaction(
        self, tx: VersionedTransaction, *, skip_preflight: bool = False, fanout: int = 1
    ) -> Signature:
        return await self.rpc.send_transaction(tx, skip_preflight=skip_preflight, fanout=fanout)

    async def get_signature_statuses(
        self, sigs: Sequence[Signature]
    ) -> list[SignatureStatus | None]:
        return await self.rpc.get_signature_statuses(sigs)

    async def get_signatures_for_address(
        self, address: Pubkey, *, limit: int = 100, before: Signature | None = None
    ) -> list[Signature]:
        """Newest first, as the RPC answers."""
        config: dict[str, Any] = {"limit": limit, "commitment": "confirmed"}
        if before is not None:
            config["before"] = str(before)

        def parse(result: Any) -> list[Signature]:
            if not isinstance(result, list):
                raise NonceError("getSignaturesForAddress answered no list")
            return [Signature.from_string(str(entry["signature"])) for entry in result]

        return await self.rpc.pool.request(
            "getSignaturesForAddress", [str(address), config], parse=parse
        )

    async def get_transaction_raw(
        self, sig: Signature
    ) -> tuple[VersionedTransaction, int, TxError] | None:
        def parse(result: Any) -> tuple[VersionedTransaction, int, TxError] | None:
            if result is None:
                return None
            raw = base64.b64decode(result["transaction"][0])
            meta = result.get("meta") or {}
            return VersionedTransaction.from_bytes(raw), int(result["slot"]), meta.get("err")

        config = {"encoding": "base64", "commitment": "confirmed",
                  "maxSupportedTransactionVersion": 0}  # fmt: skip
        return await self.rpc.pool.request("getTransaction", [str(sig), config], parse=parse)


@dataclass(frozen=True, slots=True)
class NonceAccount:
    address: Pubkey
    authority: Pubkey
    value: Hash  # the stored durable nonce: what the next durable transaction must carry
    lamports: int


def _error_name(err: TxError) -> str:
    return err if isinstance(err, str) else repr(err)


class NonceManager:
    """Durable nonce accounts over ``chain`` (``RpcNonceChain(SolanaRpc)`` in the app).

    ``poll_s`` is the confirmation poll interval, ``confirm_timeout_s`` how long one
    transaction is waited for (it also gives up once its blockhash expired)."""

    def __init__(
        self, chain: NonceChain, *, poll_s: float = 0.05, confirm_timeout_s: float = 30.0,
        retries: int = 3,
    ) -> None:  # fmt: skip
        self._chain = chain
        self._poll_s = poll_s
        self._timeout_s = confirm_timeout_s
        self._retries = retries

    # -- reads -----------------------------------------------------------------------------------
    async def read(self, address: Pubkey) -> NonceAccount:
        read = await self._chain.read_account_info(address)
        if read.stale:
            raise NonceError(f"no endpoint answered for nonce account {address} (stale copy only)")
        account = read.value
        if account is None:
            raise NonceError(f"nonce account {address} does not exist")
        try:
            state = decode_nonce_account(bytes(account.data), account.owner)
        except NonceAccountError as exc:
            raise NonceError(f"{address} is not a usable nonce account: {exc}") from exc
        if state.legacy:
            raise NonceError(f"nonce account {address} has the legacy layout (upgrade it)")
        return NonceAccount(address, state.authority, state.nonce, int(account.lamports))

    async def consumed_by(
        self, address: Pubkey, armed: Hash, *, limit: int = 100
    ) -> NonceUse | None:
        """The landed transaction that used ``armed`` as its durable nonce, ``None`` when the
        account still holds ``armed`` (nothing consumed it yet: void it to be sure nothing will)
        or when it moved by something that was not a durable transaction of that value (a void)."""
        current = await self.read(address)
        if current.value == armed:
            return None
        before: Signature | None = None
        while True:
            sigs = await self._chain.get_signatures_for_address(address, limit=limit, before=before)
            for sig in sigs:
                found = await self._chain.get_transaction_raw(sig)
                if found is None:
                    continue
                tx, slot, err = found
                msg = tx.message
                if not isinstance(msg, MessageV0) or msg.recent_blockhash != armed:
                    continue  # ours are v0 (hotpath.build) with the armed value as blockhash
                if not msg.instructions:
                    continue
                first = msg.instructions[0]
                metas = [
                    AccountMeta(msg.account_keys[i], msg.is_signer(i), msg.is_maybe_writable(i))
                    for i in first.accounts
                ]
                ix = Instruction(msg.account_keys[first.program_id_index], first.data, metas)
                if is_advance_nonce(ix, address):
                    return NonceUse(tx.signatures[0], slot, err)
            if len(sigs) < limit:
                return None
            before = sigs[-1]

    # -- writes ----------------------------------------------------------------------------------
    async def create(
        self, authority: NonceSigner, payer: NonceSigner | None = None, *,
        lamports: int = NONCE_RENT_EXEMPT_LAMPORTS,
    ) -> NonceAccount:  # fmt: skip
        """A fresh nonce account (its own new keypair, used once to sign its creation and then
        dropped), rent-exempt, ``authority`` may advance and withdraw it; ``payer`` (default the
        authority) funds it. Returns once the creation is confirmed."""
        payer = payer or authority
        account_key = Keypair()
        address = account_key.pubkey()
        ixs = create_nonce_instructions(payer.pubkey, address, authority.pubkey, lamports)
        sig = await self._send(payer, ixs, [(address, account_key.sign_message)])
        err = await self._confirm(sig)
        if err is not None:
            raise NonceError(f"nonce account creation failed: {_error_name(err)}")
        return await self.read(address)

    async def void(
        self, address: Pubkey, authority: NonceSigner, *, armed: Hash | None = None
    ) -> Signature | None:
        """Advance the nonce with an ordinary transaction: after it is confirmed nothing signed
        for the previous value can land. ``None`` (nothing sent) when ``armed`` is given and the
        account no longer holds it."""
        for attempt in range(self._retries + 1):
            if armed is not None and (await self.read(address)).value != armed:
                return None
            sig = await self._send(
                authority, [advance_nonce_instruction(address, authority.pubkey)]
            )
            err = await self._confirm(sig)
            if err is None:
                return sig
            if _NOT_EXPIRED not in _error_name(err) or attempt == self._retries:
                raise NonceError(f"nonce advance of {address} failed: {_error_name(err)}")
            await self._next_blockhash()
        raise NonceError("nonce advance did not confirm")  # pragma: no cover

    async def close(self, address: Pubkey, authority: NonceSigner, to: Pubkey) -> Signature:
        """Withdraw every lamport to ``to``: the account is deleted (the nonce dies with it)."""
        current = await self.read(address)
        if current.authority != authority.pubkey:
            raise NonceError(f"{authority.pubkey} is not the authority of nonce account {address}")
        ix = withdraw_nonce_instruction(address, authority.pubkey, to, current.lamports)
        sig = await self._send(authority, [ix])
        err = await self._confirm(sig)
        if err is not None:
            raise NonceError(f"closing nonce account {address} failed: {_error_name(err)}")
        return sig

    # -- plumbing --------------------------------------------------------------------------------
    async def _send(
        self, payer: NonceSigner, ixs: list[Instruction],
        extra: list[tuple[Pubkey, Any]] | None = None,
    ) -> Signature:  # fmt: skip
        blockhash, _ = await self._chain.get_latest_blockhash("confirmed")
        msg = MessageV0.try_compile(payer.pubkey, ixs, [], blockhash)
        data = to_bytes_versioned(msg)
        signers = {payer.pubkey: payer.sign_message, **dict(extra or [])}
        count = msg.header.num_required_signatures
        sigs = []
        for key in msg.account_keys[:count]:
            if key not in signers:
                raise NonceError(f"{key} must sign this nonce transaction")
            sigs.append(signers[key](data))
        tx = VersionedTransaction.populate(msg, sigs)
        return await self._chain.send_transaction(tx, skip_preflight=True)

    async def _confirm(self, sig: Signature) -> TxError:
        """The landed transaction's error (None = success); ``NonceError`` when it never lands."""
        deadline = time.monotonic() + self._timeout_s
        while time.monotonic() < deadline:
            (status,) = await self._chain.get_signature_statuses([sig])
            if status is not None and status.confirmation_status in _CONFIRMED:
                return status.err
            await asyncio.sleep(self._poll_s)
        raise NonceError(f"nonce transaction {sig} not confirmed in {self._timeout_s} s")

    async def _next_blockhash(self) -> None:
        first, _ = await self._chain.get_latest_blockhash("confirmed")
        deadline = time.monotonic() + self._timeout_s
        while time.monotonic() < deadline:
            await asyncio.sleep(self._poll_s)
            if (await self._chain.get_latest_blockhash("confirmed"))[0] != first:
                return
