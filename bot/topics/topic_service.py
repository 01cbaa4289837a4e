"""Matching topics against stored papers: retrieve candidates with the database, then score them in Python.

This is the one code path behind digests, `/papers why`, `/subscribe` previews and `paperboy topics match`,
so what a user previews is exactly what their channel will receive.
"""

from __future__ import annotations

import re
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.topics.glossary import Glossary, default_glossary, term_key
from bot.topics.matcher import MatchResult, match_paper
from bot.topics.text_analysis import STOPWORDS, AnalyzedPaper, tokenize
from bot.topics.topic_query import TopicQuery, compile_topic, normalize_topic
from storage.database import dialect_name
from storage.models import Paper
from storage.paper_store import MAX_ROW_ID, get_paper, load_papers, papers_of_days
from storage.search_index import build_all_words_query, build_query, candidate_ids


class SemanticReranker(Protocol):
    """What matching asks of the optional semantic layer (`bot.topics.semantic.SemanticLayer`, which builds on
    this module): expand a new topic, and re-score candidates by meaning when embeddings are configured."""

    embedder: Any  # None: no embeddings, candidates come from the full-text engine only

    async def prepare(self, matcher: TopicMatcher, topic: str) -> object: ...

    async def rerank(self, topic: str, ranked: list[RankedPaper]) -> list[RankedPaper]: ...

_ANALYSIS_CACHE_SIZE = 20_000


@dataclass
class RankedPaper:
    paper: Paper
    result: MatchResult
    named_by: str | None = None  # "number": a search for "256" found paper #256 by its number, not its words

    @property
    def matched(self) -> bool:
        return self.result.matched


def rank_key(item: RankedPaper) -> tuple[bool, float, int, int, int]:
    """Relevance first; upvotes and recency only break ties."""
    day = item.paper.listed_on or item.paper.published_on
    return (not item.result.matched, -item.result.score, -(item.paper.upvotes or 0),
            -(day.toordinal() if day else 0), item.paper.id)


class TopicMatcher:
    """Compiled topics and analysed papers are cached: a digest run checks thousands of (topic, paper) pairs."""

    def __init__(self, glossary: Glossary | None = None) -> None:
        self.glossary = glossary or default_glossary()
        self._analyses: OrderedDict[tuple[int, str, str], AnalyzedPaper] = OrderedDict()
        self._learned: dict[str, list[str]] = {}
        self._day_index: tuple[tuple[object, ...], Sequence[Paper], int, DayIndex] | None = None
        self.compile = lru_cache(maxsize=4096)(self._compile)

    def _compile(self, topic: str) -> TopicQuery:
        return compile_topic(topic, self.glossary, self._learned)

    def learn(self, topic: str, terms: list[str]) -> None:
        """Extra phrases for a topic (from the semantic layer); later compilations include them."""
        key = term_key(normalize_topic(topic))
        if self._learned.get(key) != terms:
            self._learned[key] = list(terms)
            self.compile.cache_clear()
            self._day_index = None  # its remembered results were computed without these terms

    def analyze(self, paper: Paper) -> AnalyzedPaper:
        key = (paper.id, paper.title, paper.abstract)
        cached = self._analyses.get(key)
        if cached is None:
            cached = AnalyzedPaper.of(paper.title, paper.abstract)
            self._analyses[key] = cached
            if len(self._analyses) > _ANALYSIS_CACHE_SIZE:
                self._analyses.popitem(last=False)
        else:
            self._analyses.move_to_end(key)
        return cached

    def rank(self, query: TopicQuery, papers: Iterable[Paper], *, keep_unmatched: bool = True,
             keep_all: bool = False) -> list[RankedPaper]:
        """`keep_all` keeps even papers without a word of the topic (embeddings may still find them close)."""
        ranked = []
        for paper in papers:
            result = match_paper(query, self.analyze(paper))
            if keep_all or result.matched or (keep_unmatched and result.score > 0):
                ranked.append(RankedPaper(paper, result))
        ranked.sort(key=rank_key)
        return ranked

    def day_index(self, papers: Sequence[Paper]) -> DayIndex:
        """The index of these papers, kept while they stay the same. A digest run asks once per channel with the
        run's one list: that list (held, so its identity cannot pass to another) and its length are checked
        first, because keying 300 papers by id and update time read 600 ORM attributes per channel — a third
        of a 10,000-channel run. Another list of the same papers (the next command) still shares the index."""
        known = self._day_index
        if known is not None and known[1] is papers and known[2] == len(papers):
            return known[3]
        key = tuple((p.id, p.updated_at) for p in papers)
        if known is None or known[0] != key:
            self._day_index = (key, papers, len(papers), DayIndex(self, papers))
        else:
            self._day_index = (key, papers, len(papers), known[3])
        return self._day_index[3]

    def explain(self, topic: str, paper: Paper) -> MatchResult:
        return match_paper(self.compile(topic), self.analyze(paper))


