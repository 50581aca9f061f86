"""Telegram frontend (aiogram 3): routers per feature, middlewares, keyboards, rendering.

It calls ``sniper_bot.control.Control`` and renders its views; it never touches storage, chain or
trading directly.
"""
