"""FAQ CSV import/export: round trip, idempotent re-import, bad rows and bad files."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from bot.faq_cli import run_faq
from bot.services.faq import FaqRepo
from bot.services.faq_csv import FaqCsvError, parse_csv, write_csv
from bot.services.faq_inbox import FaqInbox
from bot.storage.db import Store
from tests.helpers.driver import make_app, settings_for

SEED = Path(__file__).resolve().parent.parent / "content" / "faq.csv"


def test_export_import_round_trip(tmp_path: Path) -> None:
    with Store(tmp_path / "a") as store:
        source = FaqRepo(store, SEED)
        data = write_csv([e.row() for e in source.all()])
        before = [(e.question, e.answer, e.alternatives, e.tags) for e in source.all()]
    assert data.decode("utf-8-sig").splitlines()[0] == "question,answer,alternatives,tags"
    parsed = parse_csv(data)
    assert parsed.errors == []
    with Store(tmp_path / "b") as store:
        target = FaqRepo(store)  # no seed: an empty FAQ
        report = target.import_rows(parsed.rows, now="")
        assert (report.added, report.updated, report.unchanged) == (len(before), 0, 0)
        after = [(e.question, e.answer, e.alternatives, e.tags) for e in target.all()]
        assert after == before
        again = target.import_rows(parse_csv(data).rows, now="")
        assert (again.added, again.updated, again.unchanged) == (0, 0, len(before))
        assert len(target) == len(before)


def test_same_question_updates_the_entry(tmp_path: Path) -> None:
    with Store(tmp_path / "s") as store:
        repo = FaqRepo(store, SEED)
        count = len(repo)
        csv = (
            "question,answer,alternatives,tags\n"
            "SÀN POSTMART LÀ GÌ,Trả lời mới.,postmart la cua ai,a|b\n"
        )
        report = repo.import_rows(parse_csv(csv.encode()).rows, now="")
        assert (report.added, report.updated) == (0, 1)
        entry = repo.by_question("San Postmart la gi?")
        assert entry is not None and entry.answer == "Trả lời mới." and entry.tags == ["a", "b"]
        assert len(repo) == count


def test_bad_rows_are_reported_by_line_and_good_ones_imported() -> None:
    data = (
        "question,answer,alternatives,tags\n"
        "Hỏi một,Trả lời một,,\n"
        "Hỏi hai,,,\n"  # line 3: empty answer
        '"Hỏi\nba",Trả lời ba,,\n'  # a quoted line break: the next row starts on line 6
        "Hỏi bốn\n"  # line 6: too few columns
        "Hỏi năm,Trả lời,x,y,z\n"  # line 7: too many
        "hoi mot,Trùng,,\n"  # line 8: same question as line 2
    ).encode()
    parsed = parse_csv(data)
    assert [r.question for r in parsed.rows] == ["Hỏi một", "Hỏi\nba"]
    assert [e.split(":")[0] for e in parsed.errors] == ["line 3", "line 6", "line 7", "line 8"]
    assert "empty answer" in parsed.errors[0]
    assert "missing column(s) answer" in parsed.errors[1]
    assert "line 2" in parsed.errors[3]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"question,tags\nx,y\n", "line 1: missing column(s) answer"),
        (b"question,answer,colour\nx,y,z\n", "line 1: unknown column(s) colour"),
        ("question,answer\nHoi,Đáp\n".encode("cp1258"), "line 2: the file is not UTF-8"),
        (b"", "empty"),
    ],
)
def test_unusable_file_is_refused_whole(data: bytes, message: str) -> None:
    with pytest.raises(FaqCsvError, match=re.escape(message)):
        parse_csv(data)


def test_cli_import_refuses_a_bad_file_and_imports_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(tmp_path / "data")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"question,tags\nHoi,x\n")
    assert run_faq(settings, "import", bad) == 2
    assert "missing column(s) answer" in capsys.readouterr().err
    out = tmp_path / "out.csv"
    assert run_faq(settings, "export", out) == 0
    good = tmp_path / "good.csv"
    good.write_bytes(out.read_bytes() + "Câu mới?,Đáp mới,,\n".encode())
    assert run_faq(settings, "import", good) == 0
    assert "added 1, updated 0" in capsys.readouterr().out
    assert run_faq(settings, "import", good) == 0
    assert "added 0, updated 0" in capsys.readouterr().out


async def test_running_bot_applies_import_from_the_inbox(tmp_path: Path) -> None:
    app = make_app(tmp_path / "data")
    try:
        inbox = FaqInbox(tmp_path / "data")
        csv = 'question,answer\nNuôi ong lấy mật thế nào?,"Dạ, bà con hỏi trạm khuyến nông."\n'
        rid = inbox.submit_import(csv.encode())
        assert inbox.process(app.services.faq, now="") == 1
        result = inbox.wait(rid, timeout=1)
        assert result is not None and result["ok"] and "added 1" in result["summary"]
        hit = app.services.faq.match("nuoi ong lay mat the nao").confident
        assert hit is not None
        assert app.services.faq.get(hit.entry_id).answer.startswith("Dạ, bà con hỏi")  # type: ignore[union-attr]
        rid = inbox.submit_export()
        inbox.process(app.services.faq, now="")
        assert inbox.wait(rid, timeout=1) is not None
        assert "Nuôi ong" in inbox.output(rid).read_text(encoding="utf-8-sig")
    finally:
        await app.stop()


TRICKY = (
    "question,answer,alternatives,tags\r\n"
    "Số hotline?,'+84 912 345 678 là số của tổ,'-so hotline | sdt,'=tag | b\r\n"
    '\'-Trừ phí thế nào?,"- 5% phí sàn\n- 2% phí vận chuyển",x,\r\n'
    "Công thức?,'=SUM(A1:A3) không chạy được,,\r\n"
    "Thư?,'@nongdanso trên Zalo,,\r\n"
    "Dấu nháy?,''=đã có dấu nháy,,\r\n"
    "Trích dẫn?,'chỉ là trích dẫn,,\r\n"
)


def test_formula_like_cells_are_defused_on_export_and_restored_on_import(
    tmp_path: Path,
) -> None:
    parsed = parse_csv(TRICKY.encode())
    assert parsed.errors == []
    by_question = {r.question: r for r in parsed.rows}
    assert by_question["Số hotline?"].answer == "+84 912 345 678 là số của tổ"
    assert by_question["Số hotline?"].alternatives == ["-so hotline", "sdt"]
    assert by_question["Số hotline?"].tags == ["=tag", "b"]
    assert "-Trừ phí thế nào?" in by_question
    assert by_question["Công thức?"].answer.startswith("=SUM")
    assert by_question["Dấu nháy?"].answer == "'=đã có dấu nháy"
    assert by_question["Trích dẫn?"].answer == "'chỉ là trích dẫn"  # not a defused formula
    with Store(tmp_path / "a") as store:
        repo = FaqRepo(store)
        repo.import_rows(parsed.rows, now="")
        exported = write_csv([e.row() for e in repo.all()])
    rows = csv.reader(io.StringIO(exported.decode("utf-8-sig"), newline=""))
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], cells
    assert "'- 5% phí sàn" in exported.decode("utf-8-sig")
    with Store(tmp_path / "b") as store:
        repo = FaqRepo(store)
        repo.import_rows(parse_csv(exported).rows, now="")
        again = write_csv([e.row() for e in repo.all()])
    assert again == exported
