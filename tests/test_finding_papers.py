"""Finding papers as a researcher does: `/papers show` with whatever reference was pasted, `/papers search` with
names, ids and text copied from PDFs, and `/papers top`, through the console adapter on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, column, insert, select, table, text

from bot.ingestion.ingest_service import Ingestor, parse_source
from bot.papers import ParsedPaper
from bot.topics.topic_service import search_papers
from storage.database import Database
from storage.paper_store import find_paper, store_papers
from tests.chat_fixtures import TODAY, ingest_samples, make_bot
from tests.cli_runner import paperboy
from tests.conftest import FIXTURES


def _item(arxiv_id: str, title: str, summary: str, authors: list[str], upvotes: int,
          day: str = "2026-04-17") -> dict[str, Any]:
    return {"paper": {"id": arxiv_id, "title": title, "summary": summary, "authors": [{"name": a} for a in authors],
                      "publishedAt": f"{day}T00:00:00.000Z", "upvotes": upvotes},
            "publishedAt": f"{day}T00:00:00.000Z"}


PAPERS = [
    _item("2604.00001", "Neural Solvers for the Schrödinger Equation",
          "We solve the time-dependent Schrödinger equation with neural networks.",
          ["Bernhard Schölkopf", "Jürgen Schmidhuber"], 12),
    _item("2604.00002", "LoRA Adapters Revisited",
          "Low-rank adaptation (LoRA) of large language models such as GPT-4o is studied.",
          ["Yann LeCun", "Edward Hu", "Nguyễn Văn An"], 50),
    _item("2604.00003", "Fine-Tuning Kernels for Transformers",
          "We write fine-tuning kernels for transformer inference on GPUs.",
          ["Ada Lovelace", "Christopher Manning", "María López"], 3),
    _item("hep-th/9901001", "Strings on Old-Style Identifiers", "An old paper with an old-style identifier.",
          ["Old Author"], 1),
]


async def ingest_listing(db: Database, tmp_path: Path, items: list[dict[str, Any]], name: str = "api.json") -> None:
    listing = tmp_path / name
    listing.write_text(json.dumps(items))
    await Ingestor(db, today=lambda: TODAY).ingest(parse_source(str(listing)))


@pytest.fixture
async def stored(db: Database, tmp_path: Path) -> Database:
    await ingest_samples(db)
    await ingest_listing(db, tmp_path, PAPERS)
    return db


@pytest.mark.parametrize("ref", [
    "2604.00002", "2604.00002v3", "arXiv:2604.00002", "https://arxiv.org/abs/2604.00002v1",
    "https://arxiv.org/pdf/2604.00002v2.pdf", "https://huggingface.co/papers/2604.00002",
    "https://www.alphaxiv.org/abs/2604.00002", "https://www.alphaxiv.org/overview/2604.00002v2",
    "alphaxiv.org/pdf/2604.00002v1", "https://ar5iv.org/abs/2604.00002", "https://ar5iv.labs.arxiv.org/html/2604.00002",
    "10.48550/arXiv.2604.00002", "https://doi.org/10.48550/arXiv.2604.00002", "doi:10.48550/ARXIV.2604.00002",
    "<https://arxiv.org/abs/2604.00002>", "<https://arxiv.org/abs/2604.00002|arxiv.org/abs/2604.00002>",
    "LoRA Adapters Revisited.",
])
async def test_show_finds_a_paper_by_every_reference_people_paste(stored, ref):
    """alphaXiv and ar5iv links, the DOI arXiv registers for every paper, and a link wrapped in <…> as Discord
    users write it to keep the preview away (Slack writes <url|label>) all name the paper; they were "no stored
    paper matches"."""
    bot = make_bot(stored)
    await bot.console.say(f"/papers show {ref}")
    assert " 1. LoRA Adapters Revisited" in bot.last(), ref


@pytest.mark.parametrize("ref", [
    "hep-th/9901001", "hep-th/9901001v2", "arXiv:hep-th/9901001", "https://arxiv.org/abs/hep-th/9901001v1",
    "https://arxiv.org/pdf/hep-th/9901001.pdf", "10.48550/arXiv.hep-th/9901001", "<https://arxiv.org/abs/hep-th/9901001>",
])
async def test_show_finds_an_old_style_id_however_written(stored, ref):
    bot = make_bot(stored)
    await bot.console.say(f"/papers show {ref}")
    assert " 1. Strings on Old-Style Identifiers" in bot.last(), ref


