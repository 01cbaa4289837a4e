"""A topic as people type it ("gnn", "graph neural nets", "kl-regularized rl"), compiled into what to look for.

Compilation expands the topic through the glossary (abbreviation ↔ full name), through acronyms the stored
papers define, and part by part for multi-word topics ("offline rl" → "offline reinforcement learning"). It
also keeps the topic's concepts separately so a paper that says "reasoning efficiency" can still match
"efficient reasoning" when both concepts sit in one sentence.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from bot.topics.glossary import Glossary, Term, TermToken, make_term, term_key
from bot.topics.text_analysis import STOPWORDS, stem, tokenize

MAX_PHRASE_VARIANTS = 32
MAX_NEAR_WORDS = 48
# "quantized models", "diffusion methods": the last word adds nothing, the modifier carries the topic.
_GENERIC_HEADS = frozenset({"model", "method", "approach", "algorithm", "techniqu", "framework", "system",
                            "architectur"})
_MAX_GLOSSARY_SPAN = 6
# Words that name where a topic lives rather than what it is: "llm quantization" is quantization, said of LLMs.
_QUALIFIERS = frozenset(stem(w) for w in
                        "llm llms lm lms language large deep neural transformer transformers model models".split())
# Heads too broad to stand for the phrase alone: "federated learning" is not every paper about learning.
BROAD_HEADS = frozenset(stem(w) for w in """
learning model network method system optimization alignment design analysis generation reasoning training
representation prediction inference estimation classification understanding processing evaluation search control
planning modeling modelling embedding regularization complexity gradient theory bound data task language vision
detection recognition segmentation retrieval transfer adaptation selection policy agent function process problem
structure space attention memory loss objective architecture framework algorithm technique application benchmark
dataset tuning sampling decoding encoding efficiency robustness safety generalization scaling exploration
play graph matching mining fusion editing answering understanding learner
""".split())
# "exploration in reinforcement learning": the head comes before the preposition.
_PREPOSITIONS = frozenset("in for of on with under via".split())


def normalize_topic(topic: str) -> str:
    """How a topic is stored and shown: whitespace collapsed, lowercase unless it is an acronym like LoRA, and
    compatibility forms made plain, so that a topic stored before `clean_topic` did so ("ＧＮＮ") matches too."""
    words = unicodedata.normalize("NFKC", topic).split()
    return " ".join(w if looks_like_acronym(w) else w.lower() for w in words)


def looks_like_acronym(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return len(letters) >= 2 and sum(c.isupper() for c in letters) >= 2


@dataclass
class TopicQuery:
    topic: str
    key: str
    terms: list[Term]
    concepts: list[list[Term]] = field(default_factory=list)
    origins: dict[str, str] = field(default_factory=dict)  # term label -> typed | glossary | narrower | papers
    relaxed: list[Term] = field(default_factory=list)  # the topic without a generic head noun
    # The head word alone ("forgetting" for "catastrophic forgetting"), which counts only in a paper that also
    # says something of the phrase's sense (one of `head_context`): the head used in the phrase's sense.
    head: list[Term] = field(default_factory=list)
    head_context: list[Term] = field(default_factory=list)

    @cached_property
    def term_keys(self) -> frozenset[str]:
        return frozenset(term.key for term in self.terms)

    @cached_property
    def anchors(self) -> tuple[frozenset[str], frozenset[str]]:
        """First words (by stem, by exact spelling) of everything that could match: a paper with none of them
        cannot match, which lets a digest run reject most (topic, paper) pairs with a few set lookups."""
        terms = [*self.terms, *self.relaxed, *self.head, *(alt for concept in self.concepts for alt in concept)]
        stems = frozenset(t.tokens[0].stem for t in terms if t.tokens[0].exact is None)
        exacts = frozenset(t.tokens[0].exact for t in terms if t.tokens[0].exact is not None)
        return stems, exacts

    @cached_property
    def overlap_stems(self) -> list[frozenset[str]]:
        """Content words of each multi-word phrasing, for ranking near misses below real matches."""
        found = []
        for term in self.terms:
            stems = frozenset(t.stem for t in term.tokens if t.exact is None and t.stem not in STOPWORDS)
            if len(stems) >= 2:
                found.append(stems)
        return found

    def fts_phrases(self) -> list[list[str]]:
        """Word sequences for the database's full-text engine to retrieve candidates with."""
        unique: dict[tuple[str, ...], None] = {}
        for term in [*self.terms, *self.relaxed, *self.head]:
            unique[tuple(t.word or t.stem for t in term.tokens)] = None
        return [list(p) for p in unique]

    def fts_words(self) -> list[list[str]]:
        """Each content word of the topic alone: the near misses a long ranking ("--all") also orders."""
        words: dict[str, None] = {}
        for term in [*self.terms, *(alt for concept in self.concepts for alt in concept)]:
            for t in term.tokens:
                if t.stem not in STOPWORDS:
                    words[t.word or t.stem] = None
        return [[w] for w in list(words)[:MAX_NEAR_WORDS]]

    def core_fts_phrases(self) -> list[list[str]]:
        """Only the topic itself and its synonyms: a cheap first pass over a large archive."""
        core = [t for t in self.terms if self.origins.get(t.label) in ("typed", "glossary")]
        return [[t.word or t.stem for t in term.tokens] for term in core]

    def fts_concepts(self) -> list[list[list[str]]]:
        """For loose matches: every concept (a list of alternative phrases) must appear somewhere."""
        if len(self.concepts) < 2:
            return []
        return [[[t.word or t.stem for t in alt.tokens] for alt in concept] for concept in self.concepts]


