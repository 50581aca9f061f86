"""The shared landing lifecycle against localnet (LiteSVM executing the real signed bytes).

The sink is the smallest real owner of a record: it keeps the phase and what was written, and
can be told to lose its database for a number of writes (``TemporaryError``), as a store does.
Slots advance only when the lifecycle sleeps, so every test is a few polls long.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from solders.account import Account
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import (
    AdvanceNonceAccountParams,
    TransferParams,
    advance_nonce_account,
    create_nonce_account,
    transfer,
)
from solders.transaction import VersionedTransaction

from sniper_bot.chain import mapping
from sniper_bot.chain.landing import (
    BlockHeightExpiry,
    Expired,
    ExpiryRule,
    Landing,
    LandingChain,
    LandingConfig,
    NonceExpiry,
    Phase,
    SignedTransaction,
    durable_nonce,
    rpc_send,
)
from sniper_bot.chain.rpc import SolanaRpc
from sniper_bot.chain.types import LandedTransaction, SignatureStatus
from sniper_bot.domain.orders import OrderError, OrderErrorType
from sniper_bot.errors import TemporaryError
from sniper_bot.solana.programs import SYSTEM_PROGRAM_ID, TOKEN_PROGRAM_ID

from .conftest import Net, transfer_tx

SOL = 1_000_000_000


@dataclass
class Record:
    phase: Phase = "signed"
    outcome: str | None = None
    landed: LandedTransaction | None = None
    error: OrderError | None = None
    expired: Expired | None = None


@dataclass
class Sink:
    """``LandingSink[Record]`` with a database that is away for the next ``down`` writes."""

    down: int = 0
    writes: list[str] = field(default_factory=list)

    def phase(self, record: Record) -> Phase:
        return record.phase

    def _write(self, what: str) -> None:
        if self.down > 0:
            self.down -= 1
            raise TemporaryError(f"database away during {what}")
        self.writes.append(what)

    def _final(self, record: Record, outcome: str, **fields: Any) -> Record:
        self._write(outcome)
        return Record("final", outcome, **fields)

    async def mark_sent(self, record: Record) -> Record:
        self._write("sent")
        return Record("sent")

    async def record_landed(self, record: Record, landed: LandedTransaction) -> Record:
        return self._final(record, "landed", landed=landed)

    async def mark_failed(
        self, record: Record, error: OrderError, landed: LandedTransaction | None
    ) -> Record:
        return self._final(record, "failed", landed=landed, error=error)

    async def mark_expired(self, record: Record, expired: Expired) -> Record:
        return self._final(record, "expired", expired=expired)


class Wire:
    """The injected send: every byte string that went out, then the RPC pool."""

    def __init__(self, rpc: SolanaRpc, *, preflight: bool) -> None:
        self.sent: list[bytes] = []
        self._send = rpc_send(rpc, preflight=preflight, fanout=2)

    async def __call__(self, tx: VersionedTransaction, *, first: bool) -> object:
        self.sent.append(bytes(tx))
        return await self._send(tx, first=first)


def landing(
    rpc: SolanaRpc,
    net: Net,
    wire: Wire,
    *,
    deadline_s: float = 60.0,
    chain: LandingChain | None = None,
) -> Landing:
    now = [0.0]

    async def sleep(seconds: float) -> None:  # a poll: time passes and the chain moves a slot
        now[0] += seconds
        net.cluster.advance_slots(1)

    return Landing(
        chain=chain or rpc,
        send=wire,
        config=LandingConfig(
            poll_interval_s=0.5, resend_interval_s=1.0, land_deadline_s=deadline_s
        ),
        sleep=sleep,
        monotonic=lambda: now[0],
    )


def signed(tx: VersionedTransaction, expiry: ExpiryRule) -> SignedTransaction:
    return SignedTransaction.stored(bytes(tx), str(tx.signatures[0]), expiry)


async def funded(rpc: SolanaRpc, lamports: int = 2 * SOL) -> Keypair:
    payer = Keypair()
    await rpc.request_airdrop(payer.pubkey(), lamports)
    return payer


async def test_a_transfer_is_sent_once_and_landed_from_its_meta(rpc: SolanaRpc, net: Net) -> None:
    payer, receiver = await funded(rpc), Keypair().pubkey()
    blockhash, last_valid = await rpc.recent_blockhash()
    tx = transfer_tx(payer, receiver, 5_000_000, blockhash)
    wire, sink = Wire(rpc, preflight=True), Sink()
    lander = landing(rpc, net, wire)
    stx = signed(tx, BlockHeightExpiry(last_valid))

    record = await lander.first_send(Record(), stx, sink, ids={"test": 1})
    assert record.phase == "sent"
    record = await lander.land(record, stx, sink, ids={"test": 1})

    assert record.outcome == "landed"
    assert record.landed is not None
    assert record.landed.err is None
    assert record.landed.signature == tx.signatures[0]
    assert sink.writes == ["sent", "landed"]
    assert wire.sent == [bytes(tx)]  # landed before a resend was due
    assert await rpc.get_balance(receiver) == 5_000_000


async def test_a_transaction_that_lands_with_an_error_is_failed_from_meta_err(
    rpc: SolanaRpc, net: Net
) -> None:
    payer = await funded(rpc, SOL // 10)
    blockhash, last_valid = await rpc.recent_blockhash()
    tx = transfer_tx(payer, Keypair().pubkey(), SOL, blockhash)  # more than it holds
    wire, sink = Wire(rpc, preflight=False), Sink()
    lander = landing(rpc, net, wire)
    stx = signed(tx, BlockHeightExpiry(last_valid))

    record = await lander.land(
        await lander.first_send(Record(), stx, sink, ids={}), stx, sink, ids={}
    )

    assert record.outcome == "failed"
    assert record.landed is not None
    assert record.landed.fee > 0  # it landed: the fee was paid
    assert record.error is not None
    assert record.error.type is OrderErrorType.INSUFFICIENT_FUNDS
    assert record.error.details["program"] == "11111111111111111111111111111111"
    assert await rpc.get_balance(payer.pubkey()) == SOL // 10 - record.landed.fee


async def test_a_first_send_refused_by_preflight_fails_with_nothing_on_chain(
    rpc: SolanaRpc, net: Net
) -> None:
    payer = await funded(rpc, SOL // 10)
    blockhash, last_valid = await rpc.recent_blockhash()
    tx = transfer_tx(payer, Keypair().pubkey(), SOL, blockhash)
    wire, sink = Wire(rpc, preflight=True), Sink()
    record = await landing(rpc, net, wire).first_send(
        Record(), signed(tx, BlockHeightExpiry(last_valid)), sink, ids={}
    )

    assert record.outcome == "failed"
    assert record.landed is None
    assert record.error is not None
    assert record.error.details["stage"] == "simulation"
    net.cluster.advance_slots(2)
    assert (await rpc.get_signature_statuses([tx.signatures[0]]))[0] is None
    assert await rpc.get_balance(payer.pubkey()) == SOL // 10


async def test_bytes_that_cannot_land_expire_only_past_the_height_and_only_they_are_resent(
    rpc: SolanaRpc, net: Net
) -> None:
    payer = await funded(rpc)
    tx = transfer_tx(payer, Keypair().pubkey(), 1_000, Hash.new_unique())  # no node knows it
    last_valid = await rpc.get_block_height() + 4
    wire, sink = Wire(rpc, preflight=True), Sink()
    lander = landing(rpc, net, wire)
    stx = signed(tx, BlockHeightExpiry(last_valid))

    record = await lander.first_send(Record(), stx, sink, ids={})
    assert record.phase == "signed"  # BlockhashNotFound at preflight proves nothing
    record = await lander.land(record, stx, sink, ids={})

    assert record.outcome == "expired"
    assert await rpc.get_block_height() > last_valid  # the height it was expired at
    assert record.expired is not None
    assert record.expired.rule == "block_height"
    assert record.expired.details == {
        "signature": str(tx.signatures[0]),
        "last_valid_block_height": last_valid,
    }
    assert len(wire.sent) >= 3  # the first send and resends on the schedule
    assert set(wire.sent) == {bytes(tx)}
    assert sink.writes == ["sent", "expired"]  # a resend that reached a node marks SENT


async def test_the_watch_never_calls_expiry_while_the_height_allows_landing(
    rpc: SolanaRpc, net: Net
) -> None:
    payer = await funded(rpc)
    tx = transfer_tx(payer, Keypair().pubkey(), 1_000, Hash.new_unique())
    last_valid = await rpc.get_block_height() + 10_000
    wire, sink = Wire(rpc, preflight=False), Sink()
    lander = landing(rpc, net, wire, deadline_s=10.0)
    stx = signed(tx, BlockHeightExpiry(last_valid))

    record = await lander.land(Record("sent"), stx, sink, ids={})

    assert record.phase == "sent"  # deadline: left for the next round, not declared expired
    assert record.outcome is None
    assert sink.writes == []
    assert 5 <= len(wire.sent) <= 11  # every resend_interval_s, not every poll
    assert set(wire.sent) == {bytes(tx)}


async def test_a_store_that_vanishes_is_retried_until_it_takes_the_landed_result(
    rpc: SolanaRpc, net: Net
) -> None:
    payer, receiver = await funded(rpc), Keypair().pubkey()
    blockhash, last_valid = await rpc.recent_blockhash()
    tx = transfer_tx(payer, receiver, 1_000_000, blockhash)
    wire, sink = Wire(rpc, preflight=False), Sink(down=3)
    lander = landing(rpc, net, wire)
    stx = signed(tx, BlockHeightExpiry(last_valid))
    with pytest.raises(TemporaryError):  # the first send's SENT write: the caller hears it
        await lander.first_send(Record(), stx, sink, ids={})

    record = await lander.land(Record("signed"), stx, sink, ids={})  # two more writes fail

    assert record.outcome == "landed"
    assert sink.writes == ["landed"]
    assert await rpc.get_balance(receiver) == 1_000_000  # resent bytes landed once
    assert set(wire.sent) == {bytes(tx)}


async def test_a_signature_that_landed_is_never_proved_unlanded(rpc: SolanaRpc, net: Net) -> None:
    payer = await funded(rpc)
    blockhash, _ = await rpc.recent_blockhash()
    tx = transfer_tx(payer, Keypair().pubkey(), 1_000_000, blockhash)
    await rpc.send_transaction(tx)
    net.cluster.advance_slots(2)
    rule = BlockHeightExpiry(await rpc.get_block_height() - 1)  # as if past its height
    assert not await rule.can_still_land(rpc)
    assert not await rule.never_landed(rpc, tx.signatures[0])
    assert await rule.never_landed(rpc, Signature.new_unique())


class LandsWhileLooking:
    """The chain as the lifecycle reads it, where the bytes land (through another relay, say)
    between the null status and the expiry rule's height read."""

    def __init__(self, rpc: SolanaRpc, tx: VersionedTransaction) -> None:
        self._rpc, self._tx, self.delivered = rpc, tx, False
        self.get_signature_statuses = rpc.get_signature_statuses
        self.get_transaction = rpc.get_transaction
        self.get_multiple_accounts = rpc.get_multiple_accounts

    async def get_block_height(self) -> int:
        if not self.delivered:
            self.delivered = True
            await self._rpc.send_transaction(self._tx, skip_preflight=True)
        return await self._rpc.get_block_height()


