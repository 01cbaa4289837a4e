"""Listings are parsed as a stream (a block of the file at a time): what a user sees may not depend on where
the blocks end, and the fast paths of ingesting must give exactly what the plain code gives."""

from __future__ import annotations

import io
import json
import random
from datetime import date

import pytest

from bot.compounds import COMPOUND_RE, joined_compounds
from bot.errors import ParseError
from bot.ingestion import listing_reader
from bot.ingestion.formats import iter_listing, parse_listing
from bot.ingestion.json_items import JsonText
from bot.papers import collapse
from tests.cli_runner import paperboy
from tests.conftest import FIXTURES, SAMPLES

TODAY = date(2026, 11, 23)
LISTINGS = sorted(SAMPLES.glob("*.txt")) + [FIXTURES / name for name in (
    "hf_daily_papers_sample_2024-10.json", "hf_daily_papers_item_2026-03.json", "hf_paper_objects_2025-09.json",
    "arxiv_query_sample.xml", "arxiv_query_sample_legacy_2025-08.xml", "arxiv_rss_item_from_spec.xml")]
SPACES = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())


def small_blocks(monkeypatch, size: int) -> None:
    monkeypatch.setattr(listing_reader, "BLOCK_BYTES", size)
    monkeypatch.setattr(listing_reader, "SNIFF_BYTES", max(size, 64))


def as_records(papers):
    return [vars(p) for p in papers]


@pytest.mark.parametrize("size", [1, 7, 4096])
def test_every_format_parses_the_same_whatever_the_block_size(monkeypatch, size):
    whole = {path.name: as_records(parse_listing(path.read_bytes(), where=path.name, today=TODAY))
             for path in LISTINGS}
    small_blocks(monkeypatch, size)
    for path in LISTINGS:
        data = path.read_bytes()
        # Windows line ends and non-ASCII text split across blocks must not matter either, nor UTF-16 (its
        # two-byte units split by an odd block size).
        variants = [data, data.replace(b"\n", b"\r\n")] if path.suffix == ".txt" else [data]
        if size == 7:
            variants.append(data.decode("utf-8").encode("utf-16"))
        for variant in variants:
            got = as_records(parse_listing(variant, where=path.name, today=TODAY))
            assert got == whole[path.name], (path.name, size)


def test_a_bad_byte_deep_in_a_big_file_is_reported_at_its_offset(monkeypatch):
    small_blocks(monkeypatch, 1000)
    data = bytearray((SAMPLES / "000_d83119ce0196f631.txt").read_bytes())
    offset = len(data) - 500
    data[offset] = 0xFF
    with pytest.raises(ParseError, match=rf"^p: not UTF-8 text \(bad byte at offset {offset}\)$"):
        parse_listing(bytes(data), where="p", today=TODAY)


def test_a_listing_that_grows_past_the_limit_while_read_is_refused():
    data = (FIXTURES / "hf_daily_papers_sample_2024-10.json").read_bytes()
    papers = iter_listing(io.BytesIO(data), where="grown.json", today=TODAY, limit=len(data) - 1)
    with pytest.raises(ParseError, match=r"^grown.json: too large \(limit 0 MB\)$"):
        list(papers)


