"""What the executor is told: its tuning (``ExecutorConfig``), who trades (``TradeAccount``), and
the ``Boundary`` hook called at every state boundary of an order (the crash tests' kill switch).

``ExecutorConfig.cosigners`` is the app's ``SWAP_COSIGNER_POLICY``: ``"none"`` on mainnet (the
user is the only signer), ``"presigned"`` for venues that co-sign each swap (localnet); see
``trading.verify``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from solders.pubkey import Pubkey

from sniper_bot.domain.entities import Order
from sniper_bot.trading.ports import WalletKey
from sniper_bot.trading.verify import DEFAULT_ALLOWED_PROGRAMS, CosignerPolicy

__all__ = ["Boundary", "ExecutorConfig", "TradeAccount"]

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


@dataclass(frozen=True, slots=True)
class TradeAccount:
    """Who trades: the wallet's public key (cached), its key if unlocked, the user's fee cap."""

    owner: Pubkey
    key: WalletKey | None
    max_priority_fee_lamports: int
