"""A unit of work (`Database.session`) is stored whole or not at all, on SQLite as on PostgreSQL, also when it
wrote through savepoints (the stores' "insert unless someone got there first")."""

from __future__ import annotations

import pytest

from bot.errors import UsageError
from bot.scope import Scope
from storage.database import Database
from storage.destination_store import ensure_destination, get_destination
from storage.subscription_store import add_subscription, list_topics


class Refused(Exception):
    pass


async def test_a_unit_of_work_that_fails_after_its_savepoints_stores_none_of_them(db: Database) -> None:
    scope = Scope.for_channel("console", "local", "ml")
    with pytest.raises(Refused):
        async with db.session() as s:
            await ensure_destination(s, "console", "local", "ml", "ml")  # a savepoint before any other write
            await add_subscription(s, scope, "diffusion", "diffusion", limit=50)  # and another
            raise Refused
    async with db.session() as s:
        assert await get_destination(s, "console:local:ml") is None
        assert await list_topics(s, scope) == []


async def test_past_the_topic_limit_halfway_through_nothing_of_the_unit_is_kept(db: Database) -> None:
    scope = Scope.for_channel("console", "local", "ml")
    async with db.session() as s:
        for n in range(3):
            await add_subscription(s, scope, f"topic {n}", f"topic {n}", limit=4)
    with pytest.raises(UsageError):
        async with db.session() as s:
            await add_subscription(s, scope, "world models", "world models", limit=4)  # the 4th: fits
            await add_subscription(s, scope, "agents", "agents", limit=4)  # the 5th: refused
    async with db.session() as s:
        assert await list_topics(s, scope) == ["topic 0", "topic 1", "topic 2"]
