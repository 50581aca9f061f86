"""`python -m localnet [--seed N] [--scenario FILE] [--slot-ms MS] [--json FILE]`: run until Ctrl-C.

`serve()` is what the `sniper-bot localnet` command calls. Without a scenario file it plays the
endless default mix (a token launch every few seconds) unless the config says
`default_scenario=False` (`--no-scenario`). The `--json FILE` contract is written once every
server answers: `{"rpc": {"<name>": {"http", "ws"}}, "jupiter", "telegram", "control"}`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import aiohttp
from rich.console import Console
from rich.table import Table

from localnet.launches import load_scenario
from localnet.node import Localnet, LocalnetConfig, LocalnetUrls


async def wait_until_answering(urls: LocalnetUrls, timeout_s: float = 10.0) -> None:
    """Every RPC endpoint answers `getHealth` and the control API answers `/state`."""
    checks = [(u["http"], True) for u in urls.rpc.values()] + [(urls.control + "/state", False)]
    body = {"jsonrpc": "2.0", "id": 1, "method": "getHealth"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session:
        for url, is_rpc in checks:
            request = session.post(url, json=body) if is_rpc else session.get(url)
            async with request as response:
                response.raise_for_status()


def write_json_atomically(path: Path, data: object) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def endpoints_table(urls: LocalnetUrls) -> Table:
    table = Table(title="localnet")
    table.add_column("service")
    table.add_column("http")
    table.add_column("ws")
    for name, pair in urls.rpc.items():
        table.add_row(f"rpc:{name}", pair["http"], pair["ws"])
    table.add_row("jupiter", urls.jupiter or "(not built)", "")
    table.add_row("telegram", urls.telegram or "(not built)", "")
    table.add_row("control", urls.control, "")
    for name, geyser in urls.geyser.items():  # gRPC: the token goes in `x-token` metadata
        table.add_row(f"geyser:{name}", geyser["url"], f"x-token {geyser['x_token']}")
    return table


async def serve(
    config: LocalnetConfig,
    *,
    json_path: Path | None = None,
    on_ready: Callable[[LocalnetUrls], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run a localnet until `stop` is set (default: until SIGINT/SIGTERM)."""
    stop = stop or asyncio.Event()
    if config.default_scenario is None:
        config = replace(config, default_scenario=True)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    net = Localnet(config)
    urls = await net.start()
    try:
        await wait_until_answering(urls)
        if json_path is not None:
            write_json_atomically(json_path, urls.to_json())
        if on_ready is not None:
            on_ready(urls)
        await stop.wait()
    finally:
        await net.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m localnet", description=__doc__)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenario", type=Path, default=None, help="scenario TOML file")
    parser.add_argument(
        "--no-scenario", action="store_true", help="no default scenario: launch only when asked"
    )
    parser.add_argument(
        "--slot-ms", type=int, default=400, help="slot length in ms; 0 = advance only when asked"
    )
    parser.add_argument(
        "--stream-tick-ms",
        type=int,
        default=50,
        help="the leader executes what it received every this many ms inside a slot; 0 = once "
        "a slot, at its top",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the URLs here when ready")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--no-sigverify", action="store_true", help="skip signature checks")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> LocalnetConfig:
    return LocalnetConfig(
        seed=args.seed,
        slot_ms=args.slot_ms or None,
        stream_tick_ms=args.stream_tick_ms or None,
        scenario=args.scenario,
        default_scenario=not args.no_scenario,
        host=args.host,
        sigverify=not args.no_sigverify,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(stderr=True)

    def ready(urls: LocalnetUrls) -> None:
        console.print(endpoints_table(urls))
        console.print("Ctrl-C to stop.")

    try:
        config = config_from_args(args)
        if config.scenario is not None:
            load_scenario(config.scenario)  # fail before any server starts
    except (OSError, ValueError) as exc:
        console.print(f"[red]cannot load scenario {args.scenario}: {exc}[/]")
        return 2
    asyncio.run(serve(config, json_path=args.json, on_ready=ready))
    return 0


if __name__ == "__main__":
    sys.exit(main())
