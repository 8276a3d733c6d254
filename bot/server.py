"""`python -m bot`: the web server (web chat, webhooks) plus every channel with credentials."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bot.app import BotApp
from bot.channels.telegram import TelegramChannel
from bot.channels.zalo_bot import ZaloBotChannel
from bot.channels.zalo_oa import ZaloOAChannel
from bot.config import Settings
from bot.core.clock import Clock
from bot.i18n import _
from bot.storage.db import Store
from bot.storage.errors import StoreError
from bot.web.chat import WebChat
from bot.web.console import add_console_routes
from bot.web.headers import add_security_headers
from bot.web.market import add_market_routes
from bot.web.public import add_public_routes
from bot.web.webhooks import add_telegram_webhook
from bot.web.zalo_webhooks import add_zalo_bot_webhook, add_zalo_oa_webhook

log = logging.getLogger(__name__)


ZALO_OA_KEY = web.AppKey("zalo_oa", ZaloOAChannel)
ZALO_BOT_KEY = web.AppKey("zalo_bot", ZaloBotChannel)
WEB_CHAT_KEY = web.AppKey("web_chat", WebChat)


def build_web_app(
    bot: BotApp,
    telegram: TelegramChannel | None,
    zalo_oa: ZaloOAChannel | None = None,
    zalo_bot: ZaloBotChannel | None = None,
) -> web.Application:
    """The aiohttp application with every route the bot serves."""
    app = web.Application(client_max_size=6 * 1024 * 1024, middlewares=[durable(bot.store)])
    add_security_headers(app)
    if zalo_oa is not None:
        app[ZALO_OA_KEY] = zalo_oa
        add_zalo_oa_webhook(app, zalo_oa)
    if zalo_bot is not None:
        app[ZALO_BOT_KEY] = zalo_bot
        if zalo_bot.webhook_url:
            add_zalo_bot_webhook(app, zalo_bot, bot.settings.zalo_bot_webhook_secret)
    app[WEB_CHAT_KEY] = WebChat(bot.engine, bot.media_dir)
    app[WEB_CHAT_KEY].add_routes(app)
    add_public_routes(app, bot.services)
    add_market_routes(app, bot.services)
    add_console_routes(app, bot.services)
    if telegram is not None and bot.settings.telegram_webhook_url:
        add_telegram_webhook(app, telegram, bot.settings.telegram_webhook_secret)

    async def health(_request: web.Request) -> web.Response:
        """For the load balancer: 503 when the database cannot be reached."""
        if not await bot.store.reachable():
            return web.json_response({"ok": False, "database": False}, status=503)
        return web.json_response({"ok": True, "database": True})

    app.router.add_get("/healthz", health)
    return app


def durable(store: Store) -> Middleware:
    """Commit what a request changed before its response leaves (a no-op when nothing did).

    On PostgreSQL, writes made outside a conversation (console edits, web pages) are queued;
    nobody is told "saved" before they are committed. The embedded store has written them.
    """

    async def commit(request: web.Request) -> None:
        try:
            await store.flush()
        except StoreError:
            log.exception("could not commit the changes of %s %s", request.method, _route(request))
            text = _("Sorry, I could not save that just now. Please try again in a moment.")
            raise web.HTTPServiceUnavailable(text=text) from None

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException:  # a raised redirect ("saved", signed in) tells "done" too
            await commit(request)
            raise
        await commit(request)
        return response

    return middleware


def _route(request: web.Request) -> str:
    """The request's route ("/d/{token}"), not its path: paths may hold one-time tokens."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "(no route)"


async def start(settings: Settings, clock: Clock | None = None) -> tuple[BotApp, web.AppRunner]:
    """Start everything; returns the app and the web runner (tests call this directly)."""
    bot = BotApp(settings, clock)
    try:
        await bot.open()
        telegram = TelegramChannel(settings, bot.engine) if settings.telegram_token else None
        zalo_oa = ZaloOAChannel(settings, bot.engine) if settings.zalo_oa_enabled else None
        zalo_bot = ZaloBotChannel(settings, bot.engine) if settings.zalo_bot_token else None
        web_app = build_web_app(bot, telegram, zalo_oa, zalo_bot)
        runner = web.AppRunner(web_app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, settings.web_host, settings.web_port).start()
        bot.on_stop(runner.cleanup)
        if telegram is not None:
            await telegram.start()
            bot.on_stop(telegram.stop)
            if telegram.polls and bot.store.shared:  # getUpdates: one process at a time
                bot.run_leased("telegram-polling", telegram.start_polling, telegram.stop_polling)
        for zalo in (zalo_oa, zalo_bot):
            if zalo is not None:
                await zalo.start()
                bot.on_stop(zalo.stop)
        if zalo_bot is not None and not zalo_bot.webhook_url and bot.store.shared:
            bot.run_leased("zalo-bot-polling", zalo_bot.start_polling, zalo_bot.stop_polling)
        bot.start_jobs()
    except BaseException:
        await bot.stop()
        raise
    return bot, runner


async def serve(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM."""
    bot, _runner = await start(settings)
    print(
        f"Nông Dân Số is running. Web chat: http://{settings.web_host}:{settings.web_port}/",
        flush=True,
    )
    if settings.telegram_token:
        mode = "webhook" if settings.telegram_webhook_url else "long polling"
        print(f"Telegram: {mode}.", flush=True)
    if settings.zalo_oa_enabled:
        print("Zalo OA: webhook /webhooks/zalo-oa.", flush=True)
    if settings.zalo_bot_token:
        print(
            f"Zalo Bot: {'webhook' if settings.zalo_bot_webhook_secret else 'long polling'}.",
            flush=True,
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await bot.stop()
