"""The hot path's signed buy against implementations nobody here wrote: tests/oracle/hotpath_buy.js
builds the same transaction's instructions with @pump-fun/pump-sdk 2.0.0 (token amount from its
bonding-curve math for the event's reserves, `buyInstructions` for the ATA create and the buy)
and @solana/web3.js (nonce advance, compute budget, tip), decodes our bytes with web3.js and
verifies our signature with @noble/curves; every instruction must match account for account,
flag for flag, byte for byte."""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from localnet.pump.state import (
    BONDING_CURVE_LAYOUT,
    FEE_CONFIG_LAYOUT,
    FEE_CONFIG_SIZE,
    GLOBAL_LAYOUT,
    GLOBAL_SIZE,
    encode_account,
    genesis_fee_config,
    genesis_global,
)
from sniper_bot.hotpath.build import CurveLaunch, PreparedBuy, build_curve_buy
from sniper_bot.solana import pumpfun as pf
from sniper_bot.trading.venues.pumpfun import curve as curve_math

from .conftest import SOL, fresh_launch, prepared_buy

ORACLE_DIR = Path(__file__).resolve().parents[1] / "oracle"
SCRIPT = ORACLE_DIR / "hotpath_buy.js"


def call(requests: list[dict[str, Any]]) -> list[Any]:
    if (
        shutil.which("node") is None
        or not (ORACLE_DIR / "node_modules/@pump-fun/pump-sdk").is_dir()
    ):
        if os.environ.get("CI") == "true":
            pytest.fail("the pump.fun SDK oracle (node + tests/oracle/node_modules) is required")
        pytest.skip("the pump.fun SDK oracle is unavailable (run npm ci in tests/oracle)")
    done = subprocess.run(
        ["node", str(SCRIPT)], input=json.dumps(requests), capture_output=True, text=True,
        timeout=600, check=False, env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"oracle failed: {done.stderr[-3000:]}")
    answers: list[Any] = json.loads(done.stdout)
    return answers


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def random_global(rng: random.Random) -> dict[str, Any]:
    values = genesis_global()
    values["fee_basis_points"] = rng.randrange(0, 200)
    values["creator_fee_basis_points"] = rng.randrange(0, 100)
    values["creator_fee_configurable"] = rng.random() < 0.3
    return values


def random_fee_config(rng: random.Random) -> dict[str, Any] | None:
    if rng.random() < 0.15:
        return None
    values = genesis_fee_config()
    thresholds = sorted(rng.sample(range(1, 600), rng.randrange(0, 4)))

    def fees() -> dict[str, int]:
        return {"lp_fee_bps": rng.randrange(0, 50), "protocol_fee_bps": rng.randrange(0, 150),
                "creator_fee_bps": rng.randrange(0, 150)}  # fmt: skip

    tiers = [0, *(x * SOL for x in thresholds)]
    values["fee_tiers"] = [{"market_cap_lamports_threshold": t, "fees": fees()} for t in tiers]
    values["stable_fee_tiers"] = values["fee_tiers"]
    return values


def curve_account(launch: CurveLaunch) -> bytes:
    values = {
        "virtual_token_reserves": launch.virtual_token_reserves,
        "virtual_quote_reserves": launch.virtual_sol_reserves,
        "real_token_reserves": launch.real_token_reserves, "real_quote_reserves": 0,
        "token_total_supply": launch.token_total_supply, "complete": False,
        "creator": launch.creator, "is_mayhem_mode": launch.is_mayhem_mode,
        "is_cashback_coin": launch.is_cashback_coin, "quote_mint": launch.quote_mint,
        "creator_fee_bps": launch.creator_fee_bps, "can_edit_creator_fee": False,
        "is_holder_reward": launch.is_holder_reward,
    }  # fmt: skip
    return encode_account("BondingCurve", BONDING_CURVE_LAYOUT, values, pf.BONDING_CURVE_SIZE)


