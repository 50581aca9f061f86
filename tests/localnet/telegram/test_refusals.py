"""The fake Bot API refuses what api.telegram.org refuses, with the Bot API server's error codes and
sentences (tdlib/telegram-bot-api Client.cpp, TDLib MessageEntity.cpp), for every rule."""

from __future__ import annotations

import pytest

from .helpers import TOKEN, USER, Api

QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"


def _keyboard(data: str) -> dict[str, object]:
    return {"inline_keyboard": [[{"text": "Buy", "callback_data": data}]]}


async def test_a_text_over_4096_characters_after_parsing_is_too_long(api: Api) -> None:
    api.fake.add_user(USER)
    assert await api.error("sendMessage", chat_id=USER, text="x" * 4097) == (
        400,
        "Bad Request: message is too long",
    )
    await api.ok("sendMessage", chat_id=USER, text="x" * 4096)
    # markup is not counted, characters are (an emoji is two UTF-16 units but one character)
    await api.ok("sendMessage", chat_id=USER, text="<b>" + "😀" * 4096 + "</b>", parse_mode="HTML")
    sent = await api.ok("sendMessage", chat_id=USER, text="hi")
    assert await api.error(
        "editMessageText", chat_id=USER, message_id=sent["message_id"], text="y" * 4097
    ) == (400, "Bad Request: message is too long")


async def test_a_caption_over_1024_characters_is_too_long(api: Api) -> None:
    api.fake.add_user(USER)
    photo = api.fake.new_photo(10, 10)[0]["file_id"]
    assert await api.error("sendPhoto", chat_id=USER, photo=photo, caption="c" * 1025) == (
        400,
        "Bad Request: message caption is too long",
    )


