"""hotpath/build.py without a chain: the instruction list, determinism, the buy equal to the
bot's reviewed builder (solana.pumpfun.buy_instruction), and every refusal with its reason."""

from __future__ import annotations

import dataclasses

import pytest
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from sniper_bot.hotpath.build import (
    BuildError,
    CurveLaunch,
    UnsupportedLaunchError,
    build_curve_buy,
)
from sniper_bot.solana import pumpfun as pf
from sniper_bot.solana.nonce import is_advance_nonce
from sniper_bot.solana.programs import COMPUTE_BUDGET_PROGRAM_ID, SYSTEM_PROGRAM_ID
from sniper_bot.solana.pump_events import CreateEvent
from sniper_bot.trading.venues.pumpfun import curve as curve_math

from .conftest import SOL, fresh_launch, prepared_buy


def instructions(tx: VersionedTransaction) -> list[tuple[Pubkey, bytes, list[Pubkey]]]:
    msg = tx.message
    keys = msg.account_keys
    return [
        (keys[ix.program_id_index], bytes(ix.data), [keys[i] for i in ix.accounts])
        for ix in msg.instructions
    ]


def test_layout_nonce_first_and_blockhash_is_the_nonce(
    pump_global: pf.Global, pump_fee_config: pf.FeeConfig
) -> None:
    key = Keypair()
    tip = Pubkey.new_unique()
    prepared = prepared_buy(pump_global, pump_fee_config, key, tip_lamports=12_345,
                            tip_account=tip)  # fmt: skip
    launch = fresh_launch(pump_global)
    signed = build_curve_buy(prepared, launch)
    tx = VersionedTransaction.from_bytes(signed.tx_bytes)
    assert tx.message.recent_blockhash == prepared.nonce_value
    assert tx.signatures == [signed.signature]
    assert signed.signature.verify(key.pubkey(), to_bytes_versioned(tx.message))
    assert tx.message.account_keys[0] == key.pubkey()  # fee payer
    assert tx.message.header.num_required_signatures == 1
    ixs = instructions(tx)
    programs = [p for p, _, _ in ixs]
    assert programs == [
        SYSTEM_PROGRAM_ID, COMPUTE_BUDGET_PROGRAM_ID, COMPUTE_BUDGET_PROGRAM_ID,
        pf.ASSOCIATED_TOKEN_PROGRAM_ID, pf.PUMP_PROGRAM_ID, SYSTEM_PROGRAM_ID,
    ]  # fmt: skip
    first = tx.message.instructions[0]
    assert bytes(first.data) == b"\x04\x00\x00\x00"
    assert ixs[0][2][0] == prepared.nonce_account
    assert ixs[0][2][2] == key.pubkey()
    assert ixs[1][1] == bytes([2]) + (120_000).to_bytes(4, "little")
    assert ixs[2][1] == bytes([3]) + (50_000).to_bytes(8, "little")
    assert ixs[3][1] == b"\x01"
    assert ixs[3][2][1] == pf.associated_token_address(
        key.pubkey(), launch.mint, pf.TOKEN_2022_PROGRAM_ID
    )
    assert ixs[5][2] == [key.pubkey(), tip]
    assert ixs[5][1] == (2).to_bytes(4, "little") + (12_345).to_bytes(8, "little")
    assert signed.max_sol_cost == SOL // 10 + SOL // 10 * 500 // 10_000
    assert signed.token_amount == curve_math.buy_tokens_for_sol(
        pump_global, pump_fee_config, 10**15, launch.curve(), SOL // 10
    )


