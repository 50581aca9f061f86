"""pump.fun launches and curve life from ``logsSubscribe`` mentions of the program (PROTOCOLS 3.3).

A successful ``create`` / ``create_v2`` logs ``Program log: Instruction: Create`` (``CreateV2``)
and the Anchor event as ``Program data: <base64(disc || borsh CreateEvent)>``; every buy and sell
logs a ``TradeEvent`` (reserves after the trade), the buy that empties the curve a
``CompleteEvent``. The decoders are wire facts (``sniper_bot.solana.pump_events``: current IDL
field order, trailing fields read as far as the bytes go); only lines the pump program wrote in
its own invocation count (Raydium LaunchLab's ``TradeEvent`` has the same discriminator).

``PumpFunListener.decode`` returns the ``LaunchEvent`` of a create (``None`` for anything else)
and folds every create, trade and completion into ``curves`` (a bounded ``CurveBook``: progress
per coin without polling), handing each ``CurveUpdate`` to ``on_curve`` when one is set. Failed
transactions (``err`` not null) are neither launches nor trades.

``on_create`` (the hot path, ``hotpath.sniper.HotSniper.on_create``) gets every create as a
``CreateSeen`` before anything else is done with the notification: the decoded ``CreateEvent``
(its reserves), the instruction that logged it and every trade of the coin in the same
transaction (``trades``: the dev buy and any other wallet's bundled buy, which the risk decision
weighs; the last one's reserves are the curve's before anyone else can buy).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from solders.pubkey import Pubkey

from sniper_bot.chain.types import Commitment
from sniper_bot.chain.ws import Notification
from sniper_bot.detection.base import DecodeError, LaunchListener, Subscriptions, require_dict
from sniper_bot.detection.curves import CurveBook
from sniper_bot.domain.launch import CurveUpdate, LaunchEvent, LaunchSource
from sniper_bot.solana.programs import PUMP_PROGRAM_ID
from sniper_bot.solana.pump_events import (
    CREATE_EVENT_DISCRIMINATOR,
    CREATE_INSTRUCTIONS,
    CompleteEvent,
    CreateEvent,
    EventLayoutError,
    LoggedEvent,
    TradeEvent,
    decode_create_event,
    pump_log_events,
)

__all__ = [
    "CREATE_EVENT_DISCRIMINATOR",
    "CreateEvent",
    "CreateSeen",
    "PumpFunListener",
    "create_event_from_logs",
    "curve_updates",
    "parse_create_event",
]

log = structlog.get_logger(__name__)

CurveSink = Callable[[CurveUpdate], None]


@dataclass(frozen=True, slots=True)
class CreateSeen:
    """A pump.fun create as the hot path needs it. ``trades``: every ``TradeEvent`` of the same
    mint in the same transaction after the create, in order (the dev buy, bundled buys by other
    wallets); ``last_trade`` the last of them, whose reserves are the curve's after it."""

    event: CreateEvent
    instruction: str | None
    slot: int | None
    signature: str | None
    seen_at: float
    trades: tuple[TradeEvent, ...] = ()

    @property
    def last_trade(self) -> TradeEvent | None:
        return self.trades[-1] if self.trades else None


CreateSink = Callable[[CreateSeen], None]


def parse_create_event(data: bytes) -> CreateEvent:
    """Discriminator + borsh fields; raises ``DecodeError`` (and nothing else) when malformed."""
    try:
        return decode_create_event(data)
    except EventLayoutError as exc:
        raise DecodeError(f"CreateEvent: {exc}") from exc


def _pump_events(logs: list[Any], program: Pubkey) -> tuple[list[LoggedEvent], list[str]]:
    try:
        return pump_log_events(logs, program)
    except EventLayoutError as exc:
        raise DecodeError(f"pump.fun event: {exc}") from exc


def create_event_from_logs(
    logs: list[Any], program: Pubkey = PUMP_PROGRAM_ID
) -> CreateEvent | None:
    """The CreateEvent of a ``create``/``create_v2`` transaction's logs; ``None`` when the pump
    program logged no create; ``DecodeError`` when it logged one without a decodable event."""
    events, instructions = _pump_events(logs, program)
    return _create_of(events, instructions)


def _create_of(events: list[LoggedEvent], instructions: list[str]) -> CreateEvent | None:
    for logged in events:
        if isinstance(logged.event, CreateEvent):
            return logged.event
    if any(name in CREATE_INSTRUCTIONS for name in instructions):
        raise DecodeError("a Create instruction was logged without a decodable CreateEvent")
    return None