async def match_topic(
    session: AsyncSession,
    matcher: TopicMatcher,
    topic: str,
    *,
    since: date | None = None,
    until: date | None = None,
    limit: int | None = 50,
    matched_only: bool = False,
    semantic: SemanticReranker | None = None,
) -> list[RankedPaper]:
    """Papers for `topic` (optionally within days), matches first, each with its explanation."""
    if semantic is not None:
        await semantic.prepare(matcher, topic)
    query = matcher.compile(topic)
    dialect = dialect_name(session)
    within_days = since is not None and until is not None
    embeddings = semantic is not None and semantic.embedder is not None and not matched_only
    if within_days and embeddings:
        assert since is not None and until is not None
        papers = await papers_of_days(session, since, until)  # embeddings also order papers without the words
    else:
        fts = build_query(dialect, query.fts_phrases(), query.fts_concepts())
        if fts is None:
            return []
        # Over a whole archive, score only the engine's best candidates (it ranks title hits first, as we
        # do), asking first for the topic and its synonyms alone — sub-topics and loose phrasings widen the
        # query (and its cost) only when those are not enough. Within a day, score every candidate.
        cap = None if within_days or limit is None else limit + 15
        ids: list[int] = []
        if cap is not None and (core := build_query(dialect, query.core_fts_phrases())) is not None:
            ids = await candidate_ids(session, dialect, core, since=since, until=until, cap=cap)
        if cap is None or len(ids) < cap:
            wider = await candidate_ids(session, dialect, fts, since=since, until=until, cap=cap)
            ids = list(dict.fromkeys([*ids, *wider]))[:cap] if cap is not None else wider
        # A long ranking ("--all --limit N") still short of N: papers sharing any word of the topic follow
        # the matches, ordered as near misses, instead of missing from the list.
        if cap is not None and cap > 100 and len(ids) < cap and not matched_only and (
                near := build_query(dialect, query.fts_words())) is not None:
            nearby = await candidate_ids(session, dialect, near, since=since, until=until, cap=cap)
            ids = list(dict.fromkeys([*ids, *nearby]))[:cap]
        papers = await load_papers(session, ids)
    # Embeddings never change which papers match (see semantic.py), so a matches-only list needs no others.
    ranked = matcher.rank(query, papers, keep_unmatched=not matched_only, keep_all=embeddings)
    if semantic is not None:
        ranked = await semantic.rerank(topic, ranked)
    return ranked[:limit] if limit is not None else ranked


# What people wrap a search in, besides the matcher's own stop words.
_QUERY_FILLER = STOPWORDS | frozenset("paper papers article articles about regarding related find show me any".split())
_NAME_WORD_RE = re.compile(r"[^\W_]+")
# Language names whose symbols both engines drop ("C++", "C#", "F#" are the word "c" or "f" to them): the search
# keeps them, or "C++" matched every paper with a lone "c" (vitamin C, a constant c).
_SYMBOL_WORD_RE = re.compile(r"(?<![A-Za-z0-9_+#])[A-Za-z][A-Za-z0-9]{0,9}(?:\+\+|#)(?![A-Za-z0-9_+#])")


