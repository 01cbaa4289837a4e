"""The optional semantic layer: LLM topic expansion and embedding similarity, on top of lexical matching.

Both are strictly additive. With no endpoint configured nothing here runs and matching is the offline path;
when an endpoint is slow or down, each call fails fast to "no extra signal" and the lexical result stands.
Everything an endpoint returns is cached in the database, so a topic is expanded once and each paper is
embedded once per model, across restarts and processes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.topics.glossary import term_key
from bot.topics.matcher import MatchResult
from bot.topics.topic_service import RankedPaper, TopicMatcher, rank_key
from storage.database import Database
from storage.semantic_cache_store import get_many, put

log = logging.getLogger(__name__)

MAX_EXPANSION_TERMS = 12
_TERM_RE = re.compile(r"^[\w][\w\s\-+/.'’()]{1,58}[\w)+]$", re.UNICODE)
# Hybrid weights: cosine similarity above the floor adds to the lexical score; at or above the threshold a
# paper counts as a match even without the words (that is the point of embeddings).
SIMILARITY_FLOOR = 0.25
SIMILARITY_WEIGHT = 6.0
DEFAULT_MATCH_SIMILARITY = 0.55

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
    model: str

    async def expand(self, topic: str) -> TopicExpansion | None: ...


class Embedder(Protocol):
    model: str

    async def embed(self, texts: Sequence[str]) -> list[list[float]] | None: ...


def parse_expansion(raw: str, topic: str) -> TopicExpansion | None:
    """Untrusted model output to a short, clean list of phrases; anything odd is dropped, not repaired."""
    text = raw.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    description = data.get("description")
    terms = data.get("related_terms")
    if not isinstance(terms, list):
        return None
    own = term_key(topic)
    clean: dict[str, None] = {}
    for term in terms:
        if not isinstance(term, str):
            continue
        phrase = " ".join(term.split())
        if _TERM_RE.match(phrase) and "http" not in phrase.lower() and term_key(phrase) not in ("", own):
            clean[phrase] = None
    summary = " ".join(description.split())[:300] if isinstance(description, str) else ""
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
        except Exception as exc:
            log.warning("topic expansion failed for %r: %s", topic[:100], type(exc).__name__)
            return None
        return parse_expansion(content, topic)


class OpenAIEmbedder:
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
                response = await asyncio.wait_for(
                    self.client.embeddings.create(model=self.model, input=chunk), self.timeout)
                vectors.extend([float(x) for x in item.embedding] for item in response.data)
        except Exception as exc:
            log.warning("embedding request failed: %s", type(exc).__name__)
            return None
        return vectors if len(vectors) == len(texts) else None


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
        match_similarity: float = DEFAULT_MATCH_SIMILARITY,
    ) -> None:
        self.db = db
        self.expander = expander
        self.embedder = embedder
        self.match_similarity = match_similarity
        self._locks: dict[str, asyncio.Lock] = {}

    async def prepare(self, matcher: TopicMatcher, topic: str) -> TopicExpansion | None:
        """Expand `topic` once (cached per topic and model) and teach the matcher its extra terms."""
        if self.expander is None:
            return None
        key = term_key(topic)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            async with self.db.session() as session:
                cached = (await get_many(session, "topic_expansion", self.expander.model, [key])).get(key)
            if cached is None:
                expansion = await self.expander.expand(topic)
                if expansion is None:
                    return None
                cached = {"description": expansion.description, "terms": expansion.terms}
                async with self.db.session() as session:
                    await put(session, "topic_expansion", self.expander.model, key, cached)
        expansion = TopicExpansion(str(cached.get("description", "")), [str(t) for t in cached.get("terms", [])])
        matcher.learn(topic, expansion.terms)
        return expansion

    async def _vectors(self, kind: str, items: dict[str, str]) -> dict[str, list[float]]:
        assert self.embedder is not None
        async with self.db.session() as session:
            found = await get_many(session, kind, self.embedder.model, list(items))
        missing = [k for k in items if k not in found]
        if missing:
            vectors = await self.embedder.embed([items[k] for k in missing])
            if vectors is not None:
                async with self.db.session() as session:
                    for k, vector in zip(missing, vectors, strict=True):
                        await put(session, kind, self.embedder.model, k, vector)
                        found[k] = vector
        return found

    async def rerank(self, topic: str, ranked: list[RankedPaper]) -> list[RankedPaper]:
        """Hybrid: lexical score plus weighted cosine similarity; a close enough paper matches without words."""
        if self.embedder is None or not ranked:
            return ranked
        topic_vec = (await self._vectors("topic_embedding", {term_key(topic): topic})).get(term_key(topic))
        if topic_vec is None:
            return ranked
        texts = {str(r.paper.id): f"{r.paper.title}. {r.paper.abstract}" for r in ranked}
        vectors = await self._vectors("paper_embedding", texts)
        rescored = []
        for item in ranked:
            vector = vectors.get(str(item.paper.id))
            if vector is None:
                rescored.append(item)
                continue
            similarity = cosine(topic_vec, vector)
            result = item.result
            bonus = SIMILARITY_WEIGHT * max(0.0, similarity - SIMILARITY_FLOOR)
            why_hits = list(result.hits)
            matched = result.matched or similarity >= self.match_similarity
            new = MatchResult(round(result.score + bonus, 4), matched, why_hits, result.together,
                              result.together_where, similarity=round(similarity, 3))
            rescored.append(RankedPaper(item.paper, new))
        rescored.sort(key=rank_key)
        return rescored
