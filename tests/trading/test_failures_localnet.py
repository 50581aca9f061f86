"""Each way a swap fails on localnet ends in the right error type and the runbook's sentence.

The market is moved over localnet's control API at the executor's state boundaries (after the
swap is signed and stored, before it is sent), the way another process would move it.
"""

from __future__ import annotations

from solders.signature import Signature

from sniper_bot.domain.entities import Order
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.orders import USER_SENTENCES, OrderErrorType, OrderSide, OrderStatus
from sniper_bot.safety.fetch import SnapshotFetcher
from sniper_bot.safety.service import RiskService
from sniper_bot.trading.executor import Boundary

from .conftest import SOL, Env


def _assert_failed(order: Order, kind: OrderErrorType, status: OrderStatus) -> None:
    assert order.status is status, order
    assert order.error is not None
    assert order.error.type is kind, order.error
    assert order.error.user_message == USER_SENTENCES[kind]


def _sig(order: Order) -> Signature:
    assert order.signature is not None
    return Signature.from_string(order.signature)


def _at(name: str, action: Boundary) -> Boundary:
    async def hook(boundary: str, order: Order) -> None:
        if boundary == name:
            await action(boundary, order)

    return hook


async def test_slippage_exceeded_at_preflight_when_the_pool_moves_after_signing(env: Env) -> None:
    token = env.token()
    before = env.balance(env.key.pubkey)

    async def front_run(_: str, __: Order) -> None:
        await env.control.trade(token.mint, "buy", 5 * SOL)

    order = await env.order(token.mint, 100_000_000, "slip-preflight")
    done = await env.executor(boundary=_at("signed", front_run)).run(order, env.account)
    _assert_failed(done, OrderErrorType.SLIPPAGE_EXCEEDED, OrderStatus.FAILED)
    assert done.error is not None
    assert done.error.details["custom"] == 6001
    assert done.error.details["stage"] == "simulation"
    assert env.balance(env.key.pubkey) == before  # rejected at preflight: nothing landed
    assert (await env.rpc.get_signature_statuses([_sig(done)]))[0] is None


async def test_slippage_exceeded_on_chain_with_skip_preflight_reads_meta_err(env: Env) -> None:
    token = env.token()
    before = env.balance(env.key.pubkey)

    async def front_run(_: str, __: Order) -> None:
        await env.control.trade(token.mint, "buy", 5 * SOL)

    order = await env.order(token.mint, 100_000_000, "slip-onchain")
    ex = env.executor(boundary=_at("signed", front_run), skip_preflight=True)
    done = await ex.run(order, env.account)
    _assert_failed(done, OrderErrorType.SLIPPAGE_EXCEEDED, OrderStatus.FAILED)
    assert done.error is not None
    assert done.error.details["stage"] == "onchain"
    assert done.error.details["signature"] == done.signature
    landed = await env.rpc.get_transaction(_sig(done))
    assert landed is not None
    assert landed.err is not None
    assert landed.err["InstructionError"][1] == {"Custom": 6001}
    assert done.fee_lamports == landed.fee
    assert env.balance(env.key.pubkey) == before - landed.fee  # landed failed: only the fee
    assert await env.repos.trades.get_for_order(env.user_id, done.id) is None


async def test_blockhash_expiry_before_landing_ends_expired_and_nothing_is_spent(
    env: Env,
) -> None:
    token = env.token()
    before = env.balance(env.key.pubkey)

    async def stall(_: str, __: Order) -> None:
        await env.control.advance_slots(200)  # past the 150-block window before the first send

    order = await env.order(token.mint, 100_000_000, "expire")
    done = await env.executor(boundary=_at("signed", stall)).run(order, env.account)
    _assert_failed(done, OrderErrorType.BLOCKHASH_EXPIRED, OrderStatus.EXPIRED)
    assert done.last_valid_block_height is not None
    assert await env.rpc.get_block_height() > done.last_valid_block_height
    assert (await env.rpc.get_signature_statuses([_sig(done)]))[0] is None
    assert env.balance(env.key.pubkey) == before


async def test_selling_a_frozen_account_is_rejected_with_custom_17(env: Env) -> None:
    token = env.token("freeze_authority")
    ex = env.executor()
    bought = await ex.run(await env.order(token.mint, 50_000_000, "buy-frozen"), env.account)
    assert bought.status is OrderStatus.CONFIRMED, bought.error
    assert bought.out_amount
    assert await env.control.freeze_buyers(token.mint) >= 1
    sell = await env.order(
        token.mint, bought.out_amount, "sell-frozen", side=OrderSide.SELL, fee=FeeLevel.NONE
    )
    done = await ex.run(sell, env.account)
    _assert_failed(done, OrderErrorType.REJECTED, OrderStatus.FAILED)
    assert done.error is not None
    assert done.error.details["custom"] == 17
    assert "frozen" in done.error.message
    assert done.signature is None  # refused by our own simulation: never sent


async def test_a_honeypot_is_blocked_by_the_real_risk_service_before_any_quote(env: Env) -> None:
    honeypot = env.token("freeze_authority")
    honest = env.token("honest")
    risk = RiskService(
        SnapshotFetcher(env.rpc, env.venue, fee_payer=env.key.pubkey),
        env.repos.honeypot_checks,
        metrics=env.metrics,
    )
    ex = env.executor(risk_gate=risk)
    before = env.balance(env.key.pubkey)
    blocked = await ex.run(await env.order(honeypot.mint, 50_000_000, "hp"), env.account)
    _assert_failed(blocked, OrderErrorType.HONEYPOT_BLOCKED, OrderStatus.FAILED)
    assert blocked.error is not None
    assert blocked.error.details["risk_score"] >= 70
    assert blocked.quote is None
    assert blocked.signature is None
    assert env.balance(env.key.pubkey) == before
    stored = await env.repos.honeypot_checks.latest(str(honeypot.mint))
    assert stored is not None
    assert stored.is_honeypot or stored.risk_score >= 70
    passed = await ex.run(await env.order(honest.mint, 50_000_000, "ok"), env.account)
    assert passed.status is OrderStatus.CONFIRMED, passed.error
