"""Shape checks for Zalo webhook bodies: what is wrong with one, before anything handles it.

Zalo disables a webhook that keeps failing, so a malformed event is acknowledged, logged once
and skipped, rather than crashing a handler (or being answered with an error) every time.
"""

from __future__ import annotations

from typing import Any


def _has_id(value: Any, name: str) -> str | None:
    if not isinstance(value, dict):
        return f"{name} is not an object"
    ident = value.get("id")
    if isinstance(ident, bool) or not isinstance(ident, str | int) or ident == "":
        return f"{name}.id is missing"
    return None


def oa_event_problem(data: Any) -> str | None:
    """Why a signed Zalo OA event cannot be handled, or None when it can."""
    if not isinstance(data, dict):
        return "the event is not a JSON object"
    event = data.get("event_name")
    if not isinstance(event, str) or not event:
        return "event_name is missing"
    if event in ("follow", "unfollow"):
        return _has_id(data.get("follower") or data.get("sender"), "follower")
    if not event.startswith("user_send_"):
        return None  # events we do not handle are skipped without complaint
    problem = _has_id(data.get("sender"), "sender")
    if problem:
        return problem
    message = data.get("message") or {}
    if not isinstance(message, dict):
        return "message is not an object"
    attachments = message.get("attachments") or []
    if not isinstance(attachments, list):
        return "message.attachments is not a list"
    for attachment in attachments:
        if not isinstance(attachment, dict):
            return "an attachment is not an object"
        if not isinstance(attachment.get("payload") or {}, dict):
            return "an attachment's payload is not an object"
    return None


def bot_update_problem(update: Any) -> str | None:
    """Why a Zalo Bot update cannot be handled, or None when it can."""
    if not isinstance(update, dict):
        return "the update is not a JSON object"
    if "message" not in update:
        return None
    message = update["message"]
    if not isinstance(message, dict):
        return "message is not an object"
    for name in ("chat", "from"):
        if not isinstance(message.get(name) or {}, dict):
            return f"message.{name} is not an object"
    return None
