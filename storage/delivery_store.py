"""Claiming, completing and failing digest deliveries so that each (destination, day) is posted exactly once.

Every write takes the `Database`, not a session, and commits before returning: a claim only protects anything
once other processes can see it, and a transaction held open across a slow platform call would block them.
Reads take a session so the CLI can combine them with other queries.

A claim stays exclusive on both backends by the protocol in `storage.lease_claims` (an `INSERT … ON CONFLICT DO
NOTHING` first, then a compare-and-set on `attempts`, the fencing token, behind `SELECT … FOR UPDATE SKIP
LOCKED`); complete / fail / renew match the same token, so a process whose lease was taken over can never mark a
digest posted or failed, nor extend a lease it no longer holds.

Time is always passed in; nothing here reads the clock.
"""

from __future__ import annotations

import os
import re
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.redaction import mask_secrets
from storage.database import Database
from storage.delivery_models import CLAIMED, ERROR_MAX_CHARS, FAILED, POSTED, ConsolePost, Delivery
from storage.destination_models import PostedMessage
from storage.destination_store import count_posted, record_posted
from storage.lease_claims import Before, Held, Lease, claimable, utc
from storage.lease_claims import retry_delay as retry_delay  # re-exported: the backoff callers and tests know
from storage.savepoints import savepoint


@dataclass(frozen=True)
class Claim:
    """Proof of owning one delivery right now; hand it back to `complete`, `fail` or `renew`.

    `attempt` is the fencing token (1 for the first claim). `previous_owner` is set when this claim took over a
    lease that expired: that owner may have died after the platform accepted the post but before `complete`,
    so a careful poster checks the channel for the digest before posting again.
    """

    id: int
    destination_key: str
    digest_day: date
    owner: str
    attempt: int
    claimed_at: datetime
    lease_expires_at: datetime
    previous_owner: str | None = None
    previous_error: str | None = None
    # Set on every claim after the first (`attempt` > 1): when the delivery was first claimed, where a platform
    # search for an earlier attempt's post starts.
    first_claimed_at: datetime | None = None


@dataclass(frozen=True)
class DeliveryView:
    """A detached snapshot of one delivery row, for status output and the scheduler's decisions."""

    destination_key: str
    digest_day: date
    status: str
    owner: str | None
    attempts: int
    claimed_at: datetime | None
    lease_expires_at: datetime | None
    last_error: str | None
    next_attempt_at: datetime | None
    posted_at: datetime | None
    message_ref: str | None
    paper_ids: list[int]
    updated_at: datetime | None

    @classmethod
    def of(cls, row: Delivery) -> DeliveryView:
        return cls(destination_key=row.destination_key, digest_day=row.digest_day, status=row.status,
                   owner=row.owner, attempts=row.attempts, claimed_at=row.claimed_at,
                   lease_expires_at=row.lease_expires_at, last_error=row.last_error,
                   next_attempt_at=row.next_attempt_at, posted_at=row.posted_at, message_ref=row.message_ref,
                   paper_ids=[int(i) for i in row.paper_ids or []], updated_at=row.updated_at)


