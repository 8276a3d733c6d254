"""The command line (`python -m bot …`) run in the test's process."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.__main__ import main


def run_main(
    monkeypatch: pytest.MonkeyPatch, cwd: Path, data: Path, *args: str, database_url: str = ""
) -> int:
    """`python -m bot ARGS` with DATA_DIR=data and DATABASE_URL ('' for the embedded store)."""
    monkeypatch.chdir(cwd)  # no stray .env
    monkeypatch.setenv("DATA_DIR", str(data))
    monkeypatch.setenv("DATABASE_URL", database_url)
    return main(list(args))
