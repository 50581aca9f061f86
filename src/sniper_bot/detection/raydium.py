"""Raydium AMM v4 pools from ``programSubscribe`` with a ``dataSize: 752`` filter (PROTOCOLS 3.1).

Every write to an ``AmmInfo`` account is delivered (swaps included); the detector's per-mint
de-duplication turns that stream into one event per pool. Only SOL pairs are launches for a bot
that buys with SOL; the mint is the non-WSOL side. Uninitialized, disabled and withdraw-only pools
are skipped (``Initialize2`` leaves a new pool SwapOnly (6) or WaitingTrade (7)).
"""

from __future__ import annotations

import base64
import binascii

from solders.pubkey import Pubkey

from sniper_bot.chain.types import Commitment
from sniper_bot.chain.ws import Notification
from sniper_bot.detection.base import DecodeError, LaunchListener, Subscriptions, require_dict
from sniper_bot.domain.launch import LaunchEvent, LaunchSource
from sniper_bot.domain.money import WSOL_MINT
from sniper_bot.solana.layouts import ParseError
from sniper_bot.solana.layouts.raydium import RAYDIUM_V4_LEN, parse_raydium_v4
from sniper_bot.solana.programs import RAYDIUM_V4_PROGRAM_ID

__all__ = ["NOT_TRADABLE_STATUSES", "RaydiumV4Listener"]

NOT_TRADABLE_STATUSES = frozenset({0, 2, 3})  # Uninitialized, Disabled, WithdrawOnly


class RaydiumV4Listener(LaunchListener):
    source: LaunchSource = "raydium_v4"

    def __init__(
        self,
        key: str = "launch:raydium_v4",
        commitment: Commitment = "processed",
        program: Pubkey = RAYDIUM_V4_PROGRAM_ID,
    ) -> None:
        super().__init__(key, commitment)
        self.program = program

    async def subscribe(self, subscriptions: Subscriptions) -> None:
        await subscriptions.program_subscribe(
            self.key,
            self.program,
            filters=[{"dataSize": RAYDIUM_V4_LEN}],
            commitment=self.commitment,
        )

    def decode(self, note: Notification, seen_at: float) -> LaunchEvent | None:
        value = require_dict(note.value, "program notification value")
        pubkey = value.get("pubkey")
        account = require_dict(value.get("account"), "program notification account")
        data = account.get("data")
        if not isinstance(pubkey, str) or not isinstance(data, list) or len(data) != 2:
            raise DecodeError("program notification without pubkey or [data, encoding]")
        if data[1] != "base64" or not isinstance(data[0], str):
            raise DecodeError(f"program notification data in {data[1]!r}, expected base64")
        try:
            raw = base64.b64decode(data[0], validate=True)
            pool = parse_raydium_v4(raw)
        except (binascii.Error, ValueError, ParseError) as exc:
            raise DecodeError(f"AmmInfo {pubkey}: {exc}") from exc
        if pool.status in NOT_TRADABLE_STATUSES:
            return None
        base, quote = str(pool.base_mint), str(pool.quote_mint)
        if quote == WSOL_MINT and base != WSOL_MINT:
            mint = base
        elif base == WSOL_MINT and quote != WSOL_MINT:
            mint = quote
        else:
            return None  # not a SOL pair
        return LaunchEvent(
            source=self.source,
            mint=mint,
            pool=pubkey,
            creator=None,
            slot=note.slot,
            signature=None,
            seen_at=seen_at,
            endpoint=note.endpoint,
        )
