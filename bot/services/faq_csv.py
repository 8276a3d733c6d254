"""FAQ entries as CSV: read a file admins edited (reporting each bad row), write one to edit.

The exchange format is UTF-8 with the header `question,answer,alternatives,tags`
(alternatives and tags separated by `|`; `;` is accepted between tags, and an optional `id`
column names the entry, as in content/faq.csv). Column order does not matter.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from bot.csv_cells import defuse, restore
from bot.text import fold

EXPORT_COLUMNS = ("question", "answer", "alternatives", "tags")
REQUIRED = ("question", "answer")
KNOWN = frozenset({*EXPORT_COLUMNS, "id"})
MAX_QUESTION = 300
MAX_ANSWER = 3500  # leaves room under Telegram's 4096 for the buttons' text around it


class FaqCsvError(ValueError):
    """The file as a whole cannot be read (encoding, header); nothing was imported."""


@dataclass
class FaqRow:
    """One entry as read from a file."""

    question: str
    answer: str
    alternatives: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    key: str = ""  # the `id` column, if the file has one
    line: int = 0


@dataclass
class ParsedCsv:
    """Good rows, and one message per bad row ("line 7: empty answer")."""

    rows: list[FaqRow]
    errors: list[str]


def question_key(question: str) -> str:
    """What makes two questions "the same question": folded text, punctuation ignored."""
    return fold(question)


def split_list(value: str, seps: str = "|") -> list[str]:
    """Items of a `|`-separated cell, trimmed, empty ones dropped."""
    for sep in seps[1:]:
        value = value.replace(sep, seps[0])
    return [item.strip() for item in value.split(seps[0]) if item.strip()]


def parse_csv(data: bytes) -> ParsedCsv:
    """Read FAQ rows from CSV bytes; raise FaqCsvError when the file itself is unusable."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FaqCsvError(
            f"line {line}: the file is not UTF-8 text (save it as 'CSV UTF-8')"
        ) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise FaqCsvError("the file is empty") from None
    except csv.Error as exc:
        raise FaqCsvError(f"line 1: {exc}") from exc
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise FaqCsvError(
            f"line 1: missing column(s) {', '.join(missing)}; "
            f"the header must be {','.join(EXPORT_COLUMNS)}"
        )
    unknown = [h for h in header if h not in KNOWN]
    if unknown:
        raise FaqCsvError(f"line 1: unknown column(s) {', '.join(unknown)}")
    rows: list[FaqRow] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(f"line {line}: {exc}")
            break
        row_line, line = line, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        row, problem = _row(header, cells, row_line)
        if row is not None and question_key(row.question) in seen:
            first = seen[question_key(row.question)]
            problem = f"the same question as line {first}"
        if problem or row is None:
            errors.append(f"line {row_line}: {problem}")
            continue
        seen[question_key(row.question)] = row_line
        rows.append(row)
    return ParsedCsv(rows, errors)


def _row(header: list[str], cells: list[str], line: int) -> tuple[FaqRow | None, str]:
    """One row, or why it is not usable."""
    if len(cells) < len(header):
        absent = ", ".join(header[len(cells) :])
        return None, f"missing column(s) {absent}"
    if len(cells) > len(header):
        return None, f"{len(cells)} columns but the header has {len(header)} (unquoted comma?)"
    # Cells an export defused against spreadsheet formulas come back as they were.
    values = {h: restore(c.strip()) for h, c in zip(header, cells, strict=True)}
    if not values["question"]:
        return None, "empty question"
    if not values["answer"]:
        return None, "empty answer"
    if len(values["question"]) > MAX_QUESTION:
        return None, f"question longer than {MAX_QUESTION} characters"
    if len(values["answer"]) > MAX_ANSWER:
        return None, f"answer longer than {MAX_ANSWER} characters"
    row = FaqRow(
        question=values["question"],
        answer=values["answer"],
        alternatives=split_list(values.get("alternatives", "")),
        tags=split_list(values.get("tags", ""), "|;"),
        key=values.get("id", ""),
        line=line,
    )
    return row, ""


def read_csv(path: Path) -> ParsedCsv:
    """Parse a CSV file from disk."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FaqCsvError(f"cannot read {path}: {exc.strerror}") from exc
    return parse_csv(data)


def write_csv(rows: list[FaqRow]) -> bytes:
    """The exchange format for these rows, UTF-8 (with BOM, so spreadsheet apps read it)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        cells = [row.question, row.answer, " | ".join(row.alternatives), " | ".join(row.tags)]
        writer.writerow([defuse(cell) for cell in cells])
    return out.getvalue().encode("utf-8-sig")
