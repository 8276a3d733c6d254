"""The web console for admins and community digital-tech teams (served under /console)."""

from __future__ import annotations

from aiohttp import web

from bot.services.container import Services
from bot.web.console.base import Console
from bot.web.console.dashboard import Dashboard
from bot.web.console.signin import SignIn


def add_console_routes(app: web.Application, services: Services) -> Console:
    """Mount every console page on the bot's web app."""
    console = Console(services)
    for pages in (SignIn(console), Dashboard(console)):
        pages.add_routes(app)
    return console
