"""The Geyser listener's pools and positions against localnet's Yellowstone gRPC server (real
grpc.aio both sides, real signed transactions on localnet's hosted pump.fun / PumpSwap programs):

* a curve bought out and migrated: the ``migrate`` transaction is decoded into the coin's
  PumpSwap launch, the buy that emptied the curve into its ``complete`` step; the launch gets
  through the ``LaunchDetector`` although its curve's create (same mint) did minutes before;
* a Raydium v4 pool localnet writes as an account (no transaction says it): the ``raydium_v4``
  launch comes from the ``AmmInfo`` account subscription;
* a watched position's bonding curve: every write arrives as a ``CurveUpdate`` whose reserves are
  the account's, exactly;
* the same migrate as mainnet's Geyser reports it (its PumpSwap ``create_pool`` CPI among the
  inner instructions, which localnet does not record): still one launch of the pool, its
  creator the CPI's ``coin_creator``.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from localnet import pump
from localnet.cluster import Cluster
from localnet.geyser.convert import transaction_info
from localnet.launches import raydium as lr
from localnet.launches.raydium_program import pool_addresses
from localnet.market import instructions as tix
from localnet.market.keys import derive_keypair
from localnet.node import Localnet
from localnet.pump.launchpad import PumpLaunchpad
from localnet.pumpswap import state as amm
from localnet.pumpswap.state import canonical_pool_address
from sniper_bot.chain.ws import Notification
from sniper_bot.detection import LaunchDetector
from sniper_bot.detection.geyser import GeyserConfig, GeyserListener
from sniper_bot.domain.launch import CurveUpdate
from sniper_bot.observability.metrics import Metrics
from sniper_bot.solana.pumpfun import bonding_curve_address, decode_bonding_curve
from yellowstone_proto import geyser_pb2 as pb
from yellowstone_proto import solana_storage_pb2 as storage

from . import test_geyser_stream as stream
from .conftest import until

SOL = stream.SOL
net = stream.net  # the same localnet (seed, 20 ms slots, fast pings) as the stream tests
Sink = stream.Sink
_listener = stream._listener


def _funded(net: Localnet, sol: int) -> Keypair:
    who = Keypair()
    net.cluster.airdrop(who.pubkey(), sol * SOL)
    return who


def _curve_now(net: Localnet, mint: Pubkey) -> tuple[int, int, int, int, bool]:
    account = net.cluster.get_account(bonding_curve_address(mint))
    assert account is not None
    c = decode_bonding_curve(bytes(account.data))
    return (c.virtual_quote_reserves, c.virtual_token_reserves, c.real_quote_reserves,
            c.real_token_reserves, c.complete)  # fmt: skip


def _reserves(update: CurveUpdate) -> tuple[int | None, int | None, int | None, int | None, bool]:
    return (update.virtual_sol_reserves, update.virtual_token_reserves, update.real_sol_reserves,
            update.real_token_reserves, update.complete)  # fmt: skip


class _NoWire:
    """No WebSocket side: the detector runs the Geyser feed alone."""

    async def logs_subscribe(self, *args: object, **kwargs: object) -> None: ...
    async def program_subscribe(self, *args: object, **kwargs: object) -> None: ...
    async def run(self) -> None: ...

    async def notifications(self) -> AsyncIterator[Notification]:
        await asyncio.Event().wait()
        yield Notification("", "", "", None, None)  # pragma: no cover


async def test_a_graduation_is_the_pumpswap_launch_of_its_migrate_transaction(
    net: Localnet,
) -> None:
    curves: list[CurveUpdate] = []
    metrics = Metrics()
    listener = _listener(net, metrics, on_curve=curves.append)
    sink = Sink()
    detector = LaunchDetector(_NoWire(), [], metrics, feeds=[listener])
    task = asyncio.create_task(detector.run(sink))  # the curve's create and its pool both pass
    try:
        await asyncio.wait_for(listener.connected.wait(), 10)
        pad = net.launchpad
        launch = pad.launch(_funded(net, 5), name="Grad", symbol="GRAD", dev_buy_lamports=SOL)
        mint = str(launch.mint)
        graduation = pad.graduate(launch.mint, _funded(net, 200))
        assert graduation.complete_signature is not None
        await until(lambda: any(e.source == "pumpswap" for e in sink.events))
        [created, pool] = sink.events  # the curve's create, then its pool; nothing else
        assert (created.source, created.mint) == ("pumpfun", mint)
        assert (detector.events, detector.duplicates) == (2, 0)
        assert (pool.source, pool.mint, pool.endpoint) == ("pumpswap", mint, "geyser")
        assert pool.pool == str(canonical_pool_address(launch.mint)) == str(graduation.pool)
        assert pool.signature == graduation.migrate_signature
        # the buy that took the last token completed the curve
        [complete] = [c for c in curves if c.kind == "complete"]
        assert (complete.mint, complete.complete) == (mint, True)
        assert complete.signature == graduation.complete_signature
        [emptying] = [c for c in curves if c.signature == graduation.complete_signature
                      and c.kind == "trade"]  # fmt: skip
        assert emptying.real_token_reserves == 0
        progress = listener.curves.get(mint)
        assert progress is not None
        assert progress.complete
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_raydium_pool_account_write_is_a_raydium_launch(net: Localnet) -> None:
    listener = _listener(net, Metrics())
    sink = Sink()
    task = asyncio.create_task(listener.run(sink))
    try:
        await asyncio.wait_for(listener.connected.wait(), 10)
        info = net.engine.launch("honest", announce="raydium")  # a real initialize2 transaction
        market = derive_keypair(net.engine.seed, f"obmarket:{info.mint}").pubkey()
        amm = pool_addresses(market).amm
        account = net.cluster.get_account(amm)
        assert account is not None
        assert account.owner == lr.RAYDIUM_AMM_V4
        await until(lambda: str(info.mint) in sink.mints())
        # the initialize2 transaction (signed by the creator) and the AmmInfo write it made
        creator = str(net.engine.factory.get(info.mint).creator.pubkey())
        assert sink.events
        for event in sink.events:
            assert (event.source, event.mint, event.pool) == ("raydium_v4", str(info.mint),
                                                              str(amm))  # fmt: skip
            assert event.endpoint == "geyser"
            assert event.creator in (None, creator)
        assert event.slot is not None
        assert event.slot >= 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_watched_position_curve_write_is_a_curve_update_with_its_reserves(
    net: Localnet,
) -> None:
    curves: list[CurveUpdate] = []
    listener = _listener(net, Metrics(), on_curve=curves.append)
    task = asyncio.create_task(listener.run(Sink()))
    pad = net.launchpad
    try:
        await asyncio.wait_for(listener.connected.wait(), 10)
        launch = pad.launch(_funded(net, 5), name="Held", symbol="HELD")
        mint = str(launch.mint)
        [curve] = listener.watch_positions([mint])
        assert curve == str(launch.bonding_curve)
        # the server applied the resubscription (sent on the open stream)
        await until(lambda: any("positions" in sub.filters.accounts
                                for sub in net.geyser_feed.subscriptions))  # fmt: skip

        def written() -> list[CurveUpdate]:  # from the account subscription: no signature
            return [c for c in curves if c.mint == mint and c.signature is None]

        trader = _funded(net, 10)
        for lamports in (SOL, 2 * SOL):
            before = len(written())
            pad.buy(launch.mint, trader, lamports=lamports)
            expected = _curve_now(net, launch.mint)
            await until(lambda: len(written()) > before)  # noqa: B023 - awaited in the loop
            update = written()[-1]
            assert (update.kind, _reserves(update)) == ("trade", expected)
            assert update.token_total_supply == 1_000_000_000_000_000
        # the watched curve is the latest word on the position
        progress = listener.curves.get(mint)
        assert progress is not None
        held = (progress.virtual_sol_reserves, progress.virtual_token_reserves,
                progress.real_sol_reserves, progress.real_token_reserves)  # fmt: skip
        assert held == expected[:4]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _create_pool_cpi(keys: list[Pubkey], mint: Pubkey, pool: Pubkey, quote_in: int,
                     base_in: int, coin_creator: Pubkey) -> storage.InnerInstruction:  # fmt: skip
    """PumpSwap ``create_pool`` as pump's migrate CPIs it (pump_amm.json account order, signed by
    the pool authority), compiled against the migrate transaction's keys."""
    authority = amm.pool_authority_address(mint)
    lp_mint = amm.lp_mint_address(pool)
    spl, t22 = tix.TOKEN_PROGRAM_ID, tix.TOKEN_2022_PROGRAM_ID
    accounts = [
        pool, amm.GLOBAL_CONFIG, authority, mint, tix.WSOL_MINT, lp_mint,
        tix.associated_token_address(authority, mint, t22),
        tix.associated_token_address(authority, tix.WSOL_MINT, spl),
        tix.associated_token_address(authority, lp_mint, t22),
        tix.associated_token_address(pool, mint, t22),
        tix.associated_token_address(pool, tix.WSOL_MINT, spl),
        tix.SYSTEM_PROGRAM_ID, t22, t22, spl, tix.ASSOCIATED_TOKEN_PROGRAM_ID,
        amm.EVENT_AUTHORITY, amm.PUMP_AMM_PROGRAM_ID,
    ]  # fmt: skip
    data = (bytes([233, 146, 209, 142, 207, 104, 64, 188])
            + struct.pack("<HQQ", 0, base_in, quote_in)
            + bytes(coin_creator) + bytes(5))  # fmt: skip
    return storage.InnerInstruction(
        program_id_index=keys.index(amm.PUMP_AMM_PROGRAM_ID),
        accounts=bytes(keys.index(a) for a in accounts), data=data, stack_height=2,
    )  # fmt: skip


