"""Images the bot sends with ``sendPhoto``: a PnL card per closed position, the ``/pnl`` chart, and
the deposit QR code of ``/wallet``. PNG bytes, drawn with Pillow's bundled font (no system fonts),
so the same view gives the same pixels on every machine.

Layout facts the tests read back: a card is ``CARD_SIZE``; its top band (``BAND_HEIGHT`` rows)
is ``PROFIT`` when the realised PnL is >= 0 and ``LOSS`` otherwise; a paper card carries a
``PAPER`` badge (``PAPER_COLOR``) at ``PAPER_BADGE``. The chart is ``CHART_SIZE``, one bar per day
(at most ``MAX_DAYS``, the latest), rising from the zero line in ``PROFIT`` or falling in ``LOSS``.
"""

from __future__ import annotations

import io
from functools import cache
from html import escape
from typing import TYPE_CHECKING

from sniper_bot.control.views import PnlCardView, PnlView
from sniper_bot.domain.money import format_sol
from sniper_bot.resilience.lru import LruCache

if TYPE_CHECKING:  # Pillow and segno load on the first image, not at start (RSS, issue 20)
    from PIL import Image, ImageFont

__all__ = [
    "BACKGROUND",
    "BAND_HEIGHT",
    "CARD_SIZE",
    "CHART_SIZE",
    "LOSS",
    "MAX_DAYS",
    "PAPER_BADGE",
    "PAPER_COLOR",
    "PROFIT",
    "QR_CACHE_ITEMS",
    "card_caption",
    "deposit_qr_png",
    "pnl_caption",
    "pnl_card_png",
    "pnl_chart_png",
    "signed_sol",
]

CARD_SIZE = (800, 420)
CHART_SIZE = (800, 480)
BAND_HEIGHT = 12
MAX_DAYS = 14
BACKGROUND = (16, 20, 26)
PROFIT = (22, 199, 132)
LOSS = (234, 57, 67)
PAPER_COLOR = (240, 185, 11)
PAPER_BADGE = (640, 36, 770, 76)  # x0, y0, x1, y1
_TEXT = (236, 239, 244)
_MUTED = (140, 149, 163)
_AXIS = (70, 78, 90)


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def signed_sol(lamports: int) -> str:
    """+1.5 SOL / -0.25 SOL (exact)."""
    return ("+" if lamports >= 0 else "-") + format_sol(abs(lamports))


def _pct(bps: int | None) -> str:
    if bps is None:
        return "n/a"
    sign = "+" if bps >= 0 else "-"
    return f"{sign}{abs(bps) // 100}.{abs(bps) % 100:02d} %"


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def _name(symbol: str | None, mint: str) -> str:
    return symbol if symbol else f"{mint[:4]}…{mint[-4:]}"


def pnl_card_png(card: PnlCardView) -> bytes:
    """The card of one closed position."""
    color = PROFIT if card.realized_pnl_lamports >= 0 else LOSS
    from PIL import Image, ImageDraw

    image = Image.new("RGB", CARD_SIZE, BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, CARD_SIZE[0] - 1, BAND_HEIGHT - 1), fill=color)
    draw.text((32, 36), _name(card.symbol, card.token_mint)[:24], font=_font(40), fill=_TEXT)
    if card.paper:
        draw.rectangle(PAPER_BADGE, fill=PAPER_COLOR)
        draw.text(
            (PAPER_BADGE[0] + 16, PAPER_BADGE[1] + 8), "PAPER", font=_font(24), fill=(0, 0, 0)
        )
    draw.text((32, 110), signed_sol(card.realized_pnl_lamports), font=_font(64), fill=color)
    draw.text((32, 190), _pct(card.pnl_bps), font=_font(40), fill=color)
    rows = (
        ("Cost", format_sol(card.cost_lamports)),
        ("Proceeds", format_sol(card.proceeds_lamports)),
        ("Opened", card.opened_at),
        ("Closed", card.closed_at),
        ("Trades", str(card.trades)),
    )
    for i, (label, value) in enumerate(rows):
        y = 260 + (i % 3) * 44
        x = 32 if i < 3 else 430
        draw.text((x, y), label, font=_font(22), fill=_MUTED)
        draw.text((x + 130, y), value, font=_font(22), fill=_TEXT)
    draw.text((32, CARD_SIZE[1] - 30), card.token_mint, font=_font(16), fill=_MUTED)
    return _png(image)


