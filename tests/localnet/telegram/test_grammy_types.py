"""An independent check of the fake's shapes: its recorded responses type-check against
`@grammyjs/types` under `tsc --strict` (tests/oracle/telegram_types.js), unknown fields included."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from .helpers import TOKEN, USER, Api
from .test_surface import png

ORACLE_DIR = Path(__file__).resolve().parents[2] / "oracle"


def _typecheck(records: list[dict[str, Any]]) -> dict[str, Any]:
    if shutil.which("node") is None or not (ORACLE_DIR / "node_modules/@grammyjs/types").is_dir():
        pytest.fail(
            "node and tests/oracle/node_modules (npm ci --prefix tests/oracle) are required"
        )
    done = subprocess.run(
        ["node", str(ORACLE_DIR / "telegram_types.js")], input=json.dumps(records),
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


async def test_recorded_responses_type_check_against_grammy_types(api: Api) -> None:
    fake = api.fake
    records: list[dict[str, Any]] = []

    async def record(name: str, kind: str, method: str, **params: Any) -> Any:
        _, body = await api.raw(method, **params)
        assert body["ok"], body
        # Telegram's success may carry a description ("Webhook was set"); grammY's ApiSuccess
        # has no such field, so it is checked here instead of by tsc
        assert set(body) <= {"ok", "result", "description"}
        shaped = {k: v for k, v in body.items() if k != "description"}
        records.append({"name": name, "type": kind, "response": shaped})
        return body["result"]

    await record("getMe", "UserFromGetMe", "getMe")
    fake.user_sends(USER, "/start")
    keyboard = {"inline_keyboard": [[{"text": "Buy 0.1", "callback_data": "buy:0.1"}]]}
    card = await record("sendMessage", "Message.TextMessage", "sendMessage", chat_id=USER,
                        text="<b>Token</b> <code>Mint</code>", parse_mode="HTML",
                        reply_markup=keyboard)  # fmt: skip
    fake.user_presses(USER, card["message_id"], "buy:0.1")
    updates = await record("getUpdates", "Update[]", "getUpdates")
    assert {"message", "callback_query"} <= {k for u in updates for k in u}
    press = next(u["callback_query"]["id"] for u in updates if "callback_query" in u)
    await record("editMessageText", "Message.TextMessage | true", "editMessageText",
                 chat_id=USER, message_id=card["message_id"], text="Buying <i>0.1</i>",
                 parse_mode="HTML")  # fmt: skip
    await record("answerCallbackQuery", "true", "answerCallbackQuery", callback_query_id=press)
    await record("getChat", "ChatFullInfo", "getChat", chat_id=USER)
    form = aiohttp.FormData()
    form.add_field("chat_id", str(USER))
    form.add_field("caption", "Chart")
    form.add_field("photo", png(32, 16), filename="c.png")
    async with api.http.post(f"{api.url}/bot{TOKEN}/sendPhoto", data=form) as resp:
        records.append({"name": "sendPhoto", "type": "Message.PhotoMessage",
                        "response": await resp.json()})  # fmt: skip
    await record("setWebhook", "true", "setWebhook", url="https://bot.example.org/hook")
    await record("getWebhookInfo", "WebhookInfo", "getWebhookInfo")
    await record("deleteWebhook", "true", "deleteWebhook")
    await record("getWebhookInfoNone", "WebhookInfo", "getWebhookInfo")
    _, error = await api.raw("sendMessage", chat_id=USER, text="x" * 5000)
    records.append({"name": "tooLong", "type": "true", "response": error})

    assert _typecheck(records) == {"ok": True}


def test_the_check_refuses_a_wrong_shape() -> None:
    """The oracle itself can fail: the old getMe (no can_connect_to_business...) and an unknown
    field are both type errors."""
    old_me = {"id": 1, "is_bot": True, "first_name": "x", "username": "b", "can_join_groups": True,
              "can_read_all_group_messages": False, "supports_inline_queries": False}  # fmt: skip
    chat = {"id": 1, "type": "private", "first_name": "x", "not_a_field": 1}
    result = _typecheck([
        {"name": "me", "type": "UserFromGetMe", "response": {"ok": True, "result": old_me}},
        {"name": "chat", "type": "Chat", "response": {"ok": True, "result": chat}},
    ])  # fmt: skip
    assert result["ok"] is False
    assert any("can_connect_to_business" in e for e in result["errors"])
    assert any("not_a_field" in e for e in result["errors"])
