"""Token-2022 extensions: mechanics that let the creator tax, block or take holders' tokens.

* TransferFeeConfig: the fee in force or scheduled, >= 50% CRITICAL, >= 10% HIGH, >= 1% MEDIUM,
  > 0 LOW; a live fee config authority can raise it to 100% (HIGH);
* TransferHook with a program: CRITICAL, an arbitrary program runs on every transfer;
* PermanentDelegate: CRITICAL, the delegate can move or burn any holder's tokens;
* NonTransferable: CRITICAL, tokens can never be sold (custom 37);
* DefaultAccountState = Frozen: CRITICAL, every new holder account starts frozen (custom 17);
* Pausable: paused CRITICAL (custom 67); a live pause authority CRITICAL (can stop sells at will);
* MintCloseAuthority, confidential transfers: MEDIUM; unknown extension numbers: LOW.
"""

from __future__ import annotations

from sniper_bot.domain.risk import Finding, Severity
from sniper_bot.safety.layers._finding import bps_text, finding
from sniper_bot.safety.snapshot import TokenSnapshot
from sniper_bot.solana.layouts.token2022 import ExtensionType, TransferFeeConfig, extension_name

__all__ = ["check_token_2022", "fee_severity"]

LAYER = "token_2022"
_KNOWN = frozenset(int(t) for t in ExtensionType)


def fee_severity(bps: int) -> tuple[Severity, int] | None:
    """Severity and weight of a transfer fee of ``bps`` basis points (None: no fee)."""
    if bps >= 5_000:
        return Severity.CRITICAL, 90
    if bps >= 1_000:
        return Severity.HIGH, 45
    if bps >= 100:
        return Severity.MEDIUM, 15
    if bps > 0:
        return Severity.LOW, 5
    return None


def _transfer_fee(config: TransferFeeConfig, epoch: int | None) -> list[Finding]:
    out: list[Finding] = []
    current = config.fee_at(epoch)
    worst = max(config.older.basis_points, config.newer.basis_points)
    rated = fee_severity(worst)
    if rated is not None:
        severity, weight = rated
        scheduled = config.newer.basis_points != current.basis_points
        title = f"Transfer fee of {bps_text(current.basis_points)} on every transfer"
        if scheduled:
            title += f", scheduled to become {bps_text(config.newer.basis_points)}"
        out.append(
            finding(
                "transfer_fee",
                LAYER,
                severity,
                weight,
                title + ": part of every sell is taken by the token.",
                current_bps=current.basis_points,
                scheduled_bps=config.newer.basis_points,
                scheduled_epoch=config.newer.epoch,
                maximum_fee=current.maximum_fee,
                config_authority=None
                if config.config_authority is None
                else str(config.config_authority),
            )
        )
    if config.config_authority is not None:
        out.append(
            finding(
                "transfer_fee_upgradable",
                LAYER,
                Severity.HIGH,
                40,
                "The transfer fee authority is live: it can raise the fee up to 100%.",
                config_authority=config.config_authority,
            )
        )
    return out


def check_token_2022(snap: TokenSnapshot) -> list[Finding]:
    ext = snap.extensions
    out: list[Finding] = []
    if ext.transfer_fee is not None:
        out.extend(_transfer_fee(ext.transfer_fee, snap.epoch))
    hook = ext.transfer_hook
    if hook is not None and hook.program_id is not None:
        out.append(
            finding(
                "transfer_hook",
                LAYER,
                Severity.CRITICAL,
                80,
                "Transfer hook: a custom program runs on every transfer and can refuse sells.",
                hook_program=hook.program_id,
                hook_authority=None if hook.authority is None else str(hook.authority),
            )
        )
    elif hook is not None and hook.authority is not None:
        out.append(
            finding(
                "transfer_hook_settable",
                LAYER,
                Severity.HIGH,
                40,
                "A transfer hook can be installed later by its authority.",
                hook_authority=hook.authority,
            )
        )
    if ext.has_permanent_delegate and ext.permanent_delegate is not None:
        out.append(
            finding(
                "permanent_delegate",
                LAYER,
                Severity.CRITICAL,
                85,
                "Permanent delegate: it can move or burn tokens out of any holder's wallet.",
                delegate=ext.permanent_delegate,
            )
        )
    if ext.non_transferable:
        out.append(
            finding(
                "non_transferable",
                LAYER,
                Severity.CRITICAL,
                100,
                "Non-transferable token: once bought it can never be sold (error 37).",
                token_error=37,
            )
        )
    if ext.default_account_state == 2:
        out.append(
            finding(
                "default_account_frozen",
                LAYER,
                Severity.CRITICAL,
                90,
                "Every new holder account starts frozen: your tokens cannot be sold (error 17).",
                default_account_state="frozen",
                token_error=17,
            )
        )
    if ext.pausable is not None:
        if ext.pausable.paused:
            out.append(
                finding(
                    "paused",
                    LAYER,
                    Severity.CRITICAL,
                    100,
                    "Transfers are paused: nothing can be sold right now (error 67).",
                    pause_authority=None
                    if ext.pausable.authority is None
                    else str(ext.pausable.authority),
                    token_error=67,
                )
            )
        elif ext.pausable.authority is not None:
            out.append(
                finding(
                    "pause_authority_live",
                    LAYER,
                    Severity.CRITICAL,
                    75,
                    "Pause authority is live: the creator can stop every sell at will.",
                    pause_authority=ext.pausable.authority,
                )
            )
    if ext.has_close_authority and ext.close_authority is not None:
        out.append(
            finding(
                "mint_close_authority",
                LAYER,
                Severity.MEDIUM,
                15,
                "Mint close authority is set: the mint can be closed and re-created.",
                close_authority=ext.close_authority,
            )
        )
    if ext.confidential_transfers:
        out.append(
            finding(
                "confidential_transfers",
                LAYER,
                Severity.MEDIUM,
                15,
                "Confidential transfers: balances and flows are hidden from this check.",
            )
        )
    unknown = [t for t in ext.types if t not in _KNOWN]
    if unknown:
        out.append(
            finding(
                "unknown_extension",
                LAYER,
                Severity.LOW,
                5,
                "The mint has extensions this check does not know.",
                extension_types=",".join(str(t) for t in unknown),
            )
        )
    if ext.types:
        out.append(
            finding(
                "extensions",
                LAYER,
                Severity.INFO,
                0,
                "Token-2022 extensions present.",
                extensions=",".join(extension_name(t) for t in ext.types),
            )
        )
    return out
