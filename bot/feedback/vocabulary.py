"""Numbers for words: a process's learned models and the papers it scores name their words by number, so scoring
many of them at once (paper_block.py) reads no string."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

# Words are added as models are parsed and papers scored, never removed: past this many (months of papers and
# refits), the process starts a new vocabulary and its models number their words again when next used.
MAX_WORDS = 500_000


class Vocabulary:
    """Word -> number for the words of the models and papers one process scores (kept with its model cache)."""

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._numbers)

    def number(self, words: Iterable[str]) -> np.ndarray:
        """Each word's number, adding the new ones."""
        numbers = self._numbers
        return np.array([numbers.setdefault(word, len(numbers)) for word in words], dtype=np.intp)