@pytest.mark.parametrize("query", ["2604.00002", "2604.00002v2", "https://arxiv.org/abs/2604.00002",
                                   "https://huggingface.co/papers/2604.00002", "10.48550/arXiv.2604.00002"])
async def test_search_for_a_pasted_id_or_link_finds_that_paper(stored, query):
    """Searching for an arXiv id or link said "Nothing found": the words of "2604.00002" are in no title."""
    bot = make_bot(stored)
    await bot.console.say(f"/papers search {query}")
    assert "\n 1. LoRA Adapters Revisited" in bot.last() and "\n 2. " not in bot.last(), query


async def test_search_for_an_id_that_is_not_stored_says_so(stored):
    bot = make_bot(stored)
    await bot.console.say("/papers search 2604.99999")
    assert bot.last().endswith("Nothing found for “2604.99999”: no stored paper has that arXiv id.")
    await bot.console.say("/papers search #999999")
    assert bot.last().endswith("Nothing found for “#999999”: no stored paper has that number.")


def test_paperboy_search_names_a_pasted_link_and_says_when_the_authors_matched(db_env, tmp_path):
    """`paperboy search https://arxiv.org/abs/ID` printed "Nothing found", as the chat command did; `paperboy
    search LeCun` listed his paper with "why: no mention of the topic" (the matcher reads titles and abstracts
    only, and the author was what matched)."""
    listing = tmp_path / "api.json"
    listing.write_text(json.dumps(PAPERS))
    assert paperboy("ingest", str(listing), env=db_env).code == 0
    found = paperboy("search", "https://arxiv.org/abs/2604.00002v1", "--json", env=db_env)
    assert found.code == 0, found.err
    (record,) = json.loads(found.out)
    assert record["arxiv_id"] == "2604.00002" and record["why"] == "named by its arXiv id"
    shown = paperboy("search", "#2", env=db_env)
    assert shown.code == 0 and "LoRA Adapters Revisited  (2604.00002)" in shown.out
    assert "why: named by its number" in shown.out
    missing = paperboy("search", "2604.99999", env=db_env)
    assert missing.out.strip() == "Nothing found for '2604.99999': no stored paper has that arXiv id."
    found = paperboy("search", "lecun", "--json", env=db_env)
    assert found.code == 0, found.err
    (record,) = json.loads(found.out)
    assert record["title"] == "LoRA Adapters Revisited" and record["why"] == "by Yann LeCun"
    both = paperboy("search", "Schmidhuber Schrödinger", env=db_env)
    assert both.out.endswith("       why: by Jürgen Schmidhuber\n"), both.out
    words = paperboy("search", "Schrödinger", env=db_env)
    assert words.out.endswith("       why: “Schrödinger” in title; “Schrödinger” in abstract\n"), words.out


@pytest.mark.parametrize(("query", "title"), [
    ("ﬁne-tuning kernels", "Fine-Tuning Kernels for Transformers"),  # the "fi" ligature a PDF's text carries
    ("ＬｏＲＡ adapters", "LoRA Adapters Revisited"),  # fullwidth, as some keyboards type it
])
async def test_search_reads_compatibility_characters_as_the_plain_letters(stored, query, title):
    """A query copied from a PDF ("ﬁne-tuning") or typed fullwidth found nothing, though topics read both."""
    bot = make_bot(stored)
    await bot.console.say(f"/papers search {query}")
    assert f"\n 1. {title}" in bot.last(), query


@pytest.mark.parametrize("name", ["Schölkopf", "Bernhard Schölkopf", "Jürgen Schmidhuber"])
async def test_search_finds_authors_whose_names_are_not_ascii(stored, name):
    """Authors were indexed as their JSON text, where "Schölkopf" is "Sch\\u00f6lkopf": no name with an accent,
    an umlaut or a non-Latin script could be found."""
    bot = make_bot(stored)
    await bot.console.say(f"/papers search {name}")
    assert "\n 1. Neural Solvers for the Schrödinger Equation" in bot.last(), name


