"""One record per paper, on SQLite and PostgreSQL, whatever the source, version or order of ingestion."""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import pytest

from bot.ingestion.formats import parse_listing
from bot.papers import ParsedPaper, normalize_title
from storage.paper_store import count_papers, find_paper, iter_papers, paper_to_record, store_papers
from tests.conftest import FIXTURES, SAMPLES

TODAY = date(2026, 11, 23)


def load(path):
    return parse_listing(path.read_bytes(), where=path.name, today=TODAY)


async def ingest(db, papers):
    async with db.session() as s:
        return await store_papers(s, papers)


async def export(db):
    async with db.session() as s:
        return [paper_to_record(p) async for p in iter_papers(s)]


def distinct_titles_in_samples():
    """Counted from the raw pages without our parser: every non-header line at an even offset is a title."""
    titles = set()
    for path in SAMPLES.glob("*.txt"):
        lines = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
        if "Daily Papers" in lines[:10]:
            start = lines.index("Apr 20") + 1
            i = start
            while i < len(lines):
                titles.add(normalize_title(lines[i]))
                i += 2
                if i < len(lines) and (lines[i].startswith("•") or (i + 1 < len(lines) and lines[i + 1] == "·")):
                    i += 1
                if i < len(lines) and lines[i] == "·":
                    i += 2
        else:
            body = lines[2:]
            body[0] = body[0].removeprefix("Subscribe")
            titles.update(normalize_title(t) for t in body[0::2])
    return titles


async def test_samples_store_one_record_per_distinct_paper_and_reingest_changes_nothing(db):
    pages = sorted(SAMPLES.glob("*.txt"))
    for page in pages:
        await ingest(db, load(page))
    async with db.session() as s:
        assert await count_papers(s) == len(distinct_titles_in_samples())
    before = await export(db)
    # Every title and abstract exactly as on some page.
    page_lines = {" ".join(ln.split()) for page in pages for ln in page.read_text().splitlines()}
    page_lines |= {ln.removeprefix("Subscribe") for ln in page_lines}
    assert all(r["title"] in page_lines and r["abstract"] in page_lines for r in before)
    for page in reversed(pages):
        counts = await ingest(db, load(page))
        assert (counts.new, counts.updated) == (0, 0)
    assert await export(db) == before


async def test_shared_paper_keeps_the_rich_pages_metadata(db):
    for page in sorted(SAMPLES.glob("*.txt")):
        await ingest(db, load(page))
    async with db.session() as s:
        paper = await find_paper(s, "Train Long, Think Short: Curriculum Learning for Efficient Reasoning")
        assert paper is not None
        assert (paper.author_count, paper.published_on, paper.upvotes) == (6, date(2025, 8, 12), 2)
        assert paper.sources == ["hf-page"]


async def test_fixtures_ingest_with_bare_ids(db):
    for name in ("hf_daily_papers_sample_2024-10.json", "hf_daily_papers_item_2026-03.json",
                 "hf_paper_objects_2025-09.json", "arxiv_query_sample.xml", "arxiv_query_sample_legacy_2025-08.xml",
                 "arxiv_query_idlist_partial.xml", "arxiv_rss_item_from_spec.xml"):
        await ingest(db, load(FIXTURES / name))
    records = await export(db)
    ids = [r["arxiv_id"] for r in records]
    assert len(ids) == len(set(ids)) and all(ids)
    assert all("v" not in i.split("/")[-1] for i in ids)
    assert "nucl-ex/0408020" in ids and "2410.17243" in ids
    # The two arXiv backends share papers: still one record each.
    assert len(records) == 3 + 1 + 1 + len({p.arxiv_id for n in ("arxiv_query_sample.xml",
               "arxiv_query_sample_legacy_2025-08.xml") for p in load(FIXTURES / n)}) + 1 + 1


def hf_sighting(**kw) -> ParsedPaper:
    base = dict(title="Breaking the Memory Barrier: Near Infinite Batch Size Scaling for Contrastive Loss",
                abstract="Contrastive loss is a powerful approach.", source="hf-api", arxiv_id="2410.17243",
                authors=["Zesen Cheng", "Hang Zhang"], upvotes=64, listed_on=date(2024, 10, 25))
    base.update(kw)
    return ParsedPaper(**base)


