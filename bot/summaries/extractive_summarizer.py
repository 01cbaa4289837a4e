"""The offline summarizer: picks and tidies sentences of the abstract itself, no network, no tokens.

It is what readers see whenever the LLM is not configured or not usable, so it must never open a digest line
with scene-setting ("Recent advances in X have shown remarkable…") or throat-clearing ("In this paper, we…").
Sentences are scored for what they contribute (a method, a finding, a result) and their lead-ins are cut.
"""

from __future__ import annotations

import math
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
from bot.summaries.sentences import content_words, end_with_stop, split_sentences, stem, trim_words, word_count

EXTRACTIVE_MODEL = "extractive"

_I = re.IGNORECASE
# Abstracts are untrusted and up to 50,000 characters: every pattern here must be linear in the text. A quantifier
# that can start anywhere in a run ("\d+" in "1111…", "\s*" in "    …") starts only where the run does (a
# lookbehind), and two quantifiers over the same characters in a row are bounded, or one of them is possessive;
# tests/test_summaries_hostile_text.py feeds each shape of run that once took minutes.
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
                        r"speed\w*|faster|accura\w*|gains?|boost\w*|beats?|exceed\w*)\b|(?<!\d)\d+(\.\d+)?\s?%|"
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
    re.compile(r"(?<!\s)\s*\((?:e\.g\.|i\.e\.|see|cf\.)[^()]*\)", _I),
    re.compile(r"(?<!\s)\s*\([^()]*\bet al\b[^()]*\)", _I),
    re.compile(r"(?<!\s)\s*\[[\d,\s\-–]+\]"),
    re.compile(r"\\(?=[%&_#$])|[{}]"),  # LaTeX left in abstracts: "99\\%" and "{QAE}"
)
_MIN_ANSWER_OVERLAP = 0.34


@dataclass(frozen=True)
class _Kind:
    """A kind of question chat asks about any paper, and how abstracts word its answer: "how big is the model?"
    is answered by "Qwen2.5-7B", "is the code out?" by "our implementation is on GitHub" — words the question
    does not share with its answer, and that word overlap alone never finds."""

    name: str
    asks: re.Pattern[str]
    says: re.Pattern[str]
    in_setting: bool = False  # answered by the lead-up to the contribution ("what's wrong with grid search?")
    # An abstract that gives this kind of answer says it in these words: when none does, it does not say. Not so
    # for "why…?" or "how do they handle…?", which an abstract may answer without "because" or "address".
    worded: bool = True


# What the paper itself finds: "we show / our results demonstrate", not "we investigate" (an aim, not a finding).
_OWN_FINDING = (r"\b(we|our (results|analysis|experiments|findings))\b[^.]{0,60}\b(prove|show|find|discover|"
                r"demonstrate|reveal|establish|observe|argue)")
# Where the abstract turns from the setting to the paper's own work: "In this work, we give…", "We…", "we propose".
_OWN_PART = re.compile(_CONTRIBUTION_RE.pattern + "|" + _OWN_FINDING + r"|^((in this|in our) (paper|work|study|"
                       r"article)|here),? we\b|^we\b", _I)
