"""``sniper-bot chaos SCENARIO``: the runbook's failure scenarios, on demand, against a running bot.

Each scenario injects its fault, holds it for ``duration_s``, clears it, then (unless told not to)
waits until the bot recovered: ``/health`` says ``ok`` and every ``circuit_breaker_state`` is 0
(CLOSED). RPC faults go through localnet's control API (``PUT /endpoints/{name}/faults``) over
HTTP, as any operator tool would; Redis and PostgreSQL faults go to the servers themselves.

    rpc-failures        every RPC endpoint answers 503 or 429 (Retry-After: 1)
    tx-failures         every endpoint refuses sendTransaction (503): swaps fail, reads work
    breaker-stuck-open  every RPC breaker forced OPEN (the runbook's override key), re-forced
                        while held; clear it with the runbook's manual reset
    redis-failure       Redis stops answering (CLIENT PAUSE ALL, expiring by itself) and the
                        bot's connections are dropped (CLIENT KILL TYPE normal)
    database-loss       the bot's database refuses connections (ALLOW_CONNECTIONS false) and
                        every session of it is terminated (pg_terminate_backend), re-terminated
                        while held

    memory-pressure     the bot's own memory grows past HighMemoryUsage's threshold (usage /
                        limit > 0.9, ``--memory-limit`` standing for the container's limit): an
                        admin's ``/memory hog MIB`` through localnet's fake Telegram (the bot
                        must run with CHAOS_ENABLED=true and the admin in ADMIN_TELEGRAM_IDS);
                        the runbook's diagnosis (/memory trace on, /memory, /memory trace off)
                        names the growing allocation site; cleared by ``/memory hog off``, or,
                        with ``keep``, left for the runbook's Level 1 restart

The memory a leak would take is held by ``MemoryBallast`` inside the bot (a memory hog next to it
would test the host, not the bot): ``process_resident_memory_bytes`` on the bot's /metrics is the
usage, the recovery wait also needs it back under the threshold.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from sniper_bot.cache import keys
from sniper_bot.cache.redis import RedisManager
from sniper_bot.errors import SniperBotError
from sniper_bot.observability.metrics import Metrics
from sniper_bot.storage.urls import parse_database_url

__all__ = [
    "SCENARIOS",
    "ChaosError",
    "ChaosResult",
    "ChaosTarget",
    "MemoryBallast",
    "recovered",
    "run_scenario",
]

SCENARIOS = {
    "memory-pressure": "an admin's /memory hog past 90% of --memory-limit, diagnosed and cleared",
    "rpc-failures": "every RPC endpoint answers 503 or 429 (localnet fault profiles)",
    "tx-failures": "every RPC endpoint refuses sendTransaction (localnet fault profiles)",
    "breaker-stuck-open": "every RPC circuit breaker forced OPEN through Redis",
    "redis-failure": "Redis stops answering (CLIENT PAUSE ALL) and drops the bot's connections",
    "database-loss": "the bot's PostgreSQL database refuses and terminates its connections",
}
NOT_SCENARIOS: dict[str, str] = {}
RPC_DOWN = {"http_503_rate": 0.5, "http_429_rate": 0.5, "retry_after_s": 1}
SENDS_REFUSED = {"http_503_rate": 1.0, "methods": ["sendTransaction"]}
REASSERT_S = 0.25
HTTP_TIMEOUT_S = 5.0
_BREAKER_LINE = re.compile(r'^circuit_breaker_state\{name="([^"]+)"\} (\S+)$', re.M)
_RSS_LINE = re.compile(r"^process_resident_memory_bytes (\S+)$", re.M)
MIB = 1 << 20
MEMORY_ALERT_RATIO = 0.9  # HighMemoryUsage: usage / limit > 0.9 (deploy/prometheus-alerts.yml)
DEFAULT_MEMORY_LIMIT_MIB = 2048  # MemoryMax=2G (deploy/sniper-bot.service), limits 2Gi (k8s)
BALLAST_CHUNK_MIB = 64  # above glibc's largest dynamic mmap threshold: each chunk freed at once
MAX_BALLAST_MIB = 65_536
REPLY_TIMEOUT_S = 30.0

Say = Callable[[str], None]


class ChaosError(SniperBotError):
    """A scenario that cannot run here (missing target, wrong backend...); the message says why."""


@dataclass(frozen=True, slots=True)
class ChaosTarget:
    ops_url: str  # the bot's ops port: http://host:port (for /health and /metrics)
    localnet_url: str | None = None  # localnet's control API
    redis_url: str | None = None
    database_url: str | None = None
    admin_id: int | None = None  # memory-pressure: the admin who sends /memory hog
    memory_limit_mib: int = DEFAULT_MEMORY_LIMIT_MIB  # memory-pressure: the container's limit
    keep: bool = False  # memory-pressure: leave the ballast for the runbook's restart


class MemoryBallast:
    """Memory the bot holds on purpose for the memory-pressure drill (CHAOS_ENABLED only):
    ``hold`` adds written (resident) chunks, ``release`` drops them. Chunks are bigger than
    glibc's mmap threshold, so a release returns them to the system at once."""

    def __init__(self, max_mib: int = MAX_BALLAST_MIB) -> None:
        self.max_mib = max_mib
        self._chunks: list[bytearray] = []

    @property
    def held_mib(self) -> int:
        return sum(len(c) for c in self._chunks) // MIB

    def hold(self, mib: int) -> int:
        """Hold ``mib`` MiB more; ``ValueError`` (a sentence) past ``max_mib`` or past half of
        what the system has available. Returns the MiB held."""
        if not 0 < mib <= self.max_mib - self.held_mib:
            raise ValueError(
                f"The ballast holds at most {self.max_mib} MiB ({self.held_mib} MiB held now)."
            )
        available = _available_mib()
        if available is not None and mib > available // 2:
            raise ValueError(
                f"{mib} MiB is more than half of the {available} MiB this machine has available: "
                "not held (the drill must not take the host down)."
            )
        left = mib
        while left > 0:
            size = min(left, BALLAST_CHUNK_MIB)
            self._chunks.append(bytearray(b"\x01") * (size * MIB))  # written: resident pages
            left -= size
        return self.held_mib

    def release(self) -> int:
        """Drop everything held; returns the MiB released."""
        held = self.held_mib
        self._chunks.clear()
        return held


