"""Launch detection: CreateEvent/AmmInfo decoding (property tests), one event per mint, and
malformed notifications that never stop a listener (a real WebSocket server sends them)."""

from __future__ import annotations

import asyncio
import base64
import json
import random
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import given
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from localnet.launches import pumpfun as lp
from localnet.launches import raydium as lr
from sniper_bot.chain.endpoints import EndpointConfig
from sniper_bot.chain.ws import Notification, SubscriptionManager
from sniper_bot.detection import (
    DecodeError,
    LaunchDetector,
    PumpFunListener,
    RaydiumV4Listener,
    parse_create_event,
)
from sniper_bot.detection.detector import WEBSOCKET
from sniper_bot.detection.pumpfun import CREATE_EVENT_DISCRIMINATOR
from sniper_bot.domain.launch import LaunchEvent
from sniper_bot.domain.money import WSOL_MINT
from sniper_bot.observability.metrics import Metrics

from .conftest import FAST_WS, until

keys = st.binary(min_size=32, max_size=32).map(Pubkey.from_bytes)
texts = st.text(max_size=40)
u64 = st.integers(0, 2**64 - 1)


@st.composite
def create_events(draw: st.DrawFn) -> lp.CreateEvent:
    return lp.CreateEvent(
        name=draw(texts), symbol=draw(texts), uri=draw(texts), mint=draw(keys),
        bonding_curve=draw(keys), user=draw(keys), creator=draw(keys),
        timestamp=draw(st.integers(-(2**63), 2**63 - 1)), token_program=draw(keys),
        virtual_token_reserves=draw(u64), virtual_sol_reserves=draw(u64),
        real_token_reserves=draw(u64), token_total_supply=draw(u64),
    )  # fmt: skip


@given(create_events())
def test_create_event_round_trips_through_the_borsh_bytes(event: lp.CreateEvent) -> None:
    parsed = parse_create_event(lp.encode_create_event(event))
    assert (parsed.name, parsed.symbol, parsed.uri) == (event.name, event.symbol, event.uri)
    assert (parsed.mint, parsed.bonding_curve, parsed.user) == (
        event.mint,
        event.bonding_curve,
        event.user,
    )
    assert parsed.creator == event.creator
    assert parsed.timestamp == event.timestamp
    assert parsed.virtual_sol_reserves == event.virtual_sol_reserves
    assert parsed.token_total_supply == event.token_total_supply
    assert parsed.token_program == event.token_program


@given(create_events(), st.integers(0, 400))
def test_truncated_events_decode_up_to_their_last_whole_field_or_are_refused(
    event: lp.CreateEvent, cut: int
) -> None:
    raw = lp.encode_create_event(event)[: 8 + cut]
    try:
        parsed = parse_create_event(raw)
    except DecodeError:
        return
    assert parsed.mint == event.mint  # every required field made it
    assert parsed.user == event.user


EVENT_FIELDS = (
    "name", "symbol", "uri", "mint", "bonding_curve", "user", "creator", "timestamp",
    "virtual_token_reserves", "virtual_sol_reserves", "real_token_reserves",
    "token_total_supply", "token_program",
)  # fmt: skip


def fields(event: object) -> list[object]:
    return [getattr(event, name) for name in EVENT_FIELDS]


def borsh_string(text: str) -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(4, "little") + raw


@given(st.binary(max_size=300), st.none() | create_events())
def test_bytes_after_the_discriminator_decode_to_what_they_say_or_raise_only_decode_error(
    tail: bytes, event: lp.CreateEvent | None
) -> None:
    """Random bytes, or a real event followed by random bytes (newer fields we do not read)."""
    data = CREATE_EVENT_DISCRIMINATOR + tail if event is None else lp.encode_create_event(event)
    try:
        parsed = parse_create_event(data if event is None else data + tail)
    except DecodeError:
        assert event is None, "a real event was refused"
        return
    if event is not None:
        assert [getattr(parsed, f) for f in EVENT_FIELDS] == [
            getattr(event, f) for f in EVENT_FIELDS
        ]
    head = b"".join(map(borsh_string, (parsed.name, parsed.symbol, parsed.uri)))
    keys_ = bytes(parsed.mint) + bytes(parsed.bonding_curve) + bytes(parsed.user)
    assert data[8:].startswith(head + keys_)  # the strings and keys are the bytes' own


