"""Scale: the conversation workload on the embedded store, and on PostgreSQL with 1 and 2 processes.

Every configuration is real `python -m bot` server processes on loopback, fed through the web
chat's HTTP API (one request per update, the replies in its answer: the cheapest client, which
shares the machine's cores with the bot and the database):

  embedded   one process, the embedded store in a fresh DATA_DIR
  pg-1       one process on a fresh PostgreSQL database
  pg-2       two processes on one fresh database; each user's updates alternate between them
             (a round-robin load balancer, done by the client: no proxy burning CPU)

Many users at once register, put a listing on sale, browse and search the market and ask an FAQ
question (bench/conversation.py's script, typed where Telegram shares a contact, then the
browsing steps). The bench starts its own throwaway PostgreSQL cluster (fsync on, as the
embedded store fsyncs each update). Per configuration: updates/s, reply time (median, p95), CPU
seconds of the bot process(es) and of PostgreSQL per update, database statements per update
(each one a round trip; counted by pg_stat_statements when the server has it), the most
people's turns (their locks in the database) held at once (many: users are not served one at a
time behind one lock), and whether all went right: every update answered, no error or "earlier
message" reply, every listing and registration saved once. Prints a table and ends with one
JSON line. About two minutes.

    .venv/bin/python bench/scale.py [--seconds 20] [--concurrency 32] [--rounds 1]
        [--configs embedded,pg-1,pg-2] [--socket] [--pg-setting commit_delay=100 ...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import psycopg  # noqa: E402

from bench.conversation import SCRIPT, Step, median_round, percentile  # noqa: E402
from bot.core.engine import SORRY  # noqa: E402
from bot.core.fmt import to_plain  # noqa: E402
from bot.storage import open_store  # noqa: E402
from bot.web.chat import COOKIE  # noqa: E402
from bot.web.chat_session import SessionIds, load_secret  # noqa: E402
from tests.helpers.msgids import MAIN_MENU, said  # noqa: E402
from tests.helpers.pg_cluster import SERVER_USER, PgCluster, PgUnavailable, find_bindir  # noqa: E402

# After the listing: the menu, the market (everything, then a search), back, an FAQ question.
BROWSE_AND_ASK: list[Step] = [
    ("tap", "sys:menu"),
    ("tap", "buy"),
    ("tap", "f:all"),
    ("text", "na chi lang"),
    ("tap", "r:back"),
    ("text", "lam sao de ban na tren mang"),
]
FAQ_QUESTION = "Tôi muốn bán nông sản trên mạng thì bắt đầu từ đâu?"  # content/faq.csv
POSTED = "Posted! Buyers can now find <b>{name}</b>. Share it to sell faster:"
WRONG = (  # replies that mean an update was mishandled
    SORRY,
    "Sorry, I could not save that just now. Please try again in a moment.",
    "That button is from an earlier message. Please answer this question:",
)
PHONE = "0912345678"
START_TIMEOUT = 60.0  # seconds for a bot process to answer /healthz on a busy machine
CONFIGS = (("embedded", False, 1), ("pg-1", True, 1), ("pg-2", True, 2))


def web_script() -> list[Step]:
    """The conversation script as a web chat user goes through it (the phone is typed)."""
    return [("text", PHONE) if kind == "contact" else (kind, v) for kind, v in SCRIPT] + list(
        BROWSE_AND_ASK
    )


# --- processes and their CPU ----------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """CPU time of a process (user + system); with children, its reaped children's too."""
    try:
        fields = _stat(pid)
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / _TICK


