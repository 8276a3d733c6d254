"""The services a flow can use, built once per process and passed down explicitly."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import Settings
from bot.core.clock import Clock
from bot.core.media import MediaStore
from bot.core.notify import Notifier
from bot.core.ports import EnginePorts
from bot.services.alerts import Alerts
from bot.services.broadcast import BroadcastRepo
from bot.services.catalog import Directory
from bot.services.console_links import Links
from bot.services.conversations import ConversationRepo, SeenUpdates, Welcomes
from bot.services.deeplinks import DeepLinks
from bot.services.faq import FaqRepo
from bot.services.faq_inbox import FaqInbox
from bot.services.handoff import HandoffRepo
from bot.services.lessons import LessonService
from bot.services.linking import LinkService
from bot.services.listings import ListingRepo, farmer_eraser
from bot.services.media_sweep import media_sweeper
from bot.services.order_jobs import order_clock
from bot.services.orders import OrderRepo
from bot.services.outbox import Outbox
from bot.services.purge import Purger
from bot.services.roles import RoleService
from bot.services.suspended import SuspendedForms
from bot.services.tallies import Tallies
from bot.services.tombstones import TombstoneRepo
from bot.services.users import User, UserRepo
from bot.storage.db import Store

CONTENT_DIR = Path(__file__).resolve().parent.parent.parent / "content"


@dataclass
class Services:
    """Repositories and helpers; steps see them through `ctx.services` as `StepServices`."""

    settings: Settings
    store: Store
    clock: Clock
    notifier: Notifier
    users: UserRepo
    conversations: ConversationRepo
    seen: SeenUpdates
    welcomes: Welcomes
    areas: Directory
    products: Directory
    listings: ListingRepo
    lessons: LessonService
    faq: FaqRepo
    handoffs: HandoffRepo
    orders: OrderRepo
    roles: RoleService
    broadcasts: BroadcastRepo
    console_links: Links
    linking: LinkService
    media: MediaStore
    tombstones: TombstoneRepo
    links: DeepLinks  # a listing's page, Telegram deep link and typed code
    # Lines other features add to the profile card (e.g. lesson progress), in the user's language.
    profile_lines: list[Callable[[User], list[str]]] = field(default_factory=list)
    # What each feature erases when a user deletes their data.
    deletion_hooks: list[Callable[[User], None]] = field(default_factory=list)
    # Long-running jobs the app starts (reminders, the broadcast outbox); each loops forever.
    jobs: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # Jobs every process runs, even without the jobs lease: its in-memory views kept warm.
    process_jobs: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # The broadcast outbox; built right after the notifier it reports through.
    outbox: Outbox = field(init=False)
    # Problems for the admins (told on their channel, shown on the console dashboard).
    alerts: Alerts = field(init=False)
    # Compacts the store soon after a deletion, so the data leaves the older files too.
    purger: Purger = field(init=False)
    # Forms put aside when a menu entry was opened in the middle of them.
    suspended: SuspendedForms = field(init=False)
    # The province's figures by area and month, kept up to date as documents change.
    tallies: Tallies = field(init=False)

    def engine_ports(self) -> EnginePorts:
        """The few services the dialog engine itself talks to."""
        return EnginePorts(
            users=self.users,
            conversations=self.conversations,
            seen=self.seen,
            welcomes=self.welcomes,
            durability=self.store,
            clock=self.clock,
        )

    def delete_user(self, user: User) -> None:
        """Erase a user and everything features stored for them, leaving a tombstone."""
        self.tombstones.add(user, self.clock.now().isoformat())  # first: a crash keeps it
        self.erase(user)
        self.purger.request()

    def erase(self, user: User) -> None:
        """Remove a user's data, files included, without a new tombstone (restores use it)."""
        asked = self.handoffs.of_asker(user.id)
        refs = [r for h in asked for r in (h.media, h.answer_media) if r]  # voice notes too
        refs += self._form_photos(user)
        for hook in self.deletion_hooks:
            hook(user)
        self.media.forget(refs)
        self.media.forget_owned(user.ident)
        self.conversations.delete(user.id)
        self.users.delete(user.id)

    def _form_photos(self, user: User) -> list[str]:
        """Photos sent into the user's unfinished form, except another farmer's being edited."""
        data = self.conversations.get(user.id).data
        refs = [r for r in [*(data.get("photos") or []), data.get("photo")] if isinstance(r, str)]
        listing_id = data.get("listing_id")
        editing = self.listings.get(listing_id) if isinstance(listing_id, int) else None
        if editing is not None and editing.farmer_id != user.id:  # an admin at work
            refs = [r for r in refs if r not in editing.photos]
        return refs


