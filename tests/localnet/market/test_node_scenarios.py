"""The node plays scenarios: the endless default mix (what the CLI runs) or a file, from a seed."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from localnet.__main__ import serve
from localnet.launches import DEFAULT_SCENARIO, load_scenario
from localnet.node import Localnet, LocalnetConfig, LocalnetUrls
from localnet.testing import TEST_ENDPOINTS, running_localnet

MIXED = Path(__file__).parents[3] / "src/localnet/scenarios/mixed.toml"


async def _advance_and_list(control: str, slots: int) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        async with session.post(f"{control}/slots/advance", json={"n": slots}) as resp:
            assert resp.status == 200
        async with session.get(f"{control}/tokens") as resp:
            tokens: list[dict[str, Any]] = await resp.json()
    return tokens


async def _default_run(seed: int) -> list[dict[str, Any]]:
    async with running_localnet(seed=seed, default_scenario=True) as net:
        assert net.urls is not None
        return await _advance_and_list(net.urls.control, 30)


async def test_default_scenario_launches_a_mix_of_kinds_and_replays_from_the_seed() -> None:
    first = await _default_run(5)
    stream = load_scenario(DEFAULT_SCENARIO).stream
    assert stream is not None
    # one launch every `every_slots` from `start_slot` on: slots 2, 8, 14, 20, 26
    assert len(first) == 5
    kinds = [t["kind"] for t in first]
    assert len(set(kinds)) >= 4  # dealt from a deck where only "honest" appears twice
    assert set(kinds) <= set(stream.kinds)
    assert first == await _default_run(5)  # same mints, same kinds, same order
    other = await _default_run(6)
    assert {t["mint"] for t in other}.isdisjoint({t["mint"] for t in first})


async def test_tests_get_no_scenario_unless_they_ask() -> None:
    async with running_localnet(seed=5) as net:
        assert net.urls is not None
        assert await _advance_and_list(net.urls.control, 30) == []


async def test_an_explicit_scenario_file_is_played() -> None:
    async with running_localnet(seed=3, scenario=MIXED, default_scenario=True) as net:
        assert net.urls is not None
        tokens = await _advance_and_list(net.urls.control, 6)
    assert [t["kind"] for t in tokens] == [
        "honest",
        "freeze_authority",
        "transfer_fee",
        "rug_pull",
        "mint_authority",
        "low_liquidity",
        "curve",  # launches on the pump.fun curve follow the factory's tokens
        "curve_bundle",
        "curve_dump",
        "curve_graduate",
    ]


def test_a_broken_scenario_file_fails_before_anything_starts(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[launch]]\nat_slot = 1\nkind = "honest"\nannounce = "twitter"\n')
    with pytest.raises(ValueError, match="announce must be one of"):
        Localnet(LocalnetConfig(scenario=bad))
    with pytest.raises(FileNotFoundError):
        Localnet(LocalnetConfig(scenario=tmp_path / "missing.toml"))


async def test_serve_the_cli_path_plays_the_default_scenario() -> None:
    ready: asyncio.Queue[LocalnetUrls] = asyncio.Queue()
    stop = asyncio.Event()
    config = LocalnetConfig(seed=2, slot_ms=None, endpoints=TEST_ENDPOINTS)
    task = asyncio.create_task(serve(config, on_ready=ready.put_nowait, stop=stop))
    try:
        urls = await asyncio.wait_for(ready.get(), 20)
        tokens = await _advance_and_list(urls.control, 8)
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
    assert len(tokens) == 2


async def test_zero_slot_ms_means_manual_slots() -> None:
    async with running_localnet(slot_ms=0) as net:
        assert net.cluster.slot_ms is None
        slot = net.cluster.slot
        await asyncio.sleep(0.05)
        assert net.cluster.slot == slot
