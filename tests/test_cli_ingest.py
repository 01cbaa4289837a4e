"""`paperboy ingest`, `papers list/show/export` through a real process, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli_runner import paperboy
from tests.conftest import FIXTURES, SAMPLES


def export(env):
    result = paperboy("papers", "export", "--format", "jsonl", env=env)
    assert result.code == 0, result.err
    return [json.loads(line) for line in result.out.splitlines()]


def test_sample_ingest_is_idempotent_and_exports_every_field(db_env):
    first = paperboy("ingest", "--sample", env=db_env)
    assert first.code == 0, first.err
    assert "255 new" in first.out.splitlines()[-1]
    again = paperboy("ingest", "--sample", env=db_env)
    assert again.out.splitlines()[-1] == "261 papers: 0 new, 0 updated, 261 unchanged"
    records = export(db_env)
    assert len(records) == 255
    required = {"arxiv_id", "title", "abstract", "authors", "author_count", "organization", "published_on",
                "upvotes", "url", "sources"}
    assert all(required <= set(r) for r in records)
    rzen = next(r for r in records if r["title"].startswith("RzenEmbed"))
    assert (rzen["author_count"], rzen["published_on"], rzen["authors"]) == (7, "2025-10-31", [])


def test_files_of_every_format_and_lookup(db_env, tmp_path):
    files = [str(FIXTURES / n) for n in ("hf_daily_papers_sample_2024-10.json", "arxiv_query_sample.xml",
                                          "arxiv_rss_item_from_spec.xml")]
    result = paperboy("ingest", *files, env=db_env)
    assert result.code == 0, result.err
    assert result.out.strip().endswith("14 papers: 14 new, 0 updated, 0 unchanged")
    show = paperboy("papers", "show", "https://arxiv.org/abs/2410.17243v1", env=db_env)
    assert show.code == 0 and "Breaking the Memory Barrier" in show.out and "Zesen Cheng" in show.out
    listing = paperboy("papers", "list", "--date", "2024-10-25", "--limit", "2", env=db_env)
    assert listing.code == 0 and "Breaking the Memory" in listing.out
    assert "Mass concentration" not in listing.out
    missing = paperboy("papers", "show", "2499.00001", env=db_env)
    assert missing.code == 2 and missing.err.strip() == "error: no stored paper matches '2499.00001'"


BAD_INPUTS = {
    "empty.txt": b"",
    "binary.bin": bytes(range(256)) * 64,
    "truncated.json": (FIXTURES / "hf_daily_papers_sample_2024-10.json").read_bytes()[:5000],
    "error.xml": (FIXTURES / "arxiv_error_feed.xml").read_bytes(),
    "page.html": b"<!doctype html>\n<html><head><title>Daily Papers</title></head><body></body></html>",
    "notes.txt": b"Shopping list\nmilk\neggs\n",
    "truncated_page.txt": "\n".join((SAMPLES / "000_d83119ce0196f631.txt").read_text().splitlines()[:9]).encode(),
}


def test_bad_source_is_one_line_exit_2_and_changes_nothing(db_env, tmp_path):
    """Every kind of bad file, one after the other on one stored paper (a process each: ~2 s of start-up)."""
    one = paperboy("ingest", str(FIXTURES / "hf_paper_objects_2025-09.json"), env=db_env)
    assert one.code == 0 and one.out.strip() == "1 paper: 1 new, 0 updated, 0 unchanged"  # not "1 papers"
    before = export(db_env)
    assert before
    for name in sorted(BAD_INPUTS):
        bad = tmp_path / name
        bad.write_bytes(BAD_INPUTS[name])
        result = paperboy("ingest", str(bad), env=db_env)
        assert result.code == 2, (name, result.out, result.err)
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {bad}") and "Traceback" not in result.err, name
        assert result.out == "", (name, result.out)  # not "0 papers: 0 new, …" beside the error
    assert export(db_env) == before


def test_a_day_in_the_future_is_one_line_and_asks_nobody(db_env):
    """`ingest hf:2099-01-01` said "0 papers: 0 new, …" (Hugging Face answers an empty list), as if that day had
    been fetched and had no papers."""
    from tests.fakes.http_server import FakeServer, Reply

    with FakeServer() as hf:
        hf.route("GET", "/api/daily_papers", Reply(200, b"[]"))
        env = {**db_env, "PAPERBOY_HF_BASE_URL": hf.url}
        future = paperboy("ingest", "hf:2099-01-01", env=env)
        assert future.code == 2 and future.out == "", future.out
        line = future.err.strip()
        assert line.startswith("error: hf:2099-01-01 is in the future (today is 20") and "\n" not in line, line
        assert hf.requests == []
        today = paperboy("ingest", "hf:today", env=env)  # a day with nothing yet is not an error
    assert today.code == 0 and today.out.strip() == "0 papers: 0 new, 0 updated, 0 unchanged", today.err
    assert len(hf.requests) == 1


def test_a_day_before_hugging_face_listed_papers_is_one_line_and_asks_nobody(db_env):
    """`ingest hf:0001-01-01` (or any day before Hugging Face's daily papers began, in May 2023) asked Hugging Face
    and said "0 papers", as if that day had been fetched and had none."""
    from tests.fakes.http_server import FakeServer, Reply

    with FakeServer() as hf:
        hf.route("GET", "/api/daily_papers", Reply(200, b"[]"))
        env = {**db_env, "PAPERBOY_HF_BASE_URL": hf.url}
        for day in ("0001-01-01", "1999-12-31", "2023-04-30"):
            result = paperboy("ingest", f"hf:{day}", env=env)
            assert result.code == 2 and result.out == "", (day, result.out)
            line = result.err.strip()
            assert line == (f"error: hf:{day} is before Hugging Face's daily papers began (2023-05-01): "
                            "nothing is listed for it"), line
        assert hf.requests == []
        first = paperboy("ingest", "hf:2023-05-01", env=env)
    assert first.code == 0 and first.out.strip() == "0 papers: 0 new, 0 updated, 0 unchanged", first.err
    assert len(hf.requests) == 1


def test_an_error_line_carries_no_terminal_escapes(db_env, tmp_path):
    """A file named by someone else (`paperboy ingest downloads/*`) or an API's error text is printed in the
    error line: its escape sequences recoloured or cleared the terminal."""
    named = tmp_path / "\x1b[2J\x1b[31mnotes.txt"
    named.write_text("just notes\n")
    error = tmp_path / "error.json"
    error.write_text(json.dumps({"error": "Bad date \x1b]8;;http://evil.example\x07click\x1b]8;;\x07"}))
    good = tmp_path / "\x1b[2Jgood.json"
    good.write_text(json.dumps([{"paper": {"id": "2401.00001", "title": "Fine", "summary": "A fine abstract."}},
                                {"paper": {"id": "2401.00002", "title": "No summary"}}]))
    result = paperboy("ingest", str(named), str(error), str(good), env=db_env)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert lines.pop() == f"{tmp_path}/[2Jgood.json: 1 paper (1 new, 0 updated, 0 unchanged, 1 skipped)"
    assert lines.pop() == f"warning: {tmp_path}/[2Jgood.json: 1 skipped: no summary at item 1"
    assert lines == [f"error: {tmp_path}/[2J[31mnotes.txt: not a paper listing (expected an HF papers page, HF JSON, "
                     "or arXiv Atom/RSS)",
                     f"error: {error}: the API returned an error: Bad date ]8;;http://evil.exampleclick]8;;"]


def test_bad_source_among_good_ones_is_rolled_back_alone(db_env, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('[{"paper": {"id": "2401.00001", "title": "Fine"}}]')
    result = paperboy("ingest", str(FIXTURES / "hf_paper_objects_2025-09.json"), str(bad), env=db_env)
    assert result.code == 2 and "item 0 has no summary" in result.err
    assert [r["arxiv_id"] for r in export(db_env)] == ["2509.04664"]


@pytest.mark.parametrize("args", [
    ("ingest", "no/such/file.txt"),
    ("ingest", "hf:2026-13-45"),
    ("ingest", "hf:yesterday"),
    ("ingest",),
    ("papers", "list", "--date", "tomorrow"),
    ("papers", "export", "--format", "xml"),
])
def test_bad_arguments_are_one_line(db_env, args):
    result = paperboy(*args, env=db_env)
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.strip().startswith("error:") or "Usage" in result.err


def test_unreachable_database_is_one_line():
    result = paperboy("papers", "list", env={"PAPERBOY_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    assert result.code == 2
    assert result.err.strip().startswith("error: cannot open database postgresql+asyncpg://nobody@127.0.0.1:1/none")
    assert len(result.err.strip().splitlines()) == 1


def _item(n, **paper):
    base = {"id": f"2401.{n:05d}", "title": f"A storable paper number {n}",
            "summary": f"An abstract long enough to be a real abstract, for paper {n}."}
    return {"paper": {**base, **paper}}


def test_poisoned_items_are_normalised_or_skipped_and_the_rest_is_stored(db_env, tmp_path):
    """Each of these aborted the whole source on PostgreSQL (or on both) with a traceback."""
    items = [
        _item(0),
        _item(1, upvotes=2**31),  # int4 overflow on PostgreSQL: the count is unknown, the paper is kept
        _item(2, upvotes=10**20),  # too large even for SQLite
        _item(3, title="x" * 18_000),  # index row too big
        _item(4, title="Nul\x00 in the title", summary="And one\x00 in an abstract that is long enough."),
        _item(5, summary="word " * 250_000),  # over 1 MB: beyond PostgreSQL's tsvector
        _item(6, id="a" + "b" * 62 + "/0101001"),  # an old-style id over 64 characters
        _item(7, title="A lone \ud800 surrogate"),  # refused by both databases' UTF-8
        _item(8, authors=[{"name": "Ada\x00 Lovelace"}], ai_summary="x\x00" * 10_000),
        _item(9),
    ]
    source = tmp_path / "poisoned.json"
    source.write_text(json.dumps(items))
    result = paperboy("ingest", str(source), env=db_env)
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    assert result.err.strip() == (f"warning: {source}: 3 skipped: title too long at item 3; abstract too long "
                                  "at item 5; arXiv id too long at item 6")
    assert result.out.strip().endswith("7 papers: 7 new, 0 updated, 0 unchanged, 3 skipped")
    stored = {r["arxiv_id"]: r for r in export(db_env)}
    assert sorted(stored) == [f"2401.{n:05d}" for n in (0, 1, 2, 4, 7, 8, 9)]
    assert stored["2401.00001"]["upvotes"] is None and stored["2401.00002"]["upvotes"] is None
    assert stored["2401.00004"]["title"] == "Nul in the title"
    assert stored["2401.00007"]["title"] == "A lone \ufffd surrogate"
    assert stored["2401.00008"]["authors"] == ["Ada Lovelace"]
    again = paperboy("ingest", str(source), env=db_env)
    assert again.out.strip().endswith("7 papers: 0 new, 0 updated, 7 unchanged, 3 skipped")


@pytest.mark.parametrize(("content", "message"), [
    ("[" * 100_000 + "]" * 100_000, "invalid JSON (nested too deeply)"),
    ('[{"paper": {"id": "2401.00001", "title": "T", "summary": "S", "upvotes": ' + "9" * 5000 + "}}]",
     "invalid JSON (a number of more than 4,300 digits)"),
])
def test_hostile_json_is_one_line_and_changes_nothing(db_env, tmp_path, content, message):
    source = tmp_path / "hostile.json"
    source.write_text(content)
    result = paperboy("ingest", str(source), env=db_env)
    assert result.code == 2
    assert result.err.strip() == f"error: {source}: {message}"
    assert export(db_env) == []


def test_pipes_and_devices_are_refused_at_once(db_env, tmp_path):
    fifo = tmp_path / "listing.fifo"
    os.mkfifo(fifo)
    for path, expected in ((fifo, "not a regular file"), (Path("/dev/zero"), "not a regular file"),
                           (tmp_path, "is a directory")):
        result = paperboy("ingest", str(path), env=db_env, timeout=60)
        assert result.code == 2 and result.err.strip().startswith(f"error: {path}: {expected}"), result.err
    assert export(db_env) == []


def test_a_file_over_the_size_limit_is_refused_before_parsing(db_env, tmp_path):
    from bot.ingestion.formats import MAX_LISTING_BYTES

    big = tmp_path / "big.json"
    with big.open("wb") as out:
        out.write(b"[")
        out.truncate(MAX_LISTING_BYTES + 1)  # sparse: the size without writing it
    result = paperboy("ingest", str(big), env=db_env)
    limit = MAX_LISTING_BYTES // 1_000_000
    assert result.code == 2 and result.err.strip() == f"error: {big}: too large (limit {limit} MB)"