def _event(mint: Pubkey | None = None) -> lp.CreateEvent:
    creator = Pubkey.new_unique()
    return lp.CreateEvent(
        name="Moon", symbol="MOON", uri="https://x.invalid/m", mint=mint or Pubkey.new_unique(),
        bonding_curve=Pubkey.new_unique(), user=creator, creator=creator, timestamp=1_700_000_000,
        token_program=Pubkey.new_unique(),
    )  # fmt: skip


PUMP = str(lp.PUMP_PROGRAM_ID)


def pump_frame(*lines: str, program: str = PUMP) -> list[str]:
    """``lines`` as ``program`` writes them in a top-level invocation (what the runtime logs)."""
    return [f"Program {program} invoke [1]", *lines, f"Program {program} success"]


def logs_note(logs: object, *, err: object = None, endpoint: str = "helius") -> Notification:
    value = {"signature": "sig1", "err": err, "logs": logs}
    return Notification("launch:pumpfun", "logsNotification", endpoint, 42, value)


def amm_note(
    data: bytes | str, pubkey: str = "Amm1111111111111111111111111111111111111111"
) -> Notification:
    encoded = data if isinstance(data, str) else base64.b64encode(data).decode()
    value = {"pubkey": pubkey, "account": {"data": [encoded, "base64"], "owner": "x"}}
    return Notification("launch:raydium_v4", "programNotification", "helius", 7, value)


def amm(base: Pubkey, quote: Pubkey, status: int = lr.STATUS_SWAP_ONLY) -> bytes:
    return lr.encode_amm_info(
        lr.AmmInfo(
            base_vault=Pubkey.new_unique(), quote_vault=Pubkey.new_unique(), base_mint=base,
            quote_mint=quote, lp_mint=Pubkey.new_unique(), market_id=Pubkey.new_unique(),
            owner=Pubkey.new_unique(), base_decimal=6, quote_decimal=9,
            pool_open_time=1_700_000_000, status=status,
        )
    )  # fmt: skip


def test_pumpfun_listener_turns_create_logs_into_a_launch_and_ignores_the_rest() -> None:
    listener = PumpFunListener()
    event = _event()
    launch = listener.decode(logs_note(lp.create_logs(event)), 1.5)
    assert launch == LaunchEvent(
        "pumpfun", str(event.mint), str(event.bonding_curve), str(event.creator), 42, "sig1", 1.5,
        "helius",
    )  # fmt: skip
    assert (
        listener.decode(logs_note(lp.create_logs(event), err={"InstructionError": []}), 0) is None
    )
    assert listener.decode(logs_note(["Program log: Instruction: Buy"]), 0) is None
    assert listener.decode(logs_note(["Program log: Instruction: CreateTokenAccount"]), 0) is None
    broken = pump_frame("Program log: Instruction: Create", "Program data: AAAA")
    with pytest.raises(DecodeError):
        listener.decode(logs_note(broken), 0)
    with pytest.raises(DecodeError):
        listener.decode(logs_note(None), 0)


def test_raydium_listener_takes_the_non_sol_side_of_sol_pairs_only() -> None:
    listener = RaydiumV4Listener()
    wsol, mint = Pubkey.from_string(WSOL_MINT), Pubkey.new_unique()
    launch = listener.decode(amm_note(amm(mint, wsol)), 2.0)
    assert launch is not None
    assert (launch.source, launch.mint, launch.slot) == ("raydium_v4", str(mint), 7)
    reverse = listener.decode(amm_note(amm(wsol, mint)), 2.0)
    assert reverse is not None
    assert reverse.mint == str(mint)
    assert listener.decode(amm_note(amm(mint, Pubkey.new_unique())), 0) is None
    assert listener.decode(amm_note(amm(mint, wsol, status=0)), 0) is None
    for bad in (b"\x00" * 100, "%%%not-base64%%%"):
        with pytest.raises(DecodeError):
            listener.decode(amm_note(bad), 0)


class Recorder:
    def __init__(self) -> None:
        self.events: list[LaunchEvent] = []

    async def __call__(self, event: LaunchEvent) -> None:
        self.events.append(event)


