"""A MarkdownV2 parser that rejects what Telegram rejects (unescaped reserved characters)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.fakes.markup import EntityParseError

_RESERVED = set("_*[]()~`>#+-=|{}.!")
_TOGGLES = {"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough", "||": "spoiler"}
_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
    "code": "Code",
    "pre": "Pre",
}


def _name(kind: str) -> str:
    """Name an entity kind the way Telegram's errors do ("pre:python" is a pre)."""
    return _NAMES[kind.partition(":")[0]]


@dataclass
class _State:
    """Plain text built so far, open entities and finished ones."""

    source: str
    out: list[str] = field(default_factory=list)
    utf16: int = 0
    stack: list[tuple[str, int, int]] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)

    def emit(self, text: str) -> None:
        """Append plain text, counting UTF-16 code units."""
        self.out.append(text)
        self.utf16 += len(text.encode("utf-16-le")) // 2

    def byte_offset(self, index: int) -> int:
        """Return the UTF-8 byte offset of a character index."""
        return len(self.source[:index].encode("utf-8"))

    def toggle(self, kind: str, index: int) -> None:
        """Open an entity, or close it when it is the innermost open one."""
        if self.stack and self.stack[-1][0] == kind:
            self.close()
        elif any(open_kind == kind for open_kind, _, _ in self.stack):
            open_kind, _, at = self.stack[-1]
            raise EntityParseError(
                f"Can't find end of {_name(open_kind)} entity at byte offset {at}"
            )
        else:
            self.stack.append((kind, self.utf16, self.byte_offset(index)))

    def close(self, **extra: Any) -> None:
        """Close the innermost open entity."""
        kind, start, _ = self.stack.pop()
        if self.utf16 > start:
            self.entities.append(
                {"type": kind, "offset": start, "length": self.utf16 - start, **extra}
            )


def parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse MarkdownV2 into plain text and entities, or raise EntityParseError."""
    state = _State(text)
    i = 0
    while i < len(text):
        i = _step(state, i)
    if state.stack:
        kind, _, at = state.stack[-1]
        raise EntityParseError(f"Can't find end of {_name(kind)} entity at byte offset {at}")
    state.entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(state.out), state.entities


def _step(state: _State, i: int) -> int:
    """Consume the token at index i and return the index after it."""
    text = state.source
    char = text[i]
    in_code = bool(state.stack) and state.stack[-1][0].partition(":")[0] in ("code", "pre")
    if char == "\\" and i + 1 < len(text) and 0 < ord(text[i + 1]) < 127:
        state.emit(text[i + 1])
        return i + 2
    if in_code:
        return _code_step(state, i)
    if char == "`":
        if text.startswith("```", i):
            newline = text.find("\n", i + 3)
            language = text[i + 3 : newline].strip() if newline >= 0 else ""
            state.stack.append(("pre", state.utf16, state.byte_offset(i)))
            if language:
                state.stack[-1] = ("pre:" + language, state.utf16, state.byte_offset(i))
            return newline + 1 if newline >= 0 else i + 3
        state.stack.append(("code", state.utf16, state.byte_offset(i)))
        return i + 1
    for marker in ("__", "||", "*", "_", "~"):
        if text.startswith(marker, i):
            state.toggle(_TOGGLES[marker], i)
            return i + len(marker)
    if char == "[":
        state.stack.append(("text_link", state.utf16, state.byte_offset(i)))
        return i + 1
    if char == "]" and state.stack and state.stack[-1][0] == "text_link":
        return _link_end(state, i)
    if char == ">" and (i == 0 or text[i - 1] == "\n"):
        return i + 1  # a blockquote line marker
    if char in _RESERVED:
        raise EntityParseError(
            f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
        )
    state.emit(char)
    return i + 1


def _code_step(state: _State, i: int) -> int:
    """Consume one character inside code or pre, where only ` and \\ are special."""
    text = state.source
    kind = state.stack[-1][0]
    if kind.startswith("pre") and text.startswith("```", i):
        language = kind.partition(":")[2]
        state.stack[-1] = ("pre", *state.stack[-1][1:])
        state.close(**({"language": language} if language else {}))
        return i + 3
    if kind == "code" and text[i] == "`":
        state.close()
        return i + 1
    state.emit(text[i])
    return i + 1


def _link_end(state: _State, i: int) -> int:
    """Finish a [text](url) link whose ']' is at index i."""
    text = state.source
    if not text.startswith("(", i + 1):
        raise EntityParseError(
            "Character ']' is reserved and must be escaped with the preceding '\\'"
        )
    url: list[str] = []
    j = i + 2
    while j < len(text) and text[j] != ")":
        if text[j] == "\\" and j + 1 < len(text):
            j += 1
        url.append(text[j])
        j += 1
    if j >= len(text):
        at = state.stack[-1][2]
        raise EntityParseError(f"Can't find end of a URL at byte offset {at}")
    state.close(url="".join(url))
    return j + 1
