"""The lease-claim protocol behind "exactly once, also with several bot processes", written once for every table
that needs it: digest deliveries (`delivery_store`) and follow-up claims (`followup_store`).

Such a table has one row per (key, day) with `id`, `status` (claimed | posted | failed), `owner`, `attempts`,
`claimed_at`, `lease_expires_at`, `last_error`, `next_attempt_at`, `created_at` and `updated_at`, and a unique
constraint on its two key columns. The stores keep their own tickets, extra columns and transactions; this module
only decides who holds a row.

How a claim stays exclusive, on both backends:
- first claim: `INSERT … ON CONFLICT DO NOTHING`; the unique (key, day) constraint lets exactly one inserter win,
  whatever the number of processes;
- later claims (retry after a failure, takeover of a dead owner's expired lease): the row is read with
  `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL (a row another claimer is deciding on is skipped, not waited
  for — it is theirs), and then updated with a compare-and-set on `attempts`, the claim's fencing token, so
  the update changes nothing if anyone claimed in between. SQLite has no row locks (the clause is not
  rendered), but the INSERT that opens every claim already holds the database's single write lock, so the
  read-check-update runs with no other writer; the compare-and-set guards it all the same;
- complete / fail / renew match the same token (`Lease.held`), so a process whose lease was taken over can never
  mark the work done or failed, nor extend a lease it no longer holds.

Time is always passed in; nothing here reads the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.delivery_models import CLAIMED, FAILED, POSTED

BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(minutes=60)


@dataclass(frozen=True)
class Held:
    """Who holds a row: the three values every later write must still find there."""

    id: int
    owner: str
    attempt: int


@dataclass(frozen=True)
class Before:
    """The row a later claim took over, as it was: what a store tells its caller about the earlier attempt."""

    status: str
    owner: str | None
    last_error: str | None
    claimed_at: datetime | None
    created_at: datetime | None


@dataclass(frozen=True)
class Taken:
    """A claim just won; `before` is None for the first claim of the (key, day)."""

    held: Held
    before: Before | None


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after the 1st, 2nd, 3rd … attempt, capped at an hour: a rate limit or a brief outage
    clears quickly, a removed bot does not cost a query a minute all day."""
    exponent = min(max(attempts, 1) - 1, 16)
    return min(BACKOFF_BASE * (1 << exponent), BACKOFF_CAP)


# How long work that failed for good waits: past any digest's grace period, so the scheduler never tries it again
# that day (about twenty retries a day, each failing the same way, told the operator nothing new). The fix is on the
# platform's side (re-invite the bot, give it access, reinstall the app); then `/papers digest on` in the channel
# (`delivery_store.release_held`) or `paperboy digest run` tries it at once.
PERMANENT_HOLD = timedelta(hours=24)


def claimable(row: Any, now: datetime, *, retry_failed: bool = False) -> bool:
    """Whether a claim could take the row at `now`; `retry_failed`: also a failed one still waiting for its next
    attempt (someone asked for it by hand)."""
    if row.status == POSTED:
        return False
    if row.status == CLAIMED:
        return row.lease_expires_at is None or row.lease_expires_at <= now
    return retry_failed or row.next_attempt_at is None or row.next_attempt_at <= now