def tree_cpu_seconds(root: int) -> float:
    """CPU time of a process, its exited children and its live children (PostgreSQL's)."""
    total = cpu_seconds(root, children=True)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(_stat(int(stat.parent.name))[1]) == root:
                total += cpu_seconds(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return total


def _die_with_parent() -> None:
    """In a bot process before it runs: end it (SIGTERM) when the bench dies, however it dies."""
    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


_PR_SET_PDEATHSIG = 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Bots:
    """`python -m bot` server processes sharing one DATA_DIR (and database, if any)."""

    data_dir: Path
    database_url: str
    count: int
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def env(self, port: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZALO_"))}
        env.update(
            DATA_DIR=str(self.data_dir),
            DATABASE_URL=self.database_url,
            WEB_HOST="127.0.0.1",
            WEB_PORT=str(port),
            LOG_LEVEL="WARNING",
            # Many users from one address, fast: the bench is not a flood.
            WEBCHAT_SESSION_MESSAGES_PER_MINUTE="100000",
            WEBCHAT_ADDRESS_MESSAGES_PER_MINUTE="10000000",
            WEBCHAT_ANONYMOUS_MESSAGES_PER_MINUTE="10000000",
        )
        return env

    async def start(self, session: aiohttp.ClientSession) -> None:
        load_secret(self.data_dir)  # one session key for every process, made before they start
        for _ in range(self.count):
            port = _free_port()
            self.logs.append(self.data_dir.parent / f"bot-{port}.log")
            with self.logs[-1].open("wb") as log:
                self.procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "bot", "run"],
                        cwd=self.data_dir.parent,  # no stray .env
                        env=self.env(port),
                        stdout=subprocess.DEVNULL,
                        stderr=log,
                        preexec_fn=_die_with_parent,
                    )
                )
            self.urls.append(f"http://127.0.0.1:{port}")
        for proc, url, log in zip(self.procs, self.urls, self.logs, strict=True):
            await _wait_healthy(session, proc, url, log)

    def cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.procs)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def _wait_healthy(
    session: aiohttp.ClientSession, proc: subprocess.Popen[bytes], url: str, log: Path
) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the bot at {url} exited with {proc.returncode}:\n{tail}")
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(f"{url}/healthz") as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"the bot at {url} did not answer /healthz in {START_TIMEOUT:.0f} s")


# --- the simulated users -----------------------------------------------------------------------


@dataclass
class Transcript:
    """What one user was told: the replies' HTML to each step, in order."""

    replies: list[list[str]] = field(default_factory=list)


@dataclass
class Users:
    """Simulated web chat users: each goes through the script, one update at a time.

    `concurrency` users talk at once; each starts a new user when done, until the run ends
    (users stop between two steps then). Step n of user i goes to process (i + n) mod
    len(urls): each user's updates alternate between the processes.
    """

    session: aiohttp.ClientSession
    urls: list[str]
    sessions: SessionIds
    script: list[Step]
    concurrency: int
    transcripts: list[Transcript] = field(default_factory=list)
    answered: list[tuple[float, float]] = field(default_factory=list)  # (when, reply time)
    end: float = 0.0

    async def run(
        self, warmup: float, seconds: float, mark: Callable[[str], Awaitable[None]]
    ) -> Window:
        """Talk for warmup + seconds; `mark("start")`/`mark("end")` bound the measured part."""
        began = time.perf_counter()
        self.end = began + warmup + seconds
        talking = [asyncio.create_task(self._talk()) for _ in range(self.concurrency)]
        await asyncio.sleep(warmup)
        await mark("start")
        start = time.perf_counter()
        await asyncio.sleep(max(0.0, self.end - start))
        await mark("end")
        await asyncio.gather(*talking)
        inside = [lat for when, lat in self.answered if start <= when <= self.end]
        after = sum(1 for when, _lat in self.answered if when >= start)
        return Window(self.end - start, inside, after)

    async def _talk(self) -> None:
        while time.perf_counter() < self.end:
            index = len(self.transcripts)
            self.transcripts.append(Transcript())
            await self._one(index)

    async def _one(self, index: int) -> None:
        headers = {"Cookie": f"{COOKIE}={self.sessions.issue()[1]}"}
        for n, (kind, value) in enumerate(self.script):
            if time.perf_counter() >= self.end:
                return
            body: dict[str, str] = {"name": "Lan", "id": f"u{index}s{n}"}
            body["text" if kind == "text" else "payload"] = value
            url = self.urls[(index + n) % len(self.urls)] + "/chat/api/send"
            started = time.perf_counter()
            async with self.session.post(url, json=body, headers=headers) as response:
                data = await response.json()
            now = time.perf_counter()
            self.answered.append((now, now - started))
            self.transcripts[index].replies.append([r["html"] for r in data.get("replies", [])])


@dataclass
class Window:
    """The measured part: its length, the reply time of each update answered in it, and how
    many updates were answered from its start on (those of users finishing a step after)."""

    seconds: float
    latencies: list[float]
    since_start: int