async def test_bytes_that_land_during_the_last_look_are_landed_not_expired(
    rpc: SolanaRpc, net: Net
) -> None:
    payer, receiver = await funded(rpc), Keypair().pubkey()
    blockhash, _ = await rpc.recent_blockhash()
    tx = transfer_tx(payer, receiver, 1_000_000, blockhash)
    past = BlockHeightExpiry(await rpc.get_block_height() - 1)  # the height says "can't land"
    chain, sink = LandsWhileLooking(rpc, tx), Sink()
    lander = landing(rpc, net, Wire(rpc, preflight=False), chain=chain)

    record = await lander.land(Record("sent"), signed(tx, past), sink, ids={})

    assert chain.delivered
    assert record.outcome == "landed"  # the status found at the last look wins over the height
    assert await rpc.get_balance(receiver) == 1_000_000


# -- durable nonces ----------------------------------------------------------------------------


class StatusCacheOnly:
    """A ``LandingChain`` whose status reads do not search history (the last 300 slots only),
    as a node without a ledger answers; everything else through the pool."""

    def __init__(self, rpc: SolanaRpc) -> None:
        self._rpc = rpc
        self.get_transaction = rpc.get_transaction
        self.get_block_height = rpc.get_block_height
        self.get_multiple_accounts = rpc.get_multiple_accounts

    async def get_signature_statuses(
        self, sigs: Sequence[Signature]
    ) -> list[SignatureStatus | None]:
        return await self._rpc.pool.request(
            "getSignatureStatuses",
            [[str(s) for s in sigs], {"searchTransactionHistory": False}],
            parse=mapping.signature_statuses,
        )


