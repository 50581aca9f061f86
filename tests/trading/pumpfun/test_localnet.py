"""The pump.fun venue behind the router, on localnet's pump program, through TradingService and
PostgreSQL: buys and sells on the curve accounted to the lamport, the program's slippage error
as our sentence, a completed curve routed to PumpSwap (before the quote and while the order is in
flight), the creator vault from the curve, the compute units it really uses."""

from __future__ import annotations

from typing import Any

import pytest
from solders.keypair import Keypair
from solders.message import to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.token.state import TokenAccount
from solders.transaction import VersionedTransaction

from sniper_bot.domain.entities import Order
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.money import WSOL_MINT
from sniper_bot.domain.orders import USER_SENTENCES, OrderErrorType, OrderStatus
from sniper_bot.solana import pumpfun as pf
from sniper_bot.trading.executor import ExecutorConfig, SwapExecutor
from sniper_bot.trading.service import TradingService
from sniper_bot.trading.venues.pumpfun import PumpFunVenue
from sniper_bot.trading.venues.pumpfun import curve as math
from sniper_bot.trading.venues.pumpfun.errors import (
    GRADUATED_ELSEWHERE_SENTENCE,
    CurveCompleteError,
)
from sniper_bot.trading.venues.pumpfun.venue import BUY_COMPUTE_UNITS, SELL_COMPUTE_UNITS
from sniper_bot.trading.venues.pumpswap import PumpSwapVenue
from sniper_bot.trading.venues.router import VenueRouter, force_venue

from ..conftest import SOL, Env


class Signers:
    def __init__(self, env: Env) -> None:
        self.env = env

    async def signer(self, user_id: int, wallet_id: int | None = None) -> Any:
        return self.env.key


def router(env: Env, *, pumpswap: bool = True) -> VenueRouter:
    return VenueRouter(
        env.venue,
        pumpfun=PumpFunVenue(env.rpc),
        pumpswap=PumpSwapVenue(env.rpc) if pumpswap else None,
    )


def service(env: Env, venue: VenueRouter, boundary: Any = None) -> TradingService:
    executor = SwapExecutor(
        venue=venue, rpc=env.rpc, orders=env.repos.orders, trades=env.repos.trades,
        metrics=env.metrics, boundary=boundary,
        config=ExecutorConfig(poll_interval_s=0.01, resend_interval_s=0.1, land_deadline_s=10.0,
                              cosigners="presigned"),
    )  # fmt: skip
    return TradingService(
        executor=executor, orders=env.repos.orders, signers=Signers(env), metrics=env.metrics,
        max_priority_fee_lamports=1_000_000,
    )  # fmt: skip


