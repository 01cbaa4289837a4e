"""One record per paper, on SQLite and PostgreSQL, whatever the source, version or order of ingestion."""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import pytest

from bot.ingestion.formats import parse_listing
from bot.papers import ParsedPaper, normalize_title
from storage.paper_store import count_papers, find_paper, get_paper, iter_papers, paper_to_record, store_papers
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


# One paper whose title changed on arXiv: HF lists it under T1, arXiv v2 under T2.
T1, T2, RETITLED_ID = "Sparse Attention for Long Documents", "Sparse Attention for Very Long Documents", "2501.01234"


def retitled(kind: str) -> ParsedPaper:
    """One sighting of the retitled paper: the HF page (T1, no id), the HF API (id, T1) or arXiv's v2 (id, T2)."""
    if kind == "page":
        return ParsedPaper(title=T1, abstract="We sparsify attention.", source="hf-page", author_count=5,
                           organization="Lab", upvotes=12, listed_on=date(2025, 1, 10))
    if kind == "api":
        return ParsedPaper(title=T1, abstract="We sparsify attention.", source="hf-api", arxiv_id=RETITLED_ID,
                           upvotes=9, listed_on=date(2025, 1, 10))
    return ParsedPaper(title=T2, abstract="We sparsify attention (revised).", source="arxiv-api",
                       arxiv_id=RETITLED_ID, version=2, authors=["A. Author", "B. Author"],
                       published_on=date(2025, 1, 8))


@pytest.mark.parametrize("order", [
    ("page", "v2", "api", "page"),  # the id match wins over the page's title-only record
    ("page", "api", "v2", "page"),  # the record's key becomes T2's, then the old page comes again
    ("v2", "api", "page", "page"),  # the key stays T2's, then the page
], ids=["page-v2-api", "page-api-v2", "v2-api-page"])
async def test_a_paper_retitled_on_arxiv_is_one_record_whatever_the_order_of_its_sightings(db, order):
    """A paper whose title changed between HF and arXiv was listed twice: the HF page's title-only record stayed
    next to the record with the id, or a later sighting of the page's (old) title made a new one."""
    for kind in order:
        await ingest(db, [retitled(kind)])
    (record,) = await export(db)
    assert (record["arxiv_id"], record["title"], record["version"]) == (RETITLED_ID, T2, 2)
    assert record["sources"] == ["arxiv-api", "hf-api", "hf-page"]
    assert (record["organization"], record["upvotes"], record["listed_on"]) == ("Lab", 12, "2025-01-10")
    assert record["authors"] == ["A. Author", "B. Author"] and record["published_on"] == "2025-01-08"
    again = await ingest(db, [retitled(kind) for kind in ("page", "api", "v2")])
    assert (again.new, again.updated, again.unchanged, again.paper_ids) == (0, 0, 1, [record["id"]])
    async with db.session() as s:
        for title in (T1, T2):
            found = await find_paper(s, title)
            assert found is not None and found.id == record["id"], title


@pytest.mark.parametrize("chunk", [1, 1000])
async def test_a_retitled_paper_seen_in_one_source_is_one_record_however_the_source_is_chunked(db, monkeypatch,
                                                                                                 chunk):
    """The same sightings inside one source end as one record too (merged in memory, or in the store when an
    earlier chunk wrote the page's record), the source counts one new paper for them, and full-text search
    finds the paper once."""
    from sqlalchemy import text

    import storage.paper_store as paper_store

    monkeypatch.setattr(paper_store, "WRITE_CHUNK", chunk)
    source = [retitled("page"), ParsedPaper(title="Dense Retrieval", abstract="Dense vectors.", source="hf-page"),
              retitled("v2"), retitled("api"), retitled("page"),
              ParsedPaper(title="Sparse Retrieval", abstract="Sparse vectors.", source="hf-page")]
    counts = await ingest(db, source)
    records = await export(db)
    ids = {r["title"]: r["id"] for r in records}
    assert (counts.new, len(records)) == (3, 3)
    assert counts.paper_ids == [ids[T2], ids["Dense Retrieval"], ids["Sparse Retrieval"]]  # first sighting first
    (record,) = [r for r in records if r["arxiv_id"]]
    assert record["sources"] == ["arxiv-api", "hf-api", "hf-page"] and record["upvotes"] == 12
    again = await ingest(db, source)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 3)
    if db.dialect == "sqlite":  # the full-text index holds each paper once, as it reads now
        async with db.session() as s:
            rows = (await s.execute(text("SELECT rowid FROM papers_fts WHERE papers_fts MATCH 'sparsify'"))).all()
            assert rows == [(record["id"],)]


