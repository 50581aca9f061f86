"""pump.fun's Anchor events as transaction logs carry them (PROTOCOLS.md 3.3): pure decoders.

The program `emit!`s each event as ``Program data: <base64(disc || borsh fields)>`` inside its own
invocation; ``disc`` is ``sha256("event:<Name>")[:8]``. Fields follow the current IDL
(``/work/shared/data/idl/pump.json``, pump-sdk 2.0.0) in order. The program appended fields over
the years, so a decoder reads the fields an event must have and then as many trailing fields as
the bytes hold whole; the rest are ``None`` (older events still decode, newer ones with more
fields than we know decode too). Malformed required fields raise ``EventLayoutError``.

A discriminator alone does not say whose event a line is: Raydium LaunchLab's ``TradeEvent`` has
the same name and so the same discriminator. ``pump_log_events`` therefore walks the runtime's
``Program <id> invoke [n]`` / ``success`` / ``failed`` lines and decodes only the data lines
written while the pump program itself is executing (not its CPIs into other programs), each tied
to the ``Program log: Instruction: <Name>`` of the same invocation (``Create``, ``CreateV2``,
``Buy``, ``BuyV2``...).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from solders.pubkey import Pubkey

from sniper_bot.solana.layouts.base import BorshReader
from sniper_bot.solana.programs import PUMP_PROGRAM_ID

__all__ = [
    "COMPLETE_EVENT_DISCRIMINATOR",
    "CREATE_EVENT_DISCRIMINATOR",
    "CREATE_INSTRUCTIONS",
    "TRADE_EVENT_DISCRIMINATOR",
    "CompleteEvent",
    "CreateEvent",
    "EventLayoutError",
    "LoggedEvent",
    "PumpEvent",
    "TradeEvent",
    "decode_complete_event",
    "decode_create_event",
    "decode_pump_event",
    "decode_trade_event",
    "event_discriminator",
    "pump_log_events",
]

_MAX_STRING: Final = 1_000  # name/symbol/uri/ix_name are short; a huge length is corruption
_MAX_VEC: Final = 1_000
_DATA_PREFIX: Final = "Program data: "
_LOG_INSTRUCTION: Final = "Program log: Instruction: "
_INVOKE: Final = re.compile(r"^Program (\S+) invoke \[(\d+)\]$")
_EXIT: Final = re.compile(r"^Program (\S+) (?:success$|failed)")
CREATE_INSTRUCTIONS: Final = frozenset({"Create", "CreateV2"})


class EventLayoutError(ValueError):
    """Bytes that claim to be a pump event but whose required fields do not decode."""


def event_discriminator(name: str) -> bytes:
    return hashlib.sha256(f"event:{name}".encode()).digest()[:8]


CREATE_EVENT_DISCRIMINATOR: Final = event_discriminator("CreateEvent")
TRADE_EVENT_DISCRIMINATOR: Final = event_discriminator("TradeEvent")
COMPLETE_EVENT_DISCRIMINATOR: Final = event_discriminator("CompleteEvent")


# ---- field-by-field borsh, EOF-tolerant after the required prefix -----------------------------
class _Truncated(Exception):
    """The bytes end inside a field (internal: ends an optional tail, fails a required field)."""


def _read(reader: BorshReader, kind: str) -> Any:
    if kind == "pubkey":
        return reader.pubkey()
    if kind == "u64":
        return reader.u64()
    if kind == "i64":
        return reader.i64()
    if kind == "bool":
        byte = reader.u8()
        if byte > 1:
            raise EventLayoutError(f"invalid bool byte {byte}")
        return byte == 1
    if kind == "string":
        length = reader.u32()
        if length > _MAX_STRING:
            raise EventLayoutError(f"string of {length} bytes")
        try:
            return reader.take(length).decode()
        except UnicodeDecodeError as exc:
            raise EventLayoutError(f"string is not UTF-8: {exc}") from exc
    if kind == "shareholders":  # Vec<Shareholder { address: Pubkey, share_bps: u16 }>
        count = reader.u32()
        if count > _MAX_VEC:
            raise EventLayoutError(f"vector of {count} shareholders")
        return tuple((reader.pubkey(), reader.u16()) for _ in range(count))
    raise AssertionError(f"unknown field kind {kind}")  # pragma: no cover


def _decode(
    data: bytes, disc: bytes, name: str, fields: Sequence[tuple[str, str]], required: int
) -> dict[str, Any]:
    if bytes(data[:8]) != disc:
        raise EventLayoutError(f"not a {name} (discriminator differs)")
    reader = BorshReader(bytes(data), error=_Truncated)
    values: dict[str, Any] = {}
    for index, (field, kind) in enumerate(fields):
        start = reader.pos
        try:
            values[field] = _read(reader, kind)
        except _Truncated:
            if index < required:
                raise EventLayoutError(
                    f"{name} ends at byte {len(data)} inside required field {field!r}"
                ) from None
            reader.pos = start
            break  # an older event: the rest of the fields are not there
    return values


# ---- the events ---------------------------------------------------------------------------------
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
    is_mayhem_mode: bool | None = None
    is_cashback_enabled: bool | None = None
    quote_mint: Pubkey | None = None
    virtual_quote_reserves: int | None = None
    creator_fee_bps: int | None = None
    is_holder_reward: bool | None = None


_CREATE_FIELDS: Final = (
    ("name", "string"), ("symbol", "string"), ("uri", "string"), ("mint", "pubkey"),
    ("bonding_curve", "pubkey"), ("user", "pubkey"), ("creator", "pubkey"), ("timestamp", "i64"),
    ("virtual_token_reserves", "u64"), ("virtual_sol_reserves", "u64"),
    ("real_token_reserves", "u64"), ("token_total_supply", "u64"), ("token_program", "pubkey"),
    ("is_mayhem_mode", "bool"), ("is_cashback_enabled", "bool"), ("quote_mint", "pubkey"),
    ("virtual_quote_reserves", "u64"), ("creator_fee_bps", "u64"), ("is_holder_reward", "bool"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class TradeEvent:
    mint: Pubkey
    sol_amount: int
    token_amount: int
    is_buy: bool
    user: Pubkey
    timestamp: int
    virtual_sol_reserves: int
    virtual_token_reserves: int
    real_sol_reserves: int | None = None
    real_token_reserves: int | None = None
    fee_recipient: Pubkey | None = None
    fee_basis_points: int | None = None
    fee: int | None = None
    creator: Pubkey | None = None
    creator_fee_basis_points: int | None = None
    creator_fee: int | None = None
    track_volume: bool | None = None
    total_unclaimed_tokens: int | None = None
    total_claimed_tokens: int | None = None
    current_sol_volume: int | None = None
    last_update_timestamp: int | None = None
    ix_name: str | None = None
    mayhem_mode: bool | None = None
    cashback_fee_basis_points: int | None = None
    cashback: int | None = None
    buyback_fee_basis_points: int | None = None
    buyback_fee: int | None = None
    shareholders: tuple[tuple[Pubkey, int], ...] | None = None
    quote_mint: Pubkey | None = None
    quote_amount: int | None = None
    virtual_quote_reserves: int | None = None
    real_quote_reserves: int | None = None
    holder_rewards_bps: int | None = None
    holder_rewards: int | None = None


_TRADE_FIELDS: Final = (
    ("mint", "pubkey"), ("sol_amount", "u64"), ("token_amount", "u64"), ("is_buy", "bool"),
    ("user", "pubkey"), ("timestamp", "i64"), ("virtual_sol_reserves", "u64"),
    ("virtual_token_reserves", "u64"), ("real_sol_reserves", "u64"),
    ("real_token_reserves", "u64"), ("fee_recipient", "pubkey"), ("fee_basis_points", "u64"),
    ("fee", "u64"), ("creator", "pubkey"), ("creator_fee_basis_points", "u64"),
    ("creator_fee", "u64"), ("track_volume", "bool"), ("total_unclaimed_tokens", "u64"),
    ("total_claimed_tokens", "u64"), ("current_sol_volume", "u64"),
    ("last_update_timestamp", "i64"), ("ix_name", "string"), ("mayhem_mode", "bool"),
    ("cashback_fee_basis_points", "u64"), ("cashback", "u64"),
    ("buyback_fee_basis_points", "u64"), ("buyback_fee", "u64"),
    ("shareholders", "shareholders"), ("quote_mint", "pubkey"), ("quote_amount", "u64"),
    ("virtual_quote_reserves", "u64"), ("real_quote_reserves", "u64"),
    ("holder_rewards_bps", "u64"), ("holder_rewards", "u64"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class CompleteEvent:
    user: Pubkey
    mint: Pubkey
    bonding_curve: Pubkey
    timestamp: int | None = None
    quote_mint: Pubkey | None = None


_COMPLETE_FIELDS: Final = (
    ("user", "pubkey"), ("mint", "pubkey"), ("bonding_curve", "pubkey"), ("timestamp", "i64"),
    ("quote_mint", "pubkey"),
)  # fmt: skip

PumpEvent = CreateEvent | TradeEvent | CompleteEvent


def decode_create_event(data: bytes) -> CreateEvent:
    """``name, symbol, uri, mint, bonding_curve, user`` required; the rest as far as they go."""
    return CreateEvent(
        **_decode(data, CREATE_EVENT_DISCRIMINATOR, "CreateEvent", _CREATE_FIELDS, 6)
    )


def decode_trade_event(data: bytes) -> TradeEvent:
    """Required through ``virtual_token_reserves`` (the 2024 layout's first eight fields)."""
    return TradeEvent(**_decode(data, TRADE_EVENT_DISCRIMINATOR, "TradeEvent", _TRADE_FIELDS, 8))


def decode_complete_event(data: bytes) -> CompleteEvent:
    fields = _decode(data, COMPLETE_EVENT_DISCRIMINATOR, "CompleteEvent", _COMPLETE_FIELDS, 3)
    return CompleteEvent(**fields)


_DECODERS: Final[dict[bytes, Callable[[bytes], PumpEvent]]] = {
    CREATE_EVENT_DISCRIMINATOR: decode_create_event,
    TRADE_EVENT_DISCRIMINATOR: decode_trade_event,
    COMPLETE_EVENT_DISCRIMINATOR: decode_complete_event,
}


def decode_pump_event(data: bytes) -> PumpEvent | None:
    """The event these bytes are, ``None`` for an event we do not read (another discriminator)."""
    decoder = _DECODERS.get(bytes(data[:8]))
    return None if decoder is None else decoder(data)


# ---- logs ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """One event the pump program emitted, with the instruction whose invocation emitted it."""

    instruction: str | None  # "Create", "CreateV2", "BuyV2"... as logged; None if not logged
    event: PumpEvent


@dataclass(slots=True)
class _Frame:
    program: str
    instruction: str | None = None


def pump_log_events(
    logs: Iterable[object], program: Pubkey = PUMP_PROGRAM_ID
) -> tuple[list[LoggedEvent], list[str]]:
    """The events ``program`` emitted in these logs, in order, and the instructions it logged
    (``["CreateV2", "BuyV2"]``). Lines written by other programs, at any depth, are ignored;
    ``EventLayoutError`` when a data line of ``program``'s is a known event that does not decode.
    """
    target = str(program)
    stack: list[_Frame] = []
    events: list[LoggedEvent] = []
    instructions: list[str] = []
    for line in logs:
        if not isinstance(line, str):
            continue
        invoke = _INVOKE.match(line)
        if invoke is not None:
            stack.append(_Frame(invoke.group(1)))
            continue
        exited = _EXIT.match(line)
        if exited is not None:
            # pop to the frame that exits (a truncated log may have lost inner exits)
            while stack:
                if stack.pop().program == exited.group(1):
                    break
            continue
        if not stack or stack[-1].program != target:
            continue
        frame = stack[-1]
        if line.startswith(_LOG_INSTRUCTION):
            frame.instruction = line[len(_LOG_INSTRUCTION) :].strip()
            instructions.append(frame.instruction)
        elif line.startswith(_DATA_PREFIX):
            try:
                raw = base64.b64decode(line[len(_DATA_PREFIX) :], validate=True)
            except (binascii.Error, ValueError):
                continue  # not an event line of ours
            event = decode_pump_event(raw)
            if event is not None:
                events.append(LoggedEvent(frame.instruction, event))
    return events, instructions
