"""Đăng bán: the guided form that puts a product on sale, one question per message.

The same questions edit one field: from the summary (data "editing") or of a stored
listing (data "listing_id", started from "Tin đăng của tôi").
"""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.core.flow import (
    Ask,
    Choice,
    Ctx,
    Done,
    Flow,
    MenuEntry,
    Outcome,
    Retry,
    State,
    choice_buttons,
    is_text,
    match_choice,
)
from bot.core.fmt import fmt, label
from bot.core.types import Button, Incoming, Reply
from bot.i18n import N_, _, format_vnd
from bot.services.catalog import Entry
from bot.services.listings import (
    AVAILABILITY_MAX,
    AVAILABLE_NOW,
    DESCRIPTION_MAX,
    GRADE_MAX,
    MAX_ACTIVE_PER_FARMER,
    PRICE_MAX,
    PRICE_MIN,
    PRODUCT_NAME_MAX,
)
from bot.services.share import card_text, unit_name
from bot.services.users import FARMER
from bot.text import Price as TypedPrice
from bot.text import clean, fold, parse_number, parse_price, parse_quantity, price_per_unit
from handlers import listings_media as media
from handlers.listings_base import (
    EDITABLE,
    NEXT,
    after,
    cats,
    draft,
    is_skip,
    not_positive,
    owner_phone,
    quantity_problem,
    skip_button,
)
from handlers.listings_price import STATES as PRICE_STATES
from handlers.listings_price import apply_correction, check_price

log = logging.getLogger(__name__)

PRODUCT_BUTTONS = 12
PRODUCT_SURE = 80.0  # a loose match at least this good is offered as "did you mean"
LIMIT_TEXT = N_(
    "You already have {max} listings on sale, the most allowed. "
    "Pause or delete one in “My listings” first."
)


# --- product ------------------------------------------------------------------------------


def _product_choices(ctx: Ctx) -> list[Choice]:
    products = ctx.services.products.entries
    mine = [p for p in products if p.id in ctx.user.crops]
    others = [p for p in products if p.id not in ctx.user.crops]
    return [Choice(f"lf:p:{p.id}", p.name) for p in [*mine, *others][:PRODUCT_BUTTONS]]


def ask_product(ctx: Ctx) -> list[Reply]:
    if ctx.user.role != FARMER and not ctx.is_admin:
        text = _("Only sellers can post listings. You can change to selling in your profile.")
        return [Reply(text, buttons=[[Button(_("Main menu"), "sys:menu")]])]
    text = _("What are you selling? Tap a product, or type its name (e.g. <i>na chi lang</i>).")
    return [Reply(text, buttons=choice_buttons(_product_choices(ctx), columns=2))]


def _set_product(ctx: Ctx, product_id: str, name: str) -> None:
    ctx.data["product_id"], ctx.data["product_name"] = product_id, name
    ctx.data.pop("pick", None)
    ctx.data.pop("typed", None)


async def answer_product(ctx: Ctx, msg: Incoming) -> Outcome:
    if ctx.user.role != FARMER and not ctx.is_admin:
        return Done()
    listings = ctx.services.listings
    new = not ctx.data.get("listing_id") and not ctx.data.get("editing")
    if new and listings.count_active(ctx.user.id) >= MAX_ACTIVE_PER_FARMER:
        return Done([Reply(_(LIMIT_TEXT).format(max=MAX_ACTIVE_PER_FARMER))])
    products = ctx.services.products
    if msg.kind == "button" or (is_text(msg) and fold(msg.text).isdigit()):
        choice = match_choice(msg, _product_choices(ctx))
        if choice is None:
            return Retry(_("Please tap one of the products, or type the name of yours."))
        pid = choice.key.removeprefix("lf:p:")
        _set_product(ctx, pid, products.name(pid))
        return await after(ctx, "product")
    if not is_text(msg):
        return Retry(_("Please type the name of the product, or tap one of the buttons."))
    name = clean(msg.text)
    if len(name) > PRODUCT_NAME_MAX:
        too_long = _("That name is too long (at most {max} characters). Please shorten it.")
        return Retry(too_long.format(max=PRODUCT_NAME_MAX))
    entry = products.exact(name)
    if entry is not None:
        _set_product(ctx, entry.id, entry.name)
        return await after(ctx, "product")
    likely = _likely_specialty(ctx, name)
    if likely is not None:
        ctx.data["pick"], ctx.data["typed"] = likely.id, name
        return Ask("product_pick")
    _set_product(ctx, "", name)
    return await after(ctx, "product")


