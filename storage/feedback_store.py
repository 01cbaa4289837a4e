"""Reading and writing judgements and learned models; the learning itself lives in bot.feedback."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.feedback_models import NO_TOPIC, FeedbackModel, ModelChange, ModelGeneration, PaperJudgement, new_stamp
from storage.models import Paper
from storage.savepoints import savepoint

__all__ = ["NO_TOPIC", "TopicFeedback", "Votes", "delete_judgements", "judgements", "load_model", "load_models",
           "model_changes", "model_scopes", "model_stamps", "models_by_id",
           "recent_papers", "record_judgement", "relevant_topic_keys", "save_model", "summary", "votes"]


@dataclass(frozen=True)
class Votes:
    relevant: int
    not_relevant: int
    mine: bool | None = None  # the asking person's own verdict, None when they have not judged


@dataclass(frozen=True)
class TopicFeedback:
    topic_key: str
    topic: str
    relevant: int
    not_relevant: int
    model: dict[str, Any] | None


async def record_judgement(session: AsyncSession, scope: str, topic_key: str, topic: str, paper_id: int,
                           user: str, relevant: bool | None) -> bool | None:
    """Set (or with None withdraw) one person's verdict; returns their previous verdict. Latest click wins."""
    where = (PaperJudgement.scope == scope, PaperJudgement.topic_key == topic_key,
             PaperJudgement.paper_id == paper_id, PaperJudgement.user_id == user)
    previous = (await session.execute(select(PaperJudgement.relevant).where(*where))).scalar_one_or_none()
    if relevant is None:
        await session.execute(delete(PaperJudgement).where(*where))
        return previous
    if previous is not None:
        await session.execute(update(PaperJudgement).where(*where).values(relevant=relevant, judged_at=func.now()))
        return previous
    try:
        async with savepoint(session):
            session.add(PaperJudgement(scope=scope, topic_key=topic_key, topic=topic, paper_id=paper_id,
                                       user_id=user, relevant=relevant))
    except IntegrityError:  # the same person's other click landed first: this, the later one, wins
        await session.execute(update(PaperJudgement).where(*where).values(relevant=relevant, judged_at=func.now()))
    return None


async def judgements(session: AsyncSession, scope: str, topic_key: str) -> list[tuple[int, bool, str]]:
    """(paper id, relevant, user) for every person's latest verdict, oldest first."""
    stmt = select(PaperJudgement.paper_id, PaperJudgement.relevant, PaperJudgement.user_id).where(
        PaperJudgement.scope == scope, PaperJudgement.topic_key == topic_key).order_by(PaperJudgement.id)
    return [(int(p), bool(r), str(u)) for p, r, u in (await session.execute(stmt)).all()]


async def votes(session: AsyncSession, scope: str, topic_keys: Sequence[str], paper_id: int,
                user: str | None = None) -> Votes:
    """What a message shows under a paper: its judgements in this scope, over the topics it was listed for."""
    stmt = select(PaperJudgement.relevant, PaperJudgement.user_id).where(
        PaperJudgement.scope == scope, PaperJudgement.paper_id == paper_id,
        PaperJudgement.topic_key.in_(list(topic_keys)))
    per_user: dict[str, bool] = {}
    for relevant, who in (await session.execute(stmt)).all():
        per_user[str(who)] = bool(relevant)  # one person judging two topics of one item counts once
    yes = sum(per_user.values())
    return Votes(yes, len(per_user) - yes, per_user.get(user) if user is not None else None)


async def relevant_topic_keys(session: AsyncSession, scope: str, paper_id: int) -> set[str]:
    """The topics someone in this scope marked this paper relevant for: a topic started from it is one."""
    stmt = select(PaperJudgement.topic_key).where(PaperJudgement.scope == scope, PaperJudgement.paper_id == paper_id,
                                                  PaperJudgement.relevant.is_(True)).distinct()
    return {str(k) for k in (await session.execute(stmt)).scalars()}


async def delete_judgements(session: AsyncSession, scope: str, topic_key: str) -> int:
    """Forget one topic's judgements and model in a scope; the number of judgements forgotten."""
    count = (await session.execute(select(func.count(PaperJudgement.id)).where(
        PaperJudgement.scope == scope, PaperJudgement.topic_key == topic_key))).scalar_one()
    await session.execute(delete(PaperJudgement).where(PaperJudgement.scope == scope,
                                                       PaperJudgement.topic_key == topic_key))
    await _record_change(session, scope)
    await session.execute(delete(FeedbackModel).where(FeedbackModel.scope == scope,
                                                      FeedbackModel.topic_key == topic_key))
    return int(count)


async def save_model(session: AsyncSession, scope: str, topic_key: str, topic: str, judged: int,
                     model: dict[str, Any] | None) -> None:
    """Store a refit model (None: no judgements left, back to the plain matcher)."""
    await _record_change(session, scope)
    where = (FeedbackModel.scope == scope, FeedbackModel.topic_key == topic_key)
    if model is None:
        await session.execute(delete(FeedbackModel).where(*where))
        return
    found = (await session.execute(select(FeedbackModel.id).where(*where))).scalar_one_or_none()
    if found is not None:
        await session.execute(update(FeedbackModel).where(FeedbackModel.id == found).values(
            model=model, judgements=judged, topic=topic, stamp=new_stamp(), updated_at=func.now()))
        return
    try:
        async with savepoint(session):
            session.add(FeedbackModel(scope=scope, topic_key=topic_key, topic=topic, judgements=judged, model=model))
    except IntegrityError:  # refit at the same moment by another replica: the later fit wins
        await session.execute(update(FeedbackModel).where(*where).values(model=model, judgements=judged,
                                                                         stamp=new_stamp(), updated_at=func.now()))


