"""The RugCheck and GoPlus clients against an aiohttp server standing in for both real APIs.

Every failure mode (timeout, 429, 5xx, 404, garbage, open breaker, refused connection) is
"no opinion": ``None`` returned, nothing raised, and a hanging API never holds the caller past the
client's own timeout (the hanging fake never answers, so a returned value proves the bound).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from structlog.testing import capture_logs

from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import BreakerConfig, BreakerRegistry, BreakerState, MemoryBreakerStore
from sniper_bot.safety.external import (
    GOPLUS,
    RUGCHECK,
    GoPlusClient,
    RugCheckClient,
    external_sources,
    gather_opinions,
)
from sniper_bot.safety.snapshot import ExternalOpinion

MINT = "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr"

# --- the fake APIs (also used by test_external_fetch.py) ------------------------------------------

RUGCHECK_DANGER: dict[str, Any] = {
    "tokenProgram": "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
    "risks": [
        {
            "name": "Freeze Authority still enabled",
            "value": "",
            "description": "Tokens can be frozen and prevented from trading in the future",
            "score": 7500,
            "level": "danger",
        },
        {"name": "Large Amount of LP Unlocked", "value": "93%", "score": 11000, "level": "danger"},
    ],
    "score": 18501,
    "score_normalised": 88,
}


def goplus_danger(mint: str) -> dict[str, Any]:
    return {
        "code": 1,
        "message": "OK",
        "result": {
            mint.lower(): {
                "freezable": {
                    "status": "1",
                    "authority": [{"address": "x", "malicious_address": 0}],
                },
                "balance_mutable_authority": {"status": "1", "authority": []},
                "mintable": {"status": "0", "authority": []},
                "trusted_token": "0",
            }
        },
    }


@dataclass
class Behaviour:
    """What one API does: ``mode`` in json | status | hang | garbage | slow."""

    mode: str = "json"
    body: Any = None
    status: int = 200
    gate: asyncio.Event | None = None  # "gated": answer only once this is set

    def __post_init__(self) -> None:
        if self.mode == "gated" and self.gate is None:
            self.gate = asyncio.Event()


@dataclass
class FakeApis:
    base_url: str = ""
    rugcheck: Behaviour = field(default_factory=Behaviour)
    goplus: Behaviour = field(default_factory=Behaviour)
    hits: dict[str, int] = field(default_factory=lambda: {"rugcheck": 0, "goplus": 0})
    requests: list[str] = field(default_factory=list)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)  # set by the first request

    async def _answer(self, name: str, behaviour: Behaviour) -> web.StreamResponse:
        self.hits[name] += 1
        self.arrived.set()
        if behaviour.mode == "hang":
            await self.released.wait()
        if behaviour.mode == "gated":
            assert behaviour.gate is not None
            await behaviour.gate.wait()
        if behaviour.mode == "status":
            return web.json_response({"error": "nope"}, status=behaviour.status)
        if behaviour.mode == "garbage":
            return web.Response(text="<html>502 bad gateway</html>", content_type="text/html")
        return web.json_response(behaviour.body, status=behaviour.status)

    async def _rugcheck(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(str(request.rel_url))
        return await self._answer("rugcheck", self.rugcheck)

    async def _goplus(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(str(request.rel_url))
        return await self._answer("goplus", self.goplus)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/tokens/{mint}/report/summary", self._rugcheck)
        app.router.add_get("/api/v1/solana/token_security", self._goplus)
        return app


@asynccontextmanager
async def fake_apis() -> AsyncIterator[FakeApis]:
    fakes = FakeApis()
    server = TestServer(fakes.app())
    await server.start_server()
    fakes.base_url = str(server.make_url("")).rstrip("/")
    try:
        yield fakes
    finally:
        fakes.released.set()
        for behaviour in (fakes.rugcheck, fakes.goplus):
            if behaviour.gate is not None:
                behaviour.gate.set()
        await server.close()


# --- tests ----------------------------------------------------------------------------------------

FAST = 0.3  # seconds: the client timeout used where a fake hangs


@pytest_asyncio.fixture
async def apis() -> AsyncIterator[FakeApis]:
    async with fake_apis() as fakes:
        yield fakes


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def registry(threshold: int = 5) -> BreakerRegistry:
    config = BreakerConfig(failure_threshold=threshold, timeout_s=3600)
    return BreakerRegistry(MemoryBreakerStore(), config, Metrics())


async def test_rugcheck_summary_becomes_an_opinion(
    apis: FakeApis, session: aiohttp.ClientSession
) -> None:
    apis.rugcheck = Behaviour(body=RUGCHECK_DANGER)
    opinion = await RugCheckClient(session, apis.base_url + "/").opinion(MINT)
    assert opinion is not None
    assert (opinion.source, opinion.score) == (RUGCHECK, 88)
    assert "danger: Large Amount of LP Unlocked (93%)" in opinion.risks
    assert apis.requests == [f"/v1/tokens/{MINT}/report/summary"]


async def test_goplus_token_security_becomes_an_opinion(
    apis: FakeApis, session: aiohttp.ClientSession
) -> None:
    apis.goplus = Behaviour(body=goplus_danger(MINT))  # result key lower-cased
    opinion = await GoPlusClient(session, apis.base_url).opinion(MINT)
    assert opinion is not None
    assert (opinion.source, opinion.score) == (GOPLUS, 100)
    assert opinion.risks[0] == "danger: freeze authority live"
    assert apis.requests == [f"/api/v1/solana/token_security?contract_addresses={MINT}"]


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        (Behaviour(mode="status", status=429), "HTTP 429"),
        (Behaviour(mode="status", status=503), "HTTP 503"),
        (Behaviour(mode="status", status=500), "HTTP 500"),
        (Behaviour(mode="status", status=404), "HTTP 404 (not analysed)"),
        (Behaviour(mode="garbage"), "body is not JSON"),
        (Behaviour(body={"unexpected": "shape"}), "malformed body"),
        (Behaviour(body=[1, 2, 3]), "malformed body"),
        (Behaviour(mode="hang"), "no answer within 0.3 s"),
    ],
    ids=["429", "503", "500", "404", "html", "no-verdict", "list", "timeout"],
)
@pytest.mark.parametrize("which", [RUGCHECK, GOPLUS])
async def test_every_failure_is_no_opinion_with_a_logged_reason(
    apis: FakeApis, session: aiohttp.ClientSession, behaviour: Behaviour, reason: str, which: str
) -> None:
    setattr(apis, which, behaviour)
    client = (RugCheckClient if which == RUGCHECK else GoPlusClient)(
        session, apis.base_url, timeout_s=FAST
    )
    with capture_logs() as logs:
        assert await client.opinion(MINT) is None
    [entry] = [e for e in logs if e["event"] == "safety.external_no_opinion"]
    assert entry["source"] == which
    assert entry["reason"].startswith(reason)
    assert apis.hits[which] == 1


async def test_refused_connection_is_no_opinion(session: aiohttp.ClientSession) -> None:
    async with fake_apis() as gone:
        url = gone.base_url
    assert await RugCheckClient(session, url, timeout_s=FAST).opinion(MINT) is None


async def test_failures_open_the_sources_own_breaker_and_then_no_request_is_made(
    apis: FakeApis, session: aiohttp.ClientSession
) -> None:
    breakers = registry(threshold=2)
    apis.rugcheck = Behaviour(mode="status", status=503)
    apis.goplus = Behaviour(body=goplus_danger(MINT))
    rugcheck, goplus = external_sources(
        session, breakers, rugcheck_url=apis.base_url, goplus_url=apis.base_url
    )
    for _ in range(2):
        assert await rugcheck.opinion(MINT) is None
    assert breakers.get("rugcheck").state() is BreakerState.OPEN
    with capture_logs() as logs:
        assert await rugcheck.opinion(MINT) is None
    assert apis.hits["rugcheck"] == 2  # refused without a request
    assert logs[-1]["reason"] == "circuit breaker open"
    assert await goplus.opinion(MINT) is not None  # its own breaker, untouched
    assert breakers.get("goplus").state() is BreakerState.CLOSED


async def test_a_timeout_counts_against_the_breaker_but_a_404_does_not(
    apis: FakeApis, session: aiohttp.ClientSession
) -> None:
    breakers = registry(threshold=1)
    apis.rugcheck = Behaviour(mode="status", status=404)
    apis.goplus = Behaviour(mode="hang")
    rugcheck, goplus = external_sources(
        session, breakers, rugcheck_url=apis.base_url, goplus_url=apis.base_url, timeout_s=FAST
    )
    assert await rugcheck.opinion(MINT) is None
    assert await goplus.opinion(MINT) is None
    assert breakers.get("rugcheck").state() is BreakerState.CLOSED
    assert breakers.get("goplus").state() is BreakerState.OPEN


async def test_gather_asks_both_at_once_and_names_the_silent_one(
    apis: FakeApis, session: aiohttp.ClientSession
) -> None:
    # RugCheck answers only after GoPlus was asked: sequential calls would time out.
    apis.rugcheck = Behaviour(mode="gated", body=RUGCHECK_DANGER)
    apis.goplus = Behaviour(mode="hang")
    assert apis.rugcheck.gate is not None
    gate: asyncio.Event = apis.rugcheck.gate

    class OpenGateFirst(GoPlusClient):
        async def opinion(self, mint: str) -> ExternalOpinion | None:
            gate.set()
            return await super().opinion(mint)

    sources = (
        RugCheckClient(session, apis.base_url, timeout_s=2.0),
        OpenGateFirst(session, apis.base_url, timeout_s=FAST),
    )
    opinions, missing = await gather_opinions(sources, MINT)
    assert [o.source for o in opinions] == [RUGCHECK]
    assert missing == ("goplus opinion",)


@pytest.mark.parametrize("url", ["api.rugcheck.xyz", "ftp://x", ""])
async def test_a_bad_base_url_is_a_configuration_error_naming_the_setting(
    session: aiohttp.ClientSession, url: str
) -> None:
    with pytest.raises(ValueError, match="RUGCHECK_API_URL"):
        RugCheckClient(session, url)
    with pytest.raises(ValueError, match="GOPLUS_API_URL"):
        GoPlusClient(session, url)
