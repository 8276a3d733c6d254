"""Rate limits for anonymous web traffic: token buckets by key, and who the client really is."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Iterable

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
PRUNE_EVERY = 1000  # takes between sweeps of buckets that have filled up again


class Buckets:
    """One token bucket per key: `capacity` tokens, refilled evenly over `per_seconds`."""

    def __init__(self, capacity: float, per_seconds: float, now: Callable[[], float]) -> None:
        self.capacity = float(capacity)
        self.rate = self.capacity / per_seconds
        self.now = now
        self._state: dict[str, tuple[float, float]] = {}  # key -> (tokens, when counted)
        self._takes = 0

    def level(self, key: str) -> float:
        """Tokens `key` has now."""
        now = self.now()
        tokens, at = self._state.get(key, (self.capacity, now))
        return min(self.capacity, tokens + max(0.0, now - at) * self.rate)

    def wait(self, key: str, cost: float = 1.0) -> float:
        """Seconds until `key` can spend `cost` (0: now)."""
        missing = min(cost, self.capacity) - self.level(key)
        return max(0.0, missing / self.rate)

    def spend(self, key: str, cost: float = 1.0) -> None:
        """Take `cost` tokens, going into debt if need be (the bytes were already received)."""
        self._state[key] = (self.level(key) - cost, self.now())
        self._takes += 1
        if self._takes % PRUNE_EVERY == 0:
            self._prune()

    def _prune(self) -> None:
        """Forget keys whose bucket is full again: they cost memory and say nothing."""
        full = [k for k in self._state if self.level(k) >= self.capacity]
        for key in full:
            del self._state[key]

    def __len__(self) -> int:
        return len(self._state)


def spend_all(limits: Iterable[tuple[Buckets, str]], cost: float = 1.0) -> float:
    """Spend `cost` in every (buckets, key) if all allow it; else the seconds to wait."""
    pairs = list(limits)
    wait = max((b.wait(k, cost) for b, k in pairs), default=0.0)
    if wait <= 0:
        for buckets, key in pairs:
            buckets.spend(key, cost)
    return wait


def networks(proxies: Iterable[str]) -> tuple[Network, ...]:
    """TRUSTED_PROXIES as networks."""
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


# Every refused request of a flood asks these again: parsing an address costs more than the
# rest of a refusal, so the answers are remembered (bounded: a flood may rotate addresses).
@functools.lru_cache(maxsize=4096)
def _trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


@functools.lru_cache(maxsize=4096)
def _canonical(address: str) -> str | None:
    """The address written the standard way, None if it is not one."""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def client_address(request: web.Request, trusted: tuple[Network, ...]) -> str:
    """The client's address: the peer, or the nearest untrusted X-Forwarded-For hop."""
    # Only hops appended by our own proxies are believed; anything further left is whatever
    # the client chose to send.
    address = request.remote or ""
    if not _trusted(address, trusted):
        return address
    hops = [h.strip() for h in ",".join(request.headers.getall("X-Forwarded-For", [])).split(",")]
    for hop in reversed([h for h in hops if h]):
        if not _trusted(hop, trusted):
            # garbage from the proxy's far side: count it as the proxy
            return _canonical(hop) or address
        address = hop
    return address
