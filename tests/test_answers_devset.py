"""Offline answers on the hand-labelled answers dev set (tests/answers/devset.json), also through the service.

The dev set is split by paper: the tuning part is what the answerer was improved on, the check part never is.
The floors hold on the check part, because that is the figure readers get on papers and questions nobody tuned
for; the tuning figure is printed beside it. They sit a little under what the answerer reaches (README,
Summaries), so a change that loses answers or starts quoting unrelated sentences fails here.
"""

from __future__ import annotations

from datetime import date

from bot.summaries.extractive_summarizer import readable
from bot.summaries.kinds import PaperText
from bot.summaries.sentences import split_sentences
from bot.summaries.summary_service import SummaryService
from storage.database import Database
from tests.answers.answer_eval import PARTS, evaluate, load, offline_reply, papers, report

# Reached on the check part: answered 0.787, no-answer questions without an unrelated quote 0.895.
MIN_CHECK_ANSWERED = 0.74
MIN_CHECK_NO_ANSWER_CLEAN = 0.84
# Of the questions the abstract does answer, at most this share may be told "The abstract does not say." (0.064).
MAX_CHECK_MISSED = 0.11

DATA = load()


def test_every_label_is_a_sentence_of_its_abstract() -> None:
    """Labels name sentences as the answerer splits them; if splitting changed, the figures would silently
    count right answers as unrelated quotes."""
    for paper in DATA["papers"]:
        text = readable(PaperText(0, paper["title"], paper["abstract"]))
        sentences = split_sentences(text.abstract)
        for question in paper["questions"]:
            for label in question["answer"] + question["related"]:
                assert label in sentences, (paper["title"], question["question"], label)
            assert not set(question["answer"]) & set(question["related"])


def test_check_part_answers_with_a_labelled_sentence_and_never_quotes_unrelated_text_for_no_answer() -> None:
    print()
    scores = {name: evaluate(papers(DATA, name)) for name in PARTS}
    for name, s in scores.items():
        print(report(name, s))
    check = scores["check"]
    assert check.answered >= MIN_CHECK_ANSWERED, report("check", check)
    assert check.missed <= MAX_CHECK_MISSED, report("check", check)
    # A question the abstract does not answer gets "The abstract does not say." or, at worst, a sentence on its
    # subject: an unrelated quote reads as an answer and misleads.
    assert check.no_answer_clean >= MIN_CHECK_NO_ANSWER_CLEAN, report("check", check)


async def test_a_thread_reply_shows_what_was_measured(db: Database) -> None:
    """Without an LLM the service serves the offline answer, cleaned: the same text the figures above judge."""
    service = SummaryService(db, llm=None, today=lambda: date(2026, 4, 22))
    for n, paper in enumerate(papers(DATA, "check")):
        text = PaperText(n + 1, paper["title"], paper["abstract"], paper.get("arxiv_id"))
        for question in paper["questions"]:
            served = await service.answer(text, question["question"])
            assert served.text == offline_reply(paper, question["question"]), question["question"]
            assert served.model is None
