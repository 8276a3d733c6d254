"""Telegram's formatting and keyboard rules: HTML entity parsing, text limits, button checks."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_MAX_BYTES = 64
CALLBACK_ANSWER_LIMIT = 200

# Tag -> entity type; span and tg-emoji are special-cased below.
_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
# Telegram knows only these named entities; numeric ones are all accepted.
_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_NAME_RE = re.compile(r"[a-zA-Z0-9-]*")
_ATTR_NAME_RE = re.compile(r"[a-zA-Z0-9_-]*")
_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_KEYBOARD_REQUESTS = (
    "request_users",
    "request_chat",
    "request_managed_bot",
    "request_contact",
    "request_location",
    "request_poll",
    "web_app",
)
_BOT_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
PARSE_MODES = {"html", "markdown", "markdownv2"}


class EntityParseError(ValueError):
    """Raised with Telegram's wording when formatted text cannot be parsed."""


@dataclass
class _Open:
    """A start tag waiting for its end tag."""

    name: str
    entity: dict[str, Any]
    offset: int


@dataclass
class _Parser:
    """State of one HTML parse: the plain text so far and the entities found."""

    source: str
    out: list[str] = field(default_factory=list)
    utf16: int = 0
    entities: list[dict[str, Any]] = field(default_factory=list)
    stack: list[_Open] = field(default_factory=list)

    def emit(self, text: str) -> None:
        """Append plain text, tracking its length in UTF-16 code units like Telegram."""
        self.out.append(text)
        self.utf16 += len(text.encode("utf-16-le")) // 2

    def byte_offset(self, index: int) -> int:
        """Return the UTF-8 byte offset of a character index, as Telegram reports it."""
        return len(self.source[:index].encode("utf-8"))


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML into plain text and MessageEntity dicts, or raise EntityParseError."""
    parser = _Parser(text)
    i = 0
    while i < len(text):
        char = text[i]
        if char == "&":
            i = _entity(parser, i)
        elif char == "<" and text.startswith("</", i):
            i = _end_tag(parser, i)
        elif char == "<":
            i = _start_tag(parser, i)
        else:
            end = i
            while end < len(text) and text[end] not in "&<":
                end += 1
            parser.emit(text[i:end])
            i = end
    if parser.stack:
        name = parser.stack[-1].name
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{name}"')
    parser.entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(parser.out), parser.entities


def _entity(parser: _Parser, i: int) -> int:
    """Decode one HTML entity at index i; a bare '&' is rejected."""
    match = _ENTITY_RE.match(parser.source, i)
    if match is None:
        raise EntityParseError(
            f"Unsupported HTML entity at byte offset {parser.byte_offset(i)}: "
            "a bare '&' must be written as &amp;"
        )
    if match.group(1):
        parser.emit(html.unescape(match.group(0)))
    else:
        code = int(match.group(2)) if match.group(2) else int(match.group(3), 16)
        parser.emit(chr(code) if 0 < code <= 0x10FFFF else "\ufffd")
    return match.end()


def _start_tag(parser: _Parser, i: int) -> int:
    """Parse a start tag with its attributes and open its entity."""
    text = parser.source
    offset = parser.byte_offset(i)
    name_match = _NAME_RE.match(text, i + 1)
    assert name_match is not None  # the pattern also matches the empty string
    name = name_match.group(0).lower()
    if name not in _HTML_TAGS:
        raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
    attrs, j = _attributes(parser, name_match.end(), name, offset)
    entity = _tag_entity(name, attrs, offset)
    parser.stack.append(_Open(name, entity, parser.utf16))
    return j


def _attributes(parser: _Parser, j: int, tag: str, offset: int) -> tuple[dict[str, str], int]:
    """Parse the attributes of a start tag up to and including '>'."""
    text = parser.source
    attrs: dict[str, str] = {}
    while True:
        while j < len(text) and text[j].isspace():
            j += 1
        if j >= len(text):
            raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
        if text[j] == ">":
            return attrs, j + 1
        attr_match = _ATTR_NAME_RE.match(text, j)
        assert attr_match is not None
        attr = attr_match.group(0).lower()
        if not attr:
            raise EntityParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {offset}'
            )
        j = attr_match.end()
        value = ""
        if j < len(text) and text[j] == "=":
            value, j = _attribute_value(text, j + 1, offset)
        attrs[attr] = value


def _attribute_value(text: str, j: int, offset: int) -> tuple[str, int]:
    """Parse a quoted or bare attribute value starting at index j."""
    if j < len(text) and text[j] in "\"'":
        end = text.find(text[j], j + 1)
        if end < 0:
            raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
        return html.unescape(text[j + 1 : end]), end + 1
    end = j
    while end < len(text) and not text[end].isspace() and text[end] != ">":
        end += 1
    return html.unescape(text[j:end]), end


def _tag_entity(name: str, attrs: dict[str, str], offset: int) -> dict[str, Any]:
    """Build the entity a start tag opens, enforcing the attributes Telegram requires."""
    entity: dict[str, Any] = {"type": _HTML_TAGS[name]}
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
    if name == "a" and attrs.get("href"):
        entity["url"] = attrs["href"]
    if name == "tg-emoji":
        if not attrs.get("emoji-id"):
            raise EntityParseError(
                f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {offset}'
            )
        entity["custom_emoji_id"] = attrs["emoji-id"]
    if name == "code" and attrs.get("class", "").startswith("language-"):
        entity["language"] = attrs["class"].removeprefix("language-")
    if name == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    return entity


def _end_tag(parser: _Parser, i: int) -> int:
    """Parse an end tag and close the entity it matches."""
    text = parser.source
    offset = parser.byte_offset(i)
    name_match = _NAME_RE.match(text, i + 2)
    assert name_match is not None
    name = name_match.group(0).lower()
    j = name_match.end()
    while j < len(text) and text[j].isspace():
        j += 1
    if j >= len(text) or text[j] != ">":
        raise EntityParseError(f"Unclosed end tag at byte offset {offset}")
    if not parser.stack:
        raise EntityParseError(f'Unexpected end tag "{name}" at byte offset {offset}')
    opened = parser.stack.pop()
    if opened.name != name:
        raise EntityParseError(
            f"Unmatched end tag at byte offset {offset}, "
            f'expected "</{opened.name}>", found "</{name}>"'
        )
    _close(parser, opened)
    return j + 1


def _close(parser: _Parser, opened: _Open) -> None:
    """Record the entity of a closed tag, merging code-inside-pre into a pre with language."""
    length = parser.utf16 - opened.offset
    entity = dict(opened.entity, offset=opened.offset, length=length)
    if entity["type"] == "text_link" and "url" not in entity:
        entity["type"] = "url"  # <a> without href: Telegram links the text itself
    if entity["type"] == "pre" and parser.entities:
        inner = parser.entities[-1]
        same_span = inner["offset"] == opened.offset and inner["length"] == length
        if inner["type"] == "code" and same_span:
            parser.entities.pop()
            if "language" in inner:
                entity["language"] = inner["language"]
    if length > 0:
        parser.entities.append(entity)


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Apply a parse_mode to text, returning plain text and entities (EntityParseError)."""
    if not parse_mode:
        return text, []
    mode = parse_mode.lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        from tests.fakes.markdown import parse_markdown_v2

        return parse_markdown_v2(text)
    if mode == "markdown":
        return re.sub(r"[*_`\[\]]", "", text), []
    raise ValueError("unsupported parse_mode")


