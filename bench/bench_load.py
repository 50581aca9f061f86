"""Many Telegram users at once: reply times of a separate `sniper-bot run` process.

    .venv/bin/python bench/bench_load.py [--users 100,200] [--backends postgres,sqlite]
                                         [--send-rate 1000] [--no-fairness]
    .venv/bin/python bench/bench_load.py --users 1000 --backends postgres --no-fairness
    .venv/bin/python bench/bench_load.py --backends postgres --rss-users 10000 \
                                         --rss-positions 1000 --rss-only [--tracemalloc]

This process runs localnet (its RPC endpoints, Jupiter-compatible API and fake Telegram Bot API)
and plays the users; the bot is `sniper-bot run`, a process of its own, on PostgreSQL + Redis or on
the embedded SQLite default, long-polling the fake Bot API like it polls Telegram. For each
command (/start, /help, paste-a-mint, /positions, /orders, /settings, /wallet) every user sends
it at the same moment; the reply time is from that send to the bot's reply arriving at the
fake Bot API (no polling on the users' side). Rounds are 1.2 s apart, so Telegram's 1 message/s
per chat (which the bot honours) never delays a reply.

The bot-wide send pace (`TELEGRAM_SEND_RATE_PER_S`, 25/s as Telegram allows) is lifted to
``--send-rate`` (and the fake's own 30/s limit with it): at 25/s 200 replies take 8 s whatever the
bot does, which would hide its own latency. ``--send-rate 25`` shows what a hosted bot under
Telegram's plain limits reaches.

Reported per command: p50 / p95 / max reply time, updates per second (users / time from the
sends to the last reply), the bot's CPU ms per update (utime + stime from /proc/PID/stat of the
bot process, less what it spends idle over the same time) and its RSS. /help touches neither
storage nor the chain: its updates/s is what one process's dispatcher serves. Fairness:
/positions for N users while one more user sends a message every 1/3 s (the throttle's rate,
so none is dropped): the others' p95 with and without it.
Every reply is counted: a user answered zero or two times is reported (and fails the run).

Memory (``--rss-users N``): N registered users, each with a wallet sealed under the bot's master
secret, and ``--rss-positions`` open positions (rows only: their mints have no account on the
chain) are written straight to the database before the bot starts; then every user sends
``--rss-command`` (/positions), 1,000 at a time. Reported: the bot's RSS after start and after
the commands (and its peak, VmHWM) against the 250 MB goal, and RSS by mapping (heap and
anonymous memory vs each shared library). ``--tracemalloc`` runs it once more with tracemalloc
started in the bot process from a ``sitecustomize`` on its PYTHONPATH (the bot has no switch of
its own): the Python allocations by package after start and after the commands, and the growth.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import structlog
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from solders.keypair import Keypair  # noqa: E402
from solders.pubkey import Pubkey  # noqa: E402

from localnet.node import Localnet, LocalnetConfig  # noqa: E402
from localnet.testing import TEST_ENDPOINTS  # noqa: E402
from sniper_bot.config import load_settings  # noqa: E402
from sniper_bot.demo import demo_env  # noqa: E402
from sniper_bot.domain.entities import PositionStatus  # noqa: E402
from sniper_bot.storage.database import Database  # noqa: E402
from sniper_bot.storage.models import PositionRow, UserRow, WalletRow  # noqa: E402
from sniper_bot.wallet.crypto import Keyring, seal  # noqa: E402
from support.services import free_port, postgres_database, redis_database  # noqa: E402

SNIPER_BOT = str(Path(sys.executable).with_name("sniper-bot"))
BOOT_TIMEOUT_S = 180.0
REPLY_TIMEOUT_S = 60.0
ROUND_GAP_S = 1.2  # > 1 s: the per-chat pace of the previous reply is refilled
TICKS = os.sysconf("SC_CLK_TCK")
# (label, text or None for the mint, what the reply says)
COMMANDS: tuple[tuple[str, str | None], ...] = (
    ("/start", "/start"),
    ("/help", "/help"),  # no storage, no chain: the dispatcher's own cost
    ("paste-a-mint", None),
    ("/positions", "/positions"),
    ("/orders", "/orders"),
    ("/settings", "/settings"),
    ("/wallet", "/wallet"),
)


@dataclass
class Replies:
    """Every bot message, by chat, as it reaches the fake Bot API (hooked on the fake)."""

    count: Counter[int] = field(default_factory=Counter)
    waiting: dict[int, asyncio.Future[float]] = field(default_factory=dict)

    def hook(self, fake: Any) -> None:
        original = fake.bot_message

        def bot_message(chat_id: int, *args: Any, **kwargs: Any) -> Any:
            message = original(chat_id, *args, **kwargs)
            self.count[chat_id] += 1
            future = self.waiting.pop(chat_id, None)
            if future is not None and not future.done():
                future.set_result(time.perf_counter())
            return message

        fake.bot_message = bot_message

    def expect(self, chat_id: int) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting[chat_id] = future
        return future


@dataclass
class Round:
    label: str
    users: int
    times_ms: list[float]
    wall_s: float
    cpu_ms: float
    rss_mb: float
    lost: int
    doubled: int

    def pct(self, q: float) -> float:
        ordered = sorted(self.times_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    def line(self) -> str:
        rate = self.users / self.wall_s if self.wall_s > 0 else float("nan")
        return (
            f"{self.label:14s} {self.users:5d} {self.pct(0.5):8.0f} {self.pct(0.95):8.0f} "
            f"{max(self.times_ms, default=float('nan')):8.0f} {rate:8.0f} "
            f"{self.cpu_ms / max(1, self.users):8.2f} {self.rss_mb:7.0f}"
            + (f"  LOST {self.lost}" if self.lost else "")
            + (f"  TWICE {self.doubled}" if self.doubled else "")
        )


HEADER = (
    f"{'command':14s} {'users':>5s} {'p50 ms':>8s} {'p95 ms':>8s} {'max ms':>8s} "
    f"{'upd/s':>8s} {'cpu ms/u':>8s} {'rss MB':>7s}"
)


def proc_cpu_ms(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000.0 / TICKS


def proc_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


class Bench:
    def __init__(self, net: Localnet, replies: Replies, mint: str) -> None:
        self.net = net
        self.replies = replies
        self.mint = mint
        self._next_user = 800_000_001
        self.idle_cpu_ms_per_s = 0.0  # the bot's own timers (outbox, monitors...) when idle

    async def measure_idle(self, pid: int, seconds: float = 3.0) -> None:
        cpu0, t0 = proc_cpu_ms(pid), time.perf_counter()
        await asyncio.sleep(seconds)
        self.idle_cpu_ms_per_s = (proc_cpu_ms(pid) - cpu0) / (time.perf_counter() - t0)

    def new_users(self, n: int) -> list[int]:
        first = self._next_user
        self._next_user += n
        return list(range(first, first + n))

    async def round(
        self, pid: int, label: str, text: str, users: list[int], *, flooder: int | None = None
    ) -> Round:
        fake = self.net.telegram
        before = {u: self.replies.count[u] for u in users}
        cpu0 = proc_cpu_ms(pid)
        futures = []
        started = time.perf_counter()
        sent_at: list[float] = []
        for user in users:  # all at once: the bot sees them in one getUpdates batch
            futures.append(self.replies.expect(user))
            sent_at.append(time.perf_counter())
            fake.user_sends(user, text)
        flood = asyncio.create_task(self._flood(flooder, text)) if flooder is not None else None
        done, _ = await asyncio.wait(futures, timeout=REPLY_TIMEOUT_S)
        last = max((f.result() for f in done), default=time.perf_counter())
        times = [
            (f.result() - t) * 1000.0 for f, t in zip(futures, sent_at, strict=True) if f.done()
        ]
        if flood is not None:
            flood.cancel()
        await asyncio.sleep(0.5)  # a second answer to one update would arrive by now
        # the updates' CPU: the idle timers' share of the round's time taken out
        cpu = proc_cpu_ms(pid) - cpu0 - self.idle_cpu_ms_per_s * (time.perf_counter() - started)
        got = Counter(self.replies.count[u] - before[u] for u in users)
        usual = max(got, key=lambda n: (got[n], -n))  # /wallet answers with 2 (list, QR code)
        doubled = sum(count for n, count in got.items() if n > max(usual, 1))
        for user in users:
            self.replies.waiting.pop(user, None)
        return Round(label, len(users), times, last - started, cpu, proc_rss_mb(pid),
                     len(users) - len(done), doubled)  # fmt: skip

    async def _flood(self, user: int, text: str) -> None:
        while True:  # the throttle's 3/s: each is handled (none is dropped)
            self.net.telegram.user_sends(user, text)
            await asyncio.sleep(0.34)


async def migrate(env: dict[str, str]) -> None:
    database = Database(load_settings(env).database_url)
    try:
        await database.connect(attempts=1)
        await database.upgrade()
    finally:
        await database.dispose()


async def wait_healthy(url: str, proc: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc.returncode is not None:
                raise RuntimeError("sniper-bot run exited while starting")
            try:
                async with http.get(url) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"sniper-bot run did not answer {url} in {BOOT_TIMEOUT_S:.0f} s")


@asynccontextmanager
async def bot_process(
    net: Localnet,
    backend: str,
    data_dir: Path,
    send_rate: float,
    profile: Path | None,
    bot_src: str = "",
    *,
    seed: Callable[[dict[str, str]], Awaitable[None]] | None = None,
    extra_env: dict[str, str] | None = None,
) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    async with AsyncExitStack() as stack:
        database_url = redis_url = ""
        if backend == "postgres":
            database_url = await stack.enter_async_context(postgres_database("bench_load"))
            redis_url = await stack.enter_async_context(redis_database())
        assert net.urls is not None
        port = free_port()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(data_dir)}
        env |= demo_env(net.urls, data_dir=data_dir, metrics_port=port)
        env |= {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "json",
            "SESSION_MASTER_SECRET": secrets.token_hex(32),
            "TELEGRAM_SEND_RATE_PER_S": str(send_rate),
        }
        if bot_src:  # another version of the bot's code (before/after runs on one machine)
            env["PYTHONPATH"] = bot_src
        for key, value in (extra_env or {}).items():  # PYTHONPATH entries go first
            env[key] = value + (":" + env[key] if key == "PYTHONPATH" and env.get(key) else "")
        await migrate(env)
        if seed is not None:  # rows the bot finds at start, written before it runs
            await seed(env)
        log = (data_dir / "bot.log").open("wb")
        stack.callback(log.close)
        argv = [SNIPER_BOT, "run"]
        if profile is not None:  # py-spy records the whole run (installed separately)
            argv = ["py-spy", "record", "-o", str(profile), "-f", "raw", "-r", "200", "--", *argv]
        proc = await asyncio.create_subprocess_exec(
            *argv, env=env, cwd=data_dir, stdout=asyncio.subprocess.DEVNULL, stderr=log
        )
        try:
            try:
                await wait_healthy(f"http://127.0.0.1:{port}/health", proc)
            except RuntimeError:
                log.flush()
                print((data_dir / "bot.log").read_text()[-3000:], file=sys.stderr)
                raise
            pid = proc.pid
            if profile is not None:  # the bot is py-spy's child
                children = f"/proc/{proc.pid}/task/{proc.pid}/children"
                pid = int((await asyncio.to_thread(Path(children).read_text)).split()[0])
            yield proc, f"http://127.0.0.1:{port}|{pid}"
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGINT if profile is not None else signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 30)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()


SEED_CHUNK = 1000
WAVE = 1000  # the population's users send their command 1,000 at a time
RSS_GOAL_MB = 250.0
# started in the bot process through PYTHONPATH (no code of the bot's own): traces from the start,
# writes the top allocations by package when the bench sends SIGUSR2
TRACEMALLOC_SITECUSTOMIZE = """
import os, signal, tracemalloc

