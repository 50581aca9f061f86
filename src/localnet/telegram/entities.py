"""Telegram's text formatting: `parse_mode` HTML / MarkdownV2 into text + `MessageEntity` list.

A port of TDLib's `parse_html`, `parse_markdown_v2` and `fix_formatted_text` (td/telegram/
MessageEntity.cpp), which the Bot API server runs on every text and caption: the same accepted
syntax, the same error sentences (byte offsets into the UTF-8 text), UTF-16 entity offsets, the
entity fixing (bold split around code, adjacent bolds merged, nothing nested in `code`/`pre`) and
the trimming of leading/trailing spaces and newlines. `to_html` renders text + entities back to
Telegram HTML (what aiogram's `html_text` shows), for tests that read what a user sees.

Not ported: URL/mention/hashtag auto-detection (only `bot_command` is detected), `tg://user`
mentions, the legacy `Markdown` mode (parsed as plain text after its own, simpler rules).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = ["EmptyText", "EntityError", "format_text", "to_html", "utf16_len"]

SPLITTABLE = ("bold", "italic", "underline", "strikethrough", "spoiler")
BLOCKQUOTE = ("blockquote", "expandable_blockquote")
PRE = ("pre", "code", "date_time")
CONTINUOUS = ("mention", "hashtag", "bot_command", "url", "email", "text_link", "text_mention",
              "cashtag", "phone_number", "bank_card_number", "custom_emoji")  # fmt: skip
PRIORITY = {"mention": 50, "hashtag": 50, "bot_command": 50, "url": 50, "email": 50, "bold": 90,
            "italic": 91, "code": 20, "pre": 11, "text_link": 49, "text_mention": 49,
            "cashtag": 50, "phone_number": 50, "underline": 92, "strikethrough": 93,
            "blockquote": 0, "spoiler": 94, "custom_emoji": 99, "expandable_blockquote": 0,
            "date_time": 30}  # fmt: skip
MD_NAMES = {"bold": "Bold", "italic": "Italic", "underline": "Underline", "code": "Code",
            "strikethrough": "Strikethrough", "spoiler": "Spoiler", "pre": "Pre",
            "text_link": "TextUrl", "custom_emoji": "CustomEmoji",
            "blockquote": "BlockQuote"}  # fmt: skip
HTML_TAGS = frozenset({"a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins",
                       "tg-spoiler", "tg-emoji", "tg-time", "span", "pre", "code",
                       "blockquote"})  # fmt: skip
_SPACE = frozenset(b" \t\r\n\0\v")
_BOT_COMMAND = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")


class EntityError(ValueError):
    """The text does not parse; `str(error)` is TDLib's sentence (the Bot API prefixes it with
    "Bad Request: can't parse entities: ")."""


class EmptyText(ValueError):
    """Nothing is left after parsing and trimming ("Text must be non-empty")."""


@dataclass
class Entity:
    type: str
    offset: int
    length: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def end(self) -> int:
        return self.offset + self.length

    def key(self) -> tuple[int, int, int]:
        return (self.offset, -self.length, PRIORITY.get(self.type, 50))

    def to_json(self) -> dict[str, Any]:
        return {"offset": self.offset, "length": self.length, "type": self.type, **self.extra}


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _units(first_byte: int) -> int:
    """UTF-16 units of the character whose UTF-8 encoding starts with this byte (0 otherwise)."""
    if (first_byte & 0xC0) == 0x80:
        return 0
    return 2 if first_byte >= 0xF0 else 1


def _checked_link(url: str) -> str:
    """TDLib's `get_checked_link`: an http(s)/tg link normalised, or "" when it is not one."""
    link = url.strip()
    if not link:
        return ""
    lower = link.lower()
    if lower.startswith("tg:"):
        rest = link[3:].removeprefix("//")
        host = re.match(r"[A-Za-z0-9_-]+", rest)
        return f"tg://{rest}" if host and host.group() else ""
    if "://" not in link:
        link = "http://" + link
    try:
        parts = urlsplit(link)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    if "." not in parts.hostname:
        return ""
    path = parts.path or "/"
    query = f"?{parts.query}" if parts.query else ""
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return f"{parts.scheme.lower()}://{parts.netloc}{path}{query}{fragment}"


