"""Fake chat-platform servers for offline tests."""

from tests.fakes.telegram_api import FakeTelegram

__all__ = ["FakeTelegram"]
