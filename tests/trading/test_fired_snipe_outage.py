"""PostgreSQL is away when the hot path's background task records a fired snipe: the insert is
retried (the buy is on chain: it must be recorded) until the database is back, then the order
lands as usual. A private cluster, stopped and started again; localnet for the chain."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from solders.keypair import Keypair

from hotpath.conftest import Chain
from sniper_bot.domain.orders import OrderStatus
from sniper_bot.hotpath.build import build_curve_buy
from sniper_bot.hotpath.nonce import NonceManager, RpcNonceChain
from sniper_bot.wallet.sessions import UnlockedWallet
from support.services import PostgresServer, postgres_server

from . import test_fired_snipe as fired
from .conftest import SOL, Env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pg_server() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture
async def pg_url(pg_server: PostgresServer) -> str:
    """Overrides the shared fixture: the test's database lives on the private cluster."""
    return await pg_server.create_database(f"fired_{uuid.uuid4().hex[:12]}")


async def test_a_fired_snipe_recorded_through_a_database_outage_confirms(
    env: Env, pg_server: PostgresServer
) -> None:
    raw = RpcNonceChain(env.rpc)
    nonces = NonceManager(raw, poll_s=0.01, confirm_timeout_s=10.0)
    user = UnlockedWallet(
        user_id=env.user_id, wallet_id=env.key.wallet_id, pubkey=env.key.pubkey,
        keypair=env.key.keypair,
    )  # fmt: skip
    tip_account = Keypair().pubkey()
    env.net.cluster.airdrop(tip_account, SOL)
    hot = fired.Hot(
        env, nonces, fired.service(env, nonces, raw), Chain(env.net, env.rpc, nonces, user),
        tip_account,
    )  # fmt: skip
    prepared, target = await hot.arm()
    launch = await hot.launch()
    signed = build_curve_buy(prepared, launch)
    await hot.send(signed)  # on the wire before any write, as the hot path does

    await asyncio.to_thread(pg_server.stop, "fast")
    recording = asyncio.create_task(hot.record(signed, launch.mint, target))
    await asyncio.sleep(1.5)
    assert not recording.done()  # waiting for the database, not failed
    await asyncio.to_thread(pg_server.start)
    order = await asyncio.wait_for(recording, 60)
    assert order.status is OrderStatus.SENT
    final = await hot.final(order)
    assert final.status is OrderStatus.CONFIRMED, final
    assert final.out_amount == signed.token_amount == hot.held(launch)
    assert [o.id for o in await env.repos.orders.list_for_user(env.user_id)] == [order.id]
