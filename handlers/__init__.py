"""Conversation flows, one per module; `build_flows` lists them all explicitly.

A flow's id is its module's name, except the four in ID_NOT_MODULE. The modules that are no
flow of their own lend states or helpers to one: buy_form (the order form of `buy`),
order_actions (`orders`), linking (`onboarding`), listings_base, listings_media and
listings_price (`listings`), requests, paging.
"""

from __future__ import annotations

from bot.core.flow import Flow
from handlers import (
    broadcast,
    buy,
    console,
    faq,
    faq_admin,
    lessons,
    lessons_team,
    listings,
    listings_mine,
    menu,
    myorders,
    onboarding,
    order_outside,
    orders,
    profile,
    roles,
    team,
)

# Module -> the flow id it keeps, and why: these ids are stored in conversations and forms put
# aside, sent in menu buttons, and named by the router (bot/core/router.py, signals.py,
# tests/data/routing.csv). A rename lists the old id in the flow's `aliases` (the engine then
# reads stored conversations and old buttons under it) and updates the router's tables.
ID_NOT_MODULE: dict[str, tuple[str, ...]] = {
    "listings_mine": ("mylistings",),
    "order_outside": ("order_out",),
    "faq_admin": ("faqadmin",),
    "lessons_team": ("lesson_team",),
}


def build_flows() -> list[Flow]:
    """Every flow of the bot, the main menu built from their menu entries."""
    flows = [
        onboarding.build(),
        profile.build(),
        *(faq.build(), faq_admin.build(), team.build()),
        lessons.build(),
        lessons_team.build(),
        console.build(),
        listings.build(),
        listings_mine.build(),
        *(buy.build(), myorders.build(), orders.build(), order_outside.build()),
        *(roles.build(), broadcast.build()),
    ]
    entries = [f.menu for f in flows if f.menu is not None]
    return [menu.build(entries), *flows]