async def test_same_paper_from_hf_and_arxiv_is_one_record_and_newer_version_wins(db):
    await ingest(db, [hf_sighting()])
    arxiv_v2 = ParsedPaper(
        title="Breaking the Memory Barrier: Near Infinite Batch Size\n  Scaling for Contrastive Loss",
        abstract="Contrastive loss (revised abstract).", source="arxiv-api", arxiv_id="2410.17243", version=2,
        authors=["Zesen Cheng", "Hang Zhang", "Kehan Li"], published_on=date(2024, 10, 22))
    counts = await ingest(db, [arxiv_v2])
    assert (counts.new, counts.updated) == (0, 1)
    (record,) = await export(db)
    assert record["sources"] == ["arxiv-api", "hf-api"]
    assert record["version"] == 2 and record["abstract"] == "Contrastive loss (revised abstract)."
    assert record["author_count"] == 3 and record["upvotes"] == 64
    assert record["url"] == "https://arxiv.org/abs/2410.17243"
    # An older version seen later changes nothing; more upvotes are kept.
    counts = await ingest(db, [hf_sighting(version=1, abstract="old text", upvotes=70)])
    (record,) = await export(db)
    assert record["abstract"] == "Contrastive loss (revised abstract)." and record["upvotes"] == 70


async def test_title_only_record_learns_its_id(db):
    await ingest(db, [ParsedPaper(title="Why Language Models Hallucinate!", abstract="Like students...",
                                  source="hf-page")])
    await ingest(db, [ParsedPaper(title="why language models  hallucinate", abstract="Like students...",
                                  source="hf-api", arxiv_id="2509.04664")])
    (record,) = await export(db)
    assert record["arxiv_id"] == "2509.04664" and record["sources"] == ["hf-api", "hf-page"]
    await ingest(db, [ParsedPaper(title="Why Language Models Hallucinate", abstract="x", source="hf-page")])
    assert len(await export(db)) == 1


async def test_two_different_papers_with_one_title_stay_apart(db):
    await ingest(db, [hf_sighting(arxiv_id="2401.00001"), hf_sighting(arxiv_id="2401.00002")])
    assert len(await export(db)) == 2


async def test_find_paper_by_id_url_and_title(db):
    await ingest(db, [hf_sighting()])
    async with db.session() as s:
        for ref in ("2410.17243", "2410.17243v3", "https://arxiv.org/abs/2410.17243v1",
                    "breaking the memory barrier near infinite batch size scaling for contrastive loss"):
            paper = await find_paper(s, ref)
            assert paper is not None and paper.arxiv_id == "2410.17243", ref
        assert await find_paper(s, "2499.99999") is None
        assert await find_paper(s, "'; DROP TABLE papers; --") is None
        assert await count_papers(s) == 1


async def test_numeric_ids_beyond_32_bits_name_no_paper_on_both_backends(db):
    await ingest(db, [hf_sighting()])
    async with db.session() as s:
        assert (await find_paper(s, "#1")) is not None
        for ref in ("#0", "#2147483648", "#99999999999", "#99999999999999999", "#" + "9" * 40):
            assert await find_paper(s, ref) is None, ref


def _unique_words(chars: int, seed: str) -> str:
    """Distinct words (the worst case for a tsvector's size) filling `chars` characters."""
    words, n = [], 0
    while sum(map(len, words)) + len(words) < chars - 12:
        words.append(f"{seed}{n:x}")
        n += 1
    return " ".join(words)


async def test_a_paper_at_every_limit_is_stored_on_both_backends(db):
    from bot.ingestion import paper_checks as limits

    names = _unique_words(limits.MAX_AUTHORS_TOTAL_CHARS - 10_000, "naé").split(" ")
    authors = [" ".join(names[i:i + 20])[:limits.MAX_AUTHOR_CHARS] for i in range(0, len(names), 20)]
    paper = limits.checked_paper(ParsedPaper(
        title=_unique_words(limits.MAX_TITLE_CHARS, "tï"), abstract=_unique_words(limits.MAX_ABSTRACT_CHARS, "ab"),
        source="hf-api", arxiv_id="a" * 56 + "/0101001", authors=authors, upvotes=limits.MAX_INT,
        extra={"ai_summary": "s" * limits.MAX_META_CHARS, "keywords": ["k"] * limits.MAX_META_ITEMS},
    ))
    emoji = limits.checked_paper(ParsedPaper(title="🙂" * 500, abstract="An abstract.", source="hf-page"))
    await ingest(db, [paper, emoji])
    records = {r["title"][:2]: r for r in await export(db)}
    assert records["tï"]["upvotes"] == limits.MAX_INT and len(records["tï"]["abstract"]) > 49_000
    assert records["🙂🙂"]["title"] == "🙂" * 500


async def test_metadata_no_database_can_hold_is_dropped_not_the_paper(db):
    from bot.ingestion.paper_checks import checked_paper

    paper = checked_paper(ParsedPaper(
        title="Odd metadata", abstract="An abstract long enough to be one.", source="hf-api",
        extra={"nan": float("nan"), "inf": float("inf"), "big": 2**40, "ok": 1.5, "words": ["\x00k", "ok"]},
    ))
    await ingest(db, [paper])
    async with db.session() as s:
        stored = await find_paper(s, "Odd metadata")
        assert stored is not None and stored.extra == {"ok": 1.5, "words": ["k", "ok"]}