def test_without_price_or_tip_the_optional_instructions_are_absent(
    pump_global: pf.Global, pump_fee_config: pf.FeeConfig
) -> None:
    prepared = prepared_buy(pump_global, pump_fee_config, Keypair(),
                            compute_unit_price_micro_lamports=0)  # fmt: skip
    tx = VersionedTransaction.from_bytes(
        build_curve_buy(prepared, fresh_launch(pump_global)).tx_bytes
    )
    programs = [p for p, _, _ in instructions(tx)]
    assert programs == [SYSTEM_PROGRAM_ID, COMPUTE_BUDGET_PROGRAM_ID,
                        pf.ASSOCIATED_TOKEN_PROGRAM_ID, pf.PUMP_PROGRAM_ID]  # fmt: skip


@pytest.mark.parametrize("token_program", [pf.TOKEN_PROGRAM_ID, pf.TOKEN_2022_PROGRAM_ID])
@pytest.mark.parametrize("mayhem", [False, True])
def test_the_buy_is_the_reviewed_builders(
    pump_global: pf.Global, pump_fee_config: pf.FeeConfig, token_program: Pubkey, mayhem: bool
) -> None:
    key = Keypair()
    prepared = prepared_buy(pump_global, pump_fee_config, key)
    launch = fresh_launch(pump_global, token_program=token_program, is_mayhem_mode=mayhem)
    signed = build_curve_buy(prepared, launch)
    tx = VersionedTransaction.from_bytes(signed.tx_bytes)
    msg = tx.message
    buy = msg.instructions[4]
    keys = msg.account_keys
    expected = pf.buy_instruction(
        user=key.pubkey(), mint=launch.mint, creator=launch.creator, amount=signed.token_amount,
        max_sol_cost=signed.max_sol_cost,
        fee_recipient=prepared.mayhem_fee_recipient if mayhem else prepared.fee_recipient,
        buyback_fee_recipient=prepared.buyback_fee_recipient, token_program=token_program,
    )  # fmt: skip
    assert bytes(buy.data) == bytes(expected.data)
    assert [keys[i] for i in buy.accounts] == [m.pubkey for m in expected.accounts]
    for index, meta in zip(buy.accounts, expected.accounts, strict=True):
        assert msg.is_maybe_writable(index) == meta.is_writable, meta
        assert msg.is_signer(index) == meta.is_signer, meta
    ata = msg.instructions[3]
    assert keys[ata.accounts[-1]] == token_program


def test_deterministic_bytes_across_builds_and_replicas(
    pump_global: pf.Global, pump_fee_config: pf.FeeConfig
) -> None:
    key = Keypair()
    prepared = prepared_buy(pump_global, pump_fee_config, key)
    launch = fresh_launch(pump_global)
    first = build_curve_buy(prepared, launch)
    # a second replica: its own PreparedBuy object from the same armed values and key bytes
    replica_key = Keypair.from_bytes(bytes(key))
    replica = dataclasses.replace(prepared, sign=replica_key.sign_message)
    again = build_curve_buy(replica, dataclasses.replace(launch))
    assert again == first
    assert again.tx_bytes == first.tx_bytes
    # another nonce value is another transaction
    other = build_curve_buy(dataclasses.replace(prepared, nonce_value=Hash.new_unique()), launch)
    assert other.signature != first.signature


