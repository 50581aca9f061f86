"""The check layers: each a pure function ``TokenSnapshot -> list[Finding]``.

Order is presentation order in a report. Weights and severities are documented in docs/SAFETY.md.
``run_layers`` then re-weights the issuer powers of well-known regulated stablecoins and wrapped
assets as issuer risk (``known_tokens``).
"""

from __future__ import annotations

from collections.abc import Callable

from sniper_bot.domain.risk import Finding
from sniper_bot.safety.layers.authority import check_authorities
from sniper_bot.safety.layers.bundled import check_bundled
from sniper_bot.safety.layers.external import check_external
from sniper_bot.safety.layers.holders import check_holders
from sniper_bot.safety.layers.known_tokens import apply_known_tokens
from sniper_bot.safety.layers.launchpad import check_launchpad
from sniper_bot.safety.layers.liquidity import check_liquidity
from sniper_bot.safety.layers.metadata import check_metadata
from sniper_bot.safety.layers.serial import check_serial_rugger
from sniper_bot.safety.layers.simulation import check_round_trip, check_sell_simulation
from sniper_bot.safety.layers.token2022 import check_token_2022
from sniper_bot.safety.snapshot import TokenSnapshot

__all__ = ["LAYERS", "Layer", "run_layers"]

Layer = Callable[[TokenSnapshot], list[Finding]]

LAYERS: tuple[Layer, ...] = (
    check_sell_simulation,
    check_round_trip,
    check_authorities,
    check_token_2022,
    check_liquidity,
    check_holders,
    check_launchpad,
    check_bundled,
    check_serial_rugger,
    check_metadata,
    check_external,
)


def run_layers(snapshot: TokenSnapshot, layers: tuple[Layer, ...] = LAYERS) -> list[Finding]:
    findings: list[Finding] = []
    for layer in layers:
        findings.extend(layer(snapshot))
    return apply_known_tokens(snapshot, findings)
