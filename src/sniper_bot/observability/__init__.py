"""Metrics, health, structured logging."""
