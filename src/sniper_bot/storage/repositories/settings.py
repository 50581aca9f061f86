"""``"UserSettings"``: defaults until the user changes something; validated updates."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from sniper_bot.domain.entities import MIN_JITO_TIP_LAMPORTS, TIP_PERCENTILES, UserSettings
from sniper_bot.domain.exits import LIMITS as EXIT_LIMITS
from sniper_bot.domain.exits import ExitRule, LadderStep, ladder_from_json
from sniper_bot.domain.fees import MAX_SLIPPAGE_BPS, FeeLevel
from sniper_bot.storage.errors import InvalidSetting, NotFound
from sniper_bot.storage.models import UserSettingsRow

from .base import Repository, by_column, insert_for

__all__ = [
    "MAX_BUY_PRESETS",
    "MAX_JITO_TIP_CAP_LAMPORTS",
    "SettingsRepository",
    "validate_settings_change",
]

MAX_BUY_PRESETS = 6
MAX_FEE_CAP_LAMPORTS = 100_000_000  # 0.1 SOL: a priority-fee cap above this is a typo
# 1 SOL: no stored tip is ever above it (the operator's MAX_JITO_TIP_LAMPORTS, at most this, is
# what the frontends hold a typed tip to)
MAX_JITO_TIP_CAP_LAMPORTS = 1_000_000_000
_EDITABLE = {f.name for f in fields(UserSettings)} - {"user_id", "updated_at"}


def to_settings(row: UserSettingsRow) -> UserSettings:
    return UserSettings(
        user_id=row.user_id,
        slippage_bps=row.slippage_bps,
        snipe_slippage_bps=row.snipe_slippage_bps,
        priority_fee_level=FeeLevel(row.priority_fee_level),
        max_priority_fee_lamports=row.max_priority_fee_lamports,
        buy_presets_lamports=tuple(int(x) for x in row.buy_presets_lamports),
        confirm_trades=row.confirm_trades,
        updated_at=row.updated_at,
        take_profit_pct=row.take_profit_pct,
        stop_loss_pct=row.stop_loss_pct,
        trailing_stop_pct=row.trailing_stop_pct,
        max_hold_minutes=row.max_hold_minutes,
        mev_protection=bool(row.mev_protection),
        jito_tip_lamports=row.jito_tip_lamports,
        tip_percentile=row.tip_percentile,
        force_jupiter=bool(row.force_jupiter),
        paper_trading=bool(row.paper_trading),
        exit_ladder=ladder_from_json(row.exit_ladder),
        sell_with_creator=bool(row.sell_with_creator),
        notify_fills=bool(row.notify_fills),
        notify_exits=bool(row.notify_exits),
        notify_snipe_misses=bool(row.notify_snipe_misses),
        notify_copies=bool(row.notify_copies),
    )


def _bps(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SLIPPAGE_BPS:
        raise InvalidSetting(
            f"{name} must be an integer between 1 and {MAX_SLIPPAGE_BPS}, got {value!r}",
            user_message=f"Slippage must be between 0.01% and {MAX_SLIPPAGE_BPS / 100:g}%.",
        )
    return value


def validate_settings_change(name: str, value: Any) -> Any:
    """Check one change; returns the normalised value or raises ``InvalidSetting``."""
    if name not in _EDITABLE:
        raise InvalidSetting(
            f"unknown setting {name!r}; editable: {sorted(_EDITABLE)}",
            user_message="That setting does not exist.",
        )
    if name in ("slippage_bps", "snipe_slippage_bps"):
        return _bps(name, value)
    if name == "priority_fee_level":
        try:
            return FeeLevel(value)
        except ValueError:
            raise InvalidSetting(
                f"priority_fee_level must be one of {[f.value for f in FeeLevel]}, got {value!r}",
                user_message="Choose a priority fee level from the menu.",
            ) from None
    if name == "max_priority_fee_lamports":
        ok = isinstance(value, int) and not isinstance(value, bool)
        if not ok or not 0 <= value <= MAX_FEE_CAP_LAMPORTS:
            raise InvalidSetting(
                f"max_priority_fee_lamports must be 0..{MAX_FEE_CAP_LAMPORTS}, got {value!r}",
                user_message="The priority fee cap must be between 0 and 0.1 SOL.",
            )
        return value
    if name == "buy_presets_lamports":
        return _presets(value)
    if name in EXIT_LIMITS:
        return _exit_rule(name, value)
    if name == "exit_ladder":
        return _ladder(value)
    if name == "jito_tip_lamports":
        return _jito_tip(value)
    if name == "tip_percentile":
        if value is not None and (isinstance(value, bool) or value not in TIP_PERCENTILES):
            raise InvalidSetting(
                f"tip_percentile must be None or one of {list(TIP_PERCENTILES)}, got {value!r}",
                user_message="Choose a tip floor percentile from the menu: "
                + ", ".join(f"p{p}" for p in TIP_PERCENTILES)
                + ".",
            )
        return value
    if not isinstance(value, bool):
        raise InvalidSetting(f"{name} must be true or false, got {value!r}")
    return value


_EXIT_WORDS = {
    "take_profit_pct": ("Take-profit", "%"),
    "stop_loss_pct": ("Stop-loss", "%"),
    "trailing_stop_pct": ("Trailing stop", "%"),
    "max_hold_minutes": ("Max hold time", " minutes"),
}


def _exit_rule(name: str, value: Any) -> int | None:
    """An exit rule is off (``None``) or an integer within ``EXIT_LIMITS[name]``."""
    if value is None:
        return None
    low, high = EXIT_LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        label, unit = _EXIT_WORDS[name]
        raise InvalidSetting(
            f"{name} must be None (off) or an integer between {low} and {high}, got {value!r}",
            user_message=f"{label} must be a whole number from {low} to {high}{unit}, or off.",
        )
    return value


def _ladder(value: Any) -> tuple[LadderStep, ...]:
    """A take-profit ladder: ``LadderStep``s or ``[gain_pct, sell_pct]`` pairs; () or None: off."""
    try:
        steps = tuple(x if isinstance(x, LadderStep) else LadderStep(*x) for x in (value or ()))
        ExitRule(ladder=steps)  # rising gains, at most MAX_LADDER_STEPS, 100 % in all
    except (TypeError, ValueError) as exc:
        raise InvalidSetting(
            f"exit_ladder: {exc}", user_message=f"The ladder was not saved: {exc}."
        ) from None
    return steps


def _jito_tip(value: Any) -> int | None:
    """A fixed Jito tip in lamports, or ``None``: the tip comes from the tip floor."""
    if value is None:
        return None
    ok = isinstance(value, int) and not isinstance(value, bool)
    if not ok or not MIN_JITO_TIP_LAMPORTS <= value <= MAX_JITO_TIP_CAP_LAMPORTS:
        raise InvalidSetting(
            f"jito_tip_lamports must be None (auto) or {MIN_JITO_TIP_LAMPORTS}.."
            f"{MAX_JITO_TIP_CAP_LAMPORTS}, got {value!r}",
            user_message="A fixed Jito tip must be between 0.000001 and 1 SOL, or auto.",
        )
    return int(value)


def _presets(value: Any) -> tuple[int, ...]:
    bad = InvalidSetting(
        f"buy_presets_lamports must be 1..{MAX_BUY_PRESETS} positive integers, got {value!r}",
        user_message=f"Give between 1 and {MAX_BUY_PRESETS} buy amounts, each above 0 SOL.",
    )
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise bad
    items = list(value)
    if not 1 <= len(items) <= MAX_BUY_PRESETS:
        raise bad
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int) or not 0 < item < 2**63:
            raise bad
    return tuple(items)


_IN_CHUNK = 1_000  # ids per IN (...) list: well under SQLite's and asyncpg's parameter limits


class SettingsRepository(Repository):
    async def get(self, user_id: int) -> UserSettings:
        async with self._db.session() as session:
            row = await session.get(UserSettingsRow, user_id)
            return to_settings(row) if row else UserSettings(user_id=user_id)

    async def get_many(self, user_ids: Iterable[int]) -> dict[int, UserSettings]:
        """Settings of many users in one query per ``_IN_CHUNK`` ids (defaults for users with
        no row): the exit monitor's pass reads every position owner's rules this way."""
        wanted = sorted(set(user_ids))
        found: dict[int, UserSettings] = {}
        async with self._db.session() as session:
            for at in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[at : at + _IN_CHUNK]
                rows = await session.scalars(
                    select(UserSettingsRow).where(UserSettingsRow.user_id.in_(chunk))
                )
                found.update((row.user_id, to_settings(row)) for row in rows)
        return {uid: found.get(uid) or UserSettings(user_id=uid) for uid in wanted}

    async def update(self, user_id: int, /, **changes: Any) -> UserSettings:
        """Validate and save changes (``slippage_bps=300, priority_fee_level="HIGH"``, ...)."""
        checked = {name: validate_settings_change(name, v) for name, v in changes.items()}
        now = self._now()
        try:
            return await self._save(user_id, checked, now)
        except IntegrityError as exc:
            raise NotFound(f"user {user_id} does not exist") from exc

    async def _save(self, user_id: int, checked: dict[str, Any], now: datetime) -> UserSettings:
        async with self._db.session() as session:
            row = await session.get(UserSettingsRow, user_id, with_for_update=True)
            current = to_settings(row) if row else UserSettings(user_id=user_id)
            merged = replace(current, **checked, updated_at=now)
            values = {
                "slippage_bps": merged.slippage_bps,
                "snipe_slippage_bps": merged.snipe_slippage_bps,
                "priority_fee_level": merged.priority_fee_level,
                "max_priority_fee_lamports": merged.max_priority_fee_lamports,
                "buy_presets_lamports": list(merged.buy_presets_lamports),
                "confirm_trades": merged.confirm_trades,
                "take_profit_pct": merged.take_profit_pct,
                "stop_loss_pct": merged.stop_loss_pct,
                "trailing_stop_pct": merged.trailing_stop_pct,
                "max_hold_minutes": merged.max_hold_minutes,
                "mev_protection": merged.mev_protection,
                "jito_tip_lamports": merged.jito_tip_lamports,
                "tip_percentile": merged.tip_percentile,
                "force_jupiter": merged.force_jupiter,
                "paper_trading": merged.paper_trading,
                "exit_ladder": [[x.gain_pct, x.sell_pct] for x in merged.exit_ladder] or None,
                "sell_with_creator": merged.sell_with_creator,
                "notify_fills": merged.notify_fills,
                "notify_exits": merged.notify_exits,
                "notify_snipe_misses": merged.notify_snipe_misses,
                "notify_copies": merged.notify_copies,
                "updated_at": now,
            }
            stmt = insert_for(session, UserSettingsRow).values(user_id=user_id, **values)
            stmt = stmt.on_conflict_do_update(
                index_elements=[UserSettingsRow.user_id], set_=by_column(UserSettingsRow, values)
            )
            await session.execute(stmt)
            return merged
