"""The pump.fun SDK oracle (tests/oracle/oracle.js) seen from Python: one `node` process per call,
requests batched as a JSON list. `npm ci` runs once when node_modules is missing."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

ORACLE_DIR = Path(__file__).resolve().parents[2] / "oracle"
SCRIPT = ORACLE_DIR / "oracle.js"


class OracleUnavailable(RuntimeError):
    pass


def ensure_installed() -> None:
    """Install the oracle's packages from its lockfile when missing (CI: a missing node or npm is
    an error; elsewhere the caller may skip)."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise OracleUnavailable(f"{tool} is not installed")
    if (ORACLE_DIR / "node_modules" / "@pump-fun" / "pump-sdk").is_dir():
        return
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"], cwd=ORACLE_DIR, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise OracleUnavailable(f"npm ci failed in {ORACLE_DIR}: {done.stderr[-2000:]}")


class Oracle:
    """Calls into the official SDK; every answer is JSON (BN as decimal strings)."""

    def __init__(self) -> None:
        ensure_installed()
        self.calls = 0

    def __call__(self, request: Any) -> Any:
        self.calls += 1
        done = subprocess.run(
            ["node", str(SCRIPT)], input=json.dumps(request), capture_output=True, text=True,
            timeout=300, check=False, env={**os.environ, "NODE_NO_WARNINGS": "1"},
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"oracle failed: {done.stderr[-3000:]}")
        return json.loads(done.stdout)

    async def run(self, request: Any) -> Any:
        """The same, without blocking the event loop (for requests that call localnet's RPC)."""
        self.calls += 1
        proc = await asyncio.create_subprocess_exec(
            "node", str(SCRIPT), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env={**os.environ, "NODE_NO_WARNINGS": "1"},
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(json.dumps(request).encode()), 300)
        if proc.returncode != 0:
            raise RuntimeError(f"oracle failed: {err.decode()[-3000:]}")
        return json.loads(out)


def b64(data: bytes) -> str:
    return base64.b64encode(bytes(data)).decode()