def test_a_migrate_with_its_create_pool_cpi_is_one_launch_of_the_pool() -> None:
    cluster = Cluster(seed=73, slot_ms=None)
    pump.install(cluster)
    pad = PumpLaunchpad(cluster, 73)
    creator, buyer = Keypair(), Keypair()
    cluster.airdrop(creator.pubkey(), 5 * SOL)
    cluster.airdrop(buyer.pubkey(), 200 * SOL)
    launch = pad.launch(creator, name="Grad", symbol="GRAD", dev_buy_lamports=SOL)
    graduation = pad.graduate(launch.mint, buyer)
    outcome = cluster.history.get(Signature.from_string(graduation.migrate_signature))
    assert outcome is not None
    assert outcome.transaction is not None
    info = transaction_info(outcome, 0, ([], []))
    keys = list(outcome.transaction.message.account_keys)
    migrate_index = 1  # after the compute budget instruction
    info.meta.inner_instructions.append(storage.InnerInstructions(
        index=migrate_index,
        instructions=[_create_pool_cpi(keys, launch.mint, graduation.pool, SOL, 1,
                                       creator.pubkey())],
    ))  # fmt: skip
    update = pb.SubscribeUpdate(
        filters=["pumpfun", "pools"],
        transaction=pb.SubscribeUpdateTransaction(transaction=info, slot=outcome.slot),
    )
    listener = GeyserListener(GeyserConfig("http://127.0.0.1:1"), Metrics())
    decoded = listener.decode(update, 1.0)
    assert decoded is not None
    [pool] = decoded.launches  # the migrate and its CPI tell the same pool: one launch
    assert (pool.source, pool.mint, pool.pool) == ("pumpswap", str(launch.mint),
                                                   str(graduation.pool))  # fmt: skip
    assert pool.signature == graduation.migrate_signature
    assert pool.creator == str(creator.pubkey())  # the migrate names none: the CPI's coin_creator
