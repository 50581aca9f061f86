"""Structured logging (structlog) whose last processor redacts secrets.

Redaction is the logging setup's job, not each caller's: every string in every event is scanned
for (1) registered secret values (bot token, master secrets, API keys, and wallet secrets that the
wallet layer registers while a signer is unlocked) and (2) shapes that are secrets whatever their
value: a Telegram bot token, a base58 64-byte Solana secret key, a JSON array of 64 byte values,
``api-key=`` / ``token=`` query parameters, and passwords in URLs.

A process that never calls ``configure_logging`` (tests, tools, a library use) logs through
structlog's builtin chain, whose ``ConsoleRenderer`` formats ``exc_info`` with rich: a full-screen
traceback with every frame's locals, slow enough to block an event loop and a way for a local
secret into the output. Importing this module switches that chain to the standard library's plain
traceback (``use_plain_tracebacks``); configured processes render exceptions with
``format_exc_info`` before the redactor, as before.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import sys
import threading
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import base58
import structlog
from solders.keypair import Keypair

__all__ = ["REDACTED", "Redactor", "configure_logging", "redactor", "use_plain_tracebacks"]

REDACTED = "[REDACTED]"

# Candidates for a 64-byte Solana keypair: redacted only when the bytes really are a keypair (the
# second half is the public key of the first), so signatures (also 64 bytes) stay readable.
_KEYPAIR_SHAPES = [
    (re.compile(r"\b[1-9A-HJ-NP-Za-km-z]{86,90}\b"), "base58"),
    (re.compile(r"\[\s*(?:\d{1,3}\s*,\s*){63}\d{1,3}\s*\]"), "json"),
    (re.compile(r"\b[0-9a-fA-F]{128}\b"), "hex"),
]

_PATTERNS = [
    # Telegram bot token: digits ':' 35 url-safe chars
    re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}"),
    # api keys / tokens in query strings
    re.compile(r"(?i)((?:api[-_]?key|token|secret|password|access[-_]?token)=)[^&\s\"']+"),
    # user:password@ in URLs
    re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^:/\s@]*:)[^@\s/]+(@)"),
]


class Redactor:
    """Holds secret values to scrub; thread-safe; values shorter than 8 chars are ignored."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, *values: str | bytes) -> None:
        import base64

        with self._lock:
            for value in values:
                if isinstance(value, bytes):
                    forms = {
                        value.hex(),
                        base64.b64encode(value).decode(),
                        base58.b58encode(value).decode(),
                        str(list(value)),
                    }
                else:
                    forms = {value}
                self._secrets.update(f for f in forms if len(f) >= 8)
            self._rebuild()

    def discard(self, *values: str) -> None:
        with self._lock:
            self._secrets.difference_update(values)
            self._rebuild()

    def _rebuild(self) -> None:
        if self._secrets:
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))
        else:
            self._pattern = None

    def scrub(self, text: str) -> str:
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(REDACTED, text)
        for shape, encoding in _KEYPAIR_SHAPES:
            text = shape.sub(functools.partial(_redact_keypair, encoding=encoding), text)
        for shape in _PATTERNS:
            if shape.groups == 2:
                text = shape.sub(rf"\1{REDACTED}\2", text)
            elif shape.groups == 1:
                text = shape.sub(rf"\1{REDACTED}", text)
            else:
                text = shape.sub(REDACTED, text)
        return text

    def scrub_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, bytes | bytearray):
            return f"<{len(value)} bytes>"
        if isinstance(value, dict):
            return {k: self.scrub_value(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.scrub_value(v) for v in value]
        if isinstance(value, int | float | bool) or value is None:
            return value
        if isinstance(value, BaseException):
            return self.scrub(f"{type(value).__name__}: {value}")
        return self.scrub(str(value))

    def __call__(
        self, _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key in list(event_dict):
            event_dict[key] = self.scrub_value(event_dict[key])
        return event_dict


def _redact_keypair(match: re.Match[str], encoding: str) -> str:
    candidate = match.group(0)
    try:
        if encoding == "base58":
            raw = base58.b58decode(candidate)
        elif encoding == "hex":
            raw = bytes.fromhex(candidate)
        else:
            raw = bytes(json.loads(candidate))
    except ValueError:
        return candidate
    if len(raw) == 64 and bytes(Keypair.from_seed(raw[:32]).pubkey()) == raw[32:]:
        return REDACTED
    return candidate


_redactor = Redactor()


def redactor() -> Redactor:
    """The process-wide redactor the logging pipeline uses."""
    return _redactor


def use_plain_tracebacks() -> None:
    """Make structlog's builtin (unconfigured) chain render exceptions as plain tracebacks.

    The builtin ``ConsoleRenderer`` is one instance that ``structlog.reset_defaults`` puts back,
    so this holds after a reset too. A process that configured structlog is left as it is.
    """
    if structlog.is_configured():
        return
    for processor in structlog.get_config()["processors"]:
        if isinstance(processor, structlog.dev.ConsoleRenderer):
            processor.exception_formatter = structlog.dev.plain_traceback


use_plain_tracebacks()


def configure_logging(
    *,
    level: str = "INFO",
    fmt: str = "json",
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> None:
    """Configure structlog and the stdlib root logger (for aiogram/aiohttp/sqlalchemy records)."""
    _redactor.add(*secrets)
    out = stream if stream is not None else sys.stderr
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        _redactor,
    ]
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level)),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
            foreign_pre_chain=[
                structlog.stdlib.add_logger_name,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.format_exc_info,
                _redactor,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level))
    for noisy in ("aiohttp.access", "asyncio", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
