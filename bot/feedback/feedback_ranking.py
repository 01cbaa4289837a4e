"""Rankings as a scope taught them: the matcher's results adjusted by that scope's learned models.

Digests match a day's papers for thousands of (channel, topic) pairs. Without models they share one result per
topic (`match_many`); a channel with a model for a topic needs the topic's near misses too (a learned bar may
let one in), so those are computed once per topic here and shared as well, and each paper's vector is built
once per run. Per (channel, topic) only the bar is checked and, for the papers that pass, one dot product.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.feedback.learned_model import LearnedModel, paper_terms, paper_vector
from bot.topics.matcher import match_paper
from bot.topics.topic_service import DayIndex, RankedPaper, TopicMatcher, match_many, rank_key
from storage.models import Paper


class LearnedRanking:
    """Per run (or per command): caches paper vectors and each topic's candidates over one set of papers."""

    def __init__(self, matcher: TopicMatcher) -> None:
        self.matcher = matcher
        self._vectors: dict[int, dict[str, float]] = {}
        self._candidates: dict[tuple[str, int], list[RankedPaper]] = {}
        self._index: tuple[Sequence[Paper], DayIndex] | None = None

    def vector(self, paper: Paper) -> dict[str, float]:
        found = self._vectors.get(paper.id)  # one ranking covers one read of the papers: ids suffice
        if found is None:
            found = self._vectors[paper.id] = paper_vector(paper_terms(self.matcher.analyze(paper)))
        return found

    def adjust(self, model: LearnedModel | None, ranked: Sequence[RankedPaper], *,
               matched_only: bool = False, ordered: bool = True) -> list[RankedPaper]:
        """A ranking as the scope taught it: scores and decisions adjusted, re-sorted (unless not `ordered`: the
        caller sorts anyway). No model: unchanged."""
        if model is None or not model.judgements:
            return [item for item in ranked if item.matched or not matched_only]
        adjusted = []
        decide, adjust, vector = model.decide, model.adjust, self.vector  # once: this loop runs per channel
        for item in ranked:
            result = item.result
            matched = decide(result)
            if matched_only and not matched:
                continue  # the dot product only for what the scope will see
            adjusted.append(RankedPaper(item.paper, adjust(result, vector(item.paper), matched)))
        if ordered:
            adjusted.sort(key=rank_key)
        return adjusted

    def candidates(self, topic: str, papers: Sequence[Paper]) -> list[RankedPaper]:
        """The day's matches and near misses that name the topic: what a learned bar may choose from."""
        query = self.matcher.compile(topic)
        key = (query.topic, id(papers))
        found = self._candidates.get(key)
        if found is None:
            index = self._day_index(papers)
            found = []
            for position in index.candidates(query):
                paper, analyzed = index.analyzed[position]
                result = match_paper(query, analyzed, rank_near_misses=False)
                if result.matched or result.hits or result.together:
                    found.append(RankedPaper(paper, result))
            self._candidates[key] = found
        return found

    def _day_index(self, papers: Sequence[Paper]) -> DayIndex:
        """The matcher's index of these papers, looked up once per list (its own check walks every paper)."""
        if self._index is None or self._index[0] is not papers:
            self._index = (papers, self.matcher.day_index(papers))
        return self._index[1]

    def match_day(self, topics: Sequence[str], papers: Sequence[Paper],
                  models: Mapping[str, LearnedModel]) -> dict[str, list[RankedPaper]]:
        """`match_many` for one scope: the topics it taught through their models, the others plainly. The taught
        topics' lists come unordered: every caller ranks the day's papers across topics itself."""
        # Without a learned bar a model decides what the matcher decides: it reorders the topic's shared matches
        # and needs no near misses.
        barred = {t for t in topics if t in models and models[t].bar is not None}
        plain = [t for t in topics if t not in barred]
        results = match_many(self.matcher, plain, papers) if plain else {}
        for topic in topics:
            if topic in models:
                found = self.candidates(topic, papers) if topic in barred else results[topic]
                # unordered: the digest's rank_for_topics sorts every topic's papers together (sorting here, per
                # channel and topic, read the papers' ORM attributes again and cost most of the models' time)
                results[topic] = self.adjust(models[topic], found, matched_only=True, ordered=False)
        return results
