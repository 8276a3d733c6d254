"""Anonymous abuse of the web chat while one registered farmer talks to the bot.

The bot runs as its own process (`python -m bot`, web chat only) on 127.0.0.1 with a fresh
DATA_DIR and 127.0.0.1 as a trusted proxy, so the flood can claim many client addresses.
A farmer registers and chats at a person's pace; quiet phases alternate with flood phases
(the shared machine's speed drifts), in which anonymous sessions flood the send endpoint
(half from one address, half from many, a third without cookies), anonymous sessions flood
the upload endpoint, and a few registered abusers sit at the listing photo question
uploading photos as fast as they can.

The flood runs on this machine, so it competes with the bot for the CPU, which a real attack
does not (the attackers pay for their own machines). Each round therefore floods twice, from
two flood processes: one at the bot's own priority (the headline figure: the flood takes its
share of the cores) and one at the lowest priority (`--niced`, default nice 19: close to what
the bot alone does with the requests). The verdict: the farmer's median reply time under the
equal-priority flood within 2x of the quiet one (`ratio_ok`; the niced figure is judged too),
and DATA_DIR/media grown no more than the configured caps allow the sessions and addresses
that uploaded (`disk_ok`: per session and per address per hour, token buckets refilled over
the bench's own time). Also prints requests refused, users the flood created, and one JSON
line. Loopback only; bounded to 60 s.

    .venv/bin/python bench/abuse.py
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
MAX_RATIO = 2.0  # the farmer's median reply under flood, against the quiet one
LIMIT_S = 60.0  # the whole bench, start-up included
WIND_DOWN_S = 5.0  # kept for collecting the floods' counts and stopping the bot
FARMER_LINES = ["na chi lang", "/menu", "gia na", "/menu", "cach ban hang online", "/menu"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def photo(side: int, seed: int) -> bytes:
    """A noisy JPEG (noise compresses badly: about the size of a real phone photo)."""
    rng = random.Random(seed)
    image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


def count_users(data_dir: Path) -> int:
    """User records in the store the bot left (it has stopped)."""
    sys.path.insert(0, str(ROOT))
    from bot.storage.db import Store

    with Store(data_dir) as store:
        return len(store.table("users"))


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used so far (Linux /proc), 0 where unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def media_bytes(data_dir: Path) -> int:
    media = data_dir / "media"
    return sum(p.stat().st_size for p in media.iterdir()) if media.is_dir() else 0


class Client:
    """One browser session (or a cookie-less script when `cookies` is False)."""

    def __init__(self, base: str, address: str = "", cookies: bool = True) -> None:
        jar: aiohttp.abc.AbstractCookieJar = (
            aiohttp.CookieJar(unsafe=True) if cookies else aiohttp.DummyCookieJar()
        )
        self.base = base
        self.http = aiohttp.ClientSession(cookie_jar=jar)
        self.headers = {"X-Forwarded-For": address} if address else {}
        self.last: dict[str, Any] = {}

    async def post(self, path: str, **kwargs: Any) -> int:
        """POST; the status, or 0 when the server closed the connection on an unread upload."""
        try:
            async with self.http.post(self.base + path, headers=self.headers, **kwargs) as resp:
                self.last = await resp.json() if resp.content_type == "application/json" else {}
                return resp.status
        except aiohttp.ClientError:
            self.last = {}
            return 0

    async def say(self, text: str) -> int:
        return await self.post("/chat/api/send", json={"text": text})

    async def tap(self, payload: str) -> int:
        return await self.post("/chat/api/send", json={"payload": payload})

    async def upload(self, data: bytes) -> int:
        form = aiohttp.FormData()
        form.add_field("photo", data, filename="p.jpg", content_type="image/jpeg")
        return await self.post("/chat/api/photo", data=form)

    def payloads(self) -> list[str]:
        replies = self.last.get("replies", [])
        return [b["payload"] for r in replies for row in r["buttons"] for b in row]

    async def register(self, name: str, phone: str) -> None:
        async with self.http.get(self.base + "/", headers=self.headers) as resp:
            await resp.read()
        await self.say("/start")
        await self.say(name)
        await self.tap("addr:chi")
        await self.say(phone)
        await self.say("chi lang")
        area = [p for p in self.payloads() if p.startswith("area:")]
        if area:
            await self.tap(area[0])
        for payload in ("farmer", "crop:na-chi-lang", "crop:done", "consent:yes"):
            await self.tap(payload)

    async def to_photo_step(self) -> None:
        await self.tap("listings")
        for text in ("na chi lang", "loai 1", "200", "45k"):
            await self.say(text)
        await self.tap("lf:now")
        assert "lf:skip" in self.payloads(), self.last

    async def close(self) -> None:
        await self.http.close()


async def farmer_talks(farmer: Client, until: float, times: list[float], pause: float) -> None:
    """The farmer chats at a person's pace; each reply's time is recorded."""
    i = 0
    while time.monotonic() < until:
        started = time.perf_counter()
        status = await farmer.say(FARMER_LINES[i % len(FARMER_LINES)])
        if status == 200:
            times.append(time.perf_counter() - started)
        i += 1
        await asyncio.sleep(pause)


class Switch:
    """The flood's on/off switch, set by the farmer's side (another process)."""

    def __init__(self, go: Any, stop: Any) -> None:
        self.go, self.stop = go, stop

    async def on(self) -> bool:
        """Wait while the flood is paused; False once it is over."""
        while not self.go.is_set():
            if self.stop.is_set():
                return False
            await asyncio.sleep(0.02)
        return not self.stop.is_set()


async def send_flood(base: str, worker: int, switch: Switch, codes: Counter[str]) -> None:
    """Anonymous sends: a new session every few messages; even workers share one address."""
    n = 0
    while await switch.on():
        address = "198.51.100.1" if worker % 2 == 0 else f"10.{worker}.{n % 250}.{n % 199 + 1}"
        client = Client(base, address, cookies=n % 3 != 0)  # a third are cookie-less scripts
        try:
            for text in ("/start", "Hoa", "chi", "0912345678"):
                codes[f"send {await client.say(text)}"] += 1
                n += 1
        finally:
            await client.close()


def uploader_address(worker: int, offset: int) -> str:
    return f"192.0.2.{offset + worker + 1}"


def abuser_address(i: int, offset: int) -> str:
    return f"203.0.113.{20 + offset + i}"


async def upload_flood(
    base: str, address: str, switch: Switch, data: bytes, codes: Counter[str]
) -> None:
    """Anonymous uploads: nobody asked them for a photo."""
    client = Client(base, address)
    try:
        while await switch.on():
            status = await client.upload(data)
            codes[f"anonymous upload, refused ({status})"] += 1  # no question asked for one
    finally:
        await client.close()


def upload_cap(
    sessions_by_address: dict[str, int],
    session_cap: float,
    address_cap: float,
    seconds: float,
    upload_size: int,
) -> int:
    """The most upload bytes the caps let these sessions and addresses take in `seconds`.

    A cap is a token bucket of its hourly bytes, refilled evenly over the hour, that lets one
    upload overdraw a full bucket; an address takes at most its own cap and at most what its
    sessions' caps allow together.
    """

    def bucket(cap: float) -> float:
        return cap * (1 + seconds / 3600) + max(0, upload_size - cap)

    return int(
        sum(
            min(bucket(address_cap), n * bucket(session_cap)) for n in sessions_by_address.values()
        )
    )


async def abuser_uploads(abuser: Client, switch: Switch, data: bytes, codes: Counter[str]) -> None:
    """A registered user at the listing's photo question, uploading as fast as allowed."""
    while await switch.on():
        status = await abuser.upload(data)
        codes[f"registered upload {status}"] += 1
        if "lf:clear" in abuser.payloads():
            await abuser.tap("lf:clear")  # keep the form open for more photos


