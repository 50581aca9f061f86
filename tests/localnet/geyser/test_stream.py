"""Geyser.Subscribe from Python: filters, commitment, filter changes on the stream, from_slot
replay, unary methods, x-token, faults (dropped stream, slow consumer)."""

from __future__ import annotations

import asyncio

import base58
import grpc
import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from localnet.geyser import GeyserFaults
from localnet.geyser.convert import transaction_error_bincode
from localnet.history import FINALITY_DEPTH
from yellowstone_proto import geyser_pb2 as pb

from .conftest import SOL, TOKEN, Geyser, read_updates, sol_transfer

SYSTEM = "11111111111111111111111111111111"


def tx_request(name: str = "txs", **fields: object) -> pb.SubscribeRequest:
    return pb.SubscribeRequest(
        transactions={name: pb.SubscribeRequestFilterTransactions(**fields)}  # type: ignore[arg-type]
    )


def signature_of(update: pb.SubscribeUpdate) -> Signature:
    return Signature.from_bytes(update.transaction.transaction.signature)


async def test_a_transfer_arrives_with_its_message_and_meta(geyser: Geyser) -> None:
    payer, to = geyser.funded(), Keypair().pubkey()
    call = await geyser.subscribe(tx_request(account_include=[str(payer.pubkey())]))
    tx = sol_transfer(payer, to, SOL, geyser.cluster.latest_blockhash())
    outcome = geyser.cluster.send_transaction(tx)
    (update,) = await read_updates(call, 1)
    assert list(update.filters) == ["txs"]
    got = update.transaction
    assert got.slot == outcome.slot
    info = got.transaction
    assert info.signature == bytes(outcome.signature)
    assert not info.is_vote
    assert list(info.transaction.signatures) == [bytes(s) for s in tx.signatures]
    message = info.transaction.message
    assert [Pubkey.from_bytes(k) for k in message.account_keys] == list(tx.message.account_keys)
    assert message.recent_blockhash == bytes(tx.message.recent_blockhash)
    assert message.versioned
    assert message.header.num_required_signatures == 1
    (ix,) = message.instructions
    assert ix.data == tx.message.instructions[0].data
    meta = info.meta
    assert not meta.HasField("err")
    assert meta.fee == outcome.fee == 5000
    assert list(meta.pre_balances) == list(outcome.pre_balances)
    assert list(meta.post_balances) == list(outcome.post_balances)
    assert list(meta.log_messages) == list(outcome.logs)
    assert meta.log_messages
    assert meta.compute_units_consumed == outcome.units_consumed
    call.cancel()


async def test_transaction_filters(geyser: Geyser) -> None:
    a, b = geyser.funded(), geyser.funded()
    c = Keypair().pubkey()
    request = pb.SubscribeRequest(
        transactions={
            "include_a": pb.SubscribeRequestFilterTransactions(account_include=[str(a.pubkey())]),
            "a_not_b": pb.SubscribeRequestFilterTransactions(
                account_include=[str(a.pubkey())], account_exclude=[str(b.pubkey())]
            ),
            "a_and_c": pb.SubscribeRequestFilterTransactions(
                account_required=[str(a.pubkey()), str(c)]
            ),
            "failed": pb.SubscribeRequestFilterTransactions(
                failed=True, account_include=[str(a.pubkey()), str(b.pubkey())]
            ),
            "votes": pb.SubscribeRequestFilterTransactions(vote=True),
        }
    )
    call = await geyser.subscribe(request)
    bh = geyser.cluster.latest_blockhash()
    a_to_b = geyser.cluster.send_transaction(sol_transfer(a, b.pubkey(), SOL, bh))
    a_to_c = geyser.cluster.send_transaction(sol_transfer(a, c, SOL, bh))
    # b spends more than it has: lands failed (fee charged)
    b_fails = geyser.cluster.send_transaction(sol_transfer(b, c, 1000 * SOL, bh))
    assert b_fails.landed
    assert b_fails.err is not None
    updates = await read_updates(call, 3)
    seen = {signature_of(u): sorted(u.filters) for u in updates}
    assert seen == {
        a_to_b.signature: ["include_a"],
        a_to_c.signature: ["a_and_c", "a_not_b", "include_a"],
        b_fails.signature: ["failed"],
    }
    failed = next(u for u in updates if signature_of(u) == b_fails.signature)
    assert failed.transaction.transaction.meta.err.err == transaction_error_bincode(b_fails.err)
    call.cancel()