_SIZE = r"(?<![\d.])\d+(?:\.\d+)?\s?(?:[bmkt]|gb|mb|kb|tb|billion|million|thousand)\b"
# Benchmarks and datasets are named, not described: "on GSM8K and MATH500", "on GLUE" (capitals or digits; not
# "on GitHub").
_NAMED_DATA = r"\b(on|using|across|from|with)\s+(the\s+)?(?-i:[A-Z][A-Z0-9\-]*[A-Z0-9]\b|[A-Z][A-Za-z]*\d[\w\-.+]*)"
_KINDS = (
    _Kind("data",
          re.compile(r"\b(data ?sets?|data|corpus|corpora|train(ed|s)? (it |them )?on)\b", _I),
          re.compile(r"\b(data ?sets?|corpus|corpora|benchmarks?|test ?sets?)\b|\b(real|real-world|synthetic|"
                     r"training|labell?ed|unlabell?ed|web|text|image|tabular|offline|preference) data\b|"
                     r"\b(experiments?|evaluat\w*|tested|results?) (on|across|over|using)\b|" + _NAMED_DATA, _I)),
    _Kind("evaluation",
          re.compile(r"\b(benchmarks?|evaluat\w*|metrics?|test(ed|s)? (it |them )?on|validat\w*)\b", _I),
          re.compile(r"\b(benchmarks?|evaluat\w*|assess\w*|metrics?|validat\w*|tested|test ?sets?|case stud\w*|"
                     r"experiment\w*|simulations?)\b|\bempirical(ly)? (result|evaluation|stud|analys|evidence|"
                     r"performance)\w*|" + _NAMED_DATA, _I)),
    _Kind("experiments",
          re.compile(r"\b(experiment\w*|empiric\w*|simulat\w*|tested|test (it|them))\b", _I),
          re.compile(r"\bexperiment\w*|\bempirical(ly)? (result|evaluation|stud|analys|evidence|performance)\w*|"
                     r"\bempirically\b|\bsimulations?\b|\bwe (evaluate|test|validate)\w*|\b(evaluat\w*|validat\w*|"
                     r"tested) (on|across|using|with)\b|\b(on|across|over) (\w+ ){0,3}benchmarks?\b", _I)),
    _Kind("baselines",
          re.compile(r"\b(baselines?|compar\w*|against|versus|vs|better than|prior (work|methods?)|sota|"
                     r"state[- ]of[- ]the[- ]art|competitors?)\b", _I),
          re.compile(r"\b(baselines?|compar\w*|outperform\w*|surpass\w*|beats?|than|versus|vs|relative to|"
                     r"counterparts?|on par|state[- ]of[- ]the[- ]art|sota|(improv\w*|gains?) over)\b", _I)),
    _Kind("release",
          re.compile(r"\b(code|github|implementation|open[- ]?source\w*|release[sd]?|available|public\w*|repo\w*|"
                     r"weights|checkpoints?|download\w*)\b", _I),
          re.compile(r"github|https?://|\b(code\w*|implementation\w*|checkpoints?|weights|models?|data ?sets?|"
                     r"benchmarks?|tool\w*|library|package)\b[^.]{0,60}\b(available|released|open[- ]?sourced?|"
                     r"publicly|can be found|will be made)|\b(release|open-source) (our|the|all)\b|"
                     r"\bimplemented in\b", _I)),
    _Kind("size",
          re.compile(rf"\bhow (big|large|many parameters)\b|\b(size|parameters?|params)\b|\b{_SIZE}", _I),
          re.compile(rf"\b{_SIZE}|\b(parameters?|sizes?)\b|\b\d{{1,3}}(,\d{{3}})+\b", _I)),
    _Kind("compute",
          re.compile(r"\b(gpus?|tpus?|hardware|compute|computational|flops|costs?|costly|memory|time|hours?|days?|"
                     r"fast\w*|slow\w*|speed\w*|latency|efficien\w*|overhead|budget|expensive|cheap\w*)\b", _I),
          re.compile(r"\b(gpus?|tpus?|[ahv]\d{3}|flops|costs?|costly|memory|hours?|days?|minutes|seconds|time|"
                     r"faster|slower|speed\w*|latency|overhead|efficien\w*|budget|footprint|throughput|expensive|"
                     r"cheap\w*)\b|(?<![\d.])\d+(\.\d+)?\s?(x|×|times)\b", _I)),
    _Kind("results",
          re.compile(r"\bhow (much|well|good)\b|\b(improv\w*|results?|gains?|perform\w*|accura\w*|better|"
                     r"effective\w*|outperform\w*)\b", _I),
          re.compile(r"\b(outperform\w*|surpass\w*|improv\w*|achiev\w*|gains?|boost\w*|beats?|better|comparable|"
                     r"competitive|superior|reduc\w*|accura\w*|perform\w*|state-of-the-art)\b|"
                     r"(?<![\d.])\d+(\.\d+)?\s?(%|x\b|×)", _I)),
    _Kind("contribution",
          re.compile(r"\b(main|key|central|core|big) (results?|findings?|claims?|contributions?|ideas?|points?|"
                     r"insights?|takeaways?)\b|\bwhat (do|did) (they|the authors) (propose|suggest|introduce|present|"
                     r"find|show|claim|argue)\b|\bwhat('?s| is) new\b|\b(new|proposed) (algorithm|method|approach|"
                     r"model)\b", _I),
          re.compile(_CONTRIBUTION_RE.pattern + "|" + _OWN_FINDING, _I), worded=False),
    _Kind("problem",
          re.compile(r"\b(wrong|problems?|issues?|trouble|matter) with\b|\bwhat('?s| is) the (problem|issue|"
                     r"challenge|gap|motivation)\b|\bmotivat\w*", _I),
          re.compile(_PROBLEM_RE.pattern + r"|\b(weakness\w*|drawbacks?|disadvantages?|shortcomings?|flaw\w*|"
                     r"pitfalls?)\b", _I), in_setting=True, worded=False),
    _Kind("reason",
          re.compile(r"^\W*why\b|\bwhy (do|does|is|are|did|would)\b|\breasons?\b|\bcauses?\b", _I),
          re.compile(r"\b(because|due to|caused? by|originat\w*|stems? from|aris\w*|results? from|owing to|"
                     r"attribut\w* (\w+ ){0,3}to|explain\w*|the reason)\b", _I), worded=False),
    _Kind("remedy",
          re.compile(r"\b(fix\w*|solv\w*|solutions?|address\w*|mitigat\w*|remed\w*|tackl\w*|overcom\w*|"
                     r"avoid\w*|prevent\w*|handl\w*|cope)\b", _I),
          re.compile(r"\b(address\w*|mitigat\w*|fix\w*|solv\w*|solutions?|remed\w*|overcom\w*|alleviat\w*|"
                     r"avoid\w*|prevent\w*|tackl\w*|handl\w*|cope|copes|reduc\w*)\b", _I), worded=False),
    _Kind("limitations",
          re.compile(r"\b(limitations?|drawbacks?|weakness\w*|downsides?|caveats?|fail\w*)\b", _I),
          re.compile(r"\b(limitation\w*|drawbacks?|fail\w*|poorly|struggl\w*|weakness\w*|remains? (a |an )?"
                     r"(question|open|unclear)|cannot|costly|challeng\w*)\b", _I)),
    _Kind("models",
          re.compile(r"\b(which|what) (\w+ ){0,2}(models?|llms?|lms?|backbones?|architectures?|networks?|vlms?|"
                     r"lmms?)\b|\bbase models?\b|\bbackbones?\b", _I),
          re.compile(r"\b[a-z]{2}[\w.]{0,40}?-?\d|\b(gpt|bert|roberta|llama|qwen|mistral|mixtral|gemma|t5|clip|"
                     r"vit|resnet|deepseek|claude|gemini|falcon|bloom|stable diffusion)\b|\b(recurrent|convolutional|"
                     r"graph|spiking|feed-?forward|residual) (neural )?networks?\b|\b(transformers?|cnns?|rnns?|"
                     r"lstms?|gnns?|mlps?)\b", _I)),
)
# "How much / how many / how fast" wants a figure: of the sentences of the right kind, one that gives it.
_ASKS_QUANTITY = re.compile(r"\bhow (much|many|big|large|fast|long|slow)\b", _I)
_QUANTITY = re.compile(rf"(?<![\d.])\d+(\.\d+)?\s?(%|×|x\b|times\b)|\b{_SIZE}|\b\d+(\.\d+)?\+?\s?(hours?|days?|"
                       r"minutes|seconds|gpus?|steps|epochs|tokens)\b|orders?[- ]of[- ]magnitude", _I)
