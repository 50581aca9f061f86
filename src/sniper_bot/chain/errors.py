"""Errors of chain access, sorted by what the caller must do.

    RpcError (.endpoint, .code)
    ├── RpcUnavailableError(TemporaryError)  no endpoint allowed / all failed in the deadline
    ├── RpcRateLimited(TemporaryError)       HTTP 429 or a rate-limit JSON-RPC error (.retry_after)
    ├── RpcTimeout(TemporaryError)           no answer within the per-call timeout
    ├── RpcNodeBehind(TemporaryError)        -32005 node unhealthy / behind
    ├── RpcTransportError(TemporaryError)    connection refused/reset, HTTP 5xx, other statuses
    ├── RpcMalformedResponse(TemporaryError) not JSON, wrong shape, solders' bare int / panic
    ├── RpcRequestError(PermanentError)      the node rejected the request (-32602, -32601...)
    │   └── PreflightFailure                 -32002 simulation failed (.err, .logs, .units_consumed)
    └── RpcClientClosed(PermanentError)      this process is stopping: its HTTP session is closed

``RpcError`` is the common root so ``except RpcError`` catches every chain failure, while
``TemporaryError``/``PermanentError`` tell the caller whether trying again can help.
"""

from __future__ import annotations

from typing import Any

from sniper_bot.errors import PermanentError, SniperBotError, TemporaryError

__all__ = [
    "PreflightFailure",
    "RpcClientClosed",
    "RpcError",
    "RpcMalformedResponse",
    "RpcNodeBehind",
    "RpcRateLimited",
    "RpcRequestError",
    "RpcTimeout",
    "RpcTransportError",
    "RpcUnavailableError",
]

_UNAVAILABLE_USER = "The Solana network is not reachable right now. Please try again in a minute."


class RpcError(SniperBotError):
    """Root of chain errors: ``endpoint`` names the pool endpoint, ``code`` the HTTP/RPC code."""

    endpoint: str | None
    code: int | None
    retryable: bool = False
    # True when the request certainly was not processed (429 before work, connection refused,
    # -32005): the pool may then resend even a non-idempotent request to another endpoint.
    not_processed: bool = False

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        code: int | None = None,
        user_message: str | None = None,
    ) -> None:
        super().__init__(message, user_message=user_message)
        self.endpoint = endpoint
        self.code = code


class _TemporaryRpcError(RpcError, TemporaryError):
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        code: int | None = None,
        user_message: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        RpcError.__init__(
            self,
            message,
            endpoint=endpoint,
            code=code,
            user_message=user_message or _UNAVAILABLE_USER,
        )
        self.retry_after = retry_after


class RpcUnavailableError(_TemporaryRpcError):
    """No endpoint is allowed, or every endpoint failed within the call's deadline."""


class RpcRateLimited(_TemporaryRpcError):
    """The endpoint said "slow down"; ``retry_after`` seconds when it said how long."""

    not_processed = True


class RpcTimeout(_TemporaryRpcError):
    """No answer within the per-call timeout (the request may still have been processed)."""


class RpcNodeBehind(_TemporaryRpcError):
    """-32005 NodeUnhealthy: the node is behind; another endpoint may answer."""

    not_processed = True


class RpcTransportError(_TemporaryRpcError):
    """Connection refused/reset or an HTTP error status (5xx, 403...)."""


class RpcMalformedResponse(_TemporaryRpcError):
    """The body could not be understood (not JSON, wrong shape, a bare int for an object)."""


class RpcRequestError(RpcError, PermanentError):
    """The node rejected this request (invalid params, method not found...): fix the request."""

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        code: int | None = None,
        data: Any = None,
        user_message: str | None = None,
    ) -> None:
        super().__init__(message, endpoint=endpoint, code=code, user_message=user_message)
        self.data = data


class PreflightFailure(RpcRequestError):
    """-32002: the transaction failed simulation before it was sent; nothing landed."""

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        err: dict[str, Any] | str | None = None,
        logs: list[str] | None = None,
        units_consumed: int | None = None,
        data: Any = None,
    ) -> None:
        super().__init__(
            message,
            endpoint=endpoint,
            code=-32002,
            data=data,
            user_message="The transaction would fail on chain, so it was not sent.",
        )
        self.err = err
        self.logs = logs or []
        self.units_consumed = units_consumed


class RpcClientClosed(RpcError, PermanentError):
    """The call failed because this process closed its own HTTP session (a stop), not because of
    the endpoint: no breaker counts it, and no other endpoint is tried. Retrying in this process
    cannot help; the next process will (every order is persisted before its first send)."""

    def __init__(self, message: str, *, endpoint: str | None = None, sent: bool = True) -> None:
        super().__init__(
            message,
            endpoint=endpoint,
            user_message="The bot is restarting. Please try again in a minute.",
        )
        self.not_processed = not sent
