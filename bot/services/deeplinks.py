"""The ways straight to one listing: its web page, a Telegram deep link and a typed code.

Posts and pages list them in this order: most buyers arrive from Zalo and Facebook, where a
web link opens at once; Telegram users get a link that starts the bot on the listing; anyone
on Zalo types the code.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.slugs import CODE_WORD, START_PREFIX


@dataclass
class DeepLinks:
    """Builds a listing's links; the Telegram username is learnt from getMe at start."""

    base_url: str
    telegram_username: str = ""

    def page(self, slug: str) -> str:
        """The listing's public page (what QR codes and posts lead with)."""
        return f"{self.base_url.rstrip('/')}/p/{slug}"

    def web_chat(self, slug: str) -> str:
        """The web chat, opened on the listing (no app, no account needed)."""
        return f"{self.base_url.rstrip('/')}{self.chat_path(slug)}"

    @staticmethod
    def chat_path(slug: str) -> str:
        """The web chat on the listing, as a link inside our own pages."""
        return f"/?start={START_PREFIX}{slug}"

    def telegram(self, slug: str) -> str:
        """The Telegram deep link that starts the bot on the listing ("" without Telegram)."""
        if not self.telegram_username:
            return ""
        return f"https://t.me/{self.telegram_username}?start={START_PREFIX}{slug}"

    def market(self) -> str:
        """Where a buyer finds everything on sale (the open market page)."""
        return f"{self.base_url.rstrip('/')}/cho"

    def order_status(self, token: str) -> str:
        """A buyer's order-status page, opened by its unguessable token (no account)."""
        return f"{self.base_url.rstrip('/')}/d/{token}"

    def audio(self, token: str) -> str:
        """A page that plays a voice note in any browser (for apps that cannot send audio)."""
        return f"{self.base_url.rstrip('/')}/audio/{token}" if token else ""

    @staticmethod
    def code(slug: str) -> str:
        """What a buyer types on any channel: "MUA 7K3QX"."""
        return f"{CODE_WORD} {slug}"