# -- HTML --------------------------------------------------------------------------------------


def _decode_html_entity(data: bytes, pos: int) -> tuple[int, int]:
    """(code point, position after the reference) or (0, pos) when it is not one TDLib decodes."""
    end = pos + 1
    code = 0
    if data[pos + 1] == ord("#"):
        end += 1
        if data[pos + 2] == ord("x"):
            end += 1
            while chr(data[end]) in "0123456789abcdefABCDEF":
                code = code * 16 + int(chr(data[end]), 16)
                end += 1
        else:
            while ord("0") <= data[end] <= ord("9"):
                code = code * 10 + data[end] - ord("0")
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while chr(data[end]).isascii() and chr(data[end]).isalpha():
            end += 1
        name = data[pos + 1 : end]
        code = {b"lt": 60, b"gt": 62, b"amp": 38, b"quot": 34}.get(name, 0)
        if code == 0:
            return 0, pos
    if data[end] == ord(";"):
        end += 1
    return code, end


def parse_html(source: str) -> tuple[str, list[Entity]]:
    data = source.encode("utf-8", "surrogatepass") + b"\0\0\0"
    size = len(data) - 3
    out = bytearray()
    entities: list[Entity] = []
    utf16 = 0
    nested: list[tuple[str, str, int, int]] = []  # tag, argument, utf16 offset, output position
    i = 0
    while i < size:
        c = data[i]
        if c == ord("&"):
            code, after = _decode_html_entity(data, i)
            if code:
                utf16 += 2 if code > 0xFFFF else 1
                out += chr(code).encode("utf-8", "surrogatepass")
                i = after
                continue
        if c != ord("<"):
            utf16 += _units(c)
            out.append(c)
            i += 1
            continue
        begin = i
        i += 1
        if data[i] != ord("/"):
            while data[i] not in _SPACE and data[i] != ord(">"):
                i += 1
            if data[i] == 0:
                raise EntityError(f"Unclosed start tag at byte offset {begin}")
            tag = data[begin + 1 : i].decode("utf-8", "replace").lower()
            if tag not in HTML_TAGS:
                raise EntityError(f'Unsupported start tag "{tag}" at byte offset {begin}')
            argument = ""
            while data[i] != ord(">"):
                while data[i] != 0 and data[i] in _SPACE:
                    i += 1
                if data[i] == ord(">"):
                    break
                attr_begin = i
                while data[i] not in _SPACE and chr(data[i]) not in "=>/\"'":
                    i += 1
                attr = data[attr_begin:i].decode("utf-8", "replace")
                if not attr:
                    raise EntityError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {begin}'
                    )
                while data[i] != 0 and data[i] in _SPACE:
                    i += 1
                if data[i] != ord("="):
                    if data[i] == 0:
                        raise EntityError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                    if tag == "blockquote" and attr == "expandable":
                        argument = "1"
                    continue
                i += 1
                while data[i] != 0 and data[i] in _SPACE:
                    i += 1
                if data[i] == 0:
                    raise EntityError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                if data[i] not in (ord("'"), ord('"')):
                    token_begin = i
                    while chr(data[i]).isascii() and (chr(data[i]).isalnum() or data[i] in b".-"):
                        i += 1
                    value = data[token_begin:i].decode().lower()
                    if data[i] not in _SPACE and data[i] != ord(">"):
                        raise EntityError(
                            f"Unexpected end of name token at byte offset {token_begin}"
                        )
                else:
                    quote = data[i]
                    i += 1
                    raw = bytearray()
                    while data[i] != quote and data[i] != 0:
                        if data[i] == ord("&"):
                            code, after = _decode_html_entity(data, i)
                            if code:
                                raw += chr(code).encode("utf-8", "surrogatepass")
                                i = after
                                continue
                        raw.append(data[i])
                        i += 1
                    if data[i] == quote:
                        i += 1
                    value = raw.decode("utf-8", "surrogatepass")
                if data[i] == 0:
                    raise EntityError(f"Unclosed start tag at byte offset {begin}")
                if tag == "a" and attr == "href":
                    argument = value
                elif tag == "code" and attr == "class" and value.startswith("language-"):
                    argument = value[9:]
                elif tag == "span" and attr == "class" and value.startswith("tg-"):
                    argument = value[3:]
                elif (tag == "tg-emoji" and attr == "emoji-id") or (
                    tag == "tg-time" and attr == "unix"
                ):
                    argument = value
                elif tag == "blockquote" and attr == "expandable":
                    argument = "1"
            if tag == "span" and argument != "spoiler":
                raise EntityError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
            nested.append((tag, argument, utf16, len(out)))
            i += 1
            continue
        # an end tag
        if not nested:
            raise EntityError(f"Unexpected end tag at byte offset {begin}")
        while data[i] not in _SPACE and data[i] != ord(">"):
            i += 1
        end_tag = data[begin + 2 : i].decode("utf-8", "replace").lower()
        while data[i] in _SPACE and data[i] != 0:
            i += 1
        if data[i] != ord(">"):
            raise EntityError(f"Unclosed end tag at byte offset {begin}")
        i += 1
        tag, argument, offset, out_begin = nested.pop()
        if end_tag and end_tag != tag:
            raise EntityError(
                f'Unmatched end tag at byte offset {begin}, expected "</{tag}>", '
                f'found "</{end_tag}>"'
            )
        if utf16 > offset:
            _html_entity(entities, tag, argument, offset, utf16 - offset, bytes(out[out_begin:]))
    if nested:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{nested[-1][0]}"')
    for entity in entities:
        if entity.type == "code":
            entity.extra.pop("language", None)
    return out.decode("utf-8", "surrogatepass"), entities


