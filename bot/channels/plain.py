"""Rendering for channels without buttons or formatting: menus become numbered lines."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.core.fmt import to_plain
from bot.core.types import Button, Incoming, Reply

_NUMBERED = re.compile(r"^\d+\.\s")


@dataclass
class PlainSession:
    """Remembers the last buttons shown to one user, so a typed digit can press one."""

    buttons: list[Button] = field(default_factory=list)

    def render(self, replies: list[Reply]) -> list[str]:
        """Plain-text messages for `replies`; buttons become numbered lines.

        Buttons are numbered across all the replies of one answer (a vote under an answer,
        then the menu) so that every number typed back presses exactly the button shown.
        """
        out = []
        shown: list[Button] = []
        for reply in replies:
            text = to_plain(reply.text)
            written = {line.strip() for line in text.splitlines()}
            lines = []
            for button in (b for row in reply.buttons for b in row):
                shown.append(button)
                number = len(shown)
                label = _NUMBERED.sub("", button.label, count=1)  # labels are plain text
                if label.strip() == str(number):
                    continue  # a bare number button ("1") is already told by the message
                line = f"{number}. {label}"
                if line.rstrip("…") in written or any(
                    w.startswith(line.rstrip("…")) for w in written
                ):
                    continue  # the message already lists this option under the same number
                lines.append(line)
            if lines:
                text = f"{text}\n\n" + "\n".join(lines)
            if reply.audio_link:  # no audio in this app: a page that plays it
                text = f"{text}\n🎧 {reply.audio_link}"
            out.append(text)
        if shown:
            self.buttons = shown
        return out

    def press(self, msg: Incoming) -> Incoming:
        """Turn a typed digit into a press of the matching button of the last message."""
        typed = msg.text.strip()
        if (
            msg.kind == "text"
            and typed.isascii()
            and typed.isdigit()
            and 0 < int(typed) <= len(self.buttons)
        ):
            button = self.buttons[int(typed) - 1]
            return Incoming(
                channel=msg.channel,
                user_key=msg.user_key,
                kind="button",
                payload=button.payload,
                text=typed,
                display_name=msg.display_name,
                event_id=msg.event_id,
            )
        return msg


def parse_command(text: str) -> tuple[str, str] | None:
    """("start", "args") for "/start args" (also "/start@SomeBot"); None if not a command."""
    if not text.startswith("/") or len(text) < 2:
        return None
    head, _, args = text[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    if not name or not name.isascii() or not name.replace("_", "").isalnum():
        return None
    return name, args.strip()


def incoming_text(
    channel: str, user_key: str, text: str, *, display_name: str = "", event_id: str = ""
) -> Incoming:
    """An Incoming for typed text, recognising /commands."""
    command = parse_command(text.strip())
    if command:
        name, args = command
        return Incoming(
            channel,
            user_key,
            "command",
            text=text,
            command=name,
            args=args,
            display_name=display_name,
            event_id=event_id,
        )
    return Incoming(
        channel, user_key, "text", text=text, display_name=display_name, event_id=event_id
    )