def _likely_specialty(ctx: Ctx, name: str) -> Entry | None:
    """A specialty the typed name probably means: a near spelling, or its name inside."""
    products = ctx.services.products
    matches = products.match(name, limit=1)
    if matches and matches[0].score >= PRODUCT_SURE:
        return matches[0].entry
    typed = f" {fold(name)} "
    inside = [e for e in products.entries if f" {fold(e.name)} " in typed]
    return max(inside, key=lambda e: len(e.name), default=None)


def _pick_choices(ctx: Ctx) -> list[Choice]:
    pid = ctx.data.get("pick", "")
    keep = label(_("No, keep “{name}”"), name=ctx.data.get("typed", ""))
    return [
        Choice("lf:pick", ctx.services.products.name(pid), ("co", "dung", "yes", "u", "ok")),
        Choice("lf:keep", keep, ("khong", "giu", "no", "ko")),
    ]


def ask_product_pick(ctx: Ctx) -> list[Reply]:
    text = fmt(
        _("Is it the local specialty <b>{name}</b>? Buyers find specialties more easily."),
        name=ctx.services.products.name(ctx.data.get("pick", "")),
    )
    return [Reply(text, buttons=choice_buttons(_pick_choices(ctx)))]


async def answer_product_pick(ctx: Ctx, msg: Incoming) -> Outcome:
    choice = match_choice(msg, _pick_choices(ctx))
    if choice is None:
        if is_text(msg):
            return await answer_product(ctx, msg)  # a new name typed instead
        return Retry(_("Please choose 1 (the specialty) or 2 (keep your name)."))
    if choice.key == "lf:pick":
        pid = ctx.data.get("pick", "")
        _set_product(ctx, pid, ctx.services.products.name(pid))
    else:
        _set_product(ctx, "", ctx.data.get("typed", ""))
    return await after(ctx, "product")


# --- grade --------------------------------------------------------------------------------


def ask_grade(ctx: Ctx) -> list[Reply]:
    text = _("Grade or variety? (e.g. <i>loại 1</i>, <i>na dai</i>) — or tap Skip.")
    return [Reply(text, buttons=skip_button())]


async def answer_grade(ctx: Ctx, msg: Incoming) -> Outcome:
    if is_skip(msg):
        ctx.data["grade"] = ""
        return await after(ctx, "grade")
    if not is_text(msg):
        return Retry(_("Please type the grade or variety, or tap Skip."))
    moved = _not_a_grade(ctx, msg.text)
    if moved:  # "một tạ", "45k": an amount or a price, taken as that field, and said so
        return Ask("grade", [Reply(moved)])
    grade = clean(msg.text)
    if len(grade) > GRADE_MAX:
        return Retry(_("That is too long (at most {max} characters).").format(max=GRADE_MAX))
    ctx.data["grade"] = grade
    return await after(ctx, "grade")


def _not_a_grade(ctx: Ctx, text: str) -> str:
    """Take a text that is an amount or a price as that field; say what changed ("" if not)."""
    prefilled = list(ctx.data.get("prefilled") or [])
    quantity = parse_quantity(text)
    if quantity is not None and quantity.unit:
        amount = format(quantity.amount.normalize(), "f")
        said = apply_correction(ctx, {"correct": "quantity", "qty": amount, "unit": quantity.unit})
        ctx.data["prefilled"] = [*prefilled, "quantity"]
        return said
    price = parse_price(text)
    if price is None or not any(ch.isalpha() for ch in fold(text)):
        return ""  # "1", "2": a grade's number, not a price
    unit = str(ctx.data.get("unit") or default_unit(ctx) or "kg")
    per_unit = price_per_unit(price, unit)
    if per_unit is None or not PRICE_MIN <= per_unit <= PRICE_MAX:
        return ""
    # Checked against the usual range when the form reaches the price (next_state).
    ctx.data.pop("price", None)
    ctx.data["price_typed"], ctx.data["unit"] = per_unit, unit
    ctx.data["prefilled"] = [step for step in prefilled if step != "price"]
    return fmt(
        _("Changed: price {price} per {unit}."), price=format_vnd(per_unit), unit=unit_name(unit)
    )