tracemalloc.start()


def _package(filename):
    name = filename.replace(os.sep, "/")
    if "site-packages/" in name:
        return name.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if "/src/" in name:
        parts = name.split("/src/", 1)[1].split("/")
        return "/".join(parts[:2]).removesuffix(".py")
    if name.startswith("<"):
        return name
    return "stdlib " + name.rsplit("/", 1)[-1].removesuffix(".py")


_previous = []


def _dump(signum, frame):
    snapshot = tracemalloc.take_snapshot()
    by_package = {}
    for stat in snapshot.statistics("filename"):
        key = _package(stat.traceback[0].filename)
        size, count = by_package.get(key, (0, 0))
        by_package[key] = (size + stat.size, count + stat.count)
    traced, _peak = tracemalloc.get_traced_memory()
    lines = [f"traced {traced / 2**20:.1f} MB in Python objects; "
             f"tracemalloc's own {tracemalloc.get_tracemalloc_memory() / 2**20:.1f} MB"]
    for key, (size, count) in sorted(by_package.items(), key=lambda kv: -kv[1][0])[:18]:
        lines.append(f"  {size / 2**20:7.1f} MB {count:9d} blocks  {key}")
    lines.append("top lines:")
    for stat in snapshot.statistics("lineno")[:12]:
        frame0 = stat.traceback[0]
        short = "/".join(frame0.filename.replace(os.sep, "/").split("/")[-3:])
        size = f"{stat.size / 2**20:7.1f} MB {stat.count:9d} blocks"
        lines.append(f"  {size}  {short}:{frame0.lineno}")
    if _previous:
        lines.append("grown since the previous dump:")
        grown = {}
        for stat in snapshot.compare_to(_previous[-1], "filename"):
            key = _package(stat.traceback[0].filename)
            size, count = grown.get(key, (0, 0))
            grown[key] = (size + stat.size_diff, count + stat.count_diff)
        for key, (size, count) in sorted(grown.items(), key=lambda kv: -kv[1][0])[:10]:
            lines.append(f"  {size / 2**20:+7.1f} MB {count:+9d} blocks  {key}")
    _previous[:] = [snapshot]
    out = os.environ["BENCH_TRACEMALLOC_OUT"]
    with open(out + ".tmp", "w") as handle:
        handle.write("\\n".join(lines) + "\\n")
    os.replace(out + ".tmp", out)


