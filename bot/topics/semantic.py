"""The optional semantic layer: LLM topic expansion and embedding similarity, on top of lexical matching.

Both are strictly additive. With no endpoint configured nothing here runs and matching is the offline path;
when an endpoint is slow or down, each call fails fast to "no extra signal" and the lexical result stands.
Everything an endpoint returns is cached in the database, so a topic is expanded once and each paper is
embedded once per model, across restarts and processes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.topics.glossary import term_key
from bot.topics.matcher import MatchResult
from bot.topics.text_analysis import STOPWORDS
from bot.topics.topic_service import RankedPaper, TopicMatcher, rank_key
from storage.database import Database
from storage.semantic_cache_store import get_many, put

log = logging.getLogger(__name__)

MAX_EXPANSION_TERMS = 12
_TERM_RE = re.compile(r"^[\w][\w\s\-+/.'’()]{1,58}[\w)+]$", re.UNICODE)
# A related term is matched against every paper, so one that reads like a web address, or a single word too
# broad to mean anything in machine learning, would flood a topic with unrelated papers: both are dropped.
_DOMAIN_RE = re.compile(r"(?:www\.|\w\.(?:com|org|net|io|ai|gg|ly|me|co|xyz|info|ru|cn|de|uk)\b)", re.IGNORECASE)
_TOO_BROAD = frozenset(term_key(w) for w in (
    "learning model network neural deep machine data training algorithm system framework technique task "
    "performance research paper study ai ml artificial intelligence computer science everyone here"
).split())
_UNSAFE_TEXT_RE = re.compile(r"https?:|www\.|[@<>\[\]`|*_~#]", re.IGNORECASE)
# After an endpoint fails, leave it alone this long: a down or hanging server costs one timeout, not one per
# subscription preview.
DEFAULT_COOLDOWN = 60.0
# The hybrid, as measured with a real model (all-MiniLM-L6-v2) on the relevance dev set: bench/semantic_eval.py.
# Embeddings never decide a match: digests match on words alone, so a preview or `topics match` that let
# similarity add or drop a match would promise papers the channel never receives — and similarity-only matches
# lowered macro-F1 at every threshold that changed anything. Nor do they reorder the matches (the digest's
# order). They order what follows: a paper the words did not match scores its lexical score plus
# SIMILARITY_WEIGHT per unit of cosine similarity above SIMILARITY_FLOOR, so the near misses and papers without
# the words that read like the topic come first. Both values were chosen on the dev set's tuning part only.
SIMILARITY_FLOOR = 0.1
SIMILARITY_WEIGHT = 2.0

EXPANSION_SYSTEM_PROMPT = (
    "You help a research-paper digest understand what a subscriber means by a topic in machine learning. "
    "Reply with JSON only: {\"description\": one sentence, \"related_terms\": [up to 10 strings]}. "
    "related_terms are synonyms, abbreviations and narrower sub-topics a subscriber would want, as they are "
    "written in paper titles and abstracts. Do not include broader or merely related fields."
)


@dataclass(frozen=True)
class TopicExpansion:
    description: str
    terms: list[str]


class TopicExpander(Protocol):
    """`expand` returns None only when the endpoint could not answer (then we retry later); an answer with
    nothing usable in it is an empty expansion, cached like any other so the model is not asked again."""

    model: str

    async def expand(self, topic: str) -> TopicExpansion | None: ...


class Embedder(Protocol):
    """`embed` returns one vector per text, in order, or None when the endpoint failed."""

    model: str

    async def embed(self, texts: Sequence[str]) -> list[list[float]] | None: ...


def _json_object(text: str) -> Any:
    """Local models often wrap the JSON we asked for in prose or a code fence; take the outermost object."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes ("[[[[…")
        pass
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        return json.loads(text[start:end + 1])
    except (ValueError, RecursionError):
        return None


def _usable_term(phrase: str, own_key: str) -> bool:
    if not _TERM_RE.match(phrase) or _UNSAFE_TEXT_RE.search(phrase) or _DOMAIN_RE.search(phrase):
        return False
    key = term_key(phrase)
    words = key.split()
    if key in ("", own_key) or all(w in STOPWORDS for w in phrase.lower().split()):
        return False
    return not (len(words) == 1 and words[0] in _TOO_BROAD)


def parse_expansion(raw: str, topic: str) -> TopicExpansion | None:
    """Untrusted model output to a short, clean list of phrases; anything odd is dropped, not repaired.

    The description is kept only as plain text (no links, mentions or markup), since it may be shown to users
    one day; None means the reply was not the JSON we asked for at all."""
    text = raw.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    data = _json_object(text)
    if not isinstance(data, dict):
        return None
    description = data.get("description")
    terms = data.get("related_terms")
    if not isinstance(terms, list):
        return None
    own = term_key(topic)
    clean: dict[str, None] = {}
    for term in terms[:50]:
        if not isinstance(term, str):
            continue
        phrase = " ".join(term.split())
        if _usable_term(phrase, own):
            clean[phrase] = None
    summary = " ".join(description.split())[:300] if isinstance(description, str) else ""
    if _UNSAFE_TEXT_RE.search(summary) or not summary.isprintable():
        summary = ""
    return TopicExpansion(summary, list(clean)[:MAX_EXPANSION_TERMS])


class OpenAITopicExpander:
    """Any OpenAI-compatible chat endpoint; one short call per new topic, then the cache answers."""

    def __init__(self, client: Any, model: str, *, timeout: float = 20.0) -> None:
        self.client = client
        self.model = model
        self.timeout = timeout

    async def expand(self, topic: str) -> TopicExpansion | None:
        try:
            completion = await asyncio.wait_for(self.client.chat.completions.create(
                model=self.model, temperature=0, max_tokens=300,
                messages=[{"role": "system", "content": EXPANSION_SYSTEM_PROMPT},
                          {"role": "user", "content": f"Topic: {topic[:100]}"}],
            ), self.timeout)
            content = completion.choices[0].message.content or ""
        except Exception as exc:  # any failure of an optional extra means "no extra signal", never an error
            log.warning("topic expansion failed for %r: %s", topic[:100], type(exc).__name__)
            return None
        if not isinstance(content, str):
            return None
        expansion = parse_expansion(content, topic)
        if expansion is None:
            log.warning("topic expansion for %r was not the JSON asked for; ignored", topic[:100])
            return TopicExpansion("", [])
        return expansion


class OpenAIEmbedder:
    """Any OpenAI-compatible embeddings endpoint; texts go in batches, each under one deadline."""

    def __init__(self, client: Any, model: str, *, timeout: float = 20.0, batch: int = 64) -> None:
        self.client = client
        self.model = model
        self.timeout = timeout
        self.batch = batch

    async def embed(self, texts: Sequence[str]) -> list[list[float]] | None:
        vectors: list[list[float]] = []
        try:
            for start in range(0, len(texts), self.batch):
                chunk = [t[:8000] for t in texts[start:start + self.batch]]
                # "float" explicitly: the SDK otherwise asks for base64, which not every compatible server speaks.
                response = await asyncio.wait_for(self.client.embeddings.create(
                    model=self.model, input=chunk, encoding_format="float"), self.timeout)
                got = _vectors_of(response, len(chunk))
                if got is None:
                    log.warning("embedding reply unusable (wrong count, shape or values); ignored")
                    return None
                vectors.extend(got)
        except Exception as exc:  # any failure of an optional extra means "no extra signal", never an error
            log.warning("embedding request failed: %s", type(exc).__name__)
            return None
        return vectors


def _vectors_of(response: Any, expected: int) -> list[list[float]] | None:
    """One finite vector per input, in input order (servers may list them in any order), all the same size."""
    items = list(response.data or [])
    if len(items) != expected:
        return None
    indexed = sorted(enumerate(items), key=lambda pair: (
        pair[1].index if isinstance(getattr(pair[1], "index", None), int) else pair[0]))
    vectors = [[float(x) for x in item.embedding] for _, item in indexed]
    size = len(vectors[0]) if vectors else 0
    if any(len(v) != size or not all(math.isfinite(x) for x in v) for v in vectors) or (vectors and not size):
        return None
    return vectors


class _Cooldown:
    """Not thread-safe by design: it lives on one event loop, like the layer that owns it."""

    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self.seconds = seconds
        self._clock = clock
        self._until: float | None = None

    def ready(self) -> bool:
        return self._until is None or self._clock() >= self._until

    def failed(self) -> None:
        self._until = self._clock() + self.seconds

    def succeeded(self) -> None:
        self._until = None


def _paper_key(paper_id: int, text: str) -> str:
    """The paper and a digest of the embedded text: a re-ingested paper with a changed abstract is re-embedded."""
    return f"{paper_id}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def _expansion_of(payload: Any) -> TopicExpansion:
    """A cached expansion, read defensively: the cache is only as trustworthy as whoever wrote it."""
    if not isinstance(payload, dict):
        return TopicExpansion("", [])
    terms = payload.get("terms")
    description = payload.get("description")
    return TopicExpansion(description if isinstance(description, str) else "",
                          [t for t in terms if isinstance(t, str)] if isinstance(terms, list) else [])


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


class SemanticLayer:
    """Expansion and hybrid re-ranking; handed to the matching functions by the composition root."""

    def __init__(
        self,
        db: Database,
        *,
        expander: TopicExpander | None = None,
        embedder: Embedder | None = None,
        similarity_weight: float = SIMILARITY_WEIGHT,
        similarity_floor: float = SIMILARITY_FLOOR,
        cooldown: float = DEFAULT_COOLDOWN,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.expander = expander
        self.embedder = embedder
        self.similarity_weight = similarity_weight
        self.similarity_floor = similarity_floor
        self._locks: dict[str, asyncio.Lock] = {}
        self._expander_cooldown = _Cooldown(cooldown, clock)
        self._embedder_cooldown = _Cooldown(cooldown, clock)

    async def prepare(self, matcher: TopicMatcher, topic: str) -> TopicExpansion | None:
        """Expand `topic` once (cached per topic and model) and teach the matcher its extra terms.

        None when there is nothing to add: no expander, the endpoint failed (asked again after a cool-down),
        or the model's answer had no usable terms (cached, so it is not asked again)."""
        if self.expander is None:
            return None
        key = term_key(topic)
        if not key:
            return None
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            async with self.db.session() as session:
                cached = (await get_many(session, "topic_expansion", self.expander.model, [key])).get(key)
            if cached is None:
                if not self._expander_cooldown.ready():
                    return None
                expansion = await self.expander.expand(topic)
                if expansion is None:
                    self._expander_cooldown.failed()
                    return None
                self._expander_cooldown.succeeded()
                cached = {"description": expansion.description, "terms": expansion.terms}
                async with self.db.session() as session:
                    await put(session, "topic_expansion", self.expander.model, key, cached)
        expansion = _expansion_of(cached)
        if not expansion.terms:
            return None
        matcher.learn(topic, expansion.terms)
        return expansion

    async def _vectors(self, kind: str, items: dict[str, str]) -> dict[str, list[float]]:
        assert self.embedder is not None
        async with self.db.session() as session:
            found = await get_many(session, kind, self.embedder.model, list(items))
        missing = [k for k in items if k not in found]
        if missing and self._embedder_cooldown.ready():
            vectors = await self.embedder.embed([items[k] for k in missing])
            if vectors is None:
                self._embedder_cooldown.failed()
            else:
                self._embedder_cooldown.succeeded()
                async with self.db.session() as session:
                    for k, vector in zip(missing, vectors, strict=True):
                        await put(session, kind, self.embedder.model, k, vector)
                        found[k] = vector
        return {k: v for k, v in found.items() if isinstance(v, list) and v}

    async def rerank(self, topic: str, ranked: list[RankedPaper]) -> list[RankedPaper]:
        """Each paper gets its similarity (shown in `why`); the non-matches are re-ordered by it.

        Every match stays a match with its score, and no paper becomes one: `matched` is the digest's decision,
        and matches rank first in their lexical order, exactly as without embeddings."""
        if self.embedder is None or not ranked:
            return ranked
        key = term_key(topic)
        if not key:
            return ranked
        topic_vec = (await self._vectors("topic_embedding", {key: topic})).get(key)
        if topic_vec is None:
            return ranked
        keys: dict[int, str] = {}
        texts: dict[str, str] = {}
        for r in ranked:
            text = f"{r.paper.title}. {r.paper.abstract}"
            keys[r.paper.id] = _paper_key(r.paper.id, text)
            texts[keys[r.paper.id]] = text
        vectors = await self._vectors("paper_embedding", texts)
        rescored = []
        for item in ranked:
            vector = vectors.get(keys[item.paper.id])
            if vector is None:
                rescored.append(item)
                continue
            similarity = cosine(topic_vec, vector)
            result = item.result
            score = result.score
            if not result.matched:
                score += self.similarity_weight * max(0.0, similarity - self.similarity_floor)
            new = MatchResult(round(score, 4), result.matched, list(result.hits), result.together,
                              result.together_where, similarity=round(similarity, 3))
            rescored.append(RankedPaper(item.paper, new))
        rescored.sort(key=rank_key)
        return rescored