def _html_entity(
    entities: list[Entity], tag: str, argument: str, offset: int, length: int, inner: bytes
) -> None:
    simple = {"i": "italic", "em": "italic", "b": "bold", "strong": "bold", "s": "strikethrough",
              "strike": "strikethrough", "del": "strikethrough", "u": "underline",
              "ins": "underline", "tg-spoiler": "spoiler", "span": "spoiler"}  # fmt: skip
    last = entities[-1] if entities else None
    same_span = last is not None and last.offset == offset and last.length == length
    if tag in simple:
        entities.append(Entity(simple[tag], offset, length))
    elif tag == "tg-emoji":
        if not argument.isdigit() or int(argument) == 0:
            raise EntityError("Invalid custom emoji identifier specified")
        entities.append(Entity("custom_emoji", offset, length, {"custom_emoji_id": argument}))
    elif tag == "tg-time":
        if argument.isdigit() and int(argument) > 0:
            entities.append(Entity("date_time", offset, length, {"unix_time": int(argument)}))
    elif tag == "a":
        url = _checked_link(argument or inner.decode("utf-8", "surrogatepass"))
        if url:
            entities.append(Entity("text_link", offset, length, {"url": url}))
    elif tag == "pre":
        if same_span and last is not None and last.type == "code" and last.extra.get("language"):
            last.type = "pre"
        else:
            entities.append(Entity("pre", offset, length))
    elif tag == "code":
        if same_span and last is not None and last.type == "pre" and argument:
            last.extra["language"] = argument
        else:
            entities.append(
                Entity("code", offset, length, {"language": argument} if argument else {})
            )
    elif tag == "blockquote":
        kind = "expandable_blockquote" if argument else "blockquote"
        entities.append(Entity(kind, offset, length))


# -- MarkdownV2 --------------------------------------------------------------------------------

_RESERVED = b"_*[]()~`>#+-=|{}.!\n"


def _reserved(char: int) -> EntityError:
    return EntityError(
        f"Character '{chr(char)}' is reserved and must be escaped with the preceding '\\'"
    )


