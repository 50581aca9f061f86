"""Launch scenarios: tokens and pools over time, announced like mainnet (pump.fun, Raydium v4)."""

from localnet.launches.control import register_control_routes
from localnet.launches.engine import Scenario, ScenarioEngine, load_scenario, parse_scenario

__all__ = [
    "Scenario",
    "ScenarioEngine",
    "load_scenario",
    "parse_scenario",
    "register_control_routes",
]