def test_the_same_pool_twice_is_one_event_and_another_pool_of_the_mint_is_a_launch() -> None:
    metrics = Metrics()
    detector = LaunchDetector(_NoWire(), [PumpFunListener(), RaydiumV4Listener()], metrics)
    event = _event()
    wsol = Pubkey.from_string(WSOL_MINT)
    first = detector.handle(logs_note(lp.create_logs(event)))
    assert first is not None
    assert detector.handle(logs_note(lp.create_logs(replace(event, name="again")))) is None
    # the coin's Raydium pool (another venue, another pool account) is a launch of the same
    # mint; a later write to that pool account is not
    amm_pool = "Amm1111111111111111111111111111111111111111"
    pool = detector.handle(amm_note(amm(event.mint, wsol), amm_pool))
    assert pool is not None
    assert (pool.source, pool.mint, pool.pool) == ("raydium_v4", str(event.mint), amm_pool)
    assert detector.handle(amm_note(amm(event.mint, wsol), amm_pool)) is None
    assert detector.handle(amm_note(amm(Pubkey.new_unique(), wsol), "Amm2")) is not None
    assert (detector.events, detector.duplicates) == (3, 2)
    sample = metrics.registry.get_sample_value
    assert sample("ws_messages_total", {"endpoint": "helius", "kind": "launch_duplicate"}) == 2
    assert sample("ws_messages_total", {"endpoint": "helius", "kind": "launch_pumpfun"}) == 1
    assert sample("ws_messages_total", {"endpoint": "helius", "kind": "launch_raydium_v4"}) == 2


def test_a_graduation_within_the_hour_of_its_create_is_a_pumpswap_launch() -> None:
    """The curve's create, then (minutes later) the ``migrate`` creating its PumpSwap pool: both
    get through; the PumpSwap pool told by Geyser and a WebSocket is still first-seen-wins."""
    metrics = Metrics()
    clock = [100.0]
    detector = LaunchDetector(_NoWire(), [PumpFunListener()], metrics, clock=lambda: clock[0])
    event = _event()
    mint = str(event.mint)
    created = detector.handle(logs_note(lp.create_logs(event)))
    assert created is not None
    assert (created.source, created.pool) == ("pumpfun", str(event.bonding_curve))
    # the curve's create seen again by Geyser: still the curve's one launch
    assert detector.offer(replace(created, endpoint="geyser"), "geyser", 100.25) is None
    clock[0] = 700.0  # 10 minutes later the curve graduates
    graduated = LaunchEvent("pumpswap", mint, "PumpSwapPoo1111111111111111111111111111111",
                            str(event.creator), 50, "sigM", 700.0, "geyser")  # fmt: skip
    assert detector.offer(graduated, "geyser", 700.0) is graduated
    # the same pool again, from the WebSocket side and from Geyser itself: dropped
    assert detector.offer(replace(graduated, endpoint="helius"), WEBSOCKET, 700.5) is None
    assert detector.offer(graduated, "geyser", 701.0) is None
    assert (detector.events, detector.duplicates) == (2, 3)
    value = metrics.registry.get_sample_value
    assert value("launch_first_seen_total", {"source": "websocket"}) == 1
    assert value("launch_first_seen_total", {"source": "geyser"}) == 1
    assert value("launch_first_seen_gap_seconds_count", {"source": "websocket"}) == 1
    assert value("launch_first_seen_gap_seconds_sum", {"source": "websocket"}) == 0.5
    assert value("launch_first_seen_gap_seconds_count", {"source": "geyser"}) == 1
    assert value("launch_first_seen_gap_seconds_sum", {"source": "geyser"}) == 0.25


class _NoWire:
    """A notification source that is never connected (``handle`` is fed directly)."""

    async def logs_subscribe(self, *args: object, **kwargs: object) -> None: ...
    async def program_subscribe(self, *args: object, **kwargs: object) -> None: ...
    async def run(self) -> None: ...

    async def notifications(self) -> AsyncIterator[Notification]:  # pragma: no cover
        await asyncio.Event().wait()
        yield Notification("", "", "", None, None)


TRUNCATED = CREATE_EVENT_DISCRIMINATOR + b"\xff" * 9


@pytest.fixture
async def hostile_ws() -> AsyncIterator[str]:
    """A provider that answers subscriptions and then sends garbage before one real launch."""
    good = lp.create_logs(_event())

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            req = msg.json()
            sub = 10 if req["method"] == "logsSubscribe" else 11
            await ws.send_str(json.dumps({"jsonrpc": "2.0", "result": sub, "id": req["id"]}))
            if sub != 10:
                continue

            def note(value: object) -> str:
                result = {"context": {"slot": 5}, "value": value}
                params = {"subscription": 10, "result": result}
                return json.dumps(
                    {"jsonrpc": "2.0", "method": "logsNotification", "params": params}
                )

            for bad in (
                "not json",
                note("a string"),
                note({"signature": "s1", "err": None, "logs": 5}),
                note({"signature": "s2", "err": None,
                      "logs": pump_frame("Program log: Instruction: Create",
                                         "Program data: ////")}),
                note({"signature": "s3", "err": None, "logs": pump_frame(
                    "Program log: Instruction: Create",
                    "Program data: " + base64.b64encode(TRUNCATED).decode())}),
            ):  # fmt: skip
                await ws.send_str(bad)
            await ws.send_str(note({"signature": "ok", "err": None, "logs": good}))
        return ws

    app = web.Application()
    app.router.add_get("/", handler)
    server = TestServer(app)
    await server.start_server()
    yield str(server.make_url("/")).replace("http://", "ws://")
    await server.close()


