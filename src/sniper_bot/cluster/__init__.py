"""Replicas that share the work: feeds decoded once, armed orders fired by partition owners.

``ClusterNode`` is what ``app.py`` builds when ``CLUSTER_ENABLED``:

* ``feed`` (``feed.ClusteredFeed``): the ``NotificationSource`` of the ``LaunchDetector``; one
  leader per feed (``leader.Leadership``: Redis lease + fencing token) publishes the chain feed
  to a Redis stream, every replica consumes it (``store.ClusterStore`` has the scripts);
* ``executor`` (``execution.PartitionExecutor``): fires the armed orders of the partitions
  this replica owns from the launches stream's consumer groups, reclaims a dead replica's
  pending launches;
* ``on_create``: the hook the detector's pump.fun listener (and Geyser's) calls; while the
  executor is active it does nothing (the executor fires), else (Redis away) it is the local hot
  path over the whole book, as a single replica does.

``status()`` (module level) is the provider ``/health`` and the metrics can call: the running
node's state, or ``{"enabled": False}``.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from sniper_bot.cluster.execution import (
    Membership,
    PartitionBook,
    PartitionExecutor,
    assign,
    partition_of,
)
from sniper_bot.cluster.feed import ClusteredFeed, event_id, is_pump_create
from sniper_bot.cluster.leader import Leadership
from sniper_bot.cluster.store import ClusterStore

__all__ = [
    "ClusterNode",
    "ClusterStore",
    "ClusteredFeed",
    "Leadership",
    "Membership",
    "PartitionBook",
    "PartitionExecutor",
    "assign",
    "event_id",
    "instance_name",
    "is_pump_create",
    "partition_of",
    "status",
]

_running: list[ClusterNode] = []


def instance_name(configured: str = "") -> str:
    """``INSTANCE_ID`` when set, else ``<host name>-<pid>`` (two processes on a host differ)."""
    return configured.strip() or f"{socket.gethostname()}-{os.getpid()}"


def status() -> dict[str, Any]:
    """The running node's leadership, stream and partition state (``/health``), or disabled."""
    if not _running:
        return {"enabled": False}
    return _running[-1].status()


class ClusterNode:
    def __init__(
        self,
        instance: str,
        feed: ClusteredFeed,
        executor: PartitionExecutor,
        fallback: Any,
    ) -> None:
        self.instance = instance
        self.feed = feed
        self.executor = executor
        self._fallback = fallback  # the hot path over the whole book (HotSniper)

    def on_create(self, seen: Any) -> None:
        """The detector's create hook: the executor fires while it is active, else this."""
        if self.executor.active:
            return
        self._fallback.on_create(seen)

    def status(self) -> dict[str, Any]:
        return {
            "enabled": True,
            "instance": self.instance,
            "leads": [self.feed.feed] if self.feed.leadership.is_leader else [],
            "feeds": {self.feed.feed: self.feed.status()},
            "execution": self.executor.status(),
        }

    def __enter__(self) -> ClusterNode:
        _running.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        if self in _running:
            _running.remove(self)