# --- quantity -----------------------------------------------------------------------------


def default_unit(ctx: Ctx) -> str | None:
    """The unit a listed specialty is usually sold by (None for a typed product)."""
    entry = ctx.services.products.get(ctx.data.get("product_id", ""))
    return str(entry.get("default_unit")) if entry and entry.get("default_unit") else None


def ask_quantity(ctx: Ctx) -> list[Reply]:
    unit = default_unit(ctx)
    text = _(
        "How much do you have for sale? Type the amount and unit, "
        "e.g. <i>200 kg</i>, <i>2 tạ</i>, <i>50 hộp</i>."
    )
    if unit:
        text += "\n" + fmt(_("A number alone means {unit}."), unit=unit_name(unit))
    return [Reply(text)]


async def answer_quantity(ctx: Ctx, msg: Incoming) -> Outcome:
    if not is_text(msg):
        return Retry(_("Please type the amount with its unit, e.g. 200 kg."))
    quantity = parse_quantity(msg.text, default_unit(ctx))
    if quantity is None:
        number = parse_number(msg.text)
        if not_positive(msg.text):
            return Retry(_("The amount must be more than 0."))
        if number is not None:
            return Retry(_("Please add the unit, e.g. 200 kg, 50 hộp or 30 túi."))
        return Retry(_("I could not read that amount. Please type e.g. 200 kg, 2 tạ or 50 hộp."))
    old_unit = ctx.data.get("unit")
    if ctx.data.get("listing_id"):
        problem = quantity_problem(
            ctx, int(ctx.data["listing_id"]), quantity.amount, quantity.unit, old_unit or ""
        )
        if problem:
            return Retry(problem)
    ctx.data["quantity"], ctx.data["unit"] = str(quantity.amount), quantity.unit
    ctx.data["quantity_changed"] = True
    typed = ctx.data.get("price_typed")  # a request's price not yet checked: it follows too
    if typed and old_unit and old_unit != quantity.unit:
        moved = price_per_unit(TypedPrice(int(typed), old_unit), quantity.unit)
        if moved is None or not PRICE_MIN <= moved <= PRICE_MAX:
            ctx.data.pop("price_typed")
        else:
            ctx.data["price_typed"] = moved
    price = ctx.data.get("price")
    if price and old_unit and old_unit != quantity.unit:
        converted = price_per_unit(TypedPrice(int(price), old_unit), quantity.unit)
        if converted is None or not PRICE_MIN <= converted <= PRICE_MAX:
            note = fmt(
                _("You now sell by {unit}: please type the price per {unit}."),
                unit=unit_name(quantity.unit),
            )
            return Ask("price", [Reply(note)])
        ctx.data["price"] = converted
    return await after(ctx, "quantity")


# --- price --------------------------------------------------------------------------------


def ask_price(ctx: Ctx) -> list[Reply]:
    unit = unit_name(ctx.data.get("unit", "kg"))
    text = fmt(
        _(
            "Price per {unit}? Type it as you usually do, "
            "e.g. <i>45k</i>, <i>45.000đ</i> or <i>1,2 triệu một tạ</i>."
        ),
        unit=unit,
    )
    return [Reply(text)]


