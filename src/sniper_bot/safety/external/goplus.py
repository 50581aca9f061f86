"""GoPlus Security: ``GET {base}/api/v1/solana/token_security?contract_addresses=<mint>``.

Answer ``{"code": 1, "message": ..., "result": {"<mint>": {...}}}``; flags are strings, the result
key may be lower-cased, missing fields mean "not analysed" (PROTOCOLS.md 7.8); see
``mapping.parse_goplus``. Anonymous access is rate limited by GoPlus; a 429 is "no opinion".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp

from sniper_bot.safety.external.client import (
    DEFAULT_TIMEOUT_S,
    GuardLike,
    JsonOpinionClient,
    normalize_base_url,
)
from sniper_bot.safety.external.mapping import GOPLUS, parse_goplus
from sniper_bot.safety.snapshot import ExternalOpinion

__all__ = ["DEFAULT_GOPLUS_URL", "GoPlusClient"]

DEFAULT_GOPLUS_URL = "https://api.gopluslabs.io"


class GoPlusClient(JsonOpinionClient):
    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str = DEFAULT_GOPLUS_URL,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        breaker: GuardLike | None = None,
    ) -> None:
        super().__init__(GOPLUS, session, timeout_s=timeout_s, breaker=breaker)
        self.base_url = normalize_base_url(base_url, "GOPLUS_API_URL")

    def request(self, mint: str) -> tuple[str, Mapping[str, str]]:
        return f"{self.base_url}/api/v1/solana/token_security", {"contract_addresses": mint}

    def parse(self, body: Any, mint: str) -> ExternalOpinion:
        return parse_goplus(body, mint)
