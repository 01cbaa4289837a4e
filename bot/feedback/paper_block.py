"""One topic's candidate papers of a run as a matrix, so each model's opinion of all of them is one product.

A digest run asks every channel's model of a topic for its opinion of the same few papers (the topic's matches
and near misses of the day): with a model on every subscription, about a hundred thousand sparse dot products,
most of what the models added to a run's time in Python (bench/digests_bench.py --models), and slow for a reason
beyond the arithmetic: every look-up of a model's word reads that word's string, scattered in memory. Here words
are numbers (a `Vocabulary` the process keeps with its models, each model's words numbered once when it is
parsed), the papers are laid out once per run over the numbers of their words, and a model's opinion of all of
them is a few numpy calls. The figures are those of `LearnedModel.opinion` but for the last bits (numpy sums the
same products in another order), which the adjusted scores, rounded to four decimals, do not show: a digest ranks
as the same channel's `/papers today` does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bot.feedback.learned_model import LearnedModel, PaperVector
from bot.feedback.vocabulary import Vocabulary

PaperRow = tuple[np.ndarray, np.ndarray]  # a paper's words: (their numbers, their weights)


def paper_row(vector: PaperVector, vocabulary: Vocabulary) -> PaperRow:
    """Once per paper and run (a paper is a candidate of several topics). Every word is numbered, also those no
    model has yet: a model numbered later in the run (not parsed ahead) still finds them."""
    return vocabulary.number(vector), np.fromiter(vector.values(), dtype=np.float64, count=len(vector))


class PaperBlock:
    """Built once per run and list of papers (their rows in the list's order); read-only afterwards."""

    def __init__(self, rows: Sequence[PaperRow], vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        numbers = np.unique(np.concatenate([row for row, _ in rows])) if rows else np.zeros(0, dtype=np.intp)
        self._numbers = np.append(numbers, -1)  # what a search past the last number finds: never a word
        self._absent = len(numbers)  # the matrix's last column, all zeros: a model word no paper here has
        self._matrix = np.zeros((len(rows), len(numbers) + 1))
        for index, (row, values) in enumerate(rows):
            if len(row):
                self._matrix[index, np.searchsorted(numbers, row)] = values

    def opinions(self, model: LearnedModel) -> list[float]:
        """The model's opinion of each paper, in the order the block was built."""
        papers = len(self._matrix)
        if not model.weights or not papers:
            return [0.0] * papers
        words = model.word_numbers(self.vocabulary)
        where = np.searchsorted(self._numbers[:-1], words)
        columns = np.where(self._numbers[where] == words, where, self._absent)
        products: list[float] = (self._matrix[:, columns] @ model.weight_array()).tolist()
        return products
