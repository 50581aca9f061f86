"""Views -> HTML text for Telegram. User-provided text is always escaped."""

from __future__ import annotations

from html import escape

from sniper_bot.control.views import (
    ExitView,
    HomeView,
    OrderView,
    PositionView,
    SettingsView,
    SnipeView,
    TokenCardView,
    WalletView,
    WithdrawalView,
    WithdrawPreviewView,
)
from sniper_bot.domain.money import format_sol, format_tokens

__all__ = [
    "PAPER_MARK",
    "render_exit",
    "render_home",
    "render_order",
    "render_positions",
    "render_settings",
    "render_snipe_notice",
    "render_snipes",
    "render_token_card",
    "render_wallets",
    "render_withdraw_preview",
    "render_withdrawal",
]

PAPER_MARK = "📝 PAPER"  # every message about a simulated (paper trading) fill or position

_SEVERITY_ICON = {"critical": "⛔", "high": "🔴", "medium": "🟠", "low": "🟡", "info": "ℹ️"}


def _short(address: str) -> str:
    return f"{address[:4]}…{address[-4:]}"


def _code(text: str) -> str:
    return f"<code>{escape(text)}</code>"


def render_home(view: HomeView) -> str:
    lines = []
    if view.created_wallet:
        lines.append("🎉 A new wallet was created for you.")
    stale = " (cached: network unreachable)" if view.balance_is_stale else ""
    lines += [
        "<b>sniper-bot</b>",
        "",
        f"Wallet: {_code(view.wallet.public_key)}",
        f"Balance: <b>{format_sol(view.sol_lamports)}</b>{stale}",
        f"Open positions: {view.open_positions}",
        "",
    ]
    if view.paper_lamports is not None:
        lines[-1:-1] = [
            f"{PAPER_MARK} trading: balance <b>{format_sol(view.paper_lamports)}</b> (simulated; "
            "nothing is signed or sent, the positions above are paper ones)"
        ]
    lines += [
        "Send SOL to the address above to fund it, then paste a token mint address to buy.",
    ]
    return "\n".join(lines)


_VENUE_LABEL = {"pumpfun": "pump.fun curve", "pumpswap": "PumpSwap", "jupiter": "Jupiter"}
_QUOTE_NAMES = {"EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v": "USDC"}


def _venue_lines(card: TokenCardView) -> list[str]:
    """Where a buy goes, and a pump.fun coin's bonding curve (progress, market cap in SOL)."""
    lines = []
    if card.venue is not None:
        forced = " (forced in /settings)" if card.force_jupiter and card.venue == "jupiter" else ""
        lines.append(f"Venue: {escape(_VENUE_LABEL.get(card.venue, card.venue))}{forced}")
    elif card.force_jupiter:
        lines.append("Venue: Jupiter (forced in /settings), no route there yet")
    if card.curve_complete:
        lines.append("Bonding curve: complete (graduated to PumpSwap)")
    elif card.curve_progress_bps is not None:
        bps = card.curve_progress_bps
        lines.append(f"Bonding curve: {bps // 100}.{bps % 100:02d} % sold")
    if card.curve_quote_mint is not None:
        name = _QUOTE_NAMES.get(card.curve_quote_mint)
        quote = escape(f"{name} ({card.curve_quote_mint})" if name else card.curve_quote_mint)
        lines.append(f"Priced in: {quote} (not SOL: a SOL order cannot buy it on the curve)")
    if card.market_cap_lamports is not None and not card.curve_complete:
        usd = card.market_cap_usd_micros
        in_usd = f" (≈ ${usd // 1_000_000:,})" if usd is not None else ""
        lines.append(f"Market cap: {format_sol(card.market_cap_lamports)}{in_usd}")
    if card.creator_sold:
        lines.append("Creator's buy: sold (the dev's token account is empty)")
    elif card.creator_tokens is not None and card.creator_share_bps is not None:
        if card.creator_tokens == 0:
            lines.append("Creator's buy: none (the dev holds no tokens)")
        else:
            bps = card.creator_share_bps
            held = format_tokens(card.creator_tokens, card.decimals)
            lines.append(
                f"Creator's buy: {held} tokens held, {bps // 100}.{bps % 100:02d} % of the supply"
            )
    return lines