async def test_a_paper_listed_twice_in_one_source_keeps_both_sightings_and_reingest_changes_nothing(db):
    """The second sighting of a paper new to the store used to be dropped (the record kept the first one's
    text and upvotes), so ingesting the same source again reported it updated."""
    source = [hf_sighting(upvotes=10, version=1, abstract="First text."),
              hf_sighting(upvotes=64, version=2, abstract="Revised text."),
              ParsedPaper(title="A title-only paper", abstract="Seen on a page.", source="hf-page"),
              ParsedPaper(title="A Title-Only Paper!", abstract="Seen on a page.", source="hf-page", upvotes=5)]
    counts = await ingest(db, source)
    assert (counts.new, counts.updated, counts.unchanged) == (2, 0, 0)
    records = {r["title"][:5]: r for r in await export(db)}
    assert records["Break"]["abstract"] == "Revised text." and records["Break"]["upvotes"] == 64
    assert records["Break"]["version"] == 2 and records["A tit"]["upvotes"] == 5
    again = await ingest(db, source)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)


def _varied_source() -> list[ParsedPaper]:
    """Papers that merge with each other across any chunking: repeats, versions, a title-only record that
    learns its id later, two papers sharing a title, upvotes that grow."""
    papers = []
    for n in range(40):
        k = n % 13
        papers.append(hf_sighting(arxiv_id=f"2401.{k:05d}", title=f"Paper {k} on graphs", upvotes=n,
                                  version=1 + n % 3, abstract=f"Abstract {k} version {1 + n % 3}.",
                                  extra={"seen": n % 2}))
        if n % 7 == 0:
            papers.append(ParsedPaper(title=f"paper {n} on Graphs", abstract="From a page.", source="hf-page"))
    papers.append(ParsedPaper(title="Shared title", abstract="One.", source="hf-api", arxiv_id="2402.00001"))
    papers.append(ParsedPaper(title="Shared title", abstract="Two.", source="hf-api", arxiv_id="2402.00002"))
    return papers


@pytest.mark.parametrize("chunk", [1, 3, 1000])
async def test_a_source_written_in_chunks_stores_and_counts_what_writing_it_at_once_does(db, monkeypatch, chunk):
    """Big sources are written a chunk at a time (bounded memory); nothing a user sees may depend on that."""
    import storage.paper_store as paper_store

    await ingest(db, [hf_sighting(arxiv_id="2401.00003", title="Paper 3 on graphs", upvotes=99),
                      ParsedPaper(title="Paper 0 on graphs", abstract="Stored before.", source="hf-page")])
    monkeypatch.setattr(paper_store, "WRITE_CHUNK", chunk)
    first = await ingest(db, _varied_source())
    again = await ingest(db, _varied_source())
    got = ((first.new, first.updated, first.unchanged), (again.new, again.updated, again.unchanged))
    assert got == ((17, 2, 0), (0, 0, 19))
    assert first.paper_ids == again.paper_ids and len(set(first.paper_ids)) == 19
    records = await export(db)
    assert len(records) == 19 and [r["id"] for r in records] == sorted(first.paper_ids)
    by_id = {r["arxiv_id"]: r for r in records}
    assert by_id["2401.00003"]["upvotes"] == 99 and by_id["2401.00000"]["sources"] == ["hf-api", "hf-page"]
    assert by_id["2401.00001"]["version"] == 3 and by_id["2401.00001"]["abstract"] == "Abstract 1 version 3."


async def test_an_rss_replacement_leaves_the_paper_on_its_own_day(db):
    """arXiv RSS lists a revised old paper under the day of the revision; the paper stays on its own day (and out
    of that day's digest) while its new version still replaces the text."""
    from storage.paper_store import list_papers

    await ingest(db, [ParsedPaper(title="Mass concentration in rescaled first order integral functionals",
                                  abstract="First version.", source="arxiv-api", arxiv_id="2203.01250", version=1,
                                  published_on=date(2022, 3, 2))])
    counts = await ingest(db, load(FIXTURES / "arxiv_rss_item_from_spec.xml"))  # replace-cross, v3, Aug 23 2024
    assert (counts.new, counts.updated) == (0, 1)
    async with db.session() as s:
        assert await list_papers(s, day=date(2024, 8, 23)) == []
        (paper,) = await list_papers(s, day=date(2022, 3, 2))
        assert paper.version == 3 and paper.abstract.startswith("We consider first order")