def process_owner() -> str:
    """An owner id unique to this process instance: a restarted bot must not mistake its predecessor's claim
    for its own, and two processes on one host must differ."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_running(owner: str | None) -> bool | None:
    """Whether the process behind a `process_owner` id still runs: known only for owners on this host (a
    signal-0 probe of its pid); None for other hosts or ids of another shape. A reused pid reads as running,
    which errs on the side of "wait for the lease"."""
    parts = (owner or "").rsplit(":", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname()[:120] or not parts[1].isdigit():
        return None
    pid = int(parts[1])
    if pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")  # C0 and C1 controls but the whitespace `split` takes


def short_error(error: BaseException | str) -> str:
    """One line, at most 300 characters, with anything that looks like a credential replaced by *** (the log's
    rules: `bot.redaction.mask_secrets`), and no control character: a platform's error text is printed by
    `paperboy digest status`, where an escape sequence in it would drive the operator's terminal (a hidden link,
    a cleared screen)."""
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}".rstrip(": ")
    text = " ".join(_CONTROL_RE.sub("", text).split())
    text = mask_secrets(text, "***")
    return text[:ERROR_MAX_CHARS] if len(text) <= ERROR_MAX_CHARS else text[: ERROR_MAX_CHARS - 1] + "…"


_LEASE = Lease(Delivery, ("destination_key", "digest_day"))


def _held(claim: Claim) -> Held:
    return Held(claim.id, claim.owner, claim.attempt)


def _lease_expired(before: Before) -> dict[str, Any]:
    """A takeover of a live-looking claim records whose lease ran out, for `paperboy digest status`."""
    if before.status == CLAIMED and before.owner:
        return {"last_error": short_error(f"lease of {before.owner} expired")}
    return {}


async def claim(db: Database, destination_key: str, digest_day: date, owner: str, now: datetime,
                lease_seconds: float, *, retry_failed: bool = False) -> Claim | None:
    """Own this (destination, day) delivery until `now + lease_seconds`, or None if it is not ours to post:
    posted already, claimed under a live lease, or failed and still waiting for its next attempt (unless
    `retry_failed`: a run by hand, after someone fixed what failed)."""
    if lease_seconds <= 0:
        raise ValueError("lease_seconds must be positive")
    now = utc(now)
    lease = now + timedelta(seconds=lease_seconds)
    async with db.session() as session:
        taken = await _LEASE.claim(session, db.is_postgres, (destination_key, digest_day), owner, now, lease,
                                   first={"paper_ids": None}, takeover=_lease_expired, retry_failed=retry_failed)
    if taken is None:
        return None
    claimed = Claim(id=taken.held.id, destination_key=destination_key, digest_day=digest_day, owner=owner,
                    attempt=taken.held.attempt, claimed_at=now, lease_expires_at=lease)
    if (before := taken.before) is None:
        return claimed
    previous_owner = before.owner if before.status == CLAIMED else None
    return replace(claimed, previous_owner=previous_owner,
                   previous_error=f"lease of {before.owner} expired" if previous_owner else before.last_error,
                   first_claimed_at=before.created_at or before.claimed_at)


async def renew(db: Database, held: Claim, now: datetime, lease_seconds: float) -> Claim | None:
    """Push the lease out during a long post; None means the claim was lost and posting must stop.

    Succeeds even after the lease ran out as long as nobody took over — the token proves nobody else posted.
    """
    if lease_seconds <= 0:
        raise ValueError("lease_seconds must be positive")
    now = utc(now)
    lease = now + timedelta(seconds=lease_seconds)
    async with db.session() as session:
        if not await _LEASE.renew(session, _held(held), now, lease):
            return None
    return replace(held, lease_expires_at=lease)


async def complete(db: Database, held: Claim, message_ref: str, paper_ids: Sequence[int], now: datetime, *,
                   thread_ref: str | None = None) -> bool:
    """Mark the digest posted and, in the same transaction, record the message's papers (kind "digest") so
    later digests never repeat them. False when the claim was lost: the caller must not treat the digest as
    its own, though the message it posted still exists (record it with `record_posted` if it should count)."""
    now = utc(now)
    ids = [int(i) for i in paper_ids]
    async with db.session() as session:
        if not await _LEASE.complete(session, _held(held), now,
                                     {"posted_at": now, "message_ref": message_ref[:200], "paper_ids": ids}):
            return False
        await record_posted(session, held.destination_key, message_ref[:200], ids, kind="digest",
                            thread_ref=thread_ref, digest_day=held.digest_day)
        # The console recorded the message when it took its number (`log_console_digest`); it is the day's
        # digest from now on, with the papers the delivery lists.
        await session.execute(update(PostedMessage).where(
            PostedMessage.destination_key == held.destination_key, PostedMessage.message_ref == message_ref[:200],
            PostedMessage.kind == CONSOLE_PRINTED,
        ).values(kind="digest", paper_ids=ids, digest_day=held.digest_day))
    return True


NOTHING_SENT = "(nothing to send)"  # the message_ref of a delivery completed without a post


async def complete_without_post(db: Database, held: Claim, now: datetime) -> bool:
    """Mark the day's delivery done with nothing posted (a DM digest with nothing new for the person): it is
    not retried, and `paperboy digest status` shows it. False when the claim was lost."""
    now = utc(now)
    async with db.session() as session:
        return await _LEASE.complete(session, _held(held), now,
                                     {"posted_at": now, "message_ref": NOTHING_SENT, "paper_ids": []})




async def fail(db: Database, held: Claim, error: BaseException | str, now: datetime, *,
               retry_after: float | None = None, permanent: bool = False) -> datetime | None:
    """Record a failed post and when it may be retried: the lease's rules (`Lease.fail`: backoff, the platform's
    hint, a day's hold for a `permanent` failure). Returns the retry time, or None if the claim was lost — then
    someone else owns the delivery and its outcome."""
    async with db.session() as session:
        return await _LEASE.fail(session, _held(held), short_error(error), utc(now), retry_after=retry_after,
                                 permanent=permanent)


async def release_held(session: AsyncSession, destination_key: str) -> int:
    """Let the destination's failed deliveries be tried at the next tick: its digest was just set or turned on,
    so whoever did it expects today's digest now, not after a failure's hold (the bot was re-invited, given
    access). Returns how many were waiting."""
    table = cast(Table, Delivery.__table__)
    result = await session.execute(
        update(table).where(table.c.destination_key == destination_key, table.c.status == FAILED,
                            table.c.next_attempt_at.is_not(None))
        .values(next_attempt_at=None))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def get_delivery(session: AsyncSession, destination_key: str, digest_day: date) -> DeliveryView | None:
    stmt = select(Delivery).where(Delivery.destination_key == destination_key, Delivery.digest_day == digest_day)
    row = (await session.execute(stmt)).scalar_one_or_none()
    return DeliveryView.of(row) if row is not None else None


async def status(session: AsyncSession, destination_keys: Sequence[str] | None = None) -> list[DeliveryView]:
    """Each destination's latest delivery (by digest day), ordered by destination: the "where is every channel
    now" table of `paperboy digest status`."""
    latest = select(Delivery.destination_key, func.max(Delivery.digest_day).label("day"))
    if destination_keys is not None:
        latest = latest.where(Delivery.destination_key.in_(list(destination_keys)))
    sub = latest.group_by(Delivery.destination_key).subquery()
    stmt = (select(Delivery)
            .join(sub, and_(Delivery.destination_key == sub.c.destination_key, Delivery.digest_day == sub.c.day))
            .order_by(Delivery.destination_key))
    return [DeliveryView.of(row) for row in (await session.execute(stmt)).scalars()]