@pytest.mark.parametrize("query", ["Manning", "Christopher Manning", "Manning kernels"])
async def test_search_finds_authors_whose_names_the_english_stemmer_changes(stored, query):
    """On PostgreSQL author names are indexed unstemmed while the query was stemmed as English: "Manning" was
    asked as "man" (and "Levine" as "levin"), so their papers were never found by their names."""
    bot = make_bot(stored)
    await bot.console.say(f"/papers search {query}")
    assert "\n 1. Fine-Tuning Kernels for Transformers" in bot.last(), query


@pytest.mark.parametrize(("query", "title"), [
    ("Schrodinger equation", "Neural Solvers for the Schrödinger Equation"),
    ("Scholkopf", "Neural Solvers for the Schrödinger Equation"),
    ("Lopez", "Fine-Tuning Kernels for Transformers"),
    ("LÓPEZ kernels", "Fine-Tuning Kernels for Transformers"),
    ("Nguyen Van An", "LoRA Adapters Revisited"),  # two marks on one letter (ễ)
    ("nguyễn", "LoRA Adapters Revisited"),
])
async def test_search_finds_accented_words_typed_without_their_accents(stored, query, title):
    """On PostgreSQL "Schrodinger" missed "Schrödinger" and "Lopez" missed "López" (SQLite's index folds accents,
    PostgreSQL's did not): people type names without their accents."""
    bot = make_bot(stored)
    await bot.console.say(f"/papers search {query}")
    assert f"\n 1. {title}" in bot.last() and "\n 2. " not in bot.last(), query


@pytest.mark.parametrize(("query", "title", "why"), [
    ("lecun", "LoRA Adapters Revisited", "by Yann LeCun"),
    ("Lopez", "Fine-Tuning Kernels for Transformers", "by María López"),
    ("papers by Manning about kernels", "Fine-Tuning Kernels for Transformers", "by Christopher Manning"),
])
async def test_chat_search_says_which_author_a_paper_was_found_by(stored, query, title, why):
    """`paperboy search lecun` said "why: by Yann LeCun"; `/papers search lecun` listed the paper with nothing to
    say why (its title and abstract do not name him)."""
    bot = make_bot(stored)
    await bot.console.say(f"/papers search {query}")
    assert f"\n 1. {title}" in bot.last() and f"\n    why: {why}" in bot.last(), query
    await bot.console.say("/papers search LoRA adapters")
    assert "why:" not in bot.last()  # found by its words, which the title shows


async def test_a_bare_number_finds_the_paper_of_that_number_first_then_papers_saying_it(stored, tmp_path, db_env):
    """"#N" found paper N; "N" found only papers with the number in their text, never paper N itself, which people
    type without the "#" too. Paper N now comes first (saying so), the papers that say N after it."""
    async with stored.session() as s:
        number = (await find_paper(s, "2604.00002")).id  # type: ignore[union-attr]
    await ingest_listing(stored, tmp_path, [_item("2604.00011", "Batching Study", f"A batch of {number} tokens.",
                                                  ["Bo Li"], 1)], name="number.json")
    bot = make_bot(stored)
    for query in (str(number), f"paper {number}"):
        await bot.console.say(f"/papers search {query}")
        found = _numbered_titles(bot.last())
        assert found == {1: "LoRA Adapters Revisited", 2: "Batching Study"}, query
        assert "\n    why: named by its number" in bot.last()
    await bot.console.say(f"/papers search #{number}")
    assert _numbered_titles(bot.last()) == {1: "LoRA Adapters Revisited"}
    assert paperboy_titles(db_env, str(number)) == ["LoRA Adapters Revisited", "Batching Study"]
    shown = paperboy("search", str(number), env=db_env)
    assert "why: named by its number" in shown.out.splitlines()[1]
    await bot.console.say("/papers search 999999")  # no paper of that number: the papers saying it, as before
    assert "Nothing found for “999999”." in bot.last()