# A sentence about others' work ("Existing datasets are small") is not the paper's answer, unless it compares.
_PRIOR_WORK = re.compile(r"\b(existing|previous|prior|earlier|conventional|traditional|past) (\w+ ){0,2}(methods?|"
                         r"approaches|works?|datasets?|benchmarks?|models?|techniques|studies|solutions|algorithms|"
                         r"research)\b", _I)
# Words of chat, not of abstracts: they say nothing about what the question is after.
_CHAT_WORDS = frozenset({"need", "needs", "kind", "kinds", "type", "types", "sort", "exactly", "actually", "really",
                         "basically", "just", "like", "wrong", "go", "goes"})
_STEM_CHARS = 7

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
        """The sentence that answers (then a second one as good), or a plain "does not say".

        A question of a kind chat asks about every paper (data, baselines, code, size, compute, results…) is
        answered only by a sentence worded the way abstracts give that kind of answer: a sentence merely sharing
        the paper's topic ("LLMs") is not an answer to "which LLMs did they test?". Other questions are answered
        by the sentence sharing most of their words, the words the whole abstract repeats counting least. The
        abstract's own part (from its first "we propose…") answers before the setting that leads up to it."""
        paper = readable(paper)
        sentences = split_sentences(paper.abstract)
        if not sentences:
            return NOT_IN_ABSTRACT
        kinds = [kind for kind in _KINDS if kind.asks.search(question)]
        if any(kind.name == "release" for kind in kinds):  # "is the dataset public?" asks about a release
            kinds = [kind for kind in kinds if kind.name == "release"]
        subject = _words(_strip_kinds(question, kinds)) - _CHAT_WORDS
        if not kinds and not subject:
            return NOT_IN_ABSTRACT
        words = [_words(s) for s in sentences]
        weight = _weights(subject, [_words(paper.title), *words])
        total = sum(weight.values())
        quantity = bool(_ASKS_QUANTITY.search(question))
        scored = _score(sentences)
        own_from = next((s.index for s in scored if _OWN_PART.search(s.text)), 0)
        in_setting = any(kind.in_setting for kind in kinds)
        candidates = []
        for s, present in zip(scored, words, strict=True):
            cues = sum(1 for kind in kinds if kind.says.search(s.text))
            cues += 1 if cues and quantity and _QUANTITY.search(s.text) else 0
            overlap = sum(weight[w] for w in subject if w in present) / total if total else 0.0
            setting = not in_setting and (s.index < own_from or s.background or (
                bool(_PRIOR_WORK.search(s.text)) and not (s.contribution or s.result)))
            candidates.append(_Candidate(cues, overlap, setting, s, len(subject & present)))
        usable = [c for c in candidates if c.cues > 0]
        if not usable and not any(kind.worded for kind in kinds):
            # enough of the question's weight, or half its words (its subject may be the paper's topic itself)
            usable = [c for c in candidates
                      if c.shared and (c.overlap >= _MIN_ANSWER_OVERLAP or c.shared * 2 >= len(subject))]
        if not usable:
            return NOT_IN_ABSTRACT
        ranked = sorted(usable, key=lambda c: (-c.rank, c.sentence.index))
        keep = [ranked[0]]
        if len(ranked) > 1 and ranked[1].rank >= ranked[0].rank and not ranked[1].setting:
            keep.append(ranked[1])
        text = " ".join(end_with_stop(strip_opener(sentences[c.sentence.index])) for c in keep)
        return trim_words(text, WORD_LIMITS[SummaryKind.ANSWER])


