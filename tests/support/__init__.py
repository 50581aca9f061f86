"""Shared test infrastructure: real PostgreSQL databases, Redis dbs and Redis servers."""