def parse_markdown_v2(source: str) -> tuple[str, list[Entity]]:
    data = source.encode("utf-8", "surrogatepass") + b"\0\0\0"
    size = len(data) - 3
    out = bytearray()
    entities: list[Entity] = []
    utf16 = 0
    # type, argument, utf16 offset, byte offset in the source, output position
    nested: list[list[Any]] = []
    have_blockquote = False
    can_start_blockquote = True
    i = 0
    while i < size:
        c = data[i]
        if c == ord("\\") and 0 < data[i + 1] <= 126:
            i += 1
            utf16 += 1
            out.append(data[i])
            if data[i] != ord("\r"):
                can_start_blockquote = data[i] == ord("\n")
            i += 1
            continue
        reserved = _RESERVED
        if nested and nested[-1][0] in ("code", "pre"):
            reserved = b"`"
        if c not in reserved:
            units = _units(c)
            if units and c != ord("\r"):
                can_start_blockquote = False
            utf16 += units
            out.append(c)
            i += 1
            continue
        top = nested[-1][0] if nested else None
        if top is None:
            is_end = False
        elif have_blockquote and c == ord("\n") and (i + 1 == size or data[i + 1] != ord(">")):
            is_end = True
        else:
            is_end = {
                "bold": c == ord("*"),
                "italic": c == ord("_") and data[i + 1] != ord("_"),
                "code": c == ord("`"),
                "pre": c == ord("`") and data[i + 1] == ord("`") and data[i + 2] == ord("`"),
                "text_link": c == ord("]"),
                "underline": c == ord("_") and data[i + 1] == ord("_"),
                "strikethrough": c == ord("~"),
                "spoiler": c == ord("|") and data[i + 1] == ord("|"),
                "custom_emoji": c == ord("]"),
                "blockquote": False,
            }[top]
        if not is_end:
            kind: str | None
            argument = ""
            byte_offset = i
            if c == ord("_"):
                if data[i + 1] == ord("_"):
                    kind = "underline"
                    i += 1
                else:
                    kind = "italic"
            elif c == ord("*"):
                kind = "bold"
            elif c == ord("~"):
                kind = "strikethrough"
            elif c == ord("|"):
                if data[i + 1] != ord("|"):
                    raise _reserved(c)
                i += 1
                kind = "spoiler"
            elif c == ord("["):
                kind = "text_link"
            elif c == ord("`"):
                if data[i + 1] == ord("`") and data[i + 2] == ord("`"):
                    i += 3
                    kind = "pre"
                    language_end = i
                    while data[language_end] not in _SPACE and data[language_end] != ord("`"):
                        language_end += 1
                    if i != language_end and language_end < size and data[language_end] != ord("`"):
                        argument = data[i:language_end].decode("utf-8", "replace")
                        i = language_end
                    if data[i] in b"\r\n":
                        if data[i + 1] in b"\r\n" and data[i] != data[i + 1]:
                            i += 2
                        else:
                            i += 1
                    i -= 1
                else:
                    kind = "code"
            elif c == ord("!"):
                if data[i + 1] != ord("["):
                    raise _reserved(c)
                i += 1
                kind = "custom_emoji"
            elif c == ord("\n"):
                utf16 += 1
                out.append(c)
                can_start_blockquote = True
                kind = None
            elif c == ord(">"):
                if not can_start_blockquote:
                    raise _reserved(c)
                if have_blockquote:
                    kind = None
                else:
                    kind = "blockquote"
                    have_blockquote = True
            else:
                raise _reserved(c)
            if kind is not None:
                nested.append([kind, argument, utf16, byte_offset, len(out)])
            i += 1
            continue
        # the end of an entity
        kind = nested[-1][0]
        if c == ord("\n") and kind != "blockquote":
            opened = nested[-1][3]
            crlf = opened == i - 3 and out and out[-1] == ord("\r")
            if kind != "spoiler" or not (opened == i - 2 or crlf):
                raise EntityError(
                    f"Can't find end of {MD_NAMES[kind]} entity at byte offset {opened}"
                )
            nested.pop()
            kind = nested[-1][0]
            if kind != "blockquote":
                raise EntityError(
                    f"Can't find end of {MD_NAMES[kind]} entity at byte offset {nested[-1][3]}"
                )
            kind = "expandable_blockquote"
        _, argument, offset, _, out_begin = nested[-1]
        skip = utf16 == offset
        extra: dict[str, Any] = {}
        if kind in ("underline", "spoiler"):
            i += 1
        elif kind == "pre":
            i += 2
            if argument:
                extra["language"] = argument
        elif kind == "text_link":
            if data[i + 1] != ord("("):
                url = out[out_begin:].decode("utf-8", "surrogatepass")
            else:
                i += 2
                url_begin = i
                raw = bytearray()
                while i < size and data[i] != ord(")"):
                    if data[i] == ord("\\") and 0 < data[i + 1] <= 126:
                        raw.append(data[i + 1])
                        i += 2
                        continue
                    raw.append(data[i])
                    i += 1
                if data[i] != ord(")"):
                    raise EntityError(f"Can't find end of a URL at byte offset {url_begin}")
                url = raw.decode("utf-8", "surrogatepass")
            checked = _checked_link(url)
            if checked:
                extra["url"] = checked
            else:
                skip = True
        elif kind == "custom_emoji":
            if data[i + 1] != ord("("):
                raise EntityError("The entity must contain a tg://emoji or tg://time URL")
            i += 2
            url_begin = i
            raw = bytearray()
            while i < size and data[i] != ord(")"):
                raw.append(data[i])
                i += 1
            if data[i] != ord(")"):
                raise EntityError(f"Can't find end of a URL at byte offset {url_begin}")
            match = re.fullmatch(r"tg://emoji\?id=(\d+)", raw.decode("utf-8", "replace"))
            if match is None or int(match.group(1)) == 0:
                raise EntityError("Invalid tg://emoji or tg://time URL specified")
            extra["custom_emoji_id"] = match.group(1)
        elif kind in BLOCKQUOTE:
            have_blockquote = False
            out.append(data[i])
            can_start_blockquote = True
            utf16 += 1
            skip = False
        if not skip:
            entities.append(Entity(kind, offset, utf16 - offset, extra))
        nested.pop()
        i += 1
    if have_blockquote:
        kind = "blockquote"
        if nested[-1][0] == "spoiler" and nested[-1][3] == size - 2:
            nested.pop()
            kind = "expandable_blockquote"
        if nested[-1][0] == "blockquote":
            offset = nested[-1][2]
            if utf16 != offset:
                entities.append(Entity(kind, offset, utf16 - offset))
            nested.pop()
    if nested:
        kind, _, _, byte_offset, _ = nested[-1]
        raise EntityError(f"Can't find end of {MD_NAMES[kind]} entity at byte offset {byte_offset}")
    return out.decode("utf-8", "surrogatepass"), entities