def _loads_message(text: str) -> object:
    """What `json.loads` makes of a document, as the parser would put it."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        return f"invalid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
    except RecursionError:
        return "invalid JSON (nested too deeply)"


def _streamed(text: str, size: int) -> object:
    document = JsonText((text[i:i + size] for i in range(0, len(text), size)), "w")
    try:
        return list(document.items()) if document.is_array() else json.loads(document.whole())
    except ParseError as exc:
        return str(exc).removeprefix("w: ")


def test_json_lists_read_an_item_at_a_time_read_as_json_loads_reads_them():
    rnd = random.Random(13)
    alphabet = '[]{}",:0123456789.eE-+ \n\ttrufalsn\\ab'
    documents = ['[1, 2.5, "x", {"a": [1, 2]}, null, true, 1e5, -0.5E-3]', "[]", "[1,]", "[1 2", "[1]x",
                 ' \n [\n{"a" 1}]', '[{"a": "\\u00e9\\ud83d\\ude00"}]', "[2.x]", "[NaN, -Infinity]", "[" * 3000]
    documents += ["[" + "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 14))) for _ in range(3000)]
    documents.append(json.dumps([{"id": n, "text": "line\n" * (n % 5)} for n in range(30_000)]) + "\n]")
    for text in documents:
        expected = _loads_message(text)
        for size in (1, 3, 1000) if len(text) < 100 else (4096, 70_000):
            assert _streamed(text, size) == expected, (text[:40], size)


def test_collapse_and_compounds_match_the_plain_word_split():
    rnd = random.Random(7)
    alphabet = "ab-_ 1é/." + SPACES
    for _ in range(20_000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 24)))
        assert collapse(text) == " ".join(text.split())
        words = [w for w in text.split() if "-" in w]
        plain = [m.group(0).replace("-", "") for w in words if (m := COMPOUND_RE.search(w))]
        assert joined_compounds(text) == list(dict.fromkeys(plain)), repr(text)


ATOM = b'<feed xmlns="http://www.w3.org/2005/Atom">%s</feed>'
ENTRY = (b"<entry><id>http://arxiv.org/abs/2401.%05dv1</id><title>Paper %d</title>"
         b"<summary>About things.</summary>%s</entry>")


@pytest.mark.parametrize(("data", "message"), [
    (b'<?xml version="1.0"?><!DOCTYPE f [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
     + ATOM % (ENTRY % (1, 1, b"<author><name>&x;</name></author>")), r"invalid XML \(undefined entity &x;"),
    (b'<?xml version="1.0"?><!DOCTYPE f [<!ENTITY a "aaaaaaaaaa">'
     + b"".join(b'<!ENTITY %s "%s">' % (b"a" * (k + 1), b"&" + b"a" * k + b";" * 1 + (b"&" + b"a" * k + b";") * 9)
                for k in range(1, 9))
     + b"]>" + ATOM % (ENTRY % (1, 1, b"<author><name>&aaaaaaaaa;</name></author>")),
     r"invalid XML \(limit on input amplification factor"),
    (ATOM % (ENTRY % (1, 1, b"") + ENTRY % (2, 2, b"<x/>" * 100_001)), r"entry 1 has more than 100,000 elements"),
    (ATOM % (b"<x>" * 300 + b"</x>" * 300), r"invalid XML \(nested more than 200 deep\)"),
    (b"<rss><item/></rss>", r"not an RSS feed"),
])
def test_hostile_feeds_are_one_clear_error(monkeypatch, data, message):
    small_blocks(monkeypatch, 4096)
    with pytest.raises(ParseError, match=message):
        parse_listing(data, where="feed.xml", today=TODAY)


def test_a_feed_read_as_a_stream_lets_each_entry_go(monkeypatch):
    """50,000 entries (about 10 MB) parse one at a time: the parser never holds them all."""
    import gc
    import xml.etree.ElementTree as ET

    small_blocks(monkeypatch, 65536)
    data = ATOM % b"".join(ENTRY % (n, n, b"") for n in range(50_000))
    papers = iter_listing(io.BytesIO(data), where="big.xml", today=TODAY)
    for n, paper in enumerate(papers):
        assert paper.arxiv_id == f"2401.{n:05d}"
        if n == 40_000:
            gc.collect()
            alive = sum(1 for obj in gc.get_objects() if isinstance(obj, ET.Element))
            assert alive < 10_000  # a block's worth (all of them: 200,000)


def test_a_source_malformed_after_several_stored_chunks_changes_nothing(db_env, tmp_path):
    """Chunks are stored as the file is read; JSON broken near the end must still undo all of them (a single
    item that is not a paper is only skipped: tests/test_ingest_bad_items.py)."""
    items = [{"paper": {"id": f"2401.{n:05d}", "title": f"Paper {n}", "summary": f"About {n} things."}}
             for n in range(5_000)]
    bad = tmp_path / "late.json"
    bad.write_text(json.dumps(items)[:-1] + ', {"paper": }]')
    result = paperboy("ingest", str(bad), env=db_env)
    assert result.code == 2 and result.err.strip().startswith(f"error: {bad}: invalid JSON (Expecting value")
    export = paperboy("papers", "export", "--format", "jsonl", env=db_env)
    assert export.code == 0 and export.out.strip() == ""
    good = tmp_path / "good.json"
    good.write_text(json.dumps(items))
    result = paperboy("ingest", str(good), env=db_env)
    assert result.code == 0 and result.out.strip() == "5,000 papers: 5,000 new, 0 updated, 0 unchanged"