@pytest.mark.parametrize(("query", "titles"), [
    ("C++", ["A C++ Library for Tensors"]),
    ("c++ tensors", ["A C++ Library for Tensors"]),
    ("C#", ["Bindings for C# and F#"]),
    ("F# bindings", ["Bindings for C# and F#"]),
    ("Vitamin C", ["Vitamin C and Sleep"]),
])
async def test_search_keeps_the_plus_and_sharp_of_language_names(stored, tmp_path, query, titles):
    """"C++" and "C#" were searched as "c": every paper with a lone "c" (vitamin C, a constant c) matched."""
    await ingest_listing(stored, tmp_path, [
        _item("2604.00021", "A C++ Library for Tensors", "We write tensors in modern C++ with templates.", ["A B"], 1),
        _item("2604.00022", "Bindings for C# and F#", "Tensor bindings for .NET languages.", ["A B"], 1),
        _item("2604.00023", "Vitamin C and Sleep", "Does vitamin c change sleep? The constant c is 3.", ["A B"], 1),
        _item("2604.00024", "Cpp Tensors", "Tensors in C, not in C++ nor C#: plain c code.", ["A B"], 1),
    ], name="languages.json")
    bot = make_bot(stored)
    await bot.console.say(f"/papers search {query}")
    assert list(_numbered_titles(bot.last()).values())[:len(titles)] == titles, query
    if "Vitamin" not in query:
        assert "Vitamin C and Sleep" not in bot.last(), query


async def test_a_paper_whose_text_came_from_a_pdf_is_found_by_plain_words(db, tmp_path):
    """An abstract pasted from a PDF keeps its typographic ligatures ("ﬁne-tuning", "eﬃcient"): search found the
    paper by neither "fine-tuning" nor "efficient", since the stored word was not the word typed."""
    await ingest_listing(db, tmp_path, [_item("2604.00009", "Ligatures in Abstracts",
                                              "We study eﬃcient ﬁne-tuning of ﬂow models.", ["Ada Lovelace"], 2)])
    bot = make_bot(db)
    for query in ("efficient fine-tuning", "flow models"):
        await bot.console.say(f"/papers search {query}")
        assert "\n 1. Ligatures in Abstracts" in bot.last(), query
    await bot.console.say("/papers show 2604.00009")
    assert "efficient fine-tuning of flow models" in bot.last()


@pytest.mark.parametrize("query", ["papers about LoRA adapters", "find me any paper on the LoRA adapters",
                                   "LoRA adapters"])
async def test_a_search_written_as_people_ask_finds_the_paper(stored, query):
    """"papers about LoRA adapters" found nothing: every word was required, and no paper says "papers about"."""
    bot = make_bot(stored)
    await bot.console.say(f"/papers search {query}")
    assert "\n 1. LoRA Adapters Revisited" in bot.last(), query


async def test_json_with_a_lone_surrogate_is_still_stored(db):
    """JSON is stored as written, not escaped, so that names are searchable; a lone surrogate, which UTF-8 cannot
    carry (an LLM's reply may hold one), is still stored escaped rather than failing the write."""
    if db.is_postgres:
        pytest.skip("PostgreSQL's json may refuse a lone surrogate's escape itself, as it did before")
    async with db.session() as session:
        await session.execute(text("CREATE TABLE json_probe (id INTEGER PRIMARY KEY, body JSON)"))
        probe = table("json_probe", column("id"), column("body", JSON))
        await session.execute(insert(probe).values(id=1, body=["Schölkopf", "\ud800"]))
        stored = (await session.execute(text("SELECT CAST(body AS TEXT) FROM json_probe"))).scalar_one()
        assert (await session.execute(select(probe.c.body))).scalar_one() == ["Schölkopf", "\ud800"]
        await session.rollback()
    assert "\\ud800" in stored


async def test_top_day_before_anyone_upvoted_shows_the_latest_day_with_upvotes(stored, tmp_path):
    """In the morning a day's papers have no upvotes yet: "/papers top day" listed them in page order under "Top
    papers today … by upvotes". A period none of whose papers has an upvote is treated like one with no papers."""
    fresh = [_item(f"2604.1000{n}", f"Fresh Paper {n}", "Listed this morning.", ["Someone"], 0, day="2026-04-22")
             for n in range(3)]
    await ingest_listing(stored, tmp_path, fresh, name="today.json")
    bot = make_bot(stored)
    await bot.console.say("/papers top day")
    top = bot.last()
    assert "] Top papers of Mon Apr 20, 2026\n 1. " in top and "Fresh Paper" not in top
    assert "No upvotes yet for today (2026-04-22); showing Mon Apr 20, 2026." in top


async def test_top_where_no_paper_has_upvotes_says_so(db, tmp_path):
    """arXiv's listings carry no upvotes: a store of only those has no "top" to show, and says so."""
    unvoted = [_item(f"2604.2000{n}", f"Unvoted Paper {n}", "No votes.", ["Someone"], 0, day="2026-04-21")
               for n in range(2)]
    await ingest_listing(db, tmp_path, unvoted)
    bot = make_bot(db)
    await bot.console.say("/papers top")
    top = bot.last()
    assert " 1. Unvoted Paper 0" in top and " 2. Unvoted Paper 1" in top
    assert "None of them has upvotes yet: in listing order." in top and "by upvotes" not in top


