"""FSM storage that keeps conversations going when Redis vanishes.

``FallbackStorage``: reads from the primary (Redis) when it answers, else from the fallback; every
write goes to the fallback too (write-through), so a conversation started before Redis died goes on
from the fallback after. On a primary error the call is served by the fallback and the primary is
skipped until ``is_available()`` says it is back.
``DurableStorage``: the fallback, conversation state in the ``"Session"`` table through a small
session-store port, so it survives restarts and is shared by replicas even without Redis.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

import structlog
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StorageKey

__all__ = ["DurableStorage", "FallbackStorage", "SessionStore"]

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

    async def _write(self, primary: Callable[[], Awaitable[None]] | None,
                     fallback: Callable[[], Awaitable[None]]) -> None:  # fmt: skip
        await fallback()
        if primary is not None and self._is_available():
            try:
                await primary()
            except Exception as exc:  # Redis went away mid-call: the fallback already has it
                log.warning("fsm_storage_fallback", error=type(exc).__name__)
                if self._on_failure is not None:
                    self._on_failure(exc)

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        p = self._primary
        await self._write(
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
        await self._write(
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


class _SessionRecord(Protocol):
    @property
    def data(self) -> Mapping[str, Any]: ...


class SessionStore(Protocol):
    """The slice of the session repository this storage needs."""

    async def get(self, key: str) -> _SessionRecord | None: ...

    async def set(
        self, key: str, user_id: int | None, data: Mapping[str, Any], ttl_s: float
    ) -> Any: ...

    async def delete(self, key: str) -> bool: ...


class DurableStorage(BaseStorage):
    """FSM state and data as one JSON document per (bot, chat, user, thread) key."""

    def __init__(self, sessions: SessionStore, *, ttl_s: float = 86_400.0) -> None:
        self._sessions = sessions
        self._ttl_s = ttl_s

    @staticmethod
    def _key(key: StorageKey) -> str:
        return (
            f"fsm:{key.bot_id}:{key.chat_id}:{key.user_id}:{key.thread_id or 0}:"
            f"{key.business_connection_id or ''}:{key.destiny}"
        )

    async def _load(self, key: StorageKey) -> dict[str, Any]:
        record = await self._sessions.get(self._key(key))
        return dict(record.data) if record is not None else {}

    async def _save(self, key: StorageKey, doc: dict[str, Any]) -> None:
        if doc.get("state") is None and not doc.get("data"):
            await self._sessions.delete(self._key(key))
        else:
            await self._sessions.set(self._key(key), None, doc, self._ttl_s)

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        doc = await self._load(key)
        doc["state"] = state.state if isinstance(state, State) else state
        await self._save(key, doc)

    async def get_state(self, key: StorageKey) -> str | None:
        state = (await self._load(key)).get("state")
        return str(state) if state is not None else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        doc = await self._load(key)
        doc["data"] = dict(data)
        await self._save(key, doc)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return dict((await self._load(key)).get("data") or {})

    async def close(self) -> None:
        return None