async def test_malformed_notifications_are_counted_and_the_listener_keeps_going(
    hostile_ws: str,
) -> None:
    metrics = Metrics()
    async with aiohttp.ClientSession() as session:
        config = EndpointConfig(name="shady", url="http://127.0.0.1:1", ws_url=hostile_ws)
        manager = SubscriptionManager([config], metrics, session, backoff=FAST_WS,
                                      rng=random.Random(1))  # fmt: skip
        detector = LaunchDetector(manager, [PumpFunListener(), RaydiumV4Listener()], metrics)
        recorder = Recorder()
        task = asyncio.create_task(detector.run(recorder))
        try:
            await until(lambda: bool(recorder.events))
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    [event] = recorder.events
    assert event.signature == "ok"
    assert event.endpoint == "shady"
    assert detector.malformed == 4  # a string value, logs not a list, two broken CreateEvents
    sample = metrics.registry.get_sample_value
    assert sample("ws_messages_total", {"endpoint": "shady", "kind": "launch_malformed"}) == 4
    assert sample("ws_messages_total", {"endpoint": "shady", "kind": "malformed"}) == 1


# ---- the launch lifecycle: create / create_v2, trades and completion from the same logs ------
from localnet.pump import state as pump_state  # noqa: E402 - the hosted program's own encoders
from sniper_bot.detection.curves import CurveBook  # noqa: E402
from sniper_bot.domain.launch import INITIAL_REAL_TOKEN_RESERVES, CurveUpdate  # noqa: E402
from sniper_bot.solana import pump_events as pe  # noqa: E402

LAUNCHLAB = "LanMV9sAd7wArD4vJFi2qDdfnVhFxYSUg6eADduJ3uj"  # Raydium LaunchLab: same TradeEvent name
VIRTUAL_SOL, VIRTUAL_TOKENS = 30_000_000_000, 1_073_000_000_000_000


def trade_values(mint: Pubkey, **over: object) -> dict[str, object]:
    """Every TradeEvent field of the current IDL (as the hosted program fills them)."""
    values: dict[str, object] = {
        "mint": mint, "sol_amount": 10**9, "token_amount": 3 * 10**13, "is_buy": True,
        "user": Pubkey.new_unique(), "timestamp": 1_700_000_001,
        "virtual_sol_reserves": VIRTUAL_SOL + 10**9,
        "virtual_token_reserves": VIRTUAL_TOKENS - 3 * 10**13, "real_sol_reserves": 10**9,
        "real_token_reserves": INITIAL_REAL_TOKEN_RESERVES - 3 * 10**13,
        "fee_recipient": Pubkey.new_unique(), "fee_basis_points": 95, "fee": 9_500_000,
        "creator": Pubkey.new_unique(), "creator_fee_basis_points": 5, "creator_fee": 500_000,
        "track_volume": True, "total_unclaimed_tokens": 0, "total_claimed_tokens": 0,
        "current_sol_volume": 10**9, "last_update_timestamp": 1_700_000_001, "ix_name": "buy",
        "mayhem_mode": False, "cashback_fee_basis_points": 0, "cashback": 0,
        "buyback_fee_basis_points": 0, "buyback_fee": 0,
        "shareholders": [{"address": Pubkey.new_unique(), "share_bps": 10_000}],
        "quote_mint": Pubkey.default(), "quote_amount": 10**9,
        "virtual_quote_reserves": VIRTUAL_SOL + 10**9, "real_quote_reserves": 10**9,
        "holder_rewards_bps": 0, "holder_rewards": 0,
    }  # fmt: skip
    values.update(over)
    return values


def trade_line(mint: Pubkey, **over: object) -> str:
    return pump_state.event_log(pump_state.TRADE_EVENT_LAYOUT, trade_values(mint, **over))


