"""Tin đăng của tôi: a farmer's listings, paged; open one to edit, pause, share, get its QR.

Buttons carrying a listing id ("lst:<verb>:<id>") are actions: they work under any earlier
message, so each one checks that the listing belongs to the user (or the user is an admin).
"""

from __future__ import annotations

import logging
from pathlib import Path

from bot.core.flow import (
    Ask,
    Choice,
    Ctx,
    Done,
    Flow,
    MenuEntry,
    Outcome,
    Retry,
    Start,
    State,
    Stay,
    choice_buttons,
    match_choice,
)
from bot.core.fmt import esc, fmt, label
from bot.core.types import Button, Incoming, Reply
from bot.i18n import N_, _
from bot.services.listings import ACTIVE, MAX_ACTIVE_PER_FARMER, PAUSED, SOLD_OUT, Listing
from bot.services.order_notices import tell_buyer_change
from bot.services.orders import CONFIRMED, NEW, SHIPPING, Order
from bot.services.share import (
    CSV_NAME,
    PLATFORMS,
    card_text,
    export_csv,
    order_lines,
    post_text,
    price_text,
    qr_file,
    status_text,
    title,
    write_qr,
)
from bot.services.users import FARMER
from bot.text import clip
from handlers.listings_base import EDITABLE, cats, form_data, owner_phone

log = logging.getLogger(__name__)

PAGE_SIZE = 5
LABEL_MAX = 40  # button labels: Telegram shows about this much on a phone
STATUS_ICONS = {ACTIVE: "🟢", PAUSED: "⏸", SOLD_OUT: "⛔"}
PLATFORM_NAMES = {"zalo": "Zalo", "facebook": "Facebook", "tiktok": "TikTok"}


def _media_dir(ctx: Ctx) -> Path:
    return ctx.services.settings.media_dir


# --- the list -----------------------------------------------------------------------------


