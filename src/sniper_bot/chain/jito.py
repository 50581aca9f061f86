"""Jito block engine client: one ``JitoClient`` per block-engine URL, aiohttp, no hidden retries.

Jito's JSON-RPC (docs.jito.wtf, "Low Latency Transaction Send"), the shapes ``jito-js-rpc`` sends:

    POST {base}/api/v1/bundles        sendBundle [[tx, ...], {"encoding": "base64"}] -> bundle id
                                      getBundleStatuses [[id, ...]], getInflightBundleStatuses
                                      [[id, ...]], getTipAccounts []
    POST {base}/api/v1/transactions   sendTransaction [tx, {"encoding": "base64"}]
                                      (``?bundleOnly=true``: only as a one-transaction bundle; its
                                      id comes back in the ``x-bundle-id`` header)
    GET  tip floor URL                [{"landed_tips_50th_percentile": SOL, ...}] (bundles.jito.wtf)

An optional auth uuid goes both ways Jito accepts it: the ``uuid`` query parameter (jito-js-rpc)
and the ``x-jito-auth`` header (jito-py-rpc). It is a credential: never in a log or an error.

Failures are the chain's classified ``RpcError``s (``wire``): HTTP 429 and Jito's ``-32097``
"globally rate limited" are ``RpcRateLimited``, 5xx / connection errors ``RpcTransportError``, no
answer ``RpcTimeout``, unparseable bodies ``RpcMalformedResponse`` (all ``TemporaryError``); a
bundle or transaction the engine refuses (HTTP 400 with a JSON-RPC error: no tip account locked,
more than 5 transactions, already processed...) is ``BundleRejected``, a ``PermanentError``
carrying the engine's own message.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypeVar
from urllib.parse import urlencode, urlsplit

import aiohttp
import structlog
from solders.pubkey import Pubkey

from sniper_bot.chain import wire
from sniper_bot.chain.endpoints import redact_url
from sniper_bot.chain.errors import (
    RpcClientClosed,
    RpcError,
    RpcMalformedResponse,
    RpcRequestError,
    RpcTimeout,
    RpcTransportError,
)
from sniper_bot.errors import ConfigError

__all__ = [
    "DEFAULT_TIP_FLOOR_URL",
    "JITO_TIP_ACCOUNTS",
    "LAMPORTS_PER_SOL",
    "MAX_BUNDLE_TRANSACTIONS",
    "TIP_PERCENTILES",
    "BundleRejected",
    "BundleStatus",
    "InflightStatus",
    "JitoClient",
    "TipFloorCache",
    "TipPercentile",
    "parse_tip_floor",
]

T = TypeVar("T")
log = structlog.get_logger(__name__)
LAMPORTS_PER_SOL = 1_000_000_000
MAX_BUNDLE_TRANSACTIONS = 5
MAX_STATUS_IDS = 5  # getBundleStatuses / getInflightBundleStatuses take at most 5 ids per call
DEFAULT_TIP_FLOOR_URL = "https://bundles.jito.wtf/api/v1/bundles/tip_floor"
MIN_TIP_LAMPORTS = 1_000  # Jito's minimum tip
TIP_ACCOUNTS_TTL_S = 600.0

# Jito's 8 mainnet tip accounts (getTipAccounts on mainnet.block-engine.jito.wtf): known without a
# network call, so the hot path tells a tipped transaction at once; get_tip_accounts refreshes.
JITO_TIP_ACCOUNTS: frozenset[Pubkey] = frozenset(
    Pubkey.from_string(key)
    for key in (
        "96gYZGLnJYVFmbjzopPSU6QiEV5fGqZNyN9nmNhvrZU5",
        "HFqU5x63VTqvQss8hp11i4wVV8bD44PvwucfZ2bU7gRe",
        "Cw8CFyM9FkoMi7K7Crf6HNQqf4uEMzpKw6QNghXLvLkY",
        "ADaUMid9yfUytqMBgopwjb2DTLSokTSzL1zt6iGPaS49",
        "DfXygSm4jCyNCybVYYK6DwvWqjKee8pbDmJGcLWNDXjh",
        "ADuUkR4vqLUMWXxW9gh6D6L8pMSawimctcNZ5pGwDcEt",
        "DttWaMuVvTiduZRnguLF7jNxTgiMBZ1hyAumKUiL2KRL",
        "3AVi9Tg9Uo68tJfuvoKvqKNWKkC5wPdSSdeBnizKZ6jT",
    )
)

TipPercentile = Literal["25", "50", "75", "95", "99", "ema50"]
# setting value -> the tip floor report's field
TIP_PERCENTILES: Mapping[str, str] = {
    "25": "landed_tips_25th_percentile",
    "50": "landed_tips_50th_percentile",
    "75": "landed_tips_75th_percentile",
    "95": "landed_tips_95th_percentile",
    "99": "landed_tips_99th_percentile",
    "ema50": "ema_landed_tips_50th_percentile",
}

_JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


class BundleRejected(RpcRequestError):
    """The block engine refused the bundle / transaction at once; ``message`` is the engine's.
    Sending the same bytes again cannot succeed (a ``PermanentError``)."""


@dataclass(frozen=True, slots=True)
class BundleStatus:
    """``getBundleStatuses``: a bundle that landed (others are ``None``)."""

    bundle_id: str
    transactions: tuple[str, ...]
    slot: int
    confirmation_status: str | None
    err: Any


@dataclass(frozen=True, slots=True)
class InflightStatus:
    """``getInflightBundleStatuses``: ``Pending``, ``Landed``, ``Failed`` or ``Invalid``."""

    bundle_id: str
    status: str
    landed_slot: int | None


def _sol_to_lamports(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{field} is {value!r}, not a number of SOL")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{field} is {value!r}, not a finite number of SOL")
    if value < 0:
        raise ValueError(f"{field} is negative ({value!r} SOL)")
    try:
        # repr gives the shortest decimal that round-trips: 1e-06 -> exactly 1000 lamports
        lamports = Decimal(repr(value)) * LAMPORTS_PER_SOL
    except InvalidOperation as exc:  # pragma: no cover - finite floats always convert
        raise ValueError(f"{field} is {value!r}") from exc
    return int(lamports.to_integral_value(rounding="ROUND_CEILING"))


def parse_tip_floor(body: Any, percentile: int | str = 75) -> int:
    """The tip floor report -> lamports at ``percentile`` (25, 50, 75, 95, 99 or ``"ema50"``),
    rounded up to a whole lamport. Raises ``ValueError`` naming what is wrong."""
    field = TIP_PERCENTILES.get(str(percentile))
    if field is None:
        raise ValueError(
            f"unknown tip percentile {percentile!r}; expected one of {', '.join(TIP_PERCENTILES)}"
        )
    entry = body[0] if isinstance(body, list) and body else body
    if not isinstance(entry, Mapping):
        raise ValueError("the tip floor answer is not a non-empty array of objects")
    if field not in entry:
        raise ValueError(f"the tip floor answer has no {field}")
    return _sol_to_lamports(entry[field], field)


def encode_transaction(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


class JitoClient:
    """One block engine: ``base_url`` like ``https://ny.mainnet.block-engine.jito.wtf``."""

    def __init__(
        self,
        name: str,
        base_url: str,
        session: aiohttp.ClientSession,
        *,
        auth_uuid: str | None = None,
        tip_floor_url: str | None = None,
        timeout_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        base = base_url.strip().rstrip("/")
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise ConfigError(
                f"block engine {name!r}: URL must be http(s)://host[:port] (no query), got "
                f"{redact_url(base_url)!r}"
            )
        base = base.removesuffix("/api/v1")
        self.name = name
        self.base_url = base
        self._session = session
        self._uuid = auth_uuid or None
        self._tip_floor_url = tip_floor_url or DEFAULT_TIP_FLOOR_URL
        self._timeout_s = timeout_s
        self._clock = clock
        self._wall_clock = wall_clock
        self._ids = itertools.count(1)
        self._headers = dict(_JSON_HEADERS)
        if self._uuid:
            self._headers["x-jito-auth"] = self._uuid
        self._tip_accounts: tuple[Pubkey, ...] = ()
        self._tip_accounts_at: float | None = None

    def __repr__(self) -> str:  # never the uuid
        return f"JitoClient({self.name!r}, {redact_url(self.base_url)!r})"

    # ------------------------------------------------------------------------------ sending
    async def send_bundle(
        self, transactions: Sequence[bytes], *, timeout_s: float | None = None
    ) -> str:
        """Signed transactions (1 to 5, in order, all or nothing) -> the bundle id."""
        if not transactions:
            raise ValueError("a bundle needs at least one signed transaction")
        if len(transactions) > MAX_BUNDLE_TRANSACTIONS:
            raise ValueError(
                f"a bundle holds at most {MAX_BUNDLE_TRANSACTIONS} transactions, got "
                f"{len(transactions)}"
            )
        params = [[encode_transaction(tx) for tx in transactions], {"encoding": "base64"}]
        result, _ = await self._call("bundles", "sendBundle", params, timeout_s=timeout_s)
        if not isinstance(result, str) or not result:
            raise RpcMalformedResponse(
                f"{self.name}: sendBundle answered {type(result).__name__}, not a bundle id",
                endpoint=self.name,
            )
        return result

    async def send_transaction(
        self, transaction: bytes, *, bundle_only: bool = False, timeout_s: float | None = None
    ) -> tuple[str, str | None]:
        """One signed transaction -> (its signature, the bundle id from ``x-bundle-id`` or None).

        ``bundle_only``: only as a one-transaction bundle, never forwarded as a plain
        transaction (Jito's "MEV protection")."""
        params = [encode_transaction(transaction), {"encoding": "base64"}]
        query = {"bundleOnly": "true"} if bundle_only else {}
        result, headers = await self._call(
            "transactions", "sendTransaction", params, query=query, timeout_s=timeout_s
        )
        if not isinstance(result, str) or not result:
            raise RpcMalformedResponse(
                f"{self.name}: sendTransaction answered {type(result).__name__}, not a signature",
                endpoint=self.name,
            )
        return result, headers.get("x-bundle-id")

    # ------------------------------------------------------------------------------ statuses
    async def get_bundle_statuses(self, bundle_ids: Sequence[str]) -> list[BundleStatus | None]:
        """Landed bundles, ``None`` for the others, in request order (5 ids per call)."""
        out: list[BundleStatus | None] = []
        for chunk in _chunks(bundle_ids):
            result, _ = await self._call("bundles", "getBundleStatuses", [list(chunk)])
            values = self._value_list(result, "getBundleStatuses", len(chunk))
            out += [
                None if item is None else self._parse("getBundleStatuses", _bundle_status, item)
                for item in values
            ]
        return out

    async def get_inflight_bundle_statuses(self, bundle_ids: Sequence[str]) -> list[InflightStatus]:
        """Bundles of the last five minutes: ``Pending`` / ``Landed`` / ``Failed`` / ``Invalid``."""
        out: list[InflightStatus] = []
        for chunk in _chunks(bundle_ids):
            result, _ = await self._call("bundles", "getInflightBundleStatuses", [list(chunk)])
            values = self._value_list(result, "getInflightBundleStatuses", len(chunk))
            out += [
                self._parse("getInflightBundleStatuses", _inflight_status, item) for item in values
            ]
        return out

    def _parse(self, method: str, parse: Callable[[Any], T], item: Any) -> T:
        return wire.guarded(self.name, method, lambda: parse(item))

    def _value_list(self, result: Any, method: str, n: int) -> list[Any]:
        value = result.get("value") if isinstance(result, Mapping) else None
        if not isinstance(value, list) or len(value) != n:
            raise RpcMalformedResponse(
                f"{self.name}: {method} answered no value list of {n} entries", endpoint=self.name
            )
        return value

    # ------------------------------------------------------------------------------ tips
    async def get_tip_accounts(self, *, refresh: bool = False) -> tuple[Pubkey, ...]:
        """The engine's tip accounts, cached for 10 minutes (they change rarely)."""
        now = self._clock()
        fresh = (
            self._tip_accounts_at is not None and now - self._tip_accounts_at < TIP_ACCOUNTS_TTL_S
        )
        if self._tip_accounts and fresh and not refresh:
            return self._tip_accounts
        result, _ = await self._call("bundles", "getTipAccounts", [])

        def parse() -> tuple[Pubkey, ...]:
            if not isinstance(result, list) or not result:
                raise ValueError("not a non-empty array")
            return tuple(Pubkey.from_string(str(key)) for key in result)

        self._tip_accounts = wire.guarded(self.name, "getTipAccounts", parse)
        self._tip_accounts_at = now
        return self._tip_accounts

    @property
    def cached_tip_accounts(self) -> tuple[Pubkey, ...]:
        return self._tip_accounts

    async def get_tip_floor(
        self, percentile: int | str = 75, *, timeout_s: float | None = None
    ) -> int:
        """Lamports at ``percentile`` of recently landed tips (Jito's tip floor REST endpoint)."""
        if str(percentile) not in TIP_PERCENTILES:
            raise ValueError(
                f"unknown tip percentile {percentile!r}; expected one of "
                f"{', '.join(TIP_PERCENTILES)}"
            )
        floors = await self.get_tip_floors(timeout_s=timeout_s)
        if str(percentile) not in floors:
            raise RpcMalformedResponse(
                f"{self.name}: tip floor: the answer has no {TIP_PERCENTILES[str(percentile)]}",
                endpoint=self.name,
            )
        return floors[str(percentile)]

    async def get_tip_floors(self, *, timeout_s: float | None = None) -> dict[str, int]:
        """The percentiles of the tip floor report, in lamports (one request); a field the
        report lacks is left out, one that is not a number of SOL is an error."""
        body = await self._request("GET", self._tip_floor_url, None, timeout_s, "tip_floor")
        decoded = _loads(self.name, body[0])
        entry = decoded[0] if isinstance(decoded, list) and decoded else decoded
        try:
            if not isinstance(entry, Mapping):
                raise ValueError("the tip floor answer is not a non-empty array of objects")
            floors = {
                key: parse_tip_floor(entry, key)
                for key, name in TIP_PERCENTILES.items()
                if name in entry
            }
            if not floors:
                raise ValueError("the tip floor answer has none of the landed_tips_* fields")
        except ValueError as exc:
            raise RpcMalformedResponse(
                f"{self.name}: tip floor: {exc}", endpoint=self.name
            ) from exc
        return floors

    # ------------------------------------------------------------------------------ transport
    async def _call(
        self,
        path: str,
        method: str,
        params: list[Any],
        *,
        query: Mapping[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> tuple[Any, Mapping[str, str]]:
        request = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        args = dict(query or {})
        if self._uuid:
            args["uuid"] = self._uuid
        url = f"{self.base_url}/api/v1/{path}"
        if args:
            url += "?" + urlencode(args)
        body, headers = await self._request(
            "POST", url, json.dumps(request, separators=(",", ":")).encode(), timeout_s, method
        )
        envelope = _loads(self.name, body)
        try:
            return wire.result_of(self.name, envelope), headers
        except RpcRequestError as exc:
            raise self._rejected(method, exc) from None

    def _rejected(self, method: str, exc: RpcRequestError) -> BundleRejected:
        message = exc.message.split(": the node rejected the request: ", 1)[-1]
        return BundleRejected(
            f"{self.name}: {method} rejected: {message}",
            endpoint=self.name,
            code=exc.code,
            data=exc.data,
            user_message="The block engine refused the transaction.",
        )

    async def _request(
        self, verb: str, url: str, payload: bytes | None, timeout_s: float | None, what: str
    ) -> tuple[bytes, Mapping[str, str]]:
        timeout = aiohttp.ClientTimeout(total=timeout_s or self._timeout_s)
        if self._session.closed:
            raise RpcClientClosed(
                f"{self.name}: {what} not sent: this process closed its HTTP session",
                endpoint=self.name,
                sent=False,
            )
        try:
            async with self._session.request(
                verb, url, data=payload, headers=self._headers, timeout=timeout
            ) as response:
                body = await response.read()
                headers = {k.lower(): v for k, v in response.headers.items()}
                if response.status == 200:
                    return body, headers
                if response.status == 400:  # Jito's refusals: a JSON-RPC error object
                    envelope = _loads(self.name, body)
                    if isinstance(envelope, Mapping) and envelope.get("error") is not None:
                        err = wire.error_from_rpc(self.name, envelope["error"])
                        if isinstance(err, RpcRequestError):
                            raise self._rejected(what, err)
                        raise err
                raise wire.error_from_http(
                    self.name,
                    response.status,
                    body,
                    response.headers.get("Retry-After"),
                    self._wall_clock(),
                )
        except RpcError:
            raise
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            if self._session.closed:
                raise RpcClientClosed(
                    f"{self.name}: {what} interrupted: this process closed its HTTP session",
                    endpoint=self.name,
                ) from exc
            raise self._transport_error(exc, timeout, what) from None

    def _transport_error(
        self, exc: BaseException, timeout: aiohttp.ClientTimeout, what: str
    ) -> RpcError:
        # never str(exc) of a client error: aiohttp puts the URL (with the uuid) in it
        if isinstance(exc, TimeoutError):
            return RpcTimeout(
                f"{self.name}: {what}: no answer within {timeout.total:.2f}s", endpoint=self.name
            )
        if isinstance(exc, aiohttp.ClientConnectorError):
            err = RpcTransportError(
                f"{self.name}: {what}: cannot connect: {exc.os_error.strerror or 'refused'}",
                endpoint=self.name,
            )
            err.not_processed = True
            return err
        return RpcTransportError(
            f"{self.name}: {what}: transport error: {type(exc).__name__}", endpoint=self.name
        )


def _loads(endpoint: str, body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise RpcMalformedResponse(
            f"{endpoint}: body is not JSON: {body[:80]!r}", endpoint=endpoint
        ) from exc


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    if not ids:
        raise ValueError("no bundle ids to look up")
    for identifier in ids:
        if not isinstance(identifier, str) or not identifier:
            raise ValueError(f"bundle id {identifier!r} is not a non-empty string")
    return [ids[i : i + MAX_STATUS_IDS] for i in range(0, len(ids), MAX_STATUS_IDS)]


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} is {value!r}, not an integer")
    return value


def _bundle_status(item: Any) -> BundleStatus:
    if not isinstance(item, Mapping):
        raise ValueError("a status is not an object")
    txs = item.get("transactions")
    if not isinstance(txs, list):
        raise ValueError("transactions is not an array")
    err = item.get("err")
    if isinstance(err, Mapping) and "Ok" in err:
        err = None
    return BundleStatus(
        bundle_id=str(item.get("bundle_id")),
        transactions=tuple(str(t) for t in txs),
        slot=_int(item.get("slot"), "slot"),
        confirmation_status=item.get("confirmation_status"),
        err=err,
    )


def _inflight_status(item: Any) -> InflightStatus:
    if not isinstance(item, Mapping):
        raise ValueError("a status is not an object")
    status = item.get("status")
    if status not in ("Pending", "Landed", "Failed", "Invalid"):
        raise ValueError(f"unknown bundle status {status!r}")
    landed = item.get("landed_slot")
    return InflightStatus(
        bundle_id=str(item.get("bundle_id")),
        status=str(status),
        landed_slot=None if landed is None else _int(landed, "landed_slot"),
    )


class TipFloorCache:
    """The tip floor, fetched off the hot path; ``tip()`` answers from memory (no I/O).

    A user's fixed tip wins; otherwise the chosen percentile of the last report. Either way the
    tip is held between Jito's minimum (1,000 lamports) and the operator's ``max_tip``
    (``JITO_MAX_TIP_LAMPORTS``). Before the first report the minimum is used.
    """

    def __init__(
        self,
        client: JitoClient,
        *,
        max_tip: int,
        min_tip: int = MIN_TIP_LAMPORTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < min_tip <= max_tip:
            raise ConfigError(f"tip bounds must be 0 < min ({min_tip}) <= max ({max_tip})")
        self._client = client
        self.max_tip, self.min_tip = max_tip, min_tip
        self._clock = clock
        self._floors: dict[str, int] = {}
        self.updated_at: float | None = None

    async def refresh(self) -> dict[str, int]:
        """Fetch the report now; a failure keeps the last one (and raises, classified)."""
        self._floors = await self._client.get_tip_floors()
        self.updated_at = self._clock()
        return dict(self._floors)

    async def run(
        self,
        interval_s: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        """Background loop for the app's TaskGroup; a failed refresh is logged, never raised."""
        pause = sleep or asyncio.sleep
        while True:
            try:
                await self.refresh()
            except RpcError as exc:
                log.info("jito_tip_floor_unavailable", engine=self._client.name, reason=exc.message)
            await pause(interval_s)

    def tip(self, *, fixed: int | None = None, percentile: int | str = 75) -> int:
        """Lamports to tip: ``fixed`` (the user's) or the cached ``percentile``, clamped."""
        if fixed is not None:
            if isinstance(fixed, bool) or not isinstance(fixed, int) or fixed < 0:
                raise ValueError(f"a fixed tip must be whole lamports >= 0, got {fixed!r}")
            chosen = fixed
        else:
            key = str(percentile)
            if key not in TIP_PERCENTILES:
                raise ValueError(
                    f"unknown tip percentile {percentile!r}; expected one of "
                    f"{', '.join(TIP_PERCENTILES)}"
                )
            chosen = self._floors.get(key, self.min_tip)
        return min(max(chosen, self.min_tip), self.max_tip)
