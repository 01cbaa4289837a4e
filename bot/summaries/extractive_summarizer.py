"""The offline summarizer: picks and tidies sentences of the abstract itself, no network, no tokens.

It is what readers see whenever the LLM is not configured or not usable, so it must never open a digest line
with scene-setting ("Recent advances in X have shown remarkable…") or throat-clearing ("In this paper, we…").
Sentences are scored for what they contribute (a method, a finding, a result) and their lead-ins are cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bot.summaries.kinds import (
    MAX_BULLETS,
    MIN_BULLETS,
    NOT_IN_ABSTRACT,
    WORD_LIMITS,
    Draft,
    PaperText,
    SummaryKind,
    SummaryRequest,
)
from bot.summaries.latex import latex_to_text
from bot.summaries.sentences import content_words, end_with_stop, split_sentences, trim_words, word_count

EXTRACTIVE_MODEL = "extractive"

_I = re.IGNORECASE
BACKGROUND_RES = (
    re.compile(r"^(recent(ly)?\b|in recent years|over the (past|last)|nowadays|currently,|with the (rapid|recent|"
               r"growing|increasing|advent|emergence|rise|success|development|proliferation)|the (rapid|recent|"
               r"remarkable) (advance|progress|development|growth|success|rise)|despite\b|as \w+ (become|grow))", _I),
    re.compile(r"\b(has|have|had)( recently| also)? (shown|demonstrated|achieved|attracted|gained|drawn|emerged|"
               r"become|made|witnessed|revolutionized|transformed|seen|received|garnered)\b.{0,60}\b(remarkable|"
               r"impressive|significant|great|tremendous|considerable|substantial|unprecedented|notable|strong|"
               r"promising|success|attention|popular|interest|progress|powerful|widespread|capabilit)", _I),
    re.compile(r"\b(is|are|has been|have been|remains?) (a |an |the )?(widely|commonly|increasingly|extensively|"
               r"frequently) (used|adopted|studied|popular|applied|deployed)", _I),
    re.compile(r"\bplays? (a|an) (crucial|important|key|vital|central|pivotal|critical|essential) role", _I),
    re.compile(r"^([\w\-()]+\s){0,7}(is|are) (a |an |the )?(fundamental|crucial|important|key|critical|central|"
               r"essential|long-standing|core|popular|promising|powerful|ubiquitous)\b", _I),
)
# Lead-ins that add words but no information; cut before a sentence is shown.
_OPENER_RES = (
    re.compile(r"^(in this (paper|work|study|article|letter|report|note|thesis)|here|herein)\s*,?\s*(?=we\b)", _I),
    re.compile(r"^[^,;:]{0,90},\s*(?=we\s)", _I),  # "To bridge this gap, we…", "Based on this principle, we…"
    re.compile(r"^(to (address|tackle|overcome|bridge|solve|fill|mitigate|alleviate|remedy|resolve|handle|meet|"
               r"close)[^,;:]{0,120}|motivated by[^,;:]{0,80}|inspired by[^,;:]{0,80}|building (up)?on[^,;:]{0,80}|"
               r"based on[^,;:]{0,80}|leveraging[^,;:]{0,80}|in contrast|instead|unlike[^,;:]{0,80})\s*,\s*", _I),
    re.compile(r"^(this|the present|our) (paper|work|study|article|letter|report|note)\s+(?=(\w+ly\s+)?\w+s\b)", _I),
    re.compile(r"^(therefore|thus|hence|moreover|furthermore|additionally|in addition|specifically|consequently|"
               r"accordingly|concretely|finally|first(ly)?|second(ly)?|in particular|as a result|overall|"
               r"importantly|notably|crucially|in summary|to this end|to that end)\s*,\s*", _I),
)
_CONTRIBUTION_RE = re.compile(
    r"\b(we|this (paper|work|study|article|letter|report)|our (work|paper|study))\s+(\w+ly\s+)?(also\s+|further\s+|"
    r"first\s+|then\s+|here\s+)?(propose|introduce|present|develop|design|build|construct|formulate|derive|devise|"
    r"create|release|contribute|offer|describe|establish|provide|put forward|curate|collect|train)", _I)
_FINDING_RE = re.compile(
    r"\b(we|this (paper|work|study|article)|our (results|experiments|analysis|findings))\s+(\w+ly\s+)?(and \w+ly\s+)?"
    r"(show|demonstrate|find|prove|reveal|identify|study|analy[sz]e|investigate|explore|examine|argue|observe|"
    r"characterize|uncover|confirm|indicate|suggest)", _I)
_NAMED_RE = re.compile(r"\b(called|named|dubbed|termed|coined)\b|\b(a|an) (novel|new|simple|unified|general|"
                       r"principled|efficient|scalable|lightweight|effective|first)\b", _I)
_RESULT_RE = re.compile(r"\b(outperform\w*|surpass\w*|state-of-the-art|sota|improv\w*|achiev\w*|reduc\w*|"
                        r"speed\w*|faster|accura\w*|gains?|boost\w*|beats?|exceed\w*)\b|\d+(\.\d+)?\s?%|"
                        r"\b\d+(\.\d+)?\s?[x×]\b", _I)
_PROBLEM_RE = re.compile(r"\b(however|but|remain\w*|lack\w*|limit\w*|challeng\w*|struggl\w*|fail\w*|suffer\w*|"
                         r"costly|expensive|difficult|bottleneck|gap|issue|problem|unclear|little is known|poorly|"
                         r"insufficient|hinder\w*|prohibitive\w*|inefficien\w*|unstable|brittle)\b", _I)
_IMPACT_RE = re.compile(r"\b(enabl\w*|pave\w*|facilitat\w*|practical|implication\w*|open\w* (up|new|the door)|"
                        r"insights?|benefit\w*|generaliz\w*|broad\w*|applicab\w*|deploy\w*|real-world|future|"
                        r"step toward\w*|promising)\b", _I)
_JUNK_RE = re.compile(r"https?://|www\.|github|\.com\b|\.io\b|@|available at|project page|(code|data|models?|"
                      r"weights|datasets?)( and \w+)? (is|are|will be) (publicly |openly |freely )?(available|"
                      r"released)|ignore (all |any )?(previous|prior|above) instructions", _I)
_ASIDE_RES = (
    re.compile(r"\s*\((?:e\.g\.|i\.e\.|see|cf\.)[^()]*\)", _I),
    re.compile(r"\s*\([^()]*\bet al\b[^()]*\)", _I),
    re.compile(r"\s*\[[\d,\s\-–]+\]"),
    re.compile(r"\\(?=[%&_#$])|[{}]"),  # LaTeX left in abstracts: "99\\%" and "{QAE}"
)
_MIN_ANSWER_OVERLAP = 0.34
# What readers ask about, in the words abstracts use for it: a question word counts as found in a sentence that
# has any word of its group. Groups are kinds of question (data, evaluation, code, results, cost, limitations),
# not topics, so they hold for any paper.
_ANSWER_GROUPS = (
    "dataset data benchmark corpus corpora",
    "evaluate evaluation evaluated experiment experiments test tested benchmark validate",
    "code github implementation open-source release released available",
    "result results outperform outperforms improve improves improvement accuracy gain gains",
    "cost compute gpu gpus hours flops budget memory",
    "limitation limitations drawback drawbacks weakness fail fails however",
)


def readable(paper: PaperText) -> PaperText:
    """The paper as a reader should see it quoted: LaTeX rendered or dropped (bot/summaries/latex.py)."""
    return replace(paper, title=latex_to_text(paper.title), abstract=latex_to_text(paper.abstract))


def is_background(sentence: str) -> bool:
    return any(r.search(sentence) for r in BACKGROUND_RES)


def strip_opener(sentence: str) -> str:
    """ "In this paper, we propose X" → "We propose X"; "This paper introduces X" → "Introduces X"."""
    text = sentence
    for _ in range(3):
        before = text
        for pattern in _OPENER_RES:
            text = pattern.sub("", text, count=1).lstrip()
        if text == before:
            break
    for pattern in _ASIDE_RES:
        text = pattern.sub("", text)
    return text[:1].upper() + text[1:] if text else sentence


@dataclass(frozen=True)
class _Scored:
    index: int
    text: str
    score: float
    background: bool
    junk: bool
    problem: bool
    result: bool
    impact: bool
    contribution: bool


def _score(sentences: list[str]) -> list[_Scored]:
    scored = []
    for i, s in enumerate(sentences):
        background = is_background(s)
        junk = bool(_JUNK_RE.search(s))
        contribution = bool(_CONTRIBUTION_RE.search(s))
        finding = bool(_FINDING_RE.search(s))
        result = bool(_RESULT_RE.search(s))
        problem = bool(_PROBLEM_RE.search(s))
        impact = bool(_IMPACT_RE.search(s))
        score = 0.0
        score += 4.0 if contribution else 0.0
        score += 2.5 if finding else 0.0
        score += 1.0 if _NAMED_RE.search(s) else 0.0
        score += 1.0 if result else 0.0
        score -= 1.0 if problem and not contribution else 0.0
        score -= 4.0 if background else 0.0
        score -= 6.0 if junk else 0.0
        score -= 1.0 if i == 0 and not contribution else 0.0
        score += 0.3 if 0 < i <= 2 else 0.0
        words = word_count(s)
        score -= 3.0 if words < 7 else (1.0 if words > 60 else 0.0)
        scored.append(_Scored(i, s, score, background, junk, problem, result, impact, contribution))
    return scored


class ExtractiveSummarizer:
    """Deterministic and instant; quality comes from choosing the right sentence, not from generating one."""

    @property
    def model(self) -> str:
        return EXTRACTIVE_MODEL

    async def summarize(self, request: SummaryRequest) -> Draft:
        return Draft(self.write(request), attempts=0)

    def write(self, request: SummaryRequest) -> str:
        if request.kind is SummaryKind.TLDR:
            return self.tldr(request.paper)
        if request.kind is SummaryKind.SUMMARY:
            return self.summary(request.paper)
        return self.answer(request.paper, request.question or "")

    def tldr(self, paper: PaperText) -> str:
        paper = readable(paper)
        limit = WORD_LIMITS[SummaryKind.TLDR]
        scored = _score(split_sentences(paper.abstract))
        usable = [s for s in scored if not s.background and not s.junk] or [s for s in scored if not s.junk]
        if not usable:
            return trim_words(paper.title, limit)
        best = max(usable, key=lambda s: (s.score, -s.index))
        text = strip_opener(best.text)
        following = next((s for s in usable if s.index == best.index + 1), None)
        if word_count(text) < 15 and following is not None:  # "We propose X." alone says little; add its gist
            joined = f"{end_with_stop(text)} {strip_opener(following.text)}"
            if word_count(joined) <= limit:
                text = joined
        return trim_words(text, limit)

    def summary(self, paper: PaperText) -> str:
        """Problem, method, result, why it matters, each from the sentence that best says it."""
        paper = readable(paper)
        scored = [s for s in _score(split_sentences(paper.abstract)) if not s.junk]
        if not scored:
            return f"• {trim_words(paper.title, 30)}"
        method = max(scored, key=lambda s: (s.score, -s.index))
        picked = {method.index}

        def pick(candidates: list[_Scored]) -> _Scored | None:
            for s in candidates:
                if s.index not in picked:
                    picked.add(s.index)
                    return s
            return None

        before = [s for s in scored if s.index < method.index]
        problem = pick([s for s in reversed(before) if s.problem] + before[:1])
        after = [s for s in scored if s.index > method.index]
        result = pick(sorted([s for s in after if s.result], key=lambda s: -s.score) + after)
        impact = pick([s for s in reversed(after) if s.impact and not s.result])
        chosen = [s for s in (problem, method, result, impact) if s is not None]
        for extra in sorted(scored, key=lambda s: (-s.score, s.index)):  # too few? fill with the next best
            if len(chosen) >= MIN_BULLETS:
                break
            if pick([extra]) is not None:
                chosen.append(extra)
        chosen = sorted(chosen, key=lambda s: s.index)[:MAX_BULLETS]
        per_bullet = min(WORD_LIMITS[SummaryKind.TLDR], WORD_LIMITS[SummaryKind.SUMMARY] // len(chosen))
        return "\n".join(f"• {trim_words(strip_opener(s.text), per_bullet)}" for s in chosen)

    def answer(self, paper: PaperText, question: str) -> str:
        """The sentences sharing most content words with the question (or words abstracts say the same thing with:
        "which datasets" is answered by "experiments on MNIST and CIFAR-10"), or a plain "does not say"."""
        paper = readable(paper)
        wanted = content_words(question)
        if not wanted:
            return NOT_IN_ABSTRACT
        sentences = [paper.title, *split_sentences(paper.abstract)]
        overlaps = [(_shared(wanted, content_words(s)), i) for i, s in enumerate(sentences)]
        ranked = sorted((o for o in overlaps if o[0] > 0), key=lambda o: (-o[0], o[1]))
        if not ranked or ranked[0][0] / len(wanted) < _MIN_ANSWER_OVERLAP:
            return NOT_IN_ABSTRACT
        top = ranked[0][0]
        keep = sorted(i for overlap, i in ranked[:2] if overlap >= max(1, top - 1) and i > 0) or [ranked[0][1]]
        text = " ".join(end_with_stop(strip_opener(sentences[i])) for i in keep)
        return trim_words(text, WORD_LIMITS[SummaryKind.ANSWER])


def _answer_groups() -> dict[str, frozenset[str]]:
    related: dict[str, set[str]] = {}
    for group in _ANSWER_GROUPS:
        stems = content_words(group)
        for word in stems:
            related.setdefault(word, set()).update(stems)
    return {word: frozenset(stems) for word, stems in related.items()}


_RELATED = _answer_groups()


def _shared(wanted: set[str], words: set[str]) -> int:
    """How many of the question's words the sentence has, itself or in a word of the same kind."""
    return sum(1 for w in wanted if w in words or not words.isdisjoint(_RELATED.get(w, ())))
