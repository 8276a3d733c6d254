"""The web console for admins and community digital-tech teams (served under /console)."""

from __future__ import annotations

from aiohttp import web

from bot.services.container import Services
from bot.web.console.base import Console
from bot.web.console.broadcasts_pages import BroadcastPages
from bot.web.console.dashboard import Dashboard
from bot.web.console.faq_pages import FaqPages
from bot.web.console.faq_seed_pages import FaqSeedPages
from bot.web.console.lessons_pages import LessonPages
from bot.web.console.questions import QuestionPages
from bot.web.console.signin import SignIn
from bot.web.console.users_pages import UserPages


def add_console_routes(app: web.Application, services: Services) -> Console:
    """Mount every console page on the bot's web app."""
    console = Console(services)
    pages = (
        SignIn,
        Dashboard,
        FaqPages,
        FaqSeedPages,
        QuestionPages,
        UserPages,
        LessonPages,
        BroadcastPages,
    )
    for kind in pages:
        kind(console).add_routes(app)
    return console
