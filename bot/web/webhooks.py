"""Webhook endpoints: each checks its platform's secret before anything is processed."""

from __future__ import annotations

import hmac
import logging

from aiohttp import web

from bot.channels.telegram import TelegramChannel

log = logging.getLogger(__name__)
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def add_telegram_webhook(app: web.Application, channel: TelegramChannel, secret: str) -> None:
    """Mount POST /webhooks/telegram, feeding updates to the Telegram channel."""

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(TELEGRAM_SECRET_HEADER, "")
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("telegram webhook call with a wrong secret from %s", request.remote)
            return web.Response(status=401, text="unauthorized")
        try:
            data = await request.json()
        except ValueError:
            return web.Response(status=400, text="expected JSON")
        if not isinstance(data, dict) or "update_id" not in data:
            log.warning("telegram webhook: malformed update refused (no update_id)")
            return web.Response(status=400, text="expected a Telegram update")
        try:
            await channel.feed_webhook(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # The secret was right, so this is Telegram (or a bug of ours): say what broke.
            log.warning(
                "telegram webhook: malformed update %s refused (%s: %s)",
                str(data.get("update_id"))[:20],
                type(exc).__name__,
                str(exc)[:200],
            )
            return web.Response(status=400, text="malformed Telegram update")
        return web.Response(text="ok")

    app.router.add_post("/webhooks/telegram", receive)
