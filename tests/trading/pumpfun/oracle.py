"""The SDK side of the pump.fun venue tests: tests/oracle/pumpfun_venue.js run as one `node`
process per batch, and random pump accounts encoded by localnet's Borsh layouts."""

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

ORACLE_DIR = Path(__file__).resolve().parents[2] / "oracle"
SCRIPT = ORACLE_DIR / "pumpfun_venue.js"
SOL = 1_000_000_000


def call(requests: list[dict[str, Any]]) -> list[Any]:
    """Answers of the SDK for ``requests`` (one node process)."""
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


def key() -> Pubkey:
    return Keypair().pubkey()


def random_global(rng: random.Random) -> dict[str, Any]:
    values = genesis_global()
    values["fee_basis_points"] = rng.randrange(0, 200)
    values["creator_fee_basis_points"] = rng.randrange(0, 100)
    values["creator_fee_configurable"] = rng.random() < 0.5
    values["buyback_basis_points"] = rng.randrange(0, 10_001)
    return values


def random_fee_config(rng: random.Random) -> dict[str, Any] | None:
    if rng.random() < 0.1:
        return None
    values = genesis_fee_config()
    thresholds = sorted(rng.sample(range(1, 600), rng.randrange(0, 5)))
    tiers = [0, *(t * SOL for t in thresholds)] if rng.random() < 0.8 else [
        t * SOL for t in thresholds[:1] or [5]
    ]  # fmt: skip

    def fees() -> dict[str, int]:
        return {"lp_fee_bps": rng.randrange(0, 50), "protocol_fee_bps": rng.randrange(0, 150),
                "creator_fee_bps": rng.randrange(0, 150)}  # fmt: skip

    values["fee_tiers"] = [{"market_cap_lamports_threshold": t, "fees": fees()} for t in tiers]
    values["stable_fee_tiers"] = values["fee_tiers"]
    return values


def random_curve(rng: random.Random, *, sol_quoted: bool = True) -> dict[str, Any]:
    vt = rng.randrange(300_000_000_000_000, 1_073_000_000_000_000)
    vq = rng.randrange(5 * SOL, 450 * SOL)
    mayhem = rng.random() < 0.2
    supply = rng.randrange(900_000_000_000_000, 2_000_000_000_000_000) if mayhem else 10**15
    return {
        "virtual_token_reserves": vt, "virtual_quote_reserves": vq,
        "real_token_reserves": rng.randrange(1, vt - 279_900_000_000_000 + 2)
        if rng.random() < 0.9 else rng.randrange(1, 10**9),
        "real_quote_reserves": rng.randrange(0, vq), "token_total_supply": supply,
        "complete": False, "creator": Pubkey.default() if rng.random() < 0.1 else key(),
        "is_mayhem_mode": mayhem, "is_cashback_coin": rng.random() < 0.2,
        "quote_mint": Pubkey.default() if sol_quoted else key(),
        "creator_fee_bps": rng.randrange(1, 300) if rng.random() < 0.3 else 0,
        "can_edit_creator_fee": False, "is_holder_reward": rng.random() < 0.2,
    }  # fmt: skip


def encode_global(values: dict[str, Any]) -> bytes:
    return encode_account("Global", GLOBAL_LAYOUT, values, GLOBAL_SIZE)


def encode_fee_config(values: dict[str, Any]) -> bytes:
    return encode_account("FeeConfig", FEE_CONFIG_LAYOUT, values, FEE_CONFIG_SIZE)


def encode_curve(values: dict[str, Any], size: int = 151) -> bytes:
    """A curve as long as the program wrote it then (older curves lack the trailing fields)."""
    return encode_account("BondingCurve", BONDING_CURVE_LAYOUT, values, max(size, 125))[:size]