def _numbered_titles(reply: str) -> dict[int, str]:
    """The items of a listing by their number, as the console shows them: " 1. Title  ▲3" → {1: "Title"}."""
    found = {}
    for line in reply.splitlines():
        head, dot, rest = line.partition(". ")
        if dot and head.strip().isdigit():
            found[int(head)] = re.sub(r"\s+▲\d+$", "", rest)
    return found


async def test_search_pages_through_every_match_ten_at_a_time(stored, db_env):
    """When more than ten papers matched, the answer said so and nothing more: the eleventh and later could not be
    seen. `/papers search QUERY page N` shows them, numbered on from 11 as `/papers today 2` does."""
    bot = make_bot(stored)
    await bot.console.say("/papers search learning")
    first = bot.last()
    assert sorted(_numbered_titles(first)) == list(range(1, 11))
    assert first.endswith("More than 10 papers match: the next ten with /papers search learning page 2, "
                          "or add words to narrow the search.")
    seen = dict(_numbered_titles(first))
    page = 2
    while True:
        await bot.console.say(f"/papers search learning PAGE {page}")
        reply = bot.last()
        shown = _numbered_titles(reply)
        assert f"Search: learning ({10 * page - 9}–{10 * page - 10 + len(shown)})" in reply
        assert sorted(shown) == list(range(10 * page - 9, 10 * page - 9 + len(shown))) and shown
        assert not set(shown.values()) & set(seen.values())
        seen.update(shown)
        if f"/papers search learning page {page + 1}" not in reply:
            break
        assert len(shown) == 10
        page += 1
    assert page > 2
    every = paperboy_titles(db_env, "learning")
    assert [seen[n] for n in sorted(seen)] == every
    await bot.console.say(f"/papers search learning page {page + 1}")
    assert bot.last().endswith(f"{len(every)} papers match “learning”: there is no page {page + 1}; "
                               f"the last is page {page}.")


@pytest.mark.parametrize("page", ["0", "1.5", "99999", "-3"])
async def test_search_refuses_a_page_that_is_not_a_page(stored, page):
    bot = make_bot(stored)
    await bot.console.say(f"/papers search learning page {page}")
    assert f"{page!r} is not a page; use a number from 1, e.g. /papers search learning page 2" in bot.last()


async def test_a_search_for_the_word_page_is_still_a_search(stored, tmp_path):
    await ingest_listing(stored, tmp_path, [_item("2604.00010", "Page Tables for Models", "Paging 2 models.",
                                                  ["Ada Lovelace"], 1)], name="page.json")
    bot = make_bot(stored)
    await bot.console.say("/papers search page tables")
    assert "\n 1. Page Tables for Models" in bot.last()
    await bot.console.say("/papers search models page tables")
    assert "\n 1. Page Tables for Models" in bot.last()
    await bot.console.say("/papers search page 2")
    assert "\n 1. Page Tables for Models" in bot.last()


async def test_search_says_when_more_papers_match_than_it_shows(stored):
    """Ten results looked like everything there was: nothing said that more papers matched."""
    bot = make_bot(stored)
    await bot.console.say("/papers search LoRA adapters")
    assert "\n 1. LoRA Adapters Revisited" in bot.last() and "More than" not in bot.last()


async def test_show_says_published_for_a_paper_no_daily_list_carried(stored):
    """A paper fetched from the arXiv API (never on a daily list) was "Listed" on the day it was published."""
    await Ingestor(stored, today=lambda: TODAY).ingest(parse_source(str(FIXTURES / "arxiv_query_sample.xml")))
    bot = make_bot(stored)
    await bot.console.say("/papers show 1309.4668")
    assert "Electron cloud observations" in bot.last() and "· Published Wed Sep 18, 2013" in bot.last()
    await bot.console.say("/papers show 2604.00002")
    assert "· Listed Fri Apr 17, 2026" in bot.last()


def paperboy_titles(env: dict[str, str], query: str, *args: str) -> list[str]:
    """The titles `paperboy search` lists for the query, in its order."""
    found = paperboy("search", query, "--json", "--limit", "1000", *args, env=env)
    assert found.code == 0, found.err
    return [record["title"] for record in json.loads(found.out)]


