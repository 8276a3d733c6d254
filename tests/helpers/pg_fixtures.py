"""Pytest fixtures for PostgreSQL: one throwaway cluster per run, one empty database per test.

Without PostgreSQL the tests that ask for it skip, saying why; under NDS_REQUIRE_PG=1 (CI) they
fail instead. Import the fixtures into tests/conftest.py.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from tests.helpers.pg_cluster import PgCluster, PgUnavailable, find_bindir

if TYPE_CHECKING:
    from bot.storage.pg import PgStore

REQUIRE = "NDS_REQUIRE_PG"


def required(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether PostgreSQL tests must fail rather than skip when the server cannot run."""
    return environ.get(REQUIRE, "") not in ("", "0")


def unavailable(reason: str, *, require: bool) -> NoReturn:
    """Skip the test with the reason, or fail it when PostgreSQL is required."""
    if require:
        pytest.fail(f"PostgreSQL is required ({REQUIRE}=1) but unavailable: {reason}")
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


def start_cluster(bindir: Path | None, *, require: bool) -> PgCluster:
    """A started cluster from the programs in bindir, or the test skips (fails when required)."""
    if bindir is None:
        unavailable("PostgreSQL is not installed (no initdb/pg_ctl found)", require=require)
    cluster: PgCluster | None = None
    try:
        cluster = PgCluster(bindir)
        cluster.start()
    except PgUnavailable as e:
        if cluster is not None:
            cluster.cleanup()
        unavailable(str(e), require=require)
    return cluster


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One PostgreSQL server for the whole run, started the first time a test asks for it."""
    cluster = start_cluster(find_bindir(), require=required())
    yield cluster
    cluster.cleanup()


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> Iterator[str]:
    """The URL of a fresh empty database, dropped after the test."""
    if not pg_cluster.running:  # a test killed or stopped the shared server
        pg_cluster.start()
    name, url = pg_cluster.create_database()
    yield url
    if not pg_cluster.running:
        pg_cluster.start()
    pg_cluster.drop_database(name)


@pytest.fixture
async def two_pg_stores(pg_url: str, tmp_path: Path) -> AsyncIterator[tuple[PgStore, PgStore]]:
    """Two started stores on one fresh database, as two processes would hold it."""
    from bot.storage.pg import PgStore

    stores = (PgStore(pg_url, tmp_path / "a"), PgStore(pg_url, tmp_path / "b"))
    for store in stores:
        await store.start()
    yield stores
    for store in stores:
        await store.stop()
        store.close()


@dataclass(frozen=True)
class StoreBackend:
    """How a contract test opens a store: the embedded one, or PostgreSQL at database_url."""

    name: str
    database_url: str | None = None

    def open_store(self, data_dir: Path) -> Any:
        if self.database_url is None:
            from bot.storage.db import Store

            return Store(data_dir)
        from bot import storage

        return storage.open_store(data_dir, database_url=self.database_url)


@pytest.fixture(params=["embedded", pytest.param("postgresql", marks=pytest.mark.pg)])
def backend(request: pytest.FixtureRequest) -> StoreBackend:
    """Each storage backend in turn, for the repository contract tests."""
    if request.param == "embedded":
        return StoreBackend("embedded")
    from bot import storage

    if not hasattr(storage, "open_store"):
        pytest.skip("PostgreSQL backend not built yet")
    return StoreBackend("postgresql", request.getfixturevalue("pg_url"))


def mark_pg(items: list[pytest.Item]) -> None:
    """Mark every test that uses the PostgreSQL server `pg` (select with `-m pg` / `-m "not pg"`)."""
    for item in items:
        if "pg_cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.pg)