async def test_what_pointed_at_the_pages_record_points_at_the_one_paper_after_the_merge(db):
    """Merging the page's record into the one with the id loses nothing people stored for it: its summaries,
    LLM calls, votes, follow-ups, and its places in posted digests (in place: "summarize 2" still means it)."""
    from sqlalchemy import select

    from storage.delivery_models import Delivery
    from storage.destination_models import PostedMessage
    from tests.merge_fixtures import assert_references_moved, plant_references

    (kept,) = (await ingest(db, [retitled("v2")])).paper_ids
    (other,) = (await ingest(db, [ParsedPaper(title="Another paper", abstract="x", source="hf-page")])).paper_ids
    (page,) = (await ingest(db, [retitled("page")])).paper_ids  # the newest record: the highest number
    async with db.session() as s:
        events = await plant_references(s, kept, page, baseline_title=T1)
        s.add_all([
            PostedMessage(destination_key="console:local:main", message_ref="7", kind="digest",
                          paper_ids=[other, page, kept]),
            Delivery(destination_key="console:local:main", digest_day=date(2025, 1, 10), status="posted",
                     paper_ids=[page, other]),
        ])

    counts = await ingest(db, [retitled("api")])
    assert (counts.new, counts.updated, counts.paper_ids) == (0, 1, [kept])
    async with db.session() as s:
        assert await count_papers(s) == 2
        await assert_references_moved(s, kept, page, events)
        assert (await s.execute(select(PostedMessage.paper_ids))).scalar_one() == [other, kept, kept]
        assert (await s.execute(select(Delivery.paper_ids))).scalar_one() == [kept, other]
        # The page's number, typed from an old digest, still finds the paper.
        found_by_number = await find_paper(s, f"#{page}")
        assert found_by_number is not None and found_by_number.id == kept
        # So does its id in a list or a button that a concurrent merge did not rewrite ("summarize 2", 👍).
        by_id = await get_paper(s, page)
        assert by_id is not None and by_id.id == kept
    # A new paper never gets the merged record's number (SQLite gives the highest number plus one).
    (newest,) = (await ingest(db, [ParsedPaper(title="A newer paper", abstract="x", source="hf-page")])).paper_ids
    assert newest > page > max(other, kept)


def test_paperboy_ingest_of_a_retitled_papers_page_arxiv_v2_and_hf_api_lists_it_once(db_env, tmp_path):
    """Through `paperboy ingest`, with HF's recorded API item: its HF page (title only), then arXiv's v2 under a
    new title, then the API item (id, first title). The page's record used to stay: the paper was listed twice."""
    from tests.cli_runner import paperboy
    from tests.test_cli_ingest import export as exported

    api_file = FIXTURES / "hf_daily_papers_item_2026-03.json"
    item = json.loads(api_file.read_text())[0]["paper"]
    page = tmp_path / "page.txt"
    page.write_text("\n".join(["Daily Papers", "byAK and the research community", "Mar 6", item["title"],
                               item["summary"]]))
    atom = (FIXTURES / "arxiv_query_sample.xml").read_text()
    entry = atom[atom.index("<entry>"):atom.index("</entry>") + len("</entry>")]
    new_title = "Large Multimodal Models Are General In-Context Classifiers"
    v2 = (entry.replace("nucl-ex/0408020v1", f"{item['id']}v2")
          .replace(entry[entry.index("<title>") + 7:entry.index("</title>")], new_title))
    arxiv = tmp_path / "v2.xml"
    arxiv.write_text(atom[:atom.index("<entry>")] + v2 + "\n</feed>\n")
    for source in (page, arxiv, api_file):
        result = paperboy("ingest", str(source), env=db_env)
        assert result.code == 0, result.err
    assert result.out.strip().endswith("1 paper: 0 new, 1 updated, 0 unchanged")
    (record,) = exported(db_env)
    assert (record["arxiv_id"], record["title"], record["version"]) == (item["id"], new_title, 2)
    assert record["sources"] == ["arxiv-api", "hf-api", "hf-page"]
    again = paperboy("ingest", str(page), env=db_env)
    assert again.out.strip().endswith("1 paper: 0 new, 0 updated, 1 unchanged") and len(exported(db_env)) == 1