def _typed_term(text: str) -> Term | None:
    # What the user typed matches case-insensitively, unless they typed an acronym in capitals.
    words = tokenize(text)
    if not words:
        return None
    tokens = tuple(TermToken(stem(w), w if looks_like_acronym(w) else None, w.lower()) for w in words)
    return Term(" ".join(text.split()), tokens)


def _dedupe(terms: Iterable[Term]) -> list[Term]:
    seen: dict[tuple[TermToken, ...], Term] = {}
    for term in terms:
        seen.setdefault(term.tokens, term)
    return list(seen.values())


def _segment(words: list[str], glossary: Glossary) -> list[list[Term]]:
    concepts: list[list[Term]] = []
    i = 0
    while i < len(words):
        for j in range(min(len(words), i + _MAX_GLOSSARY_SPAN), i, -1):
            span = " ".join(words[i:j])
            group = glossary.group(term_key(span))
            if group is not None:
                typed = _typed_term(span)
                concepts.append(_dedupe([*([typed] if typed else []), *group]))
                i = j
                break
        else:
            word = words[i]
            i += 1
            if word.lower() in STOPWORDS:
                continue
            typed = _typed_term(word)
            if typed is not None:
                concepts.append([typed])
    return concepts


def _join(parts: tuple[Term, ...]) -> Term:
    return Term(" ".join(p.label for p in parts), tuple(t for p in parts for t in p.tokens))


def _head_terms(
    words: list[str], concepts: list[list[Term]], glossary: Glossary, phrase_key: str,
) -> tuple[list[tuple[Term, str]], list[Term], list[Term]]:
    """A phrase means at least its head in the phrase's sense. Returns terms that stand for the topic outright,
    plus a head that counts only beside the phrase's context.

    - "llm alignment", "llm quantization": the modifier only says where, so the head and its sub-topics
      (RLHF, DPO, reward models…) are the topic.
    - "preference alignment": the modifier is a word of the head's own sub-topics (preference optimization,
      human preference), so it names the same sense.
    - "catastrophic forgetting", "knowledge distillation": a specific head counts in a paper that also says the
      modifier or one of the phrase's sub-topics ("distilled into a student" for knowledge distillation).
    A broad head ("federated learning" → "learning") stands for nothing on its own.
    """
    lowered = [w.lower() for w in words]
    cut = next((i for i, w in enumerate(lowered) if w in _PREPOSITIONS and i > 0), None)
    front = words[:cut] if cut is not None else words
    last = _segment(front[-1:], glossary)
    rest = _segment(front[:-1], glossary) + (_segment(words[cut + 1:], glossary) if cut is not None else [])
    if not last or not rest:
        return [], [], []
    head = last[0]
    head_key = head[0].key
    family = glossary.narrower(head_key)
    family_keys = {t.key for t in family}
    family_stems = {t.stem for term in family for t in term.tokens}

    def qualifies(concept: list[Term]) -> bool:
        if all(t.stem in _QUALIFIERS for t in concept[0].tokens) or any(a.key in _QUALIFIER_KEYS for a in concept):
            return True
        # a word of the head's own sub-topics, in a phrase that is not itself one of them
        return bool(family) and phrase_key not in family_keys and all(
            t.stem in family_stems for t in concept[0].tokens)

    token = head[0].tokens[0]
    broad = len(head[0].tokens) == 1 and token.stem in BROAD_HEADS
    if all(qualifies(c) for c in rest):
        sub_topics = [(t, "narrower") for t in family]
        if broad:
            # "llm evaluation" is not every paper that evaluates: the broad head counts beside its sub-topics
            return sub_topics, (list(head) if family else []), family
        return [(t, "head") for t in head] + sub_topics, [], []
    # A head with sub-topics of its own ("rl") stands for the phrase only when the phrase is one of them.
    if (len(head[0].tokens) == 1 and token.exact is None and token.stem not in BROAD_HEADS
            and (not family or phrase_key in family_keys)):
        context = [t for concept in rest for t in concept
                   if not all(tok.stem in BROAD_HEADS for tok in t.tokens)] + glossary.narrower(phrase_key)
        return [], list(head), context
    return [], [], []