def problems(transcripts: list[Transcript], script: list[Step]) -> list[str]:
    """Whatever a user was not told that they should have been (an empty list: all correct).

    Users stopped by the end of the run are checked as far as they got.
    """
    consent = script.index(("tap", "consent:yes"))
    posted = script.index(("tap", "lf:ok"))
    asked = len(script) - 1
    found: list[str] = []
    for user, transcript in enumerate(transcripts):
        texts = ["\n".join(to_plain(h) for h in step) for step in transcript.replies]
        for n, text in enumerate(texts):
            if not text:
                found.append(f"user {user} step {n} {script[n]}: no reply")
            for msgid in WRONG:
                if said(text, msgid):
                    found.append(f"user {user} step {n} {script[n]}: {msgid!r}")
        if len(texts) > consent and not said(texts[consent], MAIN_MENU):
            found.append(f"user {user}: no main menu after registering")
        if len(texts) > posted and not said(texts[posted], POSTED):
            found.append(f"user {user}: the listing was not posted")
        if len(texts) > asked and FAQ_QUESTION not in texts[asked]:
            found.append(f"user {user}: the FAQ question was not answered")
    return found


def reached(transcripts: list[Transcript], script: list[Step], step: Step) -> int:
    """How many users were answered at this step of the script."""
    n = script.index(step)
    return sum(1 for t in transcripts if len(t.replies) > n)


# --- one configuration -----------------------------------------------------------------------


@dataclass
class Database:
    """The bench's PostgreSQL: a fresh database per configuration, its statements and CPU."""

    cluster: PgCluster
    counts_statements: bool
    socket: bool = False  # the bots reach the server through its Unix socket, not TCP

    def fresh(self) -> str:
        name, url = self.cluster.create_database()
        if self.counts_statements:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION pg_stat_statements")
        if self.socket:
            url = f"postgresql://{SERVER_USER}@/{name}?host={self.cluster.base}&port={self.cluster.port}"
        return url

    def statements(self, url: str, *, reset: bool = False) -> int:
        """Statements the database ran (each one a round trip from the bot) since the reset."""
        if not self.counts_statements:
            return 0
        with psycopg.connect(url, autocommit=True) as conn:
            if reset:
                conn.execute("SELECT pg_stat_statements_reset()")
                return 0
            row = conn.execute(
                "SELECT sum(calls) FROM pg_stat_statements s JOIN pg_database d"
                " ON d.oid = s.dbid WHERE d.datname = current_database()"
            ).fetchone()
        return int(row[0] or 0) if row else 0

    def cpu(self) -> float:
        pid = self.cluster.pid
        return tree_cpu_seconds(pid) if pid is not None else 0.0


async def run_config(
    args: argparse.Namespace, name: str, db: Database | None, processes: int, work: Path, n: int
) -> dict[str, Any]:
    """Start the configuration's processes on a fresh store, warm them up, measure, check."""
    data_dir = work / f"{name}-{n}" / "data"
    data_dir.mkdir(parents=True)
    url = db.fresh() if db is not None else ""
    bots = Bots(data_dir, url, processes)
    script = web_script()
    key = load_secret(data_dir)  # the bot processes sign with it too (see Bots.start)
    sessions = SessionIds(lambda: key, lambda _key: False)
    cpu: dict[str, float] = {}
    statements: list[int] = []

    turns: list[asyncio.Task[int]] = []

    async def mark(when: str) -> None:
        cpu[f"bots_{when}"] = bots.cpu()
        cpu[f"pg_{when}"] = db.cpu() if db is not None else 0.0
        cpu[f"client_{when}"] = time.process_time()
        if db is not None:  # (reset at the start: the count is of the window's statements)
            statements.append(await asyncio.to_thread(db.statements, url, reset=when == "start"))
            if when == "start":
                turns.append(asyncio.create_task(most_turns_at_once(url, args.seconds)))

    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0),
        timeout=aiohttp.ClientTimeout(total=120),
        cookie_jar=aiohttp.DummyCookieJar(),
    ) as session:
        opened = time.perf_counter()
        try:
            await bots.start(session)
            open_s = time.perf_counter() - opened
            users = Users(session, bots.urls, sessions, script, args.concurrency)
            window = await users.run(args.warmup, args.seconds, mark)
        finally:
            bots.stop()  # its database statistics are flushed when its connections close
    found = problems(users.transcripts, script)
    listings, registered = _count(data_dir, url)
    posted = reached(users.transcripts, script, ("tap", "lf:ok"))
    if listings != posted:
        found.append(f"{listings} listings saved, {posted} users told theirs was posted")
    signed_up = reached(users.transcripts, script, ("tap", "consent:yes"))
    if registered != signed_up:
        found.append(f"{registered} users registered, {signed_up} told they were")
    updates = len(window.latencies)

    def per_update(what: str) -> float:
        return round((cpu[f"{what}_end"] - cpu[f"{what}_start"]) / updates * 1000, 2)

    result: dict[str, Any] = {
        "updates": updates,
        "users": len(users.transcripts),
        "updates_per_s": round(updates / window.seconds, 1),
        "p50_ms": round(percentile(window.latencies, 50) * 1000, 1),
        "p95_ms": round(percentile(window.latencies, 95) * 1000, 1),
        "bot_cpu_ms_per_update": per_update("bots"),
        "pg_cpu_ms_per_update": per_update("pg"),
        "client_cpu_ms_per_update": per_update("client"),
        "open_s": round(open_s, 2),
        "problems": len(found),
    }
    if db is not None and db.counts_statements:
        result["db_statements_per_update"] = round(statements[-1] / updates, 2)
    if turns:
        result["turns_at_once_max"] = await turns[0]
    for line in found[:5]:
        print(f"    PROBLEM {name}: {line}", flush=True)
    return result