async def title_rows(db) -> list[tuple[str, int]]:
    """What `paper_title_keys` holds: (title key, record)."""
    from sqlalchemy import text

    async with db.session() as s:
        rows = (await s.execute(text("SELECT title_key, paper_id FROM paper_title_keys ORDER BY title_key"))).all()
    return [(key, pid) for key, pid in rows]


async def test_a_paper_retitled_again_and_back_is_found_by_every_title_and_only_its_former_ones_are_kept_beside_it(
        db):
    """Every new paper used to write its current title a second time, into `paper_title_keys` (two more indexed
    rows per paper: ingestion took 70 % longer). Only the titles a paper had before are written there now; each
    still finds it, also when the sighting that retitled it did not carry the old title."""
    t3 = "Sparse Attention for Extremely Long Documents"
    counts = await ingest(db, [retitled("api"), ParsedPaper(title="Dense Retrieval", abstract="x", source="hf-page")])
    assert counts.new == 2 and await title_rows(db) == []
    (pid, _) = counts.paper_ids
    v3 = dataclasses.replace(retitled("v2"), title=t3, version=3)
    for sighting in (retitled("v2"), v3):  # found by the id: neither carries the title it replaces
        assert (await ingest(db, [sighting])).paper_ids == [pid]
    assert await title_rows(db) == [(normalize_title(T1), pid), (normalize_title(T2), pid)]
    for title in (T1, T2, t3):
        async with db.session() as s:
            found = await find_paper(s, title)
            assert found is not None and found.id == pid, title
        page = dataclasses.replace(retitled("page"), title=title)
        again = await ingest(db, [page])
        assert (again.new, again.paper_ids) == (0, [pid]), title
    # v4 goes back to the first title: it is the current one, no longer beside it.
    assert (await ingest(db, [dataclasses.replace(retitled("v2"), title=T1, version=4)])).paper_ids == [pid]
    assert await title_rows(db) == [(normalize_title(t3), pid), (normalize_title(T2), pid)]
    assert len(await export(db)) == 2


@pytest.mark.parametrize("sighting", ["page", "api"])
@pytest.mark.parametrize("paper_under", ["its former title", "its current title"])
async def test_a_title_only_record_a_concurrent_ingest_left_beside_the_paper_is_merged_by_the_next_sighting(
        db, sighting, paper_under):
    """Two ingests at one moment (before the store locked title keys, or on a store such ingests left): one stores
    the HF page (title T1, no id) while the other makes the paper with the id known under T1 (a sighting under a
    title it had not been seen under, or the paper's first). Neither saw the other's record and nothing unique
    collides, so both commit: the paper is listed twice. The next sighting
    of T1 makes them one, the page's own too (it used to find the page's record and leave both)."""
    from sqlalchemy import insert

    from storage.models import Paper
    from storage.paper_store import new_values

    if paper_under == "its former title":
        await ingest(db, [retitled("v2")])
    (pid,) = (await ingest(db, [retitled("api")])).paper_ids
    async with db.session() as s:  # what the other ingest wrote, unseen by this one
        page_record = (await s.execute(insert(Paper).values(**new_values(retitled("page"))).returning(Paper.id)))
        page_id = page_record.scalar_one()
    assert len(await export(db)) == 2
    counts = await ingest(db, [retitled(sighting)])
    assert (counts.new, counts.paper_ids) == (0, [pid])
    (record,) = await export(db)
    assert record["id"] == pid and record["upvotes"] == 12 and "hf-page" in record["sources"]
    async with db.session() as s:
        found = await find_paper(s, f"#{page_id}")
        assert found is not None and found.id == pid


