"""Replies in a thread under one of the bot's posts: "summarize 3", "tl;dr 2", "summary please", questions.

The number means the n-th paper of the message the thread hangs off, as stored when it was posted, so it
keeps its meaning after a restart and on any bot process. Chatter that is neither a request nor addressed to
the bot gets no answer: people talk in these threads too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bot.commands import paper_commands
from bot.commands.command_hints import thread_reply_hint
from bot.commands.command_input import papers_named, pick_listed, sanitize
from bot.commands.context import ChatContext
from bot.commands.services import CoreServices
from bot.feedback import feedback_commands
from bot.messages import Message, Reply
from bot.summaries.kinds import MAX_QUESTION_CHARS, SummaryKind
from bot.summaries.summary_service import paper_text
from storage.destination_store import find_posted
from storage.models import Paper
from storage.paper_store import get_paper
from storage.personal_store import find_personal_post

_MENTION_RE = re.compile(r"<@[!&]?[A-Za-z0-9]+(?:\|[^>]*)?>|@paperboy\b", re.IGNORECASE)
# A request for a paper's summary: the verb in its usual spellings and typos ("summarise", "summerize", "tl-dr"),
# then nothing but the papers it names ("2", "#2", "paper no. 2", "1, 3 and 4", "1-3", "all") and politeness.
_REQUEST_RE = re.compile(
    r"^(?:(?:can|could|would|will)\s+you\s+|please\s+|pls\s+)?"
    r"(?P<verb>sum+[ae]r[iy][sz]e|summary|summaries|tl[;:-]?\s?dr|explain)\b(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True)
class _Request:
    kind: SummaryKind
    numbers: tuple[str, ...]  # as typed, in order, each once; a range "1-3" gives its first two
    every: bool  # "all", "both", "them"


# "why paper #2", "why 1 and 3": the papers named as a summary request's are
_WHY_VERB_RE = re.compile(r"^why(?![^\W\d_])(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)


def _request(text: str) -> _Request | None:
    """A thread request for summaries, or None when the text only starts like one ("summary: great thread")."""
    m = _REQUEST_RE.match(text)
    named = papers_named(m.group("rest")) if m is not None else None
    if m is None or named is None:
        return None
    verb = m.group("verb").lower()
    kind = SummaryKind.TLDR if verb.startswith("tl") else SummaryKind.SUMMARY
    return _Request(kind, named.numbers, named.every)


def _why(text: str) -> tuple[str, ...] | None:
    """"why 2", "why paper #2", "why 1 and 3": the papers asked about (at least one), or None."""
    m = _WHY_VERB_RE.match(text)
    named = papers_named(m.group("rest")) if m is not None else None
    numbers = named.listed() if named is not None else None
    return numbers or None


_NUMBERED_QUESTION_RE = re.compile(r"^(?:#|paper\s+|no\.?\s*)?(?P<number>\d{1,6})\s*[:.)\-]\s*(?P<q>.+)$",
                                   re.IGNORECASE)
_HELP_RE = re.compile(r"^(?:help|commands|what can you do)\s*[?.!]*$", re.IGNORECASE)
# A paper named inside a question: "what dataset does paper 2 use?", "code for #3?", "is 2 open source?"
_NAMED_RE = re.compile(r"(?:\bpaper|#|\bno\.|\bnumber)\s*(\d{1,6})\b", re.IGNORECASE)
_BARE_RE = re.compile(r"(?<![\w.,#$€£/-])(\d{1,6})(?![\w%/-]|[.,:]\d)")
_ASKING_VERBS = frozenset("does do did is was are has have can could".split())
_PREPOSITIONS = frozenset("in for of about from on behind than vs".split())
_CONJUNCTIONS = frozenset("and or vs versus".split())


def strip_mentions(text: str) -> str:
    return " ".join(_MENTION_RE.sub(" ", text).split())


async def _paper(services: CoreServices, paper_id: int) -> Paper | None:
    async with services.db.session() as session:
        return await get_paper(session, paper_id)


def is_thread_request(raw: str) -> bool:
    """Whether a message is one of the thread commands ("summarize 3", "tl;dr 2") even without a mention:
    platforms that see every message in a thread answer only these, or messages addressed to the bot."""
    return _request(strip_mentions(sanitize(raw))) is not None


def is_unaddressed_command(raw: str) -> bool:
    """Whether a message without a mention is still for the bot (on platforms that see every message in a
    thread): a thread command ("summarize 3", "tl;dr 2") or a judgement of a listed paper by its number ("more 3",
    "less 3", "like 3"). Judgements need the number: a bare "+1" or "like this" is people talking to each other."""
    if is_thread_request(raw):
        return True
    text = strip_mentions(sanitize(raw))
    if _why(text):
        return True
    judged = feedback_commands.judgement(text)
    return bool(judged and judged[1]) or bool(feedback_commands.like_request(text))


def is_start_request(raw: str) -> bool:
    """Whether a thread message asks to start a topic from a listed paper ("like 3"): a change to the channel's
    topics, which platforms with roles allow only to those who may manage the channel."""
    return feedback_commands.like_request(strip_mentions(sanitize(raw))) is not None


async def thread_reply(services: CoreServices, ctx: ChatContext, raw: str) -> Reply | None:
    if ctx.thread_ref is None:
        return None
    text = strip_mentions(sanitize(raw))
    if not text:
        return None
    async with services.db.session() as session:
        posted = await find_posted(session, ctx.destination, ctx.thread_ref)
        if posted is None and ctx.direct:  # under the person's own DM digest, recorded under their digest's key
            posted = await find_personal_post(session, ctx.platform, ctx.user, ctx.thread_ref)
    if posted is None or not posted.paper_ids:
        return None  # not a thread under something the bot posted
    ids = [int(i) for i in posted.paper_ids]
    # "more 3" / "less 3" / "like 3": the list's scope (the channel, or the person's own list) teaches its topics
    if judged := feedback_commands.judgement(text):
        verb, numbers = judged
        return await feedback_commands.judge_listed(services, ctx, ids, verb, " ".join(numbers) or None,
                                                    posted.destination_key)
    if (liked := feedback_commands.like_request(text)) is not None:
        if len(liked) > 1:
            return _one_paper_at_a_time(ctx, "like", liked)
        return await feedback_commands.like_listed(services, ctx, ids, liked[0] if liked else None,
                                                   posted.destination_key)
    if ctx.direct:  # only the person and the bot are here: everything is addressed to the bot
        ctx = replace(ctx, mentioned=True)
    request = _request(text)
    if request:
        several = _one_at_a_time(ctx, request, ids)
        if several is not None:
            return Reply(Message(text=several), in_thread=True)
        number = request.numbers[0] if request.numbers else None
        picked = pick_listed(ids, number, thread_reply_hint(ctx.platform, "summarize 2"))
        if isinstance(picked, str):
            return Reply(Message(text=picked), in_thread=True)
        return await _summarize(services, picked, request.kind)
    if why := _why(text):  # against the topics the list was for: the person's, under their own list
        if len(why) > 1:
            return _one_paper_at_a_time(ctx, "why", why)
        picked = pick_listed(ids, why[0], thread_reply_hint(ctx.platform, "why 2"))
        if isinstance(picked, str):
            return Reply(Message(text=picked), in_thread=True)
        scope = feedback_commands.list_scope(ctx, posted.destination_key)
        return replace(await paper_commands.why(services, ctx, f"#{picked}", scope), in_thread=True)
    if not (ctx.mentioned or text.endswith("?")):
        return None
    if _HELP_RE.match(text):
        return Reply(Message(text=thread_help(ctx)), in_thread=True)
    numbered = _NUMBERED_QUESTION_RE.match(text)
    question = numbered.group("q") if numbered else text
    number = numbered.group("number") if numbered else named_in_question(text, len(ids))
    picked = pick_listed(ids, number, thread_reply_hint(ctx.platform, "2: your question"))
    if isinstance(picked, str):
        return Reply(Message(text=picked), in_thread=True)
    return await _answer(services, picked, question[:MAX_QUESTION_CHARS])


def _one_paper_at_a_time(ctx: ChatContext, verb: str, numbers: tuple[str, ...]) -> Reply:
    first, then = (thread_reply_hint(ctx.platform, f"{verb} {_said(n)}") for n in numbers[:2])
    return Reply(Message(text=f"One paper at a time: {first}, then {then}."), in_thread=True)


def _one_at_a_time(ctx: ChatContext, request: _Request, ids: list[int]) -> str | None:
    """What to say to a request for several papers ("summarize 1 2", "tl;dr 1-3", "summarize all"): one at a time,
    with the first two as the person would ask for them. None when it names one paper after all (a list of one)."""
    shown = [str(n) for n, paper_id in enumerate(ids, start=1) if paper_id]
    if len(request.numbers) > 1:
        first, then = request.numbers[:2]
    elif request.every and len(shown) > 1 and not request.numbers:
        first, then = shown[:2]
    else:
        return None
    verb = "tl;dr" if request.kind is SummaryKind.TLDR else "summarize"
    return (f"One paper at a time: {thread_reply_hint(ctx.platform, f'{verb} {_said(first)}')}, "
            f"then {thread_reply_hint(ctx.platform, f'{verb} {_said(then)}')}.")


def _said(number: str) -> str:
    """A number as the person typed it, shortened when echoed (a reply of 2,000 digits)."""
    return number if len(number) <= 12 else number[:12] + "…"


def named_in_question(text: str, listed: int) -> str | None:
    """The number of the listed paper a question names in passing, if it names exactly one: "paper 2", "#2", or a
    bare number where a paper is meant ("does 2 use…", "code for 2?"), not a quantity ("with 2 GPUs", "in 3
    steps", "3.5", "7B"). None asks the person which one, as before."""
    named = set(_NAMED_RE.findall(text))
    for match in _BARE_RE.finditer(text):
        before = text[:match.start()].split()
        previous = before[-1].lower() if before else ""
        following = re.match(r"[A-Za-z]+", text[match.end():].lstrip())
        word = following.group().lower() if following else ""
        if (not word or word in _CONJUNCTIONS or previous in _ASKING_VERBS
                or (previous in _PREPOSITIONS and not word.endswith("s"))):
            named.add(match.group(1))  # a second paper named ("compare 2 and 3?") makes it ambiguous
    numbers = {int(n) for n in named}
    return str(numbers.pop()) if len(numbers) == 1 and 1 <= min(numbers, default=0) <= listed else None


def thread_help(ctx: ChatContext) -> str:
    """What a reply under a listing can ask, as the person's platform has them type it."""
    def hint(example: str) -> str:
        return thread_reply_hint(ctx.platform, example)

    whose = "your" if ctx.direct else "this channel's"
    text = (f"Reply here with {hint('summarize 2')} (or {hint('tl;dr 2')}) for a paper's summary, "
            f"{hint('2: your question')} to ask about one, {hint('more 2')} or {hint('less 2')} to teach "
            f"{whose} topics what is relevant, {hint('why 2')} for why it was listed")
    if not ctx.direct:
        text += f", {hint('like 2')} to start a topic like it"
    return text + "."


async def _summarize(services: CoreServices, paper_id: int, kind: SummaryKind) -> Reply:
    paper = await _paper(services, paper_id)
    if paper is None:
        return Reply(Message(text="That paper is no longer stored."), in_thread=True)
    text = paper_text(paper)
    summary = await (services.summaries.tldr(text) if kind is SummaryKind.TLDR else services.summaries.summary(text))
    label = "TL;DR" if kind is SummaryKind.TLDR else "Summary"
    return Reply(Message(header=f"{label}: {paper.title}", body=summary.text, context=[f"by {summary.producer}"]),
                 in_thread=True)


async def _answer(services: CoreServices, paper_id: int, question: str) -> Reply:
    paper = await _paper(services, paper_id)
    if paper is None:
        return Reply(Message(text="That paper is no longer stored."), in_thread=True)
    answer = await services.summaries.answer(paper_text(paper), question)
    return Reply(Message(header=f"Q: {question[:150]}", body=answer.text,
                         context=[f"From the title and abstract of “{paper.title}” · by {answer.producer}"]),
                 in_thread=True)


async def summarize_paper(services: CoreServices, paper: Paper) -> Reply:
    """The "Summarize" button: the long summary, in the thread of the message it sits on."""
    return await _summarize(services, paper.id, SummaryKind.SUMMARY)
