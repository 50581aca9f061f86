"""Admin commands (``ADMIN_TELEGRAM_IDS``): /status, /maintenance on|off, /broadcast TEXT and
/memory [trace on|off].

For anyone else these handlers do not match, so the update goes on exactly as an unknown
command would (no admin command is ever revealed to a non-admin).
"""

from __future__ import annotations

import re
from html import escape

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from sniper_bot.control.facade import AdminStatusView, AllocationSite, Control, MemoryView
from sniper_bot.control.views import Identity

__all__ = ["build", "render_memory", "render_status"]

USAGE = "Usage: /maintenance on|off (now {state})"
BROADCAST_USAGE = "Usage: /broadcast TEXT (sent to every user at Telegram's pace)"
MEMORY_USAGE = "Usage: /memory, or /memory trace on|off (Python's tracemalloc)"
HOG_MAX_MIB = 65_536
HOG_USAGE = (
    f"Usage: /memory hog MIB (1 to {HOG_MAX_MIB}: hold that much more memory) or /memory hog off "
    "(release it); a chaos drill, only on a bot started with CHAOS_ENABLED=true"
)
MESSAGE_MAX = 4096  # Telegram's text limit
_MARK = {"ok": "✅", "disabled": "➖", "degraded": "⚠️", "down": "❌"}
_BREAKER_MARK = {"CLOSED": "✅", "HALF_OPEN": "⚠️", "OPEN": "❌"}


async def _is_admin(message: Message, control: Control, ident: Identity) -> bool:
    return control.is_admin(ident)


def render_status(view: AdminStatusView) -> str:
    lines = [f"<b>Status: {_MARK.get(view.status, '')} {escape(view.status)}</b>"]
    lines.append(f"Version: <code>{escape(view.version)}</code>")
    where = "all replicas" if view.maintenance_shared else "this process only (no Redis)"
    lines.append(f"Maintenance: {'ON' if view.maintenance else 'off'} ({where})")
    lines.append("")
    lines.append("<b>Health</b>")
    for name, status in view.components.items():
        head = status.split(":", 1)[0]
        lines.append(f"{_MARK.get(head, '•')} {escape(name)}: {escape(status)}")
    lines.append("")
    lines.append("<b>Circuit breakers</b>")
    if not view.breakers:
        lines.append("none yet")
    for name, state in sorted(view.breakers.items()):
        lines.append(f"{_BREAKER_MARK.get(state, '•')} {escape(name)}: {escape(state)}")
    lines.append("")
    lines.append("<b>Queues</b>")
    for name, depth in view.queues.items():
        lines.append(f"• {escape(name)}: {depth}")
    return "\n".join(lines)


def _mib(n_bytes: int) -> str:
    return f"{n_bytes / 1_048_576:.1f} MiB"


def _site(site: AllocationSite, *, growth: bool = False) -> str:
    where = site.file if len(site.file) <= 60 else "…" + site.file[-59:]
    size = f"{site.size / 1024:+.1f}" if growth else f"{site.size / 1024:.1f}"
    count = f"{site.count:+d}" if growth else str(site.count)
    return f"<code>{escape(where)}:{site.line}</code> {size} KiB, {count} blocks"


