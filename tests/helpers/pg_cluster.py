"""A throwaway PostgreSQL cluster for tests and benches, in a directory under /tmp.

The server refuses to run as root, so as root every PostgreSQL program runs as the `postgres`
system user (`runuser -u postgres --`) in a directory that user owns; pytest's temporary
directories are root-only and cannot hold it. Otherwise the programs run as the current user.
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType

import psycopg
from psycopg import sql

SEARCH = ("/usr/lib/postgresql/*/bin",)  # where Debian puts the server programs
SERVER_USER = "postgres"
_TIMEOUT = 120.0  # seconds for initdb, start and stop on a busy 2-core machine


class PgUnavailable(Exception):
    """PostgreSQL cannot be run here: programs missing, no server user, or it would not start."""


def find_bindir(search: Iterable[str] = SEARCH, path: str | None = None) -> Path | None:
    """The directory holding initdb and pg_ctl: the newest Debian version, else one on PATH."""
    found: list[tuple[tuple[int, ...], Path]] = []
    for pattern in search:
        for bindir in Path("/").glob(pattern.lstrip("/")):
            if _has_programs(bindir):
                version = tuple(int(n) for n in re.findall(r"\d+", bindir.parent.name))
                found.append((version, bindir))
    if found:
        return max(found)[1]
    pg_ctl = shutil.which("pg_ctl", path=path)
    if pg_ctl is not None and _has_programs(Path(pg_ctl).parent):
        return Path(pg_ctl).parent
    return None


def _has_programs(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _locale() -> str:
    """C.UTF-8 when the machine has it (lower() and upper() then know Vietnamese letters)."""
    try:
        names = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.split()
    except OSError:
        return "C"
    return "C.UTF-8" if {"C.utf8", "C.UTF-8"} & set(names) else "C"


def _states(pgid: int) -> list[str]:
    """The states (R, S, Z, ...) of the processes in a process group."""
    states = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid:
            states.append(fields[0])
    return states


def _alive(pgid: int) -> bool:
    """Whether any process of the group is still running (zombies are dead for our purposes)."""
    return any(state != "Z" for state in _states(pgid))


class PgCluster:
    """One PostgreSQL server on a free loopback port; `cleanup()` (also run at exit) removes it."""

    def __init__(self, bindir: Path | None = None, *, settings: Sequence[str] = ()) -> None:
        found = bindir or find_bindir()
        if found is None:
            raise PgUnavailable("PostgreSQL is not installed (no initdb/pg_ctl found)")
        self.bindir = found
        self._as_root = os.geteuid() == 0
        if self._as_root:
            try:
                self._user = pwd.getpwnam(SERVER_USER)
            except KeyError as e:
                raise PgUnavailable(f"running as root and there is no {SERVER_USER!r} user") from e
        self.settings = tuple(settings)
        self.base = Path(tempfile.mkdtemp(prefix="nds-pg-", dir="/tmp"))
        self.data = self.base / "data"
        self.log = self.data / "server.log"
        self.port = 0
        self._initialised = False
        atexit.register(self.cleanup)
        if self._as_root:
            os.chown(self.base, self._user.pw_uid, self._user.pw_gid)

    def __enter__(self) -> PgCluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    def _run(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / program), *args]
        if self._as_root:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        try:
            done = subprocess.run(
                command, cwd=self.base, capture_output=True, text=True, timeout=_TIMEOUT
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise PgUnavailable(f"{program} failed: {e}") from e
        if done.returncode != 0:
            raise PgUnavailable(f"{program} failed:\n{done.stdout}{done.stderr}{self._log_tail()}")
        return done

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return ""

    def _initdb(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            SERVER_USER,
            "-E",
            "UTF8",
            f"--locale={_locale()}",
            "--no-sync",
        )
        self._initialised = True

    def _options(self) -> str:
        settings = [
            "listen_addresses=127.0.0.1",
            "fsync=on",
            "synchronous_commit=on",
            "max_connections=200",
            "shared_buffers=32MB",
            *self.settings,
        ]
        return " ".join([f"-k {self.base}", f"-p {self.port}", *(f"-c {s}" for s in settings)])

    def start(self) -> None:
        """Start the server (initialising the cluster the first time); waits until it accepts."""
        if not self._initialised:
            self._initdb()
        if self.port:
            self._pg_ctl_start()
            return
        for attempt in range(3):  # the free port may be taken between choosing and binding it
            self.port = _free_port()
            try:
                self._pg_ctl_start()
                return
            except PgUnavailable:
                if attempt == 2:
                    raise

    def _pg_ctl_start(self) -> None:
        self._run(
            "pg_ctl",
            "-w",
            "-t",
            str(int(_TIMEOUT)),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            self._options(),
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `smart`, `fast` (roll back open transactions) or `immediate`."""
        if self.running:
            self._run(
                "pg_ctl", "-w", "-t", str(int(_TIMEOUT)), "-D", str(self.data), "-m", mode, "stop"
            )

    def restart(self, mode: str = "fast") -> None:
        """Stop and start again on the same port: clients see their connections drop."""
        self.stop(mode)
        self.start()

    def kill(self) -> None:
        """SIGKILL the postmaster and its backends, as a machine crash would; `start()` recovers."""
        pid = self.pid
        if pid is None:
            return
        try:
            os.killpg(pid, signal.SIGKILL)  # pg_ctl made the postmaster a process-group leader
        except ProcessLookupError:
            return
        deadline = time.monotonic() + _TIMEOUT
        while _alive(pid):
            if time.monotonic() > deadline:
                raise PgUnavailable(f"PostgreSQL processes of group {pid} outlived SIGKILL")
            time.sleep(0.05)
        deadline = time.monotonic() + 5
        while _states(pid) and time.monotonic() < deadline:
            time.sleep(0.05)  # zombies until reaped; the next server takes a zombie for alive
        if _states(pid):  # whoever adopted them does not reap: clear what a reboot would
            (self.data / "postmaster.pid").unlink(missing_ok=True)
            (self.base / f".s.PGSQL.{self.port}.lock").unlink(missing_ok=True)

    @property
    def pid(self) -> int | None:
        """The running postmaster's process id, or None."""
        try:
            first = (self.data / "postmaster.pid").read_text().split("\n", 1)[0]
        except OSError:
            return None
        pid = int(first) if first.strip().isdigit() else None
        return pid if pid is not None and _alive(pid) else None

    @property
    def running(self) -> bool:
        return self.pid is not None

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self) -> tuple[str, str]:
        """A fresh, uniquely named empty database: (name, url)."""
        name = f"nds_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name, self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting whoever is still connected to it."""
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def cleanup(self) -> None:
        """Stop the server at once and remove its directory; safe to call more than once."""
        atexit.unregister(self.cleanup)
        try:
            if self.running:
                self.stop("immediate")
        except PgUnavailable:
            self.kill()
        finally:
            shutil.rmtree(self.base, ignore_errors=True)
