"""N ``sniper-bot run`` processes in webhook mode behind nginx, on one PostgreSQL and one Redis.

The pieces, each a real process: localnet (``python replicas.py localnet``: the chain, Jupiter, the
fake Bot API that PUSHES updates to the webhook as Telegram does, retrying what was not answered
2xx), nginx (the shipped ``deploy/nginx/webhook-location.conf`` behind a generated upstream of the
replicas), and the replicas (``sniper-bot run``, migrated once beforehand with ``sniper-bot
migrate``). Any replica can be started, SIGKILLed, stopped and restarted by index, with its own
environment overrides; ``ApiGate`` sits between a replica and the fake Bot API when a test must
hold that replica's outgoing calls (so a kill lands before its answers got out).

    async with replica_set(tmp_path, pg_url, redis_url, replicas=3) as rs:
        await rs.send_many({uid: "/start" for uid in users})
        await rs.kill(1)             # SIGKILL
        await rs.restart(1)          # same port, same INSTANCE_ID

Run on its own, ``python tests/support/replicas.py localnet --json FILE`` is the localnet process:
the flood limits of the fake Bot API lifted (the test measures the bot, not the pacer) and a small
side server (``"fake"`` in the JSON) for what tests read or push in bulk: ``GET /sent``,
``GET /webhook``, ``POST /send`` (many users' messages at once).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]
NGINX_LOCATION = ROOT / "deploy" / "nginx" / "webhook-location.conf"
SNIPER_BOT = str(Path(sys.executable).with_name("sniper-bot"))
WEBHOOK_PATH = "/telegram/webhook"
BOOT_TIMEOUT_S = 90.0

__all__ = [
    "ApiGate",
    "LocalnetProcess",
    "Nginx",
    "Replica",
    "ReplicaSet",
    "find_nginx",
    "free_port",
    "replica_set",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def find_nginx() -> str | None:
    return shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None
    )


async def _wait_http(url: str, timeout_s: float, proc: asyncio.subprocess.Process | None = None,
                     ok: tuple[int, ...] = (200,)) -> None:  # fmt: skip
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        while True:
            if proc is not None and proc.returncode is not None:
                raise RuntimeError(f"{url}: the process exited with {proc.returncode}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError, OSError):
                async with http.get(url) as r:
                    if r.status in ok:
                        return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {timeout_s} s")
            await asyncio.sleep(0.1)


# --- localnet, its own process ------------------------------------------------------------------
@dataclass
class LocalnetProcess:
    proc: asyncio.subprocess.Process
    urls: dict[str, Any]
    log_path: Path

    @classmethod
    async def start(cls, workdir: Path, *, seed: int = 19) -> LocalnetProcess:
        json_path = workdir / "localnet.json"
        log_path = workdir / "localnet.log"
        log = log_path.open("wb")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "localnet", "--json", str(json_path), "--seed", str(seed),
            stdout=log, stderr=asyncio.subprocess.STDOUT, cwd=workdir,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while not json_path.exists():
            if proc.returncode is not None or time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                raise RuntimeError(f"localnet did not start: {log_path.read_text()[-3000:]}")
            await asyncio.sleep(0.1)
        return cls(proc, json.loads(json_path.read_text()), log_path)

    @property
    def fake(self) -> str:
        return str(self.urls["fake"])

    @property
    def control(self) -> str:
        return str(self.urls["control"])

    def bot_env(self, data_dir: Path) -> dict[str, str]:
        """The demo's settings pointing at this localnet (as e2e_env does in-process)."""
        from sniper_bot.demo import demo_env

        urls = SimpleNamespace(rpc=self.urls["rpc"], jupiter=self.urls["jupiter"],
                               telegram=self.urls["telegram"])  # fmt: skip
        return demo_env(urls, data_dir=data_dir, metrics_port=0)

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