# Two bot processes ingesting at one moment (PostgreSQL; SQLite has one writer at a time). One ingest's transaction
# is held open at a chosen point while the other runs in a session of its own; the test goes on once the other has
# finished or waits for a lock the first holds, whichever the code under test does.

def needs_concurrent_writers(db) -> None:
    if db.dialect != "postgresql":
        pytest.skip("SQLite lets one transaction write at a time: these interleavings cannot happen there")


async def start_ingest(db, papers):
    """Another process's ingest, running: its connection's backend id, and the task giving its counts."""
    import asyncio

    from sqlalchemy import text

    started: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def run():
        async with db.session() as s:
            started.set_result(await s.scalar(text("SELECT pg_backend_pid()")))
            return await store_papers(s, papers)

    task = asyncio.create_task(run())
    await asyncio.wait({started, task}, return_when=asyncio.FIRST_COMPLETED)
    return started.result(), task


async def until_waiting_or_done(db, pid, task) -> None:
    """Until the other ingest has finished or waits for a lock a transaction holds (a condition, not a time): an
    advisory lock, a row's, or a transaction's end (not a table file being extended, which any insert may wait
    for a moment)."""
    import asyncio

    from sqlalchemy import text

    async with db.engine.connect() as conn:
        while not task.done():
            state = await conn.scalar(text("SELECT wait_event FROM pg_stat_activity WHERE pid = :pid "
                                           "AND wait_event_type = 'Lock'"), {"pid": pid})
            await conn.commit()  # pg_stat_activity is read once per transaction
            if state in ("advisory", "transactionid", "tuple"):
                return
            await asyncio.wait({task}, timeout=0.01)


@pytest.mark.parametrize("size", ["a day's listing", "a big source"])
@pytest.mark.parametrize("first, second", [("page", "api"), ("api", "page")])
async def test_the_hf_page_and_the_papers_id_ingested_at_one_moment_make_one_record(db, monkeypatch, first, second,
                                                                                     size):
    """The HF page (title only) and HF's JSON (arXiv id, same title) ingested by two processes at the same moment:
    neither saw the other's new record and nothing unique collides, so both committed and the paper was listed
    twice until its title was seen again. A big source (more identities than an ingest may lock one by one) takes
    its turn as a whole."""
    import storage.paper_store as paper_store

    needs_concurrent_writers(db)
    if size == "a big source":
        monkeypatch.setattr(paper_store, "IDENTITY_LOCK_BUDGET", 1)
    async with db.session() as held:
        await store_papers(held, [retitled(first)])
        pid, other = await start_ingest(db, [retitled(second)])
        await until_waiting_or_done(db, pid, other)
    counts = await other
    (record,) = await export(db)
    assert record["arxiv_id"] == RETITLED_ID and record["sources"] == ["hf-api", "hf-page"]
    assert (counts.new, counts.paper_ids) == (0, [record["id"]])


async def test_a_sighting_of_a_record_another_process_is_merging_away_reaches_the_paper(db):
    """One process merges the page's title-only record into the paper (HF's JSON makes the paper known under the
    page's title) while another ingests the page again with more upvotes: the second had read the record being
    deleted and updated it once the merge committed, found no row, and its whole ingest failed."""
    needs_concurrent_writers(db)
    await ingest(db, [retitled("v2")])  # the paper, under its new title only
    (page_id,) = (await ingest(db, [retitled("page")])).paper_ids
    async with db.session() as held:
        await store_papers(held, [retitled("api")])  # the page's record is the paper: merged into it
        pid, other = await start_ingest(db, [dataclasses.replace(retitled("page"), upvotes=50)])
        await until_waiting_or_done(db, pid, other)
    counts = await other
    (record,) = await export(db)
    assert record["arxiv_id"] == RETITLED_ID and record["upvotes"] == 50
    assert record["id"] != page_id and counts.paper_ids == [record["id"]]