async def failing_destinations(session: AsyncSession) -> list[DeliveryView]:
    """Destinations whose latest delivery failed (the bot was removed from the channel, the channel is gone, the
    platform refuses): what `paperboy digest status` lists first, with the error."""
    return [view for view in await status(session) if view.status == FAILED]


async def last_posted(session: AsyncSession, destination_key: str) -> DeliveryView | None:
    stmt = (select(Delivery).where(Delivery.destination_key == destination_key, Delivery.status == POSTED)
            .order_by(Delivery.digest_day.desc()).limit(1))
    row = (await session.execute(stmt)).scalar_one_or_none()
    return DeliveryView.of(row) if row is not None else None


async def open_claims(session: AsyncSession, destination_key: str) -> list[DeliveryView]:
    """Deliveries claimed and not finished: in progress, or left behind by a process that died."""
    stmt = select(Delivery).where(Delivery.destination_key == destination_key, Delivery.status == CLAIMED) \
        .order_by(Delivery.digest_day)
    return [DeliveryView.of(row) for row in (await session.execute(stmt)).scalars()]


async def recent_failures(session: AsyncSession, destination_key: str, limit: int = 5) -> list[DeliveryView]:
    """Deliveries that hit an error, newest first: failing now, or posted in the end after one (the error is
    kept on the row for exactly this)."""
    stmt = (select(Delivery)
            .where(Delivery.destination_key == destination_key, Delivery.last_error.is_not(None))
            .order_by(Delivery.updated_at.desc(), Delivery.digest_day.desc()).limit(limit))
    return [DeliveryView.of(row) for row in (await session.execute(stmt)).scalars()]