def _folded_words(text: str) -> set[str]:
    """Words as full-text search compares them: case, accents and compatibility forms do not count."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return {w.casefold() for w in _NAME_WORD_RE.findall(plain)}


def authors_named(query: str, authors: Sequence[str] | None) -> list[str]:
    """The authors a search names ("lopez" names "María López"): the matcher reads titles and abstracts only, so a
    paper found by its author needs saying so, in chat as on the command line. Words people wrap a search in
    ("papers by …") name nobody."""
    asked = _folded_words(query) - _QUERY_FILLER
    return [name for name in authors or () if asked & _folded_words(name)] if asked else []


# The papers the engine hands the ranking for one search, whatever page is asked for: the ranking (the matcher's
# score) reorders them, so a pool that grew with the page number ranked page 3 from more papers than page 1, and a
# paper could show on both, or on neither. Pages slice this one ranked pool.
SEARCH_POOL = 200


@dataclass
class SearchPool:
    ranked: list[RankedPaper]  # best first; at most SEARCH_POOL (plus a paper named by its number)
    complete: bool  # False: more papers match than the pool holds (a narrower search reaches them)


async def search_papers(
    session: AsyncSession,
    matcher: TopicMatcher,
    text: str,
    *,
    since: date | None = None,
    until: date | None = None,
    min_upvotes: int | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[RankedPaper]:
    """`search_pool`'s ranking from `offset` (the best ones skipped), `limit` papers: pages of one ranking."""
    pool = await search_pool(session, matcher, text, since=since, until=until, min_upvotes=min_upvotes)
    return pool.ranked[offset:offset + limit]


async def search_pool(
    session: AsyncSession,
    matcher: TopicMatcher,
    text: str,
    *,
    since: date | None = None,
    until: date | None = None,
    min_upvotes: int | None = None,
) -> SearchPool:
    """Free text over titles, abstracts and authors: every word must appear; phrase and title hits rank first.
    Words that carry no subject ("papers about diffusion for video") are not required: SQLite's index has them
    only where a text happens to, so "papers" and "about" found nothing. A query of nothing else keeps them."""
    typed = tokenize(text)
    words = ([w for w in typed if w.lower() not in _QUERY_FILLER] or typed)[:32]
    dialect = dialect_name(session)
    fts = build_all_words_query(dialect, words)
    if fts is None:
        return SearchPool([], complete=True)
    numbered = await _numbered(session, words, since=since, until=until, min_upvotes=min_upvotes)
    symbols = [m.group(0).lower() for m in _SYMBOL_WORD_RE.finditer(text)]
    ids = await candidate_ids(session, dialect, fts, since=since, until=until, min_upvotes=min_upvotes,
                              cap=SEARCH_POOL, containing=symbols)
    papers = await load_papers(session, [pid for pid in ids if numbered is None or pid != numbered.id])
    # the matcher reads "C#" as "c": a title naming it comes first, as a title hit of any other word would
    in_title = {p.id: all(_says(p.title, symbol) for symbol in symbols) for p in papers}
    if symbols:
        papers = [p for p in papers if all(_says(p.title, s) or _says(p.abstract, s) for s in symbols)]
    engine_order = {pid: i for i, pid in enumerate(ids)}
    query = matcher.compile(" ".join(words))
    scored = [RankedPaper(p, match_paper(query, matcher.analyze(p))) for p in papers]
    scored.sort(key=lambda r: (not in_title[r.paper.id], -r.result.score, engine_order[r.paper.id]))
    if numbered is not None:
        scored.insert(0, RankedPaper(numbered, match_paper(query, matcher.analyze(numbered)), named_by="number"))
    return SearchPool(scored, complete=len(ids) < SEARCH_POOL)


