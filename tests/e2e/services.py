"""The shared test services (``tests/support/services.py``), as the e2e suite imports them."""

from support.services import RedisServer, free_port, postgres_database, redis_database

__all__ = ["RedisServer", "free_port", "postgres_database", "redis_database"]