async def flood(base: str, args: dict[str, Any], switch: Switch, ready: Any) -> Counter[str]:
    """Registered abusers get to a photo question; then everyone floods while switched on."""
    codes: Counter[str] = Counter()
    offset = args["offset"]
    await wait_up(base)  # the bot starts meanwhile
    abusers = [Client(base, abuser_address(i, offset)) for i in range(args["abusers"])]
    try:
        for i, abuser in enumerate(abusers):
            await abuser.register(f"Abuser {i}", f"0913{offset:02d}00{i:02d}")
            await abuser.to_photo_step()
        data = photo(args["photo_side"], 1)
        ready.set()
        # The niced flood: on a real server the attackers' machines pay for making their
        # requests. (Getting ready at the bot's priority keeps the set-up short.)
        os.nice(args["nice"])
        await asyncio.gather(
            *(send_flood(base, w, switch, codes) for w in range(args["senders"])),
            *(
                upload_flood(base, uploader_address(w, offset), switch, data, codes)
                for w in range(args["uploaders"])
            ),
            *(abuser_uploads(a, switch, data, codes) for a in abusers),
        )
        codes["upload bytes each"] = len(data)
    finally:
        for abuser in abusers:
            await abuser.close()
    return codes


def flood_process(base: str, args: dict[str, Any], events: Any, results: Any) -> None:
    """Run the flood in this (child) process and hand back its counts."""
    ready, go, stop = events
    results.put(dict(asyncio.run(flood(base, args, Switch(go, stop), ready))))