signal.signal(signal.SIGUSR2, _dump)
"""


def population_seeder(
    telegram_ids: list[int], positions: int
) -> Callable[[dict[str, str]], Awaitable[None]]:
    """Write registered users (each with a sealed wallet) and open positions straight to the DB.

    The wallets are sealed under the bot's own master secret, as `create_wallet` seals them; the
    positions are rows only (mints with no account on the chain).
    """

    async def seed(env: dict[str, str]) -> None:
        keyring = Keyring.from_settings(env["SESSION_MASTER_SECRET"])
        # usernames as the fake Bot API sends them: known users, no upsert on their first update
        database = Database(load_settings(env).database_url)
        started = time.perf_counter()
        try:
            await database.connect(attempts=1)
            for at in range(0, len(telegram_ids), SEED_CHUNK):
                chunk = telegram_ids[at : at + SEED_CHUNK]
                async with database.session() as session:
                    result = await session.execute(
                        insert(UserRow).returning(UserRow.id, UserRow.telegram_id),
                        [{"telegram_id": t, "username": f"user{t}"} for t in chunk],
                    )
                    user_ids = sorted(row.id for row in result)
                    wallets = []
                    for user_id in user_ids:
                        keypair = Keypair()
                        public_key = str(keypair.pubkey())
                        sealed = seal(
                            keyring, bytes(keypair), user_id=user_id, public_key=public_key
                        )
                        wallets.append({
                            "user_id": user_id, "public_key": public_key, "label": "Wallet 1",
                            "is_active": True, "key_id": sealed.key_id, "salt": sealed.salt,
                            "nonce": sealed.nonce, "ciphertext": sealed.ciphertext,
                        })  # fmt: skip
                    result = await session.execute(
                        insert(WalletRow).returning(WalletRow.id, WalletRow.user_id), wallets
                    )
                    owners = sorted((row.user_id, row.id) for row in result)
                    room = max(0, positions - at)  # the first `positions` users hold one each
                    rows = [
                        {"user_id": user_id, "wallet_id": wallet_id,
                         "token_mint": str(Pubkey.new_unique()), "token_amount": 1_000_000_000,
                         "cost_basis_lamports": 10_000_000, "status": PositionStatus.OPEN}
                        for user_id, wallet_id in owners[:room]
                    ]  # fmt: skip
                    if rows:
                        await session.execute(insert(PositionRow), rows)
        finally:
            await database.dispose()
        print(
            f"seeded {len(telegram_ids)} users with a wallet each and {positions} open positions "
            f"in {time.perf_counter() - started:.1f} s"
        )

    return seed


def proc_hwm_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def proc_rss_by_mapping(pid: int, top: int = 8) -> str:
    """RSS by what is mapped: the heap and anonymous memory (Python objects, C allocations) vs
    each shared library's pages (from /proc/PID/smaps)."""
    sizes: Counter[str] = Counter()
    name = "[anon]"
    with open(f"/proc/{pid}/smaps") as handle:
        for line in handle:
            head = line.split(maxsplit=6)
            if len(head) >= 5 and "-" in head[0] and not head[0].endswith(":"):
                path = head[5].strip() if len(head) > 5 else "[anon]"
                name = path.rsplit("/", 1)[-1] if path.startswith("/") else path
            elif line.startswith("Rss:"):
                sizes[name] += int(line.split()[1])
    parts = [f"{n} {kb / 1024:.0f}" for n, kb in sizes.most_common(top)]
    rest = sum(sizes.values()) - sum(kb for _, kb in sizes.most_common(top))
    return "RSS by mapping (MB): " + ", ".join(parts) + f", rest {rest / 1024:.0f}"