class Lease:
    """The protocol bound to one table: `model` is its ORM class, `keys` its two unique key columns."""

    def __init__(self, model: type[Any], keys: tuple[str, str]) -> None:
        self.model = model
        self.table = cast(Table, model.__table__)
        self.keys = keys

    def held(self, held: Held) -> ColumnElement[bool]:
        """The compare-and-set condition: still this claim, nobody has claimed since."""
        c = self.table.c
        return and_(c.id == held.id, c.status == CLAIMED, c.owner == held.owner, c.attempts == held.attempt)

    async def claim(self, session: AsyncSession, postgres: bool, key: tuple[Any, Any], owner: str, now: datetime,
                    lease_expires_at: datetime, *, first: Mapping[str, Any] | None = None,
                    takeover: Callable[[Before], Mapping[str, Any]] | None = None,
                    retry_failed: bool = False) -> Taken | None:
        """Own (key, day) until `lease_expires_at`, or None: done already, held under a live lease, or backing off
        after a failure (unless `retry_failed`). `first` adds columns to the row a first claim inserts; `takeover`
        adds changes to a later claim, from the row it takes over. Commits with the caller's session."""
        c = self.table.c
        values = {self.keys[0]: key[0], self.keys[1]: key[1], "status": CLAIMED, "owner": owner, "attempts": 1,
                  "claimed_at": now, "lease_expires_at": lease_expires_at, "created_at": now, "updated_at": now,
                  **(first or {})}
        dialect_insert = postgresql.insert if postgres else sqlite.insert
        inserted = (await session.execute(
            dialect_insert(self.table).values(values).on_conflict_do_nothing(index_elements=list(self.keys))
            .returning(c.id))).scalar_one_or_none()
        if inserted is not None:
            return Taken(Held(inserted, owner, 1), None)

        stmt = (select(self.model)
                .where(getattr(self.model, self.keys[0]) == key[0], getattr(self.model, self.keys[1]) == key[1])
                .with_for_update(skip_locked=True))
        row = (await session.execute(stmt)).scalar_one_or_none()
        # None: another claimer holds the row lock right now
        if row is None or not claimable(row, now, retry_failed=retry_failed):
            return None
        before = Before(row.status, row.owner, row.last_error, row.claimed_at, row.created_at)
        attempt = row.attempts + 1
        changes: dict[str, Any] = {"status": CLAIMED, "owner": owner, "attempts": attempt, "claimed_at": now,
                                   "lease_expires_at": lease_expires_at, "next_attempt_at": None, "updated_at": now}
        if takeover is not None:
            changes.update(takeover(before))
        won = (await session.execute(
            update(self.table).where(c.id == row.id, c.status == row.status, c.attempts == row.attempts)
            .values(changes).returning(c.id))).scalar_one_or_none()
        if won is None:
            return None
        return Taken(Held(row.id, owner, attempt), before)

    async def change(self, session: AsyncSession, held: Held, changes: Mapping[str, Any]) -> bool:
        """Write `changes` to the row only while `held` still holds it; False when the claim was lost."""
        done = (await session.execute(
            update(self.table).where(self.held(held)).values(dict(changes)).returning(self.table.c.id)
        )).scalar_one_or_none()
        return done is not None

    async def renew(self, session: AsyncSession, held: Held, now: datetime, lease_expires_at: datetime) -> bool:
        return await self.change(session, held, {"lease_expires_at": lease_expires_at, "updated_at": now})

    async def complete(self, session: AsyncSession, held: Held, now: datetime, changes: Mapping[str, Any]) -> bool:
        """Mark the row done (with the store's own columns in `changes`); False when the claim was lost. The
        store writes what goes with it in the same session, so both commit or neither does."""
        return await self.change(session, held, {"status": POSTED, "lease_expires_at": None,
                                                 "next_attempt_at": None, "updated_at": now, **changes})

    async def fail(self, session: AsyncSession, held: Held, error: str, now: datetime, *,
                   retry_after: float | None = None, permanent: bool = False) -> datetime | None:
        """Record a failure and when it may be retried (exponential backoff by attempt; `retry_after` seconds,
        e.g. a platform's rate-limit hint, when that is longer). A `permanent` failure (the channel is gone, the
        bot was removed, the platform refuses the message as it is) waits `retry_after` when the platform said
        when asking again could help (a rejected token, after a reinstall), else `PERMANENT_HOLD`. Returns the
        retry time, or None if the claim was lost — then someone else owns the work and its outcome. `error` is
        stored as given: the store makes it short and redacted (`delivery_store.short_error`)."""
        hinted = timedelta(seconds=retry_after) if retry_after is not None and retry_after > 0 else None
        if permanent:
            delay = hinted or PERMANENT_HOLD
        else:
            delay = max(retry_delay(held.attempt), hinted or timedelta(0))
        next_attempt = now + delay
        done = await self.change(session, held, {"status": FAILED, "last_error": error,
                                                 "next_attempt_at": next_attempt, "lease_expires_at": None,
                                                 "updated_at": now})
        return next_attempt if done else None