async def test_a_page_record_another_process_gave_an_id_is_not_merged_into_a_different_paper(db):
    """The page's record learns its own arXiv id (another paper with the same title) in one process while another
    merges it into the paper with the id it knows under that title: the merge went ahead on the record as it had
    read it, and the other paper, its id with it, was gone."""
    needs_concurrent_writers(db)
    await ingest(db, [retitled("v2")])
    await ingest(db, [retitled("page")])
    namesake = ParsedPaper(title=T1, abstract="Another paper under the same title.", source="hf-api",
                           arxiv_id="2502.00001")
    async with db.session() as held:
        await store_papers(held, [namesake])  # the page's record is this paper
        pid, other = await start_ingest(db, [retitled("api")])
        await until_waiting_or_done(db, pid, other)
    await other
    records = {r["arxiv_id"]: r for r in await export(db)}
    assert set(records) == {RETITLED_ID, "2502.00001"}
    assert records["2502.00001"]["sources"] == ["hf-api", "hf-page"]
    assert records[RETITLED_ID]["sources"] == ["arxiv-api", "hf-api"]


async def test_two_processes_seeing_one_paper_by_its_id_and_by_its_title_keep_what_both_saw(db):
    """HF's JSON (the arXiv id: upvotes, a listing day) and the HF page (the paper's current title: its
    organization) ingested at one moment found the record by different identities; the second wrote the record as
    it had read it before the first committed, and what the first had learned was gone until seen again."""
    needs_concurrent_writers(db)
    await ingest(db, [retitled("v2")])  # id, title T2
    by_title = ParsedPaper(title=T2, abstract="x", source="hf-page", organization="Lab", author_count=2)
    async with db.session() as held:
        await store_papers(held, [retitled("api")])
        pid, other = await start_ingest(db, [by_title])
        await until_waiting_or_done(db, pid, other)
    await other
    (record,) = await export(db)
    assert record["sources"] == ["arxiv-api", "hf-api", "hf-page"]
    assert (record["upvotes"], record["listed_on"], record["organization"]) == (9, "2025-01-10", "Lab")


@pytest.mark.parametrize("sqlstate, retried", [("40P01", True), ("40001", True), ("22012", False)])
async def test_an_ingest_postgresql_cancels_to_break_a_deadlock_is_run_again(db, sqlstate, retried):
    """Two ingests reaching the same records by different ids and titles in opposite orders can deadlock;
    PostgreSQL cancels one (deadlock_detected; serialization_failure likewise), and that ingest failed whole,
    its papers missing until the next fetch. It is run again, as a unique clash already was; any other error is
    not. The first insert into papers fails once with the error, raised by a trigger of the test's."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from bot.ingestion.http_fetchers import FetchedDocument
    from bot.ingestion.ingest_service import Ingestor

    needs_concurrent_writers(db)
    async with db.engine.begin() as conn:
        await conn.execute(text("CREATE SEQUENCE failed_once"))  # not rolled back with the failed transaction
        await conn.execute(text(
            "CREATE FUNCTION fail_once() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF nextval('failed_once') = 1 THEN RAISE EXCEPTION 'injected' USING ERRCODE = '{sqlstate}'; END IF; "
            "RETURN NEW; END $$"))
        await conn.execute(text("CREATE TRIGGER fail_once BEFORE INSERT ON papers FOR EACH ROW "
                                "EXECUTE FUNCTION fail_once()"))
    listing = FetchedDocument((FIXTURES / "hf_daily_papers_sample_2024-10.json").read_bytes(), "hf sample")
    ingestor = Ingestor(db, today=lambda: date(2024, 10, 25))
    if retried:
        counts = await ingestor.store_documents([listing])
        assert counts.new > 1
        async with db.session() as s:
            assert await count_papers(s) == counts.new
    else:
        with pytest.raises(DBAPIError):
            await ingestor.store_documents([listing])
        async with db.session() as s:
            assert await count_papers(s) == 0
