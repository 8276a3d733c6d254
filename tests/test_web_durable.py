"""Web requests commit what they changed before the response leaves, raised redirects too."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.server import durable
from bot.storage.errors import StoreError


class Flushes:
    """A store that counts commits, or fails them."""

    def __init__(self, fail: bool = False) -> None:
        self.count = 0
        self.fail = fail

    async def flush(self) -> None:
        self.count += 1
        if self.fail:
            raise StoreError("the database is away")


def app_with(store: Flushes) -> web.Application:
    async def saved(_request: web.Request) -> web.StreamResponse:
        raise web.HTTPSeeOther("/console/faq?ok=saved")  # how the console answers a save

    async def page(_request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok")

    app = web.Application(middlewares=[durable(store)])  # type: ignore[arg-type]
    app.router.add_post("/save", saved)
    app.router.add_get("/page", page)
    return app


async def test_a_raised_redirect_is_committed_first() -> None:
    store = Flushes()
    async with TestClient(TestServer(app_with(store))) as client:
        response = await client.post("/save", allow_redirects=False)
        assert response.status == 303 and store.count == 1
        assert (await client.get("/page")).status == 200 and store.count == 2


async def test_a_save_that_cannot_be_committed_is_not_told_saved() -> None:
    store = Flushes(fail=True)
    async with TestClient(TestServer(app_with(store))) as client:
        response = await client.post("/save", allow_redirects=False)
        assert response.status == 503 and "Location" not in response.headers


async def test_a_failed_commit_is_logged_without_the_token_in_its_path(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = app_with(Flushes(fail=True))

    async def order(_request: web.Request) -> web.StreamResponse:
        return web.Response(text="an order's page, opened by its secret link")

    app.router.add_get("/d/{token}", order)
    async with TestClient(TestServer(app)) as client:
        assert (await client.get("/d/s3cr3t-t0ken")).status == 503
    # The bot's own lines (the test server's access log, which the bot's server turns off,
    # is left out: it is on at INFO whenever an earlier test raised the log level).
    logged = "\n".join(
        caplog.handler.format(r) for r in caplog.records if r.name != "aiohttp.access"
    )
    assert "/d/{token}" in logged and "s3cr3t-t0ken" not in logged
