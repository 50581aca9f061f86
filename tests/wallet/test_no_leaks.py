"""No secret key bytes in a full database dump or in the captured logs, in any encoding.

One scenario on PostgreSQL drives every wallet path (create, import in both formats, PIN set and
wrong PIN, export, signing, a withdrawal, rotation, a refused tampered row, a refused import).
Then ``pg_dump`` of the whole database and every log line (before redaction, and as the app's
logging pipeline renders it) are searched for each secret, its 32-byte seed, the PIN and the
master secrets: raw bytes, hex, base58, base64 (standard and URL-safe), JSON byte arrays.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import base58
import pytest
import structlog
from solders.hash import Hash
from solders.keypair import Keypair

from sniper_bot.observability.logging import configure_logging
from sniper_bot.storage import Repositories
from sniper_bot.wallet.crypto import Keyring, UnsealError
from sniper_bot.wallet.keys import KeyImportError
from sniper_bot.wallet.pin import WrongPinError
from sniper_bot.wallet.rotation import rotate
from sniper_bot.wallet.withdraw import preview_sol, sign_withdrawal
from support import services
from support.services import find_pg_dump

from .conftest import TestClock, build_service

PIN = "739164"


def encodings(secret: bytes) -> set[bytes]:
    """Every form a secret could take in a dump or a log line."""
    forms = {
        secret,
        secret.hex().encode(),
        secret.hex().upper().encode(),
        base58.b58encode(secret),
        base64.b64encode(secret),
        base64.b64encode(secret).rstrip(b"="),
        base64.urlsafe_b64encode(secret).rstrip(b"="),
        json.dumps(list(secret)).encode(),
        json.dumps(list(secret), separators=(",", ":")).encode(),
    }
    return {f for f in forms if len(f) >= 8}


def leaks(haystack: bytes, secrets_: dict[str, bytes]) -> list[str]:
    found = []
    for name, secret in secrets_.items():
        for form in encodings(secret):
            if form in haystack:
                found.append(f"{name} as {form[:12]!r}...")
    return found


def test_the_detector_finds_every_form() -> None:
    """The search itself can fail: each encoding of a secret is found when present."""
    secret = secrets.token_bytes(64)
    for form in encodings(secret):
        assert leaks(b"prefix " + form + b" suffix", {"s": secret})
    assert leaks(b"nothing here", {"s": secret}) == []


@pytest.fixture
def captured_logs() -> Iterator[tuple[io.StringIO, list[str]]]:
    """The app's real logging pipeline into a buffer, plus a tap on the raw events before it."""
    rendered = io.StringIO()
    raw: list[str] = []
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    configure_logging(level="DEBUG", fmt="json", stream=rendered)

    def tap(_logger: Any, _method: str, event: Any) -> Any:
        raw.append(repr(dict(event)))
        return event

    config = structlog.get_config()
    structlog.configure(processors=[tap, *config["processors"]])
    try:
        yield rendered, raw
    finally:
        structlog.reset_defaults()
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def pg_dump(pg_url: str) -> bytes:
    exe = find_pg_dump()  # not found: a failure under CI=true, else skipped
    url = pg_url.replace("postgresql+asyncpg://", "postgresql://")
    return subprocess.run(
        [exe, "--no-owner", f"--dbname={url}"], check=True, capture_output=True, timeout=60
    ).stdout


def fake_pg_dumps(root: Path, *versions: str) -> None:
    for version in versions:
        exe = root / version / "bin" / "pg_dump"
        exe.parent.mkdir(parents=True)
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)


def test_pg_dump_off_path_is_found_in_the_newest_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    fake_pg_dumps(tmp_path, "9", "15", "13")
    (tmp_path / "16").mkdir()  # a server-only install: no pg_dump
    assert find_pg_dump((str(tmp_path / "nothing"), str(tmp_path))) == str(
        tmp_path / "15" / "bin" / "pg_dump"
    )


