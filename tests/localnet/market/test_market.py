"""Quotes and co-signed swaps on real pools; Jupiter's slippage failure where mainnet has it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from solders.keypair import Keypair

from localnet.cluster import Cluster
from localnet.market import JUPITER_PROGRAM_ID, Market
from localnet.market import instructions as ix
from localnet.market.market import sign_as_user
from localnet.market.pricing import TransferFee, constant_product_out, min_out, swap_exact_in
from localnet.tokens import TokenFactory

SOL = 10**9


def test_swap_is_a_v0_transaction_co_signed_by_the_pool_with_user_slot_empty(
    market: Market, factory: TokenFactory, trader: Keypair
) -> None:
    info = factory.create("honest")
    quote = market.quote(ix.WSOL_MINT, info.mint, SOL, 100)
    tx = market.build_swap(market.plan_swap(quote, trader.pubkey()), trader.pubkey(), quote.pool)
    assert tx.message.account_keys[0] == trader.pubkey()
    assert bytes(tx.signatures[0]) == bytes(64)
    assert tx.message.header.num_required_signatures == 2
    programs = [tx.message.account_keys[c.program_id_index] for c in tx.message.instructions]
    assert JUPITER_PROGRAM_ID in programs


def test_slippage_tolerance_exceeded_when_pool_moved_past_threshold(
    cluster: Cluster, market: Market, factory: TokenFactory, trader: Keypair
) -> None:
    info = factory.create("honest")
    quote = market.quote(ix.WSOL_MINT, info.mint, SOL, 50)
    plan = market.plan_swap(quote, trader.pubkey(), micro_lamports=1_000)
    tx = sign_as_user(market.build_swap(plan, trader.pubkey(), quote.pool), trader)
    whale = Keypair()
    cluster.airdrop(whale.pubkey(), 30 * SOL)
    assert market.trade(info.mint, whale, "buy", 20 * SOL).err is None  # front-run
    route_index = 3  # limit, price, create ATA, route
    expected = {"InstructionError": [route_index, {"Custom": 6001}]}
    sim = cluster.simulate_transaction(tx)
    assert sim.err == expected
    before = cluster.get_balance(trader.pubkey())
    out = cluster.send_transaction(tx)
    assert out.err == expected
    assert out.logs[-1] == f"Program {JUPITER_PROGRAM_ID} failed: custom program error: 0x1771"
    assert before - cluster.get_balance(trader.pubkey()) == out.fee  # fee charged, nothing else


def test_swap_within_tolerance_lands_and_moves_real_balances(
    cluster: Cluster, market: Market, factory: TokenFactory, trader: Keypair
) -> None:
    info = factory.create("honest")
    pool = market.pools[info.mint]
    sol0, tok0 = market.reserves(pool)
    out = market.trade(info.mint, trader, "buy", SOL)
    assert out.err is None
    assert any(line.startswith(f"Program {JUPITER_PROGRAM_ID} invoke") for line in out.logs)
    sol1, tok1 = market.reserves(pool)
    assert sol1 == sol0 + SOL
    assert tok0 - tok1 == constant_product_out(sol0, tok0, SOL, pool.fee_bps)


def test_route_delay_hides_new_pools(cluster: Cluster, factory: TokenFactory) -> None:
    from localnet.market import MarketError

    factory.market.route_delay_slots = 5
    info = factory.create("honest")
    with pytest.raises(MarketError) as exc:
        factory.market.quote(ix.WSOL_MINT, info.mint, SOL, 100)
    assert exc.value.code == "COULD_NOT_FIND_ANY_ROUTE"
    cluster.advance_slots(5)
    assert factory.market.quote(ix.WSOL_MINT, info.mint, SOL, 100).math.out_amount > 0


reserves = st.integers(min_value=1, max_value=10**18)


@given(reserves, reserves, st.integers(min_value=1, max_value=10**15), st.integers(0, 1_000))
def test_constant_product_never_lowers_k_and_never_empties_the_pool(
    r_in: int, r_out: int, amount: int, fee_bps: int
) -> None:
    out = constant_product_out(r_in, r_out, amount, fee_bps)
    assert 0 <= out < r_out
    assert (r_in + amount) * (r_out - out) >= r_in * r_out


@given(
    st.sampled_from(["buy", "sell"]),
    reserves,
    reserves,
    st.integers(min_value=1, max_value=10**15),
    st.integers(0, 10_000),
)
def test_transfer_fee_never_increases_what_the_user_gets(
    side: str, sol: int, tok: int, amount: int, fee_bps: int
) -> None:
    kw = {"amount_in": amount, "sol_reserve": sol, "token_reserve": tok, "pool_fee_bps": 25}
    plain = swap_exact_in(side=side, **kw)  # type: ignore[arg-type]
    taxed = swap_exact_in(side=side, transfer_fee=TransferFee(fee_bps, 2**64 - 1), **kw)  # type: ignore[arg-type]
    assert 0 <= taxed.out_amount <= plain.out_amount


@given(st.integers(0, 10**18), st.integers(0, 10_000))
def test_min_out_is_within_slippage(out: int, bps: int) -> None:
    threshold = min_out(out, bps)
    assert threshold <= out
    assert out - threshold <= out * bps // 10_000 + 1
