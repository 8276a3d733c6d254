"""Errors the store raises; the engine turns them into a "could not save" reply."""

import re


class StoreError(Exception):
    """The store could not do what was asked (disk full, permissions, damaged files)."""


class StoreDamaged(StoreError):
    """A file of the store has a bad record followed by good ones: `store repair` mends it."""


class StoreLocked(StoreError):
    """Another process already holds this DATA_DIR."""


class StoreConflict(StoreError):
    """Another process changed a document first, or a unique constraint refused a write."""


def quiet(exc: BaseException) -> str:
    """An error's first line, without a database connection string's password (for logs and
    the messages of the errors above)."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return re.sub(r"(postgres(?:ql)?://[^:/@]+:)[^@]+@", r"\1***@", text)
