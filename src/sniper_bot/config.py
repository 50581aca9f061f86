"""Configuration: every variable the runbook names, typed, sectioned, validated once at start-up.

Each section is a pydantic-settings model reading its own environment variables (the runbook's flat
names: ``DATABASE_URL``, ``CIRCUIT_BREAKER_TIMEOUT``...). ``load_settings`` reads every section and
turns all problems into ONE ``ConfigError`` listing one line per problem: the variable, what is
wrong with the value, and the accepted form. Secret values are never echoed.

``embedded=True`` is the demo's embedded default: it alone may run with the built-in demo master
secret. Everywhere else a placeholder or missing secret stops start-up.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sniper_bot.domain.fees import MAX_SLIPPAGE_BPS, FeeLevel
from sniper_bot.errors import ConfigError

__all__ = [
    "DEMO_MASTER_SECRET",
    "PLACEHOLDER_MARKERS",
    "BreakerSettings",
    "CacheSettings",
    "DatabaseSettings",
    "JitoSettings",
    "JupiterSettings",
    "ObservabilitySettings",
    "RedisSettings",
    "RpcSettings",
    "SafetySettings",
    "SecuritySettings",
    "Settings",
    "TelegramSettings",
    "TradingSettings",
    "load_settings",
    "redact_dsn",
]

# The demo's embedded master secret. Public on purpose: it protects only demo wallets on localnet.
DEMO_MASTER_SECRET = hashlib.sha256(b"sniper-bot embedded demo secret - localnet only").hexdigest()

PLACEHOLDER_MARKERS = (
    "change-me",
    "changeme",
    "change_me",
    "your-",
    "your_",
    "replace",
    "example",
    "placeholder",
    "secret",
    "xxxx",
    "todo",
)


class _Section(BaseSettings):
    """Base of every section: environment only, exact upper-case names, others ignored."""

    model_config = SettingsConfigDict(
        case_sensitive=True,
        extra="ignore",
        frozen=True,
        env_ignore_empty=False,
        populate_by_name=False,
    )
    # variable name -> accepted form, shown when a value is rejected
    forms: ClassVar[dict[str, str]] = {}


def _http_url(value: str, var: str, *, schemes: tuple[str, ...] = ("http", "https")) -> str:
    value = value.strip()
    if not value:
        return value
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        raise ValueError(f"not a {'/'.join(schemes)} URL")
    return value.rstrip("/") if var != "RPC" else value


class DatabaseSettings(_Section):
    forms: ClassVar[dict[str, str]] = {
        "DATABASE_URL": "postgresql://user:password@host:5432/sniper_bot, or empty for a SQLite "
        "file in DATA_DIR",
        "DATABASE_CONNECTION_LIMIT": "a whole number from 1 to 1000",
        "DATA_DIR": "a writable directory path",
    }
    url: SecretStr = Field(SecretStr(""), validation_alias="DATABASE_URL")
    connection_limit: int = Field(10, ge=1, le=1000, validation_alias="DATABASE_CONNECTION_LIMIT")
    data_dir: Path = Field(Path("data"), validation_alias="DATA_DIR")
    connect_attempts: int = Field(5, ge=1, le=100, validation_alias="DATABASE_CONNECT_ATTEMPTS")

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value().strip()
        if raw:
            scheme = urlsplit(raw).scheme.split("+")[0]
            if scheme not in ("postgresql", "postgres", "sqlite"):
                raise ValueError(f"unsupported scheme {scheme or '(none)'!r}")
            if scheme != "sqlite" and not urlsplit(raw).hostname:
                raise ValueError("no host in the URL")
        return SecretStr(raw)


class RedisSettings(_Section):
    forms: ClassVar[dict[str, str]] = {
        "REDIS_URL": "redis://[:password@]host:6379/0 (rediss:// for TLS), or empty for no Redis",
        "REDIS_MAX_RETRIES": "a whole number from 0 to 100",
        "REDIS_MAX_CONNECTIONS": "a whole number from 1 to 10000",
    }
    url: SecretStr = Field(SecretStr(""), validation_alias="REDIS_URL")
    max_retries: int = Field(3, ge=0, le=100, validation_alias="REDIS_MAX_RETRIES")
    max_connections: int = Field(50, ge=1, le=10_000, validation_alias="REDIS_MAX_CONNECTIONS")

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value().strip()
        if raw:
            parts = urlsplit(raw)
            if parts.scheme not in ("redis", "rediss", "unix") or (
                parts.scheme != "unix" and not parts.hostname
            ):
                raise ValueError("not a redis:// URL")
        return SecretStr(raw)


class TelegramSettings(_Section):
    forms: ClassVar[dict[str, str]] = {
        "BOT_TOKEN": "the token from @BotFather, like 123456789:AAE1...",
        "TELEGRAM_API_URL": "an http(s) URL of a Bot API server",
        "ADMIN_TELEGRAM_IDS": "comma-separated Telegram user ids, e.g. 1111,2222",
        "CHAOS_ENABLED": "true or false",
        "TELEGRAM_WEBHOOK_URL": "empty for long polling, or the public https:// URL Telegram posts "
        "updates to (http:// only on 127.0.0.1 or localhost, for localnet)",
        "TELEGRAM_WEBHOOK_SECRET": "16 to 256 characters of A-Z a-z 0-9 _ - (required with "
        "TELEGRAM_WEBHOOK_URL)",
        "TELEGRAM_WEBHOOK_HOST": "an address to listen on for the webhook, e.g. 0.0.0.0",
        "TELEGRAM_WEBHOOK_PORT": "a port from 1 to 65535",
    }
    bot_token: SecretStr = Field(SecretStr(""), validation_alias="BOT_TOKEN")
    api_url: str = Field("https://api.telegram.org", validation_alias="TELEGRAM_API_URL")
    admin_ids: str = Field("", validation_alias="ADMIN_TELEGRAM_IDS")
    # admins' /memory hog: memory held on purpose (`sniper-bot chaos memory-pressure`); never on
    # a production bot
    chaos_enabled: bool = Field(False, validation_alias="CHAOS_ENABLED")
    # messages a second to all chats together (Telegram allows about 30; more with paid broadcasts)
    send_rate_per_s: float = Field(25.0, gt=0, le=1000, validation_alias="TELEGRAM_SEND_RATE_PER_S")
    # webhook mode (empty URL = long polling); served on its own port, never the ops server's
    webhook_url: str = Field("", validation_alias="TELEGRAM_WEBHOOK_URL")
    webhook_secret: SecretStr = Field(SecretStr(""), validation_alias="TELEGRAM_WEBHOOK_SECRET")
    webhook_host: str = Field("0.0.0.0", validation_alias="TELEGRAM_WEBHOOK_HOST")  # noqa: S104
    webhook_port: int = Field(8443, ge=1, le=65535, validation_alias="TELEGRAM_WEBHOOK_PORT")

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme == "https" and parts.hostname:
            return value
        if parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1"):
            return value
        raise ValueError("not an https:// URL (Telegram posts updates to HTTPS only)")

    @field_validator("webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value().strip()
        if raw and not 16 <= len(raw) <= 256:
            raise ValueError("is not 16 to 256 characters long")
        if raw and not all(c.isascii() and (c.isalnum() or c in "_-") for c in raw):
            raise ValueError("has characters other than A-Z a-z 0-9 _ -")
        return SecretStr(raw)

    @field_validator("bot_token")
    @classmethod
    def _check_token(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value().strip()
        if raw:
            head, sep, tail = raw.partition(":")
            if not sep or not head.isdigit() or len(tail) < 20:
                raise ValueError("not a bot token")
        return SecretStr(raw)

    @field_validator("api_url")
    @classmethod
    def _check_api(cls, value: str) -> str:
        return _http_url(value, "TELEGRAM_API_URL")

    @field_validator("admin_ids")
    @classmethod
    def _check_admins(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip() and not part.strip().isdigit():
                raise ValueError(f"{part.strip()!r} is not a numeric Telegram user id")
        return value

    @property
    def admin_id_set(self) -> frozenset[int]:
        return frozenset(int(p) for p in self.admin_ids.split(",") if p.strip())


def _geyser_target(value: str) -> None:
    """GEYSER_ENDPOINT's shape (``detection.geyser.parse_endpoint`` is the rule; config sits
    below detection, so the same checks are made here without importing it)."""
    from urllib.parse import urlsplit

    if "://" in value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"scheme {parts.scheme!r} is not https or http")
        if parts.username or parts.password or parts.query or parts.path not in ("", "/"):
            raise ValueError("carries a path, query or credentials (the token goes in "
                             "GEYSER_X_TOKEN)")  # fmt: skip
        try:
            port = parts.port or (443 if parts.scheme == "https" else None)
        except ValueError:
            raise ValueError("port is not a number") from None
        host = parts.hostname or ""
    else:
        host, sep, text = value.rpartition(":")
        port = int(text) if sep and text.isdigit() else None
    if not host or port is None or not 0 < port < 65_536:
        raise ValueError("needs a host and a port from 1 to 65535")


class RpcSettings(_Section):
    forms: ClassVar[dict[str, str]] = {
        "HELIUS_RPC_URL": "https://mainnet.helius-rpc.com/?api-key=KEY, or empty",
        "QUICKNODE_RPC_URL": "https://NAME.solana-mainnet.quiknode.pro/TOKEN/, or empty",
        "SOLANA_RPC_URL": "an http(s) JSON-RPC URL, or empty",
        "BACKUP_RPC_URL": "an http(s) JSON-RPC URL, or empty",
        "RPC_URLS": "comma-separated http(s) JSON-RPC URLs",
        "RPC_WS_URLS": "comma-separated name=ws(s)://URL pairs",
        "RPC_TIMEOUT_MS": "milliseconds from 100 to 120000",
        "GEYSER_ENABLED": "true or false",
        "GEYSER_ENDPOINT": "host:port of a Yellowstone gRPC endpoint (TLS), https://host[:port] "
        "or http://host:port (plaintext)",
        "GEYSER_X_TOKEN": "the endpoint's x-token, or empty",
    }
    helius_url: SecretStr = Field(SecretStr(""), validation_alias="HELIUS_RPC_URL")
    quicknode_url: SecretStr = Field(SecretStr(""), validation_alias="QUICKNODE_RPC_URL")
    solana_url: SecretStr = Field(
        SecretStr("https://api.mainnet-beta.solana.com"), validation_alias="SOLANA_RPC_URL"
    )
    backup_url: SecretStr = Field(SecretStr(""), validation_alias="BACKUP_RPC_URL")
    extra_urls: SecretStr = Field(SecretStr(""), validation_alias="RPC_URLS")
    ws_urls: SecretStr = Field(SecretStr(""), validation_alias="RPC_WS_URLS")
    timeout_ms: int = Field(10_000, ge=100, le=120_000, validation_alias="RPC_TIMEOUT_MS")
    geyser_enabled: bool = Field(False, validation_alias="GEYSER_ENABLED")
    # a secret too: providers put the key in the host name (NAME-TOKEN.quiknode.pro:10000)
    geyser_endpoint: SecretStr = Field(SecretStr(""), validation_alias="GEYSER_ENDPOINT")
    geyser_x_token: SecretStr = Field(SecretStr(""), validation_alias="GEYSER_X_TOKEN")

    @field_validator("geyser_endpoint")
    @classmethod
    def _check_geyser(cls, value: SecretStr) -> SecretStr:
        text = value.get_secret_value().strip()
        if text:
            _geyser_target(text)
        return SecretStr(text)

    @field_validator("helius_url", "quicknode_url", "solana_url", "backup_url")
    @classmethod
    def _check(cls, value: SecretStr) -> SecretStr:
        return SecretStr(_http_url(value.get_secret_value(), "RPC"))

    @field_validator("extra_urls")
    @classmethod
    def _check_list(cls, value: SecretStr) -> SecretStr:
        for part in value.get_secret_value().split(","):
            if part.strip():
                _http_url(part, "RPC")
        return value

    @field_validator("ws_urls")
    @classmethod
    def _check_ws(cls, value: SecretStr) -> SecretStr:
        for part in value.get_secret_value().split(","):
            if part.strip():
                name, sep, url = part.partition("=")
                if not sep or not name.strip():
                    raise ValueError("each entry must be name=ws(s)://URL")
                _http_url(url, "RPC", schemes=("ws", "wss"))
        return value

    def urls(self) -> dict[str, str]:
        """Named endpoints in priority order (secrets included: never log this)."""
        named = {
            "helius": self.helius_url.get_secret_value(),
            "quicknode": self.quicknode_url.get_secret_value(),
            "solana": self.solana_url.get_secret_value(),
            "backup": self.backup_url.get_secret_value(),
        }
        out = {k: v for k, v in named.items() if v}
        extra = [p.strip() for p in self.extra_urls.get_secret_value().split(",") if p.strip()]
        for i, url in enumerate(extra, start=1):
            out[f"rpc{i}"] = url
        return out

    def ws_overrides(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for part in self.ws_urls.get_secret_value().split(","):
            if part.strip():
                name, _, url = part.partition("=")
                out[name.strip()] = url.strip()
        return out


class JupiterSettings(_Section):
    forms: ClassVar[dict[str, str]] = {
        "JUPITER_API_URL": "https://api.jup.ag/swap/v1, https://lite-api.jup.ag/swap/v1 or a "
        "/v6 base",
        "JUPITER_API_KEY": "the x-api-key from portal.jup.ag, or empty",
        "JUPITER_TIMEOUT_MS": "milliseconds from 100 to 60000",
    }
    api_url: str = Field("https://lite-api.jup.ag/swap/v1", validation_alias="JUPITER_API_URL")
    api_key: SecretStr = Field(SecretStr(""), validation_alias="JUPITER_API_KEY")
    timeout_ms: int = Field(5_000, ge=100, le=60_000, validation_alias="JUPITER_TIMEOUT_MS")

    @field_validator("api_url")
    @classmethod
    def _check(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return _http_url(value, "JUPITER_API_URL")


class JitoSettings(_Section):
    """Landing through Jito block engines (issue 15): the same transaction to every engine."""

    forms: ClassVar[dict[str, str]] = {
        "JITO_BLOCK_ENGINE_URLS": "comma-separated http(s) block engine base URLs, e.g. "
        "https://ny.mainnet.block-engine.jito.wtf,https://frankfurt.mainnet.block-engine.jito.wtf, "
        "or empty for no Jito",
        "JITO_AUTH_UUID": "the uuid Jito issued for higher rate limits, or empty",
        "JITO_TIP_FLOOR_URL": "an http(s) URL of Jito's tip floor REST endpoint",
        "JITO_TIP_PERCENTILE": "25, 50, 75, 95, 99 or ema50",
        "JITO_MAX_TIP_LAMPORTS": "lamports from 1000 to 1000000000",
    }
    block_engine_urls: str = Field("", validation_alias="JITO_BLOCK_ENGINE_URLS")
    auth_uuid: SecretStr = Field(SecretStr(""), validation_alias="JITO_AUTH_UUID")
    tip_floor_url: str = Field(
        "https://bundles.jito.wtf/api/v1/bundles/tip_floor", validation_alias="JITO_TIP_FLOOR_URL"
    )
    tip_percentile: Literal["25", "50", "75", "95", "99", "ema50"] = Field(
        "75", validation_alias="JITO_TIP_PERCENTILE"
    )
    max_tip_lamports: int = Field(
        10_000_000, ge=1_000, le=1_000_000_000, validation_alias="JITO_MAX_TIP_LAMPORTS"
    )

    @field_validator("block_engine_urls")
    @classmethod
    def _check_engines(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                _http_url(part, "JITO")
                if urlsplit(part.strip()).query:
                    raise ValueError("a block engine URL takes no query (use JITO_AUTH_UUID)")
        return value

    @field_validator("tip_floor_url")
    @classmethod
    def _check_floor(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return _http_url(value, "JITO_TIP_FLOOR_URL")

    def engines(self) -> dict[str, str]:
        """Block engines by name (their host[:port]), in the configured order, duplicates once."""
        out: dict[str, str] = {}
        for part in self.block_engine_urls.split(","):
            url = part.strip().rstrip("/")
            if url:
                out.setdefault(urlsplit(url).netloc.rpartition("@")[2], url)
        return out


class BreakerSettings(_Section):
    forms: ClassVar[dict[str, str]] = {
        "CIRCUIT_BREAKER_FAILURE_THRESHOLD": "a whole number from 1 to 1000",
        "CIRCUIT_BREAKER_SUCCESS_THRESHOLD": "a whole number from 1 to 1000",
        "CIRCUIT_BREAKER_TIMEOUT": "milliseconds from 100 to 3600000",
        "CIRCUIT_BREAKER_MONITORING_PERIOD": "milliseconds from 100 to 86400000",
    }
    failure_threshold: int = Field(
        5, ge=1, le=1000, validation_alias="CIRCUIT_BREAKER_FAILURE_THRESHOLD"
    )
    success_threshold: int = Field(
        2, ge=1, le=1000, validation_alias="CIRCUIT_BREAKER_SUCCESS_THRESHOLD"
    )
    timeout_ms: int = Field(
        30_000, ge=100, le=3_600_000, validation_alias="CIRCUIT_BREAKER_TIMEOUT"
    )
    monitoring_period_ms: int = Field(
        60_000, ge=100, le=86_400_000, validation_alias="CIRCUIT_BREAKER_MONITORING_PERIOD"
    )


class CacheSettings(_Section):
    forms: ClassVar[dict[str, str]] = {
        "MAX_CACHE_ITEMS": "a whole number from 1 to 10000000",
        "COMPRESSION_ENABLED": "true or false",
    }
    max_items: int = Field(10_000, ge=1, le=10_000_000, validation_alias="MAX_CACHE_ITEMS")
    compression_enabled: bool = Field(False, validation_alias="COMPRESSION_ENABLED")


class TradingSettings(_Section):
    forms: ClassVar[dict[str, str]] = {
        "TRANSACTION_TIMEOUT_MS": "milliseconds from 1000 to 600000",
        "DEFAULT_SLIPPAGE_BPS": f"basis points from 1 to {MAX_SLIPPAGE_BPS} (100 = 1 %)",
        "SNIPE_SLIPPAGE_BPS": f"basis points from 1 to {MAX_SLIPPAGE_BPS}",
        "DEFAULT_PRIORITY_FEE": "one of " + ", ".join(level.value for level in FeeLevel),
        "MAX_PRIORITY_FEE_LAMPORTS": "lamports from 0 to 100000000",
        "SEND_FANOUT": "how many endpoints receive each signed transaction, 1 to 10",
        "SWAP_COSIGNER_POLICY": "none (mainnet: the user is the only signer) or presigned",
        "WORKER_ID": "a name unique per replica, stable across restarts (default: host name)",
    }
    transaction_timeout_ms: int = Field(
        30_000, ge=1_000, le=600_000, validation_alias="TRANSACTION_TIMEOUT_MS"
    )
    default_slippage_bps: int = Field(
        100, ge=1, le=MAX_SLIPPAGE_BPS, validation_alias="DEFAULT_SLIPPAGE_BPS"
    )
    snipe_slippage_bps: int = Field(
        1_500, ge=1, le=MAX_SLIPPAGE_BPS, validation_alias="SNIPE_SLIPPAGE_BPS"
    )
    default_priority_fee: FeeLevel = Field(FeeLevel.MEDIUM, validation_alias="DEFAULT_PRIORITY_FEE")
    max_priority_fee_lamports: int = Field(
        10_000_000, ge=0, le=100_000_000, validation_alias="MAX_PRIORITY_FEE_LAMPORTS"
    )
    send_fanout: int = Field(2, ge=1, le=10, validation_alias="SEND_FANOUT")
    cosigner_policy: Literal["none", "presigned"] = Field(
        "none", validation_alias="SWAP_COSIGNER_POLICY"
    )
    worker_id: str = Field("", max_length=64, validation_alias="WORKER_ID")
    # paper trading: every user's buys and sells go to the simulated executor (never signed)
    paper_trading: bool = Field(False, validation_alias="PAPER_TRADING")
    paper_start_lamports: int = Field(
        10 * 10**9, ge=0, le=10**15, validation_alias="PAPER_START_LAMPORTS"
    )
    # copy trading: how many wallets one user may follow at once
    copy_max_leaders: int = Field(10, ge=1, le=100, validation_alias="COPY_MAX_LEADERS")

    @field_validator("default_priority_fee", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value


class SafetySettings(_Section):
    forms: ClassVar[dict[str, str]] = {
        "RISK_BLOCK_THRESHOLD": "a score from 1 to 100",
        "RISK_CACHE_TTL_S": "seconds from 0 to 86400",
        "EXTERNAL_RISK_APIS": "true or false",
        "RUGCHECK_API_URL": "an http(s) base URL, e.g. https://api.rugcheck.xyz",
        "GOPLUS_API_URL": "an http(s) base URL, e.g. https://api.gopluslabs.io",
    }
    block_threshold: int = Field(70, ge=1, le=100, validation_alias="RISK_BLOCK_THRESHOLD")
    cache_ttl_s: int = Field(300, ge=0, le=86_400, validation_alias="RISK_CACHE_TTL_S")
    external_apis: bool = Field(False, validation_alias="EXTERNAL_RISK_APIS")
    rugcheck_url: str = Field("https://api.rugcheck.xyz", validation_alias="RUGCHECK_API_URL")
    goplus_url: str = Field("https://api.gopluslabs.io", validation_alias="GOPLUS_API_URL")

    @field_validator("rugcheck_url", "goplus_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return _http_url(value, "EXTERNAL")


class SecuritySettings(_Section):
    forms: ClassVar[dict[str, str]] = {
        "SESSION_MASTER_SECRET": "at least 32 random characters, e.g. the output of "
        "`openssl rand -hex 32`",
        "SESSION_MASTER_SECRET_PREVIOUS": "the previous master secret while rotating, else empty",
        "SIGNER_TTL_S": "seconds from 0 to 86400",
    }
    master_secret: SecretStr = Field(SecretStr(""), validation_alias="SESSION_MASTER_SECRET")
    previous_master_secret: SecretStr = Field(
        SecretStr(""), validation_alias="SESSION_MASTER_SECRET_PREVIOUS"
    )
    signer_ttl_s: int = Field(300, ge=0, le=86_400, validation_alias="SIGNER_TTL_S")


class ObservabilitySettings(_Section):
    forms: ClassVar[dict[str, str]] = {
        "METRICS_PORT": "a TCP port from 0 to 65535 (0 = any free port)",
        "METRICS_HOST": "an interface address such as 0.0.0.0 or 127.0.0.1",
        "LOG_LEVEL": "DEBUG, INFO, WARNING or ERROR",
        "LOG_FORMAT": "json or console",
        "INSTANCE_ID": "a name unique per running replica, e.g. the pod name (default: "
        "host name-pid)",
    }
    metrics_port: int = Field(3000, ge=0, le=65535, validation_alias="METRICS_PORT")
    metrics_host: str = Field("0.0.0.0", validation_alias="METRICS_HOST")  # noqa: S104 - ops port
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", validation_alias="LOG_LEVEL"
    )
    log_format: Literal["json", "console"] = Field("json", validation_alias="LOG_FORMAT")
    # one name per running process: bot_instance_info, /health, the webhook's update claims
    instance_id: str = Field("", max_length=128, validation_alias="INSTANCE_ID")

    @property
    def instance(self) -> str:
        """``INSTANCE_ID``, else ``<host name>-<pid>`` (two processes on one host differ)."""
        import os
        import socket

        return self.instance_id.strip() or f"{socket.gethostname()}-{os.getpid()}"

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _case(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.strip().upper() if value.strip().upper() in _LEVELS else value.lower()
        return value


class ClusterSettings(_Section):
    """Replicas sharing the work (``sniper_bot.cluster``): one feed leader, partitioned orders."""

    forms: ClassVar[dict[str, str]] = {
        "CLUSTER_ENABLED": "true or false (needs REDIS_URL)",
        "CLUSTER_LEASE_MS": "milliseconds from 300 to 60000",
        "CLUSTER_PARTITIONS": "1 to 1024",
        "CLUSTER_CLAIM_IDLE_MS": "milliseconds from 100 to 600000",
    }
    enabled: bool = Field(False, validation_alias="CLUSTER_ENABLED")
    # the feed lease and the membership heartbeat: a dead leader is replaced within about this
    lease_ms: int = Field(3_000, ge=300, le=60_000, validation_alias="CLUSTER_LEASE_MS")
    partitions: int = Field(16, ge=1, le=1024, validation_alias="CLUSTER_PARTITIONS")
    claim_idle_ms: int = Field(3_000, ge=100, le=600_000, validation_alias="CLUSTER_CLAIM_IDLE_MS")


_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR"}

_SECTIONS: dict[str, type[_Section]] = {
    "database": DatabaseSettings,
    "redis": RedisSettings,
    "telegram": TelegramSettings,
    "rpc": RpcSettings,
    "jupiter": JupiterSettings,
    "jito": JitoSettings,
    "breaker": BreakerSettings,
    "cache": CacheSettings,
    "trading": TradingSettings,
    "safety": SafetySettings,
    "security": SecuritySettings,
    "observability": ObservabilitySettings,
    "cluster": ClusterSettings,
}


@dataclass(frozen=True, slots=True)
class Settings:
    """Every section; built only by ``load_settings``."""

    database: DatabaseSettings
    redis: RedisSettings
    telegram: TelegramSettings
    rpc: RpcSettings
    jupiter: JupiterSettings
    breaker: BreakerSettings
    cache: CacheSettings
    trading: TradingSettings
    safety: SafetySettings
    security: SecuritySettings
    observability: ObservabilitySettings
    jito: JitoSettings
    cluster: ClusterSettings
    embedded: bool = False

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL: DATABASE_URL, or a SQLite file in DATA_DIR when unset."""
        raw = self.database.url.get_secret_value()
        if not raw:
            path = (self.database.data_dir / "sniper-bot.sqlite").resolve()
            return f"sqlite+aiosqlite:///{path}"
        scheme, _, rest = raw.partition("://")
        base = scheme.split("+")[0]
        if base in ("postgresql", "postgres"):
            return f"postgresql+asyncpg://{rest}"
        if base == "sqlite":
            return f"sqlite+aiosqlite://{rest}"
        return raw

    @property
    def redis_url(self) -> str | None:
        return self.redis.url.get_secret_value() or None

    def master_secrets(self) -> list[str]:
        """Current secret first, then the previous one when rotating."""
        current = self.security.master_secret.get_secret_value()
        if not current and self.embedded:
            current = DEMO_MASTER_SECRET
        previous = self.security.previous_master_secret.get_secret_value()
        return [s for s in (current, previous) if s]

    def secret_values(self) -> list[str]:
        """Every configured secret value, for the log redactor (never for display)."""
        values = [
            self.telegram.bot_token.get_secret_value(),
            self.telegram.webhook_secret.get_secret_value(),
            self.security.master_secret.get_secret_value(),
            self.security.previous_master_secret.get_secret_value(),
            self.jupiter.api_key.get_secret_value(),
            self.jito.auth_uuid.get_secret_value(),
        ]
        return [v for v in values if len(v) >= 8]