def render_token_card(card: TokenCardView) -> str:
    name = escape(card.name or "Unknown token")
    symbol = f" ({escape(card.symbol)})" if card.symbol else ""
    stale = " (cached: network unreachable)" if card.is_stale else ""
    lines = [f"<b>{name}</b>{symbol}{stale}", _code(card.mint), ""]
    lines += _venue_lines(card)
    if card.tokens_per_sol is not None:
        per_sol = format_tokens(card.tokens_per_sol, card.decimals)
        impact = f", impact {escape(card.price_impact_pct)} %" if card.price_impact_pct else ""
        lines.append(f"1 SOL ≈ {per_sol} tokens{impact}")
    else:
        lines.append("No route yet: the pool may be too new or empty.")
    if card.paper:
        lines.append(f"{PAPER_MARK} trading: buys and sells here are simulated")
    if card.held_amount:
        held = f"You hold: {format_tokens(card.held_amount, card.decimals)}"
        lines.append(f"{PAPER_MARK} · {held}" if card.paper else held)
    risk = card.risk
    verdict = "BLOCKED" if risk.blocked else ("honeypot" if risk.is_honeypot else "ok")
    lines += ["", f"Risk: <b>{risk.score}/100</b> ({verdict})"]
    for finding in risk.findings:
        icon = _SEVERITY_ICON.get(finding.severity, "•")
        evidence = f" <i>{escape(finding.evidence)}</i>" if finding.evidence else ""
        lines.append(f"{icon} {escape(finding.title)}{evidence}")
    if risk.blocked:
        lines.append(
            "\nBuying is blocked for this token."
            + ("" if risk.overridable else " A critical finding cannot be overridden.")
        )
    return "\n".join(lines)


def render_order(order: OrderView, *, symbol: str | None = None) -> str:
    what = escape(symbol) if symbol else _short(order.token_mint)
    decimals = order.decimals if order.decimals is not None else 0
    if order.side == "BUY":
        head = f"Buy {format_sol(order.amount)} of {what}"
    else:
        head = f"Sell {format_tokens(order.amount, decimals)} {what}"
    if order.paper:
        head = f"{PAPER_MARK} · {head} (simulated: nothing signed or sent)"
    if order.status == "CONFIRMED":
        if order.side == "BUY" and order.out_amount is not None:
            result = f"✅ Bought {format_tokens(order.out_amount, decimals)} tokens"
        elif order.out_amount is not None:
            result = f"✅ Sold for {format_sol(order.out_amount)}"
        else:
            result = "✅ Confirmed"
        fee = f"\nFee: {format_sol(order.fee_lamports)}" if order.fee_lamports else ""
        sig = f"\nTx: {_code(order.signature)}" if order.signature else ""
        return f"{head}\n{result}{fee}{sig}"
    if order.status in ("FAILED", "EXPIRED", "CANCELLED"):
        reason = escape(order.error_sentence or order.status.lower())
        return f"{head}\n❌ {reason}"
    return f"{head}\n⏳ {order.status.lower()}…"


def render_positions(positions: list[PositionView]) -> str:
    if not positions:
        return "No open positions. Paste a token mint to buy one."
    lines = [
        f"{PAPER_MARK} <b>Open positions</b>" if positions[0].paper else "<b>Open positions</b>"
    ]
    for p in positions:
        name = escape(p.symbol) if p.symbol else _short(p.token_mint)
        amount = format_tokens(p.token_amount, p.decimals)
        value = f"{format_sol(p.value_lamports)}" if p.value_lamports is not None else "n/a"
        pnl = ""
        if p.unrealized_pnl_lamports is not None:
            sign = "+" if p.unrealized_pnl_lamports >= 0 else "-"
            pnl = f", PnL {sign}{format_sol(abs(p.unrealized_pnl_lamports))}"
        lines.append(
            f"• {name}: {amount} (cost {format_sol(p.cost_basis_lamports)}, now {value}{pnl})"
        )
        lines.append(f"  {_code(p.token_mint)}")
    return "\n".join(lines)


