"""The msgid helper: tests say which message a user saw, whatever its current wording."""

from __future__ import annotations

import pytest

from bot.core.fmt import fmt
from bot.i18n import _, use_locale
from tests.helpers.msgids import assert_said, said

TEMPLATE = "You have finished the lesson <b>{title}</b>."


def shown(msgid: str, lang: str = "vi", **values: str) -> str:
    with use_locale(lang):
        return fmt(_(msgid), **values)


def test_a_translated_message_is_found_by_its_msgid_in_either_language() -> None:
    for lang in ("vi", "en"):
        text = "Trước\n" + shown(TEMPLATE, lang, title="Bán trên Postmart") + "\nSau"
        assert said(text, TEMPLATE, lang)
        assert said(text, TEMPLATE, lang, title="Bán trên Postmart")
        assert not said(text, TEMPLATE, lang, title="Livestream")


def test_another_message_or_language_does_not_match() -> None:
    text = shown(TEMPLATE, title="A & <B>")
    assert said(text, TEMPLATE, title="A & <B>")  # values are compared as the user reads them
    assert not said(text, "✅ Correct!")
    assert not said(shown(TEMPLATE, "en", title="x"), TEMPLATE, "vi")


def test_an_unknown_msgid_fails_instead_of_passing_a_negative_check() -> None:
    with pytest.raises(AssertionError, match="not a msgid"):
        said("anything", "You have finishd the lesson")


def test_the_failure_shows_what_was_said() -> None:
    with pytest.raises(AssertionError, match="nothing like it"):
        assert_said("nothing like it", TEMPLATE)