async def test_callback_data_over_64_bytes_is_button_data_invalid(api: Api) -> None:
    api.fake.add_user(USER)
    too_long = "é" * 33  # 66 bytes in UTF-8, 33 characters
    assert await api.error(
        "sendMessage", chat_id=USER, text="card", reply_markup=_keyboard(too_long)
    ) == (400, "Bad Request: BUTTON_DATA_INVALID")
    sent = await api.ok("sendMessage", chat_id=USER, text="card", reply_markup=_keyboard("é" * 32))
    assert sent["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "é" * 32
    assert await api.error(
        "editMessageReplyMarkup",
        chat_id=USER,
        message_id=sent["message_id"],
        reply_markup=_keyboard("x" * 65),
    ) == (400, "Bad Request: BUTTON_DATA_INVALID")


async def test_a_chat_nobody_opened_is_not_found(api: Api) -> None:
    for method, params in (
        ("sendMessage", {"text": "hello"}),
        ("getChat", {}),
        ("sendChatAction", {"action": "typing"}),
    ):
        assert await api.error(method, chat_id=999_001, **params) == (
            400,
            "Bad Request: chat not found",
        ), method
    api.fake.user_sends(999_001, "/start")
    sent = await api.ok("sendMessage", chat_id=999_001, text="hello")
    assert sent["chat"] == {
        "id": 999_001,
        "first_name": "User999001",
        "username": "user999001",
        "type": "private",
    }


async def test_a_blocked_user_is_forbidden(api: Api) -> None:
    api.fake.user_sends(USER, "/start")
    api.fake.user_blocks(USER)
    assert await api.error("sendMessage", chat_id=USER, text="hi") == (
        403,
        "Forbidden: bot was blocked by the user",
    )


async def test_an_unknown_answered_or_expired_callback_query_is_invalid(api: Api) -> None:
    card = api.fake.bot_message(USER, "card")
    assert await api.error("answerCallbackQuery", callback_query_id="77") == (400, QUERY_INVALID)

    first = api.fake.user_presses(USER, card["message_id"], "buy")["callback_query"]["id"]
    assert await api.ok("answerCallbackQuery", callback_query_id=first, text="ok") is True
    assert await api.error("answerCallbackQuery", callback_query_id=first) == (400, QUERY_INVALID)

    late = api.fake.user_presses(USER, card["message_id"], "buy")["callback_query"]["id"]
    api.clock.now += api.fake.callback_ttl_s + 1
    assert await api.error("answerCallbackQuery", callback_query_id=late) == (400, QUERY_INVALID)


@pytest.mark.parametrize("method", ["getMe", "getUpdates", "sendMessage", "setWebhook", "noSuch"])
async def test_a_malformed_or_unknown_token_is_unauthorized_for_every_method(
    api: Api, method: str
) -> None:
    assert await api.error(method, token="not-a-token", chat_id=USER, text="x") == (
        401,
        "Unauthorized: invalid token specified",
    )
    assert await api.error(method, token="0123:abc", chat_id=USER, text="x") == (
        401,
        "Unauthorized: invalid token specified",
    )
    other = TOKEN.replace("AAH3", "AAH4")
    assert await api.error(method, token=other, chat_id=USER, text="x") == (401, "Unauthorized")


async def test_the_first_well_formed_token_becomes_the_bots_and_no_other(api: Api) -> None:
    api.fake.token = None
    me = await api.ok("getMe", token="5550001:first-token-ever-seen")
    assert me["id"] == 5550001  # a bot's id is its token's number
    assert await api.error("getMe", token="5550002:second") == (401, "Unauthorized")


@pytest.mark.parametrize(
    ("method", "params", "sentence"),
    [
        ("sendMessage", {"chat_id": USER}, "Bad Request: message text is empty"),
        ("sendMessage", {"text": "hi"}, "Bad Request: chat_id is empty"),
        ("sendPhoto", {"chat_id": USER}, "Bad Request: there is no photo in the request"),
        ("editMessageText", {"text": "x"}, "Bad Request: message identifier is not specified"),
        ("editMessageText", {"chat_id": USER}, "Bad Request: message text is empty"),
        ("editMessageReplyMarkup", {"chat_id": USER}, "Bad Request: message to edit not found"),
        ("deleteMessage", {"message_id": 1}, "Bad Request: chat identifier is not specified"),
        ("deleteMessage", {"chat_id": USER}, "Bad Request: message identifier is not specified"),
        ("getChat", {}, "Bad Request: chat_id is empty"),
        ("sendChatAction", {"chat_id": USER}, "Bad Request: wrong parameter action in request"),
        ("setMyCommands", {}, "Bad Request: can't parse commands JSON object"),
        ("answerCallbackQuery", {}, QUERY_INVALID),
    ],
)
async def test_a_missing_required_parameter_is_a_400_with_the_servers_sentence(
    api: Api, method: str, params: dict[str, object], sentence: str
) -> None:
    api.fake.add_user(USER)
    assert await api.error(method, **params) == (400, sentence)


@pytest.mark.parametrize(
    ("text", "mode", "reason"),
    [
        ("price <5 SOL", "HTML", 'Unsupported start tag "5" at byte offset 6'),
        ("<b>bold", "HTML", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", "HTML", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("é</b>", "HTML", "Unexpected end tag at byte offset 2"),
        ("<span>x</span>", "HTML", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("Price: 1.5 SOL", "MarkdownV2",
         "Character '.' is reserved and must be escaped with the preceding '\\'"),
        ("*bold", "MarkdownV2", "Can't find end of Bold entity at byte offset 0"),
        ("[link](https://x.io", "MarkdownV2", "Can't find end of a URL at byte offset 7"),
    ],
)  # fmt: skip
async def test_markup_that_does_not_parse_is_refused(
    api: Api, text: str, mode: str, reason: str
) -> None:
    api.fake.add_user(USER)
    assert await api.error("sendMessage", chat_id=USER, text=text, parse_mode=mode) == (
        400,
        f"Bad Request: can't parse entities: {reason}",
    )
    assert await api.error("sendMessage", chat_id=USER, text="<b></b> ", parse_mode="HTML") == (
        400,
        "Bad Request: text must be non-empty",
    )


async def test_editing_to_the_same_content_is_not_modified(api: Api) -> None:
    api.fake.add_user(USER)
    sent = await api.ok("sendMessage", chat_id=USER, text="<b>Buy</b> now", parse_mode="HTML")
    status, description = await api.error(
        "editMessageText",
        chat_id=USER,
        message_id=sent["message_id"],
        text="<b>Buy</b> now  ",  # the same once parsed and trimmed
        parse_mode="HTML",
    )
    assert status == 400
    assert description.startswith("Bad Request: message is not modified")


async def test_messages_over_the_flood_limits_get_429_with_retry_after(api: Api) -> None:
    fake = api.fake
    for user in range(1, 32):
        fake.add_user(user)
    for _ in range(fake.chat_burst):
        await api.ok("sendMessage", chat_id=1, text="burst")
    status, body = await api.raw("sendMessage", chat_id=1, text="one too many")
    assert (status, body["description"]) == (429, "Too Many Requests: retry after 1")
    assert body["parameters"] == {"retry_after": 1}
    api.clock.now += 1.0  # one message a second per chat
    await api.ok("sendMessage", chat_id=1, text="after the wait")

    api.clock.now += 60.0
    for user in range(2, 2 + fake.bot_burst):  # 30 chats in the same instant: the bot's limit
        await api.ok("sendMessage", chat_id=user, text="news")
    status, body = await api.raw("sendMessage", chat_id=31 + 1 - 1, text="the 31st")
    assert status == 429
    assert body["parameters"]["retry_after"] >= 1
    assert fake.flood_refusals == 2
