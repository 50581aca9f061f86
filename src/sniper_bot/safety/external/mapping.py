"""Vendor JSON -> ``ExternalOpinion``: the only place RugCheck and GoPlus keys are named.

Both parsers are pure and tolerant (PROTOCOLS.md 7.7, 7.8): unknown fields are ignored, numbers may
arrive as strings, GoPlus flags are the strings ``"1"``/``"0"`` (or ``{"status": "1", ...}``
objects), the GoPlus result key may be lower-cased, and a missing field means "not analysed",
never "safe". A body that carries no usable verdict is ``MalformedOpinion`` (the client turns it
into "no opinion").

Opinion score (0-100, higher = riskier), the value ``layers/external.py`` weighs:

* RugCheck: ``score_normalised``; a risk of level ``danger`` lifts it to at least 70. Without
  ``score_normalised``: 70 per danger risk + 20 per warn risk, capped at 100.
* GoPlus (no score of its own): 70 per danger flag + 20 per warn flag, capped at 100; a token GoPlus
  marks ``trusted_token = "1"`` (well-known) is capped at 39.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from sniper_bot.safety.snapshot import ExternalOpinion

__all__ = [
    "DANGER_POINTS",
    "GOPLUS",
    "RUGCHECK",
    "TRUSTED_CAP",
    "WARN_POINTS",
    "MalformedOpinion",
    "parse_goplus",
    "parse_rugcheck",
]

RUGCHECK: Final = "rugcheck"
GOPLUS: Final = "goplus"
DANGER_POINTS = 70
WARN_POINTS = 20
TRUSTED_CAP = 39
_MAX_RISKS = 12
_MAX_TEXT = 120


class MalformedOpinion(ValueError):
    """The body is not a verdict we can read (wrong shape, no analysed field)."""


def _points(dangers: int, warns: int) -> int:
    return min(100, dangers * DANGER_POINTS + warns * WARN_POINTS)


def _int(value: Any) -> int | None:
    """An integer from an int, a float or a numeric string; None otherwise (bools too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value == value and abs(value) < 1e18:
        return int(value)
    if isinstance(value, str):
        try:
            return int(float(value.strip()))
        except (ValueError, OverflowError):
            return None
    return None


def _text(value: Any) -> str:
    return " ".join(str(value).split())[:_MAX_TEXT]


# --- RugCheck -------------------------------------------------------------------------------------


def parse_rugcheck(body: Any) -> ExternalOpinion:
    """``GET /v1/tokens/{mint}/report/summary`` -> opinion (raises ``MalformedOpinion``)."""
    if not isinstance(body, Mapping):
        raise MalformedOpinion(f"rugcheck summary is {type(body).__name__}, not an object")
    fields = {str(k).lower(): v for k, v in body.items()}
    normalised = _int(fields.get("score_normalised", fields.get("score_normalized")))
    raw_risks = fields.get("risks")
    risks: list[str] = []
    dangers = warns = 0
    if isinstance(raw_risks, list):
        for item in raw_risks:
            if not isinstance(item, Mapping):
                continue
            name = _text(item.get("name") or item.get("description") or "")
            if not name:
                continue
            level = _text(item.get("level") or "").lower() or "info"
            dangers += level == "danger"
            warns += level == "warn"
            value = item.get("value")
            risks.append(f"{level}: {name}" + (f" ({_text(value)})" if value else ""))
    elif normalised is None:
        raise MalformedOpinion("rugcheck summary has neither score_normalised nor risks")
    if normalised is not None:
        score = max(0, min(100, normalised))
        if dangers:
            score = max(score, DANGER_POINTS)
    else:
        score = _points(dangers, warns)
    return ExternalOpinion(RUGCHECK, score, tuple(risks[:_MAX_RISKS]))


# --- GoPlus ---------------------------------------------------------------------------------------

# flag -> (level, what "1" means). Authority fields are {"status": "1", "authority": [...]}.
_GOPLUS_FLAGS: Final[tuple[tuple[str, str, str], ...]] = (
    ("freezable", "danger", "freeze authority live"),
    ("balance_mutable_authority", "danger", "balances can be moved (permanent delegate)"),
    ("non_transferable", "danger", "non-transferable"),
    ("mintable", "warn", "mint authority live"),
    ("closable", "warn", "mint can be closed"),
    ("metadata_mutable", "warn", "metadata mutable"),
    ("transfer_fee_upgradable", "warn", "transfer fee can be raised"),
    ("transfer_hook_upgradable", "warn", "transfer hook can be set"),
    ("default_account_state_upgradable", "warn", "default account state can be changed"),
)
_GOPLUS_ANALYSED: Final = frozenset(
    {name for name, _, _ in _GOPLUS_FLAGS}
    | {"default_account_state", "transfer_fee", "transfer_hook", "creators", "trusted_token"}
)
_FEE_DANGER_BPS = 1_000


def _flag(value: Any) -> bool | None:
    """``"1"``/``1``/``{"status": "1"}`` -> True, ``"0"`` -> False, anything else -> None."""
    if isinstance(value, Mapping):
        value = value.get("status")
    if isinstance(value, bool):
        return value
    number = _int(value)
    if number is None:
        return None
    return number != 0


def _goplus_result(body: Any, mint: str) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise MalformedOpinion(f"goplus body is {type(body).__name__}, not an object")
    code = _int(body.get("code"))
    if code is not None and code != 1:
        raise MalformedOpinion(f"goplus code {code}: {_text(body.get('message', ''))}")
    result = body.get("result")
    if not isinstance(result, Mapping):
        raise MalformedOpinion("goplus body has no result object")
    wanted = mint.lower()
    for key, value in result.items():
        if str(key).lower() == wanted and isinstance(value, Mapping):
            return value
    raise MalformedOpinion("goplus has not analysed this mint")


def _goplus_fee_bps(value: Any) -> int | None:
    if not isinstance(value, Mapping):
        return None
    current = value.get("current_fee_rate")
    if isinstance(current, Mapping):
        return _int(current.get("fee_rate"))
    return _int(current)


def _hook_set(value: Any) -> bool:
    if isinstance(value, list):
        return any(item for item in value)
    if isinstance(value, Mapping):
        return bool(value.get("address") or value.get("program_id"))
    return bool(value) and _flag(value) is not False


def parse_goplus(body: Any, mint: str) -> ExternalOpinion:
    """``GET /api/v1/solana/token_security?contract_addresses=<mint>`` -> opinion."""
    raw = _goplus_result(body, mint)
    data = {str(k).lower(): v for k, v in raw.items()}
    if not _GOPLUS_ANALYSED & data.keys():
        raise MalformedOpinion("goplus returned no analysed field for this mint")
    risks: list[str] = []
    dangers = warns = 0

    def add(level: str, text: str) -> None:
        nonlocal dangers, warns
        dangers += level == "danger"
        warns += level == "warn"
        risks.append(f"{level}: {text}")

    for name, level, text in _GOPLUS_FLAGS:
        if _flag(data.get(name)):
            add(level, text)
    if _int(data.get("default_account_state")) == 2:
        add("danger", "new accounts start frozen")
    fee_bps = _goplus_fee_bps(data.get("transfer_fee"))
    if fee_bps is not None and fee_bps > 0:
        add("danger" if fee_bps >= _FEE_DANGER_BPS else "warn", f"transfer fee {fee_bps} bps")
    if "transfer_hook" in data and _hook_set(data["transfer_hook"]):
        add("danger", "transfer hook program set")
    creators = data.get("creators", data.get("creator"))
    if isinstance(creators, list) and any(
        isinstance(c, Mapping) and _flag(c.get("malicious_address")) for c in creators
    ):
        add("danger", "creator address flagged malicious")
    score = _points(dangers, warns)
    if _flag(data.get("trusted_token")):
        risks.append("info: GoPlus lists this as a trusted, well-known token")
        score = min(score, TRUSTED_CAP)
    return ExternalOpinion(GOPLUS, score, tuple(risks[:_MAX_RISKS]))
