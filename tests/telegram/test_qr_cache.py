"""/wallet's deposit QR is rendered once per address (and scale), then served from a bounded LRU."""

from __future__ import annotations

from typing import Any

import pytest
import segno
from solders.keypair import Keypair

from sniper_bot.resilience.lru import LruCache
from sniper_bot.telegram import cards


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A fresh cache and the addresses segno was asked to encode (it still encodes them)."""
    monkeypatch.setattr(cards, "_qr_cache", LruCache(cards.QR_CACHE_ITEMS))
    seen: list[str] = []
    real = segno.make_qr

    def counting(content: str, **kwargs: Any) -> segno.QRCode:
        seen.append(content)
        return real(content, **kwargs)

    monkeypatch.setattr(segno, "make_qr", counting)  # cards imports segno lazily
    return seen


def _address() -> str:
    return str(Keypair().pubkey())


def test_the_second_render_is_served_from_the_cache(renders: list[str]) -> None:
    address = _address()
    first = cards.deposit_qr_png(address)
    second = cards.deposit_qr_png(address)
    assert renders == [address]
    assert second == first
    assert second is first
    assert first[:8] == b"\x89PNG\r\n\x1a\n"


def test_each_address_and_scale_is_its_own_png(renders: list[str]) -> None:
    a, b = _address(), _address()
    pa, pb, pa4 = cards.deposit_qr_png(a), cards.deposit_qr_png(b), cards.deposit_qr_png(a, scale=4)
    assert renders == [a, b, a]
    assert len({pa, pb, pa4}) == 3
    assert cards.deposit_qr_png(b) is pb
    assert cards.deposit_qr_png(a, scale=4) is pa4


def test_the_cache_is_bounded_least_recently_used_out(
    renders: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cards._qr_cache.max_items == cards.QR_CACHE_ITEMS
    monkeypatch.setattr(cards, "_qr_cache", LruCache(2))
    a, b, c = _address(), _address(), _address()
    cards.deposit_qr_png(a)
    cards.deposit_qr_png(b)
    cards.deposit_qr_png(a)  # a is now the most recent: b goes first
    cards.deposit_qr_png(c)
    assert len(cards._qr_cache) == 2
    cards.deposit_qr_png(a)
    cards.deposit_qr_png(b)  # evicted: rendered again
    assert renders == [a, b, c, b]


@pytest.mark.parametrize(
    ("address", "scale", "message"),
    [
        ("", 8, "needs a wallet address"),
        (None, 8, "needs a wallet address"),
        ("addr", 0, "scale must be a positive integer"),
        ("addr", True, "scale must be a positive integer"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_cached(
    renders: list[str], address: Any, scale: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        cards.deposit_qr_png(address, scale=scale)
    assert renders == []
    assert len(cards._qr_cache) == 0
