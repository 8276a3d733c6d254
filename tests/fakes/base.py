"""Shared helpers of the fake's Bot API methods: chat lookup, text rules, new messages."""

from __future__ import annotations

from typing import Any

from tests.fakes import markup
from tests.fakes.gates import bad_request
from tests.fakes.spec import Spec, UploadedFile
from tests.fakes.state import World, public_message
from tests.fakes.updates import UpdateQueue


class MethodBase:
    """State and helpers every method implementation needs."""

    def __init__(self, world: World, spec: Spec, updates: UpdateQueue) -> None:
        self.world = world
        self.spec = spec
        self.updates = updates
        self.files: dict[str, UploadedFile] = {}

    def chat_id(self, params: dict[str, Any]) -> int:
        """Resolve chat_id (an id or "@username") to a known chat id."""
        value = params.get("chat_id")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.startswith("@"):
            for chat in self.world.chats.values():
                if chat.get("username", "").lower() == value[1:].lower():
                    return int(chat["id"])
        raise bad_request("chat not found")

    def formatted(
        self, text: str, parse_mode: str | None, *, caption: bool
    ) -> tuple[str, list[dict[str, Any]]]:
        """Parse text with its parse_mode and enforce Telegram's length rules."""
        if parse_mode and parse_mode.lower() not in markup.PARSE_MODES:
            raise bad_request(f"unsupported parse_mode {parse_mode!r}")
        try:
            plain, entities = markup.parse_text(text, parse_mode)
        except markup.EntityParseError as error:
            raise bad_request(f"can't parse entities: {error}") from None
        length = markup.text_length(plain)
        if caption:
            if length > markup.CAPTION_LIMIT:
                raise bad_request("message caption is too long")
        elif not plain.strip():
            raise bad_request("message text is empty")
        elif length > markup.TEXT_LIMIT:
            raise bad_request("message is too long")
        return plain, entities

    def new_bot_message(self, params: dict[str, Any]) -> dict[str, Any]:
        """Start a bot message to params' chat, applying reply markup and reply parameters."""
        chat_id = self.chat_id(params)
        reply_markup = params.get("reply_markup")
        chat = self.world.chat(chat_id)
        if reply_markup and chat["type"] != "private":
            for row in reply_markup.get("keyboard", []):
                for button in row:
                    if isinstance(button, dict) and button.get("request_contact"):
                        raise bad_request(
                            "request_contact buttons are allowed only in private chats"
                        )
        message = self.world.new_message(chat_id, self.world.bot_user)
        reply = params.get("reply_parameters")
        if reply is not None:
            target = self.world.messages.get((chat_id, reply["message_id"]))
            if target is not None:
                message["reply_to_message"] = public_message(target)
            elif not reply.get("allow_sending_without_reply"):
                raise bad_request("message to be replied not found")
        if reply_markup:
            message["reply_markup"] = reply_markup
        return message

    def with_caption(self, message: dict[str, Any], params: dict[str, Any]) -> None:
        """Add a parsed caption from params to a media message."""
        caption = params.get("caption")
        if caption:
            plain, entities = self.formatted(caption, params.get("parse_mode"), caption=True)
            message["caption"] = plain
            if entities:
                message["caption_entities"] = entities
