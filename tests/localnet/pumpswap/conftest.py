from __future__ import annotations

import os

import pytest
from pump.oracle import Oracle, OracleUnavailable


@pytest.fixture(scope="session")
def oracle() -> Oracle:
    try:
        return Oracle()
    except OracleUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the pump.fun SDK oracle is required in CI: {exc}")
        pytest.skip(f"the pump.fun SDK oracle is unavailable: {exc}")
