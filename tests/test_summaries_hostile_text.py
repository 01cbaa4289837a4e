"""Hostile abstracts and LLM replies: one long run of digits, spaces, letters or punctuation, as large as an
abstract may be. Every regular expression the offline summarizer, the LaTeX renderer, the sentence splitter and
the output cleaner run must stay linear in such text: a single paper otherwise held the bot for minutes."""

from __future__ import annotations

import pytest

from tests.hostile_text import ABSTRACT_CHARS, finishes, run

# Each unit is a shape some pattern of bot/summaries/ backtracked on (found by running every pattern there over
# runs of every printable character and pairs of them), or what such a pattern looks for.
UNITS = ["1", "1 %", "1 x", "a", "ab.", "qwen", " ", "\xa0", "(e.g.", "(a et al", "[1,", "$a", "\\left", "a-"]

SUMMARIZE = """
from bot.summaries.extractive_summarizer import ExtractiveSummarizer
from bot.summaries.kinds import PaperText, SummaryKind, SummaryRequest
from bot.summaries.output_cleaner import clean_output

QUESTIONS = ("how big is the model?", "how much faster is it?", "which models do they test?", "which data?",
             "why does it work?", "what baselines?", "is the code public?", "what's wrong with grid search?")

def work(abstract):
    paper = PaperText(1, "Title", abstract, "2401.00001")
    summarizer = ExtractiveSummarizer()
    replies = [clean_output(summarizer.write(SummaryRequest(paper, kind)), kind).text
               for kind in (SummaryKind.TLDR, SummaryKind.SUMMARY)]
    replies += [clean_output(summarizer.answer(paper, question), SummaryKind.ANSWER).text for question in QUESTIONS]
    return len(replies)
"""

CLEAN = """
from bot.summaries.kinds import SummaryKind
from bot.summaries.output_cleaner import clean_output
from bot.summaries.prompts import parse_reply

def work(reply):
    return [(clean_output(reply, kind).text[:10], parse_reply(reply, kind)) for kind in SummaryKind]
"""


@pytest.mark.parametrize("unit", UNITS)
def test_a_hostile_abstract_is_summarised_and_answered_offline_without_holding_the_bot(unit: str) -> None:
    """A TL;DR of an abstract of 20,000 "1"s took 17.5 s ("\\d+(\\.\\d+)?\\s?%" tried every digit as a start
    and every length from it), of 50,000 over a minute. The answerer's model-name pattern was quadratic in a long
    word ("aaaa…"); answers got by only because words over 200 characters were skipped, TL;DRs not at all."""
    assert finishes(SUMMARIZE, [run(unit, ABSTRACT_CHARS)]) == ["10"]


@pytest.mark.parametrize("unit", ["\t", " ", " .", "1", "a", "$a", "[", '{"a":'])
def test_a_hostile_llm_reply_is_cleaned_without_holding_the_bot(unit: str) -> None:
    """An LLM reply that is one long run of tabs or spaces made the cleaner's pattern for Markdown table rules
    ("| --- |") try every way of splitting the run between its two "[ \\t]*": minutes for 50,000. A reply of
    nested brackets ("[[[[…", JSON deeper than the parser goes) raised RecursionError, which no caller expected."""
    assert len(finishes(CLEAN, [run(unit, ABSTRACT_CHARS)])) == 1