async def test_signature_filter_and_transaction_status(geyser: Geyser) -> None:
    a = geyser.funded()
    tx = sol_transfer(a, Keypair().pubkey(), SOL, geyser.cluster.latest_blockhash())
    other = sol_transfer(a, Keypair().pubkey(), SOL, geyser.cluster.latest_blockhash())
    request = pb.SubscribeRequest(
        transactions_status={
            "mine": pb.SubscribeRequestFilterTransactions(signature=str(tx.signatures[0]))
        }
    )
    call = await geyser.subscribe(request)
    geyser.cluster.send_transaction(other)
    geyser.cluster.send_transaction(tx)
    (update,) = await read_updates(call, 1)
    status = update.transaction_status
    assert status.signature == bytes(tx.signatures[0])
    assert not status.HasField("err")
    call.cancel()


async def test_account_filters(geyser: Geyser) -> None:
    payer = geyser.funded()
    target = Keypair().pubkey()
    lamports_le = (2 * SOL).to_bytes(8, "little")
    request = pb.SubscribeRequest(
        accounts={
            "target": pb.SubscribeRequestFilterAccounts(account=[str(target)]),
            "system_empty": pb.SubscribeRequestFilterAccounts(
                owner=[SYSTEM],
                filters=[pb.SubscribeRequestFilterAccountsFilter(datasize=0)],
            ),
            "two_sol": pb.SubscribeRequestFilterAccounts(
                account=[str(target)],
                filters=[
                    pb.SubscribeRequestFilterAccountsFilter(
                        lamports=pb.SubscribeRequestFilterAccountsFilterLamports(eq=2 * SOL)
                    )
                ],
            ),
            "memcmp_miss": pb.SubscribeRequestFilterAccounts(
                account=[str(target)],
                filters=[
                    pb.SubscribeRequestFilterAccountsFilter(
                        memcmp=pb.SubscribeRequestFilterAccountsFilterMemcmp(
                            offset=0, base58=base58.b58encode(lamports_le).decode()
                        )
                    )
                ],
            ),
        }
    )
    call = await geyser.subscribe(request)
    geyser.cluster.send_transaction(
        sol_transfer(payer, target, 2 * SOL, geyser.cluster.latest_blockhash())
    )
    updates = await read_updates(call, 2)  # payer, then target (both system, no data)
    by_key = {Pubkey.from_bytes(u.account.account.pubkey): sorted(u.filters) for u in updates}
    assert by_key == {
        payer.pubkey(): ["system_empty"],
        target: ["system_empty", "target", "two_sol"],
    }
    target_update = next(u for u in updates if u.account.account.pubkey == bytes(target))
    assert target_update.account.account.lamports == 2 * SOL
    assert target_update.account.slot == geyser.cluster.slot
    call.cancel()


async def test_new_request_on_the_stream_replaces_the_filters(geyser: Geyser) -> None:
    a, b = geyser.funded(), geyser.funded()
    call = await geyser.subscribe(tx_request("a", account_include=[str(a.pubkey())]))
    bh = geyser.cluster.latest_blockhash()
    first = geyser.cluster.send_transaction(sol_transfer(a, Keypair().pubkey(), SOL, bh))
    (update,) = await read_updates(call, 1)
    assert signature_of(update) == first.signature
    await call.write(tx_request("b", account_include=[str(b.pubkey())]))
    await call.write(pb.SubscribeRequest(ping=pb.SubscribeRequestPing(id=9)))  # keeps filters
    (pong,) = await read_updates(call, 1, keep_pings=True)
    assert pong.pong.id == 9
    geyser.cluster.send_transaction(sol_transfer(a, Keypair().pubkey(), SOL, bh))
    second = geyser.cluster.send_transaction(sol_transfer(b, Keypair().pubkey(), SOL, bh))
    (update,) = await read_updates(call, 1)
    assert list(update.filters) == ["b"]
    assert signature_of(update) == second.signature
    call.cancel()


