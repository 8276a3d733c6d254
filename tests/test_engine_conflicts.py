"""An update refused by the store because another process wrote first is handled again."""

from __future__ import annotations

import pytest

from bot.app import BotApp
from bot.core.engine import CONFLICT_ATTEMPTS
from bot.storage.errors import StoreConflict
from tests.helpers.driver import Chat
from tests.helpers.msgids import WELCOME, assert_said, said

UNSAVED = "Sorry, I could not save that just now. Please try again in a moment."


def refuse_commits(app: BotApp, monkeypatch: pytest.MonkeyPatch, times: int) -> list[int]:
    """Make the next `times` end-of-update commits conflict; returns the ones tried."""
    tried: list[int] = []
    flush = app.store.flush

    async def conflicting(*, ends_turn: bool = False) -> None:
        if ends_turn:
            tried.append(len(tried))
            if len(tried) <= times:
                raise StoreConflict("another process changed the same data first")
        await flush(ends_turn=ends_turn)

    monkeypatch.setattr(app.store, "flush", conflicting)
    return tried


async def test_an_update_that_conflicts_is_handled_again(
    app: BotApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = Chat(app)
    tried = refuse_commits(app, monkeypatch, CONFLICT_ATTEMPTS - 1)
    text = "\n".join(r.text for r in await chat.say("/start"))
    assert len(tried) == CONFLICT_ATTEMPTS
    assert_said(text, WELCOME)
    assert not said(text, UNSAVED)


async def test_an_update_that_keeps_conflicting_is_told_unsaved(
    app: BotApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = Chat(app)
    refuse_commits(app, monkeypatch, CONFLICT_ATTEMPTS)
    text = "\n".join(r.text for r in await chat.say("/start"))
    assert_said(text, UNSAVED)
    assert not said(text, WELCOME)
