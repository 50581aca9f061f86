"""Every Redis key the bot writes, built in one place. Names are contracts with the runbook
(``session:*``, ``circuit_breaker:<name>``) and with the other replicas reading them.
"""

from __future__ import annotations

__all__ = [
    "breaker",
    "breaker_override",
    "breaker_probes",
    "lock",
    "quote",
    "rate_limit",
    "risk",
    "rpc",
    "session",
]


def session(user_id: int) -> str:
    """A user's unlocked-wallet session (PostgreSQL ``"Session"`` is the fallback)."""
    return f"session:{user_id}"


def risk(mint: str) -> str:
    """Cached ``RiskReport`` of a token mint."""
    return f"risk:{mint}"


def quote(input_mint: str, output_mint: str, amount: int, slippage_bps: int) -> str:
    return f"quote:{input_mint}:{output_mint}:{amount}:{slippage_bps}"


def rpc(method: str, params_digest: str) -> str:
    """Degraded-mode cache of an RPC read; ``params_digest`` is a stable hash of the params."""
    return f"rpc:{method}:{params_digest}"


def rate_limit(scope: str, subject: str | int) -> str:
    return f"ratelimit:{scope}:{subject}"


def lock(name: str) -> str:
    return f"lock:{name}"


def breaker(name: str) -> str:
    """The breaker hash the runbook reads with ``redis-cli HGETALL circuit_breaker:<name>``."""
    return f"circuit_breaker:{name}"


def breaker_probes(name: str) -> str:
    """HALF_OPEN probes in flight. The ``{...}`` hash tag puts it in the hash's cluster slot."""
    return "{" + breaker(name) + "}:probes"


def breaker_override(name: str) -> str:
    """The runbook's ``SET circuit_breaker:<name>:state CLOSED``: applied, then deleted."""
    return f"{breaker(name)}:state"
