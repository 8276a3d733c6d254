"""/console: an admin or team member gets a one-time link to the web console."""

from __future__ import annotations

import logging

from bot.core.flow import Ctx, Done, Flow, Outcome, State, is_text
from bot.core.fmt import fmt
from bot.core.types import Incoming, Reply
from bot.i18n import _
from bot.services.console_links import may_use_console
from handlers import faq

log = logging.getLogger(__name__)


def enter_link(ctx: Ctx) -> list[Reply]:
    """A new one-time link each time /console is typed (never when merely asked again)."""
    if not may_use_console(ctx.services.users, ctx.user):
        log.warning("user %s asked for a console link without a role; refused", ctx.user.id)
        return [Reply(_("Sorry, the web console is for admins and digital-tech team members."))]
    key = ctx.msg.user_key
    link = ctx.services.console_links.url(ctx.services.settings.base_url, key)
    text = fmt(
        _(
            "Your sign-in link to the web console (valid 10 minutes, works once; do not share "
            "it):\n{link}"
        ),
        link=link,
    )
    return [Reply(text)]


def ask_link(ctx: Ctx) -> list[Reply]:
    return []  # the link was the whole answer; what is typed next goes to the FAQ


async def answer_link(ctx: Ctx, msg: Incoming) -> Outcome:
    if is_text(msg):
        return await faq.answer_text(ctx, msg.text)
    return Done()


def build() -> Flow:
    """The /console command."""
    return Flow(
        name="console",
        first="link",
        states={"link": State(ask_link, answer_link, enter=enter_link)},
        commands={"console": "link"},
    )
