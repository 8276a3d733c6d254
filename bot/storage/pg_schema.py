"""The PostgreSQL schema: versioned SQL, applied at start-up by one process under a lock.

Documents stay JSON (`jsonb`) in one table keyed by (table, id) with a version number each
process checks before it overwrites a document (optimistic concurrency across processes).
Uniqueness that matters is a constraint of the database, not a check-then-insert: two
processes creating the same order code, handled update or invite code cannot both commit.
"""

from __future__ import annotations

from typing import Any

import psycopg

from bot.storage.codec import dumps

# SQL[i] brings the database from version i to i + 1; append, never edit or reorder.
SQL: tuple[str, ...] = (
    """
    CREATE TABLE docs (
        tbl text NOT NULL,
        id bigint NOT NULL,
        ver bigint NOT NULL,
        doc jsonb NOT NULL,
        PRIMARY KEY (tbl, id)
    );
    -- New document ids come in blocks of 32, one block per nextval (see IdBlocks).
    CREATE SEQUENCE doc_ids INCREMENT BY 32 MINVALUE 1 START 1;
    CREATE TABLE meta (key text PRIMARY KEY, value jsonb NOT NULL);
    CREATE TABLE leases (
        name text PRIMARY KEY,
        holder text NOT NULL,
        expires_at timestamptz NOT NULL
    );
    CREATE UNIQUE INDEX docs_orders_code ON docs ((doc->>'code')) WHERE tbl = 'orders';
    CREATE UNIQUE INDEX docs_seen_key ON docs ((doc->>'key')) WHERE tbl = 'seen_updates';
    CREATE UNIQUE INDEX docs_invites_code ON docs ((doc->>'code')) WHERE tbl = 'invites';
    CREATE UNIQUE INDEX docs_sessions_sid ON docs ((doc->>'sid'))
        WHERE tbl = 'console_sessions';
    CREATE UNIQUE INDEX docs_listings_slug ON docs ((doc->>'slug')) WHERE tbl = 'listings';
    """,
    """
    -- A commit is one statement (bot/storage/pg.py _COMMIT): this refuses all of it when a
    -- document it overwrites or removes is no longer at the version it read.
    CREATE FUNCTION nds_expect_rows(got bigint, want bigint) RETURNS bigint
    LANGUAGE plpgsql AS $$
    BEGIN
        IF got <> want THEN
            RAISE EXCEPTION 'another process changed these documents first'
                USING ERRCODE = 'serialization_failure';
        END IF;
        RETURN got;
    END
    $$;
    """,
    # State that lived in one process or in DATA_DIR files (issue 20): one document per key.
    """
    CREATE UNIQUE INDEX docs_console_links_hash ON docs ((doc->>'hash'))
        WHERE tbl = 'console_links';
    CREATE UNIQUE INDEX docs_zalo_oa_token_key ON docs ((doc->>'key'))
        WHERE tbl = 'zalo_oa_token';
    CREATE UNIQUE INDEX docs_plain_menus_chat ON docs ((doc->>'chat')) WHERE tbl = 'plain_menus';
    CREATE UNIQUE INDEX docs_secrets_name ON docs ((doc->>'name')) WHERE tbl = 'secrets';
    """,
    """
    -- One send schedule per channel, shared by every process (bot/storage/budget.py): the
    -- time after the last slot handed out (GCRA's theoretical arrival time).
    CREATE TABLE rate_budgets (name text PRIMARY KEY, tat timestamptz NOT NULL);
    """,
)

# The meta row of a copy into the database (bot/storage/pg_copy.py): source, progress, finished.
COPY_KEY = "copy"
MIGRATION_LOCK = 0x4E44_5301  # pg_advisory_lock key: one process migrates, the others wait


def migrate(conn: psycopg.Connection) -> int:
    """Apply the versions this database lacks, under the migration lock; return the version."""
    conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version int NOT NULL)")
        row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
        version = int(row[0]) if row and row[0] is not None else 0
        for number in range(version, len(SQL)):
            with conn.transaction():
                conn.execute(SQL[number].encode())
                conn.execute("INSERT INTO schema_version VALUES (%s)", (number + 1,))
        return len(SQL)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))


def set_schema(conn: psycopg.Connection[Any], version: int) -> None:
    """Record the data's schema version (bot/storage/db.py MIGRATIONS) in `meta`."""
    conn.execute(
        "INSERT INTO meta VALUES ('schema', %s::jsonb) ON CONFLICT (key) DO UPDATE"
        " SET value = excluded.value",
        (dumps(version).decode(),),
    )


def index_sql(table: str, field: str) -> str:
    """DDL for an expression index on one looked-up field of one table (names are ours)."""
    name = f"docs_{table}_{field}"[:63]
    return (
        f"CREATE INDEX IF NOT EXISTS \"{name}\" ON docs ((doc->'{field}')) WHERE tbl = '{table}'"
    )