def card_caption(card: PnlCardView) -> str:
    paper = "📝 PAPER · " if card.paper else ""
    return (
        f"{paper}<b>{escape(_name(card.symbol, card.token_mint))}</b> closed: "
        f"{signed_sol(card.realized_pnl_lamports)} ({_pct(card.pnl_bps)})\n"
        f"Cost {format_sol(card.cost_lamports)}, proceeds {format_sol(card.proceeds_lamports)}, "
        f"{card.trades} trades, {card.opened_at} → {card.closed_at}"
    )


def pnl_chart_png(view: PnlView) -> bytes:
    """Realised PnL per day (the latest ``MAX_DAYS``), bars from a zero line; totals on top."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", CHART_SIZE, BACKGROUND)
    draw = ImageDraw.Draw(image)
    title = "PnL (realised per day)" + ("  ·  PAPER" if view.paper else "")
    draw.text((24, 16), title, font=_font(28), fill=PAPER_COLOR if view.paper else _TEXT)
    draw.text(
        (24, 56),
        f"Realised {signed_sol(view.realized_pnl_lamports)}   "
        f"Unrealised {signed_sol(view.unrealized_pnl_lamports)}",
        font=_font(22),
        fill=_TEXT,
    )
    days = view.days[-MAX_DAYS:]
    top, bottom, left, right = 110, CHART_SIZE[1] - 50, 40, CHART_SIZE[0] - 24
    peak = max([abs(d.realized_pnl_lamports) for d in days] + [1])
    zero = (top + bottom) // 2
    draw.line((left, zero, right, zero), fill=_AXIS, width=2)
    if days:
        slot = (right - left) // len(days)
        for i, d in enumerate(days):
            x0 = left + i * slot + slot // 6
            x1 = left + (i + 1) * slot - slot // 6
            height = abs(d.realized_pnl_lamports) * (zero - top) // peak
            if height == 0:
                pass  # nothing realised that day: no bar
            elif d.realized_pnl_lamports > 0:
                draw.rectangle((x0, zero - height, x1, zero - 1), fill=PROFIT)
            else:
                draw.rectangle((x0, zero + 1, x1, zero + height), fill=LOSS)
            draw.text((x0, bottom + 12), d.day[5:], font=_font(16), fill=_MUTED)
    return _png(image)


def pnl_caption(view: PnlView, *, max_tokens: int = 10) -> str:
    head = "📝 PAPER · " if view.paper else ""
    lines = [
        f"{head}<b>PnL</b>: realised {signed_sol(view.realized_pnl_lamports)}, "
        f"unrealised {signed_sol(view.unrealized_pnl_lamports)}"
    ]
    for d in view.days[-5:]:
        lines.append(f"{d.day}: {signed_sol(d.realized_pnl_lamports)} ({d.trades} trades)")
    for t in view.tokens[:max_tokens]:
        open_part = (
            f", open {signed_sol(t.unrealized_pnl_lamports)}"
            if t.unrealized_pnl_lamports is not None
            else ""
        )
        name = escape(_name(t.symbol, t.token_mint))
        lines.append(f"• {name}: {signed_sol(t.realized_pnl_lamports)}{open_part}")
    text = lines[0]
    for line in lines[1:]:  # a caption is at most 1024 characters: whole lines only
        if len(text) + 1 + len(line) > 1000:
            break
        text += "\n" + line
    return text


# Deposit QRs kept per (address, scale): a wallet's PNG never changes, so /wallet renders it once
# (about 0.5 KB each; the bound keeps them under 1 MB whatever the number of wallets).
QR_CACHE_ITEMS = 1_024
_qr_cache: LruCache[tuple[str, int], bytes] = LruCache(QR_CACHE_ITEMS)


def deposit_qr_png(address: str, *, scale: int = 8) -> bytes:
    """The wallet's address as a QR code (error correction M, 4-module quiet zone), rendered
    once per address and scale and then served from a bounded LRU (the same bytes)."""
    if not isinstance(address, str) or not address:
        raise ValueError(f"the deposit QR needs a wallet address, got {address!r}")
    if not isinstance(scale, int) or isinstance(scale, bool) or scale < 1:
        raise ValueError(f"the deposit QR scale must be a positive integer, got {scale!r}")
    key = (address, scale)
    png = _qr_cache.get(key)
    if png is None:
        import segno

        qr = segno.make_qr(address, error="m", boost_error=False)
        out = io.BytesIO()
        qr.save(out, kind="png", scale=scale, border=4)
        png = out.getvalue()
        _qr_cache.set(key, png)
    return png
