"""Judging and teaching from chat: "more 3" / "less 3" under a listing, `/papers feedback [reset TOPIC]`,
`/subscribe like 2501.01234`. Buttons on Slack and Discord arrive through `judge_paper` too.

A judgement belongs to the channel (the list was the channel's) and to the topics of the channel that the paper
matched when it was judged; a paper none of them matched (listed for its upvotes) is judged for "none", where
it is a candidate for "more like this".
"""

from __future__ import annotations

import re
from collections import Counter

from bot.commands.command_input import require_ascii_digits
from bot.commands.context import ChatContext
from bot.commands.services import CoreServices
from bot.errors import UsageError
from bot.feedback import feedback_service
from bot.feedback.learned_model import Judged, LearnedModel, fit, paper_terms, spellings
from bot.messages import Message, Reply, Visibility
from bot.scope import Scope
from bot.topics.subscriptions import clean_topic, subscribe
from bot.topics.text_analysis import STOPWORDS
from storage import feedback_store
from storage.destination_store import ensure_destination
from storage.feedback_store import NO_TOPIC, Votes, recent_papers
from storage.models import Paper
from storage.paper_store import find_paper, get_paper
from storage.subscription_store import list_topics

# "more 3", "less 2", "👍 3", "👎3", Slack's ":+1: 3" / ":thumbsdown: 3", "+1 3"; "undo 3" withdraws.
JUDGE_RE = re.compile(
    r"^(?P<verb>more|less|undo|👍|👎|\+1|-1|:\+1:|:-1:|:thumbsup:|:thumbsdown:)(?:\s*like)?\s*"
    r"(?:#|no\.?\s*|paper\s+)?(?P<number>\d{1,3})?[\s.!]*$",
    re.IGNORECASE,
)
_UP = ("more", "👍", "+1", ":+1:", ":thumbsup:")
MAX_LIKE_PAPERS = 10
FEEDBACK_USAGE = "Usage: /papers feedback · /papers feedback reset TOPIC"


def verdict_of(verb: str) -> bool | None:
    lowered = verb.lower()
    if lowered == "undo":
        return None
    return lowered in _UP


async def judged_topics(services: CoreServices, scope: Scope, paper: Paper) -> list[str]:
    """The scope's topics this paper matches (plainly or as the scope taught them); ["none"] when none does."""
    async with services.db.session() as session:
        topics = await list_topics(session, scope)
        models = await feedback_service.models_for(session, [scope.key])
    found = []
    for topic in topics:
        result = services.matcher.explain(topic, paper)
        model = models.get((scope.key, feedback_service.topic_of(topic)[1]))
        if model.decide(result) if model is not None else result.matched:
            found.append(topic)
    return found or [NO_TOPIC]


async def judge_paper(services: CoreServices, ctx: ChatContext, paper: Paper, relevant: bool | None,
                      topics: list[str] | None = None) -> tuple[list[str], feedback_service.JudgementOutcome]:
    """One person's verdict on a listed paper, for each topic it was listed for; the last outcome."""
    scope = ctx.channel_scope
    topics = topics or await judged_topics(services, scope, paper)
    outcome = None
    for topic in topics:
        async with services.db.session() as session:
            outcome = await feedback_service.judge(session, services.matcher, scope, topic, paper, ctx.user,
                                                   relevant)
    assert outcome is not None
    return topics, outcome


async def toggle(services: CoreServices, ctx: ChatContext, paper_ref: str, relevant: bool) -> tuple[Reply, Votes]:
    """A 👍/👎 button: set the clicker's verdict, or withdraw it when they click the verdict they already gave."""
    async with services.db.session() as session:
        paper = await find_paper(session, paper_ref)
    if paper is None:
        raise UsageError("that paper is no longer stored")
    topics = await judged_topics(services, ctx.channel_scope, paper)
    async with services.db.session() as session:
        keys = [feedback_service.topic_of(t)[1] for t in topics]
        mine = (await feedback_store.votes(session, ctx.channel_scope.key, keys, paper.id, ctx.user)).mine
    verdict = None if mine is relevant else relevant
    topics, outcome = await judge_paper(services, ctx, paper, verdict, topics)
    async with services.db.session() as session:
        keys = [feedback_service.topic_of(t)[1] for t in topics]
        votes = await feedback_store.votes(session, ctx.channel_scope.key, keys, paper.id, ctx.user)
    return Reply(Message(text=judgement_line(paper, topics, verdict, outcome)), Visibility.EPHEMERAL), votes


def _quoted(topics: list[str]) -> str:
    return ", ".join(f"“{t}”" for t in topics) if topics != [NO_TOPIC] else "no topic (listed for its upvotes)"


async def judge_listed(services: CoreServices, ctx: ChatContext, ids: list[int], verb: str,
                       number: str | None) -> Reply:
    """`more 3` in a thread under a listing: judge the listing's third paper for this channel."""
    if number is None:
        if len(ids) != 1:
            return Reply(Message(text=f"Which one? Reply with a number from 1 to {len(ids)}, e.g. “more 2” or "
                                      "“less 2”."), in_thread=True)
        index = 1
    else:
        require_ascii_digits(number, "“more 2”")
        index = int(number)
        if not 1 <= index <= len(ids):
            return Reply(Message(text=f"That message lists {len(ids)} paper{'s' if len(ids) != 1 else ''}; "
                                      f"pick 1 to {len(ids)}."), in_thread=True)
    async with services.db.session() as session:
        paper = await get_paper(session, ids[index - 1])
    if paper is None:
        return Reply(Message(text="That paper is no longer stored."), in_thread=True)
    relevant = verdict_of(verb)
    topics, outcome = await judge_paper(services, ctx, paper, relevant)
    return Reply(Message(text=judgement_line(paper, topics, relevant, outcome)), in_thread=True)