_QUALIFIER_KEYS = frozenset(("larg languag model", "languag model", "deep learn", "deep neural network"))


def compile_topic(
    topic: str,
    glossary: Glossary,
    learned: dict[str, list[str]] | None = None,
) -> TopicQuery:
    """`learned` maps a topic key to extra phrases learned for it (an LLM's expansion, see semantic.py)."""
    shown = normalize_topic(topic)
    key = term_key(shown)
    origins: dict[str, str] = {}
    terms: list[Term] = []
    typed = _typed_term(shown)
    if typed is not None:
        terms.append(typed)
        origins[typed.label] = "typed"
    if "-" in shown and (joined_typed := _typed_term(shown.replace("-", ""))) is not None:
        terms.append(joined_typed)  # "bi-level optimization" also finds "bilevel optimization"
        origins.setdefault(joined_typed.label, "typed")
    group = glossary.group(key)
    for term in group or []:
        terms.append(term)
        origins.setdefault(term.label, "glossary")
    narrower_keys = [key]
    for phrase in (learned or {}).get(key, []):
        extra = make_term(phrase)
        if extra is not None:
            terms.append(extra)
            origins.setdefault(extra.label, "llm")
    words = tokenize(shown)
    concepts = _segment(words, glossary) if len(words) > 1 else []
    if len(concepts) > 1 and group is None:
        for combo in itertools.islice(itertools.product(*concepts), MAX_PHRASE_VARIANTS):
            joined = _join(combo)
            terms.append(joined)
            origins.setdefault(joined.label, "glossary")
            narrower_keys.append(joined.key)  # "kl-regularized rl" reaches "kl-regularized reinforcement learning"
    for narrower_key in dict.fromkeys(narrower_keys):
        for term in glossary.narrower(narrower_key):
            terms.append(term)
            origins.setdefault(term.label, "narrower")
    head: list[Term] = []
    head_context: list[Term] = []
    if len(words) > 1:
        outright, head, head_context = _head_terms(words, concepts, glossary, key)
        for term, origin in outright:
            terms.append(term)
            origins.setdefault(term.label, origin)
        for term in head:
            origins.setdefault(term.label, "head")
    elif len(words) == 1 and typed is not None and stem(words[0]) in BROAD_HEADS and group is None:
        # One broad word with sub-topics of its own ("alignment"): the word counts where the paper also says
        # something of that sense (RLHF, reward model, human preference…), not for image-text alignment.
        family = glossary.narrower(key)
        if family:
            terms = [t for t in terms if t is not typed]
            head, head_context = [typed], family
    relaxed: list[Term] = []
    if len(words) >= 2 and stem(words[-1]) in _GENERIC_HEADS and (modifier := _segment(words[:-1], glossary)):
        for combo in itertools.islice(itertools.product(*modifier), MAX_PHRASE_VARIANTS):
            relaxed.append(_join(combo))
    return TopicQuery(topic=shown, key=key, terms=_dedupe(terms), concepts=concepts, origins=origins,
                      relaxed=_dedupe(relaxed), head=_dedupe(head), head_context=_dedupe(head_context))
