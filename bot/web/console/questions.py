"""Unanswered questions: answer one (the bot relays it), turn it into an FAQ entry, dismiss it.

Team members see and answer their areas' questions; admins see all, dismiss, and make FAQ
entries, as in the chat's /cauhoi.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.core.fmt import esc, fmt
from bot.core.types import Reply
from bot.i18n import _
from bot.services.faq import DuplicateQuestion
from bot.services.faq_csv import MAX_ANSWER
from bot.services.handoff import ANSWERED, DISMISSED, OPEN, VOICE, Handoff, may_answer
from bot.text import clip
from bot.web.console.auth import Viewer
from bot.web.console.base import Console, Forbidden, area_param, notice
from bot.web.console.html import Safe, csrf_field, h, join, post_button

log = logging.getLogger(__name__)

RECENT = 20  # answered questions listed for turning into FAQ entries


def _player(token: str) -> Safe:
    """A player for a voice note (played from /audio/<token>), or nothing."""
    if not token:
        return Safe("")
    return h(
        '<p><audio controls preload="none" src="/audio/$t"></audio> '
        '<a href="/audio/$t" download>$save</a></p>',
        t=token,
        save=_("Download"),
    )


class QuestionPages:
    """The inbox of questions handed to people."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.services = console.services

    def add_routes(self, app: web.Application) -> None:
        """Mount the inbox and its actions."""
        page = self.console.page
        app.router.add_get("/console/questions", page(self.index))
        base = "/console/questions/{id:\\d{1,9}}"
        app.router.add_post(base + "/answer", page(self.answer))
        app.router.add_post(base + "/dismiss", page(self.dismiss, admin_only=True))
        app.router.add_post(base + "/faq", page(self.to_faq, admin_only=True))

    def _handoff(self, request: web.Request, viewer: Viewer) -> Handoff:
        handoff = self.services.handoffs.get(int(request.match_info["id"]))
        if handoff is None:
            raise web.HTTPNotFound()
        if not may_answer(self.services.users, viewer.user, handoff):
            raise Forbidden(handoff.area)
        return handoff

    def _card(self, viewer: Viewer, handoff: Handoff, answering: bool) -> Safe:
        asker = self.services.users.get(handoff.asker)
        question = _("🎤 voice message") if handoff.kind == VOICE else handoff.question
        head = h(
            '<p><strong>#$id</strong> $name · $area · <span class="muted">$when</span></p>'
            '<pre class="answer">$question</pre>$audio',
            id=handoff.id,
            name=asker.name if asker else _("(deleted user)"),
            area=self.services.areas.name(handoff.area) or handoff.area or "—",
            when=handoff.asked_at[:16].replace("T", " "),
            question=question,
            audio=_player(handoff.media_token),
        )
        actions: list[Safe] = []
        if answering:
            actions.append(
                h(
                    '<form method="post" action="/console/questions/$id/answer" class="stack">'
                    '$csrf<label for="a$id">$label</label>'
                    '<textarea id="a$id" name="answer" maxlength="$max" required></textarea>'
                    '<button type="submit" class="primary">$send</button></form>',
                    id=handoff.id,
                    csrf=csrf_field(viewer),
                    label=_("Your answer (sent to the farmer by the bot)"),
                    max=MAX_ANSWER,
                    send=_("Send the answer"),
                )
            )
            if viewer.admin:
                url = f"/console/questions/{handoff.id}/dismiss"
                actions.append(post_button(viewer, url, _("Dismiss"), "danger"))
        else:
            actions.append(h('<pre class="answer">↳ $a</pre>', a=handoff.answer or "🎤"))
            actions.append(_player(handoff.answer_token))
            if handoff.faq_id:
                actions.append(
                    h('<a href="/console/faq/$id">$t</a>', id=handoff.faq_id, t=_("FAQ entry"))
                )
            elif handoff.kind != VOICE:
                url = f"/console/questions/{handoff.id}/faq"
                actions.append(post_button(viewer, url, _("Turn into an FAQ entry")))
        return h('<div class="card">$head$actions</div>', head=head, actions=join(actions))

    async def index(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """Open questions of the viewer's areas (all for an admin), oldest first."""
        area = area_param(request, viewer)
        handoffs = self.services.handoffs

        def shown(handoff: Handoff) -> bool:
            return viewer.may_see(handoff.area) and (not area or handoff.area == area)

        open_ = [x for x in handoffs.with_status(OPEN) if shown(x)]
        answered = [x for x in handoffs.with_status(ANSWERED) if shown(x)][-RECENT:]
        recent = Safe("")
        if viewer.admin and answered:
            recent = h(
                "<h2>$t</h2>$cards",
                t=_("Recently answered"),
                cards=join(self._card(viewer, x, False) for x in reversed(answered)),
            )
        body = h(
            "$notice<p>$count</p>$cards$recent",
            notice=notice(request),
            count=fmt(_("Open questions: {count}"), count=len(open_)),
            cards=join(self._card(viewer, x, True) for x in open_),
            recent=recent,
        )
        return self.console.html(request, viewer, _("Questions"), body)

    async def answer(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """Record the answer, then relay it to the farmer through the bot."""
        handoff = self._handoff(request, viewer)
        text = str((await request.post()).get("answer", "")).strip()[:MAX_ANSWER]
        if not text or handoff.status != OPEN:
            raise self.console.back("/console/questions")
        handoff.status, handoff.answer, handoff.answered_by = ANSWERED, text, viewer.user.id
        handoff.answered_at = self.services.clock.now().isoformat()
        self.services.handoffs.save(handoff)  # recorded first: a failed send loses nothing
        asker = self.services.users.get(handoff.asker)
        question = handoff.question

        def build() -> list[Reply]:
            said = _("your voice message") if handoff.kind == VOICE else clip(question, 200)
            head = fmt(
                _("💬 The digital-tech team answered your question “{question}”:"),
                question=said,
            )
            return [Reply(f"{head}\n\n{esc(text)}")]

        sent = asker is not None and await self.services.notifier.notify(asker, build)
        log.info("console: user %s answered question %s", viewer.user.id, handoff.id)
        raise self.console.back("/console/questions", "answered" if sent else "unsent")

    async def dismiss(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """Close a question without an answer."""
        handoff = self._handoff(request, viewer)
        if handoff.status == OPEN:
            handoff.status = DISMISSED
            self.services.handoffs.save(handoff)
        raise self.console.back("/console/questions", "dismissed")

    async def to_faq(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """Make an FAQ entry from an answered, typed question (once)."""
        handoff = self._handoff(request, viewer)
        if handoff.status != ANSWERED or handoff.kind == VOICE or handoff.faq_id:
            raise self.console.back("/console/questions")
        try:
            entry = self.services.faq.add(
                clip(handoff.question, 300),
                handoff.answer,
                [],
                [],
                self.services.clock.now().isoformat(),
            )
        except DuplicateQuestion:
            existing = self.services.faq.by_question(clip(handoff.question, 300))
            if existing is None:
                raise
            entry = existing
        handoff.faq_id = entry.id
        self.services.handoffs.save(handoff)
        raise self.console.back(f"/console/faq/{entry.id}", "faq")
