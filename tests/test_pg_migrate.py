"""`store migrate --to postgresql://…`: a store made by real conversations, then used on PostgreSQL.

The embedded store is filled by people talking to the bot (farmers, a listing with photos, an
order, an FAQ vote and a question for the team, someone who deleted their data), migrated by
the command, and a bot opened on the database must see the same: the farmer's listings and
orders under the same ids, deep links and buttons that name those ids, new ids above them.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bot import migrate_cli
from bot.app import BotApp
from bot.channels.zalo_oa_state import OAToken, TokenFile, TokenTable
from bot.core.clock import FakeClock
from bot.storage.db import Store
from bot.storage.errors import StoreError
from bot.storage.pg import PgStore
from tests.helpers.cli import run_main
from tests.helpers.driver import Chat, make_app
from tests.orders_helpers import QUANTITY_QUESTION, add_listing, order_form

pytestmark = pytest.mark.pg


async def fill(app: BotApp) -> dict[str, Any]:
    """People use the bot: what they did, to look for on the other side."""
    farmer = Chat(app, "web:lan", "Lan")
    await farmer.onboard(role="farmer", phone="0912000111")
    photos = ["media:na-1.jpg", "media:na-2.jpg"]
    media = app.settings.data_dir / "media"
    media.mkdir(parents=True, exist_ok=True)
    for ref in photos:
        (media / ref.removeprefix("media:")).write_bytes(b"\xff\xd8 a photo of custard apples")
    listing = add_listing(app, farmer, photos=photos)
    buyer = Chat(app, "web:khoa", "Khoa")
    await buyer.onboard(role="buyer", phone="0976111222")
    await order_form(buyer, listing)
    await buyer.tap("cf:yes")
    asker = Chat(app, "web:mai", "Mai")
    await asker.onboard(role="farmer", phone="0988000333")
    await asker.say("lam sao mo shop tren posmart")
    vote = next(p for label, p in asker.buttons() if label == "👍")
    await asker.tap(vote)
    leaver = Chat(app, "web:man", "Mận")
    await leaver.onboard(role="farmer", phone="0938517246")
    await leaver.say("/xoadulieu")
    await leaver.tap("del:yes")
    lan = app.services.users.by_key("web:lan")
    assert lan is not None
    [order] = app.services.orders.of_farmer(lan.id)
    return {"farmer": lan.id, "listing": listing, "order": order.code, "vote": vote}


async def test_a_migrated_store_serves_the_same_people_on_postgresql(
    tmp_path: Path,
    clock: FakeClock,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "data"
    app = make_app(data, clock)
    made = await fill(app)
    await app.stop()
    before = _documents(data)
    pair = {"access_token": "AT-1", "refresh_token": "RT-1", "expires_at": 1.8e9, "configured": ""}
    (data / "zalo_oa_token.json").write_text(json.dumps(pair))  # the embedded store's file
    shared_media = tmp_path / "shared-media"  # MEDIA_DIR of the PostgreSQL deployment
    monkeypatch.setenv("MEDIA_DIR", str(shared_media))

    assert run_main(monkeypatch, tmp_path, data, "store", "migrate", "--to", pg_url) == 0
    said = capsys.readouterr().out
    assert "migrated: both sides hold the same" in said, said
    for name, docs in [*before.items(), ("zalo_oa_token", [1])]:
        assert re.search(rf"\n{name} +{len(docs)} +{len(docs)}\n", said), (name, said)
    assert re.search(r"\nmedia files +2 +2\n", said), said
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT tbl, id, doc FROM docs").fetchall()
        schema = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    copied = {(t, i) for t, i, _ in rows if t != "zalo_oa_token"}
    assert copied == {(n, i) for n, d in before.items() for i in d}
    assert [d for t, _, d in rows if t == "zalo_oa_token"] == [{"key": "oa", **pair}]
    assert schema == (Store(data).schema,)
    for ref in made["listing"].photos:
        name = ref.removeprefix("media:")
        assert (shared_media / name).read_bytes() == (data / "media" / name).read_bytes()

    pg = make_app(tmp_path / "pgdata", clock, database_url=pg_url, media_dir_override=shared_media)
    await pg.open()
    try:
        [listing] = pg.services.listings.of_farmer(made["farmer"])
        assert listing.id == made["listing"].id and listing.photos == made["listing"].photos
        [order] = pg.services.orders.of_farmer(made["farmer"])
        assert order.code == made["order"] and order.listing_id == listing.id
        assert pg.services.users.by_key("web:man") is None
        assert [s.keys for s in pg.services.tombstones.all()] == [("web:man",)]
        entry = pg.services.faq.get(int(made["vote"].rsplit(":", 1)[1]))
        assert entry is not None and entry.up == 1
        assert len(pg.store.table("faq")) == len(before["faq"])  # not seeded a second time
        initial = OAToken("AT-configured", "")  # the pair stored since is the one used
        assert TokenTable(pg.store, initial, TokenFile(tmp_path / "none", initial)).load() == (
            OAToken("AT-1", "RT-1", 1.8e9)
        )
        assert (shared_media / "na-1.jpg").is_file()
        # A deep link and an order button naming the listing's id work for a new buyer.
        guest = Chat(pg, "web:guest", "Hương")
        await guest.say(f"/start p_{listing.slug}")
        assert "Na Chi Lăng" in guest.text() and ("l:order" in dict(guest.buttons()).values())
        await guest.tap("l:order")
        assert guest.said(QUANTITY_QUESTION, product=listing.product_name), guest.text()
        # New documents take ids above every migrated one.
        newcomer = Chat(pg, "web:new", "Tú")
        await newcomer.onboard(role="farmer", phone="0903000444")
        fresh = pg.services.users.by_key("web:new")
        assert fresh is not None and fresh.id > max(before["users"])
    finally:
        await pg.stop()


KILLED_IN_THIRD_BATCH = """
import os, signal, sys
from bot import migrate_cli
from bot.__main__ import main