def text_length(text: str) -> int:
    """Count characters the way Telegram's limits do (Unicode code points)."""
    return len(text)


def check_inline_button(button: dict[str, Any]) -> list[str]:
    """Hold an InlineKeyboardButton to Telegram's rules."""
    errors: list[str] = []
    if not str(button.get("text", "")).strip():
        errors.append("BUTTON_TEXT_INVALID")
    actions = [a for a in _INLINE_ACTIONS if a in button]
    if not actions:
        errors.append("Text buttons are unallowed in the inline keyboard")
    elif len(actions) > 1:
        errors.append(f"inline keyboard button must have exactly one action, got {actions}")
    data = button.get("callback_data")
    if isinstance(data, str):
        size = len(data.encode("utf-8"))
        if not 1 <= size <= CALLBACK_DATA_MAX_BYTES:
            errors.append("BUTTON_DATA_INVALID")
    url = button.get("url")
    if isinstance(url, str) and not re.match(r"(https?|tg)://\S+$", url):
        errors.append("BUTTON_URL_INVALID")
    return errors


# A button label is plain text: Telegram shows "&lt;" as those four characters. Our own rule,
# not Telegram's (it accepts them): a label with an entity means the bot escaped it for HTML.
_LABEL_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#[xX][0-9a-fA-F]+);")


def escaped_labels(params: dict[str, Any]) -> list[str]:
    """Button labels of a call's reply_markup that hold HTML entities."""
    markup = params.get("reply_markup")
    if not isinstance(markup, dict):
        return []
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    labels = [str(b.get("text", "")) for row in rows for b in row if isinstance(b, dict)]
    return [label for label in labels if _LABEL_ENTITY.search(label)]


def check_keyboard_button(button: dict[str, Any]) -> list[str]:
    """Hold a reply KeyboardButton to Telegram's rules."""
    errors: list[str] = []
    if not str(button.get("text", "")).strip():
        errors.append("BUTTON_TEXT_INVALID")
    requests = [r for r in _KEYBOARD_REQUESTS if button.get(r)]
    if len(requests) > 1:
        errors.append(f"keyboard button can request only one thing, got {requests}")
    return errors


def check_bot_command(command: dict[str, Any]) -> list[str]:
    """Hold a BotCommand to Telegram's rules (lower-case name, 1-256 char description)."""
    errors: list[str] = []
    if not _BOT_COMMAND_RE.fullmatch(str(command.get("command", ""))):
        errors.append("BOT_COMMAND_INVALID")
    if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
        errors.append("BOT_COMMAND_DESCRIPTION_INVALID")
    return errors


TYPE_CHECKS = {
    "InlineKeyboardButton": check_inline_button,
    "KeyboardButton": check_keyboard_button,
    "BotCommand": check_bot_command,
}