# -- fixing, as fix_formatted_text does ----------------------------------------------------------


def _sort(entities: list[Entity]) -> list[Entity]:
    return sorted(entities, key=Entity.key)


def _valid(entities: list[Entity]) -> bool:
    """TDLib's `are_entities_valid`: already in the shape fixing would produce."""
    ends: dict[str, int] = {}
    stack: list[Entity] = []
    for entity in entities:
        while stack and entity.offset >= stack[-1].end:
            stack.pop()
        if stack:
            types = {e.type for e in stack}
            parent = stack[-1]
            if entity.end > parent.end or entity.type in types or parent.type in PRE:
                return False
            if entity.type in PRE and types - set(BLOCKQUOTE):
                return False
            if (entity.type in CONTINUOUS or entity.type in BLOCKQUOTE) and types & set(CONTINUOUS):
                return False
            if entity.type in BLOCKQUOTE and types & set(BLOCKQUOTE):
                return False
            if types & set(SPLITTABLE):
                return False
        if entity.type in SPLITTABLE:
            if ends.get(entity.type, -1) >= entity.offset:
                return False
            ends[entity.type] = entity.end
        stack.append(entity)
    return True


def _remove_intersecting(entities: list[Entity]) -> list[Entity]:
    kept: list[Entity] = []
    last_end = 0
    for entity in entities:
        if entity.offset >= last_end:
            last_end = entity.end
            kept.append(entity)
    return kept