# Changes kept in feedback_model_changes: a process that last looked more changes ago reads every stamp again.
KEPT_CHANGES = 10_000


async def _record_change(session: AsyncSession, scope: str) -> None:
    """Number the change to a scope's models about to be written (see `ModelGeneration`). Called before the
    model's row is written, and after its judgements, so every writer takes its locks in one order (judgements,
    generation, model) and two judging transactions cannot deadlock on PostgreSQL."""
    bumped = (await session.execute(update(ModelGeneration).where(ModelGeneration.id == 1).values(
        value=ModelGeneration.value + 1).returning(ModelGeneration.value))).scalar_one_or_none()
    if bumped is None:  # a schema without the row: `model_changes` then says "unknown", and readers read all
        return
    await session.execute(insert(ModelChange).values(generation=bumped, scope=scope))
    await session.execute(delete(ModelChange).where(ModelChange.generation <= bumped - KEPT_CHANGES))


async def model_changes(session: AsyncSession, since: int | None) -> tuple[int | None, set[str] | None]:
    """(the current generation, the scopes whose models changed after generation `since`); None for the scopes
    when that cannot be told (`since` unknown or no longer kept, or the database knows no generation), meaning
    any scope may have changed."""
    generation = (await session.execute(select(ModelGeneration.value).where(ModelGeneration.id == 1))).scalar()
    if generation is None or since is None or since > generation or generation - since >= KEPT_CHANGES:
        return generation, None
    if generation == since:
        return generation, set()
    rows = (await session.execute(select(ModelChange.scope).where(ModelChange.generation > since,
                                                                  ModelChange.generation <= generation))).all()
    if len(rows) != generation - since:  # pruned by a later writer meanwhile
        return generation, None
    return generation, {str(scope) for scope, in rows}


async def load_model(session: AsyncSession, scope: str, topic_key: str) -> dict[str, Any] | None:
    stmt = select(FeedbackModel.model).where(FeedbackModel.scope == scope, FeedbackModel.topic_key == topic_key)
    return (await session.execute(stmt)).scalar_one_or_none()


async def load_models(session: AsyncSession, scopes: Sequence[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """Every model of these scopes by (scope, topic key): one query for a whole digest run."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for start in range(0, len(scopes), 500):
        chunk = list(scopes[start:start + 500])
        stmt = select(FeedbackModel.scope, FeedbackModel.topic_key, FeedbackModel.model).where(
            FeedbackModel.scope.in_(chunk))
        found.update({(s, k): m for s, k, m in (await session.execute(stmt)).all()})
    return found


async def model_scopes(session: AsyncSession) -> list[str]:
    """Every scope key with a stored model, in a stable order."""
    stmt = select(FeedbackModel.scope).distinct().order_by(FeedbackModel.scope)
    return list((await session.execute(stmt)).scalars())


async def model_stamps(session: AsyncSession, scopes: Sequence[str]) -> dict[tuple[str, str], tuple[int, str]]:
    """(row id, stamp) of every model of these scopes by (scope, topic key): what a process compares with the
    models it already parsed before reading any model itself."""
    found: dict[tuple[str, str], tuple[int, str]] = {}
    for start in range(0, len(scopes), 500):
        chunk = list(scopes[start:start + 500])
        stmt = select(FeedbackModel.scope, FeedbackModel.topic_key, FeedbackModel.id, FeedbackModel.stamp).where(
            FeedbackModel.scope.in_(chunk))
        # as the columns are typed (a digest run reads tens of thousands: no conversions per row)
        found.update({(s, k): (i, st) for s, k, i, st in (await session.execute(stmt)).all()})
    return found


async def models_by_id(session: AsyncSession, ids: Sequence[int]) -> dict[int, tuple[str, dict[str, Any]]]:
    """(stamp, model) of these rows; a row deleted meanwhile is simply missing."""
    found: dict[int, tuple[str, dict[str, Any]]] = {}
    for start in range(0, len(ids), 500):
        stmt = select(FeedbackModel.id, FeedbackModel.stamp, FeedbackModel.model).where(
            FeedbackModel.id.in_(list(ids[start:start + 500])))
        found.update({int(i): (str(st), m) for i, st, m in (await session.execute(stmt)).all()})
    return found


async def summary(session: AsyncSession, scope: str) -> list[TopicFeedback]:
    """Per topic: judgements counted per verdict (latest per person) and the model, most judged first."""
    stmt = select(PaperJudgement.topic_key, func.max(PaperJudgement.topic), PaperJudgement.relevant,
                  func.count(PaperJudgement.id)).where(PaperJudgement.scope == scope).group_by(
        PaperJudgement.topic_key, PaperJudgement.relevant)
    counts: dict[str, list[Any]] = {}
    for key, topic, relevant, n in (await session.execute(stmt)).all():
        entry = counts.setdefault(key, [topic, 0, 0])
        entry[1 if relevant else 2] += int(n)
    models = {k: m for (_, k), m in (await load_models(session, [scope])).items()}
    result = [TopicFeedback(k, t, yes, no, models.get(k)) for k, (t, yes, no) in counts.items()]
    result.sort(key=lambda f: (-(f.relevant + f.not_relevant), f.topic))
    return result


async def recent_papers(session: AsyncSession, limit: int) -> list[Paper]:
    """The newest stored papers: the background that tells a channel's words from everybody's."""
    stmt = select(Paper).order_by(Paper.id.desc()).limit(limit)
    return list((await session.execute(stmt)).scalars())
