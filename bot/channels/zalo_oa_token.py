"""The Zalo OA token pair, kept fresh: renewed ahead of its expiry, once per renewal.

The access token lives about 25 hours (`expires_in`, a string of seconds). It is renewed a
margin before it expires — by a timer, and before a send — and whenever a send is refused for
its token. A pair whose expiry is unknown (just configured, or stored by an older version) is
renewed once at start-up. The refresh token works once: each new pair is stored durably before
it is used, and one renewal runs at a time. A refused renewal (e.g. -14014, an invalid refresh
token) is not asked for again for RENEW_RETRY, and opens an alert for the admins.

With several processes on one database the pair is a document of the shared store and a
renewal runs under the store's "zalo-oa-token" lock (one process at a time). Inside it the
stored pair is looked at again first: if another process renewed it meanwhile, that pair is
used and the spent refresh token is never sent, which Zalo would refuse (locking the OA out).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import aiohttp

from bot.channels.zalo_common import ZaloError
from bot.channels.zalo_oa_state import OAToken, TokenBook
from bot.config import Settings
from bot.core.clock import Clock
from bot.services.alerts import ZALO_OA_TOKEN, Alerts
from bot.storage.db import Store
from bot.storage.errors import StoreError

log = logging.getLogger(__name__)

TICK_SECONDS = 60.0  # how often the timer looks at the token's expiry
RENEW_RETRY = 3600.0  # seconds before a refused renewal is asked for again
LIFETIME = 90_000  # seconds, when Zalo's answer does not say (documented "90000")
LOCK = "zalo-oa-token"  # the store's exclusive lock around a renewal (across processes)


class TokenKeeper:
    """The current pair, and its renewal."""

    def __init__(
        self,
        settings: Settings,
        book: TokenBook,
        store: Store,
        clock: Clock,
        alerts: Alerts,
        session: Callable[[], aiohttp.ClientSession],
    ) -> None:
        self._settings = settings
        self._book = book
        self._store = store
        self._clock = clock
        self._alerts = alerts
        self._session = session
        self._unsaved: OAToken | None = None  # a new pair the store refused to keep, in use
        self._refused_until = 0.0  # no renewal asked for before then (epoch seconds)
        self._refusal = ""  # what Zalo said when it last refused a renewal

    @property
    def pair(self) -> OAToken:
        """The pair to use now: the newest stored one (another process may have renewed it)."""
        stored = self._book.load()
        if self._unsaved is not None and self._unsaved.expires_at >= stored.expires_at:
            return self._unsaved
        return stored

    async def start(self) -> None:
        """Take over a pair kept elsewhere before (once), then renew one of unknown age."""
        async with self._store.exclusive(LOCK), self._store.committed():
            self._book.adopt()
        await self.renew_ahead()

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def _renewable(self, pair: OAToken) -> bool:
        return bool(pair.refresh_token and self._settings.zalo_app_secret)

    def due(self) -> bool:
        """Whether the pair should be renewed now: its expiry is unknown, near, or past."""
        pair, now = self.pair, self._now()
        if not self._renewable(pair) or now < self._refused_until:
            return False
        margin = self._settings.zalo_oa_renew_margin_hours * 3600
        return not pair.expires_at or pair.expires_at - now <= margin

    async def renew_if_due(self) -> bool:
        """Renew the pair if `due`; whether it was renewed (ZaloError if Zalo refused)."""
        if not self.due():
            return False
        used = self.pair
        await self.refresh(used)
        return self.pair != used

    async def renew_ahead(self) -> None:
        """Renew if due (one pass of the timer); a failure is logged, the caller goes on."""
        try:
            unsaved = self._unsaved
            if unsaved is not None:  # not stored yet (the store failed): unless superseded
                if self._book.load().expires_at < unsaved.expires_at:
                    await self._keep(unsaved)
                else:
                    self._unsaved = None
            await self.renew_if_due()
        except (ZaloError, aiohttp.ClientError, TimeoutError, StoreError) as exc:
            log.warning("could not renew the OA token ahead of its expiry: %s", exc)

    async def timer(self) -> None:
        """The background job: renew ahead of expiry even when nobody writes."""
        while True:
            await self.renew_ahead()
            await self._clock.sleep(TICK_SECONDS)

    async def refresh(self, used: OAToken) -> None:
        """Renew the pair `used` once (a no-op if another call already did); store, then use."""
        async with self._store.exclusive(LOCK):  # everything committed before is in memory
            if self.pair != used:
                return  # renewed while we waited, here or by another process: use that pair
            refusal = await self._renew(used)
        if refusal:  # told outside the lock: an admin on this OA is sent to with the old token
            await self._alerts.raise_alert(ZALO_OA_TOKEN, refusal, self._clock.now())
            raise ZaloError(f"renewing the OA token failed: {refusal}")

    async def _renew(self, used: OAToken) -> str:
        """Ask Zalo for a new pair and store it; what Zalo refused with, or "" when renewed."""
        now = self._now()
        if now < self._refused_until:
            return self._refusal  # refused a moment ago: asking again would be refused too
        s = self._settings
        if not self._renewable(used):
            return "the access token expired and no refresh token is configured"
        form = {
            "refresh_token": used.refresh_token,
            "app_id": s.zalo_app_id,
            "grant_type": "refresh_token",
        }
        url = f"{s.zalo_oauth_base_url}/v4/oa/access_token"
        headers = {"secret_key": s.zalo_app_secret}
        async with self._session().post(url, data=form, headers=headers) as resp:
            try:
                data = await resp.json(content_type=None)
            except ValueError:
                data = None
        if not isinstance(data, dict):  # a proxy's error page: try again later, no alert
            raise ZaloError(f"unexpected answer renewing the OA token (HTTP {resp.status})")
        if not data.get("access_token"):
            said = data.get("error_description") or data.get("message") or "no access token"
            self._refusal = f"{data.get('error', '')} {said}".strip()
            self._refused_until = now + RENEW_RETRY
            log.error("Zalo refused to renew the OA token: %s", self._refusal)
            return self._refusal
        lifetime = _seconds(data.get("expires_in"))
        pair = OAToken(
            str(data["access_token"]), str(data.get("refresh_token") or ""), now + lifetime
        )
        await self._keep(pair)  # the old refresh token is spent: persist before use
        self._refused_until, self._refusal = 0.0, ""
        self._alerts.clear(ZALO_OA_TOKEN)
        log.info("OA access token renewed; it expires in %d s", lifetime)
        return ""

    async def _keep(self, pair: OAToken) -> None:
        """Commit a new pair; if the store fails, use it here and try again on the next pass."""
        self._unsaved = pair
        try:
            async with self._store.committed():
                self._book.save(pair)
        except StoreError as exc:
            log.error("could not store the renewed OA token pair (kept in memory): %s", exc)
            return
        self._unsaved = None


def _seconds(value: Any) -> float:
    """Zalo's expires_in (a string of seconds); LIFETIME when missing or malformed."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return float(LIFETIME)
    return seconds if seconds > 0 else float(LIFETIME)
