"""Prices that protect themselves: a price implausible for its unit is confirmed with the
per-kg figure shown ("40.000 ₫ một kg hay một tạ?"), and corrections ("à nhầm, 3 tạ chứ")
change an earlier answer of the listing form and say so.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.core.flow import Ask, Choice, Ctx, Outcome, Retry, State, ask_choice, match_choice
from bot.core.fmt import fmt
from bot.core.types import Incoming, Reply
from bot.i18n import _, format_vnd
from bot.services.catalog import Directory
from bot.services.listings import PRICE_MAX, PRICE_MIN
from bot.services.share import unit_name
from bot.text import KG_PER_UNIT, Price, parse_price, price_per_unit
from handlers.listings_base import after

SLIP = 2  # how far outside the usual per-kg range a price must be to be questioned


def usual_range(products: Directory, product_id: str) -> tuple[int, int] | None:
    """The product's usual price per kg, from content/products.yaml (None if unknown)."""
    entry = products.get(product_id)
    raw: Any = entry.get("price_kg") if entry is not None else None
    if not isinstance(raw, tuple | list) or len(raw) != 2:
        return None
    low, high = raw
    return (int(low), int(high)) if isinstance(low, int) and isinstance(high, int) else None


def per_kg(price: int, unit: str) -> int | None:
    """A price per `unit` as a price per kg (None for units that are no weight)."""
    kg = KG_PER_UNIT.get(unit)
    return None if kg is None else int((Decimal(price) / kg).to_integral_value())


def implausible(products: Directory, product_id: str, price: int, unit: str) -> bool:
    """Whether a price per `unit` is far outside the product's usual per-kg range."""
    usual, kg_price = usual_range(products, product_id), per_kg(price, unit)
    if usual is None or kg_price is None:
        return False
    return kg_price < usual[0] / SLIP or kg_price > usual[1] * SLIP


async def check_price(ctx: Ctx, price: int, say: list[Reply] | None = None) -> Outcome:
    """Store a price per the listing's unit, or first ask which unit it was meant for."""
    product_id = str(ctx.data.get("product_id", ""))
    if implausible(ctx.services.products, product_id, price, str(ctx.data.get("unit", "kg"))):
        ctx.data["price_typed"] = price
        return Ask("price_check", say or [])
    ctx.data["price"] = price
    return await after(ctx, "price", say)


def _check_choices(ctx: Ctx) -> list[Choice]:
    unit = str(ctx.data.get("unit", "kg"))
    if unit == "kg":
        return [Choice("lf:pk:unit", _("Yes, that is right"), ("dung", "dung roi", "co", "ok"))]
    return [
        Choice("lf:pk:kg", _("one kg"), ("kg", "mot kg", "1 kg", "can", "mot can", "1 can")),
        Choice(
            "lf:pk:unit",
            fmt(_("one {unit}"), unit=unit_name(unit)),
            (unit, f"mot {unit}", f"1 {unit}"),
        ),
    ]


def ask_price_check(ctx: Ctx) -> list[Reply]:
    unit = str(ctx.data.get("unit", "kg"))
    typed = int(ctx.data.get("price_typed", 0))
    if unit == "kg":
        text = fmt(
            _("{price} a kg is far from the usual price. Is that right? If not, type it again."),
            price=format_vnd(typed),
        )
    else:
        text = fmt(
            _(
                "{price} one kg or one {unit}? (One {unit} for {price} would be {per_kg} a kg, "
                "far from the usual price.)"
            ),
            price=format_vnd(typed),
            unit=unit_name(unit),
            per_kg=format_vnd(per_kg(typed, unit) or typed),
        )
    return ask_choice(text, _check_choices(ctx), columns=2)


async def answer_price_check(ctx: Ctx, msg: Incoming) -> Outcome:
    typed = int(ctx.data.get("price_typed", 0))
    unit = str(ctx.data.get("unit", "kg"))
    choice = match_choice(msg, _check_choices(ctx))
    if choice is None:
        price = parse_price(msg.text) if msg.kind == "text" else None
        retyped = price_per_unit(price, unit) if price is not None else None
        if retyped is None or not PRICE_MIN <= retyped <= PRICE_MAX:
            return Retry(_("Please tap one of the buttons, or type the price again."))
        typed = retyped  # typed again after seeing the warning: taken as meant
    elif choice.key == "lf:pk:kg":
        typed = price_per_unit(Price(typed, "kg"), unit) or typed
        if not PRICE_MIN <= typed <= PRICE_MAX:
            return Retry(_("That price cannot be right. Please type it again."))
    ctx.data.pop("price_typed", None)
    ctx.data["price"] = typed
    return await after(ctx, "price")


STATES = {"price_check": State(ask_price_check, answer_price_check)}


def apply_correction(ctx: Ctx, slots: dict[str, str]) -> str:
    """Change the quantity or price already given; return what to tell the user."""
    if slots.get("correct") == "quantity":
        old_unit = ctx.data.get("unit")
        ctx.data["quantity"], ctx.data["unit"] = slots["qty"], slots["unit"]
        ctx.data["quantity_changed"] = True
        price = ctx.data.get("price")
        if price and old_unit and old_unit != slots["unit"]:
            converted = price_per_unit(Price(int(price), str(old_unit)), slots["unit"])
            if converted is not None:
                ctx.data["price"] = converted
        return fmt(
            _("Changed: quantity {qty} {unit}."), qty=slots["qty"], unit=unit_name(slots["unit"])
        )
    price = int(slots["price"])
    ctx.data["price"] = price
    unit = str(ctx.data.get("unit", "kg"))
    return fmt(
        _("Changed: price {price} per {unit}."), price=format_vnd(price), unit=unit_name(unit)
    )
