"""Start-up RSS (issue 20): the bot's routers load without Pillow or segno; they load on the
first image (PnL card, chart, deposit QR). Checked in a fresh interpreter, where nothing else
imported them."""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
import sys
import sniper_bot.telegram.routers.pnl, sniper_bot.telegram.routers.wallet
print(sorted(m for m in ("PIL", "segno") if m in sys.modules))
from sniper_bot.telegram.cards import deposit_qr_png
png = deposit_qr_png("So11111111111111111111111111111111111111112")
assert png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
print(sorted(m for m in ("PIL", "segno") if m in sys.modules))
"""


def test_routers_load_without_pillow_or_segno_until_an_image_is_drawn() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=120
    ).stdout.splitlines()
    assert out[0] == "[]"
    assert out[1] == "['segno']"
