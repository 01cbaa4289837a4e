"""Judging papers and ranking with what a scope taught: record a verdict, refit that (scope, topic), apply.

Every judgement refits its (scope, topic) model from all the scope's latest verdicts (a few dozen papers at
most, milliseconds), so replicas share one model through the database and nothing is lost on a restart.
A scope's view aggregates its members: per paper, the verdict most of them gave (a tie teaches nothing).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from sqlalchemy.ext.asyncio import AsyncSession

from bot.feedback.feedback_ranking import LearnedRanking
from bot.feedback.learned_model import Judged, LearnedModel, fit, paper_terms, spellings
from bot.feedback.model_cache import ModelCache
from bot.scope import Scope
from bot.topics.matcher import MatchResult, match_paper
from bot.topics.subscriptions import clean_topic
from bot.topics.topic_service import RankedPaper, SemanticReranker, TopicMatcher, match_topic
from storage import feedback_store
from storage.feedback_store import NO_TOPIC, TopicFeedback
from storage.feedback_store import Votes as Votes  # what adapters show under a judged paper
from storage.models import Paper
from storage.paper_store import load_papers

BACKGROUND_PAPERS = 300  # newest stored papers that say which words are common
MAX_JUDGED_PAPERS = 200  # the newest judged papers a model is fit on


@dataclass(frozen=True)
class JudgementOutcome:
    topic: str
    votes: Votes
    previous: bool | None  # the person's verdict before this click
    judged: int  # papers the (scope, topic) model is now fit on


@lru_cache(maxsize=16_384)
def _topic_key(topic: str) -> str:
    """A stored topic's key, once per run rather than once per (channel, topic): a digest run looks up
    tens of thousands of them."""
    return topic_of(topic)[1]


def topic_of(raw: str | None) -> tuple[str, str]:
    """(shown topic, key) of a judged topic; NO_TOPIC for a paper listed without one."""
    if raw is None or raw.strip().lower() in ("", NO_TOPIC):
        return NO_TOPIC, NO_TOPIC
    return clean_topic(raw)


async def judge(session: AsyncSession, matcher: TopicMatcher, scope: Scope, topic: str | None, paper: Paper,
                user: str, relevant: bool | None) -> JudgementOutcome:
    """Record (or with None withdraw) one person's verdict on a paper for a topic, then refit the model."""
    shown, key = topic_of(topic)
    previous = await feedback_store.record_judgement(session, scope.key, key, shown, paper.id, user, relevant)
    judged = await refit(session, matcher, scope, shown, key)
    votes = await feedback_store.votes(session, scope.key, [key], paper.id, user)
    return JudgementOutcome(shown, votes, previous, judged)


async def refit(session: AsyncSession, matcher: TopicMatcher, scope: Scope, topic: str, key: str) -> int:
    """Fit and store the (scope, topic) model from its judgements; the number of papers it was fit on."""
    verdicts: dict[int, Counter[bool]] = {}
    for paper_id, relevant, _user in await feedback_store.judgements(session, scope.key, key):
        verdicts.setdefault(paper_id, Counter())[relevant] += 1
    decided = {pid: c[True] > c[False] for pid, c in verdicts.items() if c[True] != c[False]}
    ids = list(decided)[-MAX_JUDGED_PAPERS:]
    if not ids:
        await feedback_store.save_model(session, scope.key, key, topic, 0, None)
        return 0
    papers = await load_papers(session, ids)
    query = matcher.compile(topic) if key != NO_TOPIC else None
    judged = []
    for paper in papers:
        analyzed = matcher.analyze(paper)
        result = None if query is None else match_paper(query, analyzed, rank_near_misses=False)
        judged.append(Judged.of(paper_terms(analyzed), decided[paper.id], paper.title, result))
    judged.sort(key=lambda j: not j.relevant)  # the examples a "why" quotes are relevant ones
    background = [paper_terms(matcher.analyze(p)) for p in
                  await feedback_store.recent_papers(session, BACKGROUND_PAPERS) if p.id not in decided]
    model = fit(judged, background, spellings(matcher.analyze(p) for p in papers))
    await feedback_store.save_model(session, scope.key, key, topic, len(judged), model.to_json())
    return len(judged)


async def reset(session: AsyncSession, scope: Scope, topic: str) -> int:
    """Forget what a scope taught one topic; how many judgements were forgotten."""
    _, key = topic_of(topic)
    return await feedback_store.delete_judgements(session, scope.key, key)


