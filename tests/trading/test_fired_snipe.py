"""A snipe the hot path fired (durable-nonce buy on the wire before any database write), stored
afterwards by ``TradingService.record_fired_snipe`` and landed through the landing lifecycle with
the nonce's expiry: localnet (LiteSVM executing the real pump.fun buy) and PostgreSQL.

The fired bytes are built as the hot path builds them (``hotpath.build.build_curve_buy`` for a
nonce armed by ``hotpath.nonce.NonceManager``) from the decoded create event of a real launch.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from hotpath.conftest import Chain
from hotpath.test_build_localnet import create_event
from sniper_bot.domain.entities import Order, OrderKind
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.launch import SnipeTarget
from sniper_bot.domain.orders import OrderErrorType, OrderSide, OrderStatus
from sniper_bot.hotpath.build import CurveLaunch, PreparedBuy, SignedBuy, build_curve_buy
from sniper_bot.hotpath.nonce import NonceManager, RpcNonceChain
from sniper_bot.solana import pumpfun as pf
from sniper_bot.trading.service import FiredSnipeError, TradingService, fired_snipe_key
from sniper_bot.wallet.sessions import UnlockedWallet

from .conftest import SOL, Env, Key

BUY = SOL // 20
TIP = 10_000


class Signers:
    def __init__(self, key: Key) -> None:
        self.key = key

    async def signer(self, user_id: int, wallet_id: int | None = None) -> Key:
        return self.key


@dataclass
class Hot:
    env: Env
    nonces: NonceManager
    service: TradingService
    chain: Chain
    tip_account: Pubkey

    async def arm(self) -> tuple[PreparedBuy, SnipeTarget]:
        """A nonce account of the user's wallet and an ARMED target owning it."""
        env = self.env
        nonce = await self.nonces.create(env.key)
        global_acc, fee_acc = await env.rpc.get_multiple_accounts([pf.GLOBAL, pf.FEE_CONFIG])
        assert global_acc is not None
        g = pf.decode_global(bytes(global_acc.data))
        fc = None if fee_acc is None else pf.decode_fee_config(bytes(fee_acc.data))
        prepared = PreparedBuy(
            user=env.key.pubkey, sign=env.key.sign_message, amount_lamports=BUY,
            slippage_bps=500, compute_unit_limit=120_000,
            compute_unit_price_micro_lamports=10_000, nonce_account=nonce.address,
            nonce_value=nonce.value, global_=g, fee_config=fc,
            fee_recipient=g.fee_recipients_for(False)[0],
            mayhem_fee_recipient=g.fee_recipients_for(True)[0],
            buyback_fee_recipient=g.buyback_fee_recipients[0],
        )  # fmt: skip
        target = await env.repos.snipes.arm(
            user_id=env.user_id, wallet_id=env.key.wallet_id, creator=str(Keypair().pubkey()),
            amount_lamports=BUY, slippage_bps=500, priority_fee=FeeLevel.LOW,
            expires_at=datetime.now(UTC) + timedelta(hours=1),
            nonce_account=str(nonce.address), nonce_value=str(nonce.value),
        )  # fmt: skip
        return prepared, target

    async def launch(self) -> CurveLaunch:
        event, instruction = await create_event(self.chain)
        return CurveLaunch.from_create_event(event, instruction)

    def tipped(self, prepared: PreparedBuy) -> PreparedBuy:
        """The same order as another replica might sign it: with a Jito tip (other bytes)."""
        return dataclasses.replace(prepared, tip_lamports=TIP, tip_account=self.tip_account)

    async def send(self, signed: SignedBuy) -> None:
        """Every relay accepts the same bytes (no preflight, all three endpoints)."""
        tx = VersionedTransaction.from_bytes(signed.tx_bytes)
        await self.env.rpc.send_transaction(tx, skip_preflight=True, fanout=3)

    async def record(self, signed: SignedBuy, mint: Pubkey, target: SnipeTarget) -> Order:
        return await self.service.record_fired_snipe(
            user_id=self.env.user_id, wallet_id=self.env.key.wallet_id, mint=str(mint),
            lamports=BUY, slippage_bps=500, fee_level=FeeLevel.LOW,
            idempotency_key=fired_snipe_key(target.id), signature=str(signed.signature),
            signed_tx=signed.tx_bytes, token_amount=signed.token_amount,
            max_sol_cost=signed.max_sol_cost, priority_fee_lamports=1_200, venue="pumpfun",
        )  # fmt: skip

    async def final(self, order: Order) -> Order:
        landed = await self.service.landed(order.id)
        assert landed is not None, "record_fired_snipe started no landing"
        return landed

    def held(self, launch: CurveLaunch) -> int:
        ata = pf.associated_token_address(self.env.key.pubkey, launch.mint, launch.token_program)
        account = self.env.net.cluster.get_account(ata)
        return 0 if account is None else int.from_bytes(bytes(account.data)[64:72], "little")