def build_services(
    settings: Settings,
    store: Store,
    clock: Clock | None = None,
    content_dir: Path = CONTENT_DIR,
) -> Services:
    """Wire every service onto one store."""
    users = UserRepo(store, settings.admin_telegram_ids)
    conversations = ConversationRepo(store)
    lessons = LessonService(store, users, content_dir / "lessons")
    listings = ListingRepo(store)
    services = Services(
        settings=settings,
        store=store,
        clock=clock or Clock(),
        notifier=Notifier(before_send=store.flush),
        media=MediaStore(settings.media_dir),
        users=users,
        conversations=conversations,
        seen=SeenUpdates(store),
        welcomes=Welcomes(store),
        areas=Directory.from_yaml(content_dir / "areas.yaml"),
        products=Directory.from_yaml(content_dir / "products.yaml"),
        listings=listings,
        lessons=lessons,
        faq=FaqRepo(store, content_dir / "faq.csv"),
        handoffs=HandoffRepo(store),
        orders=OrderRepo(
            store, listings, settings.order_reminder_hours, settings.order_expiry_hours
        ),
        roles=RoleService(store, users),
        broadcasts=BroadcastRepo(store, users, lessons.is_trained),
        console_links=Links(store, clock or Clock(), settings.data_dir),
        tombstones=TombstoneRepo(store),
        linking=LinkService(store, users, conversations),
        links=DeepLinks(settings.base_url),
    )
    services.purger = Purger(store, services.clock, services.tombstones)
    services.jobs.append(services.purger.job())
    services.outbox = Outbox(
        store,
        users,
        services.broadcasts,
        services.notifier,
        services.clock,
        rate=settings.telegram_max_rate,
        claim_timeout=settings.broadcast_claim_seconds,
    )
    services.jobs.append(services.outbox.job())
    services.alerts = Alerts(store, users, services.notifier)
    services.suspended = SuspendedForms(store)
    services.tallies = Tallies(store)
    services.process_jobs.append(services.tallies.follower.job("tallies"))
    services.deletion_hooks.append(lambda user: services.suspended.drop(user.id))
    services.deletion_hooks.append(services.roles.forget_user)
    services.deletion_hooks.append(services.broadcasts.forget_author)
    services.deletion_hooks.append(services.outbox.forget_user)
    services.profile_lines.append(lessons.profile_lines)
    services.process_jobs.append(lessons.standings.job("lesson_standings"))
    services.deletion_hooks.append(lessons.delete)
    services.deletion_hooks.append(lambda user: services.faq.forget_user(user.id))
    services.deletion_hooks.append(services.handoffs.forget_user)
    stamp = services.clock.now
    if not store.shared:  # the command line cannot open a running embedded store: it hands over
        inbox = FaqInbox(settings.data_dir)
        services.jobs.append(inbox.job(services.faq, lambda: stamp().isoformat()))
    orders = services.orders
    services.deletion_hooks.append(lambda user: orders.erase_user(user, services.clock.now()))
    services.jobs.append(order_clock(services))
    services.jobs.append(
        lambda: services.seen.pruner(lambda: services.clock.now().timestamp(), services.welcomes)
    )
    services.deletion_hooks.append(farmer_eraser(services.listings, services.media))
    services.jobs.append(media_sweeper(services))
    return services