def redact_dsn(url: str) -> str:
    """A connection URL fit for logs and tables: scheme, host, port and path; no credentials."""
    parts = urlsplit(url)
    if parts.scheme.startswith("sqlite"):
        return f"sqlite:{parts.path}"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme.split('+')[0]}://{host}{parts.path}"


def _is_placeholder(value: str) -> bool:
    lowered = value.lower()
    return any(marker in lowered for marker in PLACEHOLDER_MARKERS) or len(set(value)) < 6


def _describe(section: type[_Section], err: Mapping[str, Any]) -> str:
    loc = err.get("loc") or ("?",)
    var = str(loc[0])
    message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    form = section.forms.get(var)
    secret_fields = {
        f.validation_alias
        for f in section.model_fields.values()
        if f.annotation is SecretStr and isinstance(f.validation_alias, str)
    }
    raw = err.get("input")
    shown = ""
    if var not in secret_fields and isinstance(raw, str):
        shown = f" (got {raw[:60]!r})"
    line = f"{var}: {message}{shown}"
    return f"{line}; expected {form}" if form else line


def _secret_problems(source: Mapping[str, str], *, embedded: bool, require_bot: bool) -> list[str]:
    """Checks on the raw secret values, so they are reported together with field problems."""
    problems: list[str] = []
    forms = SecuritySettings.forms
    current = source.get("SESSION_MASTER_SECRET", "").strip()
    previous = source.get("SESSION_MASTER_SECRET_PREVIOUS", "").strip()
    if not current and not embedded:
        problems.append(
            "SESSION_MASTER_SECRET: is not set; expected " + forms["SESSION_MASTER_SECRET"]
        )
    for var, value in (
        ("SESSION_MASTER_SECRET", current),
        ("SESSION_MASTER_SECRET_PREVIOUS", previous),
    ):
        if not value:
            continue
        if len(value) < 32:
            problems.append(f"{var}: is shorter than 32 characters; expected {forms[var]}")
        elif _is_placeholder(value):
            problems.append(f"{var}: looks like a placeholder; expected {forms[var]}")
    if current and current == previous:
        problems.append(
            "SESSION_MASTER_SECRET_PREVIOUS: equals SESSION_MASTER_SECRET; expected the old secret "
            "or empty"
        )
    if require_bot and not source.get("BOT_TOKEN", "").strip():
        problems.append("BOT_TOKEN: is not set; expected " + TelegramSettings.forms["BOT_TOKEN"])
    return problems