_KEYS_PER_QUERY = 1000  # well under either database's limit on bound parameters


async def settled(session: AsyncSession, pairs: Sequence[tuple[str, date]], now: datetime) -> set[tuple[str, date]]:
    """The (destination, day) pairs among `pairs` that no claim could take at `now`: posted, held under a live
    lease, or failed and still backing off. A scheduler tick leaves them out before loading anything, so a
    digest posted at 09:00 is not re-examined (and counted as skipped) every minute of its grace period; a
    pair that reads as claimable here is still only posted by whoever wins `claim`."""
    if not pairs:
        return set()
    now = utc(now)
    wanted = set(pairs)
    keys = sorted({k for k, _ in wanted})
    days = sorted({d for _, d in wanted})
    found: set[tuple[str, date]] = set()
    for start in range(0, len(keys), _KEYS_PER_QUERY):  # thousands of channels may share a digest time
        stmt = select(Delivery).where(Delivery.destination_key.in_(keys[start:start + _KEYS_PER_QUERY]),
                                      Delivery.digest_day.in_(days))
        found.update((row.destination_key, row.digest_day) for row in (await session.execute(stmt)).scalars()
                     if (row.destination_key, row.digest_day) in wanted and not claimable(row, now))
    return found


async def due_deliveries(session: AsyncSession, now: datetime, *, since: date) -> list[DeliveryView]:
    """Deliveries from `since` on that a scheduler tick should try to claim again: failed ones whose backoff is
    over, and claims whose owner's lease ran out (it died). `claim` re-checks both atomically."""
    now = utc(now)
    stmt = (select(Delivery)
            .where(Delivery.digest_day >= since, or_(
                and_(Delivery.status == FAILED,
                     or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now)),
                and_(Delivery.status == CLAIMED,
                     or_(Delivery.lease_expires_at.is_(None), Delivery.lease_expires_at <= now))))
            .order_by(Delivery.digest_day, Delivery.destination_key))
    return [DeliveryView.of(row) for row in (await session.execute(stmt)).scalars()]



# -- the console's delivery log ------------------------------------------------------------------------------


# A console digest's message, recorded when it took its number and before its delivery completed: its thread
# answers about its papers, but they count as posted (never repeated, followed up) only once `complete` says so.
CONSOLE_PRINTED = "digest-printed"


async def _write_first(session: AsyncSession) -> None:
    """On SQLite, hold the write lock from the start of a read-then-write unit of work (`BEGIN IMMEDIATE`).

    A deferred transaction reads a snapshot; when another process (its own connection) writes and commits before
    this one writes, SQLite refuses the write at once ("database is locked", no waiting), since this one's reads
    are stale. Taken first, the lock waits its turn (the busy timeout) and the reads see the other's row. On
    PostgreSQL the unique constraint and the retry after a clash do the same; nothing to do there."""
    connection = await session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = await connection.get_raw_connection()
    if not raw.driver_connection.in_transaction:  # type: ignore[union-attr]
        await connection.exec_driver_sql("BEGIN IMMEDIATE")


