"""The narrow interfaces the core needs, implemented by the services (which the core never imports).

The engine needs a few things from below: users by their channel key, conversations loaded and
saved, updates already handled, and changes made durable. Steps of a flow get `StepServices`:
the repositories they use, without the store, the jobs or the engine's own ports.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.core.clock import Clock
from bot.core.model import Conversation, User

if TYPE_CHECKING:  # only the annotations of StepServices below; never imported at run time
    from bot.config import Settings
    from bot.core.notify import Notifier
    from bot.services.broadcast import BroadcastRepo
    from bot.services.catalog import Directory
    from bot.services.console_links import Links
    from bot.services.conversations import ConversationRepo
    from bot.services.deeplinks import DeepLinks
    from bot.services.faq import FaqRepo
    from bot.services.handoff import HandoffRepo
    from bot.services.lessons import LessonService
    from bot.services.linking import LinkService
    from bot.services.listings import ListingRepo
    from bot.services.orders import OrderRepo
    from bot.services.outbox import Outbox
    from bot.services.roles import RoleService
    from bot.services.suspended import SuspendedForms
    from bot.services.users import UserRepo


class UserDirectory(Protocol):
    """Users found by their "<channel>:<id>" key, created on first contact."""

    def by_key(self, user_key: str) -> User | None: ...

    def create(self, user_key: str, name: str, created_at: str) -> User: ...

    def save(self, user: User) -> None: ...


class ConversationStore(Protocol):
    """Where each user is in a flow."""

    def get(self, user_id: int) -> Conversation: ...

    def save(self, conv: Conversation) -> None: ...


class HandledUpdates(Protocol):
    """Platform update ids already handled (redeliveries change nothing)."""

    def seen(self, key: str) -> bool: ...

    def mark(self, key: str, at: float) -> None: ...


class WelcomeMemory(Protocol):
    """The first question asked of someone never seen, kept until they answer it."""

    def take(self, user_key: str) -> Conversation | None: ...

    def keep(self, user_key: str, conv: Conversation, at: float) -> None: ...


class Durability(Protocol):
    """Makes an update's changes durable: one shared sync per update, done before replying.

    A failure to write raises `bot.storage.errors.StoreError`; `StoreConflict` when another
    process changed the same data first (the update is then handled again). `user_turn` holds
    a person's turn across processes (the engine's own lock covers one process).
    """

    def user_turn(self, key: str) -> AbstractAsyncContextManager[None]: ...

    def deferred_sync(self) -> AbstractContextManager[None]: ...

    async def flush(self, *, ends_turn: bool = False) -> None:
        """Make the writes durable; `ends_turn`: the turn writes nothing more after this."""
        ...


@dataclass(frozen=True)
class EnginePorts:
    """What the engine itself uses, and nothing more."""

    users: UserDirectory
    conversations: ConversationStore
    seen: HandledUpdates
    welcomes: WelcomeMemory
    durability: Durability
    clock: Clock


class StepServices(Protocol):
    """What a flow's steps may use through `ctx.services` (no store, jobs or engine ports)."""

    settings: Settings
    notifier: Notifier
    users: UserRepo
    conversations: ConversationRepo
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
    links: DeepLinks  # a listing's page, Telegram deep link and typed code
    outbox: Outbox
    suspended: SuspendedForms  # forms put aside while a side question is answered
    profile_lines: list[Callable[[User], list[str]]]

    def delete_user(self, user: User) -> None: ...