async def answer_price(ctx: Ctx, msg: Incoming) -> Outcome:
    if not is_text(msg):
        return Retry(_("Please type the price in numbers, e.g. 45k or 45.000."))
    unit = ctx.data.get("unit", "kg")
    price = parse_price(msg.text)
    if price is None:
        if not_positive(msg.text):
            return Retry(_("The price must be more than 0 đồng."))
        return Retry(_("I could not read that price. Please type e.g. 45k, 45.000 or 1,2 triệu."))
    per_unit = price_per_unit(price, unit)
    if per_unit is None:
        wrong = _(
            "That price is per {typed}, but you sell by {unit}. Please type the price per {unit}."
        )
        return Retry(fmt(wrong, typed=unit_name(price.unit or ""), unit=unit_name(unit)))
    if per_unit < PRICE_MIN:
        low = _("That is very low: at least {min} per {unit}. Did you mean thousands (e.g. 45k)?")
        return Retry(fmt(low, min=format_vnd(PRICE_MIN), unit=unit_name(unit)))
    if per_unit > PRICE_MAX:
        return Retry(
            fmt(
                _("That is too high: at most {max} per {unit}."),
                max=format_vnd(PRICE_MAX),
                unit=unit_name(unit),
            )
        )
    say = []
    if price.unit and price.unit != unit:
        note = _("{typed} per {typed_unit} is {price} per {unit}.")
        say.append(
            Reply(
                fmt(
                    note,
                    typed=format_vnd(price.amount),
                    typed_unit=unit_name(price.unit),
                    price=format_vnd(per_unit),
                    unit=unit_name(unit),
                )
            )
        )
    return await check_price(ctx, per_unit, say)


# --- availability -------------------------------------------------------------------------


def ask_availability(ctx: Ctx) -> list[Reply]:
    text = _(
        "When is it available? Tap <b>Available now</b>, "
        "or type e.g. <i>tháng 8–9</i>, <i>từ 15/8 đến 30/9</i>."
    )
    return [Reply(text, buttons=[[Button(_("Available now"), "lf:now")]])]


async def answer_availability(ctx: Ctx, msg: Incoming) -> Outcome:
    now_words = ("dang co", "co san", "co ngay", "san", "now", "available now")
    if msg.payload == "lf:now" or (msg.kind == "text" and fold(msg.text) in now_words):
        ctx.data["availability"] = AVAILABLE_NOW
        return await after(ctx, "availability")
    if not is_text(msg):
        return Retry(_("Please tap Available now, or type when it will be available."))
    text = clean(msg.text)
    if len(text) > AVAILABILITY_MAX:
        return Retry(
            _("That is too long (at most {max} characters).").format(max=AVAILABILITY_MAX)
        )
    ctx.data["availability"] = text
    return await after(ctx, "availability")


# --- description --------------------------------------------------------------------------


def ask_description(ctx: Ctx) -> list[Reply]:
    text = _(
        "A short description for buyers (taste, size, how it is grown, packing) — "
        "at most {max} characters. Or tap Skip."
    )
    return [Reply(text.format(max=DESCRIPTION_MAX), buttons=skip_button())]


async def answer_description(ctx: Ctx, msg: Incoming) -> Outcome:
    if is_skip(msg):
        ctx.data["description"] = ""
        return await after(ctx, "description")
    if not is_text(msg):
        return Retry(_("Please type a short description, or tap Skip."))
    text = clean(msg.text, multiline=True)
    if len(text) > DESCRIPTION_MAX:
        too_long = _("That is {count} characters; at most {max} please. Shorten it a little.")
        return Retry(too_long.format(count=len(text), max=DESCRIPTION_MAX))
    ctx.data["description"] = text
    return await after(ctx, "description")


# --- summary ------------------------------------------------------------------------------


def _summary_choices(ctx: Ctx) -> list[Choice]:
    phone = _("yes") if ctx.data.get("show_phone") else _("no")
    return [
        Choice("lf:ok", _("✅ Confirm and post"), ("xac nhan", "dong y", "dang", "ok", "yes")),
        *(Choice(f"lf:e:{key}", "✏️ " + _(label)) for key, label in EDITABLE.items()),
        Choice("lf:phone", label(_("📞 Show my phone: {answer}"), answer=phone)),
        Choice("sys:cancel", _("❌ Cancel")),
    ]


