"""Savepoints that stay inside their unit of work on SQLite too.

`Database.session` promises that a unit of work is committed whole or not at all. On SQLite the driver (pysqlite
under aiosqlite, in its default mode) opens a transaction only right before an INSERT, UPDATE or DELETE, so a
SAVEPOINT issued before any of them opens the transaction itself, and releasing that savepoint COMMITs: what it
wrote stayed stored when the unit of work failed afterwards (half of "/subscribe a, b" past the topic limit, a
channel row for a refused command). Opening the transaction first keeps the savepoint nested, as on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, AsyncSessionTransaction

__all__ = ["savepoint"]


@asynccontextmanager
async def savepoint(session: AsyncSession) -> AsyncIterator[AsyncSessionTransaction]:
    """`session.begin_nested()`, its writes undone with the rest of the unit of work on every backend."""
    connection = await session.connection()
    if connection.dialect.name == "sqlite":
        raw = await connection.get_raw_connection()
        if not raw.driver_connection.in_transaction:  # type: ignore[union-attr]
            await connection.exec_driver_sql("BEGIN")
    async with session.begin_nested() as nested:
        yield nested
