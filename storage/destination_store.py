"""Destinations (channels with digest settings) and the papers each posted message listed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.destination import Destination as DestinationValue
from bot.destination import destination_key
from storage.destination_models import Destination, PostedMessage
from storage.savepoints import savepoint


def as_value(row: Destination) -> DestinationValue:
    """The frozen destination adapters receive: a row never leaves the core."""
    return DestinationValue(key=row.key, platform=row.platform, workspace=row.workspace, channel=row.channel,
                              name=row.name, timezone=row.timezone, user=row.user_id)


async def get_destination(session: AsyncSession, key: str) -> Destination | None:
    return (await session.execute(select(Destination).where(Destination.key == key))).scalar_one_or_none()


async def ensure_destination(
    session: AsyncSession, platform: str, workspace: str, channel: str, name: str | None = None
) -> Destination:
    """The channel's row, created on first use (a subscription or a digest setting)."""
    key = destination_key(platform, workspace, channel)
    found = await get_destination(session, key)
    if found is not None:
        if name and found.name != name:
            found.name = name
        return found
    try:
        async with savepoint(session):
            row = Destination(key=key, platform=platform, workspace=workspace, channel=channel, name=name,
                              digest_time="09:00", digest_enabled=True, digest_days="mon-fri")
            session.add(row)
    except IntegrityError:  # created by another process at the same moment
        found = await get_destination(session, key)
        assert found is not None
        return found
    return row


async def list_destinations(session: AsyncSession, *, enabled_only: bool = False) -> list[Destination]:
    stmt = select(Destination).order_by(Destination.id)
    if enabled_only:
        stmt = stmt.where(Destination.digest_enabled.is_(True))
    return list((await session.execute(stmt)).scalars())


def touch(destination: Destination) -> None:
    destination.updated_at = datetime.now(UTC)


async def record_posted(
    session: AsyncSession,
    destination: str,
    message_ref: str,
    paper_ids: Sequence[int],
    *,
    kind: str = "list",
    thread_ref: str | None = None,
    digest_day: date | None = None,
) -> None:
    try:
        async with savepoint(session):
            session.add(PostedMessage(destination_key=destination, message_ref=message_ref, thread_ref=thread_ref,
                                      kind=kind, paper_ids=list(paper_ids), digest_day=digest_day))
    except IntegrityError:
        pass  # recorded already (a retried post)


async def record_digest_parts(session: AsyncSession, destination: str, message_refs: Sequence[str],
                              paper_ids: Sequence[int]) -> None:
    """The continuation messages of a split digest, each listing the digest's papers, so "summarize 12" works in
    the thread of any part."""
    for ref in message_refs:
        await record_posted(session, destination, ref, paper_ids, kind="digest-part")


async def find_posted(session: AsyncSession, destination: str, ref: str) -> PostedMessage | None:
    """The bot's message a thread hangs off: by its own ref or by the thread it opened (Discord threads)."""
    stmt = select(PostedMessage).where(
        PostedMessage.destination_key == destination,
        or_(PostedMessage.message_ref == ref, PostedMessage.thread_ref == ref),
    ).order_by(PostedMessage.id.desc()).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()


async def posted_paper_ids(session: AsyncSession, destination: str, *, kind: str = "digest") -> set[int]:
    """Every paper ever posted to a destination in messages of `kind`: digests never repeat one."""
    return (await posted_paper_ids_by_destination(session, [destination], kind=kind))[destination]


async def posted_paper_ids_by_destination(session: AsyncSession, destinations: Sequence[str], *,
                                          kind: str = "digest") -> dict[str, set[int]]:
    """`posted_paper_ids` for many destinations in one query: a digest run over 10,000 channels."""
    seen: dict[str, set[int]] = {d: set() for d in destinations}
    for start in range(0, len(destinations), 500):
        chunk = list(destinations[start:start + 500])
        stmt = select(PostedMessage.destination_key, PostedMessage.paper_ids).where(
            PostedMessage.destination_key.in_(chunk), PostedMessage.kind == kind)
        for key, ids in (await session.execute(stmt)).all():
            seen[key].update(int(i) for i in ids or [])
    return seen


async def count_posted(session: AsyncSession, destination: str) -> int:
    """How many messages the bot has recorded in a channel (the console numbers its messages by this)."""
    stmt = select(func.count(PostedMessage.id)).where(PostedMessage.destination_key == destination)
    return int((await session.execute(stmt)).scalar_one())