def _remove_intersecting_blockquote(entities: list[Entity], quotes: list[Entity]) -> list[Entity]:
    kept: list[Entity] = []
    q = 0
    for entity in entities:
        while q < len(quotes) and quotes[q].end <= entity.offset:
            q += 1
        if q < len(quotes) and (
            quotes[q].end < entity.end or entity.offset < quotes[q].offset < entity.end
        ):
            continue
        kept.append(entity)
    return kept


def _split(splittable: list[Entity], others: list[Entity]) -> list[Entity]:
    """TDLib's `split_entities`: bold/italic/... merged where they touch, cut at the edges of the
    other entities and removed inside code/pre."""
    begin: dict[str, int] = {}
    end: dict[str, int] = {}
    result: list[Entity] = []
    it = 0

    def flush(offset: int) -> None:
        for kind in SPLITTABLE:
            if end.get(kind, 0) != 0 and begin[kind] < offset:
                if end[kind] <= offset:
                    result.append(Entity(kind, begin[kind], end[kind] - begin[kind]))
                    begin[kind] = end[kind] = 0
                else:
                    result.append(Entity(kind, begin[kind], offset - begin[kind]))
                    begin[kind] = offset

    def add_entities(end_offset: int) -> None:
        nonlocal it
        while it < len(splittable) and splittable[it].offset < end_offset:
            entity = splittable[it]
            kind = entity.type
            if end.get(kind, 0) != 0 and entity.offset <= end[kind]:
                end[kind] = max(end[kind], entity.end)
            else:
                flush(entity.offset)
                begin[kind] = entity.offset
                end[kind] = entity.end
            it += 1
        flush(end_offset)

    stack: list[Entity] = []

    def add_offset(offset: int) -> None:
        while stack and offset >= stack[-1].end:
            old = len(result)
            add_entities(stack[-1].end)
            if stack[-1].type in PRE:
                del result[old:]
            stack.pop()
        add_entities(offset)

    for other in others:
        add_offset(other.offset)
        stack.append(other)
    add_offset(1 << 31)
    return _sort(result)


def _fix(entities: list[Entity]) -> list[Entity]:
    entities = _sort([e for e in entities if e.length > 0])
    if _valid(entities):
        return entities
    splittable = [e for e in entities if e.type in SPLITTABLE]
    quotes = [e for e in entities if e.type in BLOCKQUOTE]
    continuous = _remove_intersecting(
        [e for e in entities if e.type not in SPLITTABLE + BLOCKQUOTE]
    )
    if quotes:
        quotes = _remove_intersecting(quotes)
        continuous = _sort(_remove_intersecting_blockquote(continuous, quotes) + quotes)
    if splittable:
        return _sort(_split(splittable, continuous) + continuous)
    return continuous