def launch(env: Env, *, dev_buy: int = SOL // 2) -> Pubkey:
    creator = Keypair()
    env.net.cluster.airdrop(creator.pubkey(), 20 * SOL)
    done = env.net.launchpad.launch(creator, name="Moon", symbol="MOON", dev_buy_lamports=dev_buy)
    return Pubkey.from_string(str(done.mint))


def lamports(env: Env, key: Pubkey) -> int:
    acc = env.net.cluster.get_account(key)
    return 0 if acc is None else int(acc.lamports)


def tokens(env: Env, mint: Pubkey) -> int:
    ata = pf.associated_token_address(env.key.pubkey, mint, pf.TOKEN_2022_PROGRAM_ID)
    acc = env.net.cluster.get_account(ata)
    return (
        0
        if acc is None or not acc.data
        else int(TokenAccount.from_bytes(bytes(acc.data[:165])).amount)
    )


async def buy(trading: TradingService, env: Env, mint: Pubkey, amount: int, key: str,
              slippage_bps: int = 100) -> Order:  # fmt: skip
    return await trading.buy(env.user_id, env.key.wallet_id, str(mint), amount, slippage_bps,
                             FeeLevel.LOW, key)  # fmt: skip


async def test_buy_and_sell_on_the_curve_accounted_to_the_lamport(env: Env) -> None:
    mint = launch(env)
    venue = router(env)
    trading = service(env, venue)
    card = await venue.quote(WSOL_MINT, str(mint), SOL, 100)  # what the token card shows
    assert card.venue == "pumpfun"
    assert card.out_amount > 0
    state = await venue.pumpfun.state(mint)  # type: ignore[union-attr]
    g, fc, c = state.global_, state.fee_config, state.curve
    supply = math.mint_supply_for(c)
    want = math.buy_tokens_for_sol(g, fc, supply, c, SOL // 10)
    cost = math.buy_sol_for_tokens(g, fc, supply, c, want)
    vault = pf.creator_vault_address(c.creator)
    vault_before, wallet_before = lamports(env, vault), lamports(env, env.key.pubkey)

    bought = await buy(trading, env, mint, SOL // 10, "pump-buy-1")
    assert bought.status is OrderStatus.CONFIRMED, bought.error
    assert bought.quote is not None
    assert bought.quote["venue"] == "pumpfun"
    assert bought.out_amount == want == tokens(env, mint)
    ata = pf.associated_token_address(env.key.pubkey, mint, pf.TOKEN_2022_PROGRAM_ID)
    uva = pf.user_volume_accumulator_address(env.key.pubkey)
    rent = lamports(env, ata) + lamports(env, uva)  # the accounts this first buy opened
    assert bought.in_amount == cost + rent  # curve + protocol + creator fees + rent, exactly
    assert wallet_before - lamports(env, env.key.pubkey) == bought.in_amount + bought.fee_lamports
    assert lamports(env, vault) > vault_before  # the creator's vault from the curve got its fee
    after = (await venue.pumpfun.state(mint)).curve  # type: ignore[union-attr]
    assert after.real_token_reserves == c.real_token_reserves - want

    held = tokens(env, mint)
    proceeds = math.sell_sol_for_tokens(g, fc, supply, after, held)
    wallet_before = lamports(env, env.key.pubkey)
    sold = await trading.sell(env.user_id, env.key.wallet_id, str(mint), held, 100,
                              FeeLevel.LOW, "pump-sell-1")  # fmt: skip
    assert sold.status is OrderStatus.CONFIRMED, sold.error
    assert (sold.in_amount, sold.out_amount) == (held, proceeds)
    assert lamports(env, env.key.pubkey) - wallet_before == proceeds - sold.fee_lamports
    assert tokens(env, mint) == 0


async def test_a_price_that_runs_past_max_sol_cost_fails_with_our_slippage_sentence(
    env: Env,
) -> None:
    mint = launch(env)
    whale = Keypair()
    env.net.cluster.airdrop(whale.pubkey(), 50 * SOL)

    async def boundary(name: str, order: Order) -> None:
        if name == "quoted":  # another trader buys between our quote and our simulation
            env.net.launchpad.buy(mint, whale, lamports=5 * SOL)

    trading = service(env, router(env), boundary)
    wallet_before = lamports(env, env.key.pubkey)
    order = await buy(trading, env, mint, SOL // 10, "pump-slip", slippage_bps=100)
    assert order.status is OrderStatus.FAILED
    assert order.error is not None
    assert order.error.type is OrderErrorType.SLIPPAGE_EXCEEDED
    assert order.error.details.get("custom") == 6002
    assert order.error.user_message == USER_SENTENCES[OrderErrorType.SLIPPAGE_EXCEEDED]
    assert lamports(env, env.key.pubkey) == wallet_before  # failed in simulation: nothing spent


async def test_a_graduated_coin_is_bought_on_pumpswap(env: Env) -> None:
    mint = launch(env)
    grad = Keypair()
    env.net.cluster.airdrop(grad.pubkey(), 200 * SOL)
    env.net.launchpad.graduate(mint, grad)
    venue = router(env)
    with pytest.raises(CurveCompleteError):
        await venue.pumpfun.quote(WSOL_MINT, str(mint), SOL, 100)  # type: ignore[union-attr]
    order = await buy(service(env, venue), env, mint, SOL // 10, "pump-graduated")
    assert order.status is OrderStatus.CONFIRMED, order.error
    assert order.quote is not None
    assert order.quote["venue"] == "pumpswap"
    assert order.out_amount is not None
    assert order.out_amount == tokens(env, mint) > 0


async def test_graduation_while_the_order_is_in_flight_finishes_on_pumpswap_once(
    env: Env,
) -> None:
    mint = launch(env)
    grad = Keypair()
    env.net.cluster.airdrop(grad.pubkey(), 200 * SOL)
    seen: list[str] = []

    async def boundary(name: str, order: Order) -> None:
        seen.append(name)
        if name == "quoted" and seen.count("quoted") == 1:  # the curve completes meanwhile
            env.net.launchpad.graduate(mint, grad)

    order = await buy(service(env, router(env), boundary), env, mint, SOL // 10, "pump-in-flight")
    assert order.status is OrderStatus.CONFIRMED, order.error
    assert order.quote is not None
    assert order.quote["venue"] == "pumpswap"
    assert seen.count("quoted") == 2
    assert seen.count("signed") == 1  # one transaction ever signed
    assert order.out_amount == tokens(env, mint) > 0


async def test_graduation_in_flight_without_pumpswap_fails_with_the_graduation_sentence(
    env: Env,
) -> None:
    mint = launch(env)
    grad = Keypair()
    env.net.cluster.airdrop(grad.pubkey(), 200 * SOL)

    async def boundary(name: str, order: Order) -> None:
        if name == "quoted":
            env.net.launchpad.graduate(mint, grad)

    order = await buy(service(env, router(env, pumpswap=False), boundary), env, mint, SOL // 10,
                      "pump-no-amm")  # fmt: skip
    assert order.status is OrderStatus.FAILED
    assert order.error is not None
    assert order.error.details.get("custom") == 6005
    assert order.error.type is OrderErrorType.NO_ROUTE  # a snipe retries it, routed anew
    assert order.error.user_message == GRADUATED_ELSEWHERE_SENTENCE


async def test_forcing_jupiter_skips_the_curve(env: Env) -> None:
    mint = launch(env)
    venue = router(env)
    with force_venue("jupiter"):
        trading = service(env, venue)
        order = await buy(trading, env, mint, SOL // 10, "pump-forced")
    assert order.status is OrderStatus.FAILED  # localnet's Jupiter does not route curve coins
    assert order.error is not None
    assert order.error.type is OrderErrorType.NO_ROUTE
    assert order.quote is None or order.quote.get("venue") != "pumpfun"


async def test_compute_units_measured_fit_the_limits_we_set(env: Env) -> None:
    """The limits in the venue are from this measurement (localnet: inner programs' real units
    plus localnet's fixed amount per pump instruction)."""
    mint = launch(env)
    venue = router(env)
    user = str(env.key.pubkey)
    used = {}
    for side, amount in (("buy", SOL // 10), ("sell", 10**9)):
        if side == "sell":
            await buy(service(env, venue), env, mint, SOL // 10, "pump-cu")
        src, dst = (WSOL_MINT, str(mint)) if side == "buy" else (str(mint), WSOL_MINT)
        q = await venue.quote(src, dst, amount, 500)
        swap = await venue.build_swap(q, user, priority_fee_lamports=None)
        tx = VersionedTransaction.from_bytes(swap.tx_bytes)
        signed = VersionedTransaction.populate(
            tx.message, [env.key.sign_message(to_bytes_versioned(tx.message))]
        )
        sim = await env.rpc.simulate_transaction(signed)
        assert sim.err is None, sim.logs
        assert sim.units_consumed is not None
        used[side] = sim.units_consumed
    print(f"pump.fun compute units used on localnet: {used}")
    # the limits keep headroom for the program's branches localnet does not take, no more
    assert used["buy"] <= BUY_COMPUTE_UNITS <= 3 * used["buy"]
    assert used["sell"] <= SELL_COMPUTE_UNITS <= 3 * used["sell"]


def wallet_history(env: Env) -> list[Any]:
    """Transactions that loaded the test wallet, newest first."""
    cluster = env.net.cluster
    return cluster.history.signatures_for_address(
        env.key.pubkey, max_slot=cluster.slot + 1, limit=100
    )


async def test_a_cached_blockhash_the_chain_already_forgot_is_rebuilt_not_failed(env: Env) -> None:
    """A node that catches up in a burst (localnet after a stalled event loop, a lagging RPC)
    can outrun the cache's height estimate: the cache still trusts a hash the chain has expired.
    The swap is built locally on that hash, so the simulation answers BlockhashNotFound; nothing
    was sent, so the executor drops the hash and rebuilds instead of failing the order."""
    mint = launch(env)
    trading = service(env, router(env))
    cache = env.rpc.blockhash_cache
    old_hash, _ = await cache.refresh()
    env.net.cluster.advance_slots(200)  # past the 150-block window: the chain forgets old_hash
    height = await env.rpc.get_block_height()
    # the cache's misjudgment, as the burst leaves it: the forgotten hash, believed valid
    cache._value = (old_hash, height + 1_000)
    assert await env.rpc.recent_blockhash() == (old_hash, height + 1_000)

    before = [o.signature for o in wallet_history(env)]
    bought = await buy(trading, env, mint, SOL // 10, "stale-hash-buy")

    assert bought.status is OrderStatus.CONFIRMED, bought.error
    assert tokens(env, mint) == bought.out_amount > 0
    assert bought.signature is not None
    landed = env.net.cluster.history.get(Signature.from_string(bought.signature))
    assert landed is not None
    assert landed.ok
    # the wallet's only new transaction is the landed buy: the stale build never reached the chain
    assert [o.signature for o in wallet_history(env)] == [landed.signature, *before]
    cached = cache.peek()
    assert cached is None or cached[0] != old_hash