def curve_updates(
    events: list[LoggedEvent], slot: int | None, signature: str | None, seen_at: float
) -> list[CurveUpdate]:
    """The curve steps these events tell, in log order (pure)."""
    out: list[CurveUpdate] = []
    for logged in events:
        e = logged.event
        if isinstance(e, CreateEvent):
            vsol = (
                e.virtual_quote_reserves
                if e.virtual_sol_reserves is None
                else e.virtual_sol_reserves
            )
            out.append(CurveUpdate(
                "create", str(e.mint), vsol, e.virtual_token_reserves,
                0 if vsol is not None else None, e.real_token_reserves, False, slot, signature,
                seen_at, initial_real_token_reserves=e.real_token_reserves,
                token_total_supply=e.token_total_supply, user=str(e.user),
            ))  # fmt: skip
        elif isinstance(e, TradeEvent):
            out.append(CurveUpdate(
                "trade", str(e.mint), e.virtual_sol_reserves, e.virtual_token_reserves,
                e.real_sol_reserves, e.real_token_reserves, False, slot, signature, seen_at,
                is_buy=e.is_buy, sol_amount=e.sol_amount, token_amount=e.token_amount,
                user=str(e.user),
            ))  # fmt: skip
        elif isinstance(e, CompleteEvent):
            out.append(CurveUpdate(
                "complete", str(e.mint), None, None, None, None, True, slot, signature, seen_at,
                user=str(e.user),
            ))  # fmt: skip
    return out


class PumpFunListener(LaunchListener):
    source: LaunchSource = "pumpfun"

    def __init__(
        self,
        key: str = "launch:pumpfun",
        commitment: Commitment = "processed",
        program: Pubkey = PUMP_PROGRAM_ID,
        *,
        curves: CurveBook | None = None,
        on_curve: CurveSink | None = None,
        on_create: CreateSink | None = None,
    ) -> None:
        super().__init__(key, commitment)
        self.program = program
        self.curves = curves if curves is not None else CurveBook()
        self.on_curve = on_curve
        self.on_create = on_create

    async def subscribe(self, subscriptions: Subscriptions) -> None:
        await subscriptions.logs_subscribe(
            self.key, mentions=self.program, commitment=self.commitment
        )

    def decode(self, note: Notification, seen_at: float) -> LaunchEvent | None:
        value = require_dict(note.value, "logs notification value")
        if value.get("err") is not None:
            return None  # failed transactions are delivered too; nothing was created or traded
        logs = value.get("logs")
        if not isinstance(logs, list):
            raise DecodeError("logs notification without a logs list")
        events, instructions = _pump_events(logs, self.program)
        signature = value.get("signature")
        sig = signature if isinstance(signature, str) else None
        if self.on_create is not None:
            self._hand_create(events, instructions, note.slot, sig, seen_at)
        for update in curve_updates(events, note.slot, sig, seen_at):
            self.curves.apply(update)
            if self.on_curve is not None:
                try:
                    self.on_curve(update)
                except Exception as exc:  # a consumer's failure never stops detection
                    log.warning("curve_sink_failed", mint=update.mint, error=repr(exc))
        event = _create_of(events, instructions)
        if event is None:
            return None
        return LaunchEvent(
            source=self.source,
            mint=str(event.mint),
            pool=str(event.bonding_curve),
            creator=str(event.creator or event.user),
            slot=note.slot,
            signature=sig,
            seen_at=seen_at,
            endpoint=note.endpoint,
        )

    def _hand_create(
        self, events: list[LoggedEvent], instructions: list[str], slot: int | None,
        sig: str | None, seen_at: float,
    ) -> None:  # fmt: skip
        assert self.on_create is not None
        for index, logged in enumerate(events):
            create = logged.event
            if not isinstance(create, CreateEvent):
                continue
            trades = tuple(
                later.event for later in events[index + 1 :]
                if isinstance(later.event, TradeEvent) and later.event.mint == create.mint
            )  # fmt: skip
            seen = CreateSeen(create, logged.instruction, slot, sig, seen_at, trades)
            try:
                self.on_create(seen)
            except Exception as exc:  # the hot path's failure never stops detection
                log.warning("create_sink_failed", mint=str(create.mint), error=repr(exc))
            return