def service(env: Env, nonces: NonceManager | None, raw: RpcNonceChain | None) -> TradingService:
    executor = env.executor(land_deadline_s=15.0, lease_s=30.0)
    if nonces is not None:
        executor = type(executor)(
            venue=env.venue, rpc=env.rpc, orders=env.repos.orders, trades=env.repos.trades,
            metrics=env.metrics, config=executor.config, nonces=nonces, raw=raw,
        )  # fmt: skip
    return TradingService(
        executor=executor, orders=env.repos.orders, signers=Signers(env.key),
        metrics=env.metrics, max_priority_fee_lamports=1_000_000, nonces=nonces, raw=raw,
    )  # fmt: skip


@pytest.fixture
async def hot(env: Env) -> Hot:
    raw = RpcNonceChain(env.rpc)
    nonces = NonceManager(raw, poll_s=0.01, confirm_timeout_s=10.0)
    user = UnlockedWallet(
        user_id=env.user_id, wallet_id=env.key.wallet_id, pubkey=env.key.pubkey,
        keypair=env.key.keypair,
    )  # fmt: skip
    tip_account = Keypair().pubkey()
    env.net.cluster.airdrop(tip_account, SOL)  # rent-exempt: a small tip may land in it
    return Hot(
        env, nonces, service(env, nonces, raw), Chain(env.net, env.rpc, nonces, user), tip_account
    )


async def consumed(hot: Hot, prepared: PreparedBuy) -> None:
    """Until the armed nonce value was consumed (the sent transaction landed)."""
    for _ in range(500):
        if await hot.nonces.consumed_by(prepared.nonce_account, prepared.nonce_value):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the armed nonce was never consumed")


async def trades_of(env: Env) -> list[tuple[str, str]]:
    return [(t.order_id, t.signature) for t in await env.repos.trades.list_trades(env.user_id)]


async def test_a_fired_snipe_is_stored_sent_and_confirms_with_its_trade(hot: Hot) -> None:
    env = hot.env
    prepared, target = await hot.arm()
    launch = await hot.launch()
    signed = build_curve_buy(prepared, launch)
    await hot.send(signed)
    order = await hot.record(signed, launch.mint, target)
    assert order.status is OrderStatus.SENT
    assert order.kind is OrderKind.SNIPE
    assert (order.signature, order.signed_tx) == (str(signed.signature), signed.tx_bytes)
    assert order.last_valid_block_height is None  # meaningless for a durable-nonce tx
    assert order.quote is not None
    assert order.quote["venue"] == "pumpfun"
    assert order.quote["quote"]["outAmount"] == str(signed.token_amount)
    assert order.quote["quote"]["nonceAccount"] == str(prepared.nonce_account)

    final = await hot.final(order)
    assert final.status is OrderStatus.CONFIRMED, final
    assert final.out_amount == signed.token_amount == hot.held(launch)
    assert final.in_amount is not None
    assert final.in_amount <= signed.max_sol_cost + 3_000_000  # the token account's rent
    assert await trades_of(env) == [(order.id, str(signed.signature))]
    position = await env.repos.positions.get_position(
        env.user_id, env.key.wallet_id, str(launch.mint)
    )
    assert position is not None
    assert position.token_amount == signed.token_amount

    # a second replica fired the same order with other bytes (a tip): the same order, no trade
    other = build_curve_buy(hot.tipped(prepared), launch)
    assert other.signature != signed.signature
    again = await hot.record(other, launch.mint, target)
    assert again.id == order.id
    assert again.status is OrderStatus.CONFIRMED
    assert again.signature == str(signed.signature)
    assert len(await env.repos.orders.list_for_user(env.user_id)) == 1
    assert await trades_of(env) == [(order.id, str(signed.signature))]


