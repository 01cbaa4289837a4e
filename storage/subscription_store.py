"""Reading and writing subscriptions; the rules (cleaning, keys, limits) live in bot.topics.subscriptions."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import UsageError
from bot.scope import Scope
from storage.savepoints import savepoint
from storage.subscription_models import Subscription


@dataclass(frozen=True)
class SubscribeOutcome:
    topic: str
    added: bool  # False: it was already there (a friendly no-op)


async def list_topics(session: AsyncSession, scope: Scope) -> list[str]:
    stmt = select(Subscription.topic).where(Subscription.scope == scope.key).order_by(Subscription.id)
    return list((await session.execute(stmt)).scalars())


async def add_subscription(session: AsyncSession, scope: Scope, topic: str, key: str, *, by: str | None = None,
                           limit: int) -> SubscribeOutcome:
    """Store a cleaned topic under its matching key; a friendly no-op when the scope already follows it."""
    existing = await session.execute(
        select(Subscription.topic).where(Subscription.scope == scope.key, Subscription.topic_key == key))
    if (found := existing.scalar_one_or_none()) is not None:
        return SubscribeOutcome(found, added=False)
    count = await session.execute(select(func.count(Subscription.id)).where(Subscription.scope == scope.key))
    if int(count.scalar_one()) >= limit:
        raise UsageError(f"this {'list' if scope.is_personal else 'channel'} already follows "
                         f"{limit} topics; unsubscribe from one first")
    try:
        async with savepoint(session):
            session.add(Subscription(
                scope=scope.key, platform=scope.platform, workspace=scope.workspace, channel=scope.channel,
                user_id=scope.user, topic=topic, topic_key=key, created_by=by,
            ))
    except IntegrityError:  # the same topic added at the same moment by someone else
        return SubscribeOutcome(topic, added=False)
    return SubscribeOutcome(topic, added=True)


async def remove_subscription(session: AsyncSession, scope: Scope, key: str) -> str | None:
    """The topic removed, or None when the scope did not follow it."""
    found = await session.execute(
        select(Subscription.topic).where(Subscription.scope == scope.key, Subscription.topic_key == key))
    shown = found.scalar_one_or_none()
    if shown is None:
        return None
    await session.execute(delete(Subscription).where(Subscription.scope == scope.key, Subscription.topic_key == key))
    return shown


async def all_channel_subscriptions(session: AsyncSession) -> dict[str, list[str]]:
    """Every channel scope with its topics: what the daily digest matches against."""
    stmt = select(Subscription.scope, Subscription.topic).where(Subscription.channel.is_not(None)).order_by(
        Subscription.scope, Subscription.id)
    result: dict[str, list[str]] = {}
    for scope, topic in (await session.execute(stmt)).all():
        result.setdefault(scope, []).append(topic)
    return result
