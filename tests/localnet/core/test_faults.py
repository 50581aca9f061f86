"""Fault profiles: pure decisions (injected clock, seeded RNG) and JSON round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localnet.faults import PRESETS, Fault, FaultInjector, FaultProfile, Outage, RateLimit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_public_rate_limit_is_40_per_method_and_100_total_per_10s() -> None:
    clock = Clock()
    injector = FaultInjector(FaultProfile(rate_limit=RateLimit()), clock=clock)
    decisions = [injector.decide("getSlot").fault for _ in range(41)]
    assert decisions[:40] == [Fault.NONE] * 40
    assert decisions[40] is Fault.RATE_LIMITED
    for method in ("getBalance", "getAccountInfo"):
        assert all(injector.decide(method).fault is Fault.NONE for _ in range(30))
    assert injector.decide("getHealth").fault is Fault.RATE_LIMITED  # 100 in the window
    clock.now += 10.0
    assert injector.decide("getSlot").fault is Fault.NONE


def test_rate_limit_retry_after_counts_down_to_the_oldest_request() -> None:
    clock = Clock()
    injector = FaultInjector(
        FaultProfile(rate_limit=RateLimit(requests_per_10s=2, per_method_per_10s=2)), clock=clock
    )
    injector.decide("getSlot")
    clock.now += 4
    injector.decide("getSlot")
    refused = injector.decide("getSlot")
    assert refused.fault is Fault.RATE_LIMITED
    assert refused.retry_after_s == 6


def test_outage_window_counts_from_when_the_profile_was_applied() -> None:
    clock = Clock()
    injector = FaultInjector(clock=clock)
    injector.set_profile(FaultProfile(outages=(Outage(start_s=5, duration_s=10),)))
    assert injector.decide("getSlot").fault is Fault.NONE
    clock.now += 5
    assert injector.decide("getSlot").fault is Fault.OUTAGE
    assert injector.drop_ws()
    clock.now += 10
    assert injector.decide("getSlot").fault is Fault.NONE


def test_fault_rates_are_honoured_and_deterministic_per_seed() -> None:
    profile = FaultProfile(http_429_rate=0.2, http_503_rate=0.1, behind_rate=0.1)
    runs = []
    for _ in range(2):
        injector = FaultInjector(profile, seed=42, clock=Clock())
        runs.append([injector.decide("getSlot").fault for _ in range(2000)])
    assert runs[0] == runs[1]
    share = {f: runs[0].count(f) / 2000 for f in (Fault.HTTP_429, Fault.HTTP_503, Fault.BEHIND)}
    assert 0.16 < share[Fault.HTTP_429] < 0.24
    assert 0.07 < share[Fault.HTTP_503] < 0.13
    assert 0.07 < share[Fault.BEHIND] < 0.13


def test_faults_can_target_one_method() -> None:
    injector = FaultInjector(FaultProfile(http_503_rate=1.0, methods=("sendTransaction",)))
    assert injector.decide("getSlot").fault is Fault.NONE
    assert injector.decide("sendTransaction").fault is Fault.HTTP_503


@pytest.mark.parametrize("dist", ["constant", "uniform", "normal", "exponential"])
def test_latency_is_never_negative(dist: str) -> None:
    injector = FaultInjector(
        FaultProfile(latency_ms=5, latency_jitter_ms=20, latency_dist=dist), seed=1
    )
    latencies = [injector.decide("getSlot").latency_s for _ in range(500)]
    assert min(latencies) >= 0.0
    assert max(latencies) > 0.0


@pytest.mark.parametrize(
    "body",
    [
        {"http_429_rate": 1.5},
        {"http_429_rate": 0.6, "http_503_rate": 0.6},
        {"latency_dist": "pareto"},
        {"latencyMs": 5},
        {"outages": [{"start": 1}]},
    ],
)
def test_invalid_profiles_are_refused_with_a_reason(body: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        FaultProfile.from_json(body)


rates = st.floats(min_value=0, max_value=0.15, allow_nan=False)


@given(
    latency=st.floats(min_value=0, max_value=1000, allow_nan=False),
    r429=rates,
    r503=rates,
    hang=rates,
    behind=rates,
    outages=st.lists(
        st.builds(
            Outage,
            st.floats(min_value=0, max_value=100, allow_nan=False),
            st.floats(min_value=0, max_value=100, allow_nan=False),
        ),
        max_size=3,
    ),
    limited=st.booleans(),
    methods=st.lists(st.sampled_from(["getSlot", "sendTransaction"]), max_size=2),
)
def test_profile_json_round_trips(
    latency: float,
    r429: float,
    r503: float,
    hang: float,
    behind: float,
    outages: list[Outage],
    limited: bool,
    methods: list[str],
) -> None:
    profile = FaultProfile(
        latency_ms=latency,
        http_429_rate=r429,
        http_503_rate=r503,
        hang_rate=hang,
        behind_rate=behind,
        outages=tuple(outages),
        rate_limit=RateLimit() if limited else None,
        methods=tuple(methods),
    )
    assert FaultProfile.from_json(profile.to_json()) == profile


def test_presets_are_valid_profiles() -> None:
    for preset in PRESETS.values():
        assert FaultProfile.from_json(preset.to_json()) == preset