def _page(ctx: Ctx) -> tuple[list[Listing], int, int]:
    """The listings on the page being shown, the page number and the page count."""
    mine = ctx.services.listings.of_farmer(ctx.user.id)
    pages = max(1, -(-len(mine) // PAGE_SIZE))
    page = min(max(0, int(ctx.data.get("page", 0))), pages - 1)
    return mine[page * PAGE_SIZE : (page + 1) * PAGE_SIZE], page, pages


def _list_choices(ctx: Ctx) -> list[Choice]:
    shown, page, pages = _page(ctx)
    choices = [
        Choice(f"lst:v:{x.id}", clip(f"{STATUS_ICONS.get(x.status, '')} {title(x)}", LABEL_MAX))
        for x in shown
    ]
    if page > 0:
        choices.append(Choice(f"lm:pg:{page - 1}", _("‹ Previous"), ("truoc", "trang truoc")))
    if page < pages - 1:
        choices.append(Choice(f"lm:pg:{page + 1}", _("Next ›"), ("sau", "trang sau", "tiep")))
    choices.append(Choice("lm:new", _("➕ New listing"), ("dang ban", "them", "moi")))
    if shown:
        choices.append(Choice("lm:csv", _("📄 Export for Postmart/Voso (CSV)"), ("csv", "xuat")))
    choices.append(Choice("lm:back", _("Back to menu"), ("quay lai", "tro ve", "back")))
    return choices


def ask_list(ctx: Ctx) -> list[Reply]:
    shown, page, pages = _page(ctx)
    if not shown:
        text = _("You have no listings yet. Tap <b>New listing</b> to put a product on sale.")
        return [Reply(text, buttons=choice_buttons(_list_choices(ctx)))]
    lines = [fmt(_("<b>My listings</b> — page {page} of {pages}"), page=page + 1, pages=pages)]
    for x in shown:
        icon = STATUS_ICONS.get(x.status, "")
        lines.append(
            f"{icon} <b>{esc(title(x))}</b> — {esc(price_text(x))} — {esc(status_text(x))}"
        )
    lines.append(_("Tap a listing to open it."))
    return [Reply("\n".join(lines), buttons=choice_buttons(_list_choices(ctx)))]


async def answer_list(ctx: Ctx, msg: Incoming) -> Outcome:
    choice = match_choice(msg, _list_choices(ctx))
    if choice is None:
        return Retry(_("Please tap a listing or one of the buttons."))
    key = choice.key
    if key.startswith("lst:"):
        return await act(ctx, msg, key.split(":")[1:])
    if key.startswith("lm:pg:"):
        ctx.data["page"] = int(key.removeprefix("lm:pg:"))
        return Ask("list", redraw=True)
    if key == "lm:new":
        return Start("listings")
    if key == "lm:csv":
        return Stay([csv_reply(ctx)])
    return Done()


def csv_reply(ctx: Ctx) -> Reply:
    """The farmer's listings as a CSV file for marketplace upload."""
    mine = ctx.services.listings.of_farmer(ctx.user.id)
    data = export_csv(mine, cats(ctx), ctx.services.settings.base_url)
    text = _("Your listings as a spreadsheet (CSV) with the fields Postmart and Voso ask for.")
    return Reply(text, document=(CSV_NAME, data))


# --- one listing --------------------------------------------------------------------------


def _view_choices(ctx: Ctx, listing: Listing) -> list[Choice]:
    lid = listing.id
    if listing.status == ACTIVE:
        toggle = Choice(f"lst:pause:{lid}", _("⏸ Pause"), ("tam dung", "dung"))
    else:
        toggle = Choice(f"lst:resume:{lid}", _("▶️ Sell again"), ("ban lai", "tiep tuc"))
    phone = _("yes") if listing.show_phone else _("no")
    choices = [
        Choice(f"lst:ed:{lid}", _("✏️ Edit"), ("sua", "chinh sua")),
        toggle,
        Choice(f"lst:sh:{lid}", _("📣 Share"), ("chia se", "dang facebook", "dang zalo")),
        Choice(f"lst:qr:{lid}", _("🔳 QR code"), ("qr", "ma qr")),
        Choice(f"lst:ph:{lid}", label(_("📞 Show my phone: {answer}"), answer=phone)),
        Choice(f"lst:del:{lid}", _("🗑 Delete"), ("xoa",)),
        Choice("lm:list", _("‹ My listings"), ("danh sach", "quay lai")),
    ]
    if listing.status == ACTIVE:
        choices.insert(2, Choice(f"lst:sold:{lid}", _("⛔ Sold out"), ("het hang", "het")))
    return choices


def _current(ctx: Ctx) -> Listing | None:
    listing = ctx.services.listings.get(int(ctx.data.get("id", 0)))
    if listing is None or not _may_manage(ctx, listing):
        return None
    return listing


def ask_view(ctx: Ctx) -> list[Reply]:
    listing = _current(ctx)
    if listing is None:
        return [
            Reply(
                _("This listing no longer exists."),
                buttons=[[Button(_("‹ My listings"), "lm:list")]],
            )
        ]
    card = card_text(listing, cats(ctx), owner_phone(ctx, listing))
    buttons = choice_buttons(_view_choices(ctx, listing), columns=2)
    return [Reply(card, buttons=buttons, photos=listing.photos[:1])]


async def answer_view(ctx: Ctx, msg: Incoming) -> Outcome:
    listing = _current(ctx)
    choices = _view_choices(ctx, listing) if listing else [Choice("lm:list", _("‹ My listings"))]
    choice = match_choice(msg, choices)
    if choice is None:
        return Retry(_("Please tap one of the buttons."))
    if choice.key == "lm:list":
        return Start("mylistings", "list")
    return await act(ctx, msg, choice.key.split(":")[1:])


def _edit_choices(listing: Listing) -> list[Choice]:
    fields = [Choice(f"lst:ef:{listing.id}:{k}", _(label)) for k, label in EDITABLE.items()]
    return [*fields, Choice(f"lst:v:{listing.id}", _("‹ Back"), ("quay lai", "back"))]


def ask_edit(ctx: Ctx) -> list[Reply]:
    listing = _current(ctx)
    if listing is None:
        return ask_view(ctx)
    text = fmt(_("What do you want to change in <b>{name}</b>?"), name=title(listing))
    return [Reply(text, buttons=choice_buttons(_edit_choices(listing), columns=2))]


async def answer_edit(ctx: Ctx, msg: Incoming) -> Outcome:
    listing = _current(ctx)
    choice = match_choice(msg, _edit_choices(listing)) if listing else None
    if choice is None:
        return Retry(_("Please tap the field to change."))
    return await act(ctx, msg, choice.key.split(":")[1:])


def _open_orders(ctx: Ctx, listing_id: int) -> list[Order]:
    return ctx.services.orders.open_orders(listing_id)


def _delete_choices(ctx: Ctx, listing_id: int) -> list[Choice]:
    keep = Choice(f"lst:v:{listing_id}", _("No, keep it"), ("khong", "giu", "no", "ko"))
    under_way = _open_orders(ctx, listing_id)
    if not under_way:
        yes = Choice(f"lst:dy:{listing_id}", _("Yes, delete it"), ("co", "xoa", "dong y", "yes"))
        return [yes, keep]
    # Deleting would cancel buyers' orders: pausing or "sold out" keeps them, so they come first.
    choices = [
        Choice(f"lst:pause:{listing_id}", _("⏸ Pause it instead"), ("tam dung", "dung")),
        Choice(f"lst:sold:{listing_id}", _("⛔ Mark it sold out instead"), ("het hang", "het")),
    ]
    if any(o.status in (NEW, CONFIRMED) for o in under_way):
        label = _("🗑 Delete and cancel the orders")
        choices.append(Choice(f"lst:dyc:{listing_id}", label, ("xoa va huy", "huy don")))
    else:
        choices.append(Choice(f"lst:dyc:{listing_id}", _("🗑 Delete it"), ("xoa",)))
    return [*choices, keep]


def _delete_text(ctx: Ctx, listing: Listing) -> str:
    under_way = _open_orders(ctx, listing.id)
    if not under_way:
        return fmt(
            _("Delete <b>{name}</b> for good? Buyers will no longer see it."), name=title(listing)
        )
    count = {s: sum(1 for o in under_way if o.status == s) for s in (NEW, CONFIRMED, SHIPPING)}
    lines = [
        fmt(
            _(
                "<b>{name}</b> has orders under way: {new} new, {confirmed} confirmed, "
                "{shipping} on the way."
            ),
            name=title(listing),
            new=count[NEW],
            confirmed=count[CONFIRMED],
            shipping=count[SHIPPING],
        )
    ]
    if count[NEW] or count[CONFIRMED]:
        lines.append(
            _(
                "Deleting it cancels the new and confirmed orders, and their buyers are told. "
                "To stop selling but keep those orders, pause it or mark it sold out instead."
            )
        )
    if count[SHIPPING]:
        lines.append(
            _("Orders on the way are kept: you can still mark them delivered under 📋 Orders.")
        )
    return "\n".join(lines)


def ask_delete(ctx: Ctx) -> list[Reply]:
    listing = _current(ctx)
    if listing is None:
        return ask_view(ctx)
    buttons = choice_buttons(_delete_choices(ctx, listing.id))
    return [Reply(_delete_text(ctx, listing), buttons=buttons)]


async def answer_delete(ctx: Ctx, msg: Incoming) -> Outcome:
    choice = match_choice(msg, _delete_choices(ctx, int(ctx.data.get("id", 0))))
    if choice is None:
        return Retry(_("Please pick one of the buttons."))
    return await act(ctx, msg, choice.key.split(":")[1:])


async def _delete(ctx: Ctx, listing: Listing, cancel_orders: bool) -> Outcome:
    """Delete a listing; its new and confirmed orders only when the farmer agreed to cancel."""
    orders = ctx.services.orders
    under_way = orders.open_orders(listing.id)
    if under_way and not cancel_orders:
        # Orders came in since the question was asked (or an old button): ask again.
        return Start("mylistings", "delete", {"id": listing.id})
    # Every write first (orders cancelled and marked to be told, then the listing); the
    # messages after, so a crash leaves them to the order clock rather than losing them.
    cancelled = orders.cancel_for_listing(listing.id, ctx.now)
    ctx.services.listings.delete(listing.id)
    qr_file(_media_dir(ctx), listing.id).unlink(missing_ok=True)
    log.info(
        "user %s deleted listing %s, cancelling orders %s",
        ctx.user.id,
        listing.id,
        [o.id for o in cancelled],
    )
    for order in cancelled:
        if await tell_buyer_change(ctx.services, order):
            orders.told(order.id, ctx.now)  # else the order clock tries again, or gives up
    done = fmt(_("Deleted: {name}."), name=title(listing))
    if cancelled:
        done += "\n" + fmt(_("{n} orders were cancelled and their buyers told."), n=len(cancelled))
    return Start("mylistings", "list", say=[Reply(done)])


# --- the actions --------------------------------------------------------------------------


def _may_manage(ctx: Ctx, listing: Listing) -> bool:
    return listing.farmer_id == ctx.user.id or ctx.is_admin


async def act(ctx: Ctx, msg: Incoming, rest: list[str]) -> Outcome:
    """Handle a "lst:<verb>:<id>[:<arg>]" button: only for the listing's owner or an admin."""
    verb = rest[0] if rest else ""
    if verb == "list":
        return Start("mylistings", "list")
    if len(rest) < 2 or not rest[1].isdigit():
        log.warning("user %s sent a malformed listing button %r", ctx.user.id, msg.payload)
        return Done([Reply(_("Sorry, that button is not valid any more."))])
    listing = ctx.services.listings.get(int(rest[1]))
    if listing is None:
        return Done([Reply(_("This listing no longer exists."))])
    if not _may_manage(ctx, listing):
        log.warning(
            "refused %r from user %s: listing %s belongs to user %s",
            msg.payload,
            ctx.user.id,
            listing.id,
            listing.farmer_id,
        )
        return Done([Reply(_("Sorry, you can only manage your own listings."))])
    return await _run(ctx, verb, listing, rest[2:])


async def _run(ctx: Ctx, verb: str, listing: Listing, args: list[str]) -> Outcome:
    view = {"id": listing.id}
    if verb == "v":
        return Start("mylistings", "view", view)
    if verb == "ed":
        return Start("mylistings", "edit", view)
    if verb == "ef" and args and args[0] in EDITABLE:
        return Start("listings", args[0], {"listing_id": listing.id, **form_data(listing)})
    if verb == "del":
        return Start("mylistings", "delete", view)
    if verb in ("dy", "dyc"):
        return await _delete(ctx, listing, cancel_orders=verb == "dyc")
    if verb in ("pause", "resume", "sold", "ph"):
        return _change(ctx, verb, listing)
    if verb == "sh":
        return Stay([share_menu(ctx, listing)])
    if verb == "po" and args and args[0] in PLATFORMS:
        post = post_text(
            args[0], listing, cats(ctx), ctx.services.links, owner_phone(ctx, listing)
        )
        return Stay([Reply(esc(post))])
    if verb == "qr":
        return Stay([qr_reply(ctx, listing)])
    log.warning("user %s sent an unknown listing action %r", ctx.user.id, verb)
    return Done([Reply(_("Sorry, that button is not valid any more."))])


def _change(ctx: Ctx, verb: str, listing: Listing) -> Outcome:
    """Pause, resume, mark sold out, or toggle showing the phone; then show the listing."""
    repo = ctx.services.listings
    if verb == "resume":
        if (
            listing.status != ACTIVE
            and repo.count_active(listing.farmer_id) >= MAX_ACTIVE_PER_FARMER
        ):
            limit = _(
                "You already have {max} listings on sale, the most allowed. "
                "Pause or delete one first."
            )
            return Start(
                "mylistings",
                "view",
                {"id": listing.id},
                say=[Reply(limit.format(max=MAX_ACTIVE_PER_FARMER))],
            )
        listing.status = ACTIVE
        said = _("On sale again.")
    elif verb == "pause":
        listing.status, said = PAUSED, _("Paused: buyers cannot order it until you sell it again.")
    elif verb == "sold":
        listing.status, said = SOLD_OUT, _("Marked as sold out.")
    else:
        listing.show_phone = not listing.show_phone
        said = (
            _("Buyers will see your phone number.")
            if listing.show_phone
            else _("Your phone number is hidden from buyers.")
        )
    listing.updated_at = ctx.now.isoformat()
    repo.save(listing)
    return Start("mylistings", "view", {"id": listing.id}, say=[Reply(said)])


def share_menu(ctx: Ctx, listing: Listing) -> Reply:
    """Where to post: one ready-to-paste text per platform, and the ways to order it."""
    text = _(
        "Pick where you will post it; I will send a text ready to copy and paste.\n"
        "Buyers can order it straight away:"
    )
    text += "\n" + esc("\n".join(order_lines(listing, ctx.services.links)))
    buttons = [
        [Button(name, f"lst:po:{listing.id}:{key}") for key, name in PLATFORM_NAMES.items()],
        [Button(_("🔳 QR code"), f"lst:qr:{listing.id}")],
    ]
    return Reply(text, buttons=buttons)


def qr_reply(ctx: Ctx, listing: Listing) -> Reply:
    """The listing's QR code image, written into the media dir, with its link."""
    links = ctx.services.links
    ref = write_qr(_media_dir(ctx), listing.id, links.page(listing.slug))
    text = fmt(
        _(
            "QR code of <b>{name}</b>. Print it on the package: buyers scan it "
            "to see where the product comes from and order it."
        ),
        name=title(listing),
    )
    text += "\n" + esc("\n".join(order_lines(listing, links)))
    return Reply(text, photos=[ref])


# Where this flow's questions and its buttons under listings may lead.
MINE_TO = ("list", "view", "edit", "delete", "listings/", *(f"listings/{key}" for key in EDITABLE))


def build() -> Flow:
    """The "my listings" flow and the listing buttons."""
    return Flow(
        name="mylistings",
        first="list",
        states={
            "list": State(ask_list, answer_list, to=MINE_TO),
            "view": State(ask_view, answer_view, to=MINE_TO),
            "edit": State(ask_edit, answer_edit, to=MINE_TO),
            "delete": State(ask_delete, answer_delete, to=MINE_TO),
        },
        commands={"tindang": "list"},
        menu=MenuEntry(
            "mylistings",
            N_("📦 My listings"),
            20,
            visible=lambda ctx: ctx.user.role == FARMER,
            words=("tin dang", "tin cua toi", "quan ly"),
        ),
        actions={"lst": act},
        leads_to=MINE_TO,
    )