def test_launch_from_create_event(pump_global: pf.Global) -> None:
    mint, curve, user, creator = (Keypair().pubkey() for _ in range(4))
    base = CreateEvent(name="A", symbol="A", uri="u", mint=mint, bonding_curve=curve, user=user)
    with pytest.raises(UnsupportedLaunchError, match="no token program"):
        CurveLaunch.from_create_event(base)
    with pytest.raises(UnsupportedLaunchError, match="carries no reserves"):
        CurveLaunch.from_create_event(base, "CreateV2")
    full = dataclasses.replace(
        base, creator=creator, virtual_token_reserves=1_073_000_000_000_000,
        virtual_sol_reserves=30 * SOL, real_token_reserves=793_100_000_000_000,
        token_total_supply=10**15, token_program=pf.TOKEN_PROGRAM_ID, is_mayhem_mode=True,
        is_holder_reward=True, quote_mint=Pubkey.default(),
    )  # fmt: skip
    launch = CurveLaunch.from_create_event(full, "CreateV2")  # the event's program wins
    assert launch.token_program == pf.TOKEN_PROGRAM_ID
    assert launch.creator == creator
    assert launch.is_mayhem_mode
    assert launch.is_holder_reward
    assert (launch.virtual_sol_reserves, launch.token_total_supply) == (30 * SOL, 10**15)
    no_program = dataclasses.replace(full, token_program=None, creator=None)
    legacy = CurveLaunch.from_create_event(no_program, "Create")
    assert legacy.token_program == pf.TOKEN_PROGRAM_ID
    assert legacy.creator == user
    assert CurveLaunch.from_create_event(no_program, "CreateV2").token_program == (
        pf.TOKEN_2022_PROGRAM_ID
    )
    with pytest.raises(UnsupportedLaunchError, match="uses token program"):
        CurveLaunch.from_create_event(dataclasses.replace(full, token_program=user))


def test_refuses_launches_it_cannot_buy(
    pump_global: pf.Global, pump_fee_config: pf.FeeConfig
) -> None:
    prepared = prepared_buy(pump_global, pump_fee_config, Keypair())
    usdc = next(iter(pf.STABLE_QUOTE_MINTS))
    with pytest.raises(UnsupportedLaunchError, match="quoted in"):
        build_curve_buy(prepared, fresh_launch(pump_global, quote_mint=usdc))
    with pytest.raises(UnsupportedLaunchError, match="buy no tokens"):
        build_curve_buy(prepared, fresh_launch(pump_global, real_token_reserves=0))
    wsol = fresh_launch(pump_global, quote_mint=pf.WSOL_MINT)  # a SOL curve either way
    assert build_curve_buy(prepared, wsol).token_amount > 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"amount_lamports": 0}, "amount_lamports must be a positive integer"),
        ({"amount_lamports": 1.5}, "amount_lamports must be a positive integer"),
        ({"amount_lamports": True}, "amount_lamports must be a positive integer"),
        ({"slippage_bps": -1}, "slippage_bps must be a non-negative integer"),
        ({"slippage_bps": 10_001}, "at most 10000"),
        ({"compute_unit_limit": 0}, "compute_unit_limit must be a positive"),
        ({"compute_unit_limit": 1_400_001}, "at most 1400000"),
        ({"compute_unit_price_micro_lamports": -5}, "non-negative"),
        ({"tip_lamports": 10}, "needs both"),
        ({"tip_account": Pubkey.new_unique()}, "needs both"),
        ({"fee_recipient": Pubkey.default()}, "fee_recipient cannot be the zero key"),
        ({"sign": "nope"}, "sign must be a callable"),
    ],
)
def test_prepared_refuses_bad_values(
    pump_global: pf.Global, pump_fee_config: pf.FeeConfig, overrides: dict[str, object],
    message: str,
) -> None:  # fmt: skip
    with pytest.raises(BuildError, match=message):
        prepared_buy(pump_global, pump_fee_config, Keypair(), **overrides)


def test_sign_must_return_a_signature(
    pump_global: pf.Global, pump_fee_config: pf.FeeConfig
) -> None:
    prepared = prepared_buy(pump_global, pump_fee_config, Keypair(), sign=lambda m: bytes(64))
    with pytest.raises(BuildError, match="solders Signature"):
        build_curve_buy(prepared, fresh_launch(pump_global))


def test_repr_holds_no_signer(pump_global: pf.Global, pump_fee_config: pf.FeeConfig) -> None:
    key = Keypair()
    prepared = prepared_buy(pump_global, pump_fee_config, key)
    text = repr(prepared)
    assert "sign" not in text.replace("signature", "")
    assert str(key) not in text
    assert is_advance_nonce(prepared._head[0], prepared.nonce_account)
    assert isinstance(build_curve_buy(prepared, fresh_launch(pump_global)).signature, Signature)
