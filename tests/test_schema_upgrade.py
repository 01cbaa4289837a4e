"""Every start upgrades the schema: a database behind is brought to the newest migration, one already there is
left as it is (without Alembic: that took a third of a second of every command), on both backends."""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from storage.database import Database, alembic_config, head_revision


def test_the_newest_migration_file_is_alembics_only_head():
    assert ScriptDirectory.from_config(alembic_config()).get_heads() == [head_revision()]


def _downgrade_one(connection: Connection) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.downgrade(cfg, "-1")


def _state(connection: Connection) -> tuple[list[str], set[tuple[str, str]]]:
    """The revision and every (table, column): what any migration changes."""
    versions = list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    schema = inspect(connection)
    return versions, {(table, c["name"]) for table in schema.get_table_names() for c in schema.get_columns(table)}


async def test_a_database_one_migration_behind_is_upgraded_and_one_at_the_head_kept(db: Database):
    async with db.engine.begin() as conn:
        at_head = await conn.run_sync(_state)
        await conn.run_sync(_downgrade_one)
        behind, columns_behind = await conn.run_sync(_state)
    assert behind != [head_revision()] and columns_behind < at_head[1]
    await db.upgrade()
    async with db.engine.begin() as conn:
        assert await conn.run_sync(_state) == at_head
    await db.upgrade()  # at the head: nothing to do, nothing lost
    async with db.engine.begin() as conn:
        assert (await conn.run_sync(_state))[0] == [head_revision()]
