"""Personal delivery settings: a person's DM digest (a `destinations` row with `user_id`) and mention opt-ins."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.destination import personal_key
from storage.destination_models import Destination, PostedMessage
from storage.destination_store import get_destination
from storage.personal_models import MentionOptIn
from storage.savepoints import savepoint
from storage.subscription_models import Subscription


async def ensure_personal_destination(session: AsyncSession, platform: str, workspace: str,
                                      user: str) -> Destination:
    """The person's DM digest row, created (off until they set a time) on first use."""
    key = personal_key(platform, workspace, user)
    found = await get_destination(session, key)
    if found is not None:
        return found
    try:
        async with savepoint(session):
            row = Destination(key=key, platform=platform, workspace=workspace, channel=f"@{user}", user_id=user,
                              name=f"@{user}", digest_time="09:00", digest_enabled=False, digest_days="mon-fri")
            session.add(row)
    except IntegrityError:  # created by another process at the same moment
        again = await get_destination(session, key)
        assert again is not None
        return again
    return row


async def set_mention(session: AsyncSession, destination_key: str, platform: str, workspace: str, user: str,
                      on: bool) -> bool:
    """Opt a person in or out of mentions in one channel; returns whether anything changed."""
    found = (await session.execute(select(MentionOptIn.id).where(
        MentionOptIn.destination_key == destination_key, MentionOptIn.user_id == user))).scalar_one_or_none()
    if on:
        if found is not None:
            return False
        try:
            async with savepoint(session):
                session.add(MentionOptIn(destination_key=destination_key, platform=platform, workspace=workspace,
                                         user_id=user))
        except IntegrityError:
            return False
        return True
    if found is None:
        return False
    await session.execute(delete(MentionOptIn).where(MentionOptIn.id == found))
    return True


async def mention_enabled(session: AsyncSession, destination_key: str, user: str) -> bool:
    stmt = select(MentionOptIn.id).where(MentionOptIn.destination_key == destination_key,
                                         MentionOptIn.user_id == user)
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def mention_opt_ins(session: AsyncSession, destination_keys: Sequence[str]) -> dict[str, list[str]]:
    """Channel → the people who asked to be mentioned there, in opt-in order (one query per 500 channels)."""
    found: dict[str, list[str]] = {}
    for start in range(0, len(destination_keys), 500):
        chunk = list(destination_keys[start:start + 500])
        stmt = (select(MentionOptIn.destination_key, MentionOptIn.user_id)
                .where(MentionOptIn.destination_key.in_(chunk)).order_by(MentionOptIn.id))
        for key, user in (await session.execute(stmt)).all():
            found.setdefault(key, []).append(user)
    return found


async def all_personal_subscriptions(session: AsyncSession) -> dict[str, list[str]]:
    """Every person's scope with their topics: what DM digests and mention routing match against."""
    stmt = select(Subscription.scope, Subscription.topic).where(Subscription.user_id.is_not(None)).order_by(
        Subscription.scope, Subscription.id)
    result: dict[str, list[str]] = {}
    for scope, topic in (await session.execute(stmt)).all():
        result.setdefault(scope, []).append(topic)
    return result


async def find_personal_post(session: AsyncSession, platform: str, user: str, ref: str) -> PostedMessage | None:
    """The bot's message in a person's DM digest that a reply in their DM hangs off. A DM carries no server or
    workspace on every platform (Discord), so the person's digests are looked up by platform and user alone."""
    stmt = (select(PostedMessage).join(Destination, Destination.key == PostedMessage.destination_key)
            .where(Destination.platform == platform, Destination.user_id == user,
                   or_(PostedMessage.message_ref == ref, PostedMessage.thread_ref == ref))
            .order_by(PostedMessage.id.desc()).limit(1))
    return (await session.execute(stmt)).scalar_one_or_none()