async def test_commitment_confirmed_and_finalized_wait_for_depth(geyser: Geyser) -> None:
    a = geyser.funded()
    geyser.cluster.advance_slots(1)  # the airdrop's slot would reach these subscribers too
    include = pb.SubscribeRequestFilterTransactions(account_include=[str(a.pubkey())])
    slots = {"s": pb.SubscribeRequestFilterSlots(filter_by_commitment=True)}
    confirmed = await geyser.subscribe(
        pb.SubscribeRequest(transactions={"t": include}, slots=slots, commitment=pb.CONFIRMED)
    )
    finalized = await geyser.subscribe(
        pb.SubscribeRequest(transactions={"t": include}, commitment=pb.FINALIZED)
    )
    outcome = geyser.cluster.send_transaction(
        sol_transfer(a, Keypair().pubkey(), SOL, geyser.cluster.latest_blockhash())
    )
    geyser.cluster.advance_slots(1)
    tx, slot = await read_updates(confirmed, 2)
    assert signature_of(tx) == outcome.signature
    assert (slot.slot.slot, slot.slot.status) == (outcome.slot, pb.SLOT_CONFIRMED)
    geyser.cluster.advance_slots(FINALITY_DEPTH - 2)
    sub = next(s for s in geyser.net.geyser_feed.subscriptions if s.filters.depth == FINALITY_DEPTH)
    early = [signature_of(u) for u in sub.queue]  # what landed before (funding slots)
    assert outcome.signature not in early  # not finalized yet
    geyser.cluster.advance_slots(1)
    updates = await read_updates(finalized, len(early) + 1)
    assert [signature_of(u) for u in updates] == [*early, outcome.signature]
    assert updates[-1].transaction.slot == outcome.slot
    confirmed.cancel()
    finalized.cancel()


async def test_slot_updates(geyser: Geyser) -> None:
    call = await geyser.subscribe(
        pb.SubscribeRequest(slots={"all": pb.SubscribeRequestFilterSlots(interslot_updates=True)})
    )
    start = geyser.cluster.slot
    geyser.cluster.advance_slots(1)
    updates = await read_updates(call, 4)
    assert [(u.slot.slot, u.slot.status) for u in updates] == [
        (start + 1, pb.SLOT_CREATED_BANK),
        (start + 1, pb.SLOT_COMPLETED),
        (start + 1, pb.SLOT_PROCESSED),
        (start, pb.SLOT_CONFIRMED),
    ]
    assert updates[2].slot.parent == start
    call.cancel()


async def test_from_slot_replays_the_window(geyser: Geyser) -> None:
    a = geyser.funded()
    geyser.cluster.advance_slots(1)
    bh = geyser.cluster.latest_blockhash()
    early = geyser.cluster.send_transaction(sol_transfer(a, Keypair().pubkey(), SOL, bh))
    geyser.cluster.advance_slots(2)
    late = geyser.cluster.send_transaction(sol_transfer(a, Keypair().pubkey(), SOL, bh))
    request = tx_request(account_include=[str(a.pubkey())])
    request.from_slot = early.slot
    call = await geyser.subscribe(request)
    updates = await read_updates(call, 2)
    assert [signature_of(u) for u in updates] == [early.signature, late.signature]
    assert [u.transaction.slot for u in updates] == [early.slot, late.slot]
    # then live, without duplicates
    live = geyser.cluster.send_transaction(sol_transfer(a, Keypair().pubkey(), SOL, bh))
    (update,) = await read_updates(call, 1)
    assert signature_of(update) == live.signature
    call.cancel()
    # a slot the window no longer holds is refused
    first = geyser.net.geyser_feed.first_available()
    assert first is not None
    request.from_slot = first - 1
    stub = geyser.stub()
    bad = stub.Subscribe(metadata=(("x-token", TOKEN),))
    await bad.write(request)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await read_updates(bad, 1)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"first available: {first}" in (info.value.details() or "")
    replay = await stub.SubscribeReplayInfo(
        pb.SubscribeReplayInfoRequest(), metadata=(("x-token", TOKEN),)
    )
    assert replay.first_available == first


async def test_bad_filters_are_invalid_argument(geyser: Geyser) -> None:
    stub = geyser.stub()
    for request, words in [
        (tx_request(account_include=["not-a-key"]), "invalid pubkey 'not-a-key'"),
        (pb.SubscribeRequest(blocks={"b": pb.SubscribeRequestFilterBlocks()}), "not served"),
        (tx_request(signature="abc"), "signature must be 64 bytes"),
    ]:
        call = stub.Subscribe(metadata=(("x-token", TOKEN),))
        await call.write(request)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await read_updates(call, 1)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert words in (info.value.details() or "")