def _semantic_problems(settings: Settings) -> list[str]:
    problems: list[str] = []
    if not settings.rpc.urls():
        problems.append(
            "SOLANA_RPC_URL: no RPC endpoint is configured; expected at least one of "
            "HELIUS_RPC_URL, QUICKNODE_RPC_URL, SOLANA_RPC_URL, BACKUP_RPC_URL, RPC_URLS"
        )
    if settings.rpc.geyser_enabled and not settings.rpc.geyser_endpoint.get_secret_value():
        problems.append(
            "GEYSER_ENDPOINT: is empty while GEYSER_ENABLED=true; expected "
            + RpcSettings.forms["GEYSER_ENDPOINT"]
        )
    webhook_secret = settings.telegram.webhook_secret.get_secret_value()
    if settings.telegram.webhook_url and not webhook_secret:
        problems.append(
            "TELEGRAM_WEBHOOK_SECRET: is empty while TELEGRAM_WEBHOOK_URL is set; expected "
            + TelegramSettings.forms["TELEGRAM_WEBHOOK_SECRET"]
        )
    elif webhook_secret and _is_placeholder(webhook_secret):
        problems.append(
            "TELEGRAM_WEBHOOK_SECRET: looks like a placeholder; expected "
            + TelegramSettings.forms["TELEGRAM_WEBHOOK_SECRET"]
        )
    if settings.cluster.enabled and not settings.redis_url:
        problems.append(
            "CLUSTER_ENABLED: is true while REDIS_URL is empty; expected a Redis server the "
            "replicas share (leases, streams, consumer groups)"
        )
    if settings.trading.snipe_slippage_bps < settings.trading.default_slippage_bps:
        problems.append(
            "SNIPE_SLIPPAGE_BPS: is lower than DEFAULT_SLIPPAGE_BPS; expected a value at least as "
            "high (new pools move fast)"
        )
    return problems


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    embedded: bool = False,
    require_bot: bool = False,
) -> Settings:
    """Read and validate every section. ``env`` defaults to the process environment.

    Raises ConfigError whose message has one line per problem.
    """
    import os

    source: Mapping[str, str] = os.environ if env is None else env
    problems: list[str] = []
    built: dict[str, _Section] = {}
    for key, section in _SECTIONS.items():
        values = {
            name: source[name]
            for f in section.model_fields.values()
            if isinstance(name := f.validation_alias, str) and name in source
        }
        try:
            built[key] = section.model_validate(values)
        except ValidationError as exc:
            problems.extend(_describe(section, err) for err in exc.errors())
    problems += _secret_problems(source, embedded=embedded, require_bot=require_bot)
    if not problems:
        settings = Settings(embedded=embedded, **built)  # type: ignore[arg-type]
        problems = _semantic_problems(settings)
        if not problems:
            return settings
    raise ConfigError("\n".join(problems))


def all_variables() -> dict[str, str]:
    """Every environment variable the settings read, with its accepted form (docs/tests)."""
    out: dict[str, str] = {}
    for section in _SECTIONS.values():
        for f in section.model_fields.values():
            if isinstance(f.validation_alias, str):
                out[f.validation_alias] = section.forms.get(f.validation_alias, "")
    return out


def defaults() -> dict[str, str]:
    """Each variable's default as it would be written in an env file."""
    out: dict[str, str] = {}
    for section in _SECTIONS.values():
        for f in section.model_fields.values():
            if not isinstance(f.validation_alias, str):
                continue
            value = f.default
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            if isinstance(value, bool):
                value = str(value).lower()
            out[f.validation_alias] = str(value.value if hasattr(value, "value") else value)
    return out