def render_wallets(wallets: list[WalletView]) -> str:
    lines = ["<b>Wallets</b>"]
    for w in wallets:
        mark = "✅" if w.is_active else "▫️"
        bal = f" — {format_sol(w.sol_lamports)}" if w.sol_lamports is not None else ""
        lines.append(f"{mark} {escape(w.label)}: {_code(w.public_key)}{bal}")
    return "\n".join(lines)


def render_snipes(snipes: list[SnipeView]) -> str:
    if not snipes:
        return "No snipes. /snipe MINT SOL buys the moment a pool for MINT goes live."
    lines = ["<b>Snipes</b>"]
    for s in snipes:
        extra = f" ({escape(s.error)})" if s.error else ""
        what = _short(s.token_mint)
        if s.creator is not None:
            coin = f" ({_short(s.token_mint)})" if s.token_mint else ""
            what = f"the next coin of dev {_short(s.creator)}{coin}"
        elif s.on_graduation:
            what = f"{_short(s.token_mint)} on graduation (its PumpSwap pool)"
        elif s.launch_filter is not None:
            coin = f" ({_short(s.token_mint)})" if s.token_mint else ""
            what = f"the next coin matching {escape(s.launch_filter)}{coin}"
        mark = f"{PAPER_MARK} " if s.paper else ""
        lines.append(
            f"{mark}#{s.id} {s.status}: {format_sol(s.amount_lamports)} of {what}, "
            f"slippage {s.slippage_bps} bps, until {s.expires_at}{extra}"
        )
    if any(s.status == "ARMED" for s in snipes):
        lines.append("Cancel one with /cancel ID.")
    return "\n".join(lines)


SKIPPED_PREFIX = "skipped this coin, still armed: "  # hotpath.sniper's error of a skipped coin


def render_snipe_notice(snipe: SnipeView, order: OrderView | None = None) -> str:
    """The unsolicited message about one snipe: settled (fired, failed, expired: the order's
    result below), or a standing target that skipped a coin the risk decision refused and is
    still ARMED (the coin and why it was not bought)."""
    if snipe.status != "ARMED":
        head = f"{PAPER_MARK} · 🎯 Snipe settled (simulated)" if snipe.paper else "🎯 Snipe settled"
        text = head + "\n" + render_snipes([snipe])
        if order is not None:
            text += "\n\n" + render_order(order)
        return text
    why = snipe.error or "refused"
    why = why[len(SKIPPED_PREFIX) :] if why.startswith(SKIPPED_PREFIX) else why
    waits = f"the next coin of dev {_short(snipe.creator)}" if snipe.creator else "the next match"
    lines = [
        "🎯 Snipe skipped a coin (still armed)",
        f"#{snipe.id} ARMED: {format_sol(snipe.amount_lamports)} of {waits}, "
        f"slippage {snipe.slippage_bps} bps, until {snipe.expires_at}",
    ]
    if snipe.token_mint:
        lines.append(f"Coin: {_code(snipe.token_mint)}")
    lines.append(f"Why it skipped this coin: {escape(why)}")
    lines.append(f"Nothing was bought; it waits for {waits}. Cancel it with /cancel {snipe.id}.")
    return "\n".join(lines)


def render_settings(view: SettingsView) -> str:
    fee = view.priority_fee_level
    if view.priority_fee_lamports is not None:
        fee += f" ({format_sol(view.priority_fee_lamports)})"
    presets = ", ".join(format_sol(p) for p in view.buy_presets_lamports)
    return "\n".join(
        [
            "<b>Settings</b>",
            f"Slippage: {view.slippage_bps} bps ({view.slippage_bps / 100:g} %)",
            f"Snipe slippage: {view.snipe_slippage_bps} bps",
            f"Priority fee: {fee}",
            f"AUTO fee cap: {format_sol(view.max_priority_fee_lamports)}",
            f"Buy presets: {presets}",
            "Automatic exits: " + _exits_text(view),
            "MEV protection: "
            + (
                "on (Jito bundles only, never the public mempool)" if view.mev_protection else "off"
            ),
            f"Jito tip: {_tip_text(view)}",
            "Venue: "
            + (
                "Force Jupiter (every order through Jupiter)"
                if view.force_jupiter
                else "best for the coin (pump.fun curve, PumpSwap, else Jupiter)"
            ),
            f"PIN: {'set' if view.has_pin else 'not set (needed to export or withdraw)'}",
            f"{PAPER_MARK} trading: "
            + (
                "on for everyone (PAPER_TRADING)"
                if view.paper_forced
                else ("on (simulated fills, nothing signed)" if view.paper_trading else "off")
            ),
            "Confirm buys: "
            + ("on (a buy asks before it is placed)" if view.confirm_trades else "off"),
            "Notifications: " + _notices_text(view),
        ]
    )