def ask_summary(ctx: Ctx) -> list[Reply]:
    listing = draft(ctx)
    heading = Reply(_("Here is your listing, exactly as buyers will see it:"))
    card = card_text(listing, cats(ctx), owner_phone(ctx, listing))
    buttons = choice_buttons(_summary_choices(ctx), columns=2)
    return [heading, Reply(card, buttons=buttons, photos=listing.photos[:1])]


async def answer_summary(ctx: Ctx, msg: Incoming) -> Outcome:
    choice = match_choice(msg, _summary_choices(ctx))
    if choice is None:
        return Retry(_("Please tap Confirm, a field to change, or Cancel."))
    if choice.key == "lf:phone":
        ctx.data["show_phone"] = not ctx.data.get("show_phone")
        return Ask("summary")
    if choice.key.startswith("lf:e:"):
        ctx.data["editing"] = True
        return Ask(choice.key.removeprefix("lf:e:"))
    return confirm(ctx)


def confirm(ctx: Ctx) -> Outcome:
    """Store the listing once per form run, however often Confirm arrives."""
    repo = ctx.services.listings
    listing = repo.by_form(ctx.form_id)
    if listing is None:
        if repo.count_active(ctx.user.id) >= MAX_ACTIVE_PER_FARMER:
            return Done([Reply(_(LIMIT_TEXT).format(max=MAX_ACTIVE_PER_FARMER))])
        now = ctx.now.isoformat()
        listing, _new = repo.add_once(replace(draft(ctx), created_at=now, updated_at=now))
        log.info("user %s posted listing %s", ctx.user.id, listing.id)
    posted = fmt(
        _("Posted! Buyers can now find <b>{name}</b>. Share it to sell faster:"),
        name=listing.product_name,
    )
    after_post = [
        Choice(f"lst:sh:{listing.id}", _("📣 Share")),
        Choice(f"lst:qr:{listing.id}", _("🔳 QR code")),
        Choice("lst:list:0", _("📦 My listings")),
        Choice("sys:menu", _("Main menu")),
    ]
    # No menu after it: its numbered buttons would clash with these on channels without buttons.
    return Done([Reply(posted, buttons=choice_buttons(after_post, columns=2))], show_menu=False)


def _after(field: str, *more: str) -> tuple[str, ...]:
    """Where a field's answer leads: any later field, the price check, the summary, the listing."""
    later, step = [], field
    while step in NEXT:
        step = NEXT[step]
        later.append(step)
    return (*later, "price_check", "summary", "quantity", "price", "mylistings/view", *more)


def build() -> Flow:
    """The listing form flow."""
    return Flow(
        name="listings",
        first="product",
        states={
            "product": State(ask_product, answer_product, to=_after("product", "product_pick")),
            "product_pick": State(
                ask_product_pick, answer_product_pick, to=_after("product", "product_pick")
            ),
            "grade": State(ask_grade, answer_grade, to=_after("grade")),
            "quantity": State(ask_quantity, answer_quantity, to=_after("quantity")),
            "price": State(ask_price, answer_price, to=_after("price")),
            "availability": State(
                ask_availability, answer_availability, to=_after("availability")
            ),
            "photos": State(
                media.ask_photos, media.answer_photos, to=_after("photos"), photo=True
            ),
            "certs": State(media.ask_certs, media.answer_certs, to=_after("certs", "cert_number")),
            "cert_number": State(
                media.ask_cert_number, media.answer_cert_number, to=_after("cert_number")
            ),
            "description": State(ask_description, answer_description, to=_after("description")),
            "summary": State(ask_summary, answer_summary, to=("summary", *EDITABLE)),
            **{name: replace(state, to=_after("price")) for name, state in PRICE_STATES.items()},
        },
        commands={"dangban": "product"},
        menu=MenuEntry(
            "listings",
            N_("📝 Sell a product"),
            10,
            visible=lambda ctx: ctx.user.role == FARMER,
            words=("dang ban", "ban hang", "dang tin", "ban"),
        ),
    )
