"""The fake's media senders: photos, documents, albums and the other send* methods."""

from __future__ import annotations

from typing import Any

from tests.fakes.base import MethodBase
from tests.fakes.gates import ApiError, bad_request
from tests.fakes.spec import UploadedFile
from tests.fakes.state import StoredFile

# method -> (parameter and Message field, spec type, folder of the file path)
_SIMPLE_MEDIA = {
    "sendDocument": ("document", "Document", "documents"),
    "sendAudio": ("audio", "Audio", "music"),
    "sendVideo": ("video", "Video", "videos"),
    "sendAnimation": ("animation", "Animation", "animations"),
    "sendVoice": ("voice", "Voice", "voice"),
    "sendVideoNote": ("video_note", "VideoNote", "video_notes"),
    "sendSticker": ("sticker", "Sticker", "stickers"),
}
_ALBUM_TYPES = {
    "photo": ("PhotoSize", "photos"),
    "video": ("Video", "videos"),
    "document": ("Document", "documents"),
    "audio": ("Audio", "music"),
}
_PLACEHOLDERS: dict[str, Any] = {"Integer": 1, "Float": 1.0, "Boolean": False, "String": "regular"}


class MediaMethods(MethodBase):
    """Implements sendPhoto, sendMediaGroup and the other media senders."""

    def media_handlers(self) -> dict[str, Any]:
        """Return the method table of the media senders."""
        table: dict[str, Any] = {
            "sendPhoto": self.send_photo,
            "sendMediaGroup": self.send_media_group,
            "sendLocation": self.send_location,
            "sendContact": self.send_contact,
        }
        for method in _SIMPLE_MEDIA:
            table[method] = lambda params, m=method: self.send_simple_media(m, params)
        return table

    def resolve_file(self, value: Any, folder: str, name: str) -> StoredFile:
        """Turn an InputFile-or-String value into a stored file, as Telegram would."""
        if isinstance(value, str) and value.startswith("attach://"):
            value = self.files[value.removeprefix("attach://")]
        if isinstance(value, UploadedFile):
            return self.world.add_file(value.data, folder=folder, name=value.filename or name)
        if value in self.world.files:
            return self.world.files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return self.world.add_file(b"(fetched by URL)", folder=folder, name=name)
        raise bad_request("wrong file identifier/HTTP URL specified")

    def media_object(self, type_name: str, stored: StoredFile, **extra: Any) -> dict[str, Any]:
        """Build a media object with every field the spec requires."""
        obj: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        for name, spec_field in self.spec.fields(type_name).items():
            if spec_field["required"] and name not in obj:
                obj[name] = _PLACEHOLDERS.get(spec_field["types"][0], "")
        obj.update(extra)
        return obj

    def send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        """Send a photo."""
        stored = self.resolve_file(params["photo"], "photos", "photo.jpg")
        message = self.new_bot_message(params)
        message["photo"] = [self.media_object("PhotoSize", stored, width=320, height=240)]
        self.with_caption(message, params)
        return self.world.store_bot_message(message)

    def send_simple_media(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send a document, audio, video, animation, voice, video note or sticker."""
        field, type_name, folder = _SIMPLE_MEDIA[method]
        value = params[field]
        stored = self.resolve_file(value, folder, field)
        extra: dict[str, Any] = {}
        if type_name in ("Document", "Audio", "Video", "Animation"):
            upload = value if isinstance(value, UploadedFile) else None
            extra["file_name"] = upload.filename if upload else stored.file_path.split("/")[-1]
            if upload is not None:
                extra["mime_type"] = upload.content_type
        message = self.new_bot_message(params)
        message[field] = self.media_object(type_name, stored, **extra)
        if method != "sendSticker":
            self.with_caption(message, params)
        return self.world.store_bot_message(message)

    def send_media_group(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Send an album of 2-10 photos, videos, documents or audios."""
        media = params["media"]
        if not 2 <= len(media) <= 10:
            raise bad_request("wrong number of media in the album: 2-10 items are allowed")
        kinds = {item["type"] for item in media}
        for lonely in ("document", "audio"):
            if lonely in kinds and len(kinds) > 1:
                raise bad_request(f"{lonely} can't be mixed with other media types")
        if not kinds <= set(_ALBUM_TYPES):
            raise ApiError(501, f"Not Implemented: the fake cannot send albums of {kinds}")
        group_id = self.world.unique("album-")
        messages = []
        for item in media:
            type_name, folder = _ALBUM_TYPES[item["type"]]
            stored = self.resolve_file(item["media"], folder, item["type"])
            message = self.new_bot_message(params)
            message["media_group_id"] = group_id
            obj = self.media_object(type_name, stored)
            message[item["type"]] = [obj] if item["type"] == "photo" else obj
            self.with_caption(message, item)
            messages.append(message)
        return [self.world.store_bot_message(m) for m in messages]

    def send_location(self, params: dict[str, Any]) -> dict[str, Any]:
        """Send a map point."""
        message = self.new_bot_message(params)
        message["location"] = {"latitude": params["latitude"], "longitude": params["longitude"]}
        return self.world.store_bot_message(message)

    def send_contact(self, params: dict[str, Any]) -> dict[str, Any]:
        """Send a phone contact."""
        message = self.new_bot_message(params)
        contact = {"phone_number": params["phone_number"], "first_name": params["first_name"]}
        if params.get("last_name"):
            contact["last_name"] = params["last_name"]
        message["contact"] = contact
        return self.world.store_bot_message(message)
