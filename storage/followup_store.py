"""Every query behind follow-ups: the digest threads that posted papers, baselines, events, per-thread claims
and the channel switch.

Claims are digest deliveries' claims (`storage.delivery_store`) on another table, by the same protocol
(`storage.lease_claims`): the first claim of a (key, day) is an `INSERT … ON CONFLICT DO NOTHING`, later ones (a
retry after a failure, a takeover of an expired lease) a compare-and-set on `attempts` behind `SELECT … FOR
UPDATE SKIP LOCKED`; `complete` and `fail` match the same token, and `complete` records what the thread was told
in the same transaction. Writes take the `Database` and
commit before returning; time is always passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.database import Database
from storage.delivery_models import CLAIMED
from storage.delivery_store import short_error
from storage.destination_models import PostedMessage
from storage.followup_models import FollowupBaseline, FollowupChannel, FollowupClaim, FollowupEvent, FollowupSent
from storage.lease_claims import Held, Lease, utc
from storage.models import Paper
from storage.paper_store import load_papers, paper_day

EVENTS = cast(Table, FollowupEvent.__table__)
SENT = cast(Table, FollowupSent.__table__)
BASELINES = cast(Table, FollowupBaseline.__table__)
CHANNELS = cast(Table, FollowupChannel.__table__)
REFRESH_KEY = "refresh"
_CHUNK = 500


def _insert(db: Database) -> Any:
    return postgresql.insert if db.is_postgres else sqlite.insert


# -- where papers were posted ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestThread:
    """A digest's first message: the thread its follow-ups go to."""

    destination_key: str
    message_ref: str  # Slack ts / Discord message id / console number
    thread_ref: str | None  # the Discord thread it opened, when it did
    digest_day: date
    paper_ids: tuple[int, ...]

    @property
    def claim_key(self) -> str:
        return f"{self.destination_key}|{self.message_ref}"


async def digest_threads(session: AsyncSession, since: date) -> list[DigestThread]:
    """Every digest posted on or after `since`, oldest first."""
    stmt = (select(PostedMessage).where(PostedMessage.kind == "digest", PostedMessage.digest_day >= since)
            .order_by(PostedMessage.digest_day, PostedMessage.id))
    return [DigestThread(row.destination_key, row.message_ref, row.thread_ref, row.digest_day,
                         tuple(int(i) for i in row.paper_ids or []))
            for row in (await session.execute(stmt)).scalars() if row.digest_day is not None]


async def latest_digest_threads(session: AsyncSession, destination_key: str, *, limit: int) -> list[DigestThread]:
    """A channel's last `limit` digests, newest first."""
    stmt = (select(PostedMessage).where(PostedMessage.kind == "digest",
                                        PostedMessage.destination_key == destination_key,
                                        PostedMessage.digest_day.is_not(None))
            .order_by(PostedMessage.digest_day.desc(), PostedMessage.id.desc()).limit(limit))
    return [DigestThread(row.destination_key, row.message_ref, row.thread_ref, row.digest_day,  # type: ignore[arg-type]
                         tuple(int(i) for i in row.paper_ids or []))
            for row in (await session.execute(stmt)).scalars()]


async def papers_by_id(session: AsyncSession, ids: Iterable[int]) -> dict[int, Paper]:
    return {p.id: p for p in await load_papers(session, sorted(set(ids)))}


async def day_ranks(session: AsyncSession, days: Iterable[date]) -> dict[int, int]:
    """Each paper's place (1 = most upvoted) among the papers of its day, for the given days."""
    ranks: dict[int, int] = {}
    for day in sorted(set(days)):
        stmt = (select(Paper.id).where(paper_day() == day)
                .order_by(Paper.upvotes.desc().nulls_last(), Paper.id))
        for place, pid in enumerate((await session.execute(stmt)).scalars(), start=1):
            ranks[int(pid)] = place
    return ranks


# -- baselines and events --------------------------------------------------------------------------------------


async def baselines(session: AsyncSession, paper_ids: Iterable[int]) -> dict[int, FollowupBaseline]:
    found: dict[int, FollowupBaseline] = {}
    ids = sorted(set(paper_ids))
    for start in range(0, len(ids), _CHUNK):
        stmt = select(FollowupBaseline).where(FollowupBaseline.paper_id.in_(ids[start:start + _CHUNK]))
        found.update({row.paper_id: row for row in (await session.execute(stmt)).scalars()})
    return found


