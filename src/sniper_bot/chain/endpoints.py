"""RPC endpoint configuration: which providers, in which order, with which limits.

``endpoints_from_urls`` maps the runbook's settings (``HELIUS_RPC_URL``, ``QUICKNODE_RPC_URL``,
``SOLANA_RPC_URL``, ``BACKUP_RPC_URL``, ``RPC_URLS``) to named endpoints in priority order. It is a
pure function; the settings object calls it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import urlsplit, urlunsplit

from sniper_bot.errors import ConfigError

__all__ = ["EndpointConfig", "derive_ws_url", "endpoints_from_urls", "redact_url"]

# Requests per second per provider when nothing else is known (public mainnet allows 100 / 10 s).
_DEFAULT_RATE = {"helius": 50.0, "quicknode": 25.0, "solana": 10.0, "backup": 10.0}
_EXTRA_RATE = 10.0


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    """One JSON-RPC provider: lower ``priority`` is preferred; ``rate_per_s`` <= 0 is unlimited."""

    name: str
    url: str
    ws_url: str | None = None
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    rate_per_s: float = 10.0
    priority: int = 0

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(
                f"RPC endpoint {self.name!r}: URL must be http(s)://host[:port]/..., "
                f"got {redact_url(self.url)!r}"
            )

    @property
    def burst(self) -> int:
        return max(1, round(self.rate_per_s))


def derive_ws_url(http_url: str) -> str:
    """``http://`` -> ``ws://``, ``https://`` -> ``wss://``, same host, path and query (API key)."""
    parts = urlsplit(http_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, parts.fragment))


def redact_url(url: str) -> str:
    """The URL without query string or credentials (API keys often live there), for logs/tables."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    path = parts.path
    if len(path) > 12:  # QuickNode puts the token in the path
        path = path[:8] + "…"
    return urlunsplit((parts.scheme, host, path, "", ""))


def endpoints_from_urls(
    helius: str | None,
    quicknode: str | None,
    solana: str | None,
    backup: str | None,
    extra: Sequence[str] = (),
    *,
    ws_urls: Mapping[str, str] | None = None,
    rates: Mapping[str, float] | None = None,
) -> list[EndpointConfig]:
    """Endpoints in priority order; empty URLs are skipped, duplicates keep the first name.

    ``ws_urls``/``rates`` override the derived WebSocket URL / default rate per endpoint name.
    Raises ``ConfigError`` when no URL at all is configured.
    """
    named: list[tuple[str, str | None]] = [
        ("helius", helius),
        ("quicknode", quicknode),
        ("solana", solana),
        ("backup", backup),
    ]
    named += [(f"rpc{i}", url) for i, url in enumerate(extra, start=1)]
    ws_overrides = ws_urls or {}
    rate_overrides = rates or {}
    seen: set[str] = set()
    out: list[EndpointConfig] = []
    for name, raw in named:
        url = (raw or "").strip()
        if not url or url in seen:
            continue
        seen.add(url)
        out.append(
            EndpointConfig(
                name=name,
                url=url,
                ws_url=ws_overrides.get(name) or derive_ws_url(url),
                rate_per_s=rate_overrides.get(name, _DEFAULT_RATE.get(name, _EXTRA_RATE)),
                priority=len(out),
            )
        )
    if not out:
        raise ConfigError(
            "No Solana RPC endpoint configured: set HELIUS_RPC_URL, QUICKNODE_RPC_URL, "
            "SOLANA_RPC_URL, BACKUP_RPC_URL or RPC_URLS (e.g. SOLANA_RPC_URL="
            "https://api.mainnet-beta.solana.com)"
        )
    return out
