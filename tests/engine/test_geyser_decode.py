"""The Geyser listener's decoding of real localnet transactions in Yellowstone's shape (the
localnet Geyser server's converter): a pump.fun create is recognised from the transaction alone
(logs absent or truncated) with the very fields the program's CreateEvent carries, a dev buy in
the create's transaction gives the curve after it, replays are dropped, failed transactions and
malformed instructions never become launches; and the detector's cross-source de-dup."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from solders.compute_budget import set_compute_unit_limit
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.transaction import VersionedTransaction

from localnet import pump
from localnet.cluster import Cluster
from localnet.geyser.convert import transaction_info
from localnet.history import TxOutcome
from localnet.market import instructions as tix
from localnet.pump.launchpad import create_v2_instruction, trade_v2_instruction
from localnet.pump.state import BUYBACK_FEE_RECIPIENTS, FEE_RECIPIENTS
from sniper_bot.detection.base import DecodeError
from sniper_bot.detection.detector import WEBSOCKET, LaunchDetector
from sniper_bot.detection.geyser import GeyserConfig, GeyserListener, parse_endpoint
from sniper_bot.detection.pumpfun import create_event_from_logs
from sniper_bot.domain.launch import LaunchEvent
from sniper_bot.observability.metrics import Metrics
from sniper_bot.solana.pump_events import TradeEvent, pump_log_events
from yellowstone_proto import geyser_pb2 as pb

SOL = 1_000_000_000


@pytest.fixture
def cluster() -> Cluster:
    c = Cluster(seed=61, slot_ms=None)
    pump.install(c)
    return c


def _send(
    cluster: Cluster, payer: Keypair, ixs: list[Instruction], signers: list[Keypair]
) -> TxOutcome:
    msg = MessageV0.try_compile(payer.pubkey(), ixs, [], cluster.latest_blockhash())
    outcome = cluster.send_transaction(VersionedTransaction(msg, [payer, *signers]))
    assert outcome.landed, outcome.err
    return outcome


def _update(outcome: TxOutcome, *, logs: list[str] | None = None) -> pb.SubscribeUpdate:
    info = transaction_info(outcome, 0, ([], []))
    if logs is not None:
        del info.meta.log_messages[:]
        info.meta.log_messages.extend(logs)
        info.meta.log_messages_none = not logs
    return pb.SubscribeUpdate(
        filters=["pumpfun"],
        transaction=pb.SubscribeUpdateTransaction(transaction=info, slot=outcome.slot),
    )


def _create(cluster: Cluster, dev_tokens: int = 0) -> tuple[Keypair, Keypair, TxOutcome]:
    creator, mint = Keypair(), Keypair()
    cluster.airdrop(creator.pubkey(), 50 * SOL)
    ixs = [set_compute_unit_limit(600_000),
           create_v2_instruction(mint.pubkey(), creator.pubkey(), creator.pubkey(), "Moon Dog",
                                 "MOON", "https://example.invalid/moon.json")]  # fmt: skip
    if dev_tokens:
        user = creator.pubkey()
        ixs += [
            tix.create_associated_token_account_idempotent(
                user, user, mint.pubkey(), tix.TOKEN_2022_PROGRAM_ID),
            trade_v2_instruction("buy", mint.pubkey(), user, user, dev_tokens, 10 * SOL,
                                 FEE_RECIPIENTS[0], BUYBACK_FEE_RECIPIENTS[0]),
        ]  # fmt: skip
    outcome = _send(cluster, creator, ixs, [mint])
    assert outcome.err is None, outcome.logs
    return creator, mint, outcome


def _listener(metrics: Metrics | None = None) -> GeyserListener:
    return GeyserListener(GeyserConfig("http://127.0.0.1:1"), metrics or Metrics())


@pytest.mark.parametrize("logs", ["full", "absent", "truncated"])
def test_a_create_is_seen_from_the_transaction_alone(cluster: Cluster, logs: str) -> None:
    creator, mint, outcome = _create(cluster)
    logged = create_event_from_logs(list(outcome.logs))
    assert logged is not None
    cut = {"full": None, "absent": [], "truncated": [*outcome.logs[:3], "Log truncated"]}[logs]
    decoded = _listener().decode(_update(outcome, logs=cut), 1.0)
    assert decoded is not None
    [launch] = decoded.launches
    assert (launch.source, launch.mint, launch.pool) == (
        "pumpfun",
        str(mint.pubkey()),
        str(logged.bonding_curve),
    )
    assert (launch.creator, launch.slot, launch.endpoint) == (str(creator.pubkey()), outcome.slot,
                                                            "geyser")  # fmt: skip
    assert launch.signature == str(outcome.signature)
    [seen] = decoded.creates
    event = seen.event
    # the instruction-derived create is the program's own event, field by field (but the clock)
    for name in ("name", "symbol", "uri", "mint", "bonding_curve", "user", "creator",
                 "virtual_token_reserves", "virtual_sol_reserves", "real_token_reserves",
                 "token_total_supply", "token_program", "is_mayhem_mode", "quote_mint",
                 "creator_fee_bps", "is_holder_reward"):  # fmt: skip
        assert getattr(event, name) == getattr(logged, name), name
    assert seen.instruction == "CreateV2"
    assert [c.kind for c in decoded.curves] == ["create"]


def test_a_dev_buy_in_the_create_transaction_gives_the_curve_after_it(cluster: Cluster) -> None:
    _, _, outcome = _create(cluster, dev_tokens=30_000_000_000_000)
    events, _ = pump_log_events(list(outcome.logs))
    trade = next(e.event for e in events if isinstance(e.event, TradeEvent))
    for logs in (None, []):
        decoded = _listener().decode(_update(outcome, logs=logs), 1.0)
        assert decoded is not None
        [seen] = decoded.creates
        assert seen.last_trade is not None
        got = seen.last_trade
        assert (got.virtual_sol_reserves, got.virtual_token_reserves, got.real_token_reserves) == (
            trade.virtual_sol_reserves,
            trade.virtual_token_reserves,
            trade.real_token_reserves,
        )
        assert [c.kind for c in decoded.curves] == ["create", "trade"]
        assert decoded.curves[-1].virtual_sol_reserves == trade.virtual_sol_reserves


def test_a_replayed_update_is_dropped_and_a_failed_one_is_no_launch(cluster: Cluster) -> None:
    _, _, outcome = _create(cluster)
    listener = _listener()
    update = _update(outcome, logs=[])
    assert listener.decode(update, 1.0) is not None
    assert listener.decode(update, 2.0) is None  # the from_slot replay repeats it
    assert listener.last_slot == outcome.slot
    # the same create, failed (a rival took the mint): nothing was created
    failed = _update(outcome, logs=[])
    failed.transaction.transaction.signature = b"\x07" * 64
    failed.transaction.transaction.meta.err.err = b"\x08\x00\x00\x00"
    decoded = _listener().decode(failed, 1.0)
    assert decoded is not None
    assert not decoded.launches
    assert not decoded.creates


def test_a_malformed_create_instruction_is_refused(cluster: Cluster) -> None:
    _, _, outcome = _create(cluster)
    update = _update(outcome, logs=[])
    message = update.transaction.transaction.transaction.message
    message.instructions[1].data = message.instructions[1].data[:20]  # name length, no name
    with pytest.raises(DecodeError, match="CreateV2 data ends"):
        _listener().decode(update, 1.0)
    message.instructions[1].accounts = bytes([250])
    with pytest.raises(DecodeError, match="account index 250"):
        _listener().decode(update, 1.0)


def test_a_buy_alone_is_no_launch_but_a_curve_step(cluster: Cluster) -> None:
    creator, mint, _ = _create(cluster)
    trader = Keypair()
    cluster.airdrop(trader.pubkey(), 5 * SOL)
    user = trader.pubkey()
    outcome = _send(cluster, trader, [
        set_compute_unit_limit(300_000),
        tix.create_associated_token_account_idempotent(
            user, user, mint.pubkey(), tix.TOKEN_2022_PROGRAM_ID),
        trade_v2_instruction("buy", mint.pubkey(), creator.pubkey(), user, 10**12, SOL,
                             FEE_RECIPIENTS[1], BUYBACK_FEE_RECIPIENTS[1]),
    ], [])  # fmt: skip
    assert outcome.err is None, outcome.logs
    decoded = _listener().decode(_update(outcome), 1.0)
    assert decoded is not None
    assert not decoded.launches
    assert not decoded.creates
    [step] = decoded.curves
    assert (step.kind, step.mint, step.is_buy, step.token_amount) == (
        "trade",
        str(mint.pubkey()),
        True,
        10**12,
    )


@pytest.mark.parametrize(
    ("endpoint", "target"),
    [("grpc.example.com:443", ("grpc.example.com:443", True)),
     ("https://grpc.example.com", ("grpc.example.com:443", True)),
     ("http://127.0.0.1:10000", ("127.0.0.1:10000", False))],
)  # fmt: skip
def test_endpoints(endpoint: str, target: tuple[str, bool]) -> None:
    assert parse_endpoint(endpoint) == target


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [("", "empty"), ("grpc.example.com", "no port"), ("ftp://x:1", "scheme"),
     ("https://x:1/path?api-key=SECRET", "path, query"), ("x:99999", "1 to 65535")],
)  # fmt: skip
def test_bad_endpoints_are_refused_without_echoing_them(endpoint: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        parse_endpoint(endpoint)
    assert "SECRET" not in str(info.value)


def test_the_token_is_not_in_the_config_repr() -> None:
    assert "tok-123" not in repr(GeyserConfig("x:1", "tok-123"))


def _event(mint: str, endpoint: str) -> LaunchEvent:
    return LaunchEvent("pumpfun", mint, "curve", None, 5, None, 0.0, endpoint)


def test_first_seen_wins_across_sources_and_the_gap_is_timed() -> None:
    metrics = Metrics()
    detector = LaunchDetector(_NoManager(), [], metrics)
    assert detector.offer(_event("A", "geyser"), "geyser", 10.0) is not None
    assert detector.offer(_event("A", "helius"), WEBSOCKET, 10.25) is None
    assert detector.offer(_event("B", "helius"), WEBSOCKET, 11.0) is not None
    assert detector.offer(_event("B", "geyser"), "geyser", 11.5) is None
    assert detector.offer(_event("B", "quicknode"), WEBSOCKET, 11.6) is None  # same source
    value = metrics.registry.get_sample_value
    assert value("launch_first_seen_total", {"source": "geyser"}) == 1
    assert value("launch_first_seen_total", {"source": "websocket"}) == 1
    assert value("launch_first_seen_gap_seconds_count", {"source": "websocket"}) == 1
    assert value("launch_first_seen_gap_seconds_sum", {"source": "websocket"}) == 0.25
    assert value("launch_first_seen_gap_seconds_sum", {"source": "geyser"}) == 0.5
    assert (detector.events, detector.duplicates) == (2, 3)


class _NoManager:
    async def logs_subscribe(self, *args: object, **kwargs: object) -> None: ...
    async def program_subscribe(self, *args: object, **kwargs: object) -> None: ...
    async def run(self) -> None: ...
    def notifications(self) -> Iterator[object]:  # pragma: no cover - never consumed here
        raise AssertionError


def test_geyser_settings_are_accepted_and_their_secrets_never_echoed() -> None:
    from sniper_bot.components import build_geyser_feeds
    from sniper_bot.config import load_settings
    from sniper_bot.errors import ConfigError

    base = {"SOLANA_RPC_URL": "https://api.mainnet-beta.solana.com"}
    on = {**base, "GEYSER_ENABLED": "true", "GEYSER_ENDPOINT": "name-KEY1.example:10000",
          "GEYSER_X_TOKEN": "tok-SECRET"}  # fmt: skip
    settings = load_settings(on, embedded=True)
    assert "KEY1" not in repr(settings.rpc)
    assert "tok-SECRET" not in repr(settings.rpc)
    [listener] = build_geyser_feeds(settings, Metrics())
    assert listener.tls
    assert build_geyser_feeds(load_settings(base, embedded=True), Metrics()) == []
    with pytest.raises(ConfigError, match="GEYSER_ENDPOINT: is empty") as info:
        load_settings({**on, "GEYSER_ENDPOINT": ""}, embedded=True)
    with pytest.raises(ConfigError, match="path, query") as info:
        load_settings({**on, "GEYSER_ENDPOINT": "https://h:1/x?api-key=KEY2"}, embedded=True)
    assert "KEY2" not in info.value.message
