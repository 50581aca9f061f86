"""Contract: honeypot verdicts and the durable session store."""

from __future__ import annotations

from datetime import timedelta

from sniper_bot.storage import Repositories

from .conftest import StepClock, make_user


async def test_latest_check_wins_and_absent_mint_is_none(
    repos: Repositories, clock: StepClock
) -> None:
    assert await repos.honeypot_checks.latest("MintX") is None
    old = await repos.honeypot_checks.save("MintX", 20, False, {"findings": []})
    clock.advance(60)
    new = await repos.honeypot_checks.save("MintX", 90, True, {"findings": [{"id": "freeze"}]})
    await repos.honeypot_checks.save("MintY", 5, False, {})
    latest = await repos.honeypot_checks.latest("MintX")
    assert latest == new
    assert latest is not None
    assert latest.details == {"findings": [{"id": "freeze"}]}
    assert await repos.honeypot_checks.latest("MintX", newer_than=new.checked_at) is None
    assert await repos.honeypot_checks.latest("MintX", newer_than=old.checked_at) == new


async def test_session_round_trip_expiry_and_purge(repos: Repositories, clock: StepClock) -> None:
    user = await make_user(repos)
    saved = await repos.sessions.set("unlock:1", user.id, {"unlocked": True}, ttl_s=60)
    assert await repos.sessions.get("unlock:1") == saved
    await repos.sessions.set("unlock:1", user.id, {"unlocked": False}, ttl_s=120)
    got = await repos.sessions.get("unlock:1")
    assert got is not None
    assert got.data == {"unlocked": False}
    await repos.sessions.set("anon", None, {"step": 2}, ttl_s=10)
    clock.advance(30)
    assert await repos.sessions.get("anon") is None  # expired reads as absent
    assert await repos.sessions.purge_expired(clock.current) == 1
    assert await repos.sessions.purge_expired(clock.current + timedelta(hours=1)) == 1
    assert await repos.sessions.get("unlock:1") is None
    await repos.sessions.set("x", None, {}, ttl_s=10)
    assert await repos.sessions.delete("x") is True
    assert await repos.sessions.delete("x") is False
