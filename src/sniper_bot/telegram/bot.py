"""Bot + Dispatcher factory and the polling service."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import structlog
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramForbiddenError
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.methods import TelegramMethod
from aiogram.types import BotCommand
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from sniper_bot.control.views import ExitView, OrderView, SnipeView, WithdrawalView
from sniper_bot.errors import ConfigError
from sniper_bot.observability.metrics import Metrics
from sniper_bot.telegram.dedup import Claim, UpdateDedup
from sniper_bot.telegram.limits import BOT_RATE_PER_S, FloodPacer, TelegramLimits
from sniper_bot.telegram.middlewares import (
    ErrorMiddleware,
    IdentityMiddleware,
    ThrottleMiddleware,
    UpdateTimingMiddleware,
)
from sniper_bot.telegram.render import (
    render_exit,
    render_order,
    render_snipe_notice,
    render_withdrawal,
)
from sniper_bot.telegram.routers import all_routers
from sniper_bot.telegram.routers.wallet import SECRET_STATES
from sniper_bot.telegram.storage import FallbackStorage, RedisDocStore, SessionStore

if TYPE_CHECKING:
    from sniper_bot.control.facade import Control

__all__ = ["TelegramFrontend", "WebhookConfig", "build_bot", "build_dispatcher"]

log = structlog.get_logger(__name__)

# the command menu (setMyCommands): every user command a router registers (admins' commands
# are answered to admins only and stay out of it); tests/telegram/test_commands_menu.py keeps
# this, /help and the routers in step
COMMANDS = [
    BotCommand(command="start", description="Wallet and balance"),
    BotCommand(command="home", description="Home: balance and menu"),
    BotCommand(command="positions", description="Open positions"),
    BotCommand(command="orders", description="Last orders, limit orders, DCA plans"),
    BotCommand(command="wallet", description="Wallets, deposit QR, export, withdraw"),
    BotCommand(command="settings", description="Trading, exits, paper, notifications"),
    BotCommand(command="snipe", description="Buy when a pool goes live (next, dev, grad)"),
    BotCommand(command="cancel", description="Disarm a snipe"),
    BotCommand(command="exits", description="Exit plans: ladders, per position"),
    BotCommand(command="ladder", description="Default take-profit ladder"),
    BotCommand(command="exit", description="Edit one position's exit plan"),
    BotCommand(command="limit", description="Limit buy or sell at a price"),
    BotCommand(command="dca", description="Buy or sell in parts over time"),
    BotCommand(command="copy", description="Copy trade a wallet"),
    BotCommand(command="pnl", description="PnL chart and cards"),
    BotCommand(command="help", description="How to use the bot"),
]


def build_bot(
    token: str, api_url: str, *, timeout_s: float = 30.0, send_rate_per_s: float = BOT_RATE_PER_S
) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url), timeout=timeout_s)
    # every text/caption/answer fits Telegram's limits; sends paced to ``send_rate_per_s`` in all
    session.middleware(TelegramLimits(FloodPacer(bot_rate=send_rate_per_s)))
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


FSM_TTL_S = 86_400


def build_dispatcher(
    control: Control,
    metrics: Metrics,
    *,
    redis_client: Any = None,
    redis_available: Callable[[], bool] | None = None,
    on_redis_failure: Callable[[Exception], None] | None = None,
    sessions: SessionStore | None = None,
) -> Dispatcher:
    """Conversation state in the database (``sessions``), read from its Redis copy while that copy
    is provably up to date (``telegram/storage.py``); in memory when there is no database."""
    storage: BaseStorage = MemoryStorage()
    if sessions is not None:
        storage = FallbackStorage(
            RedisDocStore(redis_client) if redis_client is not None else None,
            sessions,
            redis_available or (lambda: redis_client is not None),
            on_redis_failure,
            ttl_s=FSM_TTL_S,
        )
    dp = Dispatcher(storage=storage)
    dp["control"] = control
    # outermost of the update middlewares, so the time includes the conversation state read
    inner = list(dp.update.outer_middleware[:])
    for middleware in inner:
        dp.update.outer_middleware.unregister(middleware)
    dp.update.outer_middleware(UpdateTimingMiddleware(metrics))
    for middleware in inner:
        dp.update.outer_middleware(middleware)
    error_mw = ErrorMiddleware(metrics)
    dp.errors.register(error_mw.on_error)  # errors before a handler (FSM state read, filters)
    for observer in (dp.message, dp.callback_query):
        observer.outer_middleware(IdentityMiddleware())
        observer.outer_middleware(ThrottleMiddleware(
            secret_states=SECRET_STATES, redis_client=redis_client,
            redis_available=redis_available,
        ))  # fmt: skip
        observer.middleware(error_mw)
    dp.include_routers(*all_routers())
    return dp


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """Webhook mode: Telegram POSTs updates to ``url``; served on ``host:port`` at the URL's path
    (TLS is terminated in front: ingress or reverse proxy). ``secret`` is checked on every
    request (``X-Telegram-Bot-Api-Secret-Token``)."""

    url: str
    secret: str = field(repr=False)
    host: str = "0.0.0.0"  # noqa: S104 - Telegram must reach it
    port: int = 8443

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"


class _WebhookHandler(SimpleRequestHandler):
    """aiogram's handler (secret compared in constant time, 401 without processing), logging
    each refusal; the bot's HTTP session is the frontend's to close, not the web app's.

    An update is answered 200 only once it was handled (as Telegram's own servers expect), so a
    replica that dies mid-update leaves it unconfirmed and Telegram delivers it again, through the
    proxy, to a live replica. Each update id is claimed first (``dedup.UpdateDedup``): a retry of
    an update handled already gets 200 and nothing else; one that another replica is handling now
    gets 503 (Telegram tries again later)."""

    def __init__(self, *args: Any, dedup: UpdateDedup | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dedup = dedup

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        ok = bool(self.secret_token) and super().verify_secret(telegram_secret_token, bot)
        if not ok:
            log.warning("telegram_webhook_refused", reason="wrong or missing secret token")
        return ok

    async def handle(self, request: web.Request) -> web.Response:
        bot = await self.resolve_bot(request)
        if not self.verify_secret(request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), bot):
            return web.Response(body="Unauthorized", status=401)
        try:
            update = await request.json(loads=bot.session.json_loads)
        except ValueError:
            update = None
        update_id = update.get("update_id") if isinstance(update, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            log.warning("telegram_webhook_bad_update", reason="not a JSON update with an update_id")
            return web.Response(text="expected a JSON Update with an integer update_id", status=400)
        dedup = self.dedup or UpdateDedup(None, instance="local", bot_id=bot.id)
        self.dedup = dedup
        claim, token = await dedup.claim(update_id)
        if claim is Claim.DONE:
            log.info("telegram_update_duplicate", update_id=update_id)
            return web.json_response({})
        if claim is Claim.BUSY:
            log.info("telegram_update_in_progress_elsewhere", update_id=update_id)
            return web.Response(text="this update is being handled", status=503,
                                headers={"Retry-After": "1"})  # fmt: skip

        async def feed() -> None:
            async with dedup.held(update_id, token):
                result = await self.dispatcher.feed_raw_update(bot=bot, update=update, **self.data)
                if isinstance(result, TelegramMethod):
                    await self.dispatcher.silent_call_request(bot=bot, result=result)

        task = asyncio.create_task(feed(), name=f"telegram-update-{update_id}")
        self._background_feed_update_tasks.add(task)
        task.add_done_callback(self._background_feed_update_tasks.discard)
        # the connection may drop (Telegram gave up waiting): the update is still handled and
        # marked done, and the retry is confirmed without being handled again. A handler still
        # running after HANDLE_TIMEOUT_S goes on in the background (as aiogram's own webhook
        # does after 55 s) and its update is confirmed now: a stuck handler never holds its
        # chat's later updates at Telegram
        try:
            await asyncio.wait_for(asyncio.shield(task), HANDLE_TIMEOUT_S)
        except TimeoutError:
            where = io.StringIO()  # where it waits: code lines, never values
            task.print_stack(limit=12, file=where)
            log.warning("telegram_update_slow", update_id=update_id, after_s=HANDLE_TIMEOUT_S,
                        stack=where.getvalue()[-3000:])  # fmt: skip
            await dedup.finish(update_id, token)
        except Exception:  # noqa: S110 - the error middleware logged it and told the user
            pass
        return web.json_response({})

    async def close(self) -> None:
        return None


RETRY_MAX_S = 30.0
HANDLE_TIMEOUT_S = 55.0  # a webhook update confirmed at the latest after this (see handle)


class TelegramFrontend:
    """Long-polls the Bot API (``webhook`` None) or serves a webhook until the stop event.

    Polling first deletes any webhook (Telegram refuses getUpdates while one is set) and aiogram
    backs off through Telegram outages. Webhook mode listens, then calls ``setWebhook`` (retried
    until it succeeds); at stop the webhook stays set, so Telegram keeps the updates for the
    next start (or another replica behind the same URL)."""

    def __init__(
        self,
        bot: Bot,
        dispatcher: Dispatcher,
        *,
        polling_timeout_s: int = 10,
        stop_grace_s: float = 5.0,
        webhook: WebhookConfig | None = None,
        dedup: UpdateDedup | None = None,
    ) -> None:
        self.bot = bot
        self.dedup = dedup  # webhook mode: one answer per update across replicas
        self.dispatcher = dispatcher
        self._polling_timeout_s = polling_timeout_s
        self._stop_grace_s = stop_grace_s
        self.webhook = webhook
        self._webhook_handler: _WebhookHandler | None = None
        self.webhook_port: int | None = None  # the bound port, once listening

    async def _until_done(self, stop: asyncio.Event, what: str, call: Callable[[], Any]) -> bool:
        """``call()`` until it succeeds (backoff 1 s doubling to 30 s); False when stopped."""
        delay = 1.0
        while not stop.is_set():
            try:
                await call()
                return True
            except Exception as exc:
                log.warning("telegram_call_retry", call=what, error=type(exc).__name__,
                            delay_s=delay)  # fmt: skip
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, RETRY_MAX_S)
        return False

    async def run(self, stop: asyncio.Event) -> None:
        with contextlib.suppress(Exception):
            await self.bot.set_my_commands(COMMANDS)
        if self.webhook is not None:
            await self._serve_webhook(self.webhook, stop)
            return
        # switching back from webhook mode: getUpdates answers 409 while a webhook is set
        deleted = await self._until_done(
            stop, "deleteWebhook", lambda: self.bot.delete_webhook(drop_pending_updates=False)
        )
        if not deleted:
            return
        polling = asyncio.create_task(
            self.dispatcher.start_polling(
                self.bot,
                handle_signals=False,
                close_bot_session=False,
                polling_timeout=self._polling_timeout_s,
            ),
            name="telegram-polling",
        )
        stopper = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({polling, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if not polling.done():
                with contextlib.suppress(RuntimeError):
                    await self.dispatcher.stop_polling()
                await polling
            stopper.cancel()
        finally:
            await self._finish_handlers()

    async def _serve_webhook(self, config: WebhookConfig, stop: asyncio.Event) -> None:
        handler = _WebhookHandler(
            self.dispatcher,
            self.bot,
            handle_in_background=False,
            secret_token=config.secret,
            dedup=self.dedup,
        )
        self._webhook_handler = handler
        app = web.Application()
        handler.register(app, path=config.path)
        setup_application(app, self.dispatcher, bot=self.bot)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, config.host, config.port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise ConfigError(
                f"TELEGRAM_WEBHOOK_PORT: cannot listen on {config.host}:{config.port} "
                f"({exc.strerror}); set TELEGRAM_WEBHOOK_HOST/TELEGRAM_WEBHOOK_PORT to a free "
                "address"
            ) from None
        sockets = getattr(site._server, "sockets", None) or []
        self.webhook_port = sockets[0].getsockname()[1] if sockets else config.port
        try:
            allowed = self.dispatcher.resolve_used_update_types()
            if await self._until_done(
                stop,
                "setWebhook",
                lambda: self.bot.set_webhook(
                    config.url,
                    secret_token=config.secret,
                    allowed_updates=allowed,
                    drop_pending_updates=False,
                ),
            ):
                log.info("telegram_webhook_set", path=config.path, port=self.webhook_port)
                await stop.wait()
        finally:
            await runner.shutdown()  # stops accepting; the handlers below get their grace
            try:
                await self._finish_handlers()
            finally:
                await runner.cleanup()

    async def _finish_handlers(self) -> None:
        """Updates still being handled (a buy in its landing loop) get ``stop_grace_s`` to end,
        then are cancelled (orders are persisted before every send; recovery resumes them). The
        service returns only after, so the app closes its HTTP sessions and database under no one.
        """
        # aiogram runs each update as a task it never awaits; this set is its only handle on them
        handlers = set(self.dispatcher._handle_update_tasks)
        if self._webhook_handler is not None:  # webhook updates run as the handler's tasks
            handlers |= set(self._webhook_handler._background_feed_update_tasks)
        if not handlers:
            return
        try:
            await asyncio.wait(handlers, timeout=self._stop_grace_s)
        finally:  # also when this service is cancelled at the app's stop deadline
            late = {task for task in handlers if not task.done()}
            for task in late:
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)
        if late:
            log.warning("telegram_handlers_cancelled_at_stop", count=len(late))

    async def notify_snipe(
        self, telegram_id: int, snipe: SnipeView, order: OrderView | None
    ) -> None:
        """Push a settled snipe (or a coin a standing snipe skipped) to its owner."""
        await self.bot.send_message(telegram_id, render_snipe_notice(snipe, order))

    async def notify_exit(self, telegram_id: int, view: ExitView) -> None:
        """Push an automatic exit (take-profit, stop-loss...) to the position's owner."""
        await self.bot.send_message(telegram_id, render_exit(view))

    async def notify_order(self, telegram_id: int, order: OrderView) -> None:
        """Push an order's final result that its owner was not shown (it ended in recovery, by
        a claimer, or after the handler that placed it stopped watching). Returns when told or
        when the owner cannot be told for good (blocked the bot); raises to be tried again."""
        try:
            await self.bot.send_message(telegram_id, "📬 Order result\n" + render_order(order))
        except TelegramForbiddenError:
            log.info("order_result_unreachable_owner", order_id=order.id)

    async def notify_withdrawal(self, telegram_id: int, view: WithdrawalView) -> None:
        """Push a withdrawal's final result to its owner. Returns when sent, or when the owner
        can never be reached (blocked the bot, chat gone); raises when a retry may succeed."""
        from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError

        try:
            await self.bot.send_message(telegram_id, render_withdrawal(view))
        except (TelegramForbiddenError, TelegramBadRequest) as exc:
            log.warning("withdrawal_notify_undeliverable", withdrawal_id=view.id, error=str(exc))

    async def close(self) -> None:
        await self.bot.session.close()
        await self.dispatcher.storage.close()


async def check_token(token: str, api_url: str, *, timeout_s: float = 5.0) -> str:
    """``getMe`` with the token; returns ``@username``. Raises on a wrong token or no Bot API."""
    bot = build_bot(token, api_url, timeout_s=timeout_s)
    try:
        me = await bot.get_me()
        return f"@{me.username}"
    finally:
        await bot.session.close()
