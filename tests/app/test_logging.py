"""Secrets never reach log output, whatever the caller passed."""

from __future__ import annotations

import base64
import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import base58
import pytest
import structlog
from solders.keypair import Keypair

from sniper_bot.observability.logging import (
    REDACTED,
    configure_logging,
    redactor,
    use_plain_tracebacks,
)

BOT_TOKEN = "7012345678:AAH3kq9Zx_vB2nLr8TtYwQe5UoPa1SdFgHj"
MASTER = "9b1e4c7a2f5d8e0b3a6c9f2e5d8b1a4c7f0e3d6b9a2c5f8e"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Each test configures the real pipeline into a buffer; afterwards the defaults come back,
    so the rest of the session does not render DEBUG JSON into a dead buffer (it made a later
    e2e module a third slower)."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        yield
    finally:
        structlog.reset_defaults()
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def _capture() -> io.StringIO:
    out = io.StringIO()
    configure_logging(level="DEBUG", fmt="json", secrets=[BOT_TOKEN, MASTER], stream=out)
    return out


def test_configured_secrets_and_secret_shapes_are_redacted() -> None:
    kp = Keypair()
    secret = bytes(kp)
    out = _capture()
    log = structlog.get_logger("test")
    log.info("token", value=BOT_TOKEN, url=f"https://api.telegram.org/bot{BOT_TOKEN}/getMe")
    log.info("master", value=MASTER, nested={"deep": [MASTER]})
    log.info("wallet_b58", value=base58.b58encode(secret).decode())
    log.info("wallet_json", value=json.dumps(list(secret)))
    log.info("wallet_hex", value=secret.hex())
    log.info("wallet_raw", value=secret)
    log.info("rpc", url="https://mainnet.helius-rpc.com/?api-key=abcdef123456")
    log.info("db", url="postgresql://bot:hunter2pass@db:5432/sniper_bot")
    try:
        raise RuntimeError(f"failed with {BOT_TOKEN}")
    except RuntimeError:
        log.exception("boom")
    logging.getLogger("aiogram").warning("stdlib %s %s", BOT_TOKEN, MASTER)
    text = out.getvalue()
    for needle in (
        BOT_TOKEN,
        MASTER,
        base58.b58encode(secret).decode(),
        json.dumps(list(secret)),
        secret.hex(),
        base64.b64encode(secret).decode(),
        "abcdef123456",
        "hunter2pass",
    ):
        assert needle not in text, needle
    assert text.count(REDACTED) >= 8
    assert str(kp.pubkey()) not in text  # nothing logged it; sanity for the next test


def test_registered_wallet_secret_is_redacted_in_any_encoding() -> None:
    secret = bytes(Keypair())
    out = _capture()
    redactor().add(secret)
    log = structlog.get_logger("test")
    log.info("leak", b64=base64.b64encode(secret).decode(), arr=str(list(secret)))
    text = out.getvalue()
    assert base64.b64encode(secret).decode() not in text
    assert str(list(secret)) not in text


def test_public_keys_and_signatures_stay_readable() -> None:
    kp = Keypair()
    out = _capture()
    sig = kp.sign_message(b"x")
    structlog.get_logger("test").info("sent", wallet=str(kp.pubkey()), signature=str(sig))
    text = out.getvalue()
    assert str(kp.pubkey()) in text
    assert str(sig) in text


# A process that imports the bot but never configures logging (as the app's recovery, outbox and
# sweep loops do under a test harness) logs an exc_info warning: rich must not render it.
_UNCONFIGURED = """
import rich.traceback
import structlog

used = []
def _rich(*args, **kwargs):
    used.append(args)
    raise AssertionError("rich rendered a traceback")
rich.traceback.Traceback.from_exception = _rich  # every rich traceback starts here

import sniper_bot.app  # imports the logging setup, configures nothing

assert not structlog.is_configured()
def sweep(api_key):
    raise RuntimeError("sweep broke")
try:
    sweep("-".join(["local", "secret", "123"]))  # the joined value is only in the frame's locals
except RuntimeError:
    structlog.get_logger("t").warning("withdrawal_sweep_failed", exc_info=True)
assert not used, used
"""


def test_an_unconfigured_process_renders_exc_info_as_a_plain_traceback(tmp_path: Path) -> None:
    script = tmp_path / "unconfigured.py"
    script.write_text(_UNCONFIGURED)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "withdrawal_sweep_failed" in out
    assert "Traceback (most recent call last):" in out
    assert 'raise RuntimeError("sweep broke")' in out
    assert out.rstrip().endswith("RuntimeError: sweep broke")
    assert "local-secret-123" not in out  # rich prints every frame's locals; plain does not
    assert not set("╭╰│─") & set(out)  # rich's panel


def test_plain_tracebacks_survive_a_reset_and_leave_a_configured_chain_alone() -> None:
    structlog.reset_defaults()
    (renderer,) = [
        p for p in structlog.get_config()["processors"]
        if isinstance(p, structlog.dev.ConsoleRenderer)
    ]  # fmt: skip
    assert renderer.exception_formatter is structlog.dev.plain_traceback
    mine = structlog.dev.ConsoleRenderer(colors=False)
    rich_formatter = mine.exception_formatter
    structlog.configure(processors=[mine])
    use_plain_tracebacks()
    assert mine.exception_formatter is rich_formatter