async def wait_up(base: str, process: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until the bot answers (its process, when given, must not have exited)."""
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            if process is not None and process.poll() is not None:
                raise SystemExit("the bot exited at start-up: see its log")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(base + "/healthz") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise SystemExit("the bot did not start within 30 s")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    deadline = time.monotonic() + LIMIT_S - WIND_DOWN_S
    data_dir = Path(tempfile.mkdtemp(prefix="nds-abuse-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZALO_"))},
        "DATA_DIR": str(data_dir),
        "WEB_HOST": "127.0.0.1",
        "WEB_PORT": str(port),
        "TRUSTED_PROXIES": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "WEBCHAT_SESSION_MESSAGES_PER_MINUTE": str(args.session_messages),
        "WEBCHAT_ADDRESS_MESSAGES_PER_MINUTE": str(args.session_messages * 10),
        "WEBCHAT_SESSION_UPLOAD_MB_PER_HOUR": str(args.session_upload_mb),
        "WEBCHAT_ADDRESS_UPLOAD_MB_PER_HOUR": str(args.session_upload_mb * 10),
    }
    log = (data_dir.parent / f"{data_dir.name}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, *os.environ.get("ABUSE_BOT_PREFIX", "").split(), "-m", "bot"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    clients: list[Client] = []
    flooders: list[Any] = []
    try:
        context = multiprocessing.get_context("spawn")
        stop, results = context.Event(), context.Queue()
        # Each flood has its own sessions and addresses; both count against the disk caps.
        floods = {"equal": (0, 0), "niced": (50, args.niced)}  # name: (address offset, nice)
        go = {name: context.Event() for name in floods}
        readies = []
        for name, (offset, nice) in floods.items():  # started with the bot: they get ready
            ready = context.Event()  # (imports, their photo, their registered abusers) meanwhile
            options = {**vars(args), "offset": offset, "nice": nice}
            flooder = context.Process(
                target=flood_process, args=(base, options, (ready, go[name], stop), results)
            )
            flooder.start()
            flooders.append(flooder)
            readies.append(ready)
        await wait_up(base, process)
        farmer = Client(base, "203.0.113.10")
        clients.append(farmer)
        await farmer.register("Lan", "0912000001")
        for ready in readies:
            if not await asyncio.to_thread(ready.wait, 30):
                raise SystemExit("the flood did not get ready within 30 s")
        media_before = media_bytes(data_dir)
        # Quiet and flood phases alternate: the shared machine's speed drifts between them.
        quiet: list[float] = []
        loud: dict[str, list[float]] = {name: [] for name in floods}
        rounds: dict[str, list[float]] = {name: [] for name in floods}
        flood_s = dict.fromkeys(floods, 0.0)
        flood_cpu = dict.fromkeys(floods, 0.0)
        quiet_s = quiet_cpu = 0.0
        bench_started = time.monotonic()
        # A loaded machine starts the bot slowly: the phases shrink to end within the limit.
        phases = args.rounds * (1 + len(floods))
        planned = args.rounds * (args.quiet_seconds + len(floods) * args.seconds)
        overrun = phases * (args.pause + 1.0)  # a phase ends after its last line's reply
        scale = min(1.0, (deadline - bench_started - overrun) / planned)
        if scale < 0.5:
            raise SystemExit(f"start-up left too little of the {LIMIT_S:g} s for the rounds")
        args.quiet_seconds *= scale
        args.seconds *= scale
        for _ in range(args.rounds):
            calm: list[float] = []
            started, cpu = time.monotonic(), cpu_seconds(process.pid)
            await farmer_talks(farmer, started + args.quiet_seconds, calm, args.pause)
            quiet_s += time.monotonic() - started
            quiet_cpu += cpu_seconds(process.pid) - cpu
            quiet += calm
            for name in floods:
                go[name].set()
                started, cpu = time.monotonic(), cpu_seconds(process.pid)
                busy: list[float] = []
                await farmer_talks(farmer, started + args.seconds, busy, args.pause)
                go[name].clear()
                flood_s[name] += time.monotonic() - started
                flood_cpu[name] += cpu_seconds(process.pid) - cpu
                loud[name] += busy
                rounds[name].append(statistics.median(busy) / statistics.median(calm))
        stop.set()
        codes: Counter[str] = Counter()
        for _flooder in flooders:
            codes.update(await asyncio.to_thread(results.get, True, 20))
        for flooder in flooders:
            flooder.join(10)
        growth = media_bytes(data_dir) - media_before
        elapsed = time.monotonic() - bench_started
        upload_size = int(codes.pop("upload bytes each")) // len(floods)
        # Every session that uploaded, by address: the registered abusers and the anonymous
        # uploaders of both floods, one session per address.
        uploading = Counter(
            [abuser_address(i, o) for o, _n in floods.values() for i in range(args.abusers)]
            + [uploader_address(w, o) for o, _n in floods.values() for w in range(args.uploaders)]
        )
        cap = upload_cap(
            uploading,
            args.session_upload_mb * MB,
            args.session_upload_mb * 10 * MB,
            elapsed,
            upload_size,
        )
    finally:
        for flooder in flooders:  # still flooding if the bench stopped early (its time limit)
            if flooder.is_alive():
                flooder.terminate()
        for client in clients:
            await client.close()
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(10)
        if process.poll() is None:
            process.kill()
        log.close()
    users = count_users(data_dir)
    quiet_ms = statistics.median(quiet) * 1000
    loud_ms = statistics.median(loud["equal"]) * 1000
    niced_ms = statistics.median(loud["niced"]) * 1000
    sent = sum(codes.values())
    refused = sum(n for k, n in codes.items() if "refused" in k or not k.endswith(" 200"))
    seconds = sum(flood_s.values())
    ratio, niced_ratio = loud_ms / quiet_ms, niced_ms / quiet_ms
    return {
        "quiet_samples": len(quiet),
        "flood_samples": len(loud["equal"]),
        "niced_samples": len(loud["niced"]),
        "farmer_median_ms_quiet": round(quiet_ms, 1),
        "farmer_median_ms_flood": round(loud_ms, 1),
        "farmer_median_ms_flood_niced": round(niced_ms, 1),
        "ratio": round(ratio, 2),
        "ratio_ok": ratio <= MAX_RATIO,
        "round_ratios": [round(r, 2) for r in rounds["equal"]],
        "ratio_niced": round(niced_ratio, 2),
        "ratio_niced_ok": niced_ratio <= MAX_RATIO,
        "round_ratios_niced": [round(r, 2) for r in rounds["niced"]],
        "niced": args.niced,
        "phase_scale": round(scale, 2),  # below 1: phases shortened to fit the time limit
        "flood_seconds": round(seconds, 1),
        "bot_cpu_share_quiet": round(quiet_cpu / quiet_s, 2),
        "bot_cpu_share_flood": round(flood_cpu["equal"] / flood_s["equal"], 2),
        "bot_cpu_share_flood_niced": round(flood_cpu["niced"] / flood_s["niced"], 2),
        "flood_requests": sent,
        "flood_requests_per_s": round(sent / seconds),
        "refused": refused,
        "codes": dict(sorted(codes.items())),
        "upload_bytes_each": upload_size,
        "uploading_sessions": sum(uploading.values()),
        "uploading_addresses": len(uploading),
        "media_growth_bytes": growth,
        "media_cap_bytes": cap,
        "disk_ok": growth <= cap,
        "users_created": users,
        "data_dir": str(data_dir),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="quiet/flood rounds (max 3)")
    parser.add_argument("--seconds", type=float, default=5.0, help="each flood (max 5)")
    parser.add_argument("--quiet-seconds", type=float, default=4.0, help="max 4")
    parser.add_argument("--senders", type=int, default=12, help="concurrent anonymous senders")
    parser.add_argument("--uploaders", type=int, default=4, help="concurrent anonymous uploaders")
    parser.add_argument("--abusers", type=int, default=3, help="registered users uploading")
    parser.add_argument("--pause", type=float, default=0.5, help="farmer's pause between lines")
    parser.add_argument("--photo-side", type=int, default=1200, help="uploaded photo size, px")
    parser.add_argument("--niced", type=int, default=19, help="the second flood's nice value")
    parser.add_argument("--session-messages", type=int, default=60, help="per minute")
    parser.add_argument("--session-upload-mb", type=float, default=2.0, help="per hour")
    args = parser.parse_args()
    args.rounds = max(1, min(args.rounds, 3))
    args.seconds = min(args.seconds, 5.0)
    args.quiet_seconds = min(args.quiet_seconds, 4.0)
    result = asyncio.run(asyncio.wait_for(run(args), timeout=LIMIT_S))
    print(
        f"farmer median reply: {result['farmer_median_ms_quiet']} ms quiet "
        f"({result['quiet_samples']} lines); under flood at equal priority "
        f"{result['farmer_median_ms_flood']} ms ({result['flood_samples']} lines): "
        f"x{result['ratio']} (per round: {result['round_ratios']}); under the flood at nice "
        f"{args.niced} {result['farmer_median_ms_flood_niced']} ms "
        f"({result['niced_samples']} lines): x{result['ratio_niced']} "
        f"(per round: {result['round_ratios_niced']})"
    )
    print(
        f"flood: {result['flood_requests']} requests in {result['flood_seconds']} s "
        f"({result['flood_requests_per_s']}/s), {result['refused']} refused; the bot used "
        f"{result['bot_cpu_share_flood']:.0%} of a core under the equal-priority flood, "
        f"{result['bot_cpu_share_flood_niced']:.0%} under the niced one, "
        f"{result['bot_cpu_share_quiet']:.0%} quiet"
    )
    for code, n in result["codes"].items():
        print(f"  {code}: {n}")
    print(
        f"media growth: {result['media_growth_bytes'] / MB:.2f} MB; the caps allow "
        f"{result['media_cap_bytes'] / MB:.2f} MB to the {result['uploading_sessions']} "
        f"uploading sessions on {result['uploading_addresses']} addresses "
        f"({args.session_upload_mb:g} MB/hour a session, {args.session_upload_mb * 10:g} MB/hour "
        f"an address); users created by the flood: "
        f"{result['users_created'] - 1 - 2 * args.abusers}"
    )
    verdict = [
        ("reply time under flood within 2x of quiet", result["ratio_ok"]),
        (f"the same, flood at nice {args.niced}", result["ratio_niced_ok"]),
        ("media growth within the caps", result["disk_ok"]),
    ]
    for label, ok in verdict:
        print(f"{'PASS' if ok else 'FAIL'}: {label}")
    print(json.dumps({"bench": "abuse", **result}))


if __name__ == "__main__":
    main()