async def test_the_other_replicas_transaction_is_adopted_never_expired(hot: Hot) -> None:
    """Replica B signed the order with a tip and its bytes landed; replica A's record (its own,
    untipped bytes) won the insert: the order is B's landed transaction."""
    env = hot.env
    prepared, target = await hot.arm()
    launch = await hot.launch()
    ours = build_curve_buy(prepared, launch)
    theirs = build_curve_buy(hot.tipped(prepared), launch)
    await hot.send(theirs)
    order = await hot.record(ours, launch.mint, target)
    final = await hot.final(order)
    assert final.status is OrderStatus.CONFIRMED, final
    assert final.signature == str(theirs.signature)
    assert final.signed_tx == theirs.tx_bytes
    assert final.out_amount == theirs.token_amount == hot.held(launch)
    assert await trades_of(env) == [(order.id, str(theirs.signature))]
    # our bytes can never land now: the nonce moved
    await hot.send(ours)
    await asyncio.sleep(0.2)
    (status,) = await env.rpc.get_signature_statuses([ours.signature])
    assert status is None


async def test_without_the_nonce_lookup_the_adoptable_order_would_expire(env: Env) -> None:
    """The broken variant of the test above: no consumed_by lookup, the order is EXPIRED although
    the user holds the tokens. (Proves the adoption test can fail.)"""
    raw = RpcNonceChain(env.rpc)
    nonces = NonceManager(raw, poll_s=0.01, confirm_timeout_s=10.0)
    user = UnlockedWallet(
        user_id=env.user_id, wallet_id=env.key.wallet_id, pubkey=env.key.pubkey,
        keypair=env.key.keypair,
    )  # fmt: skip
    tip_account = Keypair().pubkey()
    env.net.cluster.airdrop(tip_account, SOL)
    hot = Hot(
        env, nonces, service(env, None, None), Chain(env.net, env.rpc, nonces, user), tip_account
    )
    prepared, target = await hot.arm()
    launch = await hot.launch()
    theirs = build_curve_buy(hot.tipped(prepared), launch)
    await hot.send(theirs)
    order = await hot.record(build_curve_buy(prepared, launch), launch.mint, target)
    final = await hot.final(order)
    assert final.status is OrderStatus.EXPIRED
    assert hot.held(launch) == theirs.token_amount


async def test_a_fired_snipe_fails_from_meta_err(hot: Hot) -> None:
    """Bytes priced on reserves the curve does not have (twice the tokens): the buy lands with
    pump.fun's slippage error; FAILED with its fee, no trade."""
    prepared, target = await hot.arm()
    launch = await hot.launch()
    greedy = dataclasses.replace(launch, virtual_token_reserves=launch.virtual_token_reserves * 2)
    signed = build_curve_buy(prepared, greedy)
    await hot.send(signed)
    final = await hot.final(await hot.record(signed, launch.mint, target))
    assert final.status is OrderStatus.FAILED, final
    assert final.error is not None
    assert final.error.details.get("signature") == str(signed.signature)
    assert final.fee_lamports is not None
    assert final.fee_lamports > 0
    assert hot.held(launch) == 0
    assert await trades_of(hot.env) == []