@pytest.mark.parametrize(("in_ci", "outcome"), [(True, "Failed"), (False, "Skipped")])
def test_a_missing_pg_dump_fails_under_ci_and_is_skipped_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_ci: bool, outcome: str
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(services, "IN_CI", in_ci)
    with pytest.raises(BaseException) as info:  # noqa: PT011 - pytest's outcome exceptions
        find_pg_dump((str(tmp_path),))
    assert type(info.value).__name__ == outcome
    assert "pg_dump" in str(info.value)


async def test_dump_and_logs_hold_no_secret_in_any_encoding(
    pg_url: str,
    pg_repos: Repositories,
    clock: TestClock,
    captured_logs: tuple[io.StringIO, list[str]],
) -> None:
    repos = pg_repos
    old_secret, new_secret = secrets.token_hex(32), secrets.token_hex(32)
    service = build_service(repos, Keyring.from_settings(old_secret), clock)
    imported_b58, imported_json = Keypair(), Keypair()

    created = await service.create_wallet(7001, username="alice")
    await service.import_wallet(7001, base58.b58encode(bytes(imported_b58)).decode())
    await service.import_wallet(7001, json.dumps(list(bytes(imported_json))))
    other = await service.create_wallet(7002)
    with pytest.raises(KeyImportError):
        await service.import_wallet(7001, base58.b58encode(bytes(Keypair()))[:-4].decode())
    await service.set_pin(7001, PIN)
    with pytest.raises(WrongPinError):
        await service.export_key(7001, created.id, "000001")
    exported = await service.export_key(7001, created.id, PIN)
    signer = await service.unlock_for_withdrawal(7001, created.id, PIN)
    preview = preview_sol(signer.pubkey, str(Keypair().pubkey()), 1_000_000, balance_lamports=10**9)
    sign_withdrawal(signer, preview, Hash.new_unique(), 100)

    rotated = build_service(repos, Keyring.from_settings(new_secret, old_secret), clock)
    report = await rotate(repos.wallets, Keyring.from_settings(new_secret, old_secret))
    assert report.complete
    alice = await repos.users.get_by_telegram_id(7001)
    bob = await repos.users.get_by_telegram_id(7002)
    assert alice is not None
    assert bob is not None
    wallet_secrets: dict[str, bytes] = {}
    for user in (alice, bob):
        for wallet in await repos.wallets.list_for_user(user.id):
            kp = (await rotated.signer(user.id, wallet.id)).keypair
            wallet_secrets[f"wallet {wallet.id}"] = bytes(kp)
            wallet_secrets[f"seed of wallet {wallet.id}"] = bytes(kp)[:32]
    assert len(wallet_secrets) == 8
    for known in (imported_b58, imported_json, Keypair.from_base58_string(exported.base58)):
        assert bytes(known) in wallet_secrets.values()

    # An attacker with write access copies Alice's sealed secret onto Bob's row: refused, logged.
    victim = await repos.wallets.get(bob.id, other.id)
    stolen = await repos.wallets.get(alice.id, created.id)
    assert victim is not None
    assert stolen is not None
    await repos.wallets.rewrap(victim.id, victim.sealed.key_id, stolen.sealed)
    fresh = build_service(repos, Keyring.from_settings(new_secret), clock)
    with pytest.raises(UnsealError):
        await fresh.signer(bob.id, victim.id)

    also_secret = {
        "pin": PIN.encode() + b'"',  # as a JSON string value; bare digits could be a timestamp
        "old master secret": old_secret.encode(),
        "new master secret": new_secret.encode(),
    }

    rendered, raw = captured_logs
    raw_text = "\n".join(raw).encode()
    assert b"wallet_created" in raw_text
    assert b"rotation_finished" in raw_text
    assert b"wallet_unseal_failed" in raw_text
    assert leaks(raw_text, wallet_secrets | also_secret) == []
    assert leaks(rendered.getvalue().encode(), wallet_secrets | also_secret) == []

    dump = pg_dump(pg_url)
    assert b'"Wallet"' in dump
    assert str(created.public_key).encode() in dump
    assert leaks(dump, wallet_secrets | also_secret) == []
