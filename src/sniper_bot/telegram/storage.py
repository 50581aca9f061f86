"""FSM storage that keeps conversations going when Redis vanishes.

Primary (Redis) when it answers; on any error the same call goes to the in-process fallback and the
primary is skipped until ``is_available()`` says it is back. Conversation state written during an
outage lives only in this process: losing a half-typed withdrawal is acceptable, a crash is not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import structlog
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StorageKey

__all__ = ["FallbackStorage"]

log = structlog.get_logger(__name__)
T = TypeVar("T")


class FallbackStorage(BaseStorage):
    def __init__(
        self,
        primary: BaseStorage | None,
        fallback: BaseStorage,
        is_available: Callable[[], bool],
        on_failure: Callable[[Exception], None] | None = None,
    ) -> None:
        self._primary = primary
        self._fallback = fallback
        self._is_available = is_available
        self._on_failure = on_failure

    async def _call(
        self, primary: Callable[[], Awaitable[T]] | None, fallback: Callable[[], Awaitable[T]]
    ) -> T:
        if primary is not None and self._is_available():
            try:
                return await primary()
            except Exception as exc:  # Redis went away mid-call: serve from memory
                log.warning("fsm_storage_fallback", error=type(exc).__name__)
                if self._on_failure is not None:
                    self._on_failure(exc)
        return await fallback()

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        p = self._primary
        await self._call(
            (lambda: p.set_state(key, state)) if p else None,
            lambda: self._fallback.set_state(key, state),
        )

    async def get_state(self, key: StorageKey) -> str | None:
        p = self._primary
        return await self._call(
            (lambda: p.get_state(key)) if p else None, lambda: self._fallback.get_state(key)
        )

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        p = self._primary
        await self._call(
            (lambda: p.set_data(key, data)) if p else None,
            lambda: self._fallback.set_data(key, data),
        )

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        p = self._primary
        return await self._call(
            (lambda: p.get_data(key)) if p else None, lambda: self._fallback.get_data(key)
        )

    async def close(self) -> None:
        if self._primary is not None:
            await self._primary.close()
        await self._fallback.close()
