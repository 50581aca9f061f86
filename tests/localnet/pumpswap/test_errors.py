"""PumpSwap's and migrate's real errors: slippage both ways, buy_exact_quote_in below its minimum,
a missing pool-v2 account (6023, what mainnet reports), a wrong one (6062), a coin creator vault
derived with pump's `creator-vault` seeds instead of `creator_vault` (2006), migrating an
incomplete curve (6006) or twice (6081). Each lands failed, the fee charged, nothing else moved;
and the SDK decodes localnet's GlobalConfig, FeeConfig and Pool as they are."""

from __future__ import annotations

import base64
from typing import Any

from pump.helpers import send
from pump.oracle import Oracle, b64
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from localnet.cluster import Cluster
from localnet.pump import state as pump_state
from localnet.pump.launchpad import PumpLaunchpad
from localnet.pumpswap import state

from .helpers import SOL, Graduated, funded, graduated, swap_state


def _tx(oracle: Oracle, c: Cluster, user: Keypair, spec: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = oracle({
        "op": "tx", "blockhash": str(c.latest_blockhash()), "payer": str(user.pubkey()),
        "signers": [base64.b64encode(bytes(user)).decode()], "instructions": [spec],
    })  # fmt: skip
    return answer


def _rebuild(c: Cluster, user: Keypair, ixs: list[dict[str, Any]]) -> VersionedTransaction:
    out = [Instruction(Pubkey.from_string(ix["programId"]), base64.b64decode(ix["data"]),
                       [AccountMeta(Pubkey.from_string(k["pubkey"]), k["isSigner"],
                                    k["isWritable"]) for k in ix["keys"]])
           for ix in ixs]  # fmt: skip
    blockhash: Hash = c.latest_blockhash()
    return VersionedTransaction(MessageV0.try_compile(user.pubkey(), out, [], blockhash), [user])


def _amm_index(ixs: list[dict[str, Any]]) -> int:
    return next(i for i, ix in enumerate(ixs) if ix["programId"] == str(state.PUMP_AMM_PROGRAM_ID))


def _assert_fails(c: Cluster, tx: VersionedTransaction, index: int, code: int) -> list[str]:
    keys = list(tx.message.account_keys)
    before = {k: c.get_account(k) for k in keys}
    outcome = send(c, tx)
    assert outcome.err == {"InstructionError": [index, {"Custom": code}]}, outcome.logs[-5:]
    assert outcome.logs[-1].endswith(f"failed: custom program error: {code:#x}")
    for key in keys[1:]:
        assert c.get_account(key) == before[key], key
    payer = before[keys[0]]
    assert payer is not None
    assert c.get_balance(keys[0]) == payer.lamports - outcome.fee
    return list(outcome.logs)


def _setup() -> tuple[Graduated, Keypair]:
    g = graduated(51)
    return g, funded(g.cluster, 100)


def test_buy_over_max_quote_and_sell_under_min_quote_exceed_slippage(oracle: Oracle) -> None:
    g, user = _setup()
    st = swap_state(g, user.pubkey())
    q = oracle({"op": "amm_quote", "state": st, "buyBase": str(10**12), "slippage": 0})
    tight = _tx(
        oracle,
        g.cluster,
        user,
        {
            "kind": "amm_buy",
            "state": st,
            "base": str(10**12),
            "maxQuote": str(int(q["buyBase"]["uiQuote"]) - 1),
        },
    )
    tx = VersionedTransaction.from_bytes(base64.b64decode(tight["transaction"]))
    logs = _assert_fails(g.cluster, tx, _amm_index(tight["instructions"]), 6004)
    assert any("Error Code: ExceededSlippage. Error Number: 6004" in x for x in logs)
    # exactly the SDK's price passes
    ok = _tx(
        oracle,
        g.cluster,
        user,
        {"kind": "amm_buy", "state": st, "base": str(10**12), "maxQuote": q["buyBase"]["uiQuote"]},
    )
    assert send(g.cluster, VersionedTransaction.from_bytes(
        base64.b64decode(ok["transaction"]))).err is None  # fmt: skip
    st = swap_state(g, user.pubkey())
    q = oracle({"op": "amm_quote", "state": st, "sellBase": str(10**12), "slippage": 0})
    greedy = _tx(
        oracle,
        g.cluster,
        user,
        {
            "kind": "amm_sell",
            "state": st,
            "base": str(10**12),
            "minQuote": str(int(q["sellBase"]["uiQuote"]) + 1),
        },
    )
    tx = VersionedTransaction.from_bytes(base64.b64decode(greedy["transaction"]))
    _assert_fails(g.cluster, tx, _amm_index(greedy["instructions"]), 6004)


def test_buy_exact_quote_in_below_min_base_out(oracle: Oracle) -> None:
    g, user = _setup()
    st = swap_state(g, user.pubkey())
    q = oracle({"op": "amm_quote", "state": st, "buyQuote": str(SOL), "slippage": 0})
    want = str(int(q["buyQuote"]["base"]) + 1)
    built = _tx(oracle, g.cluster, user, {"kind": "amm_buy_exact_quote_in", "state": st,
                                          "quote": str(SOL), "minBase": want})  # fmt: skip
    tx = VersionedTransaction.from_bytes(base64.b64decode(built["transaction"]))
    _assert_fails(g.cluster, tx, _amm_index(built["instructions"]), 6040)


def test_missing_pool_v2_is_overflow_and_a_wrong_one_invalid(oracle: Oracle) -> None:
    g, user = _setup()
    st = swap_state(g, user.pubkey())
    built = _tx(oracle, g.cluster, user, {"kind": "amm_buy_base", "state": st,
                                          "base": str(10**12), "slippage": 5})  # fmt: skip
    index = _amm_index(built["instructions"])
    pool_v2 = str(state.pool_v2_address(g.mint))
    ixs = built["instructions"]
    assert pool_v2 in [k["pubkey"] for k in ixs[index]["keys"]]  # the SDK passes it
    without = [dict(ix) for ix in ixs]
    without[index] = {**ixs[index], "keys": [k for k in ixs[index]["keys"]
                                             if k["pubkey"] != pool_v2]}  # fmt: skip
    logs = _assert_fails(g.cluster, _rebuild(g.cluster, user, without), index, 6023)
    assert any("Error Code: Overflow. Error Number: 6023" in x for x in logs)
    wrong = [dict(ix) for ix in ixs]
    wrong[index] = {**ixs[index], "keys": [
        {**k, "pubkey": str(Pubkey.new_unique())} if k["pubkey"] == pool_v2 else k
        for k in ixs[index]["keys"]]}  # fmt: skip
    _assert_fails(g.cluster, _rebuild(g.cluster, user, wrong), index, 6062)


def test_coin_creator_vault_with_pump_seeds_fails_constraint_seeds(oracle: Oracle) -> None:
    g, user = _setup()
    st = swap_state(g, user.pubkey())
    built = _tx(oracle, g.cluster, user, {"kind": "amm_buy_base", "state": st,
                                          "base": str(10**12), "slippage": 5})  # fmt: skip
    index = _amm_index(built["instructions"])
    coin_creator = g.fields()["coin_creator"]
    hyphen = str(pump_state.creator_vault_address(coin_creator))  # pump's, not PumpSwap's
    ixs = [dict(ix) for ix in built["instructions"]]
    keys = list(ixs[index]["keys"])
    keys[18] = {**keys[18], "pubkey": hyphen}  # coin_creator_vault_authority
    ixs[index] = {**ixs[index], "keys": keys}
    logs = _assert_fails(g.cluster, _rebuild(g.cluster, user, ixs), index, 2006)
    assert any("caused by account: coin_creator_vault_authority. Error Code: ConstraintSeeds"
               in x for x in logs)  # fmt: skip
    assert f"Program log: {state.coin_creator_vault_authority(coin_creator)}" in logs


def test_migrate_refuses_an_incomplete_curve_and_a_second_migration(oracle: Oracle) -> None:
    cluster = Cluster(seed=52, slot_ms=None)
    from localnet import pump

    pump.install(cluster)
    pad = PumpLaunchpad(cluster, 52)
    creator, user = funded(cluster, 10), funded(cluster, 200)
    launch = pad.launch(creator, name="Half", symbol="HALF", dev_buy_lamports=SOL)
    spec = {"kind": "migrate", "withdrawAuthority": str(pump_state.AUTHORITY),
            "mint": str(launch.mint), "user": str(user.pubkey())}  # fmt: skip
    early = _tx(oracle, cluster, user, spec)
    tx = VersionedTransaction.from_bytes(base64.b64decode(early["transaction"]))
    logs = _assert_fails(cluster, tx, 0, 6006)
    assert any("BondingCurveNotComplete" in x for x in logs)
    pad.graduate(launch.mint, user)  # completes the curve and migrates it
    user = funded(cluster, 10)  # (the same bytes again would be a duplicate transaction)
    spec["user"] = str(user.pubkey())
    again = _tx(oracle, cluster, user, spec)
    tx = VersionedTransaction.from_bytes(base64.b64decode(again["transaction"]))
    _assert_fails(cluster, tx, 0, 6081)
    stranger = {**spec, "withdrawAuthority": str(Pubkey.new_unique())}
    tx = VersionedTransaction.from_bytes(base64.b64decode(
        _tx(oracle, cluster, user, stranger)["transaction"]))  # fmt: skip
    _assert_fails(cluster, tx, 0, 2001)  # has_one withdraw_authority


def test_sdk_decodes_global_config_fee_config_and_pool(oracle: Oracle) -> None:
    g, _ = _setup()
    c = g.cluster

    def data(key: Pubkey) -> str:
        acc = c.get_account(key)
        assert acc is not None
        return b64(bytes(acc.data))

    pdas = oracle({"op": "amm_pdas", "mint": str(g.mint)})
    assert pdas["globalConfig"] == str(state.GLOBAL_CONFIG)
    assert pdas["feeConfig"] == str(state.FEE_CONFIG)
    assert pdas["pool"] == str(g.pool)
    assert pdas["poolV2"] == str(state.pool_v2_address(g.mint))
    decoded = oracle({"op": "amm_decode", "globalConfig": data(state.GLOBAL_CONFIG),
                      "feeConfig": data(state.FEE_CONFIG), "pool": data(g.pool)})  # fmt: skip
    config, fees, pool = decoded["globalConfig"], decoded["feeConfig"], decoded["pool"]
    assert config["lpFeeBasisPoints"] == "20"
    assert config["protocolFeeRecipients"] == [str(k) for k in state.PROTOCOL_FEE_RECIPIENTS]
    assert len(fees["feeTiers"]) == 25
    assert fees["feeTiers"][1]["marketCapLamportsThreshold"] == "420000000000"
    fields = g.fields()
    assert pool["creator"] == str(state.pool_authority_address(g.mint))
    assert pool["baseMint"] == str(g.mint)
    assert pool["quoteMint"] == str(state.WSOL_MINT)
    assert pool["lpMint"] == pdas["lpMint"]
    assert pool["coinCreator"] == str(fields["coin_creator"])
    assert pool["virtualQuoteReserves"] == "0"
    assert pool["lpSupply"] == str(fields["lp_supply"])