async def most_turns_at_once(url: str, seconds: float) -> int:
    """The most people's turns held at once (their advisory locks), sampled for `seconds`:
    turns of different people go on side by side, not one at a time behind one lock."""
    most = 0
    end = time.perf_counter() + seconds
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        while time.perf_counter() < end:
            cur = await conn.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
                " WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()"
            )
            row = await cur.fetchone()
            most = max(most, int(row[0]) if row else 0)
            await asyncio.sleep(0.25)
    return most


def _count(data_dir: Path, url: str) -> tuple[int, int]:
    """Listings and registered users in the store the configuration left behind."""
    store = open_store(data_dir, url)
    try:
        listings = len(store.table("listings"))
        registered = sum(1 for doc in store.table("users") if doc.get("registered"))
    finally:
        store.close()
    return listings, registered


# --- the run ---------------------------------------------------------------------------------


STATEMENTS = "pg_stat_statements"  # counts the statements run (contrib, in Debian's server)


def _counts_statements() -> bool:
    """Whether the server installed here has pg_stat_statements (Debian's layout)."""
    bindir = find_bindir()
    if bindir is None:
        return False
    share = Path("/usr/share/postgresql") / bindir.parent.name / "extension"
    return (share / f"{STATEMENTS}.control").is_file()


@contextlib.contextmanager
def postgres(settings: list[str], socket: bool) -> Iterator[Database | None]:
    """A throwaway cluster for the run, or None when PostgreSQL is not installed here."""
    counts = _counts_statements()
    try:
        preload = [f"shared_preload_libraries={STATEMENTS}"] if counts else []
        cluster = PgCluster(settings=preload + settings)
        cluster.start()
    except PgUnavailable as exc:
        print(f"PostgreSQL unavailable ({exc}); measuring the embedded store only", flush=True)
        yield None
        return
    try:
        yield Database(cluster, counts, socket)
    finally:
        cluster.cleanup()


async def run(args: argparse.Namespace, work: Path, db: Database | None) -> dict[str, Any]:
    """Rounds over every configuration in turn (the machine's ups and downs spread over all)."""
    rounds: dict[str, list[dict[str, Any]]] = {}
    for n in range(args.rounds):
        for name, on_pg, processes in CONFIGS:
            if (on_pg and db is None) or name not in args.configs:
                continue
            result = await run_config(args, name, db if on_pg else None, processes, work, n)
            rounds.setdefault(name, []).append(result)
            print(
                f"  round {n + 1} {name:8}: {result['updates_per_s']:>6} updates/s"
                f"   p95 {result['p95_ms']} ms   bot CPU {result['bot_cpu_ms_per_update']}"
                f" ms/update   problems {result['problems']}",
                flush=True,
            )
    out: dict[str, Any] = {}
    for name, results in rounds.items():
        out[name] = median_round(results)
        out[name]["problems"] = sum(r["problems"] for r in results)
        out[name]["per_round_updates_per_s"] = [r["updates_per_s"] for r in results]
    return out


