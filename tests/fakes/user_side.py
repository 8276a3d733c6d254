"""Updates a person would cause: messages, contacts, media and button presses."""

from __future__ import annotations

from typing import Any

from tests.fakes.state import World, public_message

# The smallest valid PNG (1x1), so downloaded "photos" are real image bytes.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def _utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


class UserSide:
    """Builds the updates that users send to the bot."""

    def __init__(self, world: World) -> None:
        self.world = world

    def _message(self, user_id: int, first_name: str | None = None, **kw: Any) -> dict[str, Any]:
        """Return a private-chat message from a user with the given content fields."""
        sender = self.world.user(user_id, first_name=first_name, username=kw.pop("username", None))
        message = self.world.new_message(user_id, sender)
        message.update(kw)
        self.world.messages[(user_id, message["message_id"])] = message
        return {"message": message}

    def text(
        self, user_id: int, text: str, *, first_name: str = "Lan", username: str | None = None
    ) -> dict[str, Any]:
        """Return a text message update; a leading /command gets its bot_command entity."""
        extra: dict[str, Any] = {}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            entity = {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
            extra["entities"] = [entity]
        return self._message(user_id, first_name, text=text, username=username, **extra)

    def contact(self, user_id: int, phone: str, *, own: bool = True) -> dict[str, Any]:
        """Return a shared-contact update (own=True: the user's own number, as the button)."""
        user = self.world.user(user_id)
        contact: dict[str, Any] = {"phone_number": phone, "first_name": user["first_name"]}
        if own:
            contact["user_id"] = user_id
        else:
            contact["first_name"] = "Người khác"
        return self._message(user_id, contact=contact)

    def photo(
        self, user_id: int, file_id: str | None, caption: str | None, data: bytes
    ) -> dict[str, Any]:
        """Return a photo message update; the photo is downloadable through getFile."""
        stored = self.world.add_file(data, folder="photos", file_id=file_id, name="photo.png")
        sizes = [
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "width": 1,
                "height": 1,
                "file_size": len(data),
            }
        ]
        extra: dict[str, Any] = {"caption": caption} if caption is not None else {}
        return self._message(user_id, photo=sizes, **extra)

    def sticker(self, user_id: int, file_id: str | None, emoji: str) -> dict[str, Any]:
        """Return a sticker message update."""
        stored = self.world.add_file(b"RIFFwebp", folder="stickers", file_id=file_id)
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._message(user_id, sticker=sticker)

    def voice(
        self, user_id: int, file_id: str | None, duration: int, data: bytes
    ) -> dict[str, Any]:
        """Return a voice message update."""
        stored = self.world.add_file(data, folder="voice", file_id=file_id, name="voice.oga")
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(data),
        }
        return self._message(user_id, voice=voice)

    def location(self, user_id: int, latitude: float, longitude: float) -> dict[str, Any]:
        """Return a location message update."""
        return self._message(user_id, location={"latitude": latitude, "longitude": longitude})

    def document(
        self, user_id: int, file_id: str | None, file_name: str, mime_type: str, data: bytes
    ) -> dict[str, Any]:
        """Return a document message update."""
        stored = self.world.add_file(data, folder="documents", file_id=file_id, name=file_name)
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(data),
        }
        return self._message(user_id, document=document)

    def callback(
        self, user_id: int, data: str, message_id: int | None, *, check: bool = True
    ) -> dict[str, Any]:
        """Return a button press on a bot message (the last one in the chat by default)."""
        world = self.world
        sent = [m for m in world.bot_sent.get(user_id, []) if (user_id, m) not in world.deleted]
        if message_id is None:
            if not sent:
                raise AssertionError(f"the bot has sent no message to chat {user_id} to press on")
            message_id = sent[-1]
        message = world.messages.get((user_id, message_id))
        if message is None or (user_id, message_id) in world.deleted:
            raise AssertionError(f"no bot message {message_id} in chat {user_id} to press on")
        if check:
            shown = [d for _, d in inline_buttons(message)]
            if data not in shown:
                raise AssertionError(
                    f"message {message_id} in chat {user_id} has no button {data!r}; "
                    f"its buttons are {shown}"
                )
        query: dict[str, Any] = {
            "id": world.unique("cbq-"),
            "from": dict(world.user(user_id)),
            "message": public_message(message),
            "chat_instance": f"ci-{user_id}",
            "data": data,
        }
        world.callback_ids.append(query["id"])
        return {"callback_query": query}


def inline_buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    """Return (text, callback_data or url) of every inline button of a message, row by row."""
    markup = message.get("reply_markup") or {}
    result: list[tuple[str, str]] = []
    for row in markup.get("inline_keyboard", []):
        for button in row:
            payload = button.get("callback_data", button.get("url", ""))
            result.append((button["text"], payload))
    return result
