"""The launch-wide PDAs of ``build_curve_buy`` are derived once per ``CurveLaunch``, not per order.

A fan-out builds up to 1,000 orders on one launch: the curve's token account, the creator vault
and ``bonding-curve-v2`` are the same for all of them. The counts below wrap the real derivations
(they still run); the bytes are compared with launches that never built anything.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from sniper_bot.hotpath.build import CurveLaunch, build_curve_buy
from sniper_bot.solana import pumpfun as pf

from .conftest import fresh_launch, prepared_buy

ORDERS = 50


def _counting(monkeypatch: pytest.MonkeyPatch, name: str) -> list[Any]:
    calls: list[Any] = []
    real: Callable[..., Pubkey] = getattr(pf, name)

    def wrapped(*args: Any) -> Pubkey:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(pf, name, wrapped)
    return calls


def test_many_orders_on_one_launch_derive_the_launch_pdas_once(
    pump_global: pf.Global, pump_fee_config: pf.FeeConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    preps = [prepared_buy(pump_global, pump_fee_config, Keypair()) for _ in range(ORDERS)]
    launch = fresh_launch(pump_global)
    vault = _counting(monkeypatch, "creator_vault_address")
    v2 = _counting(monkeypatch, "bonding_curve_v2_address")
    atas = _counting(monkeypatch, "associated_token_address")

    signed = [build_curve_buy(p, launch) for p in preps]

    assert vault == [(launch.creator,)]
    assert v2 == [(launch.mint,)]
    # one for the curve (launch-wide), one per order for the user's own token account
    curve_atas = [a for a in atas if a[0] == launch.bonding_curve]
    assert curve_atas == [(launch.bonding_curve, launch.mint, launch.token_program)]
    assert len(atas) == 1 + ORDERS
    assert len({s.signature for s in signed}) == ORDERS


def test_cached_launch_builds_the_same_bytes_as_a_fresh_one(
    pump_global: pf.Global, pump_fee_config: pf.FeeConfig
) -> None:
    launch = fresh_launch(pump_global)
    preps = [prepared_buy(pump_global, pump_fee_config, Keypair()) for _ in range(3)]
    for p in preps:
        build_curve_buy(p, launch)  # warms the memo
    for p in preps:
        twin = dataclasses.replace(launch)  # equal fields, nothing derived yet
        assert twin == launch
        assert hash(twin) == hash(launch)
        assert build_curve_buy(p, launch).tx_bytes == build_curve_buy(p, twin).tx_bytes


def test_the_memo_holds_the_pdas_the_sdk_derives(pump_global: pf.Global) -> None:
    launch = fresh_launch(pump_global, token_program=pf.TOKEN_PROGRAM_ID)
    accounts = launch.accounts
    assert launch.accounts is accounts
    assert accounts.curve_token_account == pf.associated_token_address(
        launch.bonding_curve, launch.mint, pf.TOKEN_PROGRAM_ID
    )
    assert accounts.creator_vault == pf.creator_vault_address(launch.creator)
    assert accounts.bonding_curve_v2 == pf.bonding_curve_v2_address(launch.mint)
    assert accounts.curve == launch.curve()
    assert "accounts" not in repr(launch)


def test_replace_derives_for_the_new_values(
    pump_global: pf.Global, pump_fee_config: pf.FeeConfig
) -> None:
    """A launch copied with another creator / reserves (``launch_of`` after a dev buy) must not
    carry the first one's memo: its buy names the new vault and prices the new curve."""
    prepared = prepared_buy(pump_global, pump_fee_config, Keypair())
    launch = fresh_launch(pump_global)
    first = build_curve_buy(prepared, launch)
    other = dataclasses.replace(
        launch,
        creator=Keypair().pubkey(),
        virtual_token_reserves=launch.virtual_token_reserves - 10**12,
        virtual_sol_reserves=launch.virtual_sol_reserves + 10**9,
    )
    assert other.accounts.creator_vault == pf.creator_vault_address(other.creator)
    assert other.accounts.creator_vault != launch.accounts.creator_vault
    second = build_curve_buy(prepared, other)
    keys = VersionedTransaction.from_bytes(second.tx_bytes).message.account_keys
    assert pf.creator_vault_address(other.creator) in keys
    assert pf.creator_vault_address(launch.creator) not in keys
    assert second.token_amount < first.token_amount  # the dearer curve
    fresh = CurveLaunch(**{f.name: getattr(other, f.name) for f in dataclasses.fields(other)
                           if f.init})  # fmt: skip
    assert build_curve_buy(prepared, fresh).tx_bytes == second.tx_bytes
