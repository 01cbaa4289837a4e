"""How well the offline answerer answers chat questions about a paper, on the hand-labelled dev set.

The answer a reader gets is what is measured: the extractive answer after `clean_output`, as the thread reply
shows it. Each sentence of the reply is traced back to the abstract sentence (or the title) it was cut from, and
compared with the labels of tests/answers/devset.json. Used by tests/test_answers_devset.py and runnable alone:
python -m tests.answers.answer_eval [--detail] (detail only for the tuning part: the check part is never inspected
question by question, so it stays a fair measure of questions nobody tuned for).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bot.summaries.extractive_summarizer import ExtractiveSummarizer, readable
from bot.summaries.kinds import NOT_IN_ABSTRACT, PaperText, SummaryKind
from bot.summaries.output_cleaner import clean_output
from bot.summaries.sentences import split_sentences

DEVSET = Path(__file__).parent / "devset.json"
PARTS = ("tuning", "check")
_WORD_RE = re.compile(r"\w+")
# A reply sentence is taken for the abstract sentence that holds this share of its words (openers are cut and long
# sentences trimmed on the way, so a quote is rarely the sentence verbatim).
_TRACE_MIN = 0.6


@dataclass
class Verdict:
    question: str
    reply: str
    answerable: bool
    correct: bool  # quotes a sentence labelled as answering it
    first_correct: bool  # its first quoted sentence answers it
    unrelated: bool  # quotes a sentence neither answering nor on the question's subject
    declined: bool  # says the abstract does not say


@dataclass
class Scores:
    verdicts: list[Verdict] = field(default_factory=list)

    def _share(self, picked: list[Verdict], test: str) -> float:
        return sum(getattr(v, test) for v in picked) / len(picked) if picked else 0.0

    @property
    def answerable(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.answerable]

    @property
    def unanswerable(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.answerable]

    @property
    def answered(self) -> float:
        """Of the questions the abstract answers: the share whose reply quotes a sentence that answers."""
        return self._share(self.answerable, "correct")

    @property
    def top1(self) -> float:
        return self._share(self.answerable, "first_correct")

    @property
    def missed(self) -> float:
        """Of the questions the abstract answers: the share told "The abstract does not say."."""
        return self._share(self.answerable, "declined")

    @property
    def declined_right(self) -> float:
        """Of the questions the abstract does not answer: the share told so."""
        return self._share(self.unanswerable, "declined")

    @property
    def no_answer_clean(self) -> float:
        """Of the questions the abstract does not answer: the share not answered with an unrelated sentence."""
        return 1.0 - self._share(self.unanswerable, "unrelated")

    @property
    def unrelated(self) -> float:
        """Of all questions: the share whose reply quotes an unrelated sentence."""
        return self._share(self.verdicts, "unrelated")


def load() -> dict:
    return json.loads(DEVSET.read_text())


def papers(data: dict, part: str) -> list[dict]:
    return [p for p in data["papers"] if p["part"] == part]


def _words(text: str) -> set[str]:
    return set(_WORD_RE.findall(text.lower()))


def trace(reply: str, sources: list[str]) -> list[int | None]:
    """For each sentence of the reply, the index of the source sentence it was quoted from (None: none is)."""
    traced: list[int | None] = []
    for quoted in split_sentences(reply):
        words = _words(quoted.rstrip("…"))
        if not words:
            continue
        best = max(
            range(len(sources)), key=lambda i: (len(words & _words(sources[i])), -len(_words(sources[i]) - words))
        )
        traced.append(best if len(words & _words(sources[best])) >= _TRACE_MIN * len(words) else None)
    return traced


def _is(source: str, labelled: list[str]) -> bool:
    return any(label in source or source in label for label in labelled)


def judge(paper: dict, question: dict, reply: str) -> Verdict:
    text = readable(PaperText(0, paper["title"], paper["abstract"]))
    sources = [text.title, *split_sentences(text.abstract)]
    declined = reply.strip() == NOT_IN_ABSTRACT
    traced = [] if declined else trace(reply, sources)
    good = [i is not None and _is(sources[i], question["answer"]) for i in traced]
    on_subject = [
        i is not None and (_is(sources[i], question["answer"]) or _is(sources[i], question["related"])) for i in traced
    ]
    return Verdict(
        question["question"],
        reply,
        bool(question["answer"]),
        any(good),
        bool(good) and good[0],
        not all(on_subject),
        declined,
    )


def offline_reply(paper: dict, question: str, writer: ExtractiveSummarizer | None = None) -> str:
    """What a thread reply shows when no LLM answers: the extractive answer, cleaned like every output."""
    writer = writer or ExtractiveSummarizer()
    text = PaperText(0, paper["title"], paper["abstract"], paper.get("arxiv_id"))
    return clean_output(writer.answer(text, question), SummaryKind.ANSWER, arxiv_id=text.arxiv_id).text


def evaluate(chosen: list[dict]) -> Scores:
    writer = ExtractiveSummarizer()
    scores = Scores()
    for paper in chosen:
        for question in paper["questions"]:
            scores.verdicts.append(judge(paper, question, offline_reply(paper, question["question"], writer)))
    return scores


def report(name: str, scores: Scores) -> str:
    return (
        f"{name:7s} answerable {len(scores.answerable):3d}: answered {scores.answered:.3f}  top-1 "
        f"{scores.top1:.3f}  told 'does not say' {scores.missed:.3f} | not answerable "
        f"{len(scores.unanswerable):2d}: told so {scores.declined_right:.3f}  no unrelated quote "
        f"{scores.no_answer_clean:.3f} | unrelated quotes (all) {scores.unrelated:.3f}"
    )


def main(argv: list[str]) -> None:
    data = load()
    results = {name: evaluate(papers(data, name)) for name in PARTS}
    for name, scores in results.items():
        print(report(name, scores))
    if "--detail" in argv:
        print("\nwrong replies, tuning part only (the check part is never inspected question by question):")
        for v in results["tuning"].verdicts:
            if (v.answerable and not v.correct) or v.unrelated:
                kind = ("UNREL" if v.correct else "MISS") if v.answerable else "NOANS"
                print(f"  [{kind}] {v.question}\n      -> {v.reply[:300]}")


if __name__ == "__main__":
    main(sys.argv[1:])
