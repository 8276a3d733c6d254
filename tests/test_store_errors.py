"""Database errors as the logs and the command line show them."""

from __future__ import annotations

from bot.storage.errors import quiet


def test_a_database_error_is_shown_by_its_first_line_without_the_password() -> None:
    error = OSError(
        "connection to postgresql://nds:s3cr3t-pw@db-a:5432/nds failed\nDETAIL: more lines"
    )
    assert quiet(error) == "connection to postgresql://nds:***@db-a:5432/nds failed"
    assert "s3cr3t" not in quiet(OSError("postgres://u:s3cr3t@h/d refused"))


def test_an_error_without_a_message_is_shown_by_its_type() -> None:
    assert quiet(TimeoutError()) == "TimeoutError"
