"""Console pages over HTTP: FAQ editor, questions inbox, users and roles, lessons, language."""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import aiohttp

from bot.core.clock import FakeClock
from bot.core.fmt import to_plain
from bot.core.types import Reply
from bot.services.faq_csv import parse_csv, write_csv
from bot.services.handoff import ANSWERED, DISMISSED, OPEN
from bot.services.users import ADMIN, TEAM
from tests.console_helpers import (
    ADMIN_TG,
    Server,
    admin,
    client,
    csrf_of,
    person,
    running,
    seed,
    sign_in,
    team_member,
)
from tests.helpers.msgids import said

ADMIN_KEY = f"telegram:{ADMIN_TG}"


async def form_post(
    http: aiohttp.ClientSession, server: Server, page: str, action: str, data: dict[str, str]
) -> aiohttp.ClientResponse:
    """Open `page`, take its CSRF token, and POST `data` to `action` as its form would."""
    async with http.get(server.base + page) as response:
        csrf = csrf_of(await response.text())
    return await http.post(server.base + action, data={**data, "csrf": csrf})


async def test_faq_add_edit_delete_and_duplicates(tmp_path: Path, clock: FakeClock) -> None:
    async with running(tmp_path / "d", clock) as server, client() as http:
        admin(server.app)
        await sign_in(http, server, ADMIN_KEY)
        faq = server.app.services.faq
        fields = {
            "question": "Bán hồng vành khuyên <b>ở đâu</b>?",
            "answer": "Dạ, trên Voso & Postmart.",
            "alternatives": "mua hong o dau\n\nhong van lang",
            "tags": "hồng | sàn",
        }
        added = await form_post(http, server, "/console/faq/new", "/console/faq/new", fields)
        entry = faq.by_question(fields["question"])
        assert entry is not None and added.url.path == f"/console/faq/{entry.id}"
        assert entry.alternatives == ["mua hong o dau", "hong van lang"]
        assert entry.tags == ["hồng", "sàn"]
        page = await added.text()
        assert "&lt;b&gt;ở đâu&lt;/b&gt;" in page and "<b>ở đâu</b>" not in page
        again = await form_post(http, server, "/console/faq/new", "/console/faq/new", fields)
        again_html = await again.text()
        assert again.status == 400 and 'class="error"' in again_html

        other = faq.all()[0]
        taken = {**fields, "question": other.question}
        edit = f"/console/faq/{entry.id}"
        refused = await form_post(http, server, edit, edit, taken)
        assert refused.status == 400
        assert faq.get(entry.id).question == fields["question"]  # type: ignore[union-attr]
        empty = await form_post(http, server, edit, edit, {**fields, "answer": " "})
        assert empty.status == 400
        saved = await form_post(http, server, edit, edit, {**fields, "answer": "Dạ, ở chợ xã."})
        assert saved.status == 200 and faq.get(entry.id).answer == "Dạ, ở chợ xã."  # type: ignore[union-attr]
        await form_post(http, server, edit, edit + "/delete", {})
        assert faq.get(entry.id) is None


async def test_faq_worst_rated_first_and_csv_round_trip(tmp_path: Path, clock: FakeClock) -> None:
    async with running(tmp_path / "d", clock) as server, client() as http:
        admin(server.app)
        await sign_in(http, server, ADMIN_KEY)
        faq = server.app.services.faq
        bad, good = faq.all()[3], faq.all()[4]
        for voter in range(3):
            faq.vote(bad.id, 100 + voter, up=False)
            faq.vote(good.id, 100 + voter, up=True)
        async with http.get(f"{server.base}/console/faq") as page:
            html = await page.text()
        first_link = html.index("/console/faq/", html.index("<tbody>"))
        assert html[first_link:].startswith(f'/console/faq/{bad.id}"')
        assert html.index(f'/console/faq/{good.id}"') > html.index(f'/console/faq/{bad.id}"')

        async with http.get(f"{server.base}/console/faq.csv") as exported:
            data = await exported.read()
        assert data == write_csv([e.row() for e in faq.all()])  # the CLI's exact format
        rows = parse_csv(data).rows
        rows[0].answer = "Dạ, câu trả lời mới."
        upload = io.StringIO(newline="")
        writer = csv.writer(upload)
        writer.writerow(["question", "answer", "alternatives", "tags"])
        writer.writerow([rows[0].question, rows[0].answer, "", ""])
        writer.writerow(["Câu hỏi mới?", "", "", ""])  # no answer: skipped, reported
        writer.writerow(["Câu hỏi mới hẳn?", "Dạ, có.", "", ""])
        async with http.get(f"{server.base}/console/faq") as page:
            csrf = csrf_of(await page.text())
        form = aiohttp.FormData()
        form.add_field("csrf", csrf)
        form.add_field("file", upload.getvalue().encode(), filename="faq.csv")
        async with http.post(f"{server.base}/console/faq/import", data=form) as result:
            text = await result.text()
        assert (
            said(
                text,
                "Added {added}, updated {updated}, unchanged {unchanged}.",
                added=1,
                updated=1,
                unchanged=0,
            )
            and "line 3: empty answer" in text
        )
        assert faq.by_question(rows[0].question).answer == "Dạ, câu trả lời mới."  # type: ignore[union-attr]