def _read_dump(dump: Path) -> str | None:
    return dump.read_text() if dump.exists() else None


async def dump_tracemalloc(pid: int, dump: Path) -> None:
    await asyncio.to_thread(dump.unlink, missing_ok=True)
    os.kill(pid, signal.SIGUSR2)
    for _ in range(240):  # a snapshot of every trace takes a while
        text = await asyncio.to_thread(_read_dump, dump)
        if text is not None:
            print(text, end="")
            return
        await asyncio.sleep(0.5)
    print("no tracemalloc dump within 120 s")


async def run_population(
    args: argparse.Namespace, net: Localnet, bench: Bench, backend: str, *, traced: bool
) -> bool:
    """RSS of a bot with `--rss-users` registered users and `--rss-positions` open positions,
    before and after each of them sent `--rss-command` (1,000 at a time)."""
    ok = True
    with tempfile.TemporaryDirectory(prefix=f"bench-rss-{backend}-") as tmp:
        users = bench.new_users(args.rss_users)
        extra: dict[str, str] = {}
        dump = Path(tmp) / "tracemalloc.txt"
        if traced:
            site = Path(tmp) / "site"
            site.mkdir()
            (site / "sitecustomize.py").write_text(TRACEMALLOC_SITECUSTOMIZE)
            extra = {"PYTHONPATH": str(site), "BENCH_TRACEMALLOC_OUT": str(dump)}
        seed = population_seeder(users, min(args.rss_positions, len(users)))
        started = bot_process(
            net, backend, Path(tmp), args.send_rate, None, args.bot_src, seed=seed, extra_env=extra
        )
        async with started as (_, where):
            pid = int(where.split("|")[1])
            await bench.measure_idle(pid)
            booted = proc_rss_mb(pid)
            title = "under tracemalloc (its traces inflate RSS)" if traced else "untraced"
            print(
                f"\n--- {backend} RSS, {title}: {len(users)} registered users, "
                f"{min(args.rss_positions, len(users))} open positions; "
                f"after start {booted:.0f} MB; idle CPU {bench.idle_cpu_ms_per_s:.0f} ms/s "
                "(the bot's timers: exit monitor, outbox...; taken out of cpu ms/u)"
            )
            if traced:
                print("tracemalloc after start:")
                await dump_tracemalloc(pid, dump)
            else:
                print(proc_rss_by_mapping(pid))
            print(HEADER)
            text = args.rss_command or bench.mint
            for at in range(0, len(users), WAVE):
                result = await bench.round(pid, args.rss_command or "paste-a-mint", text,
                                           users[at : at + WAVE])  # fmt: skip
                print(result.line(), flush=True)
                ok &= result.lost == 0 and result.doubled == 0
                await asyncio.sleep(ROUND_GAP_S)
            await asyncio.sleep(3.0)  # a few of the bot's timers (exit monitor, outbox) run
            after, peak = proc_rss_mb(pid), proc_hwm_mb(pid)
            verdict = "within" if after <= RSS_GOAL_MB else "OVER"
            print(
                f"RSS after every user sent {args.rss_command or 'a mint'}: {after:.0f} MB "
                f"(peak {peak:.0f} MB), {verdict} the {RSS_GOAL_MB:.0f} MB goal; "
                f"{after - booted:+.0f} MB over the started bot, "
                f"{(after - booted) * 1024 / len(users):.1f} KB per user"
            )
            if traced:
                print("tracemalloc after the commands:")
                await dump_tracemalloc(pid, dump)
            else:
                print(proc_rss_by_mapping(pid))
    return ok


