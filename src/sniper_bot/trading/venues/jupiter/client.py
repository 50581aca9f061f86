"""Jupiter Swap API client over an injected ``aiohttp.ClientSession``.

Works against ``https://api.jup.ag/swap/v1`` (``x-api-key``), ``https://lite-api.jup.ag/swap/v1``,
the legacy ``https://quote-api.jup.ag/v6`` and localnet (a bare ``http://host:port`` gets
``/swap/v1`` appended). Every call goes through the venue's own breaker (optional, injected) and
the header-driven rate limiter; HTTP failures become ``TradingError``s with the order error type.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import aiohttp
import structlog

from sniper_bot.domain.quotes import Quote, SwapMode, SwapTransaction
from sniper_bot.ports.venue import JitoTip
from sniper_bot.trading.errors import (
    NoRouteError,
    TradingError,
    VenueAuthError,
    VenueRateLimited,
    VenueRequestError,
    VenueUnavailable,
)
from sniper_bot.trading.ratelimit import HeaderRateLimiter
from sniper_bot.trading.venues.jupiter import mapping
from sniper_bot.trading.venues.jupiter.constants import (
    KNOWN_VERSION_SUFFIXES,
    REQUEST_ERROR_CODES,
    ROUTING_ERROR_TYPES,
)

__all__ = ["BreakerLike", "JupiterClient", "JupiterVenue", "normalize_base_url"]

log = structlog.get_logger(__name__)
_T = TypeVar("_T")


class BreakerLike(Protocol):
    """The slice of ``sniper_bot.resilience``'s breaker we use (sync or async methods)."""

    def acquire(self) -> object: ...
    def record_success(self) -> object: ...
    def record_failure(self) -> object: ...


async def _maybe_await(value: object) -> None:
    if inspect.isawaitable(value):
        await value


