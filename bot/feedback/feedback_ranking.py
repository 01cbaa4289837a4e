"""Rankings as a scope taught them: the matcher's results adjusted by that scope's learned models.

Digests match a day's papers for thousands of (channel, topic) pairs. Without models they share one result per
topic (`match_many`); a channel with a model for a topic needs the topic's near misses too (a learned bar may
let one in), which the day's index scores once per topic along with the matches, and each paper's vector is
built once per run. Per (channel, topic) only the bar is checked and, for the papers that pass, one dot product.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.feedback.learned_model import LearnedModel, PaperVector, paper_terms, paper_vector
from bot.feedback.paper_block import PaperBlock, PaperRow, paper_row
from bot.feedback.vocabulary import Vocabulary
from bot.topics.topic_service import RankedPaper, TopicMatcher, match_many, rank_key
from storage.models import Paper


class LearnedRanking:
    """Per run (or per command): caches paper vectors over one set of papers."""

    def __init__(self, matcher: TopicMatcher, vocabulary: Vocabulary | None = None) -> None:
        """`vocabulary`: the one the process's models number their words in (`ModelCache.vocabulary`); with it, a
        digest run scores each topic's papers for all of its models as one matrix (`PaperBlock`)."""
        self.matcher = matcher
        self.vocabulary = vocabulary
        self._vectors: dict[int, PaperVector] = {}
        self._blocks: dict[int, tuple[Sequence[RankedPaper], PaperBlock]] = {}  # by the shared list's id
        self._rows: dict[int, PaperRow] = {}

    def vector(self, paper: Paper) -> PaperVector:
        found = self._vectors.get(paper.id)  # one ranking covers one read of the papers: ids suffice
        if found is None:
            found = self._vectors[paper.id] = paper_vector(paper_terms(self.matcher.analyze(paper)))
        return found

    def adjust(self, model: LearnedModel | None, ranked: Sequence[RankedPaper], *,
               matched_only: bool = False, ordered: bool = True,
               opinions: Sequence[float] | None = None) -> list[RankedPaper]:
        """A ranking as the scope taught it: scores and decisions adjusted, re-sorted (unless not `ordered`: the
        caller sorts anyway). No model: unchanged. `opinions`: the model's of each paper, when worked out already
        (`block`)."""
        if model is None or not model.judgements:
            return [item for item in ranked if item.matched or not matched_only]
        adjusted = []
        decide, adjust, vector = model.decide, model.adjust, self.vector  # once: this loop runs per channel
        for n, item in enumerate(ranked):
            result = item.result
            matched = decide(result)
            if matched_only and not matched:
                continue  # the dot product only for what the scope will see
            if opinions is None:
                adjusted.append(RankedPaper(item.paper, adjust(result, vector(item.paper), matched)))
            else:
                adjusted.append(RankedPaper(item.paper, adjust(result, None, matched, opinion=opinions[n])))
        if ordered:
            adjusted.sort(key=rank_key)
        return adjusted

    def block(self, ranked: Sequence[RankedPaper]) -> PaperBlock:
        """A list shared by every channel of a topic in this run, as one matrix (built once per run and list)."""
        found = self._blocks.get(id(ranked))
        if found is None or found[0] is not ranked:
            vocabulary = self.vocabulary or Vocabulary()
            rows = []
            for item in ranked:
                row = self._rows.get(item.paper.id)
                if row is None:
                    row = self._rows[item.paper.id] = paper_row(self.vector(item.paper), vocabulary)
                rows.append(row)
            found = self._blocks[id(ranked)] = (ranked, PaperBlock(rows, vocabulary))
        return found[1]

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
                opinions = self.block(found).opinions(models[topic]) if self.vocabulary is not None else None
                results[topic] = self.adjust(models[topic], found, matched_only=True, ordered=False,
                                             opinions=opinions)
        return results
