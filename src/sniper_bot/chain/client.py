"""Thin JSON-RPC client over one endpoint: one POST per call, no hidden retries.

The pool owns failover and retry policy; this class only speaks HTTP and turns every failure into
a classified ``RpcError`` (see ``wire``). Request bodies may come from solders request types
(``call_typed``) or from a method name and params (``call``); responses are classified from their
JSON envelope first, so solders never sees an error body it cannot parse.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

import aiohttp

from sniper_bot.chain import wire
from sniper_bot.chain.errors import (
    RpcClientClosed,
    RpcError,
    RpcMalformedResponse,
    RpcTimeout,
    RpcTransportError,
)

__all__ = ["JsonRpcClient", "SoldersBody"]

_JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


class SoldersBody(Protocol):
    """Any solders request type (``GetSlot(id=1)`` ...)."""

    def to_json(self) -> str: ...


class SoldersResponse(Protocol):
    """Any solders response type (``GetSlotResp`` ...)."""

    @classmethod
    def from_json(cls, raw: str) -> Any: ...


R = TypeVar("R", bound=SoldersResponse)


class JsonRpcClient:
    """JSON-RPC over HTTP POST to ``url`` with fixed per-endpoint ``headers``."""

    def __init__(
        self,
        name: str,
        url: str,
        session: aiohttp.ClientSession,
        *,
        headers: Mapping[str, str] | None = None,
        default_timeout_s: float = 2.0,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.url = url
        self._session = session
        self._headers = {**_JSON_HEADERS, **(headers or {})}
        self._timeout_s = default_timeout_s
        self._ids = itertools.count(1)
        self._wall_clock = wall_clock

    async def call(
        self, method: str, params: Sequence[Any] | None = None, *, timeout_s: float | None = None
    ) -> Any:
        """One request; returns the JSON ``result`` or raises a classified ``RpcError``."""
        request: dict[str, Any] = {"jsonrpc": "2.0", "id": next(self._ids), "method": method}
        if params is not None:
            request["params"] = list(params)
        body = await self.post(json.dumps(request).encode(), timeout_s=timeout_s)
        return wire.decode_single(self.name, body)

    async def call_typed(
        self, request: SoldersBody, response_type: type[R], *, timeout_s: float | None = None
    ) -> R:
        """A solders request -> the solders response (``GetSlotResp`` ...).

        The envelope is classified before solders parses it, and the parse is guarded: a bare
        ``int`` (solders' answer to unknown error codes) or a panic is ``RpcMalformedResponse``.
        """
        body = await self.post(request.to_json().encode(), timeout_s=timeout_s)
        wire.decode_single(self.name, body)  # raises the classified error, if any
        text = body.decode("utf-8", "replace")
        parsed: object = wire.guarded(
            self.name, response_type.__name__, lambda: response_type.from_json(text)
        )
        if not isinstance(parsed, response_type):
            raise RpcMalformedResponse(
                f"{self.name}: solders returned {parsed!r} instead of {response_type.__name__}",
                endpoint=self.name,
            )
        return parsed

    async def batch(
        self, calls: Sequence[tuple[str, Sequence[Any] | None]], *, timeout_s: float | None = None
    ) -> list[Any]:
        """Several requests in one POST; each entry is a result or the ``RpcError`` for it."""
        ids = [next(self._ids) for _ in calls]
        payload = [
            {
                "jsonrpc": "2.0",
                "id": i,
                "method": m,
                **({"params": list(p)} if p is not None else {}),
            }
            for i, (m, p) in zip(ids, calls, strict=True)
        ]
        body = await self.post(json.dumps(payload).encode(), timeout_s=timeout_s)
        return wire.decode_batch(self.name, body, ids)

    async def post(self, payload: bytes, *, timeout_s: float | None = None) -> bytes:
        """POST a body; returns the 200 body or raises the classified transport error.

        A failure after this process closed its HTTP session (its own stop) is
        ``RpcClientClosed``: no fault of the endpoint.
        """
        timeout = aiohttp.ClientTimeout(
            total=timeout_s if timeout_s is not None else self._timeout_s
        )
        if self._session.closed:
            raise RpcClientClosed(
                f"{self.name}: not sent: this process closed its HTTP session",
                endpoint=self.name,
                sent=False,
            )
        try:
            async with self._session.post(
                self.url, data=payload, headers=self._headers, timeout=timeout
            ) as response:
                body = await response.read()
                if response.status != 200:
                    raise wire.error_from_http(
                        self.name,
                        response.status,
                        body,
                        response.headers.get("Retry-After"),
                        self._wall_clock(),
                    )
                return body
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            if self._session.closed:  # our own stop cut the request short
                raise RpcClientClosed(
                    f"{self.name}: interrupted: this process closed its HTTP session",
                    endpoint=self.name,
                ) from exc
            raise self._transport_error(exc, timeout) from exc

    def _transport_error(self, exc: BaseException, timeout: aiohttp.ClientTimeout) -> RpcError:
        if isinstance(exc, TimeoutError):
            return RpcTimeout(
                f"{self.name}: no answer within {timeout.total:.2f}s", endpoint=self.name
            )
        if isinstance(exc, aiohttp.ClientConnectorError):
            err = RpcTransportError(
                f"{self.name}: cannot connect: {exc.os_error or exc}", endpoint=self.name
            )
            err.not_processed = True
            return err
        return RpcTransportError(
            f"{self.name}: transport error: {type(exc).__name__}: {exc}", endpoint=self.name
        )
