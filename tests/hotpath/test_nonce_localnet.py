"""NonceManager on localnet (LiteSVM's System program, real signed transactions over JSON-RPC):
create / read / void / close, and the durable-nonce property the hot path's at-most-once rests
on: one nonce value admits one landed transaction; copies and re-signs of it never land."""

from __future__ import annotations

import asyncio

import pytest
from solders.hash import Hash
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from sniper_bot.chain.errors import RpcError
from sniper_bot.hotpath.nonce import NonceError
from sniper_bot.solana.nonce import (
    NONCE_ACCOUNT_LENGTH,
    NONCE_RENT_EXEMPT_LAMPORTS,
    advance_nonce_instruction,
    decode_nonce_account,
)
from sniper_bot.solana.programs import SYSTEM_PROGRAM_ID
from sniper_bot.wallet.sessions import UnlockedWallet

from .conftest import SOL, Chain, wallet


def durable_transfer(
    user: UnlockedWallet, nonce: Pubkey, value: Hash, to: Pubkey, lamports: int
) -> VersionedTransaction:
    ixs = [
        advance_nonce_instruction(nonce, user.pubkey),
        transfer(TransferParams(from_pubkey=user.pubkey, to_pubkey=to, lamports=lamports)),
    ]
    msg = MessageV0.try_compile(user.pubkey, ixs, [], value)
    return VersionedTransaction.populate(msg, [user.sign_message(to_bytes_versioned(msg))])


async def landed(chain: Chain, sig: Signature, slots: int = 6) -> bool:
    """Whether ``sig`` is confirmed after waiting ``slots`` more slots."""
    start = chain.net.cluster.slot
    for _ in range(2_000):  # the clock makes a slot every 20 ms
        if chain.net.cluster.slot >= start + slots:
            break
        await asyncio.sleep(0.01)
    (status,) = await chain.rpc.get_signature_statuses([sig])
    return status is not None and status.confirmation_status in ("confirmed", "finalized")


async def test_create_read_void_close(chain: Chain) -> None:
    user = chain.user
    before = chain.lamports(user.pubkey)
    created = await chain.nonces.create(user)
    raw = chain.net.cluster.get_account(created.address)
    assert raw is not None
    assert raw.owner == SYSTEM_PROGRAM_ID
    assert len(raw.data) == NONCE_ACCOUNT_LENGTH
    assert decode_nonce_account(bytes(raw.data)).nonce == created.value
    assert created.authority == user.pubkey
    assert created.lamports == NONCE_RENT_EXEMPT_LAMPORTS
    assert before - chain.lamports(user.pubkey) == NONCE_RENT_EXEMPT_LAMPORTS + 2 * 5_000
    assert await chain.nonces.read(created.address) == created

    voided = await chain.nonces.void(created.address, user)
    assert voided is not None
    moved = await chain.nonces.read(created.address)
    assert moved.value != created.value
    # with the armed value given, a nonce that no longer holds it is not advanced again
    assert await chain.nonces.void(created.address, user, armed=created.value) is None
    assert (await chain.nonces.read(created.address)).value == moved.value
    assert await chain.nonces.consumed_by(created.address, created.value) is None  # a void

    sink = Pubkey.new_unique()
    await chain.nonces.close(created.address, user, sink)
    assert chain.net.cluster.get_account(created.address) is None
    assert chain.lamports(sink) == NONCE_RENT_EXEMPT_LAMPORTS
    with pytest.raises(NonceError, match="does not exist"):
        await chain.nonces.read(created.address)


async def test_a_separate_payer_funds_and_only_the_authority_closes(chain: Chain) -> None:
    payer = wallet(SOL, chain.net)
    created = await chain.nonces.create(chain.user, payer)
    assert created.authority == chain.user.pubkey
    assert chain.lamports(payer.pubkey) == SOL - NONCE_RENT_EXEMPT_LAMPORTS - 2 * 5_000
    with pytest.raises(NonceError, match="is not the authority"):
        await chain.nonces.close(created.address, payer, payer.pubkey)
    with pytest.raises(NonceError, match="failed"):  # the chain refuses another authority too
        await chain.nonces.void(created.address, payer)
    assert (await chain.nonces.read(created.address)).value == created.value


async def test_read_refuses_an_account_that_is_not_a_nonce(chain: Chain) -> None:
    with pytest.raises(NonceError, match=r"not a usable nonce account: a nonce account is 80"):
        await chain.nonces.read(chain.user.pubkey)  # a wallet: 0 bytes


async def test_one_nonce_value_lands_once(chain: Chain) -> None:
    user = chain.user
    nonce = await chain.nonces.create(user)
    sink_a, sink_b = Pubkey.new_unique(), Pubkey.new_unique()
    tx = durable_transfer(user, nonce.address, nonce.value, sink_a, 1_000_000)
    sig = await chain.rpc.send_transaction(tx)
    assert await landed(chain, sig)
    assert chain.lamports(sink_a) == 1_000_000
    use = await chain.nonces.consumed_by(nonce.address, nonce.value)
    assert use is not None
    assert use.signature == sig
    assert use.err is None
    # the same bytes again, on every endpoint, preflight off: nothing lands a second time
    await chain.rpc.send_transaction(tx, skip_preflight=True, fanout=3)
    # a re-sign for the same armed value (another destination) is refused outright
    other = durable_transfer(user, nonce.address, nonce.value, sink_b, 1_000_000)
    with pytest.raises(RpcError):
        await chain.rpc.send_transaction(other)
    await chain.rpc.send_transaction(other, skip_preflight=True)
    assert not await landed(chain, other.signatures[0])
    assert chain.lamports(sink_a) == 1_000_000
    assert chain.lamports(sink_b) == 0


async def test_void_kills_what_was_signed_for_the_armed_value(chain: Chain) -> None:
    user = chain.user
    nonce = await chain.nonces.create(user)
    armed = durable_transfer(user, nonce.address, nonce.value, Pubkey.new_unique(), 777_777)
    assert await chain.nonces.consumed_by(nonce.address, nonce.value) is None  # not yet
    assert await chain.nonces.void(nonce.address, user, armed=nonce.value) is not None
    await chain.rpc.send_transaction(armed, skip_preflight=True)
    assert not await landed(chain, armed.signatures[0])
    assert await chain.nonces.consumed_by(nonce.address, nonce.value) is None
