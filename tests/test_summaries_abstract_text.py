"""Real abstracts as sources deliver them: LaTeX written by physicists and mathematicians, and sentences glued
together without a space. The offline summaries must read as prose, and the cleaner must never eat words."""

from __future__ import annotations

import re
from datetime import date
from importlib import resources

import pytest

from bot.ingestion.formats import parse_listing
from bot.summaries.extractive_summarizer import ExtractiveSummarizer
from bot.summaries.kinds import PaperText, SummaryKind
from bot.summaries.latex import latex_to_text
from bot.summaries.output_cleaner import clean_output
from bot.summaries.sentences import split_sentences
from tests.conftest import FIXTURES

RAW_LATEX = re.compile(r"\\[A-Za-z\"'`^~\[\]()]|\$|[{}]")

# Sentences from real abstracts: the bundled HF pages (bot/samples) and recorded arXiv feeds (tests/fixtures).
REAL = [
    ("We present {\\sc LegendreTron} as a novel and practical method that jointly learns proper canonical losses "
     "and probabilities for multiclass problems.",
     "We present LegendreTron as a novel and practical method that jointly learns proper canonical losses and "
     "probabilities for multiclass problems."),
    ("we show that the algorithm can be implemented in a fully {\\it single-loop} manner, i.e., with O(1) samples",
     "we show that the algorithm can be implemented in a fully single-loop manner, i.e., with O(1) samples"),
    ("yields better-than-Monte-Carlo MMD guarantees for non-smooth kernels, like Laplace and Mat\\'ern, that do "
     "not have square-roots.",
     "yields better-than-Monte-Carlo MMD guarantees for non-smooth kernels, like Laplace and Matérn, that do not "
     "have square-roots."),
    ("which we term \\textit{reasoning sparks}.", "which we term reasoning sparks."),
    ("The result is \\emph{emergent brevity for free}: the model learns to solve harder problems",
     "The result is emergent brevity for free: the model learns to solve harder problems"),
    ("It is shown that the luminosities in the range of $10^{31}$ to $10^{32}$ could be achieved.",
     "It is shown that the luminosities in the range of 10^31 to 10^32 could be achieved."),
    ("the uphill proton current peaks near the body temperature $T \\approx 37 ^{\\circ}$C.",
     "the uphill proton current peaks near the body temperature T ≈ 37 ^∘C."),
    ("particularly in the intermediate-temperature range (200-500 {\\deg}C), remain unexplored.",
     "particularly in the intermediate-temperature range (200-500 °C), remain unexplored."),
    ("Our result holds under mild assumptions on $f$, and covers in particular $\\alpha$-masses in any dimension "
     "$N\\geq 2$ for exponents $\\alpha$ above a critical threshold",
     "Our result holds under mild assumptions on f, and covers in particular α-masses in any dimension N≥ 2 for "
     "exponents α above a critical threshold"),
    # The shapes the review found in live feeds.
    ("We propose {\\bf mix-cd}, a sampling scheme for the Schr\\\"odinger bridge.",
     "We propose mix-cd, a sampling scheme for the Schrödinger bridge."),
    ("We prove the bound \\[ 1C_\\tau \\leq \\frac{C}{\\sqrt{n}} \\] for every $\\tau > 0$.",
     "We prove the bound for every τ > 0."),
    # The HF papers page as text: LaTeX without its backslashes and dollars (bot/samples, ../shared/samples).
    ("We design a no-regret algorithm that provides mathcal{O}(T^{2/3}) regret with respect to an optimal "
     "mechanism", "We design a no-regret algorithm that provides 𝒪(T^(2/3)) regret with respect to an optimal "
     "mechanism"),
    ("our algorithm requires mathcal{O}left(ε^{-3.5}right) samples to achieve an ε-FOSP",
     "our algorithm requires 𝒪(ε^(-3.5)) samples to achieve an ε-FOSP"),
    ("an epsilon-stationary point with an iteration complexity of mathcal O(epsilon^{-4}).",
     "an epsilon-stationary point with an iteration complexity of 𝒪(ϵ^(-4))."),
    ("which we show scales as O(d_{eff}log T), where d_{eff} is the effective dimension",
     "which we show scales as O(d_eff log T), where d_eff is the effective dimension"),
    ("achieves an excess risk of mathcal{O}(mathcal{C_Phi/m} + mathcal{C_Psi/n}) for downstream tasks",
     "achieves an excess risk of 𝒪(C_Phi/m + C_Psi/n) for downstream tasks"),
    ("minimizing a general loss function f(x) while enforcing a bound constraint |x|_infty leq 1/lambda.",
     "minimizing a general loss function f(x) while enforcing a bound constraint |x|_∞ ≤ 1/λ."),
]


