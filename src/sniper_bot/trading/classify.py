"""Any exception an order stage raised -> the ``OrderError`` the order stores.

A failed transaction's ``TransactionError`` is read by ``sniper_bot.solana.tx_errors`` (shared with
withdrawals); this module adds what only trading raises (venue errors, RPC outages).
"""

from __future__ import annotations

from collections.abc import Sequence

from sniper_bot.chain.errors import PreflightFailure, RpcError
from sniper_bot.domain.orders import OrderError, OrderErrorType
from sniper_bot.errors import TemporaryError
from sniper_bot.solana.tx_errors import classify_tx_error
from sniper_bot.trading.errors import TradingError

__all__ = ["classify_exception"]


def classify_exception(exc: BaseException, *, program_ids: Sequence[str] = ()) -> OrderError:
    """Any exception a stage raised -> the ``OrderError`` the order stores."""
    if isinstance(exc, TradingError):
        return exc.order_error
    if isinstance(exc, PreflightFailure):
        return classify_tx_error(
            exc.err, program_ids=program_ids, logs=exc.logs, stage="simulation"
        )
    if isinstance(exc, RpcError | TemporaryError):
        return OrderError(OrderErrorType.RPC_UNAVAILABLE, str(exc) or type(exc).__name__)
    return OrderError(
        OrderErrorType.SIMULATION_FAILED, f"{type(exc).__name__}: {exc}", {"unexpected": True}
    )