def normalize_base_url(url: str) -> str:
    """``https://api.jup.ag/swap/v1/`` -> as is; ``http://127.0.0.1:9000`` -> ``.../swap/v1``."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"JUPITER_API_URL {url!r} is not an http(s) URL")
    base = url.strip().rstrip("/")
    if any(base.endswith(suffix) for suffix in KNOWN_VERSION_SUFFIXES):
        return base
    return base + "/swap/v1"


class JupiterClient:
    """Thin typed client: ``quote``, ``swap``, ``swap_instructions``, ``program_id_to_label``."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 5.0,
        breaker: BreakerLike | None = None,
        limiter: HeaderRateLimiter | None = None,
        max_wait_s: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._session = session
        self.base_url = normalize_base_url(base_url)
        self._headers = {"Accept": "application/json"}
        if api_key:
            self._headers["x-api-key"] = api_key
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._breaker = breaker
        self._limiter = limiter if limiter is not None else HeaderRateLimiter(clock)
        self._max_wait_s = max_wait_s
        self._sleep = sleep

    async def quote(
        self,
        input_mint: str,
        output_mint: str,
        amount: int,
        slippage_bps: int,
        *,
        swap_mode: SwapMode = "ExactIn",
        only_direct_routes: bool = False,
    ) -> Quote:
        params = mapping.quote_params(
            input_mint,
            output_mint,
            amount,
            slippage_bps,
            swap_mode=swap_mode,
            only_direct_routes=only_direct_routes,
        )
        body = await self._request("GET", "/quote", params=params)
        return self._parse(mapping.parse_quote, body)

    async def swap(
        self,
        quote: Quote,
        user_public_key: str,
        *,
        priority_fee_lamports: int | None,
        jito_tip_lamports: int | None = None,
    ) -> SwapTransaction:
        payload = mapping.swap_body(
            quote,
            user_public_key,
            priority_fee_lamports=priority_fee_lamports,
            jito_tip_lamports=jito_tip_lamports,
        )
        body = await self._request("POST", "/swap", json=payload)
        swap = self._parse(mapping.parse_swap, body)
        if swap.simulation_error:
            log.warning("jupiter_swap_simulation_error", error=swap.simulation_error)
        return swap

    async def swap_instructions(
        self, quote: Quote, user_public_key: str, *, priority_fee_lamports: int | None
    ) -> mapping.SwapInstructions:
        payload = mapping.swap_body(
            quote, user_public_key, priority_fee_lamports=priority_fee_lamports
        )
        body = await self._request("POST", "/swap-instructions", json=payload)
        return self._parse(mapping.parse_swap_instructions, body)

    async def program_id_to_label(self) -> dict[str, str]:
        body = await self._request("GET", "/program-id-to-label")
        if not isinstance(body, Mapping):
            raise VenueUnavailable("Jupiter program-id-to-label is not a JSON object")
        return {str(k): str(v) for k, v in body.items()}

    @staticmethod
    def _parse(parser: Callable[[Any], _T], body: Any) -> _T:
        try:
            return parser(body)
        except mapping.MalformedResponse as exc:
            raise VenueUnavailable(f"Jupiter sent a malformed response: {exc}") from exc

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> Any:
        decision = self._limiter.reserve()
        if decision.wait_s > self._max_wait_s:
            raise VenueRateLimited(
                f"Jupiter rate limit: next slot in {decision.wait_s:.1f} s",
                retry_after=decision.wait_s,
            )
        if decision.must_wait:
            await self._sleep(decision.wait_s)
        if self._breaker is not None:
            try:
                await _maybe_await(self._breaker.acquire())
            except Exception as exc:
                raise VenueUnavailable(f"Jupiter breaker refused the call: {exc}") from exc
        try:
            body = await self._send(method, path, params=params, json=json)
        except VenueUnavailable:
            if self._breaker is not None:
                await _maybe_await(self._breaker.record_failure())
            raise
        except TradingError:
            # 4xx: Jupiter answered; the venue itself is healthy.
            if self._breaker is not None:
                await _maybe_await(self._breaker.record_success())
            raise
        if self._breaker is not None:
            await _maybe_await(self._breaker.record_success())
        return body

    async def _send(
        self, method: str, path: str, *, params: Mapping[str, str] | None, json: Any
    ) -> Any:
        url = self.base_url + path
        try:
            async with self._session.request(
                method, url, params=params, json=json, headers=self._headers, timeout=self._timeout
            ) as resp:
                retry_after = self._limiter.observe(resp.status, resp.headers)
                try:
                    body: Any = await resp.json(content_type=None)
                except ValueError:
                    body = (await resp.text())[:300]
                status = resp.status
        except TimeoutError as exc:
            raise VenueUnavailable(f"Jupiter {path} timed out") from exc
        except aiohttp.ClientError as exc:
            raise VenueUnavailable(f"Jupiter {path} unreachable: {exc}") from exc
        if status < 300:
            return body
        code, message = mapping.error_code_of(body)
        details: dict[str, Any] = {"http_status": status}
        if code:
            details["errorCode"] = code
        if status == 429:
            raise VenueRateLimited(
                f"Jupiter rate limited {path} (HTTP 429)", retry_after=retry_after, details=details
            )
        if status in (401, 403):
            raise VenueAuthError(
                f"Jupiter refused {path} with HTTP {status}: set JUPITER_API_KEY to a valid key "
                "from portal.jup.ag, or point JUPITER_API_URL at the keyless host",
                details=details,
            )
        if status >= 500:
            raise VenueUnavailable(f"Jupiter {path} failed with HTTP {status}", details=details)
        text = f"Jupiter {path}: {message or 'HTTP ' + str(status)}"
        if code in ROUTING_ERROR_TYPES:
            raise NoRouteError(text, error_type=ROUTING_ERROR_TYPES[code], details=details)
        if code in REQUEST_ERROR_CODES:
            raise VenueRequestError(text, details=details)
        if "route" in message.lower():
            raise NoRouteError(text, details=details)
        raise VenueRequestError(text, details=details)


class JupiterVenue:
    """``Venue`` over a ``JupiterClient``."""

    def __init__(self, client: JupiterClient) -> None:
        self._client = client

    @property
    def name(self) -> str:
        return mapping.VENUE

    async def quote(
        self,
        input_mint: str,
        output_mint: str,
        amount: int,
        slippage_bps: int,
        *,
        swap_mode: SwapMode = "ExactIn",
    ) -> Quote:
        return await self._client.quote(
            input_mint, output_mint, amount, slippage_bps, swap_mode=swap_mode
        )

    async def build_swap(
        self,
        quote: Quote,
        user_public_key: str,
        *,
        priority_fee_lamports: int | None,
        tip: JitoTip | None = None,
    ) -> SwapTransaction:
        """With ``tip`` Jupiter adds the tip transfer (to a Jito tip account of its choosing)
        instead of a compute-unit price: the API takes one or the other."""
        return await self._client.swap(
            quote,
            user_public_key,
            priority_fee_lamports=priority_fee_lamports,
            jito_tip_lamports=tip.lamports if tip is not None else None,
        )