@pytest.mark.parametrize(("raw", "shown"), REAL)
def test_latex_in_real_abstracts_becomes_prose(raw, shown):
    assert latex_to_text(raw) == shown


def test_prose_that_merely_looks_like_latex_is_left_as_written():
    for text in ("It is 12% faster, costs $5 to $10 per run, and R&D at ~10x scale (item #3).",
                 "Hallucinations need not be mysterious -- they originate simply as errors.",
                 "Such \"hallucinations\" persist even in state-of-the-art systems."):
        assert latex_to_text(text) == text
    # words that are also LaTeX's, where prose uses them: only a formula's spelling is taken for LaTeX
    for text in ("The left (and right) panels show the alpha and delta versions.",
                 "Wright) studies the upright position, from bottom right).",
                 "a hard q^+ and an easy q^- prompt", "the lambda calculus, AWS Lambda and alpha testing"):
        assert latex_to_text(text) == text
    mixed = "With $\\varepsilon$ small, it is 12% faster and costs $5 per run."
    assert latex_to_text(mixed) == "With ε small, it is 12% faster and costs $5 per run."


def real_papers() -> list[PaperText]:
    """Every paper of the recorded feeds and bundled pages, parsed by the real parsers."""
    sources = [*sorted(FIXTURES.glob("arxiv_*.xml")), *sorted(FIXTURES.glob("hf_*.json"))]
    sources = [s for s in sources if "error" not in s.name]
    sources += [resources.files("bot") / "samples" / name for name in sorted(
        item.name for item in (resources.files("bot") / "samples").iterdir() if item.name.endswith(".txt"))]
    papers = []
    for source in sources:
        data = source.read_bytes()
        for parsed in parse_listing(data, where=source.name, today=date(2026, 4, 22)):
            papers.append(PaperText(len(papers) + 1, parsed.title, parsed.abstract, parsed.arxiv_id))
    return papers


def test_offline_summaries_of_real_abstracts_carry_no_raw_latex():
    papers = real_papers()
    with_latex = [p for p in papers if RAW_LATEX.search(p.abstract)]
    assert len(with_latex) >= 5, "the fixtures should hold abstracts written in LaTeX"
    writer = ExtractiveSummarizer()
    for paper in with_latex:
        for kind, text in ((SummaryKind.TLDR, writer.tldr(paper)), (SummaryKind.SUMMARY, writer.summary(paper)),
                           (SummaryKind.ANSWER, writer.answer(paper, "What temperature or dimension or method?"))):
            shown = clean_output(text, kind, arxiv_id=paper.arxiv_id).text
            assert not RAW_LATEX.search(shown), (paper.title, kind, shown)


# arXiv 2504.06122 (Leanabell-Prover), as its abstract is published: no space after "languages."
LEANABELL = (
    "In this work, we investigate the entire posttraining of ATP, aiming to align it with breakthroughs in "
    "reasoning models in natural languages.To begin, we continual train current ATP models with a hybrid dataset, "
    "which consists of numerous statement-proof pairs. For example, we achieve a 59.8% pass rate (pass@32) on "
    "MiniF2F.")


def test_the_cleaner_never_deletes_words_glued_after_a_full_stop():
    for kind in SummaryKind:
        cleaned = clean_output(LEANABELL, kind).text
        assert "natural languages" in cleaned and "To begin, we continual train" in cleaned, cleaned
    assert "59.8% pass rate (pass@32) on MiniF2F." in clean_output(LEANABELL, SummaryKind.ANSWER).text
    # Real glued sentences from the bundled page and a recorded arXiv feed.
    for glued in ("distribution across the entire quantization space.In this paper, we introduce",
                  "large polaron formation enhances proton mobility.These findings unlock new functionality",
                  "We evaluate on 12 languages.It works.", "Gains hold across domains.Com pared to x."):
        assert clean_output(glued, SummaryKind.ANSWER).text.rstrip(".") == glued.rstrip(".")


def test_link_shaped_text_with_a_known_tld_is_still_removed():
    cleaned = clean_output("Code at evil.example/x, bit.ly/abc, EVIL.COM and sub.Evil.com; models.It works.",
                           SummaryKind.ANSWER).text
    assert "evil" not in cleaned.lower() and "bit.ly" not in cleaned
    assert cleaned.endswith("models.It works.")


def test_glued_sentences_are_split_for_the_offline_summarizer():
    assert split_sentences(LEANABELL)[:2] == [
        "In this work, we investigate the entire posttraining of ATP, aiming to align it with breakthroughs in "
        "reasoning models in natural languages.",
        "To begin, we continual train current ATP models with a hybrid dataset, which consists of numerous "
        "statement-proof pairs."]