@dataclass(frozen=True)
class _Candidate:
    cues: int  # kinds of the question this sentence says the way answers say them (+1 for a figure asked for)
    overlap: float  # weighted share of the question's subject words it has
    setting: bool  # scene-setting, the lead-up to the paper's contribution, or others' work
    sentence: _Scored
    shared: int = 0  # the question's subject words it has

    @property
    def rank(self) -> float:
        return self.cues + self.overlap - (1.0 if self.setting else 0.0)


def _words(text: str) -> set[str]:
    """Content stems, cut to a common length ("optimizer" meets "optimization", "controlling" meets "control"),
    with each part of a hyphenated word as well ("training-free" answers "does it need training?")."""
    words = content_words(text)
    words |= {stem(part) for w in words if "-" in w for part in w.split("-") if len(part) > 1}
    return {w[:_STEM_CHARS] for w in words}


def _strip_kinds(question: str, kinds: list[_Kind]) -> str:
    """The question without the words that only say its kind ("how big", "which baselines"): what is left is
    its subject, the words a sentence must share with it."""
    spans = sorted(m.span() for kind in kinds for m in kind.asks.finditer(question))
    kept, at = [], 0
    for start, end in spans:  # found on the whole question: "main result" is one kind's words, not "result"'s
        kept.append(question[at:start] if start > at else "")
        at = max(at, end)
    return " ".join([*kept, question[at:]])


def _weights(subject: set[str], sentences: list[set[str]]) -> dict[str, float]:
    """A word in every sentence (the paper's topic) tells sentences apart least; a word in none counts like a
    word in one, so a question about something the abstract never mentions is not answered."""
    n = len(sentences)
    return {w: math.log((n + 1) / (max(1, sum(1 for s in sentences if w in s)) + 0.5)) for w in subject}
