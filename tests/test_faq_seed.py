"""`faq update`: a running deployment gets new and corrected seed entries, admins keep their edits."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from bot.core.clock import FakeClock
from bot.services.faq import FaqRepo
from bot.services.faq_csv import FaqRow
from bot.services.faq_inbox import FaqInbox, seed_request
from bot.services.faq_seed import FaqSeed, row_hash
from bot.storage.db import Store
from tests.console_helpers import admin, client, csrf_of, running, sign_in

ROOT = Path(__file__).resolve().parent.parent


def row(key: str, question: str, answer: str) -> FaqRow:
    """A seed row."""
    return FaqRow(question, answer, [f"{question} nhé", f"{key} hoi"], ["test"], key)


V1 = [
    row("mot", "Câu một là gì?", "Dạ, trả lời một."),
    row("hai", "Câu hai là gì?", "Dạ, trả lời hai."),
    row("ba", "Câu ba là gì?", "Dạ, trả lời ba."),
    row("bon", "Câu bốn là gì?", "Dạ, trả lời bốn."),
]
V2 = [
    row("mot", "Câu một là gì?", "Dạ, trả lời một, đã sửa theo luật mới."),  # seed corrected
    row("hai", "Câu hai là gì?", "Dạ, trả lời hai, cũng sửa."),  # corrected; admin edited too
    row("ba", "Câu ba là gì?", "Dạ, trả lời ba."),  # unchanged; admin deleted it
    row("bon", "Câu bốn là gì?", "Dạ, trả lời bốn."),  # unchanged; admin edited it
    row("nam", "Câu năm là gì?", "Dạ, trả lời năm."),  # new in the seed
]


def write(path: Path, rows: list[FaqRow]) -> Path:
    """A seed file in content/faq.csv's format (with the id column)."""
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["id", "question", "alternatives", "answer", "tags"])
        for r in rows:
            out.writerow(
                [r.key, r.question, " | ".join(r.alternatives), r.answer, ";".join(r.tags)]
            )
    return path


def deployed(tmp_path: Path, legacy: bool = False) -> tuple[Store, FaqRepo, Path]:
    """A store seeded from V1, then edited by an admin; the seed file now holds V2."""
    seed = write(tmp_path / "faq.csv", V1)
    store = Store(tmp_path / "data")
    repo = FaqRepo(store, seed)
    if legacy:  # seeded by a version that kept no hashes: only the history knows V1
        for entry in repo.all():
            repo.mark_seeded(entry, "")
        history = {r.key: [row_hash(r)] for r in V1}
        (tmp_path / "faq_seed_history.json").write_text(json.dumps(history))
    hai, bon = repo.by_key("hai"), repo.by_key("bon")
    assert hai is not None and bon is not None
    hai.answer = "Dạ, câu trả lời của cán bộ tỉnh."
    bon.answer = "Dạ, cán bộ tỉnh viết lại câu bốn."
    repo.save(hai)
    repo.save(bon)
    ba = repo.by_key("ba")
    assert ba is not None
    repo.delete(ba.id)
    write(seed, V2)
    return store, repo, seed


def check_update(repo: FaqRepo, seed: Path) -> None:
    """Add "nam"; list "mot" (unedited) and "hai" (edited); keep the admin's text and deletion."""
    report = FaqSeed(repo, seed).update(now="2026-12-02")
    assert report.added == ["nam"]
    assert [(c.key, c.edited) for c in report.changed] == [("mot", False), ("hai", True)]
    assert repo.by_key("ba") is None  # deleted by the admin: not brought back
    assert repo.by_key("hai").answer == "Dạ, câu trả lời của cán bộ tỉnh."  # type: ignore[union-attr]
    assert repo.by_key("bon").answer == "Dạ, cán bộ tỉnh viết lại câu bốn."  # type: ignore[union-attr]
    assert repo.by_key("mot").answer == "Dạ, trả lời một."  # type: ignore[union-attr]  # not yet
    assert repo.match("Câu năm là gì").confident is not None  # answered at once

    assert FaqSeed(repo, seed).accept(["mot"], now="2026-12-02") == ["mot"]
    assert repo.by_key("mot").answer == "Dạ, trả lời một, đã sửa theo luật mới."  # type: ignore[union-attr]
    again = FaqSeed(repo, seed).update(now="2026-12-03")
    assert again.added == [] and [c.key for c in again.changed] == ["hai"]
    assert FaqSeed(repo, seed).accept(["hai", "khong-co"], now="") == ["hai"]
    assert FaqSeed(repo, seed).update(now="").changed == []


def test_update_adds_new_lists_changed_and_keeps_admin_edits(tmp_path: Path) -> None:
    store, repo, seed = deployed(tmp_path)
    with store:
        check_update(repo, seed)