def _available_mib() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


@dataclass(frozen=True, slots=True)
class ChaosResult:
    scenario: str
    held_s: float
    recovered: bool | None  # None: not waited for
    recovery_s: float | None
    still_wrong: str = ""  # what was not yet recovered when the wait ended


async def _json(http: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> Any:
    try:
        async with http.request(method, url, json=body) as resp:
            data = await resp.json(content_type=None)
            if resp.status >= 400:
                raise ChaosError(f"{method} {url} answered {resp.status}: {data}")
            return data
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ChaosError(f"{method} {url} failed: {type(exc).__name__}: {exc}") from None


async def _state(
    http: aiohttp.ClientSession, ops_url: str
) -> tuple[str, dict[str, float], int | None]:
    """(``/health`` status, {breaker: state value}, resident bytes) of the bot;
    ("unreachable", {}, None) if away."""
    try:
        async with http.get(f"{ops_url}/health") as resp:
            health = (await resp.json(content_type=None)).get("status", "?")
        async with http.get(f"{ops_url}/metrics") as resp:
            text = await resp.text()
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return "unreachable", {}, None
    breakers = {m.group(1): float(m.group(2)) for m in _BREAKER_LINE.finditer(text)}
    rss = _RSS_LINE.search(text)
    return str(health), breakers, None if rss is None else int(float(rss.group(1)))


async def bot_state(http: aiohttp.ClientSession, ops_url: str) -> tuple[str, dict[str, float]]:
    """(``/health`` status, {breaker: state value}) of the bot; ("unreachable", {}) if away."""
    health, breakers, _ = await _state(http, ops_url)
    return health, breakers


def _describe(health: str, breakers: dict[str, float], rss: int | None = None) -> str:
    names = {0.0: "CLOSED", 0.5: "HALF_OPEN", 1.0: "OPEN"}
    wrong = {n: names.get(v, str(v)) for n, v in sorted(breakers.items()) if v != 0.0}
    memory = "" if rss is None else f"; RSS {rss / MIB:.0f} MiB"
    return (
        f"health {health}; breakers "
        + (", ".join(f"{n} {s}" for n, s in wrong.items()) if wrong else "all CLOSED")
        + memory
    )


async def recovered(
    ops_url: str, timeout_s: float, *, poll_s: float = 0.1, max_rss_bytes: int | None = None
) -> tuple[bool, float, str]:
    """Wait until /health is ok and every breaker CLOSED (and, given ``max_rss_bytes``, the
    resident memory at most that): (recovered, seconds, last state)."""
    started = time.monotonic()
    timeout = aiohttp.ClientTimeout(total=HTTP_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        while True:
            health, breakers, rss = await _state(http, ops_url)
            elapsed = time.monotonic() - started
            memory_ok = max_rss_bytes is None or (rss is not None and rss <= max_rss_bytes)
            shown = None if max_rss_bytes is None else rss
            if health == "ok" and all(v == 0.0 for v in breakers.values()) and memory_ok:
                return True, elapsed, _describe(health, breakers, shown)
            if elapsed >= timeout_s:
                return False, elapsed, _describe(health, breakers, shown)
            await asyncio.sleep(poll_s)


async def _hold(duration_s: float, reassert: Callable[[], Awaitable[None]] | None) -> None:
    deadline = time.monotonic() + duration_s
    while (left := deadline - time.monotonic()) > 0:
        await asyncio.sleep(min(REASSERT_S, left))
        if reassert is not None and deadline - time.monotonic() > 0:
            await reassert()


# --- RPC faults through localnet's control API ------------------------------------------------
async def _with_profiles(
    target: ChaosTarget, profile: dict[str, Any], duration_s: float, say: Say
) -> None:
    if not target.localnet_url:
        raise ChaosError(
            "this scenario drives localnet's fault profiles: give --localnet URL (the control "
            "URL that `sniper-bot localnet --json FILE` writes) or LOCALNET_CONTROL_URL"
        )
    base = target.localnet_url.rstrip("/")
    timeout = aiohttp.ClientTimeout(total=HTTP_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        endpoints = await _json(http, "GET", f"{base}/endpoints")
        saved = {e["name"]: e["profile"] for e in endpoints}
        if not saved:
            raise ChaosError(f"{base}/endpoints lists no RPC endpoint")
        try:
            for name in saved:
                await _json(http, "PUT", f"{base}/endpoints/{name}/faults", profile)
            say(f"inject: {json.dumps(profile)} on endpoints {', '.join(saved)}")
            await _hold(duration_s, None)
            health, breakers = await bot_state(http, target.ops_url)
            say(f"held {duration_s:g} s: {_describe(health, breakers)}")
        finally:
            for name, old in saved.items():
                await _json(http, "PUT", f"{base}/endpoints/{name}/faults", old)
            say(f"clear: endpoints {', '.join(saved)} back to their profiles")


# --- Redis ------------------------------------------------------------------------------------
async def _redis(target: ChaosTarget) -> RedisManager:
    if not target.redis_url:
        raise ChaosError("this scenario needs Redis: REDIS_URL is empty (the bot runs without it)")
    manager = RedisManager(target.redis_url, metrics=Metrics(), max_retries=0)
    await manager.start()
    if not manager.available or manager.client is None:
        await manager.close()
        raise ChaosError("Redis at REDIS_URL does not answer (already down?)")
    return manager


async def _breaker_names(target: ChaosTarget) -> list[str]:
    timeout = aiohttp.ClientTimeout(total=HTTP_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        health, breakers = await bot_state(http, target.ops_url)
    if health == "unreachable":
        raise ChaosError(f"the bot's ops port {target.ops_url} does not answer")
    names = sorted(n for n in breakers if n.startswith("rpc"))
    if not names:
        raise ChaosError(f"{target.ops_url}/metrics shows no RPC circuit breaker")
    return names


async def _breaker_stuck_open(target: ChaosTarget, duration_s: float, say: Say) -> None:
    names = await _breaker_names(target)
    manager = await _redis(target)
    client = manager.client
    assert client is not None
    try:

        async def force() -> None:
            for name in names:
                await client.set(keys.breaker_override(name), "OPEN")

        await force()
        say(f"inject: SET {keys.breaker_override('<name>')} OPEN for {', '.join(names)}")
        await _hold(duration_s, force)
        say(f"held {duration_s:g} s (re-forced every {REASSERT_S:g} s)")
        for name in names:
            await client.delete(keys.breaker_override(name))
        say(
            "clear: no longer forced; the breakers stay OPEN until CIRCUIT_BREAKER_TIMEOUT "
            'passes or the runbook\'s manual reset: redis-cli -u "$REDIS_URL" DEL '
            + " ".join(keys.breaker(n) for n in names)
        )
    finally:
        await manager.close()


async def _redis_failure(target: ChaosTarget, duration_s: float, say: Say) -> None:
    manager = await _redis(target)
    client = manager.client
    assert client is not None
    pause_ms = max(1, round(duration_s * 1000))
    try:
        # KILL first: a paused server holds every other command, CLIENT KILL included
        killed = await client.client_kill_filter(_type="normal", skipme=True)
        await client.client_pause(pause_ms, all=True)
        say(f"inject: CLIENT KILL TYPE normal ({killed} dropped), CLIENT PAUSE {pause_ms} ALL")
        await _hold(duration_s, None)
    finally:
        await client.client_unpause()
        await manager.close()
    say(f"clear: CLIENT UNPAUSE after {duration_s:g} s")


# --- PostgreSQL -------------------------------------------------------------------------------
async def _database_loss(target: ChaosTarget, duration_s: float, say: Say) -> None:
    import asyncpg  # the driver itself: a maintenance connection, not the bot's storage layer

    if not target.database_url:
        raise ChaosError("this scenario needs DATABASE_URL")
    db = parse_database_url(target.database_url)
    if db.backend != "postgresql":
        raise ChaosError(
            "database-loss needs PostgreSQL: an embedded SQLite file cannot be taken away "
            "from the process that holds it"
        )
    url = db.url
    name = str(url.database)
    quoted = '"' + name.replace('"', '""') + '"'
    try:
        admin = await asyncpg.connect(
            host=url.host, port=url.port or 5432, user=url.username,
            password=url.password, database="postgres", timeout=HTTP_TIMEOUT_S,
        )  # fmt: skip
    except (OSError, asyncpg.PostgresError) as exc:
        raise ChaosError(
            f"cannot reach the PostgreSQL server of DATABASE_URL: {type(exc).__name__}"
        ) from None
    terminated = 0

    async def terminate() -> None:
        nonlocal terminated
        rows = await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        terminated += len(rows)

    try:
        try:
            await admin.execute(f"ALTER DATABASE {quoted} WITH ALLOW_CONNECTIONS false")
        except asyncpg.PostgresError as exc:
            raise ChaosError(
                f"ALTER DATABASE {name} refused ({exc.__class__.__name__}): the role of "
                "DATABASE_URL must own the database or be a superuser"
            ) from None
        say(
            f"inject: ALTER DATABASE {quoted} WITH ALLOW_CONNECTIONS false + pg_terminate_backend "
            f"(if this command is killed, undo it with: psql -d postgres -c 'ALTER DATABASE "
            f"{quoted} WITH ALLOW_CONNECTIONS true')"
        )
        await terminate()
        await _hold(duration_s, terminate)
        say(f"held {duration_s:g} s: {terminated} sessions terminated")
    finally:
        await admin.execute(f"ALTER DATABASE {quoted} WITH ALLOW_CONNECTIONS true")
        await admin.close()
        say(f"clear: ALTER DATABASE {quoted} WITH ALLOW_CONNECTIONS true")


# --- memory pressure: an admin's /memory hog through localnet's fake Telegram -----------------
_TAG = re.compile(r"<[^>]+>")


def _plain(html: str) -> str:
    return " ".join(_TAG.sub("", html).replace("&lt;", "<").replace("&gt;", ">").split())


class _AdminChat:
    """The admin's side of a chat with the bot, through localnet's fake Telegram control API."""

    def __init__(self, http: aiohttp.ClientSession, base: str, admin_id: int) -> None:
        self._http, self._base, self._admin = http, base, admin_id

    async def ask(self, text: str) -> str:
        """Send ``text`` as the admin; the bot's first message after it (HTML as sent)."""
        users = f"{self._base}/telegram/users/{self._admin}"
        sent = await _json(self._http, "POST", f"{users}/messages", {"text": text})
        after = int(sent["message"]["message_id"])
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        while time.monotonic() < deadline:
            inbox = await _json(self._http, "GET", f"{users}/inbox")
            replies = [m for m in inbox if int(m["message_id"]) > after and m.get("text")]
            if replies:
                return str(min(replies, key=lambda m: int(m["message_id"]))["text"])
            await asyncio.sleep(0.1)
        raise ChaosError(
            f"the bot did not answer {text!r} within {REPLY_TIMEOUT_S:g} s: is the bot's "
            "TELEGRAM_API_URL localnet's fake Telegram, and running?"
        )


def _growth(diagnosis: str) -> str:
    """The first growth line of a /memory reply while tracing ("" when it lists none)."""
    lines = [_plain(line) for line in diagnosis.splitlines()]
    for i, line in enumerate(lines):
        if line.startswith("Growth since the previous /memory"):
            return next((x for x in lines[i + 1 :] if x), "")
    return ""


async def _memory_pressure(target: ChaosTarget, duration_s: float, say: Say) -> int:
    """Inject, hold, diagnose, clear (unless ``keep``); returns the threshold in bytes."""
    if not target.localnet_url:
        raise ChaosError(
            "memory-pressure talks to the bot as an admin through localnet's fake Telegram: give "
            "--localnet URL (the control URL of `sniper-bot localnet --json FILE`) or "
            "LOCALNET_CONTROL_URL"
        )
    if target.admin_id is None:
        raise ChaosError(
            "memory-pressure sends /memory hog as an admin: ADMIN_TELEGRAM_IDS is empty "
            "(or give --admin ID)"
        )
    limit_mib = target.memory_limit_mib
    if not 64 <= limit_mib <= MAX_BALLAST_MIB:
        raise ChaosError(f"--memory-limit must be 64 to {MAX_BALLAST_MIB} MiB, got {limit_mib}")
    threshold = int(limit_mib * MIB * MEMORY_ALERT_RATIO)
    base = target.localnet_url.rstrip("/")
    timeout = aiohttp.ClientTimeout(total=HTTP_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        health, _, rss = await _state(http, target.ops_url)
        if health == "unreachable":
            raise ChaosError(f"the bot's ops port {target.ops_url} does not answer")
        if rss is None:
            raise ChaosError(f"{target.ops_url}/metrics has no process_resident_memory_bytes")
        if rss > threshold:
            raise ChaosError(
                f"the bot's RSS ({rss / MIB:.0f} MiB) is already above 90% of --memory-limit "
                f"{limit_mib} MiB: give the limit the bot really runs under"
            )
        need = -(-(threshold - rss) // MIB) + max(16, limit_mib // 20)
        chat = _AdminChat(http, base, target.admin_id)
        traced = await chat.ask("/memory trace on")  # tracing first: the growth names the site
        if "Tracing on" not in traced:
            raise ChaosError(
                f"/memory trace on as {target.admin_id} answered {_plain(traced)[:200]!r}: is "
                "that id in the bot's ADMIN_TELEGRAM_IDS?"
            )
        held = False
        try:
            await chat.ask("/memory")  # the baseline the growth is measured from
            hog = await chat.ask(f"/memory hog {need}")
            if "Chaos ballast: holding" not in hog:
                raise ChaosError(f"/memory hog {need} refused: {_plain(hog)[:300]}")
            held = True
            deadline = time.monotonic() + REPLY_TIMEOUT_S
            while (rss := (await _state(http, target.ops_url))[2] or 0) <= threshold:
                if time.monotonic() > deadline:
                    raise ChaosError(
                        f"RSS stayed at {rss / MIB:.0f} MiB after /memory hog {need}: not above "
                        f"{threshold / MIB:.0f} MiB"
                    )
                await asyncio.sleep(0.1)
            say(
                f"inject: /memory hog {need} as admin {target.admin_id}: RSS {rss / MIB:.0f} MiB "
                f"= {rss / (limit_mib * MIB):.0%} of the {limit_mib} MiB limit > "
                f"{MEMORY_ALERT_RATIO:.0%}: HighMemoryUsage's expression is true"
            )
            await _hold(duration_s, None)
            health, breakers, rss = await _state(http, target.ops_url)
            say(f"held {duration_s:g} s: {_describe(health, breakers, rss)}")
            diagnosis = await chat.ask("/memory")
            say(
                f"diagnose: /memory: {_plain(diagnosis.splitlines()[0])}; grew most: "
                f"{_growth(diagnosis) or 'nothing listed'}"
            )
        finally:
            await chat.ask("/memory trace off")
            if held and not target.keep:
                released = await chat.ask("/memory hog off")
                say(f"clear: /memory hog off: {_plain(released.splitlines()[0])}")
        if target.keep:
            say(
                "clear: the ballast stays until the bot restarts: restart it now (the runbook's "
                "High Memory Usage, Level 1: sudo systemctl restart sniper-bot)"
            )
    return threshold


async def run_scenario(
    scenario: str,
    target: ChaosTarget,
    *,
    duration_s: float = 5.0,
    recovery_timeout_s: float = 60.0,
    say: Say = print,
) -> ChaosResult:
    """Inject, hold ``duration_s``, clear; then wait up to ``recovery_timeout_s`` (0: do not)."""
    if scenario in NOT_SCENARIOS:
        raise ChaosError(f"{scenario}: {NOT_SCENARIOS[scenario]}")
    if scenario not in SCENARIOS:
        raise ChaosError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    if not 0 < duration_s <= 3600:
        raise ChaosError("--duration must be more than 0 and at most 3600 seconds")
    started = time.monotonic()
    max_rss: int | None = None
    if scenario == "memory-pressure":
        max_rss = await _memory_pressure(target, duration_s, say)
    elif scenario == "rpc-failures":
        await _with_profiles(target, RPC_DOWN, duration_s, say)
    elif scenario == "tx-failures":
        await _with_profiles(target, SENDS_REFUSED, duration_s, say)
    elif scenario == "breaker-stuck-open":
        await _breaker_stuck_open(target, duration_s, say)
    elif scenario == "redis-failure":
        await _redis_failure(target, duration_s, say)
    else:
        await _database_loss(target, duration_s, say)
    held = time.monotonic() - started
    if recovery_timeout_s <= 0:
        return ChaosResult(scenario, held, None, None)
    ok, seconds, state = await recovered(target.ops_url, recovery_timeout_s, max_rss_bytes=max_rss)
    if ok:
        say(f"recovered in {seconds:.1f} s after the clear ({state})")
    else:
        say(f"NOT recovered {seconds:.1f} s after the clear: {state}")
    return ChaosResult(scenario, held, ok, seconds, "" if ok else state)
