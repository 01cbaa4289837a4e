"""Each (destination, digest day) is claimed and posted exactly once: across crashes, failures, racing engines
and racing OS processes, on SQLite and PostgreSQL. Time is always injected; nothing sleeps."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from storage.database import Database
from storage.delivery_models import Delivery
from storage.delivery_store import (
    Claim,
    claim,
    complete,
    due_deliveries,
    fail,
    get_delivery,
    last_posted,
    process_owner,
    recent_failures,
    renew,
    retry_delay,
    short_error,
    status,
)
from storage.destination_store import posted_paper_ids

DAY = date(2026, 11, 24)
T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
LEASE = 300.0
DEST = "slack:T1:C1"
REPO = Path(__file__).resolve().parent.parent


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def must_claim(db: Database, owner: str, now: datetime, key: str = DEST, day: date = DAY) -> Claim:
    got = await claim(db, key, day, owner, now, LEASE)
    assert got is not None, f"{owner} expected to claim {key} {day}"
    return got


async def test_first_claim_wins_and_a_second_gets_nothing(db: Database) -> None:
    first = await must_claim(db, "a", T0)
    assert (first.attempt, first.owner, first.previous_owner) == (1, "a", None)
    assert first.lease_expires_at == at(LEASE)
    assert await claim(db, DEST, DAY, "b", at(1), LEASE) is None
    assert await claim(db, DEST, DAY, "a", at(1), LEASE) is None  # not even the owner twice
    # Another day and another channel are separate deliveries.
    assert await claim(db, DEST, DAY + timedelta(days=1), "b", at(1), LEASE) is not None
    assert await claim(db, "discord:G1:C9", DAY, "b", at(1), LEASE) is not None


async def test_a_posted_digest_is_never_claimed_again_and_its_papers_count_as_posted(db: Database) -> None:
    held = await must_claim(db, "a", T0)
    assert await complete(db, held, "1700000000.000100", [3, 1, 2], at(5), thread_ref="t-1")
    for later in (at(LEASE + 1), at(86_400 * 30)):
        assert await claim(db, DEST, DAY, "b", later, LEASE) is None
    assert not await complete(db, held, "again", [9], at(6))  # completing twice changes nothing
    async with db.session() as s:
        row = await get_delivery(s, DEST, DAY)
        assert row is not None
        assert (row.status, row.message_ref, row.paper_ids, row.posted_at) == ("posted", "1700000000.000100",
                                                                               [3, 1, 2], at(5))
        assert row.lease_expires_at is None
        assert await posted_paper_ids(s, DEST) == {1, 2, 3}
        assert await due_deliveries(s, at(86_400), since=DAY) == []


async def test_a_crashed_claim_is_taken_over_exactly_once_after_its_lease(db: Database) -> None:
    dead = await must_claim(db, "dead", T0)
    assert await claim(db, DEST, DAY, "b", at(LEASE - 1), LEASE) is None  # lease still live
    async with db.session() as s:
        assert await due_deliveries(s, at(LEASE - 1), since=DAY) == []
        due = await due_deliveries(s, at(LEASE), since=DAY)
        assert [(d.destination_key, d.status, d.owner) for d in due] == [(DEST, "claimed", "dead")]
    heir = await must_claim(db, "b", at(LEASE))
    assert (heir.attempt, heir.previous_owner, heir.previous_error) == (2, "dead", "lease of dead expired")
    assert await claim(db, DEST, DAY, "c", at(LEASE), LEASE) is None
    # The dead owner wakes up: it can neither finish, fail nor extend what is no longer its claim.
    assert await renew(db, dead, at(LEASE + 1), LEASE) is None
    assert await fail(db, dead, "late", at(LEASE + 1)) is None
    assert not await complete(db, dead, "dup", [1], at(LEASE + 1))
    assert await complete(db, heir, "m-1", [1], at(LEASE + 2))
    async with db.session() as s:
        row = await get_delivery(s, DEST, DAY)
        assert row is not None and (row.status, row.owner, row.message_ref, row.attempts) == ("posted", "b", "m-1", 2)


async def test_the_same_process_restarted_does_not_mistake_the_old_claim_for_its_own(db: Database) -> None:
    before, after = process_owner(), process_owner()
    assert before != after
    await must_claim(db, before, T0)
    assert await claim(db, DEST, DAY, after, at(1), LEASE) is None
    assert (await must_claim(db, after, at(LEASE))).previous_owner == before


async def test_renewing_keeps_the_lease_and_a_lost_lease_cannot_complete(db: Database) -> None:
    held = await must_claim(db, "a", T0)
    renewed = await renew(db, held, at(LEASE - 10), LEASE)
    assert renewed is not None and renewed.lease_expires_at == at(2 * LEASE - 10)
    assert await claim(db, DEST, DAY, "b", at(LEASE + 10), LEASE) is None  # renewed: not expired yet
    # A lease that ran out but nobody took over still belongs to its holder: nobody else can have posted.
    late = await renew(db, renewed, at(3 * LEASE), LEASE)
    assert late is not None
    heir = await must_claim(db, "b", at(5 * LEASE))
    assert not await complete(db, late, "m-a", [1], at(5 * LEASE + 1))
    assert await complete(db, heir, "m-b", [1], at(5 * LEASE + 2))
    async with db.session() as s:
        assert (await last_posted(s, DEST)).message_ref == "m-b"  # type: ignore[union-attr]


async def test_a_failure_is_retried_only_after_an_exponential_backoff(db: Database) -> None:
    now = T0
    for attempt, minutes in ((1, 1), (2, 2), (3, 4), (4, 8)):
        held = await must_claim(db, "a", now)
        assert held.attempt == attempt
        retry_at = await fail(db, held, RuntimeError("channel_not_found"), now)
        assert retry_at == now + timedelta(minutes=minutes)
        assert await claim(db, DEST, DAY, "b", retry_at - timedelta(seconds=1), LEASE) is None
        async with db.session() as s:
            assert await due_deliveries(s, retry_at - timedelta(seconds=1), since=DAY) == []
            assert len(await due_deliveries(s, retry_at, since=DAY)) == 1
        now = retry_at
    held = await must_claim(db, "b", now)
    assert held.previous_error == "RuntimeError: channel_not_found" and held.previous_owner is None
    # A rate limit's Retry-After wins when it is longer than the backoff.
    retry_at = await fail(db, held, "ratelimited", now, retry_after=3600)
    assert retry_at == now + timedelta(hours=1)
    assert [retry_delay(n).total_seconds() / 60 for n in (1, 2, 3, 4, 5, 6, 7, 8, 50)] == [
        1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert await claim(db, DEST, DAY, "c", retry_at, LEASE) is not None


async def test_status_lists_the_latest_delivery_last_post_and_recent_failures(db: Database) -> None:
    other = "discord:G1:C2"
    for offset in range(3):
        day = DAY + timedelta(days=offset)
        held = await must_claim(db, "a", at(offset * 86_400), day=day)
        if offset == 1:
            assert await fail(db, held, "boom", at(offset * 86_400 + 1)) is not None
            held = await must_claim(db, "a", at(offset * 86_400 + 120), day=day)
        if offset < 2:
            assert await complete(db, held, f"m{offset}", [offset], at(offset * 86_400 + 130))
        else:
            assert await fail(db, held, "channel is gone", at(offset * 86_400 + 5)) is not None
    await must_claim(db, "b", T0, key=other)
    async with db.session() as s:
        rows = await status(s)
        assert [(r.destination_key, r.digest_day, r.status) for r in rows] == [
            (other, DAY, "claimed"), (DEST, DAY + timedelta(days=2), "failed")]
        assert [r.destination_key for r in await status(s, [other])] == [other]
        last = await last_posted(s, DEST)
        assert last is not None and (last.digest_day, last.message_ref, last.attempts) == (
            DAY + timedelta(days=1), "m1", 2)
        failures = await recent_failures(s, DEST, limit=5)
        assert [(f.digest_day, f.status, f.last_error) for f in failures] == [
            (DAY + timedelta(days=2), "failed", "channel is gone"), (DAY + timedelta(days=1), "posted", "boom")]
        assert len(await recent_failures(s, DEST, limit=1)) == 1
        assert await last_posted(s, other) is None


async def test_times_are_stored_and_read_back_as_utc_whatever_the_zone_given(db: Database) -> None:
    paris = T0.astimezone(ZoneInfo("Europe/Paris"))
    held = await must_claim(db, "a", paris)
    assert held.claimed_at == T0 and held.claimed_at.tzinfo == UTC
    # Naive times are taken as UTC, so the lease comparison still works.
    assert await claim(db, DEST, DAY, "b", T0.replace(tzinfo=None) + timedelta(seconds=LEASE - 1), LEASE) is None
    async with db.session() as s:
        row = (await s.execute(select(Delivery))).scalar_one()
        for value in (row.claimed_at, row.lease_expires_at, row.created_at, row.updated_at):
            assert value is not None and value.utcoffset() == timedelta(0)
        assert row.lease_expires_at == at(LEASE)


def test_errors_are_one_short_line_without_secrets() -> None:
    text = short_error(RuntimeError(
        "posting failed\n  token=xoxb-1234-5678-abcdef Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123 "
        "db postgresql://bot:hunter2@db.internal/x key sk-proj-ABCDEFGHIJKLMNOP " + "x" * 500))
    assert "\n" not in text and len(text) <= 300 and text.endswith("…")
    for secret in ("xoxb", "hunter2", "abcdefghijklmnop", "sk-proj"):
        assert secret not in text
    assert text.startswith("RuntimeError: posting failed token=*** Authorization: Bearer ***")  # no secret: the scheme
    assert short_error("the bot was removed from the channel") == "the bot was removed from the channel"


async def test_many_engines_racing_claim_each_digest_exactly_once(db: Database, db_env: dict[str, str]) -> None:
    """Five independent engines (as five bot processes would have) race for 10 channels × 2 days, then race
    again, once every claim has been abandoned, to take the expired leases over."""
    engines = [Database(db_env["PAPERBOY_DATABASE_URL"], schema=db_env.get("PAPERBOY_DATABASE_SCHEMA"))
               for _ in range(5)]
    keys = [f"slack:T1:C{i}" for i in range(10)]
    days = [DAY, DAY + timedelta(days=1)]
    try:
        async def race(now: datetime) -> list[Claim]:
            tries = [claim(engine, key, day, f"engine-{n}", now, LEASE)
                     for n, engine in enumerate(engines) for key in keys for day in days for _ in range(2)]
            return [c for c in await asyncio.gather(*tries) if c is not None]

        first = await race(T0)
        assert Counter((c.destination_key, c.digest_day) for c in first) == {(k, d): 1 for k in keys for d in days}
        takeovers = await race(at(LEASE))
        assert Counter((c.destination_key, c.digest_day) for c in takeovers) == {
            (k, d): 1 for k in keys for d in days}
        assert all(c.attempt == 2 and c.previous_owner for c in takeovers)
        # Only the takeover's claims can complete, all at once from their own engines.
        owners = {f"engine-{n}": engine for n, engine in enumerate(engines)}
        done = await asyncio.gather(*(complete(owners[c.owner], c, f"m-{c.destination_key}", [1], at(LEASE + 1))
                                      for c in [*first, *takeovers]))
        assert sum(done) == len(takeovers) and all(done[len(first):])
    finally:
        await asyncio.gather(*(engine.dispose() for engine in engines))


_PROCESS = """
import asyncio, json, os, sys
from datetime import date, datetime
from storage.database import Database
from storage.delivery_store import claim, complete