async def console_numbers_used(session: AsyncSession, destination_key: str) -> int:
    """The highest console message number taken in a channel: by a recorded message, or by a digest that was
    printed but whose delivery was never completed (its number is in the console log only)."""
    logged = select(func.max(ConsolePost.number)).where(ConsolePost.destination_key == destination_key)
    highest = int((await session.execute(logged)).scalar_one() or 0)
    return max(await count_posted(session, destination_key), highest)


async def record_console_message(session: AsyncSession, destination_key: str, paper_ids: Sequence[int], *,
                                 kind: str, digest_day: date | None = None) -> int:
    """Take the channel's next console number for a message listing papers and record the message under it, in one
    step against every other writer: two answers printed at once (two `say` scripts, a command beside `paperboy run
    --console`) had read the same free number, and the second one's papers were never stored, so its thread
    answered about the first one's. A number another writer took in between is skipped for the next."""
    await _write_first(session)
    number = await console_numbers_used(session, destination_key) + 1
    for candidate in range(number, number + 1000):
        try:
            async with savepoint(session):
                session.add(PostedMessage(destination_key=destination_key, message_ref=str(candidate), kind=kind,
                                          paper_ids=list(paper_ids), digest_day=digest_day))
            return candidate
        except IntegrityError:
            continue
    raise RuntimeError(f"no free console number in {destination_key} after {number + 999}")


async def log_console_digest(db: Database, destination_key: str, tag: str, paper_ids: Sequence[int], *,
                             digest_day: date) -> tuple[int, bool]:
    """Take the channel's next console number for a tagged digest and, in the same transaction, record the message
    under it and log the tag, committed before it is printed.

    The number used to be read first and written to the console's log only, apart from the messages commands
    record: a `paperboy say` in another process took the same number meanwhile, both were printed as #N, and
    the digest's papers were never stored under it (the delivery's completion found #N recorded already). Taking
    it as commands do makes the unique (channel, message ref) of the recorded messages catch the clash, and the
    digest takes the next free number. The delivery's completion makes the recorded message its digest.

    Returns the digest's number and whether this call logged it; False: an earlier attempt already printed it."""
    async with db.session() as session:
        await _write_first(session)
        existing = await find_console_post(session, tag)
        if existing is not None:
            return existing, False
        try:
            async with savepoint(session):
                number = await record_console_message(session, destination_key, paper_ids, kind=CONSOLE_PRINTED,
                                                      digest_day=digest_day)
                session.add(ConsolePost(destination_key=destination_key, tag=tag[:100], number=number))
        except IntegrityError:  # the same tag, logged by another attempt at this very moment
            existing = await find_console_post(session, tag)
            if existing is None:
                raise
            return existing, False
    return number, True


async def log_console_post(db: Database, destination_key: str, tag: str, number: int) -> tuple[int, bool]:
    """Write a digest into the console's log under its delivery tag, committed before it is printed.

    Returns the number the tagged digest has and whether this call logged it; False means an earlier attempt
    already printed it (under the returned number), so it must not be printed again."""
    dialect_insert = postgresql.insert if db.is_postgres else sqlite.insert
    table = cast(Table, ConsolePost.__table__)
    async with db.session() as session:
        inserted = (await session.execute(
            dialect_insert(table).values(destination_key=destination_key, tag=tag[:100], number=number)
            .on_conflict_do_nothing(index_elements=["tag"]).returning(table.c.id)
        )).scalar_one_or_none()
        if inserted is not None:
            return number, True
        existing = await find_console_post(session, tag)
    assert existing is not None  # the conflicting row exists: rows are never deleted
    return existing, False


async def find_console_post(session: AsyncSession, tag: str) -> int | None:
    """The console number a tagged digest was printed as, if it was."""
    stmt = select(ConsolePost.number).where(ConsolePost.tag == tag[:100])
    return (await session.execute(stmt)).scalar_one_or_none()
