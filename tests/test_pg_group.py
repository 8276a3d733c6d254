"""Group commit (bot/storage/pg_group.py): which commits share a statement, and who gets what.

No database here: the statement is a fake that records what it was given and can be held
open, refuse a commit, or lose its link. (On PostgreSQL: test_store_pg.)
"""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from bot.storage import pg_group
from bot.storage.pg import _maybe_one_commits
from bot.storage.pg_group import GroupCommits

Commit = dict[str, int]


class Refused(Exception):
    """What the server says when one commit breaks a rule (a version check, a unique value)."""


class LinkLost(Exception):
    """The connection failed: nobody knows what committed."""


class FakeStatement:
    """Records each statement's commits; the first waits for `go` when `hold` is set."""

    def __init__(self, *, hold: bool = False, refuse: str = "", lose_link: bool = False) -> None:
        self.sent: list[list[Commit]] = []
        self.go = asyncio.Event()
        if not hold:
            self.go.set()
        self.refuse = refuse
        self.lose_link = lose_link

    async def __call__(self, commits: list[Commit]) -> None:
        self.sent.append(commits)
        await self.go.wait()
        if self.lose_link:
            raise LinkLost("server closed the connection unexpectedly")
        if any(self.refuse in commit for commit in commits):
            raise Refused(f"{self.refuse} is taken")


def grouped(statement: FakeStatement) -> GroupCommits[Commit]:
    return GroupCommits(statement, lambda exc: isinstance(exc, Refused))


async def started(group: GroupCommits[Commit], commit: Commit) -> asyncio.Task[None]:
    """Queue a commit and let it reach the group (the task runs up to its wait)."""
    task = asyncio.create_task(group.commit(commit))
    for _ in range(3):
        await asyncio.sleep(0)
    return task


async def test_commits_queued_while_one_is_on_its_way_share_the_next_statement() -> None:
    statement = FakeStatement(hold=True)
    group = grouped(statement)
    first = await started(group, {"conversations/1": 2})
    assert statement.sent == [[{"conversations/1": 2}]], "alone when nothing is on its way"
    others = [await started(group, {f"conversations/{n}": 2}) for n in range(2, 7)]
    statement.go.set()
    await asyncio.gather(first, *others)
    assert statement.sent[1] == [{f"conversations/{n}": 2} for n in range(2, 7)]
    assert len(statement.sent) == 2
    assert (group.statements, group.commits) == (2, 6)


async def test_commits_touching_the_same_document_go_apart_and_in_order() -> None:
    statement = FakeStatement(hold=True)
    group = grouped(statement)
    tasks = [await started(group, {"x": 0})]
    # Queued while the first is on its way: b was computed on a's result, c on b's.
    a, b, c, d = {"x": 1}, {"x": 2, "y": 1}, {"y": 2}, {"z": 1}
    tasks += [await started(group, commit) for commit in (a, b, c, d)]
    statement.go.set()
    await asyncio.gather(*tasks)
    assert statement.sent == [[{"x": 0}], [a, d], [b], [c]]


async def test_a_refused_shared_statement_is_sent_again_commit_by_commit() -> None:
    statement = FakeStatement(hold=True, refuse="orders/DH-1")
    group = grouped(statement)
    first = await started(group, {"listings/1": 1})
    commits = [{"listings/2": 1}, {"orders/DH-1": 1}, {"listings/3": 1}]
    tasks = [await started(group, commit) for commit in commits]
    statement.go.set()
    results = await asyncio.gather(first, *tasks, return_exceptions=True)
    assert [type(r) for r in results] == [type(None), type(None), Refused, type(None)]
    assert statement.sent[1:] == [commits, *([commit] for commit in commits)]


async def test_a_lost_link_fails_every_commit_of_the_statement() -> None:
    statement = FakeStatement(hold=True, lose_link=True)
    group = grouped(statement)
    tasks = [await started(group, {f"users/{n}": 1}) for n in range(4)]
    statement.go.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, LinkLost) for r in results)
    assert len(statement.sent) == 2, "not sent again one by one: the outcome is not known"
    # The next commit goes out as usual.
    statement.lose_link = False
    await group.commit({"users/9": 1})
    assert statement.sent[-1] == [{"users/9": 1}]


async def test_a_statement_carries_at_most_max_changes_documents(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pg_group, "MAX_CHANGES", 4)
    statement = FakeStatement(hold=True)
    group = grouped(statement)
    big = {f"outbox/{n}": 1 for n in range(6)}  # one commit alone may be larger
    tasks = [await started(group, {"a": 1})]
    tasks += [await started(group, commit) for commit in ({"b": 1}, big, {"c": 1}, {"d": 1})]
    statement.go.set()
    await asyncio.gather(*tasks)
    assert statement.sent == [[{"a": 1}], [{"b": 1}, {"c": 1}, {"d": 1}], [big]]


async def test_a_cancelled_caller_does_not_stop_the_others_commits() -> None:
    statement = FakeStatement(hold=True)
    group = grouped(statement)
    first = await started(group, {"a": 1})
    gone, staying = await started(group, {"b": 1}), await started(group, {"c": 1})
    gone.cancel()
    statement.go.set()
    await asyncio.gather(first, staying)
    assert statement.sent == [[{"a": 1}], [{"b": 1}, {"c": 1}]]


@pytest.mark.parametrize(
    ("error", "one_commit_could_be_why"),
    [
        (psycopg.errors.SerializationFailure("another process changed these documents"), True),
        (psycopg.errors.UniqueViolation("duplicate key value"), True),
        (psycopg.errors.InvalidTextRepresentation("invalid input syntax"), True),
        (psycopg.OperationalError("server closed the connection unexpectedly"), False),
        (psycopg.errors.AdminShutdown("terminating connection"), False),
        (psycopg.errors.ConnectionFailure("connection failure"), False),
        (ValueError("not the database"), False),
    ],
)
def test_on_postgresql_a_refusal_is_tried_again_commit_by_commit_a_lost_link_is_not(
    error: BaseException, one_commit_could_be_why: bool
) -> None:
    assert _maybe_one_commits(error) is one_commit_could_be_why
