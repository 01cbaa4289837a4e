"""Hostile paper text on the way into the store and the matcher: one long word, as large as an abstract may be.
Storing a paper indexes its hyphenated words, and matching reads them; both must stay linear in such text."""

from __future__ import annotations

import pytest

from tests.hostile_text import ABSTRACT_CHARS, finishes, run

INDEX_AND_READ = """
from bot.compounds import joined_compounds
from bot.topics.text_analysis import AnalyzedPaper

def work(abstract):
    paper = AnalyzedPaper.of("Bi-Level Optimisation", abstract)
    return (joined_compounds(f"Bi-Level Optimisation {abstract}")[:2], paper.title.tokens)
"""


@pytest.mark.parametrize("letter", ["a", "1", "é"])
def test_a_paper_of_one_long_word_ending_in_a_hyphen_is_stored_and_matched_without_holding_the_bot(letter: str) -> None:
    """The compound pattern ("[^\\\\W_]+(?:-[^\\\\W_]+)+") tried every start and every length in a word of 50,000
    letters ending in "-": storing or matching one such paper took minutes (10,000 letters: 4 s)."""
    [result] = finishes(INDEX_AND_READ, [run(letter, ABSTRACT_CHARS - 1) + "-"])
    assert result.startswith("(['BiLevel'")
