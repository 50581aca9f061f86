"""Re-wrap every wallet under the current master secret (``sniper-bot rotate-secret``).

Procedure (docs/SECURITY.md has the operator's version):
1. Set ``SESSION_MASTER_SECRET_PREVIOUS`` to the old secret and ``SESSION_MASTER_SECRET`` to a new
   one; restart or roll the bot. It now seals new wallets under the new key id and opens both.
2. Run ``rotate()``. It walks rows whose key id is not the current one, in id order and in batches,
   opens each with the key id it names, seals it again with a fresh salt and nonce, and writes it
   back with a compare-and-set on the old key id: one row, one transaction. A row changed meanwhile
   (another rotation run, a deletion) is skipped, never overwritten. Trading is unaffected: signers
   already in memory stay valid and a row is always openable under either secret.
3. When the report says complete (``remaining`` empty), remove SESSION_MASTER_SECRET_PREVIOUS.

Interrupted? Run it again: only rows still under an old key id are touched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog

from sniper_bot.wallet.crypto import Keyring, KeyringError, UnsealError, open_sealed, seal
from sniper_bot.wallet.ports import WalletRepo

__all__ = ["RotationReport", "rotate"]

log = structlog.get_logger(__name__)

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class RotationReport:
    current_key_id: str
    rewrapped: int
    skipped: int  # changed by someone else meanwhile (another run, deleted): nothing to do
    failed_wallet_ids: tuple[int, ...]  # could not be opened: key id missing or row corrupt
    remaining: dict[str, int]  # wallets per old key id after the run

    @property
    def complete(self) -> bool:
        return not self.failed_wallet_ids and not self.remaining

    def summary(self) -> str:
        head = f"re-wrapped {self.rewrapped} wallet(s) under key id {self.current_key_id}"
        if self.skipped:
            head += f", {self.skipped} changed meanwhile (skipped)"
        if self.complete:
            return head + "; every wallet is under the current key: the previous secret can go"
        parts = [head]
        if self.failed_wallet_ids:
            ids = ", ".join(str(i) for i in self.failed_wallet_ids[:20])
            parts.append(
                f"{len(self.failed_wallet_ids)} could not be opened (wallet ids {ids}): set "
                "SESSION_MASTER_SECRET_PREVIOUS to the secret they were sealed with and run again"
            )
        if self.remaining:
            left = ", ".join(f"{k}: {v}" for k, v in sorted(self.remaining.items()))
            parts.append(f"still under old key ids ({left}); keep the previous secret")
        return "; ".join(parts)


async def rotate(
    wallets: WalletRepo,
    keyring: Keyring,
    *,
    batch: int = 200,
    progress: Progress | None = None,
) -> RotationReport:
    """Re-wrap every wallet not under ``keyring.current_id``; ``progress(done, total)`` per row."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    current = keyring.current_id
    counts = await wallets.count_by_key_id()
    total = sum(n for key_id, n in counts.items() if key_id != current)
    log.info("rotation_started", current_key_id=current, to_rewrap=total)
    rewrapped = skipped = done = 0
    failed: list[int] = []
    after: int | None = None
    while True:
        rows = await wallets.list_not_under_key(current, batch, after)
        if not rows:
            break
        for wallet in rows:
            after = wallet.id
            old = wallet.sealed.key_id
            try:
                keypair = open_sealed(
                    keyring, wallet.sealed, user_id=wallet.user_id, public_key=wallet.public_key
                )
            except (KeyringError, UnsealError) as exc:
                failed.append(wallet.id)
                log.error(
                    "rotation_open_failed",
                    wallet_id=wallet.id,
                    key_id=old,
                    error=type(exc).__name__,
                )
            else:
                new = seal(
                    keyring, bytes(keypair), user_id=wallet.user_id, public_key=wallet.public_key
                )
                del keypair
                if await wallets.rewrap(wallet.id, old, new):
                    rewrapped += 1
                else:
                    skipped += 1
            done += 1
            if progress is not None:
                progress(done, max(total, done))
    after_counts = await wallets.count_by_key_id()
    remaining = {k: n for k, n in after_counts.items() if k != current and n}
    report = RotationReport(current, rewrapped, skipped, tuple(failed), remaining)
    log.info(
        "rotation_finished",
        current_key_id=current,
        rewrapped=rewrapped,
        skipped=skipped,
        failed=len(failed),
        remaining=sum(remaining.values()),
    )
    return report
