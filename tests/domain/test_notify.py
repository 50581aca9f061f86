"""Which pushed messages a user gets: each kind behind its own switch, the user's own actions
always; an outbox order's kind from its idempotency key; a settled snipe's kind from its state."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sniper_bot.domain.entities import UserSettings
from sniper_bot.domain.notify import (
    NOTICE_FIELDS,
    NoticeKind,
    notice_of_key,
    notice_of_snipe,
    wants,
)


def test_every_kind_is_on_by_default_and_each_switch_mutes_only_its_kind() -> None:
    defaults = UserSettings(user_id=1)
    assert all(wants(defaults, kind) for kind in NoticeKind)
    for kind, field in NOTICE_FIELDS.items():
        muted = replace(defaults, **{field: False})
        assert not wants(muted, kind)
        assert all(wants(muted, other) for other in NoticeKind if other is not kind)
    everything_off = replace(defaults, **{f: False for f in NOTICE_FIELDS.values()})
    assert wants(everything_off, NoticeKind.ALWAYS)  # a result of the user's own action


@pytest.mark.parametrize(
    ("key", "confirmed", "kind"),
    [
        ("snipe:12", True, NoticeKind.FILL),
        ("snipe:12:3", False, NoticeKind.SNIPE_MISS),
        ("limit:4", False, NoticeKind.FILL),
        ("dca:4:2", True, NoticeKind.FILL),
        ("exit:9:2026-01-01T00:00:00+00:00:tp1", True, NoticeKind.EXIT),
        ("copy:3:5sig", True, NoticeKind.COPY),
        ("tg:1:2:b:mint:100", True, NoticeKind.ALWAYS),
        ("manual:1", False, NoticeKind.ALWAYS),
    ],
)
def test_an_outbox_orders_kind_comes_from_its_key(
    key: str, confirmed: bool, kind: NoticeKind
) -> None:
    assert notice_of_key(key, confirmed=confirmed) is kind


@pytest.mark.parametrize(
    ("status", "order_status", "kind"),
    [
        ("FIRED", "CONFIRMED", NoticeKind.FILL),
        ("FIRED", "SENT", NoticeKind.FILL),
        ("FIRED", None, NoticeKind.FILL),
        ("FAILED", "FAILED", NoticeKind.SNIPE_MISS),
        ("FAILED", None, NoticeKind.SNIPE_MISS),
        ("EXPIRED", None, NoticeKind.SNIPE_MISS),
        ("ARMED", None, NoticeKind.SNIPE_MISS),  # a standing snipe skipped a coin
    ],
)
def test_a_settled_snipes_kind(status: str, order_status: str | None, kind: NoticeKind) -> None:
    assert notice_of_snipe(status, order_status) is kind
