"""The HF papers page as text, both real layouts, parsed exactly as shown."""

from __future__ import annotations

from datetime import date

import pytest

from bot.errors import ParseError
from bot.ingestion.formats import parse_listing
from bot.ingestion.hf_page_parser import parse_hf_page, resolve_month_day
from tests.conftest import SAMPLES

TODAY = date(2026, 11, 23)
COMPACT = sorted(p for p in SAMPLES.glob("*.txt") if "part" not in p.name)
RICH = SAMPLES / "002_3ab8ed7760048b66.part1.txt"


def raw_lines(path):  # the page's own lines, independent of the parser
    return [" ".join(line.split()) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("path", COMPACT, ids=lambda p: p.name)
def test_compact_page_titles_and_abstracts_exactly_as_on_the_page(path):
    lines = raw_lines(path)
    papers = parse_hf_page(path.read_text(), today=TODAY)
    body = lines[2:]
    body[0] = body[0].removeprefix("Subscribe")
    assert len(papers) == len(body) // 2
    assert [p.title for p in papers] == body[0::2]
    assert [p.abstract for p in papers] == body[1::2]
    assert not any(p.title.startswith("Subscribe") or "trending papers" in p.title for p in papers)


def test_compact_first_title_is_unglued_from_subscribe():
    papers = parse_hf_page(COMPACT[0].read_text(), today=TODAY)
    assert papers[0].title.startswith("CLASSP: a Biologically-Inspired Approach")


def test_rich_page_metadata_as_shown():
    papers = {p.title: p for p in parse_hf_page(RICH.read_text(), today=TODAY)}
    assert len(papers) == 23
    assert not any(t in papers for t in ("Daily Papers", "Apr 20", "new", "Subscribe"))
    rzen = papers["RzenEmbed: Towards Comprehensive Multimodal Retrieval"]
    assert (rzen.author_count, rzen.published_on, rzen.upvotes) == (7, date(2025, 10, 31), None)
    assert rzen.listed_on == date(2026, 4, 20)
    online = papers["Online Information Acquisition: Hiring Multiple Agents"]
    assert (online.published_on, online.upvotes) == (date(2023, 7, 12), 1)
    chicago = papers["A Theoretical Framework for Auxiliary-Loss-Free Load Balancing of Sparse Mixture-of-Experts in "
                     "Large-Scale AI Models"]
    assert chicago.organization == "Uchicago University of Chicago"
    assert chicago.author_count is None
    assert (chicago.published_on, chicago.upvotes) == (date(2025, 12, 3), 2)
    ghosts = papers["Ghosts of Softmax: Complex Singularities That Limit Safe Step Sizes in Cross-Entropy"]
    assert ghosts.published_on == date(2026, 3, 13)  # "Mar 13" in the page's year (page dated Apr 20)
    assert papers["Beyond Variance: Prompt-Efficient RLVR via Rare-Event Amplification and Bidirectional "
                  "Pairing"].published_on == date(2026, 2, 3)


def test_rich_abstracts_are_the_page_lines():
    lines = raw_lines(RICH)
    for paper in parse_hf_page(RICH.read_text(), today=TODAY):
        i = lines.index(paper.title)
        assert lines[i + 1] == paper.abstract


def test_yearless_dates_never_land_in_the_future():
    # Ingested on 2026-03-01: the page date "Apr 20" must be 2025-04-20, and "Mar 13" 2025-03-13.
    papers = parse_hf_page(RICH.read_text(), today=date(2026, 3, 1))
    assert {p.listed_on for p in papers} == {date(2025, 4, 20)}
    assert all(p.published_on is None or p.published_on <= date(2026, 3, 1) for p in papers)
    ghosts = next(p for p in papers if p.title.startswith("Ghosts of Softmax"))
    assert ghosts.published_on == date(2025, 3, 13)


def test_resolve_month_day_handles_leap_days_and_year_boundaries():
    assert resolve_month_day(12, 31, date(2026, 1, 2)) == date(2025, 12, 31)
    assert resolve_month_day(2, 29, date(2026, 11, 23)) == date(2024, 2, 29)
    assert resolve_month_day(11, 23, date(2026, 11, 23)) == date(2026, 11, 23)


def test_rich_entry_without_metadata_and_with_bare_date():
    text = "\n".join([
        "Daily Papers", "byAK and the research community", "Apr 20",
        "A Paper Without Metadata",
        "An abstract that is long enough to be an abstract for the purposes of this parser test.",
        "Another Paper",
        "A second abstract that is long enough to be an abstract for the purposes of this test.",
        "·", "Mar 13 4",
        "Third Paper",
        "The third abstract, long enough to count as an abstract in the rich layout of the page.",
        "  • 1 authors", "·", "Dec 3, 2025",
    ])
    a, b, c = parse_hf_page(text, today=TODAY)
    assert (a.title, a.published_on, a.author_count) == ("A Paper Without Metadata", None, None)
    assert (b.published_on, b.upvotes, b.author_count) == (date(2026, 3, 13), 4, None)
    assert (c.author_count, c.published_on) == (1, date(2025, 12, 3))


def test_truncated_compact_page_says_where():
    text = COMPACT[0].read_text().splitlines()
    truncated = "\n".join(text[:7])  # ends on a title without its abstract
    with pytest.raises(ParseError, match=r"page:7: .*has no abstract"):
        parse_hf_page(truncated, today=TODAY)


@pytest.mark.parametrize("text", [
    "hello world\nthis is not a listing\n",
    "# README\n\nSome project documentation that mentions Daily Papers.\n",
    "Get trending papers in your email inbox!\n",
])
def test_text_that_is_not_a_listing_is_rejected(text):
    with pytest.raises(ParseError, match="not a paper listing"):
        parse_listing(text.encode(), where="notes.txt", today=TODAY)


@pytest.mark.parametrize("separator", ["\x0c", "\u2028", "\u2029", "\x85", "\x1e", "\x0b"])
@pytest.mark.parametrize("path", [COMPACT[0], RICH], ids=lambda p: p.name)
def test_a_separator_inside_an_abstract_is_a_space_not_a_new_line(path, separator):
    """Only a line end ends a line: a form feed or a Unicode line separator inside one abstract used to split it,
    shifting every later title/abstract pair (the whole day failed, or worse, paired titles with wrong text)."""
    expected = parse_listing(path.read_bytes(), where="page", today=TODAY)
    lines = path.read_text().split("\n")
    i = next(i for i, line in enumerate(lines) if line.strip() == expected[1].abstract)
    lines[i] = lines[i].replace(". ", f".{separator}", 1)
    assert lines[i] != expected[1].abstract
    papers = parse_listing("\n".join(lines).encode(), where="page", today=TODAY)
    assert [(p.title, p.abstract) for p in papers] == [(p.title, p.abstract) for p in expected]
    # A fault further down is reported at the line an editor shows.
    t = next(t for t in range(i, len(lines)) if lines[t].strip() == expected[2].title)
    lines.insert(t + 1, "x")  # the next paper's abstract is "x"
    with pytest.raises(ParseError, match=rf"^page:{t + 2}: expected an abstract, found 'x'"):
        parse_listing("\n".join(lines).encode(), where="page", today=TODAY)


def test_a_page_whose_first_paper_mentions_html_is_still_a_page():
    """"<html" in the first 500 characters made a saved page an "HTML page": a paper on generating <html> code
    near the top cost the whole day."""
    lines = COMPACT[0].read_text().split("\n")
    lines[3] = "We turn screenshots into <html> and <css> code. " + lines[3]
    papers = parse_listing("\n".join(lines).encode(), where="page", today=TODAY)
    assert papers[0].abstract.startswith("We turn screenshots into <html> and <css> code.")
    assert len(papers) == len(parse_hf_page(COMPACT[0].read_text(), today=TODAY))
