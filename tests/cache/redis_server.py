"""A private redis-server that a test may kill and restart (``tests/support/services.py``)."""

from support.services import RedisServer, free_port

__all__ = ["RedisServer", "free_port"]
