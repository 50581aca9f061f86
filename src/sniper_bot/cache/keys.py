"""Every Redis key the bot writes, built in one place. Names are contracts with the runbook
(``circuit_breaker:<name>``) and with the other replicas reading them. Conversation state uses
aiogram's own ``fsm:*`` keys.
"""

from __future__ import annotations

__all__ = ["ARMED_CHANNEL", "breaker", "breaker_override", "breaker_probes", "risk"]

# Pub/sub channel of the armed snipe book (``cache.armed``): arm / cancel / fire events that keep
# every replica's in-memory book equal; no key is stored (the database is the durable copy).
ARMED_CHANNEL = "snipes:armed"


def risk(mint: str) -> str:
    """Cached ``RiskReport`` of a token mint."""
    return f"risk:{mint}"


def breaker(name: str) -> str:
    """The breaker hash the runbook reads with ``redis-cli HGETALL circuit_breaker:<name>``."""
    return f"circuit_breaker:{name}"


def breaker_probes(name: str) -> str:
    """HALF_OPEN probes in flight. The ``{...}`` hash tag puts it in the hash's cluster slot."""
    return "{" + breaker(name) + "}:probes"


def breaker_override(name: str) -> str:
    """The runbook's ``SET circuit_breaker:<name>:state CLOSED``: applied, then deleted."""
    return f"{breaker(name)}:state"
