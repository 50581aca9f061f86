"""Alembic migration scripts (run through ``sniper_bot.storage.Database.upgrade``)."""