async def test_reingesting_feeds_in_any_order_changes_nothing_also_in_their_metadata(db):
    """A v1 seen after v2, or one v1 announced as "new" in one category's feed and "cross" in another's, flipped
    the record's metadata back and forth: each re-ingest of the same feeds said "1 updated"."""

    def sighting(version: int, announce: str, comment: str) -> ParsedPaper:
        return ParsedPaper(title="Mass concentration", abstract=f"Version {version}.", source="arxiv-rss",
                           arxiv_id="2203.01250", version=version, extra={"announce_type": announce,
                                                                           "comment": comment})

    feeds = [[sighting(1, "new", "12 pages")], [sighting(2, "replace", "14 pages")], [sighting(1, "cross", "12 p.")]]
    finals = []
    for n, order in enumerate((feeds, feeds[::-1], [feeds[2], feeds[0], feeds[1]])):
        arxiv_id = f"2203.0125{n}"  # a paper of its own for each order
        mine = [[dataclasses.replace(p, arxiv_id=arxiv_id) for p in feed] for feed in order]
        for feed in mine:
            await ingest(db, feed)
        for feed in mine:
            counts = await ingest(db, feed)
            assert (counts.updated, counts.unchanged) == (0, 1)
        async with db.session() as s:
            stored = await find_paper(s, arxiv_id)
            assert stored is not None
            finals.append((stored.version, stored.abstract, stored.extra["comment"]))
    assert finals == [(2, "Version 2.", "14 pages")] * 3


async def test_an_empty_author_list_is_unknown_authors_not_zero(db):
    """HF's JSON can list no authors ("authors": []): the paper was stored as having 0 authors, and a page's
    "7 authors" seen later never replaced it (seen the other way round, 7 stayed)."""
    for n, api_first in enumerate((True, False), start=1):
        arxiv_id = f"2510.2735{n}"
        api = ParsedPaper(title=f"RzenEmbed {n}", abstract="An abstract.", source="hf-api", arxiv_id=arxiv_id,
                          authors=[])
        page = ParsedPaper(title=f"RzenEmbed {n}", abstract="An abstract.", source="hf-page", author_count=7)
        assert api.authors is None and api.author_count is None
        for sighting in ([api, page] if api_first else [page, api]):
            await ingest(db, [sighting])
        async with db.session() as s:
            stored = await find_paper(s, arxiv_id)
            assert stored is not None and (stored.author_count, stored.authors) == (7, None)


# Characters no reader sees: zero-width space, soft hyphen, byte order mark, zero-width non-joiner and joiner, word
# joiner, left-to-right mark, a bidi isolate, a variation selector, a Mongolian vowel separator, a tag character.
INVISIBLE = ["\u200b", "\u00ad", "\ufeff", "\u200c", "\u200d", "\u2060", "\u200e", "\u2066", "\ufe0f", "\u180e",
             "\U000e0041"]


@pytest.mark.parametrize("mark", INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
def test_an_invisible_character_does_not_change_a_papers_identity(mark):
    plain = "Attention Is All You Need"
    assert normalize_title(f"{mark}Atten{mark}tion Is All{mark} You Need{mark}") == normalize_title(plain)


async def test_the_same_paper_with_and_without_invisible_characters_is_one_record(db):
    """A title copied from a web page carried a soft hyphen or a zero-width space: the page's sighting (title
    only) and the API's (with the arXiv id) became two records, and the paper was listed twice."""
    abstract = "An abstract that is long enough to be an abstract for the purposes of this parser test."
    page = "\n".join(["Daily Papers", "byAK and the research community", "Apr 20",
                      "Atten\u00adtion Is All\u200b You Need", abstract,
                      "\ufeffScaling Laws for Neural\u2060 Language Models", abstract])
    api = json.dumps([{"paper": {"id": "1706.03762", "title": "Attention Is All You Need", "summary": abstract}}])
    await ingest(db, parse_listing(page.encode(), where="page.txt", today=TODAY))
    await ingest(db, parse_listing(api.encode(), where="api.json", today=TODAY))
    again = await ingest(db, parse_listing(b"Daily Papers\nbyAK and the research community\nApr 20\n"
                                           b"Scaling Laws for Neural Language Models\n" + abstract.encode(),
                                           where="page2.txt", today=TODAY))
    assert (again.new, again.unchanged) == (0, 1)
    records = await export(db)
    assert len(records) == 2
    assert next(r for r in records if r["arxiv_id"])["sources"] == ["hf-api", "hf-page"]
    async with db.session() as s:
        found = await find_paper(s, "Scaling Laws for Neural\u200b Language Models")
        assert found is not None and found.arxiv_id is None
