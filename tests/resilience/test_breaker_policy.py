"""Property tests of the pure breaker state machine against an independent oracle."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from sniper_bot.resilience import breaker_policy as policy
from sniper_bot.resilience.breaker_policy import BreakerConfig, BreakerState, Snapshot

CFG = BreakerConfig(
    failure_threshold=3,
    success_threshold=2,
    timeout_s=5.0,
    monitoring_period_s=10.0,
    half_open_max_calls=2,
)

# Time moves in whole seconds so that window and timeout boundaries are hit exactly.
events = st.lists(
    st.one_of(
        st.just(("acquire", 0)),
        st.just(("acquire", 0)),
        st.tuples(st.sampled_from(["success", "failure", "failure", "release"]), st.integers(0, 5)),
        st.tuples(st.just("advance"), st.integers(0, 6).map(lambda s: s * 1_000)),
    ),
    max_size=150,
)


@dataclass
class Oracle:
    """What the spec says, tracked independently of the implementation."""

    closed_failures: list[int] = field(default_factory=list)  # failure times while CLOSED
    half_open_successes: int = 0


def test_five_failures_open_then_timeout_half_opens_and_two_successes_close() -> None:
    cfg = BreakerConfig()
    s = Snapshot()
    for i in range(4):
        s = policy.failure(s, cfg, 1_000 + i, probe=False)
    assert s.state is BreakerState.CLOSED
    s = policy.failure(s, cfg, 1_004, probe=False)
    assert s.state is BreakerState.OPEN
    s, adm = policy.acquire(s, cfg, 1_004 + 29_999)
    assert not adm.allowed
    assert adm.retry_after_ms == 1
    s, adm = policy.acquire(s, cfg, 1_004 + 30_000)
    assert (s.state, adm.allowed, adm.probe) == (BreakerState.HALF_OPEN, True, True)
    s, second = policy.acquire(s, cfg, 1_004 + 30_001)
    assert not second.allowed  # one probe at a time
    s = policy.success(s, cfg, 40_000, probe=True)
    assert s.state is BreakerState.HALF_OPEN
    s, adm = policy.acquire(s, cfg, 40_001)
    s = policy.success(s, cfg, 40_002, probe=True)
    assert s == Snapshot()


def test_failures_spread_wider_than_the_window_never_open() -> None:
    cfg = BreakerConfig(failure_threshold=3, monitoring_period_s=60.0)
    s = Snapshot()
    for t in (0, 30_000, 60_000, 90_000, 120_000):
        s = policy.failure(s, cfg, t, probe=False)
        assert s.state is BreakerState.CLOSED
    s = policy.failure(s, cfg, 120_001, probe=False)
    assert s.state is BreakerState.OPEN  # 90_000, 120_000, 120_001 are within 60 s


def test_a_failed_probe_reopens_at_once() -> None:
    s = policy.force(BreakerState.HALF_OPEN, 0)
    s, adm = policy.acquire(s, CFG, 1)
    s = policy.failure(s, CFG, 2, probe=adm.probe)
    assert (s.state, s.opened_at, s.probes) == (BreakerState.OPEN, 2, 0)


@settings(max_examples=500)
@given(evs=events)
def test_invariants_hold_for_any_event_sequence(evs: list[tuple[str, int]]) -> None:
    s = Snapshot()
    now = 1_000_000
    inflight: list[bool] = []  # probe flag of each admitted call not yet finished
    oracle = Oracle()
    for op, arg in evs:
        before = s
        if op == "advance":
            now += arg
            continue
        if op == "acquire":
            s, adm = policy.acquire(s, CFG, now)
            if before.state is BreakerState.OPEN and now - before.opened_at < CFG.timeout_ms:
                assert not adm.allowed, "OPEN must reject before its timeout"
                assert adm.retry_after_ms == before.opened_at + CFG.timeout_ms - now
            if before.state is BreakerState.CLOSED:
                assert adm.allowed
                assert not adm.probe
            if s.state is BreakerState.HALF_OPEN and before.state is not BreakerState.HALF_OPEN:
                oracle.half_open_successes = 0
                inflight = [False for _ in inflight]  # older calls are no probes of this episode
            if adm.allowed:
                inflight.append(adm.probe)
        else:
            if not inflight:
                continue
            probe = inflight.pop(arg % len(inflight))
            if op == "success":
                s = policy.success(s, CFG, now, probe)
                if before.state is BreakerState.HALF_OPEN and probe:
                    oracle.half_open_successes += 1
                    closes = oracle.half_open_successes == CFG.success_threshold
                    assert (s.state is BreakerState.CLOSED) == closes
            elif op == "failure":
                s = policy.failure(s, CFG, now, probe)
                if before.state is BreakerState.HALF_OPEN and probe:
                    assert s.state is BreakerState.OPEN
                    assert s.opened_at == now
                if before.state is BreakerState.CLOSED:
                    oracle.closed_failures.append(now)
                    in_window = [t for t in oracle.closed_failures if t > now - CFG.period_ms]
                    opened = s.state is BreakerState.OPEN
                    assert opened == (len(in_window) >= CFG.failure_threshold)
            else:
                s = policy.release(s, CFG, now, probe)
                assert s.state is before.state
        if s.state is BreakerState.CLOSED and before.state is not BreakerState.CLOSED:
            oracle.closed_failures = []
            inflight = [False for _ in inflight]
        assert 0 <= s.probes <= CFG.half_open_max_calls
        assert s.probes == sum(inflight) or s.state is not BreakerState.HALF_OPEN
        assert s.failure_count <= CFG.failure_threshold
        assert s.state is BreakerState.HALF_OPEN or s.successes == 0
        if s.state is not before.state and before.state is BreakerState.OPEN:
            assert s.state is BreakerState.HALF_OPEN, "OPEN only ever moves to HALF_OPEN"
            assert now - before.opened_at >= CFG.timeout_ms
