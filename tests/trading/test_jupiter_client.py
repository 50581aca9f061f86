"""The Jupiter client against an aiohttp test server speaking PROTOCOLS 1.x payloads."""

from __future__ import annotations

import base64
import copy
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from sniper_bot.domain.orders import OrderErrorType
from sniper_bot.observability.metrics import Metrics
from sniper_bot.resilience import BreakerConfig, BreakerState, CircuitBreaker, MemoryBreakerStore
from sniper_bot.trading.errors import (
    NoRouteError,
    VenueAuthError,
    VenueRateLimited,
    VenueRequestError,
    VenueUnavailable,
)
from sniper_bot.trading.ratelimit import HeaderRateLimiter
from sniper_bot.trading.venues.jupiter import JupiterClient, JupiterVenue, normalize_base_url

SOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"

DOCS_QUOTE: dict[str, Any] = {
    "inputMint": SOL,
    "inAmount": "100000000",
    "outputMint": USDC,
    "outAmount": "17057460",
    "otherAmountThreshold": "16886885",
    "swapMode": "ExactIn",
    "slippageBps": 100,
    "priceImpactPct": "0.0001",
    "platformFee": {"amount": "0", "feeBps": 0},
    "routePlan": [
        {
            "swapInfo": {
                "ammKey": "HXpGFJGCEEFdV31tDmjDBaJMEB1fKLiAoKoWr3Fnonid",
                "label": "Meteora DLMM",
                "inputMint": SOL,
                "outputMint": USDC,
                "inAmount": "100000000",
                "outAmount": "17057460",
                "feeAmount": "1285",
                "feeMint": USDC,
            },
            "percent": 100,
        }
    ],
    "contextSlot": 324307186,
    "timeTaken": 0.012,
}


def drifted_quote() -> dict[str, Any]:
    """The Nov-2025+ shape: no feeAmount/feeMint, percent null + bps, null platformFee, extras."""
    q = copy.deepcopy(DOCS_QUOTE)
    info = q["routePlan"][0]["swapInfo"]
    del info["feeAmount"], info["feeMint"]
    q["routePlan"][0]["percent"] = None
    q["routePlan"][0]["bps"] = 10_000
    q["platformFee"] = None
    q["mostReliableAmmsQuoteReport"] = {"info": {"x": "1"}}
    q["swapUsdValue"] = "17.05"
    return q


TX_B64 = base64.b64encode(b"\x01" + bytes(64) + b"msg").decode()


class FakeJupiter:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self.quote_reply: Callable[[], web.Response] = lambda: web.json_response(DOCS_QUOTE)
        self.swap_reply: Callable[[], web.Response] = lambda: web.json_response(
            {
                "swapTransaction": TX_B64,
                "lastValidBlockHeight": 279632475,
                "prioritizationFeeLamports": 9999,
                "computeUnitLimit": 388876,
                "prioritizationType": {"computeBudget": {"microLamports": 25715}},
                "simulationError": None,
            }
        )

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/swap/v1/quote", self.quote)
        app.router.add_post("/swap/v1/swap", self.swap)
        app.router.add_get("/v6/quote", self.quote)
        return app

    async def quote(self, request: web.Request) -> web.Response:
        self.requests.append(("GET", request.path, dict(request.headers), dict(request.query)))
        return self.quote_reply()

    async def swap(self, request: web.Request) -> web.Response:
        self.requests.append(("POST", request.path, dict(request.headers), await request.json()))
        return self.swap_reply()


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeJupiter, str]]:
    jf = FakeJupiter()
    server = TestServer(jf.app())
    await server.start_server()
    try:
        yield jf, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://api.jup.ag/swap/v1", "https://api.jup.ag/swap/v1"),
        ("https://lite-api.jup.ag/swap/v1/", "https://lite-api.jup.ag/swap/v1"),
        ("https://quote-api.jup.ag/v6", "https://quote-api.jup.ag/v6"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/swap/v1"),
    ],
)
def test_base_url_accepts_every_documented_host(given: str, expected: str) -> None:
    assert normalize_base_url(given) == expected


def test_base_url_rejects_non_http() -> None:
    with pytest.raises(ValueError, match="JUPITER_API_URL"):
        normalize_base_url("ftp://x")


async def test_quote_sends_query_and_api_key_and_parses_docs_example(
    fake: tuple[FakeJupiter, str], session: aiohttp.ClientSession
) -> None:
    jf, url = fake
    client = JupiterClient(session, url, api_key="k-123")
    quote = await client.quote(SOL, USDC, 100_000_000, 100)
    method, path, headers, query = jf.requests[0]
    assert (method, path) == ("GET", "/swap/v1/quote")
    assert headers["x-api-key"] == "k-123"
    assert query == {
        "inputMint": SOL,
        "outputMint": USDC,
        "amount": "100000000",
        "slippageBps": "100",
        "swapMode": "ExactIn",
    }
    assert (quote.in_amount, quote.out_amount, quote.other_amount_threshold) == (
        100_000_000,
        17_057_460,
        16_886_885,
    )
    assert quote.price_impact_pct == Decimal("0.0001")
    assert quote.route[0].bps == 10_000
    assert quote.route[0].fee_amount == 1285
    assert quote.context_slot == 324307186


