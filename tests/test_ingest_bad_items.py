"""One mangled item in a recorded payload (HF Daily Papers API, arXiv API, arXiv RSS) is skipped with a counted
warning and the rest of its source is stored, through `paperboy ingest` against local servers and files."""

from __future__ import annotations

import json

from tests.cli_runner import paperboy
from tests.conftest import FIXTURES
from tests.fakes.http_server import FakeServer, Reply
from tests.test_cli_ingest import export


def test_one_mangled_item_is_skipped_with_a_warning_in_every_feed_format(db_env, tmp_path):
    hf = json.loads((FIXTURES / "hf_daily_papers_sample_2024-10.json").read_text())
    del hf[1]["paper"]["summary"]
    atom = (FIXTURES / "arxiv_query_sample.xml").read_text()
    assert atom.count("<id>http://arxiv.org/abs/1309.4668v1</id>") == 1
    atom_file = tmp_path / "query.xml"
    atom_file.write_text(atom.replace("<id>http://arxiv.org/abs/1309.4668v1</id>", "<id>urn:nothing</id>"))
    rss = (FIXTURES / "arxiv_rss_item_from_spec.xml").read_text()
    start, end = rss.index("<item>"), rss.index("</item>") + len("</item>")
    item = rss[start:end]
    title_start, title_end = item.index("<title>"), item.index("</title>") + len("</title>")
    untitled = item[:title_start] + "<title></title>" + item[title_end:]
    rss_file = tmp_path / "feed.rss"
    rss_file.write_text(rss[:end] + untitled + rss[end:])  # the recorded item, then a copy without its title
    with FakeServer() as server:
        server.route("GET", "/api/daily_papers", Reply(body=json.dumps(hf).encode()))
        result = paperboy("ingest", "hf:2024-10-25", str(atom_file), str(rss_file),
                          env={**db_env, "PAPERBOY_HF_BASE_URL": server.url})
    assert result.code == 0, result.err
    assert [line for line in result.err.splitlines() if line.startswith("warning:")] == [
        "warning: hf:2024-10-25: 1 skipped: no summary at item 1",
        f"warning: {atom_file}: 1 skipped: no arXiv id ('urn:nothing') at entry 1",
        f"warning: {rss_file}: 1 skipped: no title or abstract at item 1",
    ]
    assert result.out.strip().endswith("12 papers: 12 new, 0 updated, 0 unchanged, 3 skipped")
    stored = {r["arxiv_id"] for r in export(db_env)}
    assert {hf[0]["paper"]["id"], hf[2]["paper"]["id"]} <= stored and hf[1]["paper"]["id"] not in stored
    assert "1309.4668" not in stored and len(stored) == 12


# Characters no reader sees, which web pages and PDFs leave in titles and abstracts: soft hyphen, zero-width space,
# word joiner, byte order mark, and bidi controls (marks, embeddings, an override, isolates).
INVISIBLE = "\u00ad\u200b\u2060\ufeff\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c"


def test_invisible_characters_in_a_listing_are_dropped_so_topics_and_search_find_the_words(db_env, tmp_path):
    """A soft hyphen ("Atten\u00adtion") split the word for the matcher and full-text search: following
    "attention" never found the paper. Every character of the invisible kind goes at ingestion, wherever it sits;
    joiners that shape scripts and emoji (ZWJ, ZWNJ) stay."""
    marks = iter(INVISIBLE * 4)
    title = "".join(ch + next(marks) if ch in "tn" else ch for ch in "Sparse Attention for Long Documents")
    abstract = ("We make atten\u00adtion sparse: sparse atten\u200btion scales to long documents. "
                "Tested on \u0915\u094d\u200d\u0937 and \U0001f469\u200d\U0001f4bb text, written in "
                "\u2067\u05e2\u05d1\u05e8\u05d9\u05ea\u2069 too.")
    api = [{"paper": {"id": "2501.01234", "title": title, "summary": abstract,
                      "authors": [{"name": "Ann\u00ad Smith\u200b"}], "publishedAt": "2026-03-06T00:00:00Z"}}]
    listing = tmp_path / "api.json"
    listing.write_text(json.dumps(api))
    result = paperboy("ingest", str(listing), env=db_env)
    assert result.code == 0, result.err
    (record,) = export(db_env)
    assert record["title"] == "Sparse Attention for Long Documents"
    assert record["abstract"] == ("We make attention sparse: sparse attention scales to long documents. Tested on "
                                  "\u0915\u094d\u200d\u0937 and \U0001f469\u200d\U0001f4bb text, written in "
                                  "\u05e2\u05d1\u05e8\u05d9\u05ea too.")
    assert record["authors"] == ["Ann Smith"]
    matched = paperboy("topics", "match", "attention", "--all", "--json", env=db_env)
    assert matched.code == 0, matched.err
    assert [m["arxiv_id"] for m in json.loads(matched.out)] == ["2501.01234"]
    found = paperboy("search", "attention", "--json", env=db_env)
    assert found.code == 0 and [m["arxiv_id"] for m in json.loads(found.out)] == ["2501.01234"]