async def add_baselines(db: Database, rows: Sequence[dict[str, Any]], now: datetime) -> int:
    """Insert baselines for papers that have none; a paper another process baselined first keeps that one."""
    if not rows:
        return 0
    now = utc(now)
    added = 0
    async with db.session() as session:
        for row in rows:
            result = await session.execute(
                _insert(db)(BASELINES).values({**row, "created_at": now, "updated_at": now})
                .on_conflict_do_nothing(index_elements=["paper_id"]))
            added += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return added


async def move_baseline(db: Database, paper_id: int, changes: dict[str, Any], now: datetime) -> None:
    """After an announced version: the next version is compared with this one."""
    async with db.session() as session:
        await session.execute(update(BASELINES).where(BASELINES.c.paper_id == paper_id)
                              .values({**changes, "updated_at": utc(now)}))


async def record_event(db: Database, paper_id: int, kind: str, key: str, detail: dict[str, Any], day: date,
                       now: datetime) -> bool:
    """True for the one process that records this (paper, key) first: each event exists once."""
    async with db.session() as session:
        inserted = (await session.execute(
            _insert(db)(EVENTS).values(paper_id=paper_id, kind=kind, key=key[:40], detail=detail, day=day,
                                       created_at=utc(now))
            .on_conflict_do_nothing(index_elements=["paper_id", "key"]).returning(EVENTS.c.id)
        )).scalar_one_or_none()
    return inserted is not None


async def has_event(session: AsyncSession, paper_id: int, key: str) -> bool:
    stmt = select(FollowupEvent.id).where(FollowupEvent.paper_id == paper_id, FollowupEvent.key == key)
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def events_for(session: AsyncSession, paper_ids: Iterable[int], *, since: date) -> list[FollowupEvent]:
    ids = sorted(set(paper_ids))
    found: list[FollowupEvent] = []
    for start in range(0, len(ids), _CHUNK):
        stmt = select(FollowupEvent).where(FollowupEvent.paper_id.in_(ids[start:start + _CHUNK]),
                                           FollowupEvent.day >= since)
        found.extend((await session.execute(stmt)).scalars())
    return sorted(found, key=lambda e: e.id)


async def sent_event_ids(session: AsyncSession, destination_key: str, thread_key: str) -> set[int]:
    stmt = select(FollowupSent.event_id).where(FollowupSent.destination_key == destination_key,
                                               FollowupSent.thread_key == thread_key)
    return {int(i) for i in (await session.execute(stmt)).scalars()}


async def sent_events(session: AsyncSession, destination_key: str) -> set[int]:
    stmt = select(FollowupSent.event_id).where(FollowupSent.destination_key == destination_key)
    return {int(i) for i in (await session.execute(stmt)).scalars()}


# -- the channel switch ----------------------------------------------------------------------------------------


async def followups_enabled(session: AsyncSession, destination_keys: Iterable[str]) -> dict[str, bool]:
    keys = sorted(set(destination_keys))
    found = {key: True for key in keys}
    for start in range(0, len(keys), _CHUNK):
        stmt = select(FollowupChannel.destination_key, FollowupChannel.enabled).where(
            FollowupChannel.destination_key.in_(keys[start:start + _CHUNK]))
        for key, enabled in (await session.execute(stmt)).all():
            found[key] = bool(enabled)
    return found


async def set_followups(db: Database, destination_key: str, enabled: bool, now: datetime) -> None:
    statement = _insert(db)(CHANNELS).values(destination_key=destination_key, enabled=enabled, updated_at=utc(now))
    statement = statement.on_conflict_do_update(index_elements=["destination_key"],
                                                set_={"enabled": enabled, "updated_at": utc(now)})
    async with db.session() as session:
        await session.execute(statement)


# -- claims ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FollowupTicket:
    """Proof of owning one (claim key, day) right now; `attempt` is the fencing token."""

    id: int
    claim_key: str
    day: date
    owner: str
    attempt: int


@dataclass(frozen=True)
class ClaimView:
    claim_key: str
    day: date
    destination_key: str | None
    thread_key: str | None
    status: str
    owner: str | None
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    lease_expires_at: datetime | None
    done_at: datetime | None
    message_ref: str | None
    event_ids: tuple[int, ...]

    @classmethod
    def of(cls, row: FollowupClaim) -> ClaimView:
        return cls(row.claim_key, row.day, row.destination_key, row.thread_key, row.status, row.owner, row.attempts,
                   row.last_error, row.next_attempt_at, row.lease_expires_at, row.done_at, row.message_ref,
                   tuple(int(i) for i in row.event_ids or []))


