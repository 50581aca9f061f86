"""The PumpSwap venue on localnet, end to end: a coin launched on pump.fun and graduated
(`net.launchpad.graduate`: curve bought out, migrated to its canonical pool) is bought and sold
through `TradingService` with `PumpSwapVenue` over the real `SolanaRpc` (built like
tests/trading/conftest.py, the venue swapped for ours), every lamport and token accounted for;
a price that moves between quote and send fails with our slippage error and sentence; the
compute-unit limits cover what the transactions measure.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from localnet.node import Localnet
from localnet.pumpswap.market import PumpSwapMarket
from localnet.testing import running_localnet
from sniper_bot.chain.rpc import SolanaRpc
from sniper_bot.domain.entities import Order
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.money import WSOL_MINT
from sniper_bot.domain.orders import USER_SENTENCES, OrderErrorType, OrderSide, OrderStatus
from sniper_bot.domain.wallets import SealedSecret
from sniper_bot.observability.metrics import Metrics
from sniper_bot.solana import pumpswap as ps
from sniper_bot.solana.tx_errors import classify_tx_error
from sniper_bot.storage import Database, Repositories
from sniper_bot.trading.executor import Boundary, ExecutorConfig, SwapExecutor
from sniper_bot.trading.service import TradingService
from sniper_bot.trading.venues.pumpswap import COMPUTE_UNITS, PumpSwapVenue
from sniper_bot.trading.venues.router import VenueRouter
from sniper_bot.trading.verify import VerifyPolicy, sign_swap, verify_swap

from ..conftest import SLOT_MS, SOL, Key, build_rpc

TOKEN_2022 = Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
TOKEN = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")


@dataclass
class SwapEnv:
    net: Localnet
    rpc: SolanaRpc
    venue: PumpSwapVenue
    repos: Repositories
    metrics: Metrics
    user_id: int
    key: Key
    mint: Pubkey
    pool: Pubkey
    market: PumpSwapMarket

    def service(self, boundary: Boundary | None = None, *, routed: bool = False) -> TradingService:
        # routed: through the VenueRouter the app wires (no pump.fun curve, no Jupiter here: the
        # router's fallback slot holds the same venue), so its error explanation is exercised too
        venue = VenueRouter(self.venue, pumpswap=self.venue) if routed else self.venue
        executor = SwapExecutor(
            venue=venue, rpc=self.rpc, orders=self.repos.orders, trades=self.repos.trades,
            metrics=self.metrics, boundary=boundary,
            config=ExecutorConfig(poll_interval_s=0.01, resend_interval_s=0.1,
                                  land_deadline_s=10.0),
        )  # fmt: skip
        key = self.key

        class Signers:
            async def signer(self, user_id: int, wallet_id: int | None = None) -> Any:
                return key

        return TradingService(
            executor=executor, orders=self.repos.orders, signers=Signers(), metrics=self.metrics,
            max_priority_fee_lamports=1_000_000,
        )  # fmt: skip

    def lamports(self, key: Pubkey) -> int:
        return int(self.net.cluster.get_balance(key))

    def amount(self, key: Pubkey) -> int:
        acc = self.net.cluster.get_account(key)
        return 0 if acc is None or not acc.data else ps.token_account_amount(bytes(acc.data))

    def tokens(self) -> int:
        return self.amount(ps.associated_token_address(self.key.pubkey, self.mint, TOKEN_2022))


@pytest.fixture
async def swap(pg_url: str) -> AsyncIterator[SwapEnv]:
    async with (
        running_localnet(seed=14, slot_ms=SLOT_MS) as net,
        aiohttp.ClientSession() as session,
    ):
        db = Database(pg_url, pool_size=5)
        await db.connect(attempts=1)
        await db.upgrade()
        repos = Repositories.build(db)
        creator, buyer, kp = Keypair(), Keypair(), Keypair()
        for who, sol in ((creator, 10), (buyer, 200), (kp, 20)):
            net.cluster.airdrop(who.pubkey(), sol * SOL)
        launch = net.launchpad.launch(creator, name="Grad", symbol="GRAD", dev_buy_lamports=SOL)
        graduation = net.launchpad.graduate(launch.mint, buyer)
        user = await repos.users.get_or_create(1414, "trader")
        wallet = await repos.wallets.create(
            user.id, str(kp.pubkey()), SealedSecret("k1", b"s" * 16, b"n" * 12, b"c" * 80), "main"
        )
        metrics = Metrics()
        rpc = build_rpc(net, session, metrics)
        venue = PumpSwapVenue(rpc, rng=random.Random(5))
        try:
            yield SwapEnv(net, rpc, venue, repos, metrics, user.id, Key(wallet.id, kp.pubkey(), kp),
                          launch.mint, graduation.pool, PumpSwapMarket(net.cluster, 3))  # fmt: skip
        finally:
            await rpc.pool.close()
            await db.dispose()


async def test_pool_lookup_tells_graduated_coins_apart(swap: SwapEnv) -> None:
    state = await swap.venue.pool_for_mint(str(swap.mint))
    assert state is not None
    assert state.address == swap.pool == ps.canonical_pool_address(swap.mint)
    pool = state.pool
    assert pool.base_mint == swap.mint
    assert pool.quote_mint == ps.NATIVE_MINT
    assert pool.has_coin_creator
    assert pool.is_pump_pool
    assert state.base_reserve == swap.amount(pool.pool_base_token_account) > 0
    assert state.quote_reserve == swap.amount(pool.pool_quote_token_account) > 0
    assert state.base_token_program == TOKEN_2022
    again = await swap.venue.read_pool(swap.pool)  # warm: one read of pool, vaults and mint
    assert again == state
    # a coin still on its curve has no pool; neither has a mint that never launched
    other = Keypair()
    swap.net.cluster.airdrop(other.pubkey(), SOL)
    on_curve = swap.net.launchpad.launch(other, name="Live", symbol="LIVE")
    assert await swap.venue.pool_for_mint(on_curve.mint) is None
    assert await swap.venue.pool_for_mint(Keypair().pubkey()) is None


async def test_buy_then_sell_accounted_to_the_lamport(swap: SwapEnv) -> None:
    service, owner = swap.service(), swap.key.pubkey
    pool = (await swap.venue.pool_for_mint(swap.mint)).pool  # type: ignore[union-attr]
    vault_ata = ps.coin_creator_vault_ata(pool.coin_creator, ps.NATIVE_MINT, TOKEN)
    quote = await swap.venue.quote(WSOL_MINT, str(swap.mint), SOL // 2, 100)
    raw = quote.raw
    internal = ps.buy_quote_input(
        SOL // 2, 100, int(raw["base_reserve"]), int(raw["quote_reserve"]),
        int(raw["virtual_quote_reserves"]), ps.Fees(*raw["fees_bps"]), coin_creator=True,
    ).internal_quote_without_fees  # fmt: skip
    lp, protocol, creator = (ps.fee(internal, bps) for bps in raw["fees_bps"])
    watched = [pool.pool_quote_token_account, vault_ata]
    before = [swap.amount(k) for k in watched]
    recipients_before = _recipients_wsol(swap)
    sol_before = swap.lamports(owner)

    bought = await service.buy(swap.user_id, None, str(swap.mint), SOL // 2, 100, FeeLevel.LOW,
                               "pumpswap-buy")  # fmt: skip
    assert bought.status is OrderStatus.CONFIRMED, bought.error
    assert bought.out_amount == swap.tokens() == quote.out_amount  # the pool did not move
    rent = _rent(swap, ps.associated_token_address(owner, swap.mint, TOKEN_2022))
    rent += _rent(swap, ps.user_volume_accumulator(owner))  # a first buy creates both
    paid = internal + lp + protocol + creator  # the SDK's math: the budget minus the change
    assert paid <= SOL // 2
    assert bought.in_amount == paid + rent
    assert sol_before - swap.lamports(owner) == bought.in_amount + bought.fee_lamports
    assert swap.amount(pool.pool_quote_token_account) - before[0] == internal + lp
    assert swap.amount(vault_ata) - before[1] == creator
    assert _recipients_wsol(swap) - recipients_before == protocol
    assert swap.net.cluster.get_account(ps.associated_token_address(owner, ps.NATIVE_MINT,
                                                                    TOKEN)) is None  # fmt: skip

    tokens = swap.tokens()
    sell_quote = await swap.venue.quote(str(swap.mint), WSOL_MINT, tokens, 100)
    sol_before = swap.lamports(owner)
    sold = await service.sell(swap.user_id, None, str(swap.mint), tokens, 100, FeeLevel.LOW,
                              "pumpswap-sell")  # fmt: skip
    assert sold.status is OrderStatus.CONFIRMED, sold.error
    assert sold.in_amount == tokens
    assert swap.tokens() == 0
    assert sold.out_amount == sell_quote.out_amount  # WSOL account rent comes back on close
    assert swap.lamports(owner) - sol_before == sold.out_amount - sold.fee_lamports


def _recipients_wsol(swap: SwapEnv) -> int:
    """WSOL held by every protocol and buyback fee recipient (the protocol fee is split)."""
    acc = swap.net.cluster.get_account(ps.GLOBAL_CONFIG)
    assert acc is not None
    config = ps.decode_global_config(bytes(acc.data))
    owners = (*config.protocol_fee_recipients, *config.buyback_fee_recipients)
    return sum(swap.amount(ps.associated_token_address(o, ps.NATIVE_MINT, TOKEN)) for o in owners)


def _rent(swap: SwapEnv, key: Pubkey) -> int:
    acc = swap.net.cluster.get_account(key)
    assert acc is not None
    return int(swap.net.cluster.svm.minimum_balance_for_rent_exemption(len(acc.data)))


@pytest.mark.parametrize("routed", [False, True], ids=["venue", "router"])
@pytest.mark.parametrize("side", ["buy", "sell"])
async def test_price_moving_after_the_quote_is_our_slippage_error(
    swap: SwapEnv, side: str, routed: bool
) -> None:
    other = Keypair()
    swap.net.cluster.airdrop(other.pubkey(), 50 * SOL)
    if side == "sell":  # the wallet holds tokens to sell; the other trader will sell first
        held = await swap.service().buy(swap.user_id, None, str(swap.mint), SOL, 100,
                                        FeeLevel.LOW, "setup")  # fmt: skip
        assert held.status is OrderStatus.CONFIRMED
        swap.market.buy(swap.mint, other, lamports=5 * SOL)
    moved = asyncio.Event()

    async def trade_in_between(stage: str, order: Order) -> None:
        if stage == "quoted" and not moved.is_set():  # quoted, not yet signed and simulated
            moved.set()
            if side == "buy":
                swap.market.buy(swap.mint, other, lamports=3 * SOL)
            else:
                swap.market.sell(swap.mint, other, tokens=swap.market.token_balance(
                    swap.mint, other.pubkey()))  # fmt: skip

    service = swap.service(boundary=trade_in_between, routed=routed)
    tokens_before, sol_before = swap.tokens(), swap.lamports(swap.key.pubkey)
    if side == "buy":
        order = await service.buy(swap.user_id, None, str(swap.mint), SOL, 1, FeeLevel.LOW, "b0")
    else:
        order = await service.sell(swap.user_id, None, str(swap.mint), tokens_before, 1,
                                   FeeLevel.LOW, "s0")  # fmt: skip
    assert moved.is_set()
    assert order.status is OrderStatus.FAILED
    assert order.error is not None
    assert order.error.type is OrderErrorType.SLIPPAGE_EXCEEDED, order.error
    code = 6040 if side == "buy" else 6004  # BuySlippageBelowMinBaseAmountOut / ExceededSlippage
    assert order.error.details["custom"] == code
    assert order.error.details["venue"] == "pumpswap"
    assert order.error.user_message == USER_SENTENCES[OrderErrorType.SLIPPAGE_EXCEEDED]
    assert "Raise slippage" in order.error.user_message
    # refused in simulation: nothing was sent, nothing moved
    assert order.signature is None
    assert (swap.tokens(), swap.lamports(swap.key.pubkey)) == (tokens_before, sol_before)


async def test_compute_unit_limits_cover_measured_usage(swap: SwapEnv) -> None:
    """Each kind's transaction, worst case (a fresh wallet: base ATA and volume accumulator
    created), simulated: the units it consumes stay under the limit the venue sets."""
    owner = swap.key.pubkey
    measured: dict[str, int] = {}
    for kind, (src, dst, amount, mode) in {
        "buy_exact_quote_in": (WSOL_MINT, str(swap.mint), SOL, "ExactIn"),
        "buy": (WSOL_MINT, str(swap.mint), 10**9, "ExactOut"),
    }.items():
        quote = await swap.venue.quote(src, dst, amount, 100, swap_mode=mode)  # type: ignore[arg-type]
        assert quote.raw["kind"] == kind
        measured[kind] = await _simulate(swap, quote, owner)
    held = await swap.service().buy(swap.user_id, None, str(swap.mint), SOL, 100, FeeLevel.LOW,
                                    "cu-setup")  # fmt: skip
    assert held.status is OrderStatus.CONFIRMED
    quote = await swap.venue.quote(str(swap.mint), WSOL_MINT, swap.tokens(), 100)
    measured["sell"] = await _simulate(swap, quote, owner)
    print("PumpSwap compute units measured on localnet:", measured, "limits:", dict(COMPUTE_UNITS))
    for kind, units in measured.items():
        assert 0 < units <= COMPUTE_UNITS[kind], (kind, units)  # type: ignore[index]


async def _simulate(swap: SwapEnv, quote: Any, owner: Pubkey) -> int:
    built = await swap.venue.build_swap(quote, str(owner), priority_fee_lamports=10_000)
    assert built.compute_unit_limit == COMPUTE_UNITS[quote.raw["kind"]]
    tx = VersionedTransaction.from_bytes(built.tx_bytes)
    assert len(built.tx_bytes) <= 1232
    side = OrderSide.SELL if quote.raw["kind"] == "sell" else OrderSide.BUY
    policy = VerifyPolicy(max_priority_fee_lamports=10_000)
    verified = verify_swap(tx, user=owner, quote=quote, side=side, policy=policy)
    signed = sign_swap(verified, swap.key.sign_message)
    result = await swap.rpc.simulate_transaction(signed, sig_verify=True)
    assert result.err is None, result.logs[-8:]
    assert result.units_consumed is not None
    return int(result.units_consumed)


@pytest.mark.parametrize("corrupt", ["coin_creator", "pool_v2"])
async def test_a_wrong_account_is_a_bug_report_not_a_retry(swap: SwapEnv, corrupt: str) -> None:
    """The swap built from a quote whose accounts are wrong (a stale coin creator: the creator
    vault PDA does not match; no coin creator: the pool-v2 account is left out) is refused by
    the program in simulation, and the venue explains it as a bug to report, not a market state
    to retry (never NO_ROUTE, which the snipe engine retries)."""
    owner = swap.key.pubkey
    quote = await swap.venue.quote(WSOL_MINT, str(swap.mint), SOL // 10, 100)
    wrong = Keypair().pubkey() if corrupt == "coin_creator" else Pubkey.default()
    bad = replace(quote, raw={**quote.raw, "coin_creator": str(wrong)})
    built = await swap.venue.build_swap(bad, str(owner), priority_fee_lamports=None)
    tx = VersionedTransaction.from_bytes(built.tx_bytes)
    policy = VerifyPolicy(max_priority_fee_lamports=0)
    verified = verify_swap(tx, user=owner, quote=bad, side=OrderSide.BUY, policy=policy)
    result = await swap.rpc.simulate_transaction(sign_swap(verified, swap.key.sign_message))
    assert result.err is not None
    generic = classify_tx_error(result.err, program_ids=verified.program_ids, logs=result.logs,
                                stage="simulation")  # fmt: skip
    error = swap.venue.explain(generic, verified.program_ids, result.logs)
    assert error.type is OrderErrorType.REJECTED, error
    assert error.details["bug"] is True
    assert error.details["custom"] in (2006, 6023, 6062), error
    assert "bug" in error.message