async def nonce_account(rpc: SolanaRpc, net: Net, payer: Keypair) -> Pubkey:
    nonce = Keypair()
    create, init = create_nonce_account(payer.pubkey(), nonce.pubkey(), payer.pubkey(), SOL // 100)
    blockhash, _ = await rpc.get_latest_blockhash()
    message = MessageV0.try_compile(payer.pubkey(), [create, init], [], blockhash)
    await rpc.send_transaction(VersionedTransaction(message, [payer, nonce]))
    net.cluster.advance_slots(2)
    return nonce.pubkey()


async def current_nonce(rpc: SolanaRpc, account: Pubkey) -> Hash:
    (held,) = await rpc.get_multiple_accounts([account])
    value = durable_nonce(held)
    assert value is not None
    return value


def advance_ix(account: Pubkey, authority: Pubkey) -> Any:
    return advance_nonce_account(
        AdvanceNonceAccountParams(nonce_pubkey=account, authorized_pubkey=authority)
    )


async def advance(rpc: SolanaRpc, net: Net, payer: Keypair, account: Pubkey) -> Signature:
    blockhash, _ = await rpc.get_latest_blockhash()  # 200 slots later: not the cached one
    message = MessageV0.try_compile(
        payer.pubkey(), [advance_ix(account, payer.pubkey())], [], blockhash
    )
    tx = VersionedTransaction(message, [payer])
    await rpc.send_transaction(tx)
    net.cluster.advance_slots(2)
    return tx.signatures[0]


async def test_a_nonce_rule_holds_while_the_nonce_holds_and_needs_the_ledger_to_expire(
    rpc: SolanaRpc, net: Net
) -> None:
    payer = await funded(rpc)
    account = await nonce_account(rpc, net, payer)
    rule = NonceExpiry(account, await current_nonce(rpc, account))
    net.cluster.advance_slots(200)  # far past any blockhash's 150 blocks: a nonce does not care
    assert await rule.can_still_land(rpc)

    advanced_by = await advance(rpc, net, payer, account)

    assert await current_nonce(rpc, account) != rule.nonce
    assert not await rule.can_still_land(rpc)
    assert await rule.never_landed(rpc, Signature.new_unique())
    assert not await rule.never_landed(rpc, advanced_by)  # the advance was this signature
    net.cluster.advance_slots(400)  # out of the status cache: only the ledger still knows it
    cache_only = StatusCacheOnly(rpc)
    assert (await cache_only.get_signature_statuses([advanced_by]))[0] is None
    assert not await rule.never_landed(cache_only, advanced_by)
    assert rule.expired(advanced_by).rule == "nonce"
    assert not await NonceExpiry(Keypair().pubkey(), rule.nonce).can_still_land(rpc)  # no account


def test_only_an_initialised_system_nonce_account_has_a_nonce() -> None:
    value = Hash.new_unique()
    data = (1).to_bytes(4, "little") + (1).to_bytes(4, "little") + bytes(32) + bytes(value)
    data += (5000).to_bytes(8, "little")

    def account(data: bytes, owner: Pubkey = SYSTEM_PROGRAM_ID) -> Account:
        return Account(lamports=1, data=data, owner=owner)

    assert durable_nonce(account(data)) == value
    assert durable_nonce(None) is None
    assert durable_nonce(account(data, TOKEN_PROGRAM_ID)) is None
    assert durable_nonce(account(data[:79])) is None
    assert durable_nonce(account(data[:4] + bytes(4) + data[8:])) is None  # uninitialised
    assert durable_nonce(account((2).to_bytes(4, "little") + data[4:])) is None  # unknown version


async def test_a_durable_nonce_transfer_lands_and_a_copy_on_the_old_nonce_expires(
    rpc: SolanaRpc, net: Net
) -> None:
    payer, receiver = await funded(rpc), Keypair().pubkey()
    account = await nonce_account(rpc, net, payer)
    nonce = await current_nonce(rpc, account)

    def durable(lamports: int) -> VersionedTransaction:
        ixs = [
            advance_ix(account, payer.pubkey()),
            transfer(
                TransferParams(from_pubkey=payer.pubkey(), to_pubkey=receiver, lamports=lamports)
            ),
        ]
        return VersionedTransaction(MessageV0.try_compile(payer.pubkey(), ixs, [], nonce), [payer])

    first, rival = durable(2_000_000), durable(3_000_000)  # two signings on one nonce
    wire, sink = Wire(rpc, preflight=False), Sink()
    lander = landing(rpc, net, wire)
    rule = NonceExpiry(account, nonce)
    net.cluster.advance_slots(200)

    landed = await lander.land(Record(), signed(first, rule), sink, ids={})
    other = await lander.land(Record(), signed(rival, rule), sink, ids={})

    assert landed.outcome == "landed"
    assert other.outcome == "expired"
    assert other.expired is not None
    assert other.expired.rule == "nonce"
    assert await rpc.get_balance(receiver) == 2_000_000  # one of the two, never both
