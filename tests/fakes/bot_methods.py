"""The Bot API methods the fake implements, with Telegram's own checks and error texts."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from tests.fakes import markup
from tests.fakes.gates import ApiError, bad_request
from tests.fakes.media import MediaMethods
from tests.fakes.spec import Spec, UploadedFile
from tests.fakes.state import World, public_message
from tests.fakes.updates import UpdateQueue

_CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}
_WEBHOOK_PORTS = {80, 88, 443, 8443}
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"

Handler = Callable[[dict[str, Any]], Any]


class BotMethods(MediaMethods):
    """Executes validated Bot API calls against the fake's world."""

    def __init__(self, world: World, spec: Spec, updates: UpdateQueue) -> None:
        super().__init__(world, spec, updates)
        self.handlers: dict[str, Handler] = {
            "getMe": self.get_me,
            "logOut": lambda _p: True,
            "close": lambda _p: True,
            "deleteWebhook": self.delete_webhook,
            "setWebhook": self.set_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "setMyCommands": self.set_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "getMyCommands": self.get_my_commands,
            "sendMessage": self.send_message,
            "sendChatAction": self.send_chat_action,
            "editMessageText": self.edit_message_text,
            "editMessageCaption": self.edit_message_caption,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "answerCallbackQuery": self.answer_callback_query,
            "getFile": self.get_file,
            "getChat": self.get_chat,
            **self.media_handlers(),
        }

    def call(self, method: str, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        """Run one method; raise ApiError the way Telegram would answer."""
        self.files = files  # handlers are synchronous, so one call's files cannot leak
        handler = self.handlers.get(method)
        if handler is not None:
            return handler(params)
        if self.spec.returns(method) in (["True"], ["Boolean"]):
            return True  # a setting-style method: nothing to simulate beyond validation
        raise ApiError(501, f"Not Implemented: the fake Telegram has no {method}")

    # -- bot identity, webhook, commands -----------------------------------------------------

    def get_me(self, _params: dict[str, Any]) -> dict[str, Any]:
        """Return the bot's User object."""
        return dict(
            self.world.bot_user,
            can_join_groups=True,
            can_read_all_group_messages=False,
            supports_inline_queries=False,
            can_connect_to_business=False,
            has_main_web_app=False,
        )

    def delete_webhook(self, params: dict[str, Any]) -> bool:
        """Remove the webhook (and pending updates when asked)."""
        self.world.webhook = {"url": ""}
        if params.get("drop_pending_updates"):
            self.updates.drop_pending()
        return True

    def set_webhook(self, params: dict[str, Any]) -> bool:
        """Set the webhook after Telegram's checks on the URL and secret."""
        url = params["url"]
        if url:
            parts = urlsplit(url)
            if parts.scheme != "https" or not parts.hostname:
                raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
            if (parts.port or 443) not in _WEBHOOK_PORTS:
                raise bad_request(
                    "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
                )
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_RE.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self.updates.drop_pending()
        self.world.webhook = {k: v for k, v in params.items() if k != "drop_pending_updates"}
        return True

    def get_webhook_info(self, _params: dict[str, Any]) -> dict[str, Any]:
        """Return a WebhookInfo for the current webhook."""
        hook = self.world.webhook
        info: dict[str, Any] = {
            "url": hook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": self.updates.pending_count(),
        }
        for key in ("allowed_updates", "max_connections", "ip_address"):
            if key in hook:
                info[key] = hook[key]
        return info

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
        """Key the command lists by scope and language, as Telegram does."""
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), params.get("language_code") or ""

    def set_my_commands(self, params: dict[str, Any]) -> bool:
        """Store the bot's command list for a scope and language."""
        commands = params["commands"]
        if len(commands) > 100:
            raise bad_request("too many commands: at most 100 are allowed")
        self.world.commands[self._commands_key(params)] = commands
        return True

    def delete_my_commands(self, params: dict[str, Any]) -> bool:
        """Forget the command list of a scope and language."""
        self.world.commands.pop(self._commands_key(params), None)
        return True

    def get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Return the command list of a scope and language."""
        return self.world.commands.get(self._commands_key(params), [])

    # -- messages ----------------------------------------------------------------------------

    def send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        """Send a text message."""
        plain, entities = self.formatted(params["text"], params.get("parse_mode"), caption=False)
        message = self.new_bot_message(params)
        message["text"] = plain
        entities = entities or params.get("entities") or []
        if entities:
            message["entities"] = entities
        return self.world.store_bot_message(message)

    def send_chat_action(self, params: dict[str, Any]) -> bool:
        """Show a chat action such as "typing"."""
        self.chat_id(params)
        if params["action"] not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def _editable(self, params: dict[str, Any]) -> dict[str, Any]:
        """Find the bot message an edit targets, with Telegram's errors."""
        if "inline_message_id" in params:
            raise bad_request("MESSAGE_ID_INVALID")
        if "chat_id" not in params:
            raise bad_request("chat_id is empty")
        if "message_id" not in params:
            raise bad_request("message identifier is not specified")
        key = (self.chat_id(params), params["message_id"])
        message = self.world.messages.get(key)
        if message is None or key in self.world.deleted:
            raise bad_request("message to edit not found")
        if message["from"]["id"] != self.world.bot_user["id"]:
            raise bad_request("message can't be edited")
        return message

    @staticmethod
    def _apply_edit(message: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        """Apply an edit (None removes a field); refuse edits that change nothing."""
        if all(message.get(key) == value for key, value in changes.items()):
            raise bad_request(_NOT_MODIFIED)
        for key, value in changes.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = value
        message["edit_date"] = int(time.time())
        return public_message(message)

    def edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        """Edit a text message; a missing reply_markup removes the inline keyboard."""
        message = self._editable(params)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        plain, entities = self.formatted(params["text"], params.get("parse_mode"), caption=False)
        entities = entities or params.get("entities") or []
        changes = {
            "text": plain,
            "entities": entities or None,
            "reply_markup": params.get("reply_markup"),
        }
        return self._apply_edit(message, changes)

    def edit_message_caption(self, params: dict[str, Any]) -> dict[str, Any]:
        """Edit the caption of a media message."""
        message = self._editable(params)
        if "text" in message:
            raise bad_request("there is no caption in the message to edit")
        caption, entities = self.formatted(
            params.get("caption", ""), params.get("parse_mode"), caption=True
        )
        changes = {
            "caption": caption or None,
            "caption_entities": entities or params.get("caption_entities") or None,
            "reply_markup": params.get("reply_markup"),
        }
        return self._apply_edit(message, changes)

    def edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        """Replace or remove the inline keyboard of a message."""
        message = self._editable(params)
        return self._apply_edit(message, {"reply_markup": params.get("reply_markup")})

    def delete_message(self, params: dict[str, Any]) -> bool:
        """Delete a message of the chat."""
        key = (self.chat_id(params), params["message_id"])
        if key not in self.world.messages or key in self.world.deleted:
            raise bad_request("message to delete not found")
        self.world.deleted.append(key)
        return True

    def answer_callback_query(self, params: dict[str, Any]) -> bool:
        """Answer a button press once; unknown or repeated answers fail like on Telegram."""
        query_id = params["callback_query_id"]
        world = self.world
        if query_id not in world.callback_ids or query_id in world.answered:
            raise bad_request(_QUERY_INVALID)
        if len(params.get("text") or "") > markup.CALLBACK_ANSWER_LIMIT:
            raise bad_request("MESSAGE_TOO_LONG")
        world.answered.add(query_id)
        return True

    # -- files and chats ---------------------------------------------------------------------

    def get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        """Return a File whose file_path the download route serves."""
        stored = self.world.files.get(params["file_id"])
        if stored is None:
            raise bad_request("invalid file_id")
        if len(stored.data) > 20 * 1024 * 1024:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    def get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        """Return the ChatFullInfo of a chat the fake knows."""
        chat_id = self.chat_id(params)
        if chat_id not in self.world.chats:
            raise bad_request("chat not found")
        gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription")
        return dict(
            self.world.chat(chat_id),
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={**dict.fromkeys(gifts, False), "gifts_from_channels": False},
        )