def case(rng: random.Random) -> tuple[PreparedBuy, CurveLaunch, dict[str, Any]]:
    gv, fv = random_global(rng), random_fee_config(rng)
    g_raw = encode_account("Global", GLOBAL_LAYOUT, gv, GLOBAL_SIZE)
    fc_raw = None if fv is None else encode_account("FeeConfig", FEE_CONFIG_LAYOUT, fv,
                                                     FEE_CONFIG_SIZE)  # fmt: skip
    g = pf.decode_global(g_raw)
    fc = None if fc_raw is None else pf.decode_fee_config(fc_raw)
    key = Keypair()
    tip = rng.random() < 0.5
    prepared = prepared_buy(
        g, fc, key, amount_lamports=rng.randrange(1, 50 * SOL),
        slippage_bps=rng.randrange(0, 1_001) * 10, compute_unit_limit=rng.randrange(1, 1_400_001),
        compute_unit_price_micro_lamports=0 if rng.random() < 0.2 else rng.randrange(1, 10**9),
        tip_lamports=rng.randrange(1_000, 10**7) if tip else 0,
        tip_account=Keypair().pubkey() if tip else None,
    )  # fmt: skip
    vt = rng.randrange(300_000_000_000_000, 1_073_000_000_000_000)
    mayhem = rng.random() < 0.25
    launch = fresh_launch(
        g, token_program=rng.choice([pf.TOKEN_PROGRAM_ID, pf.TOKEN_2022_PROGRAM_ID]),
        virtual_token_reserves=vt, virtual_sol_reserves=rng.randrange(5 * SOL, 450 * SOL),
        real_token_reserves=rng.randrange(1, vt - 279_900_000_000_000 + 2),
        token_total_supply=rng.randrange(9 * 10**14, 2 * 10**15) if mayhem else 10**15,
        is_mayhem_mode=mayhem, is_holder_reward=rng.random() < 0.2,
        is_cashback_coin=rng.random() < 0.1,
        creator_fee_bps=rng.randrange(1, 300) if rng.random() < 0.3 else 0,
        quote_mint=rng.choice([Pubkey.default(), pf.WSOL_MINT]),
    )  # fmt: skip
    signed = build_curve_buy(prepared, launch)
    request = {
        "global": b64(g_raw), "feeConfig": None if fc_raw is None else b64(fc_raw),
        "bondingCurve": b64(curve_account(launch)),
        "mintSupply": str(curve_math.mint_supply_for(launch.curve())),
        "user": str(key.pubkey()), "mint": str(launch.mint),
        "tokenProgram": str(launch.token_program), "solAmount": str(prepared.amount_lamports),
        "slippagePercent": prepared.slippage_bps / 100,
        "nonceAccount": str(prepared.nonce_account), "nonceValue": str(prepared.nonce_value),
        "cuLimit": prepared.compute_unit_limit,
        "cuPrice": str(prepared.compute_unit_price_micro_lamports),
        "tipLamports": str(prepared.tip_lamports),
        "tipAccount": None if prepared.tip_account is None else str(prepared.tip_account),
        "tx": b64(signed.tx_bytes), "_signed": signed,
    }  # fmt: skip
    return prepared, launch, request


def test_signed_buy_matches_the_sdk_and_web3js() -> None:
    rng = random.Random(1515)
    cases = [case(rng) for _ in range(60)]
    signed = [req.pop("_signed") for _, _, req in cases]
    answers = call([req for _, _, req in cases])
    for (prepared, launch, _), mine, sdk in zip(cases, signed, answers, strict=True):
        where = f"launch {launch} amount {prepared.amount_lamports}"
        assert int(sdk["tokenAmount"]) == mine.token_amount, where
        assert sdk["actual"] == sdk["expected"], where
        assert sdk["recentBlockhash"] == str(prepared.nonce_value)
        assert sdk["feePayer"] == str(prepared.user)
        assert sdk["signers"] == [str(prepared.user)]
        assert sdk["signatureValid"] is True
        assert sdk["reserialized"] is True
        # the SDK's slippage formula gives the same limit as ours
        buy = sdk["built"][-2 if prepared.tip_account else -1]
        assert buy["programId"] == str(pf.PUMP_PROGRAM_ID)
        data = base64.b64decode(buy["data"])
        assert int.from_bytes(data[16:24], "little") == mine.max_sol_cost, where
    assert {c[1].token_program for c in cases} == {pf.TOKEN_PROGRAM_ID, pf.TOKEN_2022_PROGRAM_ID}
    assert any(c[1].is_mayhem_mode for c in cases)
    assert any(c[0].tip_account for c in cases)
