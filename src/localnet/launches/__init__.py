"""Launch scenarios: tokens and pools over time, announced like mainnet (pump.fun, Raydium v4)."""

from localnet.launches.control import register_control_routes
from localnet.launches.engine import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_SCENARIO,
    Scenario,
    ScenarioEngine,
    Stream,
    load_scenario,
    parse_scenario,
)

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_SCENARIO",
    "Scenario",
    "ScenarioEngine",
    "Stream",
    "load_scenario",
    "parse_scenario",
    "register_control_routes",
]
