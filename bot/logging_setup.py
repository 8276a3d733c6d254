"""Logging for every command: one format, quiet HTTP clients, and no secret in any line.

Every handler gets `SecretFilter`, which rewrites a record before it is formatted: `/bot<token>`
paths (Telegram and Zalo Bot URLs, file downloads) and every secret value the bot knows
(settings, Zalo OA tokens renewed at run time) become `***`, in the message, its arguments,
the exception text and the formatted traceback.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import IO

from bot.config import Settings

MASKED = "***"
# Secrets with a recognisable frame, whatever their value: Telegram (digits:…) and Zalo Bot
# (letters:…) tokens in URL paths after "/bot"; one-time console sign-in links (PTB logs each
# sent message's text at DEBUG, and /console sends one); the console's session cookie.
_FRAMED = re.compile(
    r"(/bot)[A-Za-z0-9_-]+:[A-Za-z0-9_-]+|(/console/login/)[A-Za-z0-9_-]+|(ndc_session=)[^;\s]+"
)
# Shorter values cannot be real secrets; masking them would only garble the log.
_MIN_SECRET = 4
_HTTP_LOGGERS = ("httpx", "httpcore", "hpack")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class SecretMask:
    """The secret values to hide; new ones may be added at any time from any thread."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def add(self, *values: str) -> None:
        """Hide these values from now on (empty and very short ones are ignored)."""
        # The part of a bot token after "id:" is the secret; it is hidden on its own too.
        tails = [v.partition(":")[2] for v in values if ":" in v]
        new = {v for v in [*values, *tails] if len(v) >= _MIN_SECRET} - self._values
        if not new:
            return
        with self._lock:
            self._values |= new
            # Longest first, so a secret containing another is hidden whole.
            ordered = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    def clear(self) -> None:
        """Forget every value (tests)."""
        with self._lock:
            self._values = set()
            self._pattern = None

    def __call__(self, text: str) -> str:
        """`text` with bot-token paths and known secrets replaced by ***."""
        text = _FRAMED.sub(_keep_frame, text)
        pattern = self._pattern
        return pattern.sub(MASKED, text) if pattern is not None else text


def _keep_frame(match: re.Match[str]) -> str:
    return next(group for group in match.groups() if group) + MASKED


MASK = SecretMask()


class SecretFilter(logging.Filter):
    """Rewrites each record so no handler can write a secret; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the message, its arguments, the traceback and the stack of `record`."""
        if getattr(record, "_nds_masked", False):
            return True  # already done by another handler's filter
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging's own report would print the args
            message = f"{record.msg} (unformattable arguments: {record.args!r})"
        record.msg, record.args = MASK(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = _format_exception(record.exc_info)
        if record.exc_text:
            record.exc_text = MASK(record.exc_text)
        if record.stack_info:
            record.stack_info = MASK(record.stack_info)
        record._nds_masked = True
        return True


_FILTER = SecretFilter()


def _format_exception(
    exc_info: tuple[type[BaseException], BaseException, TracebackType | None]
    | tuple[None, None, None],
) -> str:
    text = "".join(traceback.format_exception(*exc_info))
    return text.removesuffix("\n")


def protect(handler: logging.Handler) -> logging.Handler:
    """Install the secret filter on a handler (once); return the handler."""
    if _FILTER not in handler.filters:
        handler.addFilter(_FILTER)
    return handler


def protect_all() -> None:
    """Install the filter on every handler of every logger that exists now."""
    loggers: Iterable[logging.Logger | logging.PlaceHolder] = [
        logging.getLogger(),
        *logging.Logger.manager.loggerDict.values(),
    ]
    for logger in loggers:
        if isinstance(logger, logging.Logger):
            for handler in logger.handlers:
                protect(handler)


def configure_logging(settings: Settings, stream: IO[str] | None = None) -> None:
    """Log at the configured level to `stream` (stderr), masking every secret in Settings."""
    MASK.add(*settings.secrets())
    logging.basicConfig(level=settings.log_level, format=FORMAT, stream=stream, force=False)
    if stream is not None and not _has_stream(stream):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter(FORMAT))
        logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(settings.log_level)
    # httpx logs every request URL at INFO: with the Bot API that is the token, once a second.
    for name in _HTTP_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    protect_all()
    sys.excepthook = _masked_excepthook
    threading.excepthook = _masked_thread_excepthook


def _has_stream(stream: IO[str]) -> bool:
    return any(
        isinstance(h, logging.StreamHandler) and h.stream is stream
        for h in logging.getLogger().handlers
    )


def _masked_excepthook(
    kind: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    """Print a crash's traceback as Python would, with the secrets masked."""
    sys.stderr.write(MASK("".join(traceback.format_exception(kind, exc, tb))))


def _masked_thread_excepthook(args: threading.ExceptHookArgs) -> None:
    """Print a thread's crash as Python would, with the secrets masked."""
    if args.exc_type is SystemExit or args.exc_value is None:
        return
    name = args.thread.name if args.thread is not None else "?"
    sys.stderr.write(f"Exception in thread {name}:\n")
    _masked_excepthook(args.exc_type, args.exc_value, args.exc_traceback)
