"""Files under DATA_DIR hold personal data and secrets: created 0600, in directories 0700.

Files are created with their mode (never chmod'ed after being written), so no other account
can read them even for a moment, whatever the process umask is.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path
from typing import IO, Any

FILE_MODE = 0o600
DIR_MODE = 0o700
UMASK = 0o077  # set by the entry point: belt and braces for files a library creates


def private_dir(path: Path) -> Path:
    """Create `path` and its missing parents with mode 0700; return it."""
    missing = []
    for parent in [path, *path.parents]:
        if parent.is_dir():
            break
        missing.append(parent)
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            os.mkdir(directory, DIR_MODE)
        os.chmod(directory, DIR_MODE)  # mkdir's mode is cut by the umask; never widened
    return path


def open_private(path: Path, mode: str = "wb", *, exclusive: bool = False) -> IO[Any]:
    """Open a file for writing ("wb", "ab", "w", "a"), creating it 0600."""
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    flags |= os.O_APPEND if mode.startswith("a") else os.O_TRUNC
    if exclusive:
        flags |= os.O_EXCL
    fd = os.open(path, flags, FILE_MODE)
    try:
        if "b" in mode:
            return os.fdopen(fd, mode)
        return os.fdopen(fd, mode, encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise


def write_private(path: Path, data: bytes, *, sync: bool = False) -> None:
    """Write `data` to `path` atomically (0600 temp file, rename); fsync first if `sync`."""
    private_dir(path.parent)
    # Unique across processes and machines: MEDIA_DIR may be one NFS share for several hosts.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open_private(tmp) as f:
            f.write(data)
            if sync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def tighten(root: Path) -> int:
    """Make every file under `root` 0600 and every directory 0700; return how many changed.

    For DATA_DIRs written by versions that created files with the default umask.
    """
    changed = 0
    if not root.is_dir():
        return 0
    for path in [root, *root.rglob("*")]:
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(info.st_mode):
            continue
        wanted = DIR_MODE if stat.S_ISDIR(info.st_mode) else FILE_MODE
        if stat.S_IMODE(info.st_mode) & ~wanted:
            with contextlib.suppress(FileNotFoundError):
                os.chmod(path, stat.S_IMODE(info.st_mode) & wanted)
                changed += 1
    return changed