def _notices_text(view: SettingsView) -> str:
    shown = (
        ("fills", view.notify_fills),
        ("exits", view.notify_exits),
        ("snipe misses", view.notify_snipe_misses),
        ("copy trades", view.notify_copies),
    )
    return ", ".join(f"{label} {'on' if on else 'off'}" for label, on in shown)


def _tip_text(view: SettingsView) -> str:
    if view.jito_tip_lamports is not None:
        return f"fixed {format_sol(view.jito_tip_lamports)}"
    if view.tip_percentile is not None:
        return f"auto, p{view.tip_percentile} of the tip floor"
    return "auto, the tip floor at the default percentile"


def _exits_text(view: SettingsView) -> str:
    parts = [
        f"take-profit +{view.take_profit_pct}%" if view.take_profit_pct else "",
        f"stop-loss -{view.stop_loss_pct}%" if view.stop_loss_pct else "",
        f"trailing stop -{view.trailing_stop_pct}% from the peak" if view.trailing_stop_pct else "",
        f"max hold {view.max_hold_minutes} min" if view.max_hold_minutes else "",
        f"ladder {view.exit_ladder}" if view.exit_ladder else "",
        "sell when the creator sells" if view.sell_with_creator else "",
    ]
    shown = [p for p in parts if p]
    return ", ".join(shown) if shown else "off"


_EXIT_REASON = {
    "take_profit": "🎯 Take-profit",
    "stop_loss": "🛑 Stop-loss",
    "trailing_stop": "📉 Trailing stop",
    "max_hold": "⏱ Max hold time",
    "take_profit_step": "🪜 Take-profit step",
    "creator_sold": "👤 The creator sold: exit",
}


def render_exit(view: ExitView) -> str:
    reason = _EXIT_REASON.get(view.reason, view.reason)
    if view.step is not None:
        reason = f"{reason} {view.step} (part of the position)"
    pnl = view.value_lamports - view.cost_basis_lamports
    sign = "+" if pnl >= 0 else "-"
    head = (
        f"{reason} sold {_short(view.token_mint)}: value {format_sol(view.value_lamports)}, "
        f"cost {format_sol(view.cost_basis_lamports)} ({sign}{format_sol(abs(pnl))})"
    )
    if view.order is not None and view.order.paper:
        head = f"{PAPER_MARK} · {head}"
    return head if view.order is None else f"{head}\n\n{render_order(view.order)}"


def render_withdraw_preview(view: WithdrawPreviewView) -> str:
    amount = (
        format_sol(view.amount)
        if view.asset == "SOL"
        else format_tokens(view.amount, view.decimals)
    )
    asset = "" if view.asset == "SOL" else f" of {_code(view.asset)}"
    extra = (
        "\nA token account will be created for the recipient." if view.creates_token_account else ""
    )
    return (
        f"<b>Confirm withdrawal</b>\nAmount: {amount}{asset}\nTo: {_code(view.destination)}\n"
        f"Network fee: {format_sol(view.fee_lamports)}{extra}\n\nReply with your PIN to confirm."
    )


def render_withdrawal(view: WithdrawalView) -> str:
    amount = (
        format_sol(view.amount)
        if view.asset == "SOL"
        else format_tokens(view.amount, view.decimals)
    )
    what = "" if view.asset == "SOL" else f" of {_short(view.asset)}"
    head = f"Withdraw {amount}{what} to {_short(view.destination)}"
    if view.status == "CONFIRMED":
        sig = f"\nTx: {_code(view.signature)}" if view.signature else ""
        return f"{head}\n✅ Sent. Fee: {format_sol(view.fee_lamports)}{sig}"
    if view.status in ("FAILED", "EXPIRED"):
        return f"{head}\n❌ {escape(view.error_sentence or view.status.lower())}"
    return f"{head}\n⏳ Sent, confirming… I will message you the result when it lands."
