"""Failure injection: scripted errors, blocked chats and rate limits."""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

# Methods that put a message into a chat, which is what Telegram's flood limits count.
_COUNTED_EXCEPTIONS = {"sendChatAction"}
_COUNTED_EXTRA = {"copyMessage", "copyMessages", "forwardMessage", "forwardMessages"}


class ApiError(Exception):
    """A Bot API error answer; `violation` marks errors caused by a broken call."""

    def __init__(
        self,
        code: int,
        description: str,
        *,
        violation: bool = True,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.violation = violation
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        """Return the JSON body Telegram answers with."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(description: str) -> ApiError:
    """Return a 400 error with Telegram's "Bad Request: " prefix."""
    return ApiError(400, f"Bad Request: {description}")


def counts_as_message(method: str) -> bool:
    """Tell whether a call counts against Telegram's message flood limits."""
    return (method.startswith("send") and method not in _COUNTED_EXCEPTIONS) or (
        method in _COUNTED_EXTRA
    )


_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: injected failure",
    403: "Forbidden: bot was blocked by the user",
    409: "Conflict: terminated by other getUpdates request",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


@dataclass
class _Scripted:
    """One scripted failure waiting for its method."""

    method: str
    error: ApiError
    times: int


class _Window:
    """A sliding-window rate counter: at most `rate` events per second."""

    def __init__(self, rate: float) -> None:
        # Rates below 1/s become one event per 1/rate seconds.
        self.span = max(1.0, 1.0 / rate)
        self.capacity = max(1, math.floor(rate * self.span))
        self.events: deque[float] = deque()

    def wait_needed(self, now: float) -> float:
        """Return 0 if one more event fits now, else the seconds until it would."""
        while self.events and now - self.events[0] >= self.span:
            self.events.popleft()
        if len(self.events) < self.capacity:
            return 0.0
        return self.span - (now - self.events[0])


class Gates:
    """Decides whether a call fails before it reaches the fake's method implementations."""

    def __init__(self) -> None:
        self.scripted: list[_Scripted] = []
        self.blocked: set[int] = set()
        self.throttled = 0
        self._global: _Window | None = None
        self._per_chat_rate: float | None = None
        self._per_chat: dict[int, _Window] = {}

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        retry_after: int | None,
        description: str | None,
        times: int,
    ) -> None:
        """Make the next `times` calls of `method` fail with the given error."""
        if description is None:
            if error_code == 429:
                description = f"Too Many Requests: retry after {retry_after or 1}"
            else:
                description = _DEFAULT_DESCRIPTIONS.get(error_code, f"Error {error_code}")
        error = ApiError(
            error_code,
            description,
            violation=False,
            retry_after=retry_after if error_code == 429 else None,
        )
        self.scripted.append(_Scripted(method.lower(), error, times))

    def limit_rate(self, per_second: float, per_chat_per_second: float | None) -> None:
        """Answer 429 to message sends beyond these rates."""
        self._global = _Window(per_second)
        self._per_chat_rate = per_chat_per_second
        self._per_chat = {}

    def check(self, method: str, params: dict[str, Any]) -> ApiError | None:
        """Return the error this call must get, if any, and count it against the limits."""
        for scripted in self.scripted:
            if scripted.method == method.lower() and scripted.times > 0:
                scripted.times -= 1
                return scripted.error
        chat_id = params.get("chat_id")
        if isinstance(chat_id, int) and chat_id in self.blocked:
            return ApiError(403, "Forbidden: bot was blocked by the user", violation=False)
        if counts_as_message(method):
            return self._rate(chat_id if isinstance(chat_id, int) else None)
        return None

    def _rate(self, chat_id: int | None) -> ApiError | None:
        """Apply the configured flood limits to one message send."""
        now = time.monotonic()
        windows = [self._global] if self._global else []
        if self._per_chat_rate and chat_id is not None:
            windows.append(self._per_chat.setdefault(chat_id, _Window(self._per_chat_rate)))
        wait = max((w.wait_needed(now) for w in windows if w), default=0.0)
        if wait > 0:
            self.throttled += 1
            seconds = max(1, math.ceil(wait))
            return ApiError(
                429,
                f"Too Many Requests: retry after {seconds}",
                violation=False,
                retry_after=seconds,
            )
        for window in windows:
            if window:
                window.events.append(now)
        return None
