"""A fake Telegram Bot API: scripted users, long polling, every bot message recorded."""

from localnet.telegram.fake import FakeTelegram
from localnet.telegram.server import create_telegram_app

__all__ = ["FakeTelegram", "create_telegram_app"]
