"""Which pushed messages a user gets (``/settings`` → notifications).

Every message the bot sends on its own (not as the answer to what the user just did) is of one
``NoticeKind``; ``wants`` says whether the user's settings let it through. What a user does by
hand is always answered (a buy's result, a withdrawal, a broadcast from the operator).

    if wants(settings, NoticeKind.EXIT): send(...)
"""

from __future__ import annotations

import enum

from sniper_bot.domain.entities import UserSettings

__all__ = [
    "NOTICE_FIELDS",
    "NOTICE_LABELS",
    "NoticeKind",
    "notice_of_key",
    "notice_of_snipe",
    "wants",
]


class NoticeKind(enum.StrEnum):
    FILL = "fill"  # a snipe that bought, a limit order, a DCA part
    EXIT = "exit"  # an automatic exit (take-profit, stop-loss, trailing, max hold, ladder step)
    SNIPE_MISS = "snipe_miss"  # a snipe that failed or expired, a coin a standing snipe skipped
    COPY = "copy"  # a copy trade (or a leader's trade that was not copied)
    ALWAYS = "always"  # the result of something the user did by hand


# the UserSettings field behind each kind (ALWAYS has none)
NOTICE_FIELDS: dict[NoticeKind, str] = {
    NoticeKind.FILL: "notify_fills",
    NoticeKind.EXIT: "notify_exits",
    NoticeKind.SNIPE_MISS: "notify_snipe_misses",
    NoticeKind.COPY: "notify_copies",
}
NOTICE_LABELS: dict[NoticeKind, str] = {
    NoticeKind.FILL: "fills",
    NoticeKind.EXIT: "exits",
    NoticeKind.SNIPE_MISS: "snipe misses",
    NoticeKind.COPY: "copy trades",
}


def wants(settings: UserSettings, kind: NoticeKind) -> bool:
    """Does this user get messages of ``kind``?"""
    field = NOTICE_FIELDS.get(kind)
    return True if field is None else bool(getattr(settings, field))


def notice_of_key(idempotency_key: str, *, confirmed: bool) -> NoticeKind:
    """The kind of a pushed order result, from the order's idempotency key: ``snipe:`` (a fill
    when it landed, else a miss), ``limit:``/``dca:`` (fills), ``exit:``, ``copy:``; anything
    else is an order the user placed by hand (always told)."""
    prefix = idempotency_key.split(":", 1)[0]
    if prefix == "snipe":
        return NoticeKind.FILL if confirmed else NoticeKind.SNIPE_MISS
    if prefix in ("limit", "dca"):
        return NoticeKind.FILL
    if prefix == "exit":
        return NoticeKind.EXIT
    if prefix == "copy":
        return NoticeKind.COPY
    return NoticeKind.ALWAYS


def notice_of_snipe(status: str, order_status: str | None) -> NoticeKind:
    """A settled snipe's message: a fill when its buy landed or is still landing, a miss when it
    failed, expired, or a standing target skipped a coin (still ARMED)."""
    if status == "ARMED":
        return NoticeKind.SNIPE_MISS
    if order_status is None:  # FIRED: sent, its order row still being written
        return NoticeKind.FILL if status == "FIRED" else NoticeKind.SNIPE_MISS
    if order_status in ("FAILED", "EXPIRED", "CANCELLED"):
        return NoticeKind.SNIPE_MISS
    return NoticeKind.FILL