_LEASE = Lease(FollowupClaim, ("claim_key", "day"))


def _held(ticket: FollowupTicket) -> Held:
    return Held(ticket.id, ticket.owner, ticket.attempt)


async def claim(db: Database, claim_key: str, day: date, owner: str, now: datetime, lease_seconds: float, *,
                destination_key: str | None = None, thread_key: str | None = None) -> FollowupTicket | None:
    """Own this (key, day) until the lease runs out, or None: done already, held under a live lease, or backing
    off after a failure."""
    now = utc(now)
    lease = now + timedelta(seconds=lease_seconds)
    async with db.session() as session:
        taken = await _LEASE.claim(session, db.is_postgres, (claim_key, day), owner, now, lease,
                                   first={"destination_key": destination_key, "thread_key": thread_key})
    if taken is None:
        return None
    return FollowupTicket(taken.held.id, claim_key, day, owner, taken.held.attempt)


async def held_elsewhere(db: Database, claim_key: str, day: date, now: datetime) -> bool:
    """True while a live lease holds this (key, day) unfinished: its work is half done, so what it produces
    (the day's events) must not be read yet."""
    now = utc(now)
    async with db.session() as session:
        row = (await session.execute(select(FollowupClaim).where(FollowupClaim.claim_key == claim_key,
                                                                 FollowupClaim.day == day))).scalar_one_or_none()
    if row is None or row.status != CLAIMED or row.lease_expires_at is None:
        return False
    return utc(row.lease_expires_at) > now


async def complete(db: Database, ticket: FollowupTicket, now: datetime, *, message_ref: str | None = None,
                   told: Sequence[int] = (), destination_key: str | None = None,
                   thread_key: str | None = None) -> bool:
    """Mark the claim done and, in the same transaction, record the events the thread was told (never again
    there). False when the claim was lost to someone else."""
    now = utc(now)
    ids = [int(i) for i in told]
    async with db.session() as session:
        if not await _LEASE.complete(session, _held(ticket), now, {
                "done_at": now, "message_ref": (message_ref or "")[:200] or None, "event_ids": ids}):
            return False
        if destination_key is not None and thread_key is not None:
            for event_id in ids:
                await session.execute(
                    _insert(db)(SENT).values(destination_key=destination_key, thread_key=thread_key,
                                             event_id=event_id, created_at=now)
                    .on_conflict_do_nothing(index_elements=["destination_key", "thread_key", "event_id"]))
    return True


async def fail(db: Database, ticket: FollowupTicket, error: BaseException | str, now: datetime, *,
               retry_after: float | None = None, permanent: bool = False) -> datetime | None:
    """Record a failure and when to try again (1, 2, 4 … minutes, or the platform's hint when longer). A
    `permanent` one (the channel archived, the bot removed) is held as a digest's is (`Lease.fail`): for the
    platform's hint when it gave one, else a day, since every retry would fail the same way."""
    async with db.session() as session:
        return await _LEASE.fail(session, _held(ticket), short_error(error), utc(now), retry_after=retry_after,
                                 permanent=permanent)


async def get_claim(session: AsyncSession, claim_key: str, day: date) -> ClaimView | None:
    stmt = select(FollowupClaim).where(FollowupClaim.claim_key == claim_key, FollowupClaim.day == day)
    row = (await session.execute(stmt)).scalar_one_or_none()
    return ClaimView.of(row) if row is not None else None


async def latest_claims(session: AsyncSession, *, refresh: bool, limit: int) -> list[ClaimView]:
    """The newest refresh claims, or the newest thread claims: `followups status`."""
    is_refresh = FollowupClaim.claim_key == REFRESH_KEY
    stmt = (select(FollowupClaim).where(is_refresh if refresh else ~is_refresh)
            .order_by(FollowupClaim.day.desc(), FollowupClaim.id.desc()).limit(limit))
    return [ClaimView.of(row) for row in (await session.execute(stmt)).scalars()]


async def latest_events(session: AsyncSession, *, limit: int) -> list[FollowupEvent]:
    stmt = select(FollowupEvent).order_by(FollowupEvent.id.desc()).limit(limit)
    return list((await session.execute(stmt)).scalars())


async def recent_events(session: AsyncSession, since: date) -> list[FollowupEvent]:
    stmt = select(FollowupEvent).where(FollowupEvent.day >= since).order_by(FollowupEvent.id.desc())
    return list((await session.execute(stmt)).scalars())
