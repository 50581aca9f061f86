"""The hot path end to end on localnet: an armed order (its own durable nonce, the cached pump
accounts), a scripted pump.fun create, the buy built from the decoded create event alone, sent,
landed, the tokens held; the same bytes again land nothing; a second build for the same armed
nonce value is refused by the chain."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.token.state import TokenAccount
from solders.transaction import VersionedTransaction

from sniper_bot.chain.errors import RpcError
from sniper_bot.hotpath.build import CurveLaunch, PreparedBuy, build_curve_buy
from sniper_bot.solana import pumpfun as pf
from sniper_bot.solana.pump_events import CreateEvent, pump_log_events

from .conftest import SOL, Chain


async def wait_slots(chain: Chain, n: int) -> None:
    start = chain.net.cluster.slot
    for _ in range(2_000):  # the clock makes a slot every 20 ms
        if chain.net.cluster.slot >= start + n:
            return
        await asyncio.sleep(0.01)


async def confirmed_slot(chain: Chain, sig: Signature) -> int | None:
    for _ in range(300):
        (status,) = await chain.rpc.get_signature_statuses([sig])
        if status is not None and status.confirmation_status in ("confirmed", "finalized"):
            assert status.err is None, status.err
            return status.slot
        await asyncio.sleep(0.01)
    return None


def held(chain: Chain, owner: Pubkey, mint: Pubkey, program: Pubkey) -> int:
    account = chain.net.cluster.get_account(pf.associated_token_address(owner, mint, program))
    return 0 if account is None else int(TokenAccount.from_bytes(bytes(account.data)[:165]).amount)


async def create_event(chain: Chain) -> tuple[CreateEvent, str | None]:
    """A creator launches a coin (create_v2, no dev buy); its event as the listener decodes it
    from the confirmed transaction's logs."""
    creator = Keypair()
    chain.net.cluster.airdrop(creator.pubkey(), 2 * SOL)
    done = chain.net.launchpad.launch(creator, name="Hot", symbol="HOT")
    sig = Signature.from_string(str(done.create_signature))
    assert await confirmed_slot(chain, sig) is not None
    landed = await chain.rpc.get_transaction(sig)
    assert landed is not None
    events, _ = pump_log_events(landed.logs)
    (logged,) = [e for e in events if isinstance(e.event, CreateEvent)]
    assert isinstance(logged.event, CreateEvent)
    return logged.event, logged.instruction


async def arm(chain: Chain) -> PreparedBuy:
    nonce = await chain.nonces.create(chain.user)
    global_acc, fee_acc = await chain.rpc.get_multiple_accounts([pf.GLOBAL, pf.FEE_CONFIG])
    assert global_acc is not None
    g = pf.decode_global(bytes(global_acc.data))
    fc = None if fee_acc is None else pf.decode_fee_config(bytes(fee_acc.data))
    return PreparedBuy(
        user=chain.user.pubkey, sign=chain.user.sign_message, amount_lamports=SOL // 10,
        slippage_bps=500, compute_unit_limit=120_000, compute_unit_price_micro_lamports=10_000,
        nonce_account=nonce.address, nonce_value=nonce.value, global_=g, fee_config=fc,
        fee_recipient=g.fee_recipients_for(False)[0],
        mayhem_fee_recipient=g.fee_recipients_for(True)[0],
        buyback_fee_recipient=g.buyback_fee_recipients[0],
    )  # fmt: skip


async def test_buy_from_the_event_lands_once(chain: Chain) -> None:
    prepared = await arm(chain)
    event, instruction = await create_event(chain)
    launch = CurveLaunch.from_create_event(event, instruction)
    assert launch.token_program == pf.TOKEN_2022_PROGRAM_ID
    spent_before = chain.lamports(chain.user.pubkey)
    signed = build_curve_buy(prepared, launch)
    tx = VersionedTransaction.from_bytes(signed.tx_bytes)
    assert await chain.rpc.send_transaction(tx) == signed.signature
    slot = await confirmed_slot(chain, signed.signature)
    assert slot is not None
    assert held(chain, chain.user.pubkey, launch.mint, launch.token_program) == signed.token_amount
    spent = spent_before - chain.lamports(chain.user.pubkey)
    assert spent <= signed.max_sol_cost + 5_000 + 1_200 + 3_000_000  # fee, priority, ATA rent
    use = await chain.nonces.consumed_by(prepared.nonce_account, prepared.nonce_value)
    assert use is not None
    assert (use.signature, use.slot, use.err) == (signed.signature, slot, None)

    # the same bytes again, on every endpoint, no preflight: nothing lands a second time
    await chain.rpc.send_transaction(tx, skip_preflight=True, fanout=3)
    await wait_slots(chain, 5)
    assert held(chain, chain.user.pubkey, launch.mint, launch.token_program) == signed.token_amount
    (status,) = await chain.rpc.get_signature_statuses([signed.signature])
    assert status is not None
    assert status.slot == slot

    # a second build for the same armed nonce value (another amount: another signature)
    again = build_curve_buy(dataclasses.replace(prepared, amount_lamports=SOL // 5), launch)
    assert again.signature != signed.signature
    with pytest.raises(RpcError):
        await chain.rpc.send_transaction(VersionedTransaction.from_bytes(again.tx_bytes))
    await chain.rpc.send_transaction(
        VersionedTransaction.from_bytes(again.tx_bytes), skip_preflight=True
    )
    await wait_slots(chain, 5)
    (status,) = await chain.rpc.get_signature_statuses([again.signature])
    assert status is None
    assert held(chain, chain.user.pubkey, launch.mint, launch.token_program) == signed.token_amount


async def test_a_voided_order_never_buys(chain: Chain) -> None:
    """Recovery's path: the order was built (maybe sent) but not seen landing: void, then
    nothing built for the armed value lands, on any relay."""
    prepared = await arm(chain)
    event, instruction = await create_event(chain)
    signed = build_curve_buy(prepared, CurveLaunch.from_create_event(event, instruction))
    assert await chain.nonces.void(
        prepared.nonce_account, chain.user, armed=prepared.nonce_value
    ) is not None  # fmt: skip
    await chain.rpc.send_transaction(
        VersionedTransaction.from_bytes(signed.tx_bytes), skip_preflight=True, fanout=3
    )
    await wait_slots(chain, 5)
    (status,) = await chain.rpc.get_signature_statuses([signed.signature])
    assert status is None
    assert held(chain, chain.user.pubkey, event.mint, pf.TOKEN_2022_PROGRAM_ID) == 0
    assert await chain.nonces.consumed_by(prepared.nonce_account, prepared.nonce_value) is None
