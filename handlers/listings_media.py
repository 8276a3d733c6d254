"""The listing form's photo and certification questions (several answers each)."""

from __future__ import annotations

import re
from dataclasses import asdict, replace
from typing import Any

from bot.core.flow import (
    Ask,
    Choice,
    Ctx,
    Outcome,
    Retry,
    Stay,
    choice_buttons,
    is_text,
    match_choice,
)
from bot.core.fmt import esc
from bot.core.types import Incoming, Reply
from bot.i18n import _
from bot.services.listings import CERT_NUMBER_MAX, PHOTOS_MAX, Certs
from bot.services.share import certs_text
from bot.text import clean
from handlers.listings_base import after, is_skip, skip_button

_SEPARATORS = re.compile(r"[,;+\n]|\b(?:và|va|với|voi|and)\b", re.IGNORECASE)

# --- photos -------------------------------------------------------------------------------


def _photos(ctx: Ctx) -> list[str]:
    photos = ctx.data.setdefault("photos", [])
    assert isinstance(photos, list)
    return photos


def _photo_choices(ctx: Ctx) -> list[Choice]:
    photos = ctx.data.get("photos") or []
    if not photos:
        return [Choice("lf:skip", _("Skip (no photos)"), ("bo qua", "khong", "skip"))]
    choices = [Choice("lf:done", _("✅ Done"), ("xong", "done", "ok", "het", "du roi"))]
    if ctx.data.get("editing") or ctx.data.get("listing_id"):
        choices.append(Choice("lf:clear", _("🗑 Remove all photos"), ("xoa anh", "xoa het")))
    return choices


def ask_photos(ctx: Ctx) -> list[Reply]:
    count = len(ctx.data.get("photos") or [])
    text = _(
        "Send 1 to {max} photos of the product (clear, in daylight). Tap Skip if you have none."
    )
    text = text.format(max=PHOTOS_MAX)
    if count:
        text += "\n" + _("{count} photo(s) so far. Send more, or tap Done.").format(count=count)
    return [Reply(text, buttons=choice_buttons(_photo_choices(ctx)))]


async def answer_photos(ctx: Ctx, msg: Incoming) -> Outcome:
    photos = _photos(ctx)
    if msg.kind == "photo" and msg.photo:
        if len(photos) >= PHOTOS_MAX:
            refused = _("You already have {max} photos, the most allowed; this one was not added.")
            return Stay(
                [
                    Reply(
                        refused.format(max=PHOTOS_MAX), buttons=choice_buttons(_photo_choices(ctx))
                    )
                ]
            )
        photos.append(msg.photo)
        got = _("Photo {count} of at most {max} received. Send another, or tap Done.")
        return Stay(
            [
                Reply(
                    got.format(count=len(photos), max=PHOTOS_MAX),
                    buttons=choice_buttons(_photo_choices(ctx)),
                )
            ]
        )
    choice = match_choice(msg, _photo_choices(ctx))
    if choice is None:
        return Retry(
            _("Please send a photo (use the 📎 or camera button), or tap the button below.")
        )
    if choice.key == "lf:clear":
        photos.clear()
        return Ask("photos")
    if choice.key == "lf:skip":
        photos.clear()
    return await after(ctx, "photos")


# --- certifications -----------------------------------------------------------------------


def _certs(ctx: Ctx) -> Certs:
    raw: dict[str, Any] = ctx.data.get("certs") or {}
    return Certs(**raw)


def _cert_choices(ctx: Ctx) -> list[Choice]:
    certs = _certs(ctx)

    def mark(on: bool, label: str) -> str:
        return ("✅ " if on else "") + label

    stars = [
        Choice(
            f"lf:c:ocop{n}",
            mark(certs.ocop == n, _("OCOP {stars} stars").format(stars=n)),
            (f"ocop {n}", f"ocop {n} sao", f"{n} sao"),
        )
        for n in (3, 4, 5)
    ]
    return [
        *stars,
        Choice("lf:c:vietgap", mark(certs.vietgap, "VietGAP"), ("viet gap",)),
        Choice("lf:c:globalgap", mark(certs.globalgap, "GlobalGAP"), ("global gap",)),
        Choice("lf:c:organic", mark(certs.organic, _("Organic")), ("huu co", "organic")),
        Choice("lf:c:none", _("None"), ("khong co", "khong", "ko", "none")),
        Choice("lf:c:done", _("✅ Done"), ("xong", "done", "ok", "het")),
    ]


def ask_certs(ctx: Ctx) -> list[Reply]:
    text = _(
        "Does the product have certifications? Tap each one it has (several allowed), "
        "then Done. Tap None if it has none."
    )
    chosen = certs_text(_certs(ctx))
    if chosen:
        text += "\n" + _("Chosen:") + " " + esc(chosen)
    return [Reply(text, buttons=choice_buttons(_cert_choices(ctx), columns=2))]


def _toggle(certs: Certs, key: str) -> Certs:
    """The certifications after tapping one of them."""
    if key.startswith("ocop"):
        stars = int(key[-1])
        return replace(certs, ocop=0 if certs.ocop == stars else stars)
    flipped: dict[str, Any] = {key: not getattr(certs, key)}
    return replace(certs, **flipped)


async def answer_certs(ctx: Ctx, msg: Incoming) -> Outcome:
    choices = _cert_choices(ctx)
    picked = [match_choice(msg, choices)]
    if picked[0] is None and is_text(msg):  # typed several: "ocop 4 sao, vietgap"
        parts = [p for p in _SEPARATORS.split(msg.text) if p.strip()]
        picked = [match_choice(replace(msg, text=p), choices) for p in parts]
    if not picked or any(c is None for c in picked):
        return Retry(_("Please tap the certifications the product has, then Done (or None)."))
    certs = _certs(ctx)
    toast = ""
    for choice in picked:
        assert choice is not None
        key = choice.key.removeprefix("lf:c:")
        if key == "none":
            ctx.data["certs"] = asdict(Certs())
            return await after(ctx, "certs")
        if key == "done":
            if certs.any():
                return Ask("cert_number")
            ctx.data["certs"] = asdict(Certs())
            return await after(ctx, "certs")
        certs = _toggle(certs, key)
        toast = _("Chosen: {certs}").format(certs=certs_text(certs) or _("none"))
    ctx.data["certs"] = asdict(certs)
    return Ask("certs", toast=toast, redraw=True)


def ask_cert_number(ctx: Ctx) -> list[Reply]:
    text = _("The certificate number, if you have it (buyers trust it more) — or tap Skip.")
    number = _certs(ctx).number
    if number:
        text += "\n" + _("Now:") + " " + esc(number)
    return [Reply(text, buttons=skip_button())]


async def answer_cert_number(ctx: Ctx, msg: Incoming) -> Outcome:
    certs = _certs(ctx)
    if is_skip(msg):
        ctx.data["certs"] = asdict(replace(certs, number=""))
        return await after(ctx, "cert_number")
    if not is_text(msg):
        return Retry(_("Please type the certificate number, or tap Skip."))
    number = clean(msg.text)
    if len(number) > CERT_NUMBER_MAX:
        return Retry(_("That is too long (at most {max} characters).").format(max=CERT_NUMBER_MAX))
    ctx.data["certs"] = asdict(replace(certs, number=number))
    return await after(ctx, "cert_number")
