"""Errors the store raises; the engine turns them into a "could not save" reply."""


class StoreError(Exception):
    """The store could not do what was asked (disk full, permissions, damaged files)."""


class StoreDamaged(StoreError):
    """A file of the store has a bad record followed by good ones: `store repair` mends it."""


class StoreLocked(StoreError):
    """Another process already holds this DATA_DIR."""


class StoreConflict(StoreError):
    """Another process changed a document first, or a unique constraint refused a write."""
