"""Helpers for the console tests: a running web server, people with roles, signing in."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.app import BotApp
from bot.core.clock import FakeClock
from bot.server import start
from bot.services.listings import PAUSED, Listing
from bot.services.users import ADMIN, FARMER, TEAM, User
from tests.helpers.driver import settings_for

ADMIN_TG = "111"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Server:
    """The bot and its web server on a free loopback port."""

    app: BotApp
    base: str
    clock: FakeClock
    web: web.Application | None = None  # the aiohttp application serving `base`


@asynccontextmanager
async def running(data_dir: Path, clock: FakeClock, **overrides: Any) -> AsyncIterator[Server]:
    """Start the whole bot (web server on 127.0.0.1, port 0) and stop it afterwards."""
    settings = settings_for(data_dir, admin_telegram_ids=frozenset({ADMIN_TG}), **overrides)
    app, runner = await start(settings, clock)
    try:
        yield Server(app, f"http://127.0.0.1:{runner.addresses[0][1]}", clock, runner.app)
    finally:
        await app.stop()


def person(
    app: BotApp,
    key: str,
    name: str,
    *,
    roles: tuple[str, ...] = (),
    areas: tuple[str, ...] = (),
    area: str = "chi-lang",
    role: str = FARMER,
) -> User:
    """A registered user, stored directly."""
    users = app.services.users
    user = users.by_key(key) or users.create(key, name, app.services.clock.now().isoformat())
    user.registered, user.area, user.role = True, area, role
    user.roles, user.team_areas = list(roles), list(areas)
    users.save(user)
    return user


def admin(app: BotApp) -> User:
    """The configured admin (ADMIN_TELEGRAM_IDS)."""
    return person(app, f"telegram:{ADMIN_TG}", "Admin", roles=(ADMIN,), role="buyer")


def team_member(app: BotApp, area: str = "chi-lang") -> User:
    """A team member serving one area."""
    return person(
        app, "telegram:222", "Tổ CNS", roles=(TEAM,), areas=(area,), area=area, role="buyer"
    )


def link_token(app: BotApp, user_key: str) -> str:
    """A fresh one-time token for this identity."""
    return app.services.console_links.issue(user_key)


def client() -> aiohttp.ClientSession:
    """An HTTP client that keeps cookies for 127.0.0.1."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def sign_in(
    http: aiohttp.ClientSession, server: Server, user_key: str
) -> aiohttp.ClientResponse:
    """Open a fresh link and press "Sign in", as a browser would."""
    token = link_token(server.app, user_key)
    return await redeem(http, server, token)


async def redeem(
    http: aiohttp.ClientSession, server: Server, token: str
) -> aiohttp.ClientResponse:
    """Open the link page for `token` and submit its form."""
    async with http.get(f"{server.base}/console/login/{token}") as page:
        csrf = csrf_of(await page.text())
    return await http.post(f"{server.base}/console/login", data={"token": token, "csrf": csrf})


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = CSRF.search(html)
    assert found, html[:500]
    return found.group(1)


def seed(server: Server) -> None:
    """Farmers in two areas over two months, some trained; listings; orders in every status."""
    app, clock = server.app, server.clock
    services = app.services
    buyer = person(app, "web:buyer", "Khách", role="buyer", area="ky-lua")
    core = services.lessons.lessons.core()
    farmers = []
    for i, (area, trained) in enumerate(
        [
            ("chi-lang", True),
            ("chi-lang", True),
            ("chi-lang", False),
            ("that-khe", True),
            ("that-khe", False),
            ("that-khe", False),
            ("that-khe", False),
        ]
    ):
        farmer = person(app, f"web:f{i}", f"Nông dân {i}", area=area)
        farmers.append(farmer)
        if trained:
            for lesson in core:
                services.lessons.answer(farmer.id, lesson, lesson.quiz.answer, clock.now())
    unregistered = services.users.create("web:half", "Chưa xong", clock.now().isoformat())
    assert not unregistered.registered
    listings = [
        services.listings.add(
            Listing(
                farmer_id=f.id,
                area=f.area,
                product_name="Na",
                quantity="100",
                stock="100",
                price=40000 + 1000 * n,
                created_at=clock.now().isoformat(),
            )
        )
        for n, f in enumerate(farmers[:5])
    ]
    paused = listings[4]
    paused.status = PAUSED
    services.listings.save(paused)
    orders = services.orders
    for n, listing in enumerate(listings[:4]):
        placed = orders.place(
            listing.id,
            buyer,
            Decimal(2 + n),
            name="Khách",
            phone="+84912000000",
            address="Lạng Sơn",
            note="",
            form_id=f"seed{n}",
            now=clock.now(),
        )
        if n == 0:
            orders.confirm(placed.id, clock.now())
        elif n == 1:
            orders.cancel(placed.id, "buyer", "", clock.now())
    clock.advance(days=10)  # into December: a second month of figures
    late = person(app, "web:f9", "Nông dân 9", area="chi-lang")
    services.lessons.answer(late.id, core[0], core[0].quiz.answer, clock.now())
    placed = orders.place(
        listings[3].id,
        buyer,
        Decimal(5),
        name="Khách",
        phone="+84912000000",
        address="Lạng Sơn",
        note="",
        form_id="seed-dec",
        now=clock.now(),
    )
    orders.confirm(placed.id, clock.now())
    orders.ship(placed.id, "", clock.now())