async def test_quote_tolerates_schema_drift(
    fake: tuple[FakeJupiter, str], session: aiohttp.ClientSession
) -> None:
    jf, url = fake
    jf.quote_reply = lambda: web.json_response(drifted_quote())
    quote = await JupiterClient(session, url).quote(SOL, USDC, 100_000_000, 100)
    assert quote.route[0].bps == 10_000
    assert quote.route[0].fee_amount is None
    assert quote.raw["swapUsdValue"] == "17.05"
    assert "x-api-key" not in jf.requests[0][2]


async def test_legacy_v6_base_url_works(
    fake: tuple[FakeJupiter, str], session: aiohttp.ClientSession
) -> None:
    jf, url = fake
    await JupiterClient(session, url + "/v6").quote(SOL, USDC, 5, 100)
    assert jf.requests[0][1] == "/v6/quote"


async def test_swap_posts_the_quote_verbatim_and_decodes_the_transaction(
    fake: tuple[FakeJupiter, str], session: aiohttp.ClientSession
) -> None:
    jf, url = fake
    venue = JupiterVenue(JupiterClient(session, url))
    quote = await venue.quote(SOL, USDC, 100_000_000, 100)
    swap = await venue.build_swap(
        quote, "BQ72nSv9f3PRyRKCBnHLVrerrv37CYTHm5h3s9VSGQDV", priority_fee_lamports=10_000
    )
    body = jf.requests[1][3]
    assert body["quoteResponse"] == DOCS_QUOTE
    assert body["userPublicKey"] == "BQ72nSv9f3PRyRKCBnHLVrerrv37CYTHm5h3s9VSGQDV"
    assert body["prioritizationFeeLamports"] == 10_000
    assert swap.tx_bytes == base64.b64decode(TX_B64)
    assert swap.last_valid_block_height == 279632475
    assert swap.compute_unit_limit == 388876


@pytest.mark.parametrize(
    ("code", "exc", "error_type"),
    [
        ("COULD_NOT_FIND_ANY_ROUTE", NoRouteError, OrderErrorType.NO_ROUTE),
        ("NO_ROUTES_FOUND", NoRouteError, OrderErrorType.NO_ROUTE),
        ("TOKEN_NOT_TRADABLE", NoRouteError, OrderErrorType.NO_ROUTE),
        ("MARKET_NOT_FOUND", NoRouteError, OrderErrorType.NO_ROUTE),
        ("NOT_SUPPORTED", NoRouteError, OrderErrorType.NO_ROUTE),
        ("CIRCULAR_ARBITRAGE_IS_DISABLED", NoRouteError, OrderErrorType.NO_ROUTE),
        ("CANNOT_COMPUTE_OTHER_AMOUNT_THRESHOLD", NoRouteError, OrderErrorType.NO_ROUTE),
        (
            "ROUTE_PLAN_DOES_NOT_CONSUME_ALL_THE_AMOUNT",
            NoRouteError,
            OrderErrorType.INSUFFICIENT_LIQUIDITY,
        ),
        ("FAILED_TO_GET_SWAP_AND_ACCOUNT_METAS", NoRouteError, OrderErrorType.NO_ROUTE),
        ("MAX_ACCOUNT_GREATER_THAN_MAX", VenueRequestError, OrderErrorType.NO_ROUTE),
        (
            "INVALID_COMPUTE_UNIT_PRICE_AND_PRIORITIZATION_FEE",
            VenueRequestError,
            OrderErrorType.NO_ROUTE,
        ),
    ],
)
async def test_every_documented_error_code_is_mapped(
    fake: tuple[FakeJupiter, str],
    session: aiohttp.ClientSession,
    code: str,
    exc: type[Exception],
    error_type: OrderErrorType,
) -> None:
    jf, url = fake
    jf.quote_reply = lambda: web.json_response({"error": "nope", "errorCode": code}, status=400)
    with pytest.raises(exc) as info:
        await JupiterClient(session, url).quote(SOL, USDC, 1, 100)
    assert info.value.error_type is error_type  # type: ignore[attr-defined]
    assert info.value.details["errorCode"] == code  # type: ignore[attr-defined]


async def test_401_says_how_to_fix_the_key(
    fake: tuple[FakeJupiter, str], session: aiohttp.ClientSession
) -> None:
    jf, url = fake
    jf.quote_reply = lambda: web.Response(status=401, text="Unauthorized")
    with pytest.raises(VenueAuthError, match="JUPITER_API_KEY"):
        await JupiterClient(session, url).quote(SOL, USDC, 1, 100)