async def handler_metrics(base: str) -> dict[str, tuple[float, float]]:
    """``telegram_update_duration_seconds``: (count, sum) by command, when the bot exports it."""
    async with aiohttp.ClientSession() as http, http.get(base + "/metrics") as resp:
        text = await resp.text()
    out: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for line in text.splitlines():
        for suffix, idx in (("_count{", 0), ("_sum{", 1)):
            if line.startswith("telegram_update_duration_seconds" + suffix):
                command = line.split('command="', 1)[1].split('"', 1)[0]
                out[command][idx] += float(line.rsplit(" ", 1)[1])
    return {k: (v[0], v[1]) for k, v in out.items()}


async def run_backend(args: argparse.Namespace, net: Localnet, bench: Bench, backend: str) -> bool:
    ok = True
    with tempfile.TemporaryDirectory(prefix=f"bench-load-{backend}-") as tmp:
        profile = Path(args.profile) / f"{backend}.folded" if args.profile else None
        started = bot_process(net, backend, Path(tmp), args.send_rate, profile, args.bot_src)
        async with started as (_, where):
            base, pid_text = where.split("|")
            pid = int(pid_text)
            await bench.measure_idle(pid)
            print(
                f"\n--- {backend}: sniper-bot run pid {pid}, send rate {args.send_rate}/s, "
                f"idle CPU {bench.idle_cpu_ms_per_s:.0f} ms/s (taken out of cpu ms/u)"
            )
            print(HEADER)
            for n in args.users:
                users = bench.new_users(n)
                for label, text in COMMANDS:
                    for attempt in range(args.repeat):  # /start: new users first, then known
                        shown = label if attempt == 0 or label != "/start" else "/start again"
                        result = await bench.round(pid, shown, text or bench.mint, users)
                        print(result.line(), flush=True)
                        ok &= result.lost == 0 and result.doubled == 0
                        await asyncio.sleep(ROUND_GAP_S)
            if not args.no_fairness:
                n = args.users[-1]
                users = bench.new_users(n + 1)
                await bench.round(pid, "(/start)", "/start", users)
                await asyncio.sleep(ROUND_GAP_S)
                alone = await bench.round(pid, "/positions", "/positions", users[1:])
                await asyncio.sleep(ROUND_GAP_S)
                flooded = await bench.round(
                    pid, "+flooder", "/positions", users[1:], flooder=users[0]
                )
                print(alone.line())
                print(flooded.line())
                print(
                    f"fairness: the others' p95 with one user flooding at 3/s is "
                    f"{flooded.pct(0.95) / max(alone.pct(0.95), 1e-9):.2f}x their p95 without"
                )
                ok &= flooded.lost == 0
            metrics = await handler_metrics(base)
            if metrics:
                print("handler time (telegram_update_duration_seconds): mean ms by command")
                for command, (count, total) in sorted(metrics.items()):
                    print(f"  {command:14s} {count:7.0f} updates {1000 * total / count:8.2f} ms")
    return ok