async def test_x_token_is_required(geyser: Geyser) -> None:
    stub = geyser.stub()
    for metadata in [(), (("x-token", "wrong"),)]:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.GetSlot(pb.GetSlotRequest(), metadata=metadata)
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        call = stub.Subscribe(metadata=metadata)
        await call.write(tx_request(account_include=[SYSTEM]))
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await read_updates(call, 1)
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert geyser.endpoint.refused["unauthenticated"] == 4
    assert not geyser.net.geyser_feed.subscriptions


async def test_unary_methods(geyser: Geyser) -> None:
    stub, md = geyser.stub(), (("x-token", TOKEN),)
    cluster = geyser.cluster
    cluster.advance_slots(3)
    assert (await stub.Ping(pb.PingRequest(count=3), metadata=md)).count == 3
    assert (await stub.GetSlot(pb.GetSlotRequest(), metadata=md)).slot == cluster.slot
    confirmed = await stub.GetSlot(pb.GetSlotRequest(commitment=pb.CONFIRMED), metadata=md)
    assert confirmed.slot == cluster.slot - 1
    height = await stub.GetBlockHeight(pb.GetBlockHeightRequest(), metadata=md)
    assert height.block_height == cluster.block_height
    latest = await stub.GetLatestBlockhash(pb.GetLatestBlockhashRequest(), metadata=md)
    assert latest.blockhash == str(cluster.latest_blockhash())
    assert latest.last_valid_block_height == cluster.last_valid_block_height()
    valid = await stub.IsBlockhashValid(
        pb.IsBlockhashValidRequest(blockhash=latest.blockhash), metadata=md
    )
    assert valid.valid
    assert valid.slot == cluster.slot
    unknown = await stub.IsBlockhashValid(
        pb.IsBlockhashValidRequest(blockhash=str(Keypair().pubkey())), metadata=md
    )
    assert not unknown.valid
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.IsBlockhashValid(pb.IsBlockhashValidRequest(blockhash="zz"), metadata=md)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "localnet-geyser" in (await stub.GetVersion(pb.GetVersionRequest(), metadata=md)).version


async def test_server_pings() -> None:
    from localnet.node import GeyserConfig
    from localnet.testing import running_localnet

    async with running_localnet(
        geyser=(GeyserConfig("geyser", x_token=""),), geyser_ping_interval_s=0.05
    ) as net:
        g = Geyser(net)
        call = await g.subscribe(tx_request(account_include=[SYSTEM]), token=None)
        (update,) = await read_updates(call, 1, keep_pings=True)
        assert update.WhichOneof("update_oneof") == "ping"
        call.cancel()
        await g.close()


async def test_stream_dropped_after_n_updates(geyser: Geyser) -> None:
    geyser.endpoint.set_faults(GeyserFaults(drop_after=2))
    call = await geyser.subscribe(
        pb.SubscribeRequest(slots={"s": pb.SubscribeRequestFilterSlots(filter_by_commitment=True)})
    )
    geyser.cluster.advance_slots(5)
    updates = await read_updates(call, 2)
    assert [u.slot.status for u in updates] == [pb.SLOT_PROCESSED] * 2
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await read_updates(call, 1)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "dropped after 2 updates" in (info.value.details() or "")


async def test_slow_consumer_is_told_and_disconnected(geyser: Geyser) -> None:
    geyser.endpoint.set_faults(GeyserFaults(queue_limit=3))
    call = await geyser.subscribe(
        pb.SubscribeRequest(slots={"s": pb.SubscribeRequestFilterSlots()})
    )
    geyser.cluster.advance_slots(5)  # 10 updates at once, the client reads none meanwhile
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await read_updates(call, 20)
    assert info.value.code() == grpc.StatusCode.INTERNAL
    assert "lagged" in (info.value.details() or "")
    for _ in range(100):
        if not geyser.net.geyser_feed.subscriptions:
            break
        await asyncio.sleep(0.01)
    assert not geyser.net.geyser_feed.subscriptions


async def test_drop_streams_and_down(geyser: Geyser) -> None:
    call = await geyser.subscribe(tx_request(account_include=[SYSTEM]))
    assert geyser.endpoint.drop_streams() == 1
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await read_updates(call, 1)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    geyser.endpoint.set_faults(GeyserFaults(down=True))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await geyser.stub().GetSlot(pb.GetSlotRequest(), metadata=(("x-token", TOKEN),))
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
