"""Offline answers to questions about one paper ("@paperboy what dataset?") as a thread reply shows them.

Each test is a kind of mistake the answerer made on the answers dev set (tests/answers/), written with abstracts
of its own so it holds for any paper: questions asked in chat words the abstract says differently, a question
of a kind the abstract never speaks of answered with a sentence that merely shares the paper's topic, and the
scene-setting sentence quoted before the paper's own.
"""

from __future__ import annotations

import time

import pytest

from bot.summaries.extractive_summarizer import ExtractiveSummarizer
from bot.summaries.kinds import NOT_IN_ABSTRACT, PaperText, SummaryKind
from bot.summaries.output_cleaner import clean_output

writer = ExtractiveSummarizer()

REASONER = PaperText(
    1,
    "ThinkLess: Shorter Reasoning for Large Language Models",
    "Large language models have shown remarkable reasoning abilities on many tasks. "
    "However, their long reasoning traces make inference costly and slow. "
    "We propose ThinkLess, a training-free decoding method that stops reasoning once the answer is stable. "
    "We apply ThinkLess to Qwen2.5-7B and Llama-3.1-70B on a single node of 8 H100 GPUs. "
    "On GSM8K and MATH500, ThinkLess cuts generated tokens by 45% compared with standard chain-of-thought "
    "decoding, at equal accuracy. "
    "Existing datasets of reasoning traces are small and rarely verified.",
)


def answer(paper: PaperText, question: str) -> str:
    return clean_output(writer.answer(paper, question), SummaryKind.ANSWER).text


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("how big is the model?", "Qwen2.5-7B and Llama-3.1-70B"),
        ("what hardware did they use?", "8 H100 GPUs"),
        ("which baselines do they compare against?", "compared with standard chain-of-thought"),
        ("does it need training?", "training-free"),
        ("which benchmarks?", "On GSM8K and MATH500"),
    ],
)
def test_questions_in_chat_words_are_answered_by_the_sentence_that_says_it_in_the_abstracts_words(
    question: str, expected: str
) -> None:
    """Chat asks "how big is the model?", abstracts say "Qwen2.5-7B"; "what hardware?", "8 H100 GPUs"; "which
    baselines?", "compared with…": before, these got "The abstract does not say." or a sentence sharing only
    the word "models"."""
    first = answer(REASONER, question).split(". ")[0]
    assert expected in first, (question, answer(REASONER, question))


@pytest.mark.parametrize(
    "question",
    [
        "is the code available?",
        "is the code public?",
        "which reward model do they use?",
        "how big is the model?",
        "why?",
    ],
)
def test_a_question_the_abstract_never_speaks_to_is_told_so_not_given_a_sentence_on_the_same_topic(
    question: str,
) -> None:
    """Before, "is the code public?" was answered with any sentence that had "available" or "public" in it ("the
    available context", "public benchmarks"), and "which reward model?" or "how big is the model?" with any
    sentence about models."""
    paper = PaperText(
        2,
        "Context Refining for In-Context Classification",
        "We propose CIRCLE, a method that labels in-context examples with the available context itself. "
        "Large models struggle whenever the context is imperfect. "
        "On twelve public benchmarks, CIRCLE surpasses contrastive vision-language models by 4 points.",
    )
    assert answer(paper, question) == NOT_IN_ABSTRACT


def test_the_papers_own_sentence_answers_before_one_about_earlier_work() -> None:
    """Before, "what dataset?" was answered with "Existing datasets of reasoning traces are small…", the scene-setting
    or prior-work sentence, ahead of (or instead of) the one naming the paper's data."""
    reply = answer(REASONER, "what dataset do they use?")
    assert reply.startswith("On GSM8K and MATH500"), reply
    assert "Existing datasets" not in reply


@pytest.mark.parametrize("abstract", ["1" * 20_000, "a" * 20_000, "Qwen" * 5_000, "on A" + "A" * 20_000])
def test_a_hostile_abstract_is_answered_offline_in_a_moment(abstract: str) -> None:
    """An abstract of one long run ("1111…") made the patterns that recognise figures and model names backtrack:
    a single question about such a paper held the bot's event loop for minutes."""
    paper = PaperText(3, "Title", abstract)
    started = time.monotonic()
    for question in ("how big is the model?", "how much faster is it?", "which models do they test?", "which data?"):
        answer(paper, question)
    assert time.monotonic() - started < 10.0  # linear: well under a second; it was minutes


def test_the_papers_own_part_starts_at_its_first_we_whatever_the_verb() -> None:
    """Only "we propose / introduce / show…" marked where the paper's own part begins, so after "In this work, we
    give…" the lead-up still answered first: "what settings does it cover?" got the sentence on what earlier work
    lacks, because it came first and also said "settings"."""
    paper = PaperText(
        4,
        "Realizable Learning Is Enough",
        "From classical settings like PAC learning to robust learning, we lack a theory that covers these settings. "
        "In this work, we give a three-line reduction that covers settings such as partial, fair and private learning.",
    )
    assert answer(paper, "what settings does it cover?").startswith("We give a three-line reduction"), answer(
        paper, "what settings does it cover?"
    )


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("how do they handle long inputs?", "We split long inputs into chunks"),
        ("why is the attention window small?", "Chunking keeps every attention window small"),
    ],
)
def test_a_how_or_why_question_is_answered_even_when_the_abstract_words_it_without_because(
    question: str, expected: str
) -> None:
    """ "Why…?" and "how do they handle…?" were answered only by a sentence saying "because", "due to",
    "address" or "mitigate": an abstract that explains in its own words got "The abstract does not say."."""
    paper = PaperText(
        5,
        "ChunkFormer",
        "We split long inputs into chunks and summarise each chunk with a small encoder. "
        "Chunking keeps every attention window small, so memory grows linearly with length. "
        "ChunkFormer matches full attention on three long-document benchmarks.",
    )
    assert answer(paper, question).startswith(expected), answer(paper, question)