async def test_expired_only_once_the_nonce_advanced_and_the_signature_is_unknown(hot: Hot) -> None:
    prepared, target = await hot.arm()
    launch = await hot.launch()
    signed = build_curve_buy(prepared, launch)
    # recovery voided the armed value before the record (nothing was sent)
    assert await hot.nonces.void(prepared.nonce_account, hot.env.key) is not None
    final = await hot.final(await hot.record(signed, launch.mint, target))
    assert final.status is OrderStatus.EXPIRED, final
    assert final.error is not None
    assert final.error.type is OrderErrorType.BLOCKHASH_EXPIRED
    assert final.error.details["nonce_account"] == str(prepared.nonce_account)
    assert hot.held(launch) == 0


async def test_recovery_lands_a_sent_nonce_order_by_its_nonce_not_by_block_height(
    hot: Hot,
) -> None:
    """A SENT nonce order (its stored lastValidBlockHeight long past, as if copied from the
    blockhash it never used) whose bytes never reached a node: recovery resends them and they
    land; the block-height rule would have expired it at once."""
    env = hot.env
    prepared, target = await hot.arm()
    launch = await hot.launch()
    signed = build_curve_buy(prepared, launch)
    stored, created = await env.repos.orders.create_sent(
        user_id=env.user_id, wallet_id=env.key.wallet_id, kind=OrderKind.SNIPE,
        token_mint=str(launch.mint), side=OrderSide.BUY, amount=BUY, slippage_bps=500,
        priority_fee=FeeLevel.LOW, idempotency_key=fired_snipe_key(target.id),
        signature=str(signed.signature), signed_tx=signed.tx_bytes,
        last_valid_block_height=1,
    )  # fmt: skip
    assert created
    (recovered,) = await hot.service.recover_all()
    assert recovered.id == stored.id
    assert recovered.status is OrderStatus.CONFIRMED, recovered
    assert hot.held(launch) == signed.token_amount


async def test_recover_armed_nonce_records_our_consumed_nonce_and_nothing_else(hot: Hot) -> None:
    env = hot.env
    prepared, target = await hot.arm()
    launch = await hot.launch()
    signed = build_curve_buy(prepared, launch)
    # not consumed: nothing
    assert await hot.service.recover_armed_nonce(target) is None
    assert await env.repos.orders.list_for_user(env.user_id) == []
    # the hot path sent it and died before the record
    await hot.send(signed)
    await consumed(hot, prepared)
    order = await hot.service.recover_armed_nonce(target)
    assert order is not None
    assert order.status is OrderStatus.CONFIRMED, order
    assert order.idempotency_key == fired_snipe_key(target.id)
    assert order.signature == str(signed.signature)
    assert order.signed_tx == signed.tx_bytes
    assert order.out_amount == signed.token_amount == hot.held(launch)
    assert order.quote is not None
    assert order.quote["quote"]["maxSolCost"] == str(signed.max_sol_cost)
    assert order.priority_fee_lamports == 1_200  # 120 000 CU x 10 000 micro-lamports
    # asked again (another replica's recovery): the same order, one trade
    again = await hot.service.recover_armed_nonce(target)
    assert again is not None
    assert again.id == order.id
    assert await trades_of(env) == [(order.id, str(signed.signature))]


async def test_recover_armed_nonce_voids_an_unconsumed_nonce(hot: Hot) -> None:
    prepared, target = await hot.arm()
    launch = await hot.launch()
    signed = build_curve_buy(prepared, launch)
    assert await hot.service.recover_armed_nonce(target, void_unconsumed=True) is None
    assert (await hot.nonces.read(prepared.nonce_account)).value != prepared.nonce_value
    await hot.send(signed)  # the bytes the dead process built can never land now
    await asyncio.sleep(0.2)
    (status,) = await hot.env.rpc.get_signature_statuses([signed.signature])
    assert status is None
    assert hot.held(launch) == 0
    assert await hot.env.repos.orders.list_for_user(hot.env.user_id) == []