async def main() -> None:
    name, day, now = sys.argv[1], date.fromisoformat(sys.argv[2]), datetime.fromisoformat(sys.argv[3])
    keys = json.loads(sys.argv[4])
    db = Database(os.environ["PAPERBOY_DATABASE_URL"], schema=os.environ.get("PAPERBOY_DATABASE_SCHEMA"))
    await db.ping()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

    async def deliver(key: str) -> str | None:
        held = await claim(db, key, day, name, now, 300)
        if held is None:
            return None
        # The "post" itself: only a claimer gets here, and it completes what it posted.
        return key if await complete(db, held, f"{name}-{key}", [1, 2], now) else None

    posted = await asyncio.gather(*(deliver(k) for _ in range(3) for k in keys))
    await db.dispose()
    print(json.dumps([p for p in posted if p]), flush=True)

asyncio.run(main())
"""


async def test_separate_bot_processes_never_post_the_same_digest_twice(db: Database, db_env: dict[str, str]) -> None:
    """Three OS processes with their own engines, released at the same moment; half the channels start with an
    abandoned claim (expired lease) and a few with a failure due for retry, so takeovers race too."""
    keys = [f"slack:T1:C{i}" for i in range(10)]
    for key in keys[:5]:
        await must_claim(db, "dead", T0, key=key)
    for key in keys[5:7]:
        held = await must_claim(db, "flaky", T0, key=key)
        assert await fail(db, held, "rate limited", T0) is not None
    now = at(LEASE + 60)
    env = {**os.environ, **db_env, "PYTHONPATH": str(REPO)}
    procs = [await asyncio.create_subprocess_exec(
        sys.executable, "-c", _PROCESS, f"proc-{n}", DAY.isoformat(), now.isoformat(), json.dumps(keys),
        cwd=REPO, env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE) for n in range(3)]
    try:
        for proc in procs:
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), timeout=120)  # start-up on a busy machine
            assert line.strip() == b"ready", (line, await proc.stderr.read() if proc.stderr else b"")
        for proc in procs:  # release them together
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
        outputs = [await asyncio.wait_for(proc.communicate(), timeout=120) for proc in procs]
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()
    posted = Counter(key for out, _ in outputs for key in json.loads(out.decode().strip().splitlines()[-1]))
    assert posted == {key: 1 for key in keys}
    async with db.session() as s:
        rows = (await s.execute(select(Delivery).order_by(Delivery.destination_key))).scalars().all()
        assert len(rows) == len(keys) and all(r.status == "posted" for r in rows)
        assert {r.destination_key: r.attempts for r in rows} == {k: 2 if k in keys[:7] else 1 for k in keys}
