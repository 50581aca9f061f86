"""Graduations from the WebSocket logs alone (no Geyser): a real ``migrate`` on localnet's pump
program, its logs as ``logsSubscribe`` delivers them to the pump.fun listener, decoded into the
coin's PumpSwap launch; the events are read as the official SDKs read them (the oracle); logs
without the events (truncated, or events only as CPIs) are resolved from ``getTransaction``."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from solders.keypair import Keypair
from solders.signature import Signature

from localnet import pump
from localnet.cluster import Cluster
from localnet.pump.launchpad import Graduation, PumpLaunchpad
from localnet.rpc.transactions import transaction_json
from sniper_bot.chain.ws import Notification
from sniper_bot.detection import LaunchDetector, PumpFunListener
from sniper_bot.detection.pumpfun import (
    CREATE_POOL_EVENT_DISCRIMINATOR,
    MIGRATION_EVENT_DISCRIMINATOR,
    MigrationResolver,
    migration_from_logs,
)
from sniper_bot.domain.launch import LaunchEvent
from sniper_bot.observability.metrics import Metrics
from sniper_bot.solana.programs import PUMP_AMM_PROGRAM, PUMP_PROGRAM
from sniper_bot.solana.pumpswap import canonical_pool_address

SOL = 1_000_000_000
ORACLE = Path(__file__).resolve().parents[1] / "oracle"
_DATA = "Program data: "


class _Migrated:
    def __init__(self, seed: int) -> None:
        self.cluster = Cluster(seed=seed, slot_ms=None)
        pump.install(self.cluster)
        pad = PumpLaunchpad(self.cluster, seed)
        self.creator, buyer = Keypair(), Keypair()
        self.cluster.airdrop(self.creator.pubkey(), 10 * SOL)
        self.cluster.airdrop(buyer.pubkey(), 200 * SOL)
        launch = pad.launch(self.creator, name="Grad", symbol="GRAD", dev_buy_lamports=SOL)
        self.mint = launch.mint
        self.graduation: Graduation = pad.graduate(launch.mint, buyer)
        outcome = self.cluster.history.get(Signature.from_string(self.signature))
        assert outcome is not None
        self.outcome = outcome
        self.logs: list[str] = list(outcome.logs)

    @property
    def signature(self) -> str:
        return self.graduation.migrate_signature

    def rpc(self) -> Any:
        return transaction_json(self.outcome, "json")


@pytest.fixture(scope="module")
def migrated() -> _Migrated:
    return _Migrated(77)


def _note(logs: Any, signature: str = "sig-migrate", err: Any = None) -> Notification:
    return Notification(
        "launch:pumpfun", "logsNotification", "helius", 99,
        {"signature": signature, "err": err, "logs": logs},
    )  # fmt: skip


def _without_events(logs: list[str]) -> list[str]:
    """The logs an emit_cpi-only program (or a truncated log) leaves: no ``Program data:``."""
    return [line for line in logs if not line.startswith(_DATA)]


def _expected(m: _Migrated, signature: str = "sig-migrate") -> LaunchEvent:
    return LaunchEvent(
        "pumpswap", str(m.mint), str(canonical_pool_address(m.mint)), str(m.creator.pubkey()),
        99, signature, 1.0, "helius",
    )  # fmt: skip


def test_a_migrates_logs_are_the_coins_pumpswap_launch(migrated: _Migrated) -> None:
    listener = PumpFunListener()
    launch = listener.decode(_note(migrated.logs), 1.0)
    assert launch == _expected(migrated)
    assert migrated.graduation.pool == canonical_pool_address(migrated.mint)
    # a failed migrate created nothing
    assert listener.decode(_note(migrated.logs, err={"InstructionError": [0, "x"]}), 1.0) is None


def test_either_event_alone_names_the_pool(migrated: _Migrated) -> None:
    pool = str(canonical_pool_address(migrated.mint))

    def only(disc: bytes) -> list[str]:
        return [
            line for line in migrated.logs
            if not line.startswith(_DATA) or base64.b64decode(line[len(_DATA):])[:8] == disc
        ]  # fmt: skip

    from_amm = migration_from_logs(only(CREATE_POOL_EVENT_DISCRIMINATOR))
    from_pump = migration_from_logs(only(MIGRATION_EVENT_DISCRIMINATOR))
    assert [(str(p.mint), str(p.pool), p.event) for p in from_amm.pools] == [
        (str(migrated.mint), pool, "CreatePoolEvent")
    ]
    assert [(str(p.mint), str(p.pool), p.event) for p in from_pump.pools] == [
        (str(migrated.mint), pool, "CompletePumpAmmMigrationEvent")
    ]
    assert from_amm.pools[0].coin_creator == migrated.creator.pubkey()
    assert from_pump.pools[0].coin_creator is None  # the pump event does not name it
    assert from_amm.migrated
    assert from_pump.migrated


def test_the_events_read_as_the_official_sdks_read_them(migrated: _Migrated) -> None:
    if shutil.which("node") is None or not (ORACLE / "node_modules" / "@pump-fun").is_dir():
        pytest.skip("node or tests/oracle/node_modules missing (make the .stamp there)")
    data = [line[len(_DATA) :] for line in migrated.logs if line.startswith(_DATA)]
    request = json.dumps({"op": "amm_decode", "events": data})
    done = subprocess.run(
        ["node", str(ORACLE / "oracle.js")], input=request, capture_output=True, text=True,
        timeout=120, check=True,
    )  # fmt: skip
    events = {str(e["name"]).lower(): e["data"] for e in json.loads(done.stdout)["events"]}
    ours = migration_from_logs(migrated.logs).pools[0]
    created, done = events["createpoolevent"], events["completepumpammmigrationevent"]
    assert created["baseMint"] == done["mint"] == str(ours.mint)
    assert created["pool"] == done["pool"] == str(ours.pool)
    assert created["coinCreator"] == str(ours.coin_creator)


def test_only_the_programs_own_lines_count(migrated: _Migrated) -> None:
    data = [line for line in migrated.logs if line.startswith(_DATA)]
    other = "Program 11111111111111111111111111111111"
    forged = [f"{other} invoke [1]", "Program log: Instruction: Migrate", *data, f"{other} success"]
    found = migration_from_logs(forged)
    assert found == migration_from_logs([])
    assert not found.migrated
    assert not found.pools
    # a PumpSwap line inside pump's frame (or the reverse) is not the other program's event
    swapped = [
        line.replace(PUMP_AMM_PROGRAM, "TMP").replace(PUMP_PROGRAM, PUMP_AMM_PROGRAM)
        .replace("TMP", PUMP_PROGRAM)
        for line in migrated.logs
    ]  # fmt: skip
    assert migration_from_logs(swapped).pools == ()


def test_a_migrate_without_events_is_resolved_from_its_transaction(migrated: _Migrated) -> None:
    asks: list[str] = []

    async def fetch(signature: str) -> Any:
        asks.append(signature)
        return None if len(asks) < 3 else migrated.rpc()  # not confirmed yet, twice

    async def scenario() -> list[LaunchEvent]:
        resolver = MigrationResolver(fetch, retry_s=0.01)
        listener = PumpFunListener(migrations=resolver)
        assert (
            listener.decode(_note(_without_events(migrated.logs), migrated.signature), 1.0) is None
        )
        got: list[LaunchEvent] = []

        async def sink(event: LaunchEvent) -> None:
            got.append(event)

        task = asyncio.create_task(resolver.run(sink))
        for _ in range(200):
            if got:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        assert resolver.resolved == 1
        return got

    got = asyncio.run(scenario())
    # the migrate names no creator; localnet's hosted CPI into create_pool (whose coin_creator
    # argument would) is not an inner instruction of the transaction
    assert [replace(e, creator=None) for e in got] == [
        replace(_expected(migrated, migrated.signature), creator=None)
    ]
    assert asks == [migrated.signature] * 3


def test_an_unresolvable_migrate_is_counted_not_retried_for_ever(migrated: _Migrated) -> None:
    async def never(signature: str) -> Any:
        return None

    async def broken(signature: str) -> Any:
        return {"meta": {}, "transaction": {"message": {"accountKeys": ["nope"]}}}

    async def scenario(fetch: Any) -> MigrationResolver:
        resolver = MigrationResolver(fetch, attempts=3, retry_s=0.0)
        listener = PumpFunListener(migrations=resolver)
        listener.decode(_note(_without_events(migrated.logs), migrated.signature), 1.0)
        got: list[LaunchEvent] = []

        async def sink(event: LaunchEvent) -> None:
            got.append(event)

        task = asyncio.create_task(resolver.run(sink))
        for _ in range(100):
            if resolver.unresolved:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        assert got == []
        return resolver

    assert asyncio.run(scenario(never)).unresolved == 1
    assert asyncio.run(scenario(broken)).unresolved == 1


def test_the_detector_emits_the_graduation_once_from_either_path(migrated: _Migrated) -> None:
    """The logs' sighting and the resolver's (another endpoint's truncated copy) are one pool."""

    class _Manager:
        async def logs_subscribe(self, *a: Any, **k: Any) -> None: ...
        async def program_subscribe(self, *a: Any, **k: Any) -> None: ...

    async def scenario() -> list[LaunchEvent]:
        async def fetch(signature: str) -> Any:
            return migrated.rpc()

        resolver = MigrationResolver(fetch, retry_s=0.0)
        listener = PumpFunListener(migrations=resolver)
        detector = LaunchDetector(_Manager(), [listener], Metrics(), feeds=[resolver])  # type: ignore[arg-type]
        got: list[LaunchEvent] = []

        async def sink(event: LaunchEvent) -> None:
            got.append(event)

        first = detector.handle(_note(migrated.logs, migrated.signature))
        assert first is not None
        got.append(first)
        assert detector.handle(_note(_without_events(migrated.logs), migrated.signature)) is None
        feed = asyncio.create_task(resolver.run(detector._feed_sink(resolver.source, sink)))
        for _ in range(100):
            if resolver.resolved:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        feed.cancel()
        return got

    got = asyncio.run(scenario())
    assert [(e.source, e.mint, e.pool) for e in got] == [
        ("pumpswap", str(migrated.mint), str(canonical_pool_address(migrated.mint)))
    ]