async def summary(session: AsyncSession, scope: Scope) -> list[TopicFeedback]:
    return await feedback_store.summary(session, scope.key)


async def model_for(session: AsyncSession, scope: Scope, topic: str) -> LearnedModel | None:
    data = await feedback_store.load_model(session, scope.key, topic_of(topic)[1])
    return LearnedModel.from_json(data) if data is not None else None


async def models_for(session: AsyncSession, scopes: Iterable[str], cache: ModelCache | None = None, *,
                     topic_keys: Collection[str] | None = None) -> dict[tuple[str, str], LearnedModel]:
    """Every learned model of these scope keys, by (scope key, topic key), for a digest run; only those of
    `topic_keys` when given (see `named_topic_keys`); through the process's `cache` when given (only models refit
    since its last run are read)."""
    if cache is not None:
        return await cache.load(session, scopes, topic_keys)
    found = await feedback_store.load_models(session, list(dict.fromkeys(scopes)))  # one query: nothing to keep
    return {k: LearnedModel.from_json(v) for k, v in found.items() if topic_keys is None or k[1] in topic_keys}


def named_topic_keys(matcher: TopicMatcher, topics: Iterable[str], days: Iterable[Sequence[Paper]]) -> set[str]:
    """The keys of those topics that name at least one of a day's papers. A model only decides among the papers
    that name its topic (`LearnedRanking.match_day`), so a digest run reads no other model: on a day when a topic
    has nothing, its models change nothing, and reading and parsing tens of thousands of them at a bot's first
    run after a start was most of what the models added to it (bench/digests_bench.py --models)."""
    indexes = [matcher.day_index(papers) for papers in days if papers]
    named: set[str] = set()
    for topic in dict.fromkeys(topics):
        query = matcher.compile(topic)
        if any(index.naming(query) for index in indexes):
            named.add(_topic_key(topic))
    return named


async def match_topic_for(session: AsyncSession, matcher: TopicMatcher, scope: Scope, topic: str, *,
                          since: date | None = None, until: date | None = None, limit: int | None = 50,
                          semantic: SemanticReranker | None = None) -> list[RankedPaper]:
    """`match_topic` with the scope's model: near misses are candidates too, so the whole ranking is asked for."""
    model = await model_for(session, scope, topic)
    if model is None:
        return await match_topic(session, matcher, topic, since=since, until=until, limit=limit, semantic=semantic)
    ranked = await match_topic(session, matcher, topic, since=since, until=until, limit=None, semantic=semantic)
    adjusted = LearnedRanking(matcher).adjust(model, ranked)
    return adjusted[:limit] if limit is not None else adjusted


async def explain_for(session: AsyncSession, matcher: TopicMatcher, scope: Scope, topics: Sequence[str],
                      paper: Paper) -> list[tuple[str, MatchResult]]:
    """Why a paper matches each of a scope's topics, decided as the scope's lists decide it: a learned bar that
    listed (or left out) the paper says so here too, instead of the plain matcher's verdict contradicting the list."""
    models = await models_for(session, [scope.key])
    ranking = LearnedRanking(matcher)
    explained = []
    for topic in topics:
        result = matcher.explain(topic, paper)
        model = models.get((scope.key, _topic_key(topic)))
        if model is not None and model.judgements:
            result = model.adjust(result, ranking.vector(paper))
        explained.append((topic, result))
    return explained


DayMatch = Callable[[Sequence[str], Sequence[Paper]], dict[str, list[RankedPaper]]]


def day_match(models: Mapping[tuple[str, str], LearnedModel], scope_key: str, topics: Sequence[str],
              ranking: LearnedRanking) -> DayMatch | None:
    """How one scope's topics match a day given every loaded model; None when it taught none of them (the
    plain, shared `match_many` then serves it)."""
    mine = {}
    for topic in topics:
        model = models.get((scope_key, _topic_key(topic)))
        if model is not None and model.judgements:
            mine[topic] = model
    if not mine:
        return None
    return lambda wanted, papers: ranking.match_day(wanted, papers, mine)


async def day_match_for(session: AsyncSession, matcher: TopicMatcher, scope: Scope,
                        topics: Sequence[str]) -> DayMatch | None:
    """`day_match` for one scope, its models loaded here (a preview, `/papers today`)."""
    if not topics:
        return None
    return day_match(await models_for(session, [scope.key]), scope.key, topics, LearnedRanking(matcher))