async def main_async(args: argparse.Namespace) -> int:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))  # warnings
    config = LocalnetConfig(seed=11, slot_ms=400, endpoints=TEST_ENDPOINTS, default_scenario=False)
    net = Localnet(config)
    await net.start()
    try:
        fake = net.telegram
        # the fake's bot-wide 30/s goes with the bot's own pace; per chat it stays 1/s
        fake.bot_rate_per_s = fake.bot_burst = max(30, int(args.send_rate))
        replies = Replies()
        replies.hook(fake)
        token = net.factory.create("honest", liquidity_sol=100)
        bench = Bench(net, replies, str(token.mint))
        ok = True
        for backend in args.backends:
            if not args.rss_only:
                ok &= await run_backend(args, net, bench, backend)
            if args.rss_users:
                ok &= await run_population(args, net, bench, backend, traced=False)
                if args.tracemalloc:
                    ok &= await run_population(args, net, bench, backend, traced=True)
        return 0 if ok else 1
    finally:
        await net.stop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ints: Callable[[str], list[int]] = lambda s: [int(x) for x in s.split(",") if x]  # noqa: E731
    names: Callable[[str], list[str]] = lambda s: [x for x in s.split(",") if x]  # noqa: E731
    parser.add_argument("--users", type=ints, default=[100, 200])
    parser.add_argument("--backends", type=names, default=["postgres", "sqlite"])
    parser.add_argument("--send-rate", type=float, default=1000.0)
    parser.add_argument("--no-fairness", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="rounds per command and size")
    parser.add_argument("--bot-src", default="", help="the bot's code from this src/ directory")
    parser.add_argument(
        "--profile", default="", help="directory for py-spy folded stacks (py-spy on PATH)"
    )
    parser.add_argument(
        "--rss-users", type=int, default=0,
        help="also measure RSS with this many registered users (10000 for the goal), seeded in SQL",
    )  # fmt: skip
    parser.add_argument("--rss-positions", type=int, default=1000, help="open positions, rows only")
    parser.add_argument(
        "--rss-command", default="/positions", help="what each of them sends ('' = paste a mint)"
    )
    parser.add_argument("--rss-only", action="store_true", help="skip the latency rounds")
    parser.add_argument(
        "--tracemalloc", action="store_true",
        help="with --rss-users: a second run under tracemalloc, top allocations by package",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.rss_users < 0 or args.rss_positions < 0:
        parser.error("--rss-users and --rss-positions are counts (>= 0)")
    if (args.rss_only or args.tracemalloc) and not args.rss_users:
        parser.error("--rss-only and --tracemalloc need --rss-users")
    for backend in args.backends:
        if backend not in ("postgres", "sqlite"):
            parser.error(f"unknown backend {backend!r}: postgres or sqlite")
    return args


def main() -> int:
    return asyncio.run(main_async(parse_args()))


if __name__ == "__main__":
    sys.exit(main())
