"""RugCheck (rugcheck.xyz): ``GET {base}/v1/tokens/{mint}/report/summary``, no key for reads.

Fields used (PROTOCOLS.md 7.7): ``score_normalised`` (0-100, higher = riskier) and ``risks[]``
(``name``, ``value``, ``level`` = ``warn`` | ``danger``); see ``mapping.parse_rugcheck``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import aiohttp

from sniper_bot.safety.external.client import (
    DEFAULT_TIMEOUT_S,
    GuardLike,
    JsonOpinionClient,
    normalize_base_url,
)
from sniper_bot.safety.external.mapping import RUGCHECK, parse_rugcheck
from sniper_bot.safety.snapshot import ExternalOpinion

__all__ = ["DEFAULT_RUGCHECK_URL", "RugCheckClient"]

DEFAULT_RUGCHECK_URL = "https://api.rugcheck.xyz"


class RugCheckClient(JsonOpinionClient):
    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str = DEFAULT_RUGCHECK_URL,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        breaker: GuardLike | None = None,
    ) -> None:
        super().__init__(RUGCHECK, session, timeout_s=timeout_s, breaker=breaker)
        self.base_url = normalize_base_url(base_url, "RUGCHECK_API_URL")

    def request(self, mint: str) -> tuple[str, Mapping[str, str]]:
        return f"{self.base_url}/v1/tokens/{quote(mint, safe='')}/report/summary", {}

    def parse(self, body: Any, mint: str) -> ExternalOpinion:
        return parse_rugcheck(body)
