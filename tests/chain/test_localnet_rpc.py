"""SolanaRpc + RpcPool against localnet (LiteSVM behind mainnet-shaped RPC) with fault profiles."""

from __future__ import annotations

import pytest
from solders.keypair import Keypair

from localnet.faults import FaultProfile
from sniper_bot.chain.errors import RpcUnavailableError
from sniper_bot.chain.rpc import SolanaRpc
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import BreakerRegistry, BreakerState

from .conftest import ManualClock, Net, sample, transfer_tx


def requests_to(net: Net, name: str) -> int:
    return sum(net.endpoints[name].requests.values())


async def test_a_transfer_round_trip_through_the_facade(rpc: SolanaRpc, net: Net) -> None:
    payer, receiver = Keypair(), Keypair()
    await rpc.request_airdrop(payer.pubkey(), 2_000_000_000)
    assert await rpc.get_balance(payer.pubkey()) == 2_000_000_000
    assert await rpc.get_account_info(receiver.pubkey()) is None
    blockhash, last_valid = await rpc.recent_blockhash()
    assert last_valid > await rpc.get_block_height()

    tx = transfer_tx(payer, receiver.pubkey(), 1_000_000, blockhash)
    simulated = await rpc.simulate_transaction(tx)
    assert simulated.err is None
    signature = await rpc.send_transaction(tx, fanout=2)
    assert signature == tx.signatures[0]
    net.cluster.advance_slots(2)
    (status,) = await rpc.get_signature_statuses([signature])
    assert status is not None
    assert status.err is None
    landed = await rpc.get_transaction(signature)
    assert landed is not None
    assert landed.err is None
    receiver_index = landed.account_keys.index(receiver.pubkey())
    assert landed.post_balances[receiver_index] - landed.pre_balances[receiver_index] == 1_000_000
    accounts = await rpc.get_multiple_accounts([payer.pubkey(), Keypair().pubkey()])
    assert accounts[0] is not None
    assert accounts[1] is None


async def test_429_storm_on_helius_is_served_by_quicknode(
    rpc: SolanaRpc, net: Net, metrics: Metrics
) -> None:
    net.endpoints["helius"].set_profile(FaultProfile(http_429_rate=1.0, retry_after_s=30))
    for _ in range(10):
        assert await rpc.get_slot() > 0
    assert requests_to(net, "helius") == 1  # Retry-After: left alone afterwards
    assert requests_to(net, "quicknode") == 10
    assert (
        sample(metrics, "rpc_failovers_total", from_endpoint="helius", reason="rate_limited") == 1
    )


async def test_503_and_hangs_fail_over_within_the_deadline(rpc: SolanaRpc, net: Net) -> None:
    net.endpoints["helius"].set_profile(FaultProfile(http_503_rate=1.0))
    net.endpoints["quicknode"].set_profile(FaultProfile(hang_rate=1.0, hang_s=5))
    for _ in range(3):
        assert await rpc.get_slot() > 0
    assert requests_to(net, "public") == 3


async def test_node_behind_is_skipped(rpc: SolanaRpc, net: Net) -> None:
    net.endpoints["helius"].set_profile(FaultProfile(behind_rate=1.0))
    assert await rpc.get_slot() > 0
    assert requests_to(net, "quicknode") == 1


async def test_all_endpoints_down_then_back(
    rpc: SolanaRpc, net: Net, registry: BreakerRegistry, clock: ManualClock
) -> None:
    wallet = Keypair().pubkey()
    await rpc.request_airdrop(wallet, 1_000_000)
    before = await rpc.read_balance(wallet)
    fresh_hash, _ = await rpc.get_latest_blockhash()
    for ep in net.endpoints.values():
        ep.set_profile(FaultProfile(down=True))
    for _ in range(5):
        with pytest.raises(RpcUnavailableError):
            await rpc.get_slot()
    assert registry.get("rpc_pool").state() is BreakerState.OPEN
    stale = await rpc.read_balance(wallet)
    assert stale.stale
    assert stale.value == before.value == 1_000_000
    blockhash, _ = await rpc.get_latest_blockhash()  # the cached one, still valid
    assert blockhash == fresh_hash
    with pytest.raises(RpcUnavailableError, match="RPC unavailable"):
        await rpc.send_transaction(transfer_tx(Keypair(), wallet, 1, blockhash))

    for ep in net.endpoints.values():
        ep.set_profile(FaultProfile())
    clock.advance(31)
    for _ in range(2):
        assert await rpc.get_slot() > 0
    assert registry.get("rpc_pool").state() is BreakerState.CLOSED
    assert not (await rpc.read_balance(wallet)).stale
