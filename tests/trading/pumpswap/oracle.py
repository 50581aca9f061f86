"""The PumpSwap venue's SDK oracle (tests/oracle/pumpswap_venue.js) seen from Python: one `node`
process per batch; the oracle's packages come from its lockfile (tests/localnet/pump/oracle.py
installs them the same way)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ORACLE_DIR = Path(__file__).resolve().parents[2] / "oracle"
SCRIPT = ORACLE_DIR / "pumpswap_venue.js"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the pump-swap SDK oracle is required in CI: {reason}")
    pytest.skip(f"the pump-swap SDK oracle is unavailable: {reason}")


def ensure_installed() -> None:
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            _unavailable(f"{tool} is not installed")
    if (ORACLE_DIR / "node_modules" / "@pump-fun" / "pump-swap-sdk").is_dir():
        return
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"], cwd=ORACLE_DIR, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        _unavailable(f"npm ci failed in {ORACLE_DIR}: {done.stderr[-2000:]}")


def ask(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Answers of the official SDK, in order (see the script's header for the shapes)."""
    done = subprocess.run(
        ["node", str(SCRIPT)], input=json.dumps(requests), capture_output=True, text=True,
        timeout=600, check=False, env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"oracle failed: {done.stderr[-3000:]}")
    answers: list[dict[str, Any]] = json.loads(done.stdout)
    return answers