def machine() -> dict[str, Any]:
    """The machine the figures were measured on."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        memory = int(Path("/proc/meminfo").read_text().split()[1]) // (1024 * 1024)
    version = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        bindir = find_bindir()
        if bindir is not None:
            done = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True)
            version = done.stdout.decode().strip()
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "memory_gb": memory,
        "python": sys.version.split()[0],
        "postgres": version,
        "load_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    """Run every configuration, print the table and one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--seconds", type=float, default=20, help="measured, per configuration")
    parser.add_argument("--warmup", type=float, default=3, help="seconds before measuring")
    parser.add_argument("--concurrency", type=int, default=32, help="users talking at once")
    parser.add_argument("--rounds", type=int, default=1, help="rounds over every configuration")
    parser.add_argument(
        "--configs",
        type=lambda text: text.split(","),
        default=[c[0] for c in CONFIGS],
        help="which configurations (default: %(default)s)",
    )
    parser.add_argument(
        "--socket", action="store_true", help="the bots use the server's Unix socket, not TCP"
    )
    parser.add_argument(
        "--pg-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a server setting for the bench's cluster (repeatable), e.g. commit_delay=100",
    )
    args = parser.parse_args()
    # A stopped bench stops its bot processes and removes its database cluster and files.
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(143))
    began = time.perf_counter()
    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="nds-scale-"))
    try:
        with postgres(args.pg_setting, args.socket) as db:
            result = asyncio.run(run(args, work, db))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    host = machine()
    steps = len(web_script())
    print(
        f"\n{args.concurrency} web chat users at a time, each through {steps} steps (register,"
        f" post a listing, browse, search, ask); {args.seconds:g} s measured per configuration"
        f" after {args.warmup:g} s of warm-up; {args.rounds} round(s), medians"
    )
    print(
        f"machine: {host['cpus']} CPUs ({host['cpu']}), {host['memory_gb']} GB,"
        f" Python {host['python']}, {host['postgres']};"
        f" load average {load_before:.1f} before, {host['load_1m']} after"
    )
    header = (
        f"{'':9} {'updates/s':>9} {'p50 ms':>7} {'p95 ms':>7} {'bot CPU':>8} {'PG CPU':>7}"
        f" {'client':>7} {'db stmts':>8} {'turns':>5} {'problems':>8}"
    )
    print(header + "\n" + f"{'':9} {'':>9} {'':>7} {'':>7} {'ms/upd':>8} {'ms/upd':>7}"
          f" {'ms/upd':>7} {'/update':>8} {'max':>5}")  # fmt: skip
    for name, r in result.items():
        print(
            f"{name:9} {r['updates_per_s']:>9} {r['p50_ms']:>7} {r['p95_ms']:>7}"
            f" {r['bot_cpu_ms_per_update']:>8} {r['pg_cpu_ms_per_update']:>7}"
            f" {r['client_cpu_ms_per_update']:>7} {r.get('db_statements_per_update', '-'):>8}"
            f" {r.get('turns_at_once_max', '-'):>5}"
            f" {r['problems']:>8}"
        )
    ratios: dict[str, float] = {}
    embedded = result.get("embedded", {}).get("updates_per_s", 0)
    for name in ("pg-1", "pg-2"):
        if name in result and embedded:
            ratios[f"{name}/embedded"] = round(result[name]["updates_per_s"] / embedded, 3)
    if "pg-1" in result and "pg-2" in result:
        ratios["pg-2/pg-1"] = round(
            result["pg-2"]["updates_per_s"] / result["pg-1"]["updates_per_s"], 3
        )
    if ratios:
        print("throughput: " + ", ".join(f"{k} {v:.0%}" for k, v in ratios.items())
              + "   (goal: pg-1/embedded >= 70%)")  # fmt: skip
    total = round(time.perf_counter() - began, 1)
    print(f"whole run: {total} s")
    print(json.dumps({"bench": "scale", "seconds_measured": args.seconds, "warmup": args.warmup,
                      "concurrency": args.concurrency, "rounds": args.rounds, "steps": steps,
                      "pg_settings": args.pg_setting, "socket": args.socket,
                      "machine": {**host, "load_before": round(load_before, 2)},
                      "seconds": total, **result, "ratios": ratios}))  # fmt: skip


if __name__ == "__main__":
    main()