def test_entries_seeded_before_hashes_were_kept_are_recognised(tmp_path: Path) -> None:
    store, repo, seed = deployed(tmp_path, legacy=True)
    with store:
        check_update(repo, seed)


def test_a_fresh_store_is_in_step_with_the_real_seed(tmp_path: Path) -> None:
    with Store(tmp_path / "data") as store:
        repo = FaqRepo(store, ROOT / "content" / "faq.csv")
        assert all(e.seed_hash for e in repo.all())
        report = FaqSeed(repo, ROOT / "content" / "faq.csv").update(now="")
        assert (report.added, report.changed, report.error) == ([], [], "")


def test_a_store_seeded_from_the_old_seed_gets_the_new_entries(tmp_path: Path) -> None:
    """The seed history knows every past version: what was deleted stays deleted."""
    commits = subprocess.run(
        ["git", "rev-list", "HEAD", "--", "content/faq.csv"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    old = b""
    if commits:  # the first seed ever shipped
        old = subprocess.run(
            ["git", "show", f"{commits[-1]}:content/faq.csv"], cwd=ROOT, capture_output=True
        ).stdout
    history = json.loads((ROOT / "content" / "faq_seed_history.json").read_text())
    assert len(history) >= 50
    if not old:  # not a git checkout: nothing older to compare with
        return
    seed = tmp_path / "old.csv"
    seed.write_bytes(old)
    with Store(tmp_path / "data") as store:
        repo = FaqRepo(store, seed)
        for entry in repo.all():
            repo.mark_seeded(entry, "")  # as an old version stored them
        report = FaqSeed(repo, ROOT / "content" / "faq.csv").update(now="")
        assert "bao-cao-lua-dao" in report.added
        assert any(c.key == "bot-ngon-ngu" and not c.edited for c in report.changed)


def test_the_running_bot_serves_update_and_accept_requests(tmp_path: Path) -> None:
    store, repo, _seed = deployed(tmp_path)
    with store:
        inbox = FaqInbox(tmp_path / "data")
        rid = inbox.submit_seed("update", [])
        assert inbox.process(repo, "2026-12-02") == 1
        result = inbox.wait(rid, 1)
        assert result is not None and result["added"] == ["nam"]
        assert result["changed"] == [
            {"key": "mot", "edited": False},
            {"key": "hai", "edited": True},
        ]
        assert seed_request(repo, "accept", ["all"], "")["accepted"] == ["mot", "hai"]


def test_command_line_update_and_accept(tmp_path: Path) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data")}

    def faq(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "faq", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    first = faq("update")  # a new store: seeded, so already in step
    assert first.returncode == 0 and "added 0, changed in the seed 0" in first.stdout
    assert faq("accept").returncode == 2  # keys are needed
    with Store(tmp_path / "data") as store:
        repo = FaqRepo(store, ROOT / "content" / "faq.csv")
        entry = repo.by_key("bot-ngon-ngu")
        assert entry is not None
        entry.answer = "Dạ, bản cũ."
        repo.mark_seeded(entry, "")
        repo.save(entry)
        history = json.loads((ROOT / "content" / "faq_seed_history.json").read_text())
        assert entry.key in history
    listed = faq("update")
    assert "changed   bot-ngon-ngu  EDITED BY AN ADMIN" in listed.stdout, listed.stdout
    accepted = faq("accept", "bot-ngon-ngu")
    assert "accepted 1: bot-ngon-ngu" in accepted.stdout
    assert "changed in the seed 0" in faq("update").stdout


async def test_console_update_and_accept(tmp_path: Path, clock: FakeClock) -> None:
    async with running(tmp_path / "data", clock) as server:
        repo = server.app.services.faq
        entry = repo.by_key("bot-ngon-ngu")
        assert entry is not None
        entry.answer = "Dạ, bản cũ chưa sửa."
        repo.save(entry)
        repo.mark_seeded(entry, "")  # as if seeded by an old version with this text
        admin(server.app)
        async with client() as http:
            await sign_in(http, server, "telegram:111")
            async with http.get(f"{server.base}/console/faq") as page:
                html = await page.text()
                assert 'action="/console/faq/seed"' in html
            csrf = csrf_of(html)
            async with http.post(f"{server.base}/console/faq/seed", data={"csrf": csrf}) as page:
                html = await page.text()
            assert "bot-ngon-ngu" in html and "Dạ, bản cũ chưa sửa." in html
            async with http.post(
                f"{server.base}/console/faq/seed/bot-ngon-ngu", data={"csrf": csrf}
            ) as page:
                assert page.status == 200
        assert repo.by_key("bot-ngon-ngu").answer != "Dạ, bản cũ chưa sửa."  # type: ignore[union-attr]
