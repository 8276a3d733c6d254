"""Zalo webhooks: each checks its secret, answers at once and hands the event on."""

from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web

from bot.channels.zalo_bot import WEBHOOK_PATH, ZaloBotChannel
from bot.channels.zalo_oa import ZaloOAChannel, is_probe
from bot.channels.zalo_shapes import bot_update_problem, oa_event_problem

log = logging.getLogger(__name__)

OA_PATH = "/webhooks/zalo-oa"
OA_SIGNATURE_HEADER = "X-ZEvent-Signature"
BOT_SECRET_HEADER = "X-Bot-Api-Secret-Token"


def add_zalo_oa_webhook(app: web.Application, channel: ZaloOAChannel) -> None:
    """Mount POST /webhooks/zalo-oa: signed OA events, handled after the answer."""

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        if is_probe(body):  # the developer console checking the URL: no event, nothing to do
            log.info("Zalo OA webhook URL check from %s answered", request.remote)
            return web.json_response({"ok": True})
        try:
            data = json.loads(body)
        except ValueError:
            return web.Response(status=400, text="expected JSON")
        if not channel.verify(body, request.headers.get(OA_SIGNATURE_HEADER, "")):
            log.warning("Zalo OA webhook call with a bad signature from %s", request.remote)
            return web.Response(status=401, text="unauthorized")
        problem = oa_event_problem(data)
        if problem is not None:  # acknowledged all the same: Zalo disables failing webhooks
            log.warning("Zalo OA webhook: malformed event skipped (%s)", problem)
        else:
            channel.accept(data)
        return web.json_response({"ok": True})

    app.router.add_post(OA_PATH, receive)


def add_zalo_bot_webhook(app: web.Application, channel: ZaloBotChannel, secret: str) -> None:
    """Mount POST /webhooks/zalo-bot: updates checked against the webhook secret."""

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(BOT_SECRET_HEADER, "")
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("Zalo Bot webhook call with a wrong secret from %s", request.remote)
            return web.Response(status=401, text="unauthorized")
        try:
            data = await request.json()
        except ValueError:
            return web.Response(status=400, text="expected JSON")
        update = data.get("result", data) if isinstance(data, dict) else data
        problem = bot_update_problem(update)
        if problem is not None:  # acknowledged all the same: Zalo disables failing webhooks
            log.warning("Zalo Bot webhook: malformed update skipped (%s)", problem)
        else:
            channel.accept(update)
        return web.json_response({"ok": True})

    app.router.add_post(WEBHOOK_PATH, receive)
