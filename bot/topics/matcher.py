"""Does a paper match a topic, how well, and why — the one function digests, search and the CLI all use.

A title hit is strong evidence; in the abstract we want the topic to be a subject of the paper, not a passing
mention, so one mention counts only where the paper says what it does ("we propose…", the opening sentence)
or when the paper defines the term. Popularity never enters here: ranking ties are the caller's business.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from bot.topics.glossary import Term, TermToken
from bot.topics.text_analysis import AnalyzedPaper, AnalyzedText, base_stem
from bot.topics.topic_query import BROAD_HEADS, TopicQuery

# Sentences where a paper says what it is about, as opposed to where it lists what it was evaluated on.
_FOCUS_RE = re.compile(
    r"\b(?:this (?:paper|work|study|report|article)|we (?:propose|introduce|present|study|investigate|address|"
    r"develop|design|focus|consider|analy[sz]e|tackle|explore|revisit|examine|formulate|provide)|"
    r"propose[sd]?|introduce[sd]?|present[sd]?)\b",
    re.IGNORECASE,
)
_LISTING_RE = re.compile(r"\b(?:experiments?|evaluat\w*|benchmarks?|such as|including|e\.g\.|datasets?)\b",
                         re.IGNORECASE)



@dataclass(frozen=True)
class Hit:
    term: str
    where: str  # "title" | "abstract"
    count: int
    origin: str = "typed"


@dataclass
class MatchResult:
    score: float
    matched: bool
    hits: list[Hit] = field(default_factory=list)
    together: list[str] = field(default_factory=list)  # concepts found side by side (loose match)
    together_where: str | None = None
    similarity: float | None = None  # cosine similarity to the topic, when embeddings are configured
    learned: str | None = None  # what the channel's judgements added ("like 3 papers marked relevant here")
    near: float = 0.0  # the part of `score` that only orders near misses (0 when not asked for)

    @property
    def evidence_score(self) -> float:
        """The score from what the paper says of the topic, without the near-miss ordering."""
        return self.score - self.near

    def why(self) -> str:
        if not self.hits and not self.together and self.similarity is None:
            return "no mention of the topic" + (f"; {self.learned}" if self.learned else "")
        parts = []
        for hit in self.hits:
            times = f" ×{hit.count}" if hit.count > 1 else ""
            via = {"glossary": " (synonym)", "papers": " (defined in papers)", "narrower": " (sub-topic)",
                   "head": " (the topic's head word)",
                   "llm": " (related term)",
                   "defined in paper": " (the paper's abbreviation)"}.get(hit.origin, "")
            parts.append(f"“{hit.term}”{via}{times} in {hit.where}")
        if len(self.together) == 1:
            parts.append(f"“{self.together[0]}” in {self.together_where}")
        elif self.together:
            parts.append(" + ".join(f"“{c}”" for c in self.together) + f" together in {self.together_where}")
        if self.similarity is not None:
            parts.append(f"semantic similarity {self.similarity:.2f}")
        if self.learned:
            parts.append(self.learned)
        return "; ".join(parts)


def occurrences(term: Term, text: AnalyzedText) -> list[int]:
    first = term.tokens[0]
    starts = text.by_exact.get(first.exact, []) if first.exact else text.by_stem.get(first.stem, [])
    if len(term.tokens) == 1:
        return list(starts)
    found = []
    n = len(text.tokens)
    for start in starts:
        if start + len(term.tokens) > n:
            continue
        for offset, token in enumerate(term.tokens[1:], start=1):
            i = start + offset
            if token.exact is not None:
                word = text.tokens[i]
                if word != token.exact and not (word[:-1] == token.exact and word[-1] == "s"):
                    break
            elif text.stems[i] != token.stem and base_stem(text.stems[i]) != token.stem:
                break
        else:
            found.append(start)
    return found


def _concept_sentences(concept: list[Term], text: AnalyzedText) -> set[int]:
    sentences: set[int] = set()
    for term in concept:
        sentences.update(text.sentence_of[i] for i in occurrences(term, text))
    return sentences


@dataclass
class _Evidence:
    label: str
    origin: str
    title: int = 0
    abstract_positions: list[int] = field(default_factory=list)
    title_quote: str = ""
    abstract_quote: str = ""


def _terms_for_paper(query: TopicQuery, paper: AnalyzedPaper) -> list[tuple[Term, str]]:
    """The query's terms as this paper reads them: an acronym the paper defines as something else is not the
    topic (a paper's "BO" may be bilevel optimisation), and an acronym it coins for the topic is."""
    keys = query.term_keys
    terms: list[tuple[Term, str]] = []
    for term in query.terms:
        if len(term.tokens) == 1 and term.tokens[0].exact:
            defined_as = paper.defined.get(term.tokens[0].exact)
            if defined_as is not None and defined_as not in keys:
                continue
        terms.append((term, query.origins.get(term.label, "typed")))
    if query.head and any(occurrences(t, text) for t in query.head_context for text in (paper.title, paper.abstract)):
        terms += [(t, query.origins.get(t.label, "head")) for t in query.head]
    known = {t.tokens[0].exact for t, _ in terms if len(t.tokens) == 1}
    for short, long_key in paper.defined.items():
        if long_key in keys and short not in known:
            terms.append((Term(short, (TermToken(short.lower(), short, short.lower()),)), "defined in paper"))
    return terms


def _partial_overlap(query: TopicQuery, paper: AnalyzedPaper) -> float:
    """How much of the best-covered phrasing appears anywhere: ranks near misses below real matches."""
    best = 0.0
    for stems in query.overlap_stems:
        present = sum(1 for s in stems if s in paper.title.by_stem or s in paper.abstract.by_stem)
        best = max(best, present / len(stems))
    return best * best


def _may_match(query: TopicQuery, paper: AnalyzedPaper) -> bool:
    stems, exacts = query.anchors
    for text in (paper.title, paper.abstract):
        if any(s in text.by_stem for s in stems) or any(e in text.by_exact for e in exacts):
            return True
    return any(long_key in query.term_keys for long_key in paper.defined.values())


def _is_focus(sentence_index: int, sentences: list[str]) -> bool:
    if sentence_index == 0:
        return True
    if sentence_index >= len(sentences):
        return False
    sentence = sentences[sentence_index]
    return bool(_FOCUS_RE.search(sentence)) and not _LISTING_RE.search(sentence)


def match_paper(query: TopicQuery, paper: AnalyzedPaper, *, rank_near_misses: bool = True) -> MatchResult:
    """Score one paper against a compiled topic; without `rank_near_misses`, non-matches score 0 (faster)."""
    if not _may_match(query, paper):
        near = round(0.5 * _partial_overlap(query, paper), 4) if rank_near_misses else 0.0
        return MatchResult(near, False, near=near)
    evidence: list[_Evidence] = []
    for term, origin in _terms_for_paper(query, paper):
        title_at = occurrences(term, paper.title)
        in_abstract = occurrences(term, paper.abstract)
        if title_at or in_abstract:
            n = len(term.tokens)
            evidence.append(_Evidence(
                term.label, origin, len(title_at), in_abstract,
                paper.title.quote(title_at[0], n) if title_at else "",
                paper.abstract.quote(in_abstract[0], n) if in_abstract else "",
            ))

    title_exact = any(e.title for e in evidence)
    # A paper that coins an abbreviation for the topic ("Direct Preference Optimization (DPO)") works with it.
    defines = any(long_key in query.term_keys for long_key in paper.defined.values())
    positions = sorted({p for e in evidence for p in e.abstract_positions})
    abstract_count = len(positions)
    hit_sentences = {paper.abstract.sentence_of[p] for p in positions}

    together: list[str] = []
    together_where: str | None = None
    loose_title = False
    head_title = False
    loose_sentences: set[int] = set()
    if len(query.concepts) > 1 and not title_exact:
        title_sets = [_concept_sentences(c, paper.title) for c in query.concepts]
        loose_title = all(title_sets)
        abstract_sets = [_concept_sentences(c, paper.abstract) for c in query.concepts]
        if all(abstract_sets):
            loose_sentences = set.intersection(*abstract_sets) - hit_sentences
        # the title names the topic's head and the abstract says the whole topic: the paper is about it
        # (a specific head: "Learning-Reasoning" in a title says nothing about efficient reasoning)
        specific_head = not all(t.stem in BROAD_HEADS for t in query.concepts[-1][0].tokens)
        head_title = specific_head and bool(title_sets[-1]) and bool(abstract_sets[-1] and
                                                                   (positions or loose_sentences))
        if loose_title or loose_sentences:
            together = [c[0].label for c in query.concepts]
            together_where = "title" if loose_title else "abstract"

    relaxed_title = False
    relaxed_sentences: set[int] = set()
    if not title_exact and query.relaxed:
        relaxed_title = any(occurrences(t, paper.title) for t in query.relaxed)
        relaxed_sentences = {paper.abstract.sentence_of[i] for t in query.relaxed
                             for i in occurrences(t, paper.abstract)} - hit_sentences
        if relaxed_title or relaxed_sentences:
            together = [t.label for t in query.relaxed[:1]]
            together_where = "title" if relaxed_title else "abstract"
    focus = any(_is_focus(s, paper.sentences) for s in hit_sentences | loose_sentences)

    near = 0.5 * _partial_overlap(query, paper) if rank_near_misses else 0.0
    score = (
        near
        + 3.0 * title_exact
        + 2.0 * loose_title
        + 1.2 * math.log2(1 + abstract_count)
        + 0.6 * math.log2(1 + len(loose_sentences))
        + 0.4 * focus
        + 1.5 * relaxed_title
        + 0.5 * math.log2(1 + len(relaxed_sentences))
    )
    matched = (
        title_exact
        or loose_title
        or len(hit_sentences) >= 2
        or (len(hit_sentences) == 1 and (focus or defines))
        or len(loose_sentences) >= 2
        or head_title
        or relaxed_title
        or len(relaxed_sentences) >= 3
    )
    hits = [Hit(e.title_quote, "title", e.title, e.origin) for e in evidence if e.title]
    hits += [Hit(e.abstract_quote, "abstract", len(e.abstract_positions), e.origin)
             for e in evidence if e.abstract_positions]
    return MatchResult(round(score, 4), bool(matched), hits, together, together_where, near=round(near, 4))
