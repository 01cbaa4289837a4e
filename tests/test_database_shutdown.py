"""Closing the database on shutdown: a connection that does not answer must not hold the process forever."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.database import Database


async def test_a_hung_connection_does_not_hold_shutdown(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    """A pooled connection whose driver never answers (a PostgreSQL server gone silent; here, SQLite's worker
    thread held inside a query): `paperboy run` and every command close the database last, and that waited for
    it without end, so SIGTERM never finished and a restart policy had to kill the process. The close gives up
    after its deadline, says so, and the process goes on to exit."""
    db = Database(f"sqlite:///{tmp_path / 'hung.db'}")
    gate, entered = threading.Event(), threading.Event()

    def hang() -> int:
        entered.set()
        return int(gate.wait(60))

    async with db.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.create_function("hang", 0, hang)
    stuck = asyncio.ensure_future(raw.execute("SELECT hang()"))  # the pooled connection's driver is busy for good
    try:
        assert await asyncio.to_thread(entered.wait, 10)
        with caplog.at_level(logging.WARNING, logger="storage.database"):
            async with asyncio.timeout(10):
                await db.dispose(deadline=0.2)
        assert any("did not close within 0.2 s" in r.getMessage() for r in caplog.records), caplog.text
    finally:
        gate.set()  # the driver answers again: what was left running ends
        others = asyncio.all_tasks() - {asyncio.current_task()}
        await asyncio.wait({stuck, *others}, timeout=10)


async def test_closing_an_idle_database_is_quiet(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    db = Database(f"sqlite:///{tmp_path / 'idle.db'}")
    await db.ping()
    with caplog.at_level(logging.WARNING, logger="storage.database"):
        await db.dispose(deadline=5)
    assert not caplog.records