# --- nginx --------------------------------------------------------------------------------------
@dataclass
class Nginx:
    """A private nginx master (``-p prefix -c conf``, daemon off) on 127.0.0.1:``port``."""

    binary: str
    prefix: Path
    port: int
    upstreams: list[int]
    proc: asyncio.subprocess.Process | None = None

    def config(self) -> str:
        servers = "\n".join(
            f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in self.upstreams
        )
        user = "user root;\n" if os.geteuid() == 0 else ""
        return f"""{user}worker_processes 1;
pid {self.prefix}/nginx.pid;
error_log {self.prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {self.prefix}/access.log;
    client_body_temp_path {self.prefix}/client_body;
    proxy_temp_path {self.prefix}/proxy;
    fastcgi_temp_path {self.prefix}/fastcgi;
    uwsgi_temp_path {self.prefix}/uwsgi;
    scgi_temp_path {self.prefix}/scgi;
    upstream sniper_bot_webhook {{
{servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{self.port};
        include {NGINX_LOCATION};
        location / {{ return 404; }}
    }}
}}
"""

    async def start(self) -> None:
        self.prefix.mkdir(parents=True, exist_ok=True)
        conf = self.prefix / "nginx.conf"
        conf.write_text(self.config())
        check = await asyncio.create_subprocess_exec(
            self.binary, "-t", "-p", str(self.prefix), "-c", str(conf),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await check.communicate()
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t refused the config: {out.decode()}")
        self.proc = await asyncio.create_subprocess_exec(
            self.binary, "-p", str(self.prefix), "-c", str(conf), "-g", "daemon off;",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await _wait_http(f"http://127.0.0.1:{self.port}/", 10, self.proc, ok=(404,))

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: workers finish their requests
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


# --- a gate between one replica and the fake Bot API --------------------------------------------
class ApiGate:
    """An HTTP pass-through to ``target`` that can ``hold()`` every request (never forwarded until
    ``release()``). A replica whose TELEGRAM_API_URL is the gate can be killed while its answers
    are provably not out: the held calls die with it."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.port = free_port()
        self._open = asyncio.Event()
        self._open.set()
        self.held = 0
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if not self._open.is_set():
            self.held += 1
            await self._open.wait()
            if request.transport is None or request.transport.is_closing():
                return web.Response(status=499)  # its process is gone: never forwarded
        assert self._http is not None
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")
        }
        async with self._http.request(request.method, self.target + request.path_qs, data=body,
                                      headers=headers) as r:  # fmt: skip
            payload = await r.read()
            return web.Response(body=payload, status=r.status,
                                content_type=r.content_type)  # fmt: skip

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()


# --- replicas -----------------------------------------------------------------------------------
@dataclass
class Replica:
    index: int
    env: dict[str, str]
    webhook_port: int
    metrics_port: int
    data_dir: Path
    proc: asyncio.subprocess.Process | None = None
    starts: int = 0

    @property
    def instance(self) -> str:
        return self.env["INSTANCE_ID"]

    @property
    def ops(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def start(self) -> None:
        if self.alive:
            raise RuntimeError(f"replica {self.index} is running")
        self.starts += 1
        log = (self.data_dir / f"run-{self.starts}.log").open("wb")
        self.proc = await asyncio.create_subprocess_exec(
            SNIPER_BOT, "run", env=self.env, cwd=self.data_dir,
            stdout=log, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        log.close()

    async def ready(self, timeout_s: float = BOOT_TIMEOUT_S) -> None:
        """/health answers 200 and the webhook port accepts connections."""
        try:
            await _wait_http(f"{self.ops}/health", timeout_s, self.proc)
            deadline = time.monotonic() + timeout_s
            while True:
                with contextlib.suppress(OSError):
                    _, writer = await asyncio.open_connection("127.0.0.1", self.webhook_port)
                    writer.close()
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"replica {self.index}: webhook port never listened")
                await asyncio.sleep(0.1)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(
                f"replica {self.index} did not start: {exc}\n{self.log_tail()}"
            ) from None

    def log_tail(self, chars: int = 3000) -> str:
        path = self.data_dir / f"run-{self.starts}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    async def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(sig)
            await self.proc.wait()

    async def stop(self, timeout_s: float = 20.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout_s``; the exit code."""
        if self.proc is None:
            return None
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), timeout_s)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        return self.proc.returncode

    async def metrics(self) -> str:
        async with aiohttp.ClientSession() as http, http.get(f"{self.ops}/metrics") as r:
            return await r.text()

    async def health(self) -> dict[str, Any]:
        async with aiohttp.ClientSession() as http, http.get(f"{self.ops}/health") as r:
            data: dict[str, Any] = await r.json()
            return data

    async def updates_handled(self) -> int:
        """Updates this process handled (``telegram_update_duration_seconds_count``, summed)."""
        total = 0.0
        for line in (await self.metrics()).splitlines():
            if line.startswith("telegram_update_duration_seconds_count"):
                total += float(line.rsplit(" ", 1)[1])
        return int(total)