def complete_line(mint: Pubkey) -> str:
    return pump_state.event_log(pump_state.COMPLETE_EVENT_LAYOUT, {
        "user": Pubkey.new_unique(), "mint": mint, "bonding_curve": Pubkey.new_unique(),
        "timestamp": 1_700_000_002, "quote_mint": Pubkey.default(),
    })  # fmt: skip


def create_v2_logs(event: lp.CreateEvent) -> list[str]:
    """A successful `create_v2` as the hosted program logs it (Token-2022 CPIs one level down)."""
    token = str(event.token_program)
    data = base64.b64encode(lp.encode_create_event(event)).decode()
    return pump_frame(
        "Program log: Instruction: CreateV2",
        f"Program {token} invoke [2]",
        "Program log: Instruction: InitializeMint2",
        f"Program {token} success",
        f"Program data: {data}",
    )


# shared/ lies beside the checkout (here and in CI); /work/shared is this workplace's copy
IDL = next(
    (
        p
        for p in (
            Path(__file__).resolve().parents[2].parent / "shared/data/idl/pump.json",
            Path("/work/shared/data/idl/pump.json"),
        )
        if p.exists()
    ),
    Path("shared/data/idl/pump.json"),
)


def test_the_event_discriminators_and_field_order_are_the_idls() -> None:
    idl = json.loads(IDL.read_text())
    by_name = {e["name"]: bytes(e["discriminator"]) for e in idl["events"]}
    assert by_name["CreateEvent"] == pe.CREATE_EVENT_DISCRIMINATOR == CREATE_EVENT_DISCRIMINATOR
    assert by_name["TradeEvent"] == pe.TRADE_EVENT_DISCRIMINATOR
    assert by_name["CompleteEvent"] == pe.COMPLETE_EVENT_DISCRIMINATOR
    types = {t["name"]: t["type"].get("fields") for t in idl["types"]}
    types = {name: [f["name"] for f in types[name]] for name in ("CreateEvent", "TradeEvent",
                                                                   "CompleteEvent")}  # fmt: skip
    assert [f.name for f in fields_of(pe.CreateEvent)] == types["CreateEvent"]
    assert [f.name for f in fields_of(pe.TradeEvent)] == types["TradeEvent"]
    assert [f.name for f in fields_of(pe.CompleteEvent)] == types["CompleteEvent"]


def fields_of(cls: type) -> list[Any]:
    import dataclasses

    return list(dataclasses.fields(cls))


def test_both_create_forms_are_launches_and_their_curve_is_tracked() -> None:
    for logs_of, instruction in ((lp.create_logs, "Create"), (create_v2_logs, "CreateV2")):
        listener = PumpFunListener()
        event = _event()
        launch = listener.decode(logs_note(logs_of(event)), 3.0)
        assert launch is not None, instruction
        assert (launch.mint, launch.pool) == (str(event.mint), str(event.bonding_curve))
        events, instructions = pe.pump_log_events(logs_of(event))
        assert instructions == [instruction]
        [logged] = events
        assert logged.instruction == instruction
        assert isinstance(logged.event, pe.CreateEvent)
        assert logged.event.is_holder_reward is False  # the last IDL field decoded
        progress = listener.curves.get(str(event.mint))
        assert progress is not None
        assert progress.progress_bps == 0
        assert progress.virtual_sol_reserves == event.virtual_sol_reserves


def test_trades_and_completion_move_the_curve_without_a_launch() -> None:
    seen: list[CurveUpdate] = []
    listener = PumpFunListener(on_curve=seen.append)
    event = _event()
    listener.decode(logs_note(lp.create_logs(event)), 1.0)
    buy = pump_frame("Program log: Instruction: BuyV2", trade_line(event.mint))
    assert listener.decode(logs_note(buy), 2.0) is None  # a trade is not a launch
    progress = listener.curves.get(str(event.mint))
    assert progress is not None
    sold = 3 * 10**13
    assert progress.real_token_reserves == INITIAL_REAL_TOKEN_RESERVES - sold
    assert progress.progress_bps == sold * 10_000 // INITIAL_REAL_TOKEN_RESERVES
    assert progress.trades == 1
    cap = progress.market_cap_lamports()
    assert cap == (VIRTUAL_SOL + 10**9) * event.token_total_supply // (VIRTUAL_TOKENS - sold)
    last = pump_frame(
        "Program log: Instruction: BuyV2",
        trade_line(event.mint, real_token_reserves=0),
        complete_line(event.mint),
    )
    listener.decode(logs_note(last), 3.0)
    done = listener.curves.get(str(event.mint))
    assert done is not None
    assert done.complete
    assert done.progress_bps == 10_000
    assert [u.kind for u in seen] == ["create", "trade", "trade", "complete"]
    assert seen[1].is_buy is True
    assert seen[1].sol_amount == 10**9