def judgement_line(paper: Paper, topics: list[str], relevant: bool | None,
                   outcome: feedback_service.JudgementOutcome) -> str:
    what = {True: "relevant", False: "not for us", None: "withdrawn"}[relevant]
    votes = f"👍 {outcome.votes.relevant} · 👎 {outcome.votes.not_relevant}"
    learned = (f"; this channel's “{outcome.topic}” now learns from {outcome.judged} judged paper"
               f"{'s' if outcome.judged != 1 else ''}") if outcome.topic != NO_TOPIC else ""
    return f"Noted — {what}: “{paper.title[:120]}” for {_quoted(topics)} ({votes}{learned})."


async def feedback(services: CoreServices, ctx: ChatContext, args: str) -> Reply:
    """`/papers feedback`: what this channel taught; `/papers feedback reset TOPIC` forgets one topic's."""
    words = args.split(" ", 1) if args else []
    if not words:
        return await _summary(services, ctx)
    if words[0].lower() != "reset" or len(words) < 2 or not words[1].strip():
        raise UsageError(FEEDBACK_USAGE)
    topic = words[1].strip()
    async with services.db.session() as session:
        forgotten = await feedback_service.reset(session, ctx.channel_scope, topic)
    shown = feedback_service.topic_of(topic)[0]
    if not forgotten:
        return Reply(Message(text=f"This channel has not judged any paper for “{shown}”."), Visibility.EPHEMERAL)
    return Reply(Message(text=f"Forgot {forgotten} judgement{'s' if forgotten != 1 else ''} for “{shown}”: it "
                              "matches as it did before anyone here judged it."))


async def _summary(services: CoreServices, ctx: ChatContext) -> Reply:
    async with services.db.session() as session:
        taught = await feedback_service.summary(session, ctx.channel_scope)
    if not taught:
        return Reply(Message(header="What this channel taught", text="Nothing yet. Reply “more 3” or “less 3” "
                             "under a listing (or use its 👍/👎 buttons) to teach this channel's topics."),
                     Visibility.EPHEMERAL)
    lines = []
    for entry in taught:
        model = LearnedModel.from_json(entry.model) if entry.model else None
        terms = ", ".join(model.top_terms(5)) if model else ""
        bar = " · counts single mentions" if model and model.bar is not None and model.bar < 2 else ""
        lines.append(f"• {entry.topic if entry.topic_key != NO_TOPIC else 'no topic (more like this)'}: "
                     f"👍 {entry.relevant} · 👎 {entry.not_relevant}" + (f" · learned: {terms}" if terms else "")
                     + bar)
    return Reply(Message(header="What this channel taught", body="\n".join(lines),
                         context=["/papers feedback reset TOPIC forgets a topic's judgements"]),
                 Visibility.EPHEMERAL)


async def subscribe_like(services: CoreServices, ctx: ChatContext, refs: str, *, personal: bool) -> Reply:
    """`/subscribe like 2501.01234 [2501.04321 …]`: a topic named after the example papers' strongest words,
    with the examples judged relevant for it, so it matches like them from the start."""
    wanted = refs.replace(",", " ").split()
    if not wanted or len(wanted) > MAX_LIKE_PAPERS:
        raise UsageError(f"Usage: /subscribe like PAPER_ID [PAPER_ID …] (1 to {MAX_LIKE_PAPERS} papers)")
    papers = []
    async with services.db.session() as session:
        for ref in wanted:
            paper = await find_paper(session, ref)
            if paper is None:
                raise UsageError(f"no stored paper {ref[:60]!r}; use an arXiv id, URL or #id")
            papers.append(paper)
        background = [paper_terms(services.matcher.analyze(p)) for p in
                      await recent_papers(session, feedback_service.BACKGROUND_PAPERS)]
    topic = name_from_examples(services, papers, background)
    scope = ctx.personal_scope if personal else ctx.channel_scope
    async with services.db.session() as session:
        if not personal:
            await ensure_destination(session, ctx.platform, ctx.workspace, ctx.channel, ctx.channel_name)
        outcome = await subscribe(session, scope, topic, by=ctx.user)
        for paper in papers:
            await feedback_service.judge(session, services.matcher, scope, outcome.topic, paper, ctx.user, True)
    where = "your personal list" if personal else "this channel"
    verb = "Subscribed" if outcome.added else "Already following; taught"
    return Reply(Message(text=f"{verb} {where} to “{outcome.topic}”, from {len(papers)} example paper"
                              f"{'s' if len(papers) != 1 else ''} (marked relevant for it). Rename it with "
                              f"/unsubscribe {outcome.topic} and /subscribe NEW NAME."),
                 Visibility.EPHEMERAL if personal else Visibility.CHANNEL)


def name_from_examples(services: CoreServices, papers: list[Paper], background: list[Counter[str]]) -> str:
    """The examples' strongest pair of words if one stands out, else their two strongest words."""
    analyzed = [services.matcher.analyze(p) for p in papers]
    judged = [Judged(paper_terms(a), True, p.title) for a, p in zip(analyzed, papers, strict=True)]
    words = spellings(analyzed)
    model = fit(judged, background, words)
    ranked = [t for _, t in sorted(((w, t) for t, w in model.weights.items() if w > 0), reverse=True)]
    pairs = [t for t in ranked[:6] if " " in t and not any(p in STOPWORDS for p in t.split(" "))]
    chosen = pairs[0] if pairs else " ".join([t for t in ranked if " " not in t][:2])
    name = " ".join(words.get(part, part) for part in chosen.split(" "))
    try:
        return clean_topic(name)[0]
    except UsageError:
        return clean_topic(papers[0].title[:60])[0]