async def test_5xx_and_malformed_bodies_are_temporary(
    fake: tuple[FakeJupiter, str], session: aiohttp.ClientSession
) -> None:
    jf, url = fake
    client = JupiterClient(session, url)
    jf.quote_reply = lambda: web.Response(status=503, text="busy")
    with pytest.raises(VenueUnavailable, match="503"):
        await client.quote(SOL, USDC, 1, 100)
    jf.quote_reply = lambda: web.json_response({"inputMint": SOL})
    with pytest.raises(VenueUnavailable, match="malformed"):
        await client.quote(SOL, USDC, 1, 100)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_429_honours_x_ratelimit_reset_before_the_next_call(
    fake: tuple[FakeJupiter, str], session: aiohttp.ClientSession
) -> None:
    jf, url = fake
    clock = Clock(1_000_000.0)
    headers = {
        "x-ratelimit-remaining": "-1",
        "x-ratelimit-current": "61",
        "x-ratelimit-reset": str(int(clock.now) + 3),
    }
    jf.quote_reply = lambda: web.Response(status=429, headers=headers)
    client = JupiterClient(
        session, url, limiter=HeaderRateLimiter(clock), sleep=clock.sleep, clock=clock
    )
    with pytest.raises(VenueRateLimited) as info:
        await client.quote(SOL, USDC, 1, 100)
    assert info.value.retry_after == pytest.approx(3.0)
    jf.quote_reply = lambda: web.json_response(DOCS_QUOTE)
    await client.quote(SOL, USDC, 1, 100)
    assert clock.slept == [pytest.approx(3.0)]


async def test_wait_longer_than_max_fails_fast_without_a_request(
    fake: tuple[FakeJupiter, str], session: aiohttp.ClientSession
) -> None:
    jf, url = fake
    clock = Clock(1_000_000.0)
    limiter = HeaderRateLimiter(clock)
    limiter.observe(200, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(clock.now + 60)})
    client = JupiterClient(session, url, limiter=limiter, sleep=clock.sleep, max_wait_s=5)
    with pytest.raises(VenueRateLimited):
        await client.quote(SOL, USDC, 1, 100)
    assert jf.requests == []


def breaker_count(metrics: Metrics, what: str) -> float:
    value = metrics.registry.get_sample_value(f"circuit_breaker_{what}_total", {"name": "jupiter"})
    return value or 0.0


async def test_the_breaker_opens_on_5xx_not_on_4xx_and_lets_a_probe_through_after_its_timeout(
    fake: tuple[FakeJupiter, str], session: aiohttp.ClientSession
) -> None:
    jf, url = fake
    clock, metrics = Clock(1_000_000.0), Metrics()
    config = BreakerConfig(failure_threshold=2, success_threshold=1, timeout_s=30)
    breaker = CircuitBreaker("jupiter", config, MemoryBreakerStore(), metrics, clock=clock)
    client = JupiterClient(session, url, breaker=breaker)

    jf.quote_reply = lambda: web.Response(status=502)
    with pytest.raises(VenueUnavailable):
        await client.quote(SOL, USDC, 1, 100)
    jf.quote_reply = lambda: web.json_response({"errorCode": "NO_ROUTES_FOUND"}, status=400)
    with pytest.raises(NoRouteError):  # Jupiter answered: the venue is healthy
        await client.quote(SOL, USDC, 1, 100)
    assert (breaker_count(metrics, "failures"), breaker_count(metrics, "successes")) == (1, 1)
    assert breaker.state() is BreakerState.CLOSED

    jf.quote_reply = lambda: web.Response(status=503)
    with pytest.raises(VenueUnavailable):
        await client.quote(SOL, USDC, 1, 100)
    assert breaker.state() is BreakerState.OPEN  # the second 5xx within the period
    with pytest.raises(VenueUnavailable, match="breaker refused"):
        await client.quote(SOL, USDC, 1, 100)
    assert len(jf.requests) == 3  # the refused call never reached Jupiter
    assert breaker_count(metrics, "rejections") == 1

    clock.now += 29
    with pytest.raises(VenueUnavailable, match="breaker refused"):
        await client.quote(SOL, USDC, 1, 100)
    clock.now += 1  # the OPEN timeout has elapsed: one probe goes through and closes it
    jf.quote_reply = lambda: web.json_response(DOCS_QUOTE)
    quote = await client.quote(SOL, USDC, 100_000_000, 100)
    assert quote.out_amount == 17_057_460
    assert breaker.state() is BreakerState.CLOSED
    assert len(jf.requests) == 4


def test_rate_limiter_spaces_requests_at_rps() -> None:
    clock = Clock(100.0)
    limiter = HeaderRateLimiter(clock, rps=0.5)
    assert limiter.reserve().wait_s == 0
    assert limiter.reserve().wait_s == pytest.approx(2.0)
    assert limiter.reserve().wait_s == pytest.approx(4.0)
