"""The PostgreSQL test infrastructure itself: a throwaway cluster that starts, restarts, recovers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.helpers.pg_cluster import PgCluster, find_bindir
from tests.helpers.pg_fixtures import StoreBackend, required, start_cluster


@pytest.fixture
def own_cluster(pg_cluster: PgCluster) -> Iterator[PgCluster]:
    """A second cluster this test may stop and kill without disturbing the shared one."""
    with PgCluster(pg_cluster.bindir) as cluster:
        yield cluster


def _count(url: str) -> int:
    with psycopg.connect(url, connect_timeout=10) as conn:
        row = conn.execute("SELECT count(*) FROM notes").fetchone()
    assert row is not None
    return int(row[0])


def _add_notes(url: str, n: int) -> None:
    with psycopg.connect(url, connect_timeout=10) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text)")
        for i in range(n):
            conn.execute("INSERT INTO notes (body) VALUES (%s)", (f"Rau cải {i}",))
            conn.commit()  # each one acknowledged on its own


def test_each_test_gets_a_fresh_database(pg_cluster: PgCluster, pg_url: str) -> None:
    with psycopg.connect(pg_url, connect_timeout=10) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert tables.fetchone() == (0,)
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
        assert conn.execute("SELECT upper('đường')").fetchone() == ("ĐƯỜNG",)
    _add_notes(pg_url, 3)
    assert _count(pg_url) == 3
    assert pg_url.startswith(f"postgresql://postgres@127.0.0.1:{pg_cluster.port}/")


def test_the_cluster_lives_in_a_directory_the_server_user_owns(pg_cluster: PgCluster) -> None:
    assert pg_cluster.data.is_dir()
    assert str(pg_cluster.base).startswith("/tmp/")
    assert pg_cluster.data.stat().st_mode & 0o777 == 0o700
    if os.geteuid() == 0:
        assert pg_cluster.data.owner() == "postgres"


def test_a_dropped_database_is_gone(pg_cluster: PgCluster) -> None:
    name, url = pg_cluster.create_database()
    _add_notes(url, 1)
    conn = psycopg.connect(url, connect_timeout=10)  # still connected: the drop forces it out
    try:
        pg_cluster.drop_database(name)
    finally:
        conn.close()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=10).close()


def test_restart_keeps_data_and_port(own_cluster: PgCluster) -> None:
    _, url = own_cluster.create_database()
    _add_notes(url, 5)
    port = own_cluster.port
    own_cluster.restart()
    assert own_cluster.port == port
    assert _count(url) == 5


def test_committed_rows_survive_a_kill(own_cluster: PgCluster) -> None:
    _, url = own_cluster.create_database()
    _add_notes(url, 20)
    pending = psycopg.connect(url, connect_timeout=10)
    pending.execute("INSERT INTO notes (body) VALUES ('chưa lưu')")  # never committed
    own_cluster.kill()
    assert not own_cluster.running
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2).close()
    own_cluster.start()
    assert _count(url) == 20
    pending.close()


def test_cleanup_removes_the_directory(pg_cluster: PgCluster) -> None:
    cluster = PgCluster(pg_cluster.bindir)
    cluster.start()
    base = cluster.base
    cluster.cleanup()
    assert not base.exists()
    cluster.cleanup()  # twice is harmless


def test_hidden_binaries_are_not_found(tmp_path: Path) -> None:
    assert find_bindir(search=(), path=str(tmp_path)) is None


def test_without_postgresql_tests_skip_unless_required(tmp_path: Path) -> None:
    hidden = find_bindir(search=(), path=str(tmp_path))
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        start_cluster(hidden, require=False)
    with pytest.raises(pytest.fail.Exception, match="NDS_REQUIRE_PG=1"):
        start_cluster(hidden, require=True)


def test_a_server_that_cannot_start_fails_when_required(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    for name in ("initdb", "pg_ctl", "postgres"):
        fake = tmp_path / "bin" / name
        fake.write_text("#!/bin/sh\necho broken >&2\nexit 1\n")
        fake.chmod(0o755)
    with pytest.raises(pytest.fail.Exception, match="initdb failed"):
        start_cluster(tmp_path / "bin", require=True)


def test_the_requirement_comes_from_the_environment() -> None:
    assert required({"NDS_REQUIRE_PG": "1"})
    assert not required({})
    assert not required({"NDS_REQUIRE_PG": "0"})


def test_the_embedded_backend_opens_the_embedded_store(tmp_path: Path) -> None:
    store = StoreBackend("embedded").open_store(tmp_path / "data")
    try:
        assert store.data_dir == tmp_path / "data"
    finally:
        store.close()