@dataclass
class ReplicaSet:
    localnet: LocalnetProcess
    nginx: Nginx
    replicas: list[Replica]
    secret: str
    gates: dict[int, ApiGate] = field(default_factory=dict)

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.nginx.port}{WEBHOOK_PATH}"

    def __getitem__(self, index: int) -> Replica:
        return self.replicas[index]

    async def start(self, index: int, *, wait: bool = True) -> None:
        await self.replicas[index].start()
        if wait:
            await self.replicas[index].ready()

    async def kill(self, index: int, sig: int = signal.SIGKILL) -> None:
        await self.replicas[index].kill(sig)

    async def stop(self, index: int) -> int | None:
        return await self.replicas[index].stop()

    async def restart(self, index: int) -> None:
        await self.replicas[index].stop()
        await self.start(index)

    # --- users, through the fake Bot API (as Telegram's users) ---
    async def _fake(self, method: str, path: str, payload: Any = None) -> Any:
        async with (
            aiohttp.ClientSession() as http,
            http.request(method, self.localnet.fake + path, json=payload) as r,
        ):
            r.raise_for_status()
            return await r.json()

    async def send_many(
        self, messages: Mapping[int, str] | list[tuple[int, str]]
    ) -> list[dict[str, Any]]:
        """Users send these messages at the same moment (one batch into the fake's queue)."""
        items = list(messages.items()) if isinstance(messages, Mapping) else list(messages)
        updates: list[dict[str, Any]] = await self._fake(
            "POST", "/send", [{"user": u, "text": t} for u, t in items]
        )
        return updates

    async def press(self, user_id: int, message_id: int, data: str) -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{self.localnet.control}/telegram/users/{user_id}/press",
                json={"message_id": message_id, "data": data},
            ) as r,
        ):
            r.raise_for_status()
            update: dict[str, Any] = await r.json()
            return update

    async def inbox(self, user_id: int) -> list[dict[str, Any]]:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{self.localnet.control}/telegram/users/{user_id}/inbox") as r,
        ):
            r.raise_for_status()
            messages: list[dict[str, Any]] = await r.json()
            return messages

    async def sent(self) -> list[dict[str, Any]]:
        """Every message the bot sent or edited: ``{"method", "chat", "message_id", "text"}``."""
        calls: list[dict[str, Any]] = await self._fake("GET", "/sent")
        return calls

    async def webhook(self) -> dict[str, Any]:
        """The fake's webhook state: pending update ids, deliveries, failed attempts."""
        state: dict[str, Any] = await self._fake("GET", "/webhook")
        return state

    async def sent_to(
        self, chats: set[int], *, method: str = "sendMessage"
    ) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {chat: [] for chat in chats}
        for call in await self.sent():
            if call["method"] == method and call["chat"] in out:
                out[call["chat"]].append(call["text"])
        return out

    async def until_each_has(
        self, chats: set[int], count: int, timeout_s: float = 45.0
    ) -> dict[int, list[str]]:
        """Wait until every chat got ``count`` messages (never fewer); returns them all."""
        deadline = time.monotonic() + timeout_s
        while True:
            replies = await self.sent_to(chats)
            short = sorted(c for c, texts in replies.items() if len(texts) < count)
            if not short:
                return replies
            if time.monotonic() > deadline:
                state = await self.webhook()
                raise AssertionError(
                    f"{len(short)} users have fewer than {count} replies (e.g. {short[:5]}); "
                    f"pending updates {len(state['pending'])}, "
                    f"last failures {state['failures'][-5:]}"
                )
            await asyncio.sleep(0.2)

    async def drained(self, timeout_s: float = 45.0) -> None:
        """Until the fake has no pending update (every one answered 2xx by some replica)."""
        deadline = time.monotonic() + timeout_s
        while (state := await self.webhook())["pending"]:
            if time.monotonic() > deadline:
                pending = state["pending"][:10]
                why = {
                    f["update_id"]: f["error"]
                    for f in state["failures"]
                    if f["update_id"] in pending
                }
                raise AssertionError(f"updates still pending: {pending}; their last errors: {why}")
            await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def replica_set(
    workdir: Path,
    pg_url: str,
    redis_url: str,
    *,
    replicas: int = 3,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[int, Mapping[str, str]] | None = None,
    gated: tuple[int, ...] = (),
    seed: int = 19,
) -> AsyncIterator[ReplicaSet]:
    """Localnet, ``replicas`` bots in webhook mode on ``pg_url``/``redis_url`` (migrated once),
    nginx in front; every process stopped afterwards. ``env``: settings for all replicas;
    ``overrides``: per replica index; ``gated``: replicas whose Bot API calls go through an
    ``ApiGate`` (``rs.gates[i]``)."""
    nginx_bin = find_nginx()
    if nginx_bin is None:
        from support.services import unavailable

        unavailable("nginx", FileNotFoundError("nginx is not installed (Debian package nginx)"))
        raise AssertionError("unreachable")
    workdir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before any process
    net = await LocalnetProcess.start(workdir, seed=seed)
    started: list[Replica] = []
    nginx: Nginx | None = None
    gates: dict[int, ApiGate] = {}
    try:
        secret = secrets.token_urlsafe(32)
        ports = [free_port() for _ in range(replicas)]
        nginx = Nginx(nginx_bin, workdir / "nginx", free_port(), ports)
        await nginx.start()
        url = f"http://127.0.0.1:{nginx.port}{WEBHOOK_PATH}"
        base_data = workdir / "replica-0"
        base_data.mkdir(exist_ok=True)
        base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir)}
        base |= net.bot_env(base_data)
        base |= {
            "DATABASE_URL": pg_url,
            "REDIS_URL": redis_url,
            "SESSION_MASTER_SECRET": secrets.token_hex(32),  # one for all replicas
            "TELEGRAM_WEBHOOK_URL": url,
            "TELEGRAM_WEBHOOK_SECRET": secret,
            "TELEGRAM_WEBHOOK_HOST": "127.0.0.1",
            "TELEGRAM_SEND_RATE_PER_S": "1000",
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "WARNING",
            "DATABASE_CONNECT_ATTEMPTS": "3",
        }
        base |= dict(env or {})
        migrate = await asyncio.create_subprocess_exec(
            SNIPER_BOT, "migrate", env=base, cwd=base_data,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await asyncio.wait_for(migrate.communicate(), BOOT_TIMEOUT_S)
        if migrate.returncode != 0:
            raise RuntimeError(f"sniper-bot migrate failed: {err.decode()[-2000:]}")
        for i in range(replicas):
            data_dir = workdir / f"replica-{i}"
            data_dir.mkdir(exist_ok=True)
            values = dict(base)
            values |= {
                "DATA_DIR": str(data_dir),
                "TELEGRAM_WEBHOOK_PORT": str(ports[i]),
                "METRICS_PORT": str(free_port()),
                "INSTANCE_ID": f"replica-{i}",
                "WORKER_ID": f"replica-{i}",
            }
            if i in gated:
                gate = gates[i] = ApiGate(net.urls["telegram"])
                await gate.start()
                values["TELEGRAM_API_URL"] = gate.url
            values |= dict((overrides or {}).get(i, {}))
            started.append(Replica(i, values, ports[i], int(values["METRICS_PORT"]), data_dir))
        await asyncio.gather(*(r.start() for r in started))
        await asyncio.gather(*(r.ready() for r in started))
        rs = ReplicaSet(net, nginx, started, secret, gates)
        deadline = time.monotonic() + 20
        while (await rs.webhook())["url"] != url:  # setWebhook: each replica's first call
            if time.monotonic() > deadline:
                raise AssertionError("no replica set the webhook")
            await asyncio.sleep(0.1)
        yield rs
    finally:
        await asyncio.gather(*(r.stop() for r in started), return_exceptions=True)
        if nginx is not None:
            await nginx.stop()
        for gate in gates.values():
            await gate.stop()
        await net.stop()


# --- the localnet process -----------------------------------------------------------------------
def _side_app(net: Any) -> web.Application:
    """What tests read from (or push in bulk into) the fake Bot API of this process."""
    fake = net.telegram

    async def sent(_: web.Request) -> web.Response:
        return web.json_response([
            {"method": c["method"], "chat": c.get("chat", {}).get("id"),
             "message_id": c.get("message_id"), "text": c.get("text", c.get("caption", ""))}
            for c in fake.sent
        ])  # fmt: skip

    async def webhook(_: web.Request) -> web.Response:
        return web.json_response({
            "url": fake.webhook_url,
            "pending": [u["update_id"] for u in fake.updates],
            "delivered": [d["update"]["update_id"] for d in fake.webhook_deliveries],
            "failures": fake.webhook_failures,
        })  # fmt: skip

    async def send(request: web.Request) -> web.Response:
        items = await request.json()
        updates = [fake.user_sends(int(i["user"]), str(i["text"])) for i in items]
        return web.json_response(updates, status=201)

    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_get("/sent", sent)
    app.router.add_get("/webhook", webhook)
    app.router.add_post("/send", send)
    return app


async def _serve_localnet(json_path: Path, seed: int) -> None:
    from localnet.__main__ import wait_until_answering, write_json_atomically
    from localnet.node import Localnet, LocalnetConfig
    from localnet.testing import TEST_ENDPOINTS

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    net = Localnet(LocalnetConfig(seed=seed, slot_ms=40, endpoints=TEST_ENDPOINTS,
                                  default_scenario=False))  # fmt: skip
    urls = await net.start()
    # the flood limits lifted: the bot's replicas, not Telegram's pacing, are under test
    net.telegram.bot_rate_per_s = net.telegram.bot_burst = 100_000
    net.telegram.chat_rate_per_s = 10.0
    runner = web.AppRunner(_side_app(net), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await wait_until_answering(urls)
        write_json_atomically(json_path, {**urls.to_json(), "fake": f"http://127.0.0.1:{port}"})
        await stop.wait()
    finally:
        await runner.cleanup()
        await net.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="replicas.py")
    parser.add_argument("what", choices=["localnet"])
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args(argv)
    asyncio.run(_serve_localnet(args.json, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
