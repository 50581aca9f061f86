"""What the executor is told: its tuning (``ExecutorConfig``), who trades (``TradeAccount``), and
the ``Boundary`` hook called at every state boundary of an order (the crash tests' kill switch).

``ExecutorConfig.cosigners`` is the app's ``SWAP_COSIGNER_POLICY``: ``"none"`` on mainnet (the
user is the only signer), ``"presigned"`` for venues that co-sign each swap (localnet); see
``trading.verify``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from solders.pubkey import Pubkey

from sniper_bot.domain.entities import Order, UserSettings
from sniper_bot.trading.ports import WalletKey
from sniper_bot.trading.verify import DEFAULT_ALLOWED_PROGRAMS, CosignerPolicy

__all__ = [
    "Boundary",
    "ExecutorConfig",
    "LandingOptions",
    "LandingSettings",
    "TipSource",
    "TradeAccount",
    "stored_landing",
]

Boundary = Callable[[str, Order], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ExecutorConfig:
    worker_id: str = "worker-1"
    lease_s: float = 60.0
    poll_interval_s: float = 0.2
    resend_interval_s: float = 2.0
    send_fanout: int = 1
    skip_preflight: bool = False  # the executor simulated already; skipping saves a round trip
    honeypot_threshold: int = 70
    land_deadline_s: float = 180.0  # give up watching (order stays non-final for recovery)
    # How long a database write before the first send is retried through an outage; once the
    # swap may be on chain (SIGNED and later) writes are retried until they succeed.
    store_retry_s: float = 30.0
    allowed_cosigners: frozenset[Pubkey] = frozenset()
    allowed_programs: frozenset[Pubkey] = DEFAULT_ALLOWED_PROGRAMS
    # SWAP_COSIGNER_POLICY: "none" on mainnet; "presigned" for venues that co-sign (localnet).
    cosigners: CosignerPolicy = "none"
    # JITO_TIP_PERCENTILE: the tip floor percentile of a user who chose none in /settings.
    tip_percentile: str = "75"


@dataclass(frozen=True, slots=True)
class TradeAccount:
    """Who trades: the wallet's public key (cached), its key if unlocked, the user's fee cap."""

    owner: Pubkey
    key: WalletKey | None
    max_priority_fee_lamports: int


@dataclass(frozen=True, slots=True)
class LandingOptions:
    """How one order lands, from its user's /settings: ``mev_protect`` ("MEV protection": Jito
    bundles only, never the public mempool), the tip (``fixed_tip_lamports``, else the tip floor
    at ``tip_percentile``, else ``ExecutorConfig.tip_percentile``)."""

    mev_protect: bool = False
    fixed_tip_lamports: int | None = None
    tip_percentile: int | str | None = None

    @classmethod
    def of(cls, settings: UserSettings) -> LandingOptions:
        return cls(settings.mev_protection, settings.jito_tip_lamports, settings.tip_percentile)


class LandingSettings(Protocol):
    """Where a user's settings are read (``storage.repositories.settings`` fits)."""

    async def get(self, user_id: int) -> UserSettings: ...


class TipSource(Protocol):
    """Lamports to tip, from memory (``chain.jito.TipFloorCache`` fits)."""

    def tip(self, *, fixed: int | None = None, percentile: int | str = 75) -> int: ...


def stored_landing(quote: Mapping[str, Any] | None) -> bool | None:
    """The landing mode stored with the order (``quote["landing"]["mev_protect"]``, written with
    QUOTED); None for an order stored without one (a fired snipe, an older order)."""
    landing = quote.get("landing") if quote else None
    if isinstance(landing, Mapping) and isinstance(landing.get("mev_protect"), bool):
        return bool(landing["mev_protect"])
    return None
