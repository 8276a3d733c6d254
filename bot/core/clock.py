"""Time as the bot sees it; tests replace it to move time forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """Real time, in UTC."""

    def now(self) -> datetime:
        """The current moment (timezone-aware UTC)."""
        return datetime.now(UTC)


class FakeClock(Clock):
    """A clock a test sets and advances."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 26, 8, 0, tzinfo=UTC)

    def now(self) -> datetime:
        """The moment the test set."""
        return self._now

    def advance(self, **delta: float) -> None:
        """Move time forward, e.g. advance(hours=13)."""
        self._now += timedelta(**delta)