def test_paperboy_search_pages_with_offset(db_env, tmp_path):
    """`paperboy search` had `--limit` and no way to see what came after: `--offset N` skips the first N, and the
    list numbers on from N + 1."""
    listing = tmp_path / "api.json"
    listing.write_text(json.dumps([_item(f"2604.0{n:04d}", f"Kernel Study {n}", "Kernels for GPUs.", ["A B"], n)
                                   for n in range(1, 8)]))
    assert paperboy("ingest", str(listing), env=db_env).code == 0
    whole = paperboy("search", "kernels", "--json", env=db_env)
    every = [record["title"] for record in json.loads(whole.out)]
    assert len(every) == 7
    later = paperboy("search", "kernels", "--limit", "3", "--offset", "3", env=db_env)
    assert later.code == 0, later.err
    numbered = [line for line in later.out.splitlines() if line[:3].strip().rstrip(".").isdigit()]
    assert [line.split(". ", 1)[0].strip() for line in numbered] == ["4", "5", "6"]
    assert all(title in line for title, line in zip(every[3:6], numbered, strict=True))
    past = paperboy("search", "kernels", "--offset", "7", env=db_env)
    assert past.code == 0 and past.out.strip() == "Nothing found for 'kernels' after the first 7."
    assert paperboy("search", "kernels", "--offset", "-1", env=db_env).code == 2
    named = paperboy("search", "#1", "--offset", "1", env=db_env)
    assert named.code == 0 and named.out.strip() == "Nothing found for '#1' after the first 1."


def test_paperboy_search_refuses_a_period_that_ends_before_it_starts(db_env):
    """`--since 2026-04-20 --until 2026-04-01` answered "Nothing found", as if no paper matched the words."""
    result = paperboy("search", "diffusion", "--since", "2026-04-20", "--until", "2026-04-01", env=db_env)
    assert result.code == 2 and "--since 2026-04-20 is after --until 2026-04-01" in result.err


async def test_search_pages_are_slices_of_one_ranking_however_many_papers_match(db):
    """Each page fetched as many candidates as it needed ((page + 1) × 10, ten times over): with hundreds of matches
    page 3 ranked a larger pool than page 1, so a paper could show twice or never. Pages now slice one pool: pages 1
    to 3 are disjoint and together the first 30 of the whole ranking; past the pool the answer says so."""
    # 250 short abstracts saying "quasar" once rank first in the engine (it weighs length); 100 long ones saying it
    # three times rank first in the ranking (it does not), but only a pool past the first 250 holds them.
    rng = random.Random(7)
    filler = "theory data model system result method approach analysis experiment".split()
    papers = []
    for n in range(350):
        words = [rng.choice(filler) for _ in range(10 if n < 250 else 1500)]
        for _ in range(1 if n < 250 else 3):
            words.insert(rng.randrange(len(words) + 1), "quasar")
        papers.append(ParsedPaper(title=f"Study {n} of {rng.choice(filler)}", abstract=" ".join(words),
                                  source="hf-api", arxiv_id=f"2604.{n + 10000:05d}", listed_on=TODAY))
    bot = make_bot(db)
    async with db.session() as s:
        await store_papers(s, papers)
        whole = [r.paper.title for r in await search_papers(s, bot.core.services.matcher, "quasar", limit=30)]
    shown: dict[int, str] = {}
    for page in (1, 2, 3):
        await bot.console.say(f"/papers search quasar page {page}")
        titles = _numbered_titles(bot.last())
        assert sorted(titles) == list(range(10 * page - 9, 10 * page + 1)), bot.last()
        assert not set(titles.values()) & set(shown.values()), page
        shown.update(titles)
    assert [shown[n] for n in sorted(shown)] == whole
    await bot.console.say("/papers search quasar page 20")  # the pool's last page says the pool ends there
    assert len(_numbered_titles(bot.last())) == 10 and "page 21" not in bot.last()
    assert bot.last().endswith("These are the last of the best 200 matches pages show; more papers match: "
                               "add words to narrow the search.")
    await bot.console.say("/papers search quasar page 21")
    assert bot.last().endswith("More than 200 papers match “quasar”; pages show the best 200 (pages 1 to 20): "
                               "add words to narrow the search.")