def open_question(server: Server, key: str, text: str) -> int:
    """A farmer's question handed to the team of their area."""
    asker = server.app.services.users.by_key(key)
    assert asker is not None
    handoffs = server.app.services.handoffs
    handoff = handoffs.log(asker, text, server.clock.now().isoformat())
    handoff.status = OPEN
    handoffs.save(handoff)
    return handoff.id


async def test_team_answers_own_areas_question_and_the_farmer_gets_it(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with running(tmp_path / "d", clock) as server, client() as http:
        sent: list[tuple[str, list[Reply]]] = []

        async def capture(platform_id: str, replies: list[Reply]) -> None:
            sent.append((platform_id, replies))

        server.app.services.notifier.register("web", capture)
        person(server.app, "web:lan", "Lan", area="chi-lang")
        person(server.app, "web:mai", "Mai", area="that-khe")
        mine = open_question(server, "web:lan", "Giá phân NPK <hôm nay>?")
        theirs = open_question(server, "web:mai", "Ai thu mua hồi?")
        team_member(server.app, "chi-lang")
        await sign_in(http, server, "telegram:222")
        async with http.get(f"{server.base}/console/questions") as page:
            html = await page.text()
        assert "Giá phân NPK &lt;hôm nay&gt;?" in html and "Ai thu mua hồi?" not in html
        assert "/dismiss" not in html  # dismissing is for admins
        refused = await form_post(
            http,
            server,
            "/console/questions",
            f"/console/questions/{theirs}/answer",
            {"answer": "Dạ, tôi biết."},
        )
        assert refused.status == 403
        assert server.app.services.handoffs.get(theirs).status == OPEN  # type: ignore[union-attr]
        done = await form_post(
            http,
            server,
            "/console/questions",
            f"/console/questions/{mine}/answer",
            {"answer": "Dạ, khoảng 15.000 đ/kg."},
        )
        assert said(await done.text(), "Answer sent to the farmer.")
        assert server.app.services.handoffs.get(mine).status == ANSWERED  # type: ignore[union-attr]
        assert sent and sent[0][0] == "lan"
        relayed = to_plain(sent[0][1][0].text)
        assert "Giá phân NPK <hôm nay>?" in relayed and "15.000 đ/kg" in relayed
        dismiss = await form_post(
            http, server, "/console/questions", f"/console/questions/{theirs}/dismiss", {}
        )
        assert dismiss.status == 403


async def test_admin_dismisses_and_turns_an_answer_into_faq(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with running(tmp_path / "d", clock) as server, client() as http:
        person(server.app, "web:lan", "Lan", area="chi-lang")
        first = open_question(server, "web:lan", "Trồng na cần bón gì?")
        second = open_question(server, "web:lan", "xyz")
        admin(server.app)
        await sign_in(http, server, ADMIN_KEY)
        await form_post(
            http,
            server,
            "/console/questions",
            f"/console/questions/{first}/answer",
            {"answer": "Dạ, bón phân chuồng hoai."},
        )
        await form_post(
            http, server, "/console/questions", f"/console/questions/{second}/dismiss", {}
        )
        handoffs = server.app.services.handoffs
        assert handoffs.get(second).status == DISMISSED  # type: ignore[union-attr]
        made = await form_post(
            http, server, "/console/questions", f"/console/questions/{first}/faq", {}
        )
        entry = server.app.services.faq.by_question("Trồng na cần bón gì?")
        assert entry is not None and entry.answer == "Dạ, bón phân chuồng hoai."
        assert made.url.path == f"/console/faq/{entry.id}"
        assert handoffs.get(first).faq_id == entry.id  # type: ignore[union-attr]


async def test_users_search_grant_and_revoke(tmp_path: Path, clock: FakeClock) -> None:
    async with running(tmp_path / "d", clock) as server, client() as http:
        me = admin(server.app)
        hoa = person(server.app, "web:hoa", "Hoàng Thị Hòa", area="chi-lang")
        hoa.phone = "+84912345678"
        server.app.services.users.save(hoa)
        await sign_in(http, server, ADMIN_KEY)
        for query in ("hoa", "345"):
            async with http.get(f"{server.base}/console/users", params={"q": query}) as page:
                assert f"/console/users/{hoa.id}" in await page.text(), query
        page = f"/console/users/{hoa.id}"
        await form_post(
            http, server, page, page, {"action": "grant", "role": TEAM, "area": "that-khe"}
        )
        await form_post(http, server, page, page, {"action": "grant", "role": ADMIN, "area": ""})
        stored = server.app.services.users.get(hoa.id)
        assert (
            stored is not None
            and stored.roles == [TEAM, ADMIN]
            and stored.team_areas == ["that-khe"]
        )
        await form_post(
            http, server, page, page, {"action": "revoke", "role": TEAM, "area": "that-khe"}
        )
        await form_post(http, server, page, page, {"action": "revoke", "role": ADMIN, "area": ""})
        stored = server.app.services.users.get(hoa.id)
        assert stored is not None and stored.roles == [] and stored.team_areas == []
        bad = await form_post(
            http, server, page, page, {"action": "grant", "role": TEAM, "area": "mars"}
        )
        assert bad.status == 400
        mine = f"/console/users/{me.id}"
        selfish = await form_post(http, server, mine, mine, {"action": "revoke", "role": ADMIN})
        assert selfish.status == 400


async def test_lessons_page_shows_rates_and_file_problems(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with running(tmp_path / "d", clock) as server, client() as http:
        seed(server)
        service = server.app.services.lessons
        copy = tmp_path / "lessons"
        shutil.copytree(service.lessons_dir, copy)
        service.lessons_dir = copy
        (copy / "zz-broken.yaml").write_text("id: [oops\n", encoding="utf-8")
        admin(server.app)
        await sign_in(http, server, ADMIN_KEY)
        async with http.get(f"{server.base}/console/lessons") as page:
            html = await page.text()
        assert "zz-broken.yaml" in html
        assert said(
            html,
            "{trained} of {farmers} registered farmers finished the core course.",
            trained=3,
            farmers=8,
        ), html
        first = service.lessons.lessons[0]
        assert first.title in html
        count = len(service.lessons.lessons)
        reloaded = await form_post(http, server, "/console/lessons", "/console/lessons/reload", {})
        assert said(await reloaded.text(), "Lessons reloaded.")
        assert len(service.lessons.lessons) == count


async def test_english_on_request_and_remembered(tmp_path: Path, clock: FakeClock) -> None:
    async with running(tmp_path / "d", clock) as server, client() as http:
        admin(server.app)
        await sign_in(http, server, ADMIN_KEY)
        async with http.get(f"{server.base}/console/dashboard?lang=en") as page:
            assert "<h1>Dashboard</h1>" in await page.text()
        async with http.get(f"{server.base}/console/faq") as page:
            assert "Add an entry" in await page.text()
        async with http.get(f"{server.base}/console/faq?lang=vi") as page:
            assert said(await page.text(), "Add an entry")


async def test_team_csv_exports_only_their_areas(tmp_path: Path, clock: FakeClock) -> None:
    async with running(tmp_path / "d", clock) as server, client() as http:
        seed(server)
        team_member(server.app, "that-khe")
        await sign_in(http, server, "telegram:222")
        async with http.get(f"{server.base}/console/dashboard/areas.csv") as response:
            rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
        assert rows[0][:3] == ["area_id", "area", "farmers"]
        assert [r[0] for r in rows[1:]] == ["that-khe"]
        assert rows[1][2] == "4"
        async with http.get(f"{server.base}/console/dashboard/months.csv") as response:
            months = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
        assert [r[0] for r in months[1:]] == ["2026-11", "2026-12"]  # the December order


async def test_invite_code_made_in_the_console_works_in_the_chat(
    tmp_path: Path, clock: FakeClock
) -> None:
    from tests.helpers.driver import Chat

    async with running(tmp_path / "d", clock) as server, client() as http:
        admin(server.app)
        await sign_in(http, server, ADMIN_KEY)
        made = await form_post(
            http, server, "/console/users", "/console/users/invite", {"area": "that-khe"}
        )
        code = re.search(r"<strong>(TCN-[A-Z0-9-]+)</strong>", await made.text())
        assert code is not None
        helper = Chat(server.app, "web:helper", "Hà")
        await helper.onboard()
        await helper.say(f"/ma {code.group(1)}")
        joined = server.app.services.users.by_key("web:helper")
        assert joined is not None and joined.team_areas == ["that-khe"]


async def test_voice_question_is_playable_on_the_questions_page(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with running(tmp_path / "d", clock) as server, client() as http:
        media = server.app.settings.data_dir / "media"
        media.mkdir(parents=True, exist_ok=True)
        (media / "cau-hoi.webm").write_bytes(b"\x1aE\xdf\xa3" + b"\x00" * 60)
        asker = person(server.app, "web:lan", "Lan", area="chi-lang")
        handoffs = server.app.services.handoffs
        voice = handoffs.log(asker, "", clock.now().isoformat(), "voice", "media:cau-hoi.webm")
        voice.status = OPEN
        handoffs.save(voice)
        team_member(server.app, "chi-lang")
        await sign_in(http, server, "telegram:222")
        async with http.get(f"{server.base}/console/questions") as page:
            html = await page.text()
            assert "media-src 'self'" in page.headers["Content-Security-Policy"]
        assert f'<audio controls preload="none" src="/audio/{voice.media_token}">' in html
        async with http.get(f"{server.base}/audio/{voice.media_token}") as audio:
            assert audio.status == 200 and audio.headers["Content-Type"] == "audio/webm"