async def test_recover_armed_nonce_ignores_a_nonce_consumed_by_another_payer(hot: Hot) -> None:
    """The nonce's authority let another fee payer use the armed value: not this order's buy."""
    env = hot.env
    prepared, target = await hot.arm()
    payer = Keypair()
    env.net.cluster.airdrop(payer.pubkey(), SOL)
    from solders.message import MessageV0, to_bytes_versioned
    from solders.system_program import TransferParams, transfer

    from sniper_bot.solana.nonce import advance_nonce_instruction

    ixs = [
        advance_nonce_instruction(prepared.nonce_account, env.key.pubkey),
        transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=payer.pubkey(), lamports=1)),
    ]
    msg = MessageV0.try_compile(payer.pubkey(), ixs, [], prepared.nonce_value)
    data = to_bytes_versioned(msg)
    tx = VersionedTransaction.populate(msg, [payer.sign_message(data), env.key.sign_message(data)])
    await env.rpc.send_transaction(tx, skip_preflight=True)
    await consumed(hot, prepared)
    assert await hot.service.recover_armed_nonce(target) is None
    assert await env.repos.orders.list_for_user(env.user_id) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mint": "nope"}, "is not a public key"),
        ({"lamports": 0}, "lamports must be an integer >= 1"),
        ({"token_amount": -1}, "token_amount must be"),
        ({"signed_tx": b"\x01junk"}, "unreadable signed transaction"),
        ({"signature": str(Signature.default())}, "is not the fee payer's signature"),
        ({"venue": ""}, "names its venue"),
    ],
)
async def test_a_fired_snipe_with_bad_values_is_refused_before_any_write(
    hot: Hot, change: dict[str, Any], message: str
) -> None:
    prepared, target = await hot.arm()
    launch = CurveLaunch(
        mint=Keypair().pubkey(), bonding_curve=Keypair().pubkey(), creator=Keypair().pubkey(),
        token_program=pf.TOKEN_PROGRAM_ID,
        virtual_token_reserves=prepared.global_.initial_virtual_token_reserves,
        virtual_sol_reserves=prepared.global_.initial_virtual_sol_reserves,
        real_token_reserves=prepared.global_.initial_real_token_reserves,
        token_total_supply=prepared.global_.token_total_supply,
    )  # fmt: skip
    signed = build_curve_buy(prepared, launch)
    values: dict[str, Any] = dict(
        user_id=hot.env.user_id, wallet_id=hot.env.key.wallet_id, mint=str(launch.mint),
        lamports=BUY, slippage_bps=500, fee_level=FeeLevel.LOW,
        idempotency_key=fired_snipe_key(target.id), signature=str(signed.signature),
        signed_tx=signed.tx_bytes, token_amount=signed.token_amount,
        max_sol_cost=signed.max_sol_cost, priority_fee_lamports=0, venue="pumpfun",
    )  # fmt: skip
    values.update(change)
    with pytest.raises(FiredSnipeError, match=message):
        await hot.service.record_fired_snipe(**values)
    assert await hot.env.repos.orders.list_for_user(hot.env.user_id) == []


async def test_bytes_that_are_not_a_durable_nonce_transaction_are_refused(hot: Hot) -> None:
    env = hot.env
    from solders.message import MessageV0, to_bytes_versioned
    from solders.system_program import TransferParams, transfer

    blockhash, _ = await env.rpc.get_latest_blockhash()
    ix = transfer(TransferParams(from_pubkey=env.key.pubkey, to_pubkey=env.key.pubkey, lamports=1))
    msg = MessageV0.try_compile(env.key.pubkey, [ix], [], blockhash)
    tx = VersionedTransaction.populate(msg, [env.key.sign_message(to_bytes_versioned(msg))])
    with pytest.raises(FiredSnipeError, match="must be a durable-nonce transaction"):
        await hot.service.record_fired_snipe(
            user_id=env.user_id, wallet_id=env.key.wallet_id, mint=str(Keypair().pubkey()),
            lamports=BUY, slippage_bps=500, fee_level=FeeLevel.LOW, idempotency_key="k",
            signature=str(tx.signatures[0]), signed_tx=bytes(tx), token_amount=1,
            max_sol_cost=BUY, priority_fee_lamports=0, venue="pumpfun",
        )  # fmt: skip