batches = 0

def dies(table, have, total):
    global batches
    batches += 1
    if batches == 3:  # inside the third batch's transaction: it never commits
        os.kill(os.getpid(), signal.SIGKILL)

migrate_cli._progress = dies
main(["store", "migrate", "--to", sys.argv[1], "--batch", "4"])
"""


class Killed(Exception):
    """The migration process dies here."""


async def test_an_interrupted_migration_resumes_without_duplicates(
    tmp_path: Path,
    clock: FakeClock,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "data"
    app = make_app(data, clock)
    await fill(app)
    for n in range(5):
        await Chat(app, f"web:extra{n}", f"Người {n}").onboard(phone=f"090300{n:04d}")
    await app.stop()
    source = _documents(data)
    # The command in a process of its own, killed (SIGKILL) inside its third batch.
    died = subprocess.run(
        [sys.executable, "-c", KILLED_IN_THIRD_BATCH, pg_url],
        env={**os.environ, "DATA_DIR": str(data), "DATABASE_URL": ""},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert died.returncode == -signal.SIGKILL, died.stderr
    with psycopg.connect(pg_url) as conn:
        [(partial,)] = conn.execute("SELECT count(*) FROM docs").fetchall()
    total = sum(len(d) for d in source.values())
    assert 0 < partial < total  # the batches committed before it died
    with pytest.raises(StoreError, match="unfinished copy"):
        PgStore(pg_url, tmp_path / "pgdata")  # a bot refuses the half-filled database

    assert run_main(monkeypatch, tmp_path, data, "store", "migrate", "--to", pg_url) == 0
    said = capsys.readouterr().out
    assert f"resumed an interrupted copy; copied {total - partial} documents" in said, said
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT tbl, id, doc::text FROM docs").fetchall()
    assert len(rows) == total
    copied = {(t, i): json.loads(d) for t, i, d in rows}
    assert copied == {(n, i): json.loads(d) for n, docs in source.items() for i, d in docs.items()}

    # Once finished, running it again copies nothing and says so.
    assert run_main(monkeypatch, tmp_path, data, "store", "migrate", "--to", pg_url) == 0
    assert "nothing left to copy" in capsys.readouterr().out


async def test_migration_refuses_a_database_holding_something_else(
    tmp_path: Path,
    clock: FakeClock,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    other = make_app(tmp_path / "other", clock, database_url=pg_url)
    await other.open()
    await Chat(other, "web:hoa", "Lò Thị Hoa").onboard()
    await other.stop()
    data = tmp_path / "data"
    app = make_app(data, clock)
    await Chat(app, "web:lan", "Lan").onboard()
    await app.stop()
    assert run_main(monkeypatch, tmp_path, data, "store", "migrate", "--to", pg_url) == 2
    assert "already holds documents" in capsys.readouterr().err
    # The bot running on DATA_DIR would go on writing there: refused too.
    running = make_app(data, clock)
    try:
        assert run_main(monkeypatch, tmp_path, data, "store", "migrate", "--to", pg_url) == 2
        assert "the bot is running" in capsys.readouterr().err
    finally:
        await running.stop()


def _documents(data: Path) -> dict[str, dict[int, bytes]]:
    """Each table's documents in the embedded store at `data`, as stored (JSON)."""
    with Store(data) as store:
        return {name: dict(table.frozen()[1]) for name, table in store.engine.tables.items()}


async def test_a_store_changed_since_an_interrupted_migration_is_refused(
    tmp_path: Path,
    clock: FakeClock,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "data"
    app = make_app(data, clock)
    await Chat(app, "web:lan", "Lan").onboard()
    await app.stop()

    def dies(table: str, have: int, total: int) -> None:
        raise Killed

    monkeypatch.setattr(migrate_cli, "_progress", dies)
    with pytest.raises(Killed):
        run_main(monkeypatch, tmp_path, data, "store", "migrate", "--to", pg_url, "--batch", "2")
    monkeypatch.undo()
    app = make_app(data, clock)  # the bot was started again meanwhile
    await Chat(app, "web:hoa", "Lò Thị Hoa").onboard(phone="0911000111")
    await app.stop()
    assert run_main(monkeypatch, tmp_path, data, "store", "migrate", "--to", pg_url) == 2
    said = capsys.readouterr().err
    assert "holds an unfinished copy of it as it was before" in said, said
    assert "drop this one and create it again" in said
