"""Every command the bot answers has its own ``telegram_update_duration_seconds{command}`` label
(the newer ones too), never ``command_other``."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from aiogram.types import Update
from prometheus_client import CollectorRegistry

from sniper_bot.observability.metrics import Metrics
from sniper_bot.telegram import middlewares
from sniper_bot.telegram.middlewares import COMMANDS, UpdateTimingMiddleware, update_command

TELEGRAM = Path(middlewares.__file__).parent
NEWER = ("limit", "dca", "pnl", "copy", "status", "maintenance", "broadcast")


def _message(text: str) -> Update:
    message: dict[str, Any] = {"message_id": 1, "date": 0, "chat": {"id": 7, "type": "private"},
                               "from": {"id": 7, "is_bot": False, "first_name": "u"},
                               "text": text}  # fmt: skip
    return Update.model_validate({"update_id": 1, "message": message})


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("/limit MINT buy 0.1 at 0.00002", "limit"),
        ("/dca MINT 0.05 every 10m x 6", "dca"),
        ("/pnl", "pnl"),
        ("/copy add LEADER 0.1", "copy"),
        ("/status", "status"),
        ("/maintenance on", "maintenance"),
        ("/broadcast Hello everyone", "broadcast"),
        ("/snipe dev CREATOR 0.1", "snipe"),
        ("/DCA@sniper_test_bot list", "dca"),
    ],
)
def test_newer_commands_have_their_own_label(text: str, label: str) -> None:
    assert update_command(_message(text)) == label


def test_every_command_a_router_registers_is_labelled() -> None:
    """``Command("x")`` in any telegram module: x is in the fixed set (so a new command cannot
    silently fall into ``command_other``)."""
    registered: set[str] = set()
    for source in TELEGRAM.rglob("*.py"):
        registered |= set(re.findall(r"""Command\(\s*["']([a-z_]+)["']""", source.read_text()))
    assert {"wallet", "dca", "limit", "copy", "status"} <= registered  # the scan finds them
    assert registered - COMMANDS == set()
    assert set(NEWER) <= COMMANDS


def test_the_middleware_observes_newer_commands_under_their_label() -> None:
    metrics = Metrics(CollectorRegistry())
    timing = UpdateTimingMiddleware(metrics, clock=iter([1.0, 1.25, 2.0, 2.5]).__next__)

    async def handler(event: Any, data: dict[str, Any]) -> str:
        return "ok"

    async def run() -> None:
        assert await timing(handler, _message("/dca MINT 0.05 every 10m x 6"), {}) == "ok"
        assert await timing(handler, _message("/nope"), {}) == "ok"

    asyncio.run(run())
    registry = metrics.registry
    count = registry.get_sample_value("telegram_update_duration_seconds_count", {"command": "dca"})
    total = registry.get_sample_value("telegram_update_duration_seconds_sum", {"command": "dca"})
    other = registry.get_sample_value(
        "telegram_update_duration_seconds_count", {"command": "command_other"}
    )
    assert count == 1.0
    assert total == 0.25
    assert other == 1.0