def render_memory(view: MemoryView) -> str:
    """The /memory message, cut to Telegram's 4096 characters (whole lines only)."""
    rss = f"{view.rss_kib / 1024:.1f} MiB" if view.rss_kib is not None else "unknown"
    lines = [f"<b>Memory</b>: RSS {rss}, peak {view.peak_kib / 1024:.1f} MiB"]
    lines.append(
        "GC collections: " + "/".join(map(str, view.gc_collections))
        + " (pending " + "/".join(map(str, view.gc_pending)) + ")"
    )  # fmt: skip
    if view.caches:
        lines.append("")
        lines.append("<b>Caches</b> (items / bound)")
        for name, (items, bound) in sorted(view.caches.items()):
            lines.append(f"• {escape(name)}: {items} / {bound}")
    lines.append("")
    if not view.tracing:
        lines.append("Tracing off: /memory trace on starts tracemalloc (slower while on).")
        return "\n".join(lines)
    lines.append(
        f"<b>Tracing on</b>: {_mib(view.traced_bytes)} traced, peak "
        f"{_mib(view.traced_peak_bytes)}; /memory trace off stops it."
    )
    lines.append("")
    lines.append(f"<b>Top {len(view.top)} allocation sites</b>")
    lines.extend(_site(s) for s in view.top)
    lines.append("")
    if view.growth is None:
        lines.append("Growth: from the next /memory on (compared with this one).")
    else:
        lines.append("<b>Growth since the previous /memory</b>")
        lines.extend(_site(s, growth=True) for s in view.growth)
        if not view.growth:
            lines.append("nothing grew")
    text = ""
    for line in lines:
        if len(text) + len(line) + 1 > MESSAGE_MAX:
            break
        text += ("\n" if text else "") + line
    return text


def build() -> Router:
    router = Router(name=__name__)
    router.message.filter(_is_admin)

    @router.message(Command("status"))
    async def status(message: Message, control: Control, ident: Identity) -> None:
        await message.answer(render_status(await control.admin_status(ident)))

    @router.message(Command("maintenance"))
    async def maintenance(
        message: Message, command: CommandObject, control: Control, ident: Identity
    ) -> None:
        arg = (command.args or "").strip().lower()
        if arg not in ("on", "off"):
            view = await control.admin_status(ident)
            await message.answer(USAGE.format(state="ON" if view.maintenance else "off"))
            return
        view = await control.set_maintenance(ident, arg == "on")
        where = "every replica" if view.maintenance_shared else "this process (Redis is away)"
        if view.maintenance:
            text = (
                f"🛠 Maintenance ON for {where}: new buys and snipes are refused; open "
                "positions are still watched and sells go through."
            )
        else:
            text = f"✅ Maintenance off for {where}: new orders are accepted again."
        await message.answer(text)

    @router.message(Command("broadcast"))
    async def broadcast(message: Message, control: Control, ident: Identity) -> None:
        # the text as the admin formatted it (bold, links...), as the bot's HTML; after the command
        parts = re.split(r"\s", message.html_text, maxsplit=1)
        html_text = parts[1].strip() if len(parts) > 1 else ""
        plain = re.split(r"\s", message.text or "", maxsplit=1)
        length = len(plain[1].strip()) if len(plain) > 1 else 0
        if not html_text:
            last = await control.last_broadcast(ident)
            text = BROADCAST_USAGE
            if last is not None:
                text += (f"\nLast: #{last.id} {last.status}: {last.sent} sent, {last.blocked} "
                         f"blocked, {last.failed} failed of {last.total}")  # fmt: skip
            await message.answer(text)
            return
        view = await control.start_broadcast(ident, html_text, length)
        await message.answer(
            f"📣 Broadcast #{view.id} started to {view.total} users; you get a summary when done."
        )

    @router.message(Command("memory"))
    async def memory(
        message: Message, command: CommandObject, control: Control, ident: Identity
    ) -> None:
        args = (command.args or "").strip().lower().split()
        if args[:1] == ["hog"]:  # the memory-pressure chaos drill (CHAOS_ENABLED only)
            amount = args[1] if len(args) == 2 else ""
            if amount != "off" and not (amount.isdigit() and 0 < int(amount) <= HOG_MAX_MIB):
                await message.answer(HOG_USAGE)
                return
            held = await control.admin_memory_hog(ident, None if amount == "off" else int(amount))
            await message.answer(f"Chaos ballast: holding {held} MiB. /memory shows the process.")
            return
        if args not in ([], ["trace", "on"], ["trace", "off"]):
            await message.answer(MEMORY_USAGE)
            return
        trace = None if not args else args[1] == "on"
        await message.answer(render_memory(await control.admin_memory(ident, trace)))

    return router
