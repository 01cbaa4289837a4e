"""Judging and teaching from chat: "more 3" / "less 3" under a listing, `/papers feedback [--me] [reset TOPIC]`,
`/subscribe like 2501.01234`. Buttons on Slack and Discord arrive through `judge_paper` too.

A judgement belongs to the scope the list was for: the channel, or the person for their own lists (their DM
digest, found by the message it hangs off; the "for you" part of `/papers today`, whose buttons carry a
`personal_ref`). It counts for the scope's topics that the paper matched when it was judged; a paper none of
them matched (listed for its upvotes) is judged for "none", where it is a candidate for "more like this": a 👍
there offers, once confirmed (a button, or `like 3`), to start a topic from it as `/subscribe like` does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

from bot.commands.command_hints import command_hint, optional_personal_hint, thread_reply_hint
from bot.commands.command_input import papers_named, pick_listed
from bot.commands.context import ChatContext
from bot.commands.paper_items import NOT_FOR_ME_LABEL, to_item
from bot.commands.paper_items import paper_ref as paper_ref_of
from bot.commands.services import CoreServices
from bot.errors import UsageError
from bot.feedback import feedback_service
from bot.feedback.learned_model import Judged, LearnedModel, as_personal, fit, paper_terms, spellings
from bot.messages import Action, ActionKind, Message, PaperItem, Reply, Visibility
from bot.scope import Scope
from bot.topics.subscriptions import clean_new_topic, subscribe
from bot.topics.text_analysis import STOPWORDS
from storage import feedback_store
from storage.destination_store import ensure_destination
from storage.feedback_store import NO_TOPIC, Votes, recent_papers
from storage.models import Paper
from storage.paper_store import find_paper, get_paper
from storage.personal_store import find_personal_post
from storage.subscription_store import list_topics

# "more 3", "less 2", "👍 3", "👎3", Slack's ":+1: 3" / ":thumbsdown: 3", "+1 3"; "undo 3" withdraws. Several
# papers at once too: "less 2 5", "more 1, 3 and 4". The papers in any spelling a thread reply takes
# (`papers_named`: "more paper #2", "less the paper 2").
MAX_JUDGED_IN_REPLY = 20
_JUDGE_RE = re.compile(
    r"^(?P<verb>more|less|undo|👍|👎|\+1|-1|:\+1:|:-1:|:thumbsup:|:thumbsdown:)(?:\s*like)?(?![^\W\d_])(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
# "like 3": start a topic from the listing's third paper (what a 👍 on a paper no topic matched offers).
_LIKE_RE = re.compile(r"^(?:start\s+(?:a\s+)?topic\s+)?like(?:\s*this)?(?![^\W\d_])(?P<rest>.*)$",
                      re.IGNORECASE | re.DOTALL)


def judgement(text: str) -> tuple[str, tuple[str, ...]] | None:
    """"more 2", "less paper #2 and 5": the verb and the listed papers it judges (() for a bare "more": the
    listing's only paper), or None when the message is not a judgement ("more than 2", "less of them")."""
    m = _JUDGE_RE.match(text)
    named = papers_named(m.group("rest")) if m is not None else None
    numbers = named.listed(ranges=False) if named is not None else None
    if m is None or numbers is None or len(numbers) > MAX_JUDGED_IN_REPLY:
        return None
    return m.group("verb"), numbers


def like_request(text: str) -> tuple[str, ...] | None:
    """"like 2", "like the paper #2", "start a topic like 2": the listed papers named (() for a bare "like" or
    "like this": the listing's only paper), or None when it is people talking ("like the paper says")."""
    m = _LIKE_RE.match(text)
    named = papers_named(m.group("rest")) if m is not None else None
    return named.listed() if named is not None else None


_UP = ("more", "👍", "+1", ":+1:", ":thumbsup:")
MAX_LIKE_PAPERS = 10
PERSONAL_FLAGS = ("--me", "-m")
PERSONAL_PREFIX = "me:"  # see personal_ref
START_TOPIC_LABEL = "Start a topic like this"
_PERSONAL_ACTIONS = (ActionKind.WHY, ActionKind.RELEVANT, ActionKind.NOT_RELEVANT, ActionKind.START_TOPIC)


def feedback_usage(platform: str) -> str:
    """As the asker's platform takes it: `/papers feedback [--me] reset TOPIC`, on Discord
    `/papers feedback what:reset TOPIC [personal:True]`."""
    return "Usage: " + " · ".join(optional_personal_hint(platform, "papers", "feedback", value=v)
                                  for v in ("", "reset TOPIC"))


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


def personal_ref(workspace: str, ref: str) -> str:
    """A judging button's paper ref on a list only its person sees ("for you"): the verdict goes to their own
    topics in that workspace. A button carries nothing else after a restart, and a DM (Discord) no workspace."""
    return f"{PERSONAL_PREFIX}{workspace}:{ref}"


def personal_items(items: Sequence[PaperItem], workspace: str) -> list[PaperItem]:
    """A personal list's items: their 👍/👎 (and start-topic) buttons judge for the person, not the channel, and
    their Why explains the person's topics, which listed them; their why lines speak of the person's judgements,
    and the 👎 reads as theirs ("Not for me")."""
    return [replace(item, why=as_personal(item.why) if item.why else item.why,
                    actions=tuple(_personal_action(a, workspace) for a in item.actions))
            for item in items]


def _personal_action(action: Action, workspace: str) -> Action:
    if action.kind not in _PERSONAL_ACTIONS:
        return action
    label = NOT_FOR_ME_LABEL if action.kind is ActionKind.NOT_RELEVANT else action.label
    return replace(action, paper_ref=personal_ref(workspace, action.paper_ref), label=label)


def is_personal_ref(ref: str) -> bool:
    return _split_ref(ref)[0] is not None


def _split_ref(ref: str) -> tuple[str | None, str]:
    """(the person's workspace for a `personal_ref`, else None; the paper ref)."""
    if ref.startswith(PERSONAL_PREFIX):
        workspace, _, paper = ref[len(PERSONAL_PREFIX):].partition(":")
        if workspace and paper:
            return workspace, paper
    return None, ref


def owner_scope(destination_key: str, user: str) -> Scope | None:
    """The person's scope when a list was posted to their own digest (`platform:workspace:@user`, see
    `bot.destination.personal_key`) and they are the one judging it; None for a channel's list."""
    platform, _, rest = destination_key.partition(":")
    workspace, _, channel = rest.partition(":")
    if not channel.startswith("@") or channel[1:] != user:
        return None
    try:
        return Scope.for_user(platform, workspace, user)
    except (UsageError, ValueError):
        return None


async def judging_scope(services: CoreServices, ctx: ChatContext, ref: str) -> tuple[Scope, str]:
    """Whose topics a button's verdict teaches (the person's for their own lists, else the channel's), and the
    paper ref without its marker. A click in a DM is on the person's digest when that message is one."""
    workspace, ref = _split_ref(ref)
    if workspace is not None:
        return Scope.for_user(ctx.platform, workspace, ctx.user), ref
    if ctx.direct and ctx.thread_ref is not None:
        async with services.db.session() as session:
            posted = await find_personal_post(session, ctx.platform, ctx.user, ctx.thread_ref)
        scope = owner_scope(posted.destination_key, ctx.user) if posted is not None else None
        if scope is not None:
            return scope, ref
    if ctx.direct and not ctx.workspace:
        raise UsageError("I cannot tell which of your lists that was; judge papers under your digest or in a "
                         "channel")
    return ctx.channel_scope, ref


async def _clicked(services: CoreServices, ctx: ChatContext, paper_ref: str) -> tuple[Scope, Paper]:
    """A button's scope and stored paper; a clear error when the paper is gone."""
    scope, ref = await judging_scope(services, ctx, paper_ref)
    async with services.db.session() as session:
        paper = await find_paper(session, ref)
    if paper is None:
        raise UsageError("that paper is no longer stored")
    return scope, paper


async def judge_paper(services: CoreServices, scope: Scope, user: str, paper: Paper, relevant: bool | None,
                      topics: list[str] | None = None) -> tuple[list[str], feedback_service.JudgementOutcome]:
    """One person's verdict on a listed paper, for each topic it was listed for; the last outcome."""
    topics = topics or await judged_topics(services, scope, paper)
    outcome = None
    for topic in topics:
        async with services.db.session() as session:
            outcome = await feedback_service.judge(session, services.matcher, scope, topic, paper, user, relevant)
    assert outcome is not None
    return topics, outcome


async def toggle(services: CoreServices, ctx: ChatContext, paper_ref: str, relevant: bool) -> tuple[Reply, Votes]:
    """A 👍/👎 button: set the clicker's verdict, or withdraw it when they click the verdict they already gave."""
    scope, paper = await _clicked(services, ctx, paper_ref)
    topics = await judged_topics(services, scope, paper)
    async with services.db.session() as session:
        keys = [feedback_service.topic_of(t)[1] for t in topics]
        mine = (await feedback_store.votes(session, scope.key, keys, paper.id, ctx.user)).mine
    verdict = None if mine is relevant else relevant
    topics, outcome = await judge_paper(services, scope, ctx.user, paper, verdict, topics)
    async with services.db.session() as session:
        keys = [feedback_service.topic_of(t)[1] for t in topics]
        votes = await feedback_store.votes(session, scope.key, keys, paper.id, ctx.user)
    message = Message(text=judgement_line(paper, topics, verdict, outcome, scope))
    if await _offers_topic(services, scope, paper, topics, verdict):
        message.text = f"{message.text}\n{_offer_line(scope)}"
        button_ref = personal_ref(scope.workspace, paper_ref_of(paper)) if scope.is_personal else paper_ref_of(paper)
        message.items = [replace(to_item(1, paper), actions=(Action(ActionKind.START_TOPIC, START_TOPIC_LABEL,
                                                                    button_ref),))]
    return Reply(message, Visibility.EPHEMERAL), votes


def _quoted(topics: list[str]) -> str:
    return ", ".join(f"“{t}”" for t in topics) if topics != [NO_TOPIC] else "no topic (listed for its upvotes)"


async def _listed_paper(services: CoreServices, ids: list[int], number: str | None, example: str) -> Paper | Reply:
    """The listing's N-th paper, or the thread reply saying why there is none."""
    picked = pick_listed(ids, number, example)
    if isinstance(picked, str):
        return Reply(Message(text=picked), in_thread=True)
    async with services.db.session() as session:
        paper = await get_paper(session, picked)
    if paper is None:
        return Reply(Message(text="That paper is no longer stored."), in_thread=True)
    return paper


def list_scope(ctx: ChatContext, destination_key: str) -> Scope:
    """Whose list a thread hangs off: the person's own digest or "for you" list, else the channel's."""
    return owner_scope(destination_key, ctx.user) or ctx.channel_scope


async def judge_listed(services: CoreServices, ctx: ChatContext, ids: list[int], verb: str,
                       numbers: str | None, destination_key: str | None = None) -> Reply:
    """`more 3` in a thread under a listing: judge the listing's third paper for the scope the list was for.
    `less 2 5` judges both, or (a number not in the listing, a paper no longer stored) neither."""
    example = thread_reply_hint(ctx.platform, "more 2", "less 2")
    wanted = list(dict.fromkeys(re.findall(r"\d+", numbers))) if numbers else [None]
    papers = []
    for number in wanted:
        paper = await _listed_paper(services, ids, number, example)
        if isinstance(paper, Reply):
            if len(wanted) > 1:  # the others may have been fine: none of them was judged either
                return Reply(Message(text=f"{paper.message.text} Nothing was judged."), in_thread=True)
            return paper
        papers.append(paper)
    scope = list_scope(ctx, destination_key or ctx.destination)
    relevant = verdict_of(verb)
    lines = []
    for paper in papers:
        topics, outcome = await judge_paper(services, scope, ctx.user, paper, relevant)
        lines.append(judgement_line(paper, topics, relevant, outcome, scope))
        if await _offers_topic(services, scope, paper, topics, relevant):
            lines.append(f"{_offer_line(scope)} Reply “like {ids.index(paper.id) + 1}” to start it.")
    return Reply(Message(text="\n".join(lines)), in_thread=True)


def judgement_line(paper: Paper, topics: list[str], relevant: bool | None,
                   outcome: feedback_service.JudgementOutcome, scope: Scope | None = None) -> str:
    personal = scope is not None and scope.is_personal
    what = {True: "relevant", False: "not for you" if personal else "not for us", None: "withdrawn"}[relevant]
    votes = f"👍 {outcome.votes.relevant} · 👎 {outcome.votes.not_relevant}"
    whose = "your" if personal else "this channel's"
    learned = (f"; {whose} “{outcome.topic}” now learns from {outcome.judged} judged paper"
               f"{'s' if outcome.judged != 1 else ''}") if outcome.topic != NO_TOPIC else ""
    return f"Noted — {what}: “{paper.title[:120]}” for {_quoted(topics)} ({votes}{learned})."


# -- "more like this": a 👍 on a paper no topic matched offers to start one from it -----------------------------

def _offer_line(scope: Scope) -> str:
    whose = "your topics" if scope.is_personal else "this channel's topics"
    remove = command_hint(scope.platform, "unsubscribe", value="TOPIC", personal=scope.is_personal)
    return (f"It matched none of {whose}: start a topic like this paper? It is named after the paper's strongest "
            f"words, and {remove} removes it.")


async def _started_from(services: CoreServices, scope: Scope, paper: Paper) -> str | None:
    """The scope's topic that already learns from this paper as relevant (one started from it, or taught it)."""
    async with services.db.session() as session:
        topics = await list_topics(session, scope)
        taught = await feedback_store.relevant_topic_keys(session, scope.key, paper.id)
    return next((t for t in topics if feedback_service.topic_of(t)[1] in taught), None)


async def _offers_topic(services: CoreServices, scope: Scope, paper: Paper, topics: list[str],
                        relevant: bool | None) -> bool:
    return relevant is True and topics == [NO_TOPIC] and await _started_from(services, scope, paper) is None


async def like_listed(services: CoreServices, ctx: ChatContext, ids: list[int], number: str | None,
                      destination_key: str | None = None) -> Reply:
    """`like 3` in a thread under a listing: start a topic from the listing's third paper (the confirmation of
    the offer a 👍 on an unmatched paper makes), for the scope the list was for."""
    paper = await _listed_paper(services, ids, number, thread_reply_hint(ctx.platform, "like 2"))
    if isinstance(paper, Reply):
        return paper
    reply = await _start_topic(services, ctx, list_scope(ctx, destination_key or ctx.destination), paper)
    reply.in_thread = True
    return reply


async def start_topic(services: CoreServices, ctx: ChatContext, paper_ref: str) -> Reply:
    """The offer's "Start a topic like this" button."""
    scope, paper = await _clicked(services, ctx, paper_ref)
    return await _start_topic(services, ctx, scope, paper)


async def _start_topic(services: CoreServices, ctx: ChatContext, scope: Scope, paper: Paper) -> Reply:
    existing = await _started_from(services, scope, paper)
    if existing is not None:  # a second confirmation, or a topic taught with this paper already
        whose = "You already follow" if scope.is_personal else "This channel already follows"
        return Reply(Message(text=f"{whose} “{existing}”, which learns from this paper; nothing was added."),
                     Visibility.EPHEMERAL)
    return await start_from_examples(services, ctx, scope, [paper])


async def feedback(services: CoreServices, ctx: ChatContext, args: str) -> Reply:
    """`/papers feedback`: what this channel taught; `/papers feedback reset TOPIC` forgets one topic's. With
    `--me`: what the asker's own judgements taught their personal topics."""
    words = args.split(" ", 1) if args else []
    personal = bool(words) and words[0] in PERSONAL_FLAGS
    if personal:
        words = words[1].strip().split(" ", 1) if len(words) > 1 and words[1].strip() else []
    scope = ctx.personal_scope if personal else ctx.channel_scope
    if not words:
        return await _summary(services, scope)
    if words[0].lower() != "reset" or len(words) < 2 or not words[1].strip():
        raise UsageError(feedback_usage(ctx.platform))
    topic = words[1].strip()
    async with services.db.session() as session:
        forgotten = await feedback_service.reset(session, scope, topic)
    shown = feedback_service.topic_of(topic)[0]
    who = "You have" if personal else "This channel has"
    if not forgotten:
        return Reply(Message(text=f"{who} not judged any paper for “{shown}”."), Visibility.EPHEMERAL)
    since = "you" if personal else "anyone here"
    return Reply(Message(text=f"Forgot {forgotten} judgement{'s' if forgotten != 1 else ''} for “{shown}”: it "
                              f"matches as it did before {since} judged it."),
                 Visibility.EPHEMERAL if personal else Visibility.CHANNEL)


async def _summary(services: CoreServices, scope: Scope) -> Reply:
    """What the scope's judgements taught each topic. A topic it no longer follows is still listed, marked: its
    judgements are kept (following it again brings them back into play) until reset forgets them, so leaving it
    out would hide what a later /subscribe silently restores."""
    async with services.db.session() as session:
        taught = await feedback_service.summary(session, scope)
        followed = {feedback_service.topic_of(t)[1] for t in await list_topics(session, scope)}
    header = "What you taught your topics" if scope.is_personal else "What this channel taught"
    if not taught:
        whose = "your own topics" if scope.is_personal else "this channel's topics"
        replies = thread_reply_hint(scope.platform, "more 3", "less 3")
        return Reply(Message(header=header, text=f"Nothing yet. Reply {replies} under a listing (or use its 👍/👎 "
                             f"buttons) to teach {whose}."), Visibility.EPHEMERAL)
    lines = []
    dropped = False
    for entry in taught:
        model = LearnedModel.from_json(entry.model) if entry.model else None
        terms = ", ".join(model.top_terms(5)) if model else ""
        bar = " · counts single mentions" if model and model.bar is not None and model.bar < 2 else ""
        name = entry.topic if entry.topic_key != NO_TOPIC else "no topic (more like this)"
        if entry.topic_key != NO_TOPIC and entry.topic_key not in followed:
            name, dropped = f"{name} (not followed)", True
        lines.append(f"• {name}: 👍 {entry.relevant} · 👎 {entry.not_relevant}"
                     + (f" · learned: {terms}" if terms else "") + bar)
    reset = command_hint(scope.platform, "papers", "feedback", value="reset TOPIC", personal=scope.is_personal)
    context = [f"{reset} forgets a topic's judgements"]
    if dropped:
        context.append("A topic not followed keeps its judgements (unsubscribed, or judged from the command line): "
                       "following it puts them to use.")
    return Reply(Message(header=header, body="\n".join(lines), context=context), Visibility.EPHEMERAL)


async def subscribe_like(services: CoreServices, ctx: ChatContext, refs: str, *, personal: bool) -> Reply:
    """`/subscribe like 2501.01234 [2501.04321 …]`: a topic named after the example papers' strongest words,
    with the examples judged relevant for it, so it matches like them from the start."""
    wanted = refs.replace(",", " ").split()
    if not wanted or len(wanted) > MAX_LIKE_PAPERS:
        example = command_hint(ctx.platform, "subscribe", value="like PAPER_ID [PAPER_ID …]", personal=personal)
        raise UsageError(f"Usage: {example} (1 to {MAX_LIKE_PAPERS} papers)")
    # By id: one paper named twice (or by its arXiv id and its #id) is one example, judged once.
    papers: dict[int, Paper] = {}
    async with services.db.session() as session:
        for ref in wanted:
            paper = await find_paper(session, ref)
            if paper is None:
                raise UsageError(f"no stored paper {ref[:60]!r}; use an arXiv id, URL or #id")
            papers.setdefault(paper.id, paper)
    scope = ctx.personal_scope if personal else ctx.channel_scope
    return await start_from_examples(services, ctx, scope, list(papers.values()))


async def start_from_examples(services: CoreServices, ctx: ChatContext, scope: Scope, papers: list[Paper]) -> Reply:
    """Subscribe `scope` to a topic named after the papers, each judged relevant for it by the asker."""
    async with services.db.session() as session:
        background = [paper_terms(services.matcher.analyze(p)) for p in
                      await recent_papers(session, feedback_service.BACKGROUND_PAPERS)]
    topic = name_from_examples(services, papers, background)
    async with services.db.session() as session:
        if scope.channel is not None:
            name = ctx.channel_name if ctx.channel == scope.channel else None
            await ensure_destination(session, scope.platform, scope.workspace, scope.channel, name)
        outcome = await subscribe(session, scope, topic, by=ctx.user)
        for paper in papers:
            await feedback_service.judge(session, services.matcher, scope, outcome.topic, paper, ctx.user, True)
    personal = scope.is_personal
    where = "your personal list" if personal else "this channel"
    verb = "Subscribed" if outcome.added else "Already following; taught"
    drop = command_hint(ctx.platform, "unsubscribe", value=outcome.topic, personal=personal)
    add = command_hint(ctx.platform, "subscribe", value="NEW NAME", personal=personal)
    return Reply(Message(text=f"{verb} {where} to “{outcome.topic}”, from {len(papers)} example paper"
                              f"{'s' if len(papers) != 1 else ''} (marked relevant for it). Rename it with "
                              f"{drop} and {add}."),
                 Visibility.EPHEMERAL if personal else Visibility.CHANNEL)


def name_from_examples(services: CoreServices, papers: list[Paper], background: list[Mapping[str, float]]) -> str:
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
        return clean_new_topic(name)[0]
    except UsageError:
        return clean_new_topic(papers[0].title[:60])[0]