def _trim(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Trailing spaces/newlines go (entities shortened), then leading ones before any entity."""
    units = [utf16_len(ch) for ch in text]
    last = -1  # UTF-16 offset of the last non-whitespace unit
    last_index = -1
    pos = 0
    for index, (ch, size) in enumerate(zip(text, units, strict=True)):
        if ch not in " \n":
            last = pos + size - 1
            last_index = index
        pos += size
    if last < 0:
        raise EmptyText("Text must be non-empty")
    text = text[: last_index + 1]
    fixed = []
    for entity in entities:
        if entity.offset > last:
            continue
        if entity.end > last + 1:
            entity = Entity(entity.type, entity.offset, last + 1 - entity.offset, entity.extra)
        fixed.append(entity)
    fixed = _sort(fixed)
    first_entity = fixed[0].offset if fixed else utf16_len(text)
    strip = 0
    while strip < first_entity and strip < len(text) and text[strip] in " \n":
        strip += 1
    if strip:
        text = text[strip:]
        fixed = [Entity(e.type, e.offset - strip, e.length, e.extra) for e in fixed]
    return text, fixed


def _bot_commands(text: str) -> list[Entity]:
    found = []
    for match in _BOT_COMMAND.finditer(text):
        offset = utf16_len(text[: match.start()])
        found.append(Entity("bot_command", offset, utf16_len(match.group())))
    return found


def format_text(
    text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """The text and entities Telegram stores for a message text or caption.

    Raises `EntityError` with TDLib's sentence when the markup does not parse, ``ValueError``
    ("Unsupported parse_mode") for an unknown mode; an empty result is "Text must be non-empty".
    """
    mode = (parse_mode or "").lower()
    if text and mode and mode != "none":
        if mode == "html":
            plain, parsed = parse_html(text)
        elif mode == "markdownv2":
            plain, parsed = parse_markdown_v2(text)
        elif mode == "markdown":
            plain, parsed = text, []
        else:
            raise ValueError("Unsupported parse_mode")
    else:
        plain = text
        parsed = [Entity(str(e["type"]), int(e["offset"]), int(e["length"]),
                         {k: v for k, v in e.items() if k not in ("type", "offset", "length")})
                  for e in entities or []]  # fmt: skip
    plain = plain.replace("\r", "")  # clean_input_string drops carriage returns
    fixed = _fix(parsed)
    plain, fixed = _trim(plain, fixed)
    auto = [c for c in _bot_commands(plain)
            if not any(e.type not in SPLITTABLE and e.offset < c.end and c.offset < e.end
                       for e in fixed)]  # fmt: skip
    return plain, [e.to_json() for e in _sort(_fix(fixed + auto))]


# -- back to HTML --------------------------------------------------------------------------------

_OPEN = {"bold": "<b>", "italic": "<i>", "underline": "<u>", "strikethrough": "<s>",
         "spoiler": "<tg-spoiler>", "code": "<code>", "blockquote": "<blockquote>",
         "expandable_blockquote": "<blockquote expandable>"}  # fmt: skip
_CLOSE = {"bold": "</b>", "italic": "</i>", "underline": "</u>", "strikethrough": "</s>",
          "spoiler": "</tg-spoiler>", "code": "</code>", "blockquote": "</blockquote>",
          "expandable_blockquote": "</blockquote>", "text_link": "</a>",
          "custom_emoji": "</tg-emoji>", "date_time": "</tg-time>"}  # fmt: skip


def _open_tag(entity: dict[str, Any]) -> str:
    kind = entity["type"]
    if kind == "text_link":
        return f'<a href="{html.escape(str(entity["url"]))}">'
    if kind == "pre":
        language = entity.get("language")
        return f'<pre><code class="language-{language}">' if language else "<pre>"
    if kind == "custom_emoji":
        return f'<tg-emoji emoji-id="{entity["custom_emoji_id"]}">'
    if kind == "date_time":
        return f'<tg-time unix="{entity["unix_time"]}">'
    return _OPEN.get(kind, "")


def _close_tag(entity: dict[str, Any]) -> str:
    if entity["type"] == "pre":
        return "</code></pre>" if entity.get("language") else "</pre>"
    return _CLOSE.get(entity["type"], "")


def to_html(text: str, entities: list[dict[str, Any]] | None) -> str:
    """Telegram HTML for a text and its entities (like aiogram's `Message.html_text`)."""
    units = text.encode("utf-16-le", "surrogatepass")
    ordered = sorted(entities or [], key=lambda e: (e["offset"], -e["length"]))
    out: list[str] = []
    stack: list[dict[str, Any]] = []
    pos = 0

    def emit(until: int) -> None:
        nonlocal pos
        if until > pos:
            chunk = units[pos * 2 : until * 2].decode("utf-16-le", "surrogatepass")
            out.append(html.escape(chunk, quote=False))
            pos = until

    for entity in ordered:
        while stack and stack[-1]["offset"] + stack[-1]["length"] <= entity["offset"]:
            emit(stack[-1]["offset"] + stack[-1]["length"])
            out.append(_close_tag(stack.pop()))
        emit(entity["offset"])
        out.append(_open_tag(entity))
        stack.append(entity)
    while stack:
        emit(stack[-1]["offset"] + stack[-1]["length"])
        out.append(_close_tag(stack.pop()))
    emit(len(units) // 2)
    return "".join(out)
