"""``telegram_update_duration_seconds``'s command label: a fixed set, whatever users send."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram.types import Update

from sniper_bot.telegram.middlewares import COMMANDS, update_command

MINT = "So11111111111111111111111111111111111111112"


def _message(text: str | None) -> Update:
    message: dict[str, Any] = {"message_id": 1, "date": 0, "chat": {"id": 7, "type": "private"},
                               "from": {"id": 7, "is_bot": False, "first_name": "u"}}  # fmt: skip
    if text is not None:
        message["text"] = text
    return Update.model_validate({"update_id": 1, "message": message})


def _press(data: str | None) -> Update:
    query: dict[str, Any] = {"id": "q", "chat_instance": "c",
                             "from": {"id": 7, "is_bot": False, "first_name": "u"}}  # fmt: skip
    if data is not None:
        query["data"] = data
    return Update.model_validate({"update_id": 1, "callback_query": query})


@pytest.mark.parametrize(
    ("update", "label"),
    [
        (_message("/start"), "start"),
        (_message("/positions@sniper_test_bot"), "positions"),
        (_message("/SETTINGS"), "settings"),
        (_message("/snipe MINT 0.1"), "snipe"),
        (_message("/whatever"), "command_other"),
        (_message("/"), "command_other"),
        (_message(MINT), "token_card"),
        (_message(f"  {MINT}\n"), "token_card"),
        (_message("0.25"), "text"),
        (_message(None), "other"),
        (_press("m:positions"), "button_menu"),
        (_press("b:MINT:100000000:0"), "button_buy"),
        (_press("st:slip:100"), "button_settings"),
        (_press("zz:forged"), "button_other"),
        (_press(None), "button_other"),
        (Update.model_validate({"update_id": 2}), "other"),
    ],
)
def test_label(update: Update, label: str) -> None:
    assert update_command(update) == label


def test_every_typed_command_maps_into_a_bounded_set() -> None:
    labels = {update_command(_message(f"/{name}{i}")) for i in range(200) for name in COMMANDS}
    assert labels == {"command_other"}
