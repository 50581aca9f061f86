"""PnL cards, the /pnl chart and the deposit QR: PNG bytes read back (size, pixels, decoded QR)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
import zxingcpp
from PIL import Image
from solders.keypair import Keypair

from sniper_bot.control.pnl import summarize_pnl
from sniper_bot.control.views import PnlCardView, PositionView
from sniper_bot.domain.entities import Trade
from sniper_bot.domain.orders import OrderSide
from sniper_bot.telegram import cards

SOL = 1_000_000_000
MINT_A = str(Keypair().pubkey())
MINT_B = str(Keypair().pubkey())


def trade(n: int, mint: str, side: OrderSide, inp: int, out: int, day: int, fee: int = 0) -> Trade:
    return Trade(
        id=n, order_id=f"o{n}", user_id=1, wallet_id=1, token_mint=mint, side=side,
        in_amount=inp, out_amount=out, fee_lamports=fee, signature="", slot=None,
        created_at=datetime(2026, 12, day, 12, tzinfo=UTC),
    )  # fmt: skip


def image(png: bytes) -> Image.Image:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return Image.open(io.BytesIO(png)).convert("RGB")


def card(pnl: int, *, paper: bool = False) -> PnlCardView:
    return PnlCardView(
        token_mint=MINT_A, symbol="MOON", cost_lamports=SOL, proceeds_lamports=SOL + pnl,
        realized_pnl_lamports=pnl, opened_at="2026-12-01", closed_at="2026-12-02", trades=2,
        paper=paper,
    )  # fmt: skip


def test_a_winning_card_is_a_png_of_the_card_size_with_the_profit_band_and_its_numbers() -> None:
    view = card(SOL // 2)
    png = image(cards.pnl_card_png(view))

    assert png.size == cards.CARD_SIZE
    assert png.getpixel((cards.CARD_SIZE[0] // 2, cards.BAND_HEIGHT // 2)) == cards.PROFIT
    # the big PnL figure is drawn in the band's colour below it
    figure = png.crop((32, 110, 400, 180))
    assert cards.PROFIT in {c for _, c in figure.getcolors(100_000) or []}
    assert png.getpixel((cards.PAPER_BADGE[0] + 2, cards.PAPER_BADGE[1] + 2)) == cards.BACKGROUND
    caption = cards.card_caption(view)
    assert "+0.5 SOL (+50.00 %)" in caption
    assert "Cost 1 SOL, proceeds 1.5 SOL" in caption
    assert "PAPER" not in caption


def test_a_losing_paper_card_has_the_loss_band_and_the_paper_badge() -> None:
    view = card(-SOL // 4, paper=True)
    png = image(cards.pnl_card_png(view))

    assert png.getpixel((5, 5)) == cards.LOSS
    assert png.getpixel((cards.PAPER_BADGE[0] + 2, cards.PAPER_BADGE[1] + 2)) == cards.PAPER_COLOR
    assert cards.card_caption(view).startswith("📝 PAPER · ")
    assert "-0.25 SOL (-25.00 %)" in cards.card_caption(view)


def test_the_same_card_gives_the_same_bytes() -> None:
    assert cards.pnl_card_png(card(123)) == cards.pnl_card_png(card(123))
    assert cards.pnl_card_png(card(123)) != cards.pnl_card_png(card(124))


def test_pnl_summary_per_day_and_token_realised_and_unrealised_and_its_chart() -> None:
    trades = [
        trade(1, MINT_A, OrderSide.BUY, SOL, 1_000, day=1, fee=5_000),
        trade(2, MINT_A, OrderSide.SELL, 500, 700_000_000, day=2, fee=5_000),  # half, +0.2 SOL
        trade(3, MINT_A, OrderSide.SELL, 500, 400_000_000, day=3, fee=5_000),  # rest, -0.1 SOL
        trade(4, MINT_B, OrderSide.BUY, SOL // 2, 10, day=3),
    ]
    opened = [PositionView(MINT_B, "BEE", 10, 0, SOL // 2, SOL // 2 + 7, 0, 7)]
    view = summarize_pnl(trades, opened, {MINT_A: "MOON", MINT_B: "BEE"})

    cost_half = (SOL + 5_000) // 2
    day2 = 700_000_000 - 5_000 - cost_half
    day3 = 400_000_000 - 5_000 - (SOL + 5_000 - cost_half)
    assert [(d.day, d.realized_pnl_lamports, d.trades) for d in view.days] == [
        ("2026-12-01", 0, 1), ("2026-12-02", day2, 1), ("2026-12-03", day3, 2),
    ]  # fmt: skip
    assert view.realized_pnl_lamports == day2 + day3 == 1_100_000_000 - 15_000 - SOL
    assert view.unrealized_pnl_lamports == 7
    (closed,) = view.closed
    assert (closed.symbol, closed.cost_lamports, closed.trades) == ("MOON", SOL + 5_000, 3)
    assert closed.realized_pnl_lamports == view.realized_pnl_lamports
    assert [(t.symbol, t.open, t.unrealized_pnl_lamports) for t in view.tokens] == [
        ("MOON", False, None), ("BEE", True, 7),
    ]  # fmt: skip

    caption = cards.pnl_caption(view)
    assert f"realised {cards.signed_sol(view.realized_pnl_lamports)}" in caption
    assert f"2026-12-02: {cards.signed_sol(day2)} (1 trades)" in caption
    assert "• BEE: +0 SOL, open +0.000000007 SOL" in caption
    chart = image(cards.pnl_chart_png(view))
    assert chart.size == cards.CHART_SIZE
    colors = {c for _, c in chart.getcolors(1_000_000) or []}
    assert cards.PROFIT in colors
    assert cards.LOSS in colors


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_deposit_qr_decodes_to_the_wallet_address(seed: int) -> None:
    address = str(Keypair.from_seed(bytes([seed]) * 32).pubkey())
    png = image(cards.deposit_qr_png(address))

    (found,) = zxingcpp.read_barcodes(png)
    assert found.format == zxingcpp.BarcodeFormat.QRCode
    assert found.text == address
