"""Rankings as a scope taught them: the matcher's results adjusted by that scope's learned models.

Digests match a day's papers for thousands of (channel, topic) pairs. Without models they share one result per
topic (`match_many`); a channel with a model for a topic needs the topic's near misses too (a learned bar may
let one in), which the day's index scores once per topic along with the matches, and each paper's vector is
built once per run. Per (channel, topic) only the bar is checked and, for the papers that pass, one dot product.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.feedback.learned_model import LearnedModel, PaperVector, paper_terms, paper_vector
from bot.topics.topic_service import RankedPaper, TopicMatcher, match_many, rank_key
from storage.models import Paper


class LearnedRanking:
    """Per run (or per command): caches paper vectors over one set of papers."""

    def __init__(self, matcher: TopicMatcher) -> None:
        self.matcher = matcher
        self._vectors: dict[int, PaperVector] = {}

    def vector(self, paper: Paper) -> PaperVector:
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
        """The day's matches and near misses that name the topic: what a learned bar may choose from (scored
        once per topic, shared with the plain lists)."""
        return self.matcher.day_index(papers).naming(self.matcher.compile(topic))

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
