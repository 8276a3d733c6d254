"""A chosen set of the end-to-end conversation tests, run again on PostgreSQL.

The same test functions as on the embedded store, handed an app whose store is a fresh
PostgreSQL database (pool and change feed started, as `make run` does with DATABASE_URL).
Each capability once:

- onboarding by buttons, and typed (numbers, words without diacritics);
- a listing created (photos, OCOP, price edited before confirming);
- a buyer's order confirmed, shipped and delivered by the farmer, with the order notices;
- an FAQ question answered (and a vote), and one handed to the commune's team and relayed;
- a whole lesson with a wrong then a right quiz answer;
- /xoadulieu: a farmer's data deleted with their listings, photos and QR images;
- a broadcast by a team member, delivered exactly once as previewed (jobs under the lease);
- an update delivered twice handled once (onboarding; a listing's confirm and double tap).

Two apps (processes) on one database and round trips per step are in tests/test_pg_engine.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bot.app import BotApp
from tests import (
    test_broadcast,
    test_faq,
    test_lessons,
    test_listings,
    test_onboarding,
    test_orders,
)
from tests.helpers.pg_apps import pg_app, pg_apps

__all__ = ["pg_app", "pg_apps"]

CHOSEN: list[Callable[[BotApp], Awaitable[None]]] = [
    test_onboarding.test_onboarding_by_buttons,
    test_onboarding.test_onboarding_by_typed_numbers_and_words_without_diacritics,
    test_listings.test_listing_with_three_photos_ocop4_price_45k_and_price_edit,
    test_orders.test_buyer_finds_orders_and_farmer_confirms_ships_delivers,
    test_faq.test_confident_answer_and_thumbs_up_recorded,
    test_faq.test_unknown_question_handed_to_the_team_and_reply_relayed,
    test_lessons.test_whole_lesson_wrong_then_right_answer,
    test_listings.test_deleting_ones_data_deletes_ones_listings,
    test_broadcast.test_preview_is_what_recipients_get_exactly_once,
    test_onboarding.test_redelivered_update_changes_nothing,
    test_listings.test_redelivered_confirm_and_double_tap_store_one_listing,
]


@pytest.mark.parametrize("conversation", CHOSEN, ids=lambda test: test.__name__[5:])
async def test_on_postgresql(
    pg_app: BotApp, conversation: Callable[[BotApp], Awaitable[None]]
) -> None:
    await conversation(pg_app)
