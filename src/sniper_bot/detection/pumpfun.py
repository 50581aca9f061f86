"""pump.fun launches from ``logsSubscribe`` mentions of the pump.fun program (PROTOCOLS.md 3.3).

A successful ``create``/``create_v2`` logs ``Program log: Instruction: Create`` (``CreateV2``) and
the Anchor event as ``Program data: <base64(disc || borsh CreateEvent)>``. Fields of the event,
in IDL order: ``name, symbol, uri`` (borsh strings: u32 LE length + UTF-8), ``mint,
bonding_curve, user`` (32-byte keys), then fields appended over the years (``creator``,
``timestamp`` i64, four u64 reserves/supply, ``token_program``, two bools, ``quote_mint``,
``virtual_quote_reserves``): parsing stops where the bytes end, so older events still decode.
Failed transactions (``err`` not null) are never launches.
"""

from __future__ import annotations

import base64
import binascii
import struct
from dataclasses import dataclass
from typing import Any

from solders.pubkey import Pubkey

from sniper_bot.chain.types import Commitment
from sniper_bot.chain.ws import Notification
from sniper_bot.detection.base import DecodeError, LaunchListener, Subscriptions, require_dict
from sniper_bot.domain.launch import LaunchEvent, LaunchSource
from sniper_bot.solana.programs import PUMP_PROGRAM_ID

__all__ = [
    "CREATE_EVENT_DISCRIMINATOR",
    "CreateEvent",
    "PumpFunListener",
    "create_event_from_logs",
    "parse_create_event",
]

CREATE_EVENT_DISCRIMINATOR = bytes.fromhex("1b72a94ddeeb6376")
_CREATE_LINES = frozenset(
    {"Program log: Instruction: Create", "Program log: Instruction: CreateV2"}
)
_DATA_PREFIX = "Program data: "
_MAX_STRING = 1_000  # name/symbol/uri are short; a huge length is corruption


@dataclass(frozen=True, slots=True)
class CreateEvent:
    name: str
    symbol: str
    uri: str
    mint: Pubkey
    bonding_curve: Pubkey
    user: Pubkey
    creator: Pubkey | None = None
    timestamp: int | None = None
    virtual_token_reserves: int | None = None
    virtual_sol_reserves: int | None = None
    real_token_reserves: int | None = None
    token_total_supply: int | None = None
    token_program: Pubkey | None = None


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        if self.remaining < n:
            raise DecodeError(f"CreateEvent ends at byte {len(self.data)}, needed {self.pos + n}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def string(self) -> str:
        (length,) = struct.unpack("<I", self.take(4))
        if length > _MAX_STRING:
            raise DecodeError(f"CreateEvent string of {length} bytes")
        try:
            return self.take(length).decode()
        except UnicodeDecodeError as exc:
            raise DecodeError(f"CreateEvent string is not UTF-8: {exc}") from exc

    def key(self) -> Pubkey:
        return Pubkey.from_bytes(self.take(32))

    def u64(self) -> int:
        value: int = struct.unpack("<Q", self.take(8))[0]
        return value

    def i64(self) -> int:
        value: int = struct.unpack("<q", self.take(8))[0]
        return value


def parse_create_event(data: bytes) -> CreateEvent:
    """Discriminator + borsh fields; raises ``DecodeError`` (and nothing else) when malformed."""
    if data[:8] != CREATE_EVENT_DISCRIMINATOR:
        raise DecodeError("not a CreateEvent (discriminator differs)")
    r = _Reader(data)
    r.take(8)
    name, symbol, uri = r.string(), r.string(), r.string()
    mint, curve, user = r.key(), r.key(), r.key()
    creator = r.key() if r.remaining >= 32 else None
    timestamp = r.i64() if r.remaining >= 8 else None
    vt, vs, rt, supply = (r.u64() if r.remaining >= 8 else None for _ in range(4))
    token_program = r.key() if r.remaining >= 32 else None
    return CreateEvent(
        name, symbol, uri, mint, curve, user, creator, timestamp, vt, vs, rt, supply, token_program
    )


def create_event_from_logs(logs: list[Any]) -> CreateEvent | None:
    """The CreateEvent of a ``create`` transaction's logs; ``None`` when no create was logged."""
    if not any(line in _CREATE_LINES for line in logs if isinstance(line, str)):
        return None
    for line in logs:
        if not isinstance(line, str) or not line.startswith(_DATA_PREFIX):
            continue
        try:
            raw = base64.b64decode(line[len(_DATA_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            continue  # another program's data line
        if raw[:8] == CREATE_EVENT_DISCRIMINATOR:
            return parse_create_event(raw)
    raise DecodeError("a Create instruction was logged without a decodable CreateEvent")


class PumpFunListener(LaunchListener):
    source: LaunchSource = "pumpfun"

    def __init__(
        self,
        key: str = "launch:pumpfun",
        commitment: Commitment = "processed",
        program: Pubkey = PUMP_PROGRAM_ID,
    ) -> None:
        super().__init__(key, commitment)
        self.program = program

    async def subscribe(self, subscriptions: Subscriptions) -> None:
        await subscriptions.logs_subscribe(
            self.key, mentions=self.program, commitment=self.commitment
        )

    def decode(self, note: Notification, seen_at: float) -> LaunchEvent | None:
        value = require_dict(note.value, "logs notification value")
        if value.get("err") is not None:
            return None  # failed transactions are delivered too; nothing was created
        logs = value.get("logs")
        if not isinstance(logs, list):
            raise DecodeError("logs notification without a logs list")
        event = create_event_from_logs(logs)
        if event is None:
            return None
        signature = value.get("signature")
        return LaunchEvent(
            source=self.source,
            mint=str(event.mint),
            pool=str(event.bonding_curve),
            creator=str(event.creator or event.user),
            slot=note.slot,
            signature=signature if isinstance(signature, str) else None,
            seen_at=seen_at,
            endpoint=note.endpoint,
        )