def _says(text: str, symbol: str) -> bool:
    """Whether the text holds "c++" as a word of its own (not "abc++", nor "c+++")."""
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(symbol)}(?![A-Za-z0-9_+#])", text, re.IGNORECASE) is not None


async def _numbered(session: AsyncSession, words: Sequence[str], *, since: date | None, until: date | None,
                    min_upvotes: int | None) -> Paper | None:
    """The paper a search of one bare number names by its number ("256" as "#256", which people type without the
    "#"), when it exists and passes the search's filters: it comes first, the papers saying the number after."""
    if len(words) != 1 or not (words[0].isascii() and words[0].isdigit()) or len(words[0]) > 10:
        return None
    number = int(words[0])
    paper = await get_paper(session, number) if 0 < number <= MAX_ROW_ID else None
    if paper is None:
        return None
    day = paper.listed_on or paper.published_on
    if (since is not None and (day is None or day < since)) or (until is not None and (day is None or day > until)):
        return None
    if min_upvotes is not None and (paper.upvotes or 0) < min_upvotes:
        return None
    return paper


class DayIndex:
    """One day's papers analysed and indexed by word, so each topic looks only at papers sharing a word with it.

    Built once per set of papers and kept by the matcher: `/papers today` in 200 channels reuses one index.
    """

    def __init__(self, matcher: TopicMatcher, papers: Sequence[Paper]) -> None:
        self.analyzed = [(paper, matcher.analyze(paper)) for paper in papers]
        self.by_stem: dict[str, set[int]] = {}
        self.by_exact: dict[str, set[int]] = {}
        self.by_definition: dict[str, set[int]] = {}
        for index, (_, a) in enumerate(self.analyzed):
            for text in (a.title, a.abstract):
                for key in text.by_stem:
                    self.by_stem.setdefault(key, set()).add(index)
                for key in text.by_exact:
                    self.by_exact.setdefault(key, set()).add(index)
            for long_key in a.defined.values():
                self.by_definition.setdefault(long_key, set()).add(index)
        self.results: dict[str, list[RankedPaper]] = {}  # channels share topics: match each once
        self.named: dict[str, list[RankedPaper]] = {}

    def candidates(self, query: TopicQuery) -> list[int]:
        stems, exacts = query.anchors
        found: set[int] = set()
        for key in stems:
            found |= self.by_stem.get(key, set())
        for key in exacts:
            found |= self.by_exact.get(key, set())
        for key in query.term_keys:
            found |= self.by_definition.get(key, set())
        return sorted(found)

    def naming(self, query: TopicQuery) -> list[RankedPaper]:
        """The day's papers that name the topic, matches and near misses, in page order: scored once per topic
        for every channel (the plain lists are its matches; a channel's learned bar may choose among all)."""
        found = self.named.get(query.topic)
        if found is None:
            found = []
            for position in self.candidates(query):
                paper, analyzed = self.analyzed[position]
                result = match_paper(query, analyzed, rank_near_misses=False)
                if result.matched or result.hits or result.together:
                    found.append(RankedPaper(paper, result))
            self.named[query.topic] = found
        return found


def match_many(matcher: TopicMatcher, topics: Iterable[str], papers: Sequence[Paper]) -> dict[str, list[RankedPaper]]:
    """Every topic against one day's papers: each paper is analysed once, each topic compiled once.

    This is the digest's hot path (thousands of subscriptions, a few hundred new papers), so unlike
    `match_topic` it skips the full-text engine: a day is small enough to score every paper directly.
    """
    index = matcher.day_index(papers)
    results: dict[str, list[RankedPaper]] = {}
    for topic in dict.fromkeys(topics):
        query = matcher.compile(topic)
        known = index.results.get(query.topic)
        if known is not None:
            results[topic] = known
            continue
        ranked = [item for item in index.naming(query) if item.result.matched]
        ranked.sort(key=rank_key)
        results[topic] = index.results[query.topic] = ranked
    return results
