"""Many orders on one launch (hotpath.fanout): a fresh firing order per launch, and on localnet
(block building, 20 ms slots) 8 users' orders on one create go out as one JSON-RPC batch per RPC
endpoint, one risk decision, and each lands once."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import replace

import pytest

from localnet.launches.rivals import landing_slot
from sniper_bot.chain.relays import RelayFanout
from sniper_bot.detection.pumpfun import CreateSeen, PumpFunListener
from sniper_bot.hotpath import fanout
from sniper_bot.hotpath.book import ArmedBook
from sniper_bot.hotpath.build import CurveLaunch, PreparedBuy
from sniper_bot.hotpath.sniper import HotOrder, HotSniper, RiskDecision
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import BreakerConfig, BreakerRegistry, MemoryBreakerStore
from sniper_bot.solana import pumpfun as pf

from .conftest import SOL, Chain, wallet
from .test_build_localnet import arm, held
from .test_sniper_localnet import Collected, filter_target, landed, listen

USERS = 8


def test_every_launch_gets_a_fresh_order_and_anyone_may_go_first() -> None:
    entries = list(range(10))  # arming order
    rng = random.Random(15)
    orders = [fanout.launch_order(entries, rng) for _ in range(200)]
    assert all(sorted(o) == entries for o in orders)  # a permutation: nobody dropped
    assert orders[0] != orders[1]  # the order changes from launch to launch
    firsts = Counter(o[0] for o in orders)
    lasts = Counter(o[-1] for o in orders)
    assert set(firsts) == set(entries)  # everybody went first at least once
    assert set(lasts) == set(entries)
    assert max(firsts.values()) < 0.25 * len(orders)  # nobody is first most of the time
    again = random.Random(15)  # deterministic for a seed
    assert [fanout.launch_order(entries, again) for _ in range(200)] == orders
    assert entries == list(range(10))  # the caller's list is untouched


class CountingRisk:
    def __init__(self) -> None:
        self.calls = 0

    def decide(self, seen: CreateSeen, launch: CurveLaunch) -> RiskDecision:
        self.calls += 1
        return RiskDecision(True, "ok")


async def test_eight_users_orders_on_one_launch_go_out_as_one_batch_and_each_land_once(
    chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = [wallet(SOL, chain.net) for _ in range(USERS)]
    template = await arm(chain)
    nonces = await asyncio.gather(*(chain.nonces.create(u) for u in users))
    prepared: list[PreparedBuy] = [
        replace(template, user=u.pubkey, sign=u.sign_message, amount_lamports=SOL // 100,
                nonce_account=n.address, nonce_value=n.value)
        for u, n in zip(users, nonces, strict=True)
    ]  # fmt: skip
    metrics = Metrics()
    breakers = BreakerRegistry(MemoryBreakerStore(), BreakerConfig(), metrics)
    relay = RelayFanout(chain.rpc.pool, [], breakers, metrics, clock=time.monotonic)
    book: ArmedBook[HotOrder] = ArmedBook()
    targets = [replace(filter_target("many", 100 + k), user_id=100 + k) for k in range(USERS)]
    for target, buy in zip(targets, prepared, strict=True):
        book.add(target, HotOrder(buy, mev_protect=False))
    after, risk = Collected(), CountingRisk()
    sniper = HotSniper(book, relay, risk=risk, after=after)
    listen(chain, [PumpFunListener(on_create=sniper.on_create)])
    monkeypatch.setattr(fanout, "_RNG", random.Random(4))
    expected = [t.id for t in fanout.launch_order(targets, random.Random(4))]
    assert expected != [t.id for t in targets]  # this seed does not keep the arming order

    sends_before = {n: e.requests.get("sendTransaction", 0) for n, e in chain.net.endpoints.items()}
    done = chain.net.engine.launch_curve("curve", name="Many", symbol="MANY")
    for _ in range(300):
        if len(after.shots) == USERS:
            break
        await asyncio.sleep(0.01)
    await sniper.wait_idle(5.0)
    assert risk.calls == 1
    assert [s.target.id for s in after.shots] == expected  # fired in this launch's order
    assert all(s.send_error is None and s.dispatch is not None for s in after.shots)
    assert all(s.dispatch.wire_at is not None for s in after.shots)
    sends = {n: e.requests.get("sendTransaction", 0) - sends_before[n]
             for n, e in chain.net.endpoints.items()}  # fmt: skip
    assert sends == dict.fromkeys(chain.net.endpoints, 1)  # one batch per endpoint, not 8
    slots = []
    for shot in after.shots:
        assert shot.signed is not None
        slot = await landed(chain, shot.signed.signature)
        assert slot is not None
        slots.append(slot)
    create_slot = landing_slot(chain.net.cluster, done.create_signature)
    assert create_slot is not None
    for _ in range(5):  # more slots: nothing lands twice
        await asyncio.sleep(0.02)
    for shot in after.shots:  # each user holds what its own buy bought, once
        assert shot.signed is not None
        user = shot.order.prepared.user
        assert held(chain, user, done.mint, pf.TOKEN_2022_PROGRAM_ID) == shot.signed.token_amount
    print(f"\nslot deltas {[s - create_slot for s in slots]}")
