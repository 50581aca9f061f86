"""Announcements decode with the published layouts; scenarios replay from a seed."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from typing import Any

from solders.pubkey import Pubkey

from localnet.cluster import Cluster
from localnet.launches import ScenarioEngine, parse_scenario, pumpfun, raydium
from localnet.market import Market
from localnet.market import instructions as ix
from localnet.tokens import TokenFactory

# shared/ lies beside the checkout (here and in CI); /work/shared is this workplace's copy
IDL = next(
    (
        p
        for p in (
            Path(__file__).resolve().parents[3].parent / "shared/data/idl/pump.json",
            Path("/work/shared/data/idl/pump.json"),
        )
        if p.exists()
    ),
    Path("shared/data/idl/pump.json"),
)
SCENARIO = Path(__file__).parents[3] / "src/localnet/scenarios/mixed.toml"


def _borsh_decode(fields: list[dict[str, Any]], data: bytes) -> dict[str, Any]:
    """A tiny IDL-driven Borsh decoder (independent of the encoder under test)."""
    out: dict[str, Any] = {}
    off = 0
    sizes = {"u64": ("<Q", 8), "i64": ("<q", 8), "bool": ("<?", 1)}
    for f in fields:
        kind = f["type"]
        if kind == "string":
            (n,) = struct.unpack_from("<I", data, off)
            out[f["name"]] = data[off + 4 : off + 4 + n].decode()
            off += 4 + n
        elif kind == "pubkey":
            out[f["name"]] = Pubkey.from_bytes(data[off : off + 32])
            off += 32
        else:
            fmt, size = sizes[kind]
            (out[f["name"]],) = struct.unpack_from(fmt, data, off)
            off += size
    assert off == len(data)
    return out


def test_create_event_matches_the_official_idl(cluster: Cluster, market: Market) -> None:
    factory = TokenFactory(cluster, market)
    engine = ScenarioEngine(cluster, market, factory, seed=7)
    info = engine.launch("honest", announce="pumpfun", name="Moon", symbol="MOON")
    logs = pumpfun.create_logs(
        pumpfun.CreateEvent(
            name="Moon",
            symbol="MOON",
            uri="u",
            mint=info.mint,
            bonding_curve=pumpfun.bonding_curve_address(info.mint),
            user=info.creator,
            creator=info.creator,
            timestamp=1_700_000_000,
            token_program=info.token_program,
        )
    )
    assert "Program log: Instruction: Create" in logs
    data_line = next(line for line in logs if line.startswith("Program data: "))
    raw = base64.b64decode(data_line.removeprefix("Program data: "))
    idl = json.loads(IDL.read_text())
    disc = next(e for e in idl["events"] if e["name"] == "CreateEvent")["discriminator"]
    assert raw[:8] == bytes(disc)
    fields = next(t for t in idl["types"] if t["name"] == "CreateEvent")["type"]["fields"]
    decoded = _borsh_decode(fields, raw[8:])
    assert decoded["name"] == "Moon"
    assert decoded["mint"] == info.mint
    assert decoded["token_total_supply"] == 10**15
    assert decoded["virtual_quote_reserves"] == decoded["virtual_sol_reserves"] == 30 * 10**9
    curve = cluster.get_account(pumpfun.bonding_curve_address(info.mint))
    assert curve is not None
    assert curve.owner == pumpfun.PUMP_PROGRAM_ID
    assert len(curve.data) == 115


def test_ray_log_matches_the_protocols_test_vector() -> None:
    vector = (
        "AADxU2UAAAAACQYAAAAAAAAAAAAAAAAAAAAAAPIFKgEAAAAAgMakfo0DAA0HUagoLaYTBf4pnDe5mOWEcd"
        "sRNQNzEPi+EEWmCvbu"
    )
    got = raydium.encode_init_ray_log(
        open_time=1_700_000_000,
        pc_decimals=9,
        coin_decimals=6,
        pc_amount=5 * 10**9,
        coin_amount=10**15,
        market=raydium.OPENBOOK_PROGRAM,
    )
    assert got == vector


def test_raydium_announcement_is_a_752_byte_amm_account_at_the_documented_offsets(
    cluster: Cluster, market: Market
) -> None:
    factory = TokenFactory(cluster, market)
    engine = ScenarioEngine(cluster, market, factory, seed=7)
    info = engine.launch("honest", announce="raydium")
    found = [(k, a) for k, a in cluster.program_accounts(raydium.RAYDIUM_AMM_V4)]
    assert len(found) == 1
    data = bytes(found[0][1].data)
    assert len(data) == 752
    assert Pubkey.from_bytes(data[400:432]) == info.mint  # baseMint
    assert Pubkey.from_bytes(data[432:464]) == ix.WSOL_MINT  # quoteMint
    assert struct.unpack_from("<Q", data, 0)[0] == 6  # SwapOnly
    assert Pubkey.from_bytes(data[560:592]) == raydium.OPENBOOK_PROGRAM
    amm = raydium.decode_amm_info(data)
    vault = cluster.get_account(amm.base_vault)  # a real token account of the pool's authority
    assert vault is not None
    assert vault.owner == info.token_program
    assert Pubkey.from_bytes(bytes(vault.data)[0:32]) == info.mint


def _run(seed: int) -> list[tuple[str, str, int]]:
    cluster = Cluster(seed=seed, slot_ms=None)
    market = Market(cluster, seed=seed)
    engine = ScenarioEngine(cluster, market, TokenFactory(cluster, market), seed=seed)
    engine.attach()
    engine.load(parse_scenario(SCENARIO.read_text()))
    cluster.advance_slots(20)
    return [
        (str(t.mint), t.kind, market.reserves(market.pools[t.mint])[0]) for t in engine.launched
    ]


def test_scenario_replays_identically_from_the_same_seed() -> None:
    first = _run(11)
    assert [k for _, k, _ in first] == [
        "honest",
        "freeze_authority",
        "transfer_fee",
        "rug_pull",
        "mint_authority",
        "low_liquidity",
    ]
    assert first == _run(11)
    rugged = dict((k, sol) for _, k, sol in first)
    assert rugged["rug_pull"] == 0