def test_only_the_pump_programs_own_lines_count() -> None:
    """LaunchLab's TradeEvent has pump's discriminator; a CPI's data line is not pump's."""
    listener = PumpFunListener()
    mint = Pubkey.new_unique()
    foreign = pump_frame("Program log: Instruction: BuyExactIn", trade_line(mint),
                         program=LAUNCHLAB)  # fmt: skip
    assert listener.decode(logs_note(foreign), 0) is None
    assert listener.curves.get(str(mint)) is None
    data = base64.b64encode(lp.encode_create_event(_event(mint))).decode()
    nested = pump_frame(  # pump calls a program that logs a CreateEvent-looking line
        "Program log: Instruction: BuyV2",
        f"Program {LAUNCHLAB} invoke [2]",
        "Program log: Instruction: Create",
        f"Program data: {data}",
        f"Program {LAUNCHLAB} success",
    )
    assert listener.decode(logs_note(nested), 0) is None
    assert listener.curves.get(str(mint)) is None
    assert listener.decode(logs_note(lp.create_logs(_event(mint)), err={"x": 1}), 0) is None
    assert len(listener.curves) == 0


@st.composite
def trade_values_s(draw: st.DrawFn) -> dict[str, object]:
    return trade_values(
        draw(keys), sol_amount=draw(u64), token_amount=draw(u64), is_buy=draw(st.booleans()),
        timestamp=draw(st.integers(-(2**63), 2**63 - 1)), virtual_sol_reserves=draw(u64),
        virtual_token_reserves=draw(u64), real_sol_reserves=draw(u64),
        real_token_reserves=draw(u64), ix_name=draw(texts),
    )  # fmt: skip


@given(trade_values_s(), st.integers(0, 600))
def test_trade_events_decode_whole_or_truncated_after_the_required_fields(
    values: dict[str, object], cut: int
) -> None:
    raw = pump_state.discriminator("event", "TradeEvent") + pump_state.TRADE_EVENT_LAYOUT.encode(
        values
    )
    full = pe.decode_trade_event(raw)
    assert (full.mint, full.sol_amount, full.is_buy, full.ix_name) == (
        values["mint"], values["sol_amount"], values["is_buy"], values["ix_name"],
    )  # fmt: skip
    assert full.holder_rewards == 0
    assert full.shareholders is not None
    assert len(full.shareholders) == 1
    assert pe.decode_trade_event(raw + b"\x07" * 9) == full  # a newer program's extra fields
    short = raw[: 8 + cut]
    try:
        part = pe.decode_trade_event(short)
    except pe.EventLayoutError:
        assert 8 + cut < 8 + 32 + 8 + 8 + 1 + 32 + 8 + 8 + 8  # only inside the required prefix
        return
    assert part.virtual_token_reserves == values["virtual_token_reserves"]
    present = [f.name for f in fields_of(pe.TradeEvent) if getattr(part, f.name) is not None]
    assert present == [f.name for f in fields_of(pe.TradeEvent)][: len(present)]


def test_the_curve_book_is_bounded_ignores_late_copies_and_stays_complete() -> None:
    book = CurveBook(max_coins=2)

    def update(mint: str, slot: int, real_tokens: int | None, complete: bool = False) -> None:
        kind = "complete" if complete else "trade"
        vsol = None if complete else VIRTUAL_SOL
        vtok = None if complete else VIRTUAL_TOKENS
        book.apply(CurveUpdate(kind, mint, vsol, vtok, 0, real_tokens, complete, slot, None, 0.0))

    update("a", 10, 500)
    update("a", 9, 900)  # an older slot's copy arriving late
    assert book.get("a").real_token_reserves == 500  # type: ignore[union-attr]
    update("a", 11, None, complete=True)
    update("a", 12, 400)
    assert book.get("a").complete  # type: ignore[union-attr]
    update("b", 1, 1)
    update("c", 1, 1)
    assert len(book) == 2
    assert book.get("a") is None  # least recently updated forgotten first
    book.apply(CurveUpdate("complete", "z", None, None, None, None, True, 1, None, 0.0))
    assert book.get("z") is None  # nothing to measure for a coin never seen trading
