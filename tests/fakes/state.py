"""What the fake Telegram knows: the bot, users, chats, messages and files."""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from tests.fakes.jsoncopy import json_copy

BOT_ID = 123456
# Real tokens are "<bot id>:<35 characters of [A-Za-z0-9_-]>".
TOKEN = f"{BOT_ID}:TEST-token-0123456789abcdefghijklmn"


@dataclass
class StoredFile:
    """A file the fake can serve through getFile and the download route."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str


class World:
    """The shared state of one fake Telegram server."""

    def __init__(self, bot_id: int = BOT_ID, username: str = "nongdanso_test_bot") -> None:
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Nông Dân Số",
            "username": username,
        }
        self.users: dict[int, dict[str, Any]] = {}
        self.chats: dict[int, dict[str, Any]] = {}
        # (chat_id, message_id) -> the message as stored, reply keyboards included
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.bot_sent: dict[int, list[int]] = defaultdict(list)
        self.deleted: list[tuple[int, int]] = []
        self.files: dict[str, StoredFile] = {}
        self.webhook: dict[str, Any] = {"url": ""}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.callback_ids: list[str] = []
        self.answered: set[str] = set()
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._ids = itertools.count(1)

    def unique(self, prefix: str) -> str:
        """Return a fresh identifier with a readable prefix."""
        return f"{prefix}{next(self._ids)}"

    def user(
        self,
        user_id: int,
        *,
        first_name: str | None = None,
        username: str | None = None,
        language_code: str = "vi",
    ) -> dict[str, Any]:
        """Return the User object of a person, creating or updating it."""
        user = self.users.setdefault(
            user_id, {"id": user_id, "is_bot": False, "first_name": first_name or "Lan"}
        )
        if first_name:
            user["first_name"] = first_name
        if username:
            user["username"] = username
        user["language_code"] = language_code
        self.chat(user_id)
        return user

    def chat(self, chat_id: int) -> dict[str, Any]:
        """Return the Chat object for an id; unknown positive ids become private chats."""
        chat = self.chats.get(chat_id)
        if chat is None:
            if chat_id > 0:
                chat = {"id": chat_id, "type": "private", "first_name": "Lan"}
            else:
                chat = {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}
            self.chats[chat_id] = chat
        user = self.users.get(chat_id)
        if user is not None:
            chat["first_name"] = user["first_name"]
            if "username" in user:
                chat["username"] = user["username"]
        return chat

    def next_message_id(self, chat_id: int) -> int:
        """Return the next message id in a chat (both sides share one sequence)."""
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        return next(counter)

    def new_message(self, chat_id: int, sender: dict[str, Any]) -> dict[str, Any]:
        """Return a new Message skeleton in a chat from a sender."""
        return {
            "message_id": self.next_message_id(chat_id),
            "from": dict(sender),
            "chat": dict(self.chat(chat_id)),
            "date": int(time.time()),
        }

    def store_bot_message(self, message: dict[str, Any]) -> dict[str, Any]:
        """Remember a message the bot sent and return the form Telegram answers with."""
        chat_id = message["chat"]["id"]
        self.messages[(chat_id, message["message_id"])] = message
        self.bot_sent[chat_id].append(message["message_id"])
        return public_message(message)

    def add_file(
        self, data: bytes, *, folder: str, file_id: str | None = None, name: str = "file"
    ) -> StoredFile:
        """Store file content so that getFile and the download route can serve it."""
        file_id = file_id or self.unique("FAKE-file-")
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=self.unique("u"),
            data=data,
            file_path=f"{folder}/{self.unique('f')}_{name}",
        )
        self.files[file_id] = stored
        return stored


def public_message(message: dict[str, Any]) -> dict[str, Any]:
    """Return a message as the Bot API returns it: only inline keyboards are echoed back."""
    result = json_copy(message)
    markup = result.get("reply_markup")
    if markup is not None and "inline_keyboard" not in markup:
        del result["reply_markup"]
    return result
