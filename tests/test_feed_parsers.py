"""HF Daily Papers JSON and arXiv Atom/RSS: real recorded payloads, and every malformed shape we know of."""

from __future__ import annotations

import json
from datetime import date
from email.utils import parsedate_to_datetime
from xml.sax.saxutils import escape

import pytest

from bot.errors import ParseError
from bot.ingestion.formats import parse_listing
from bot.papers import normalize_title, parse_arxiv_ref
from tests.conftest import FIXTURES

TODAY = date(2026, 11, 23)


def parse(name: str, **kw):
    return parse_listing((FIXTURES / name).read_bytes(), where=name, today=TODAY, **kw)


def test_hf_2024_response():
    papers = parse("hf_daily_papers_sample_2024-10.json")
    raw = json.loads((FIXTURES / "hf_daily_papers_sample_2024-10.json").read_text())
    assert [p.arxiv_id for p in papers] == [item["paper"]["id"] for item in raw]
    first = papers[0]
    assert first.title == "Breaking the Memory Barrier: Near Infinite Batch Size Scaling for Contrastive Loss"
    assert "\n" not in first.abstract and "  " not in first.abstract
    assert first.abstract.startswith("Contrastive loss is a powerful approach for representation learning, where "
                                     "larger batch sizes")
    assert first.authors[:2] == ["Zesen Cheng", "Hang Zhang"] and first.author_count == 9
    assert (first.upvotes, first.published_on, first.listed_on) == (64, date(2024, 10, 22), date(2024, 10, 25))


def test_hf_2026_item_with_modern_fields():
    (paper,) = parse("hf_daily_papers_item_2026-03.json")
    assert paper.arxiv_id == "2602.23229"
    assert paper.organization == "Multimedia and Human Understanding Group"
    assert paper.listed_on == date(2026, 3, 6) and paper.upvotes == 10
    assert paper.extra["github_repo"] == "https://github.com/marco-garosi/CIRCLE"


def test_hf_bare_paper_object():
    (paper,) = parse("hf_paper_objects_2025-09.json")
    assert (paper.arxiv_id, paper.title) == ("2509.04664", "Why Language Models Hallucinate")


def test_hf_only_id_title_summary_are_required_and_ids_stay_strings():
    minimal = json.dumps([{"paper": {"id": "2401.10100", "title": "T", "summary": "An abstract."}}]).encode()
    (paper,) = parse_listing(minimal, where="m.json", today=TODAY)
    assert paper.arxiv_id == "2401.10100"  # not 2401.101
    assert paper.authors is None and paper.upvotes is None
    with pytest.raises(ParseError, match="item 0 has no summary"):
        parse_listing(b'[{"paper": {"id": "2401.1", "title": "T"}}]', where="m.json", today=TODAY)


def test_arxiv_atom_new_and_legacy_backends():
    for name in ("arxiv_query_sample.xml", "arxiv_query_sample_legacy_2025-08.xml"):
        papers = parse(name)
        assert len(papers) == 10
        for p in papers:
            assert p.arxiv_id and "v" not in p.arxiv_id.split("/")[-1]
            assert p.version is not None and p.authors
            assert "\n" not in p.title and "  " not in p.title
    legacy = parse("arxiv_query_sample_legacy_2025-08.xml")
    prelc = next(p for p in legacy if p.arxiv_id == "hep-ph/9411242")
    assert prelc.title == ("Proton-ring and Electron-linac Collider (PRELC) as a (first) TeV-rangeelectron-proton "
                           "or photon-proton collider")
    assert prelc.authors == ["Raimo Vuopionperä"]


def test_arxiv_empty_and_partial_responses():
    assert parse("arxiv_query_empty.xml") == []
    assert parse("arxiv_query_empty_legacy_2025-08.xml") == []  # says totalResults=1, holds no entry
    (only,) = parse("arxiv_query_idlist_partial.xml")
    assert (only.arxiv_id, only.version, only.authors) == ("2201.13452", 1, ["Hong-Ming Yin", "Jun Zou"])


def test_arxiv_rss():
    assert parse("arxiv_rss_empty_holiday_2025-12-31.xml") == []
    (item,) = parse("arxiv_rss_item_from_spec.xml")
    assert (item.arxiv_id, item.version) == ("2203.01250", 3)
    assert item.abstract.startswith("We consider first order local minimization problems")
    assert item.authors == ["Antonin Monteil", "Paul Pegon"]


def _rss_with(announce_types: list[str]) -> bytes:
    """The spec's feed with one item per announce type (each a paper of its own), as a daily feed lists them."""
    feed = (FIXTURES / "arxiv_rss_item_from_spec.xml").read_text()
    head, rest = feed.split("<item>", 1)
    item, tail = rest.split("</item>", 1)
    items = []
    for n, kind in enumerate(announce_types):
        one = item.replace("2203.01250", f"2203.0125{n}").replace("replace-cross", kind)
        items.append(f"<item>{one}</item>")
    return (head + "".join(items) + tail).encode()


def test_arxiv_rss_replacements_are_no_paper_of_the_day():
    """pubDate is the day of the announcement: for a replacement (an old paper's new version) it is not the day
    the paper was listed, and a 2022 paper revised in 2024 must not join the 2024 digest as a new paper."""
    papers = parse_listing(_rss_with(["new", "cross", "replace", "replace-cross"]), where="rss", today=TODAY)
    assert [(p.extra["announce_type"], p.listed_on) for p in papers] == [
        ("new", date(2024, 8, 23)), ("cross", date(2024, 8, 23)), ("replace", None), ("replace-cross", None)]
    assert [p.version for p in papers] == [3, 3, 3, 3]
    # The announce type in the description counts when the element is missing.
    without = _rss_with(["replace"]).replace(b"<arxiv:announce_type>replace</arxiv:announce_type>", b"")
    (paper,) = parse_listing(without, where="rss", today=TODAY)
    assert paper.listed_on is None and paper.abstract.startswith("We consider first order")


def _as_atom(rss: bytes) -> bytes:
    """The same daily feed as rss.arxiv.org/atom/CAT serves it: an entry per item, its OAI identifier as the id,
    the description as the summary, pubDate as <published>, and dc:creator kept."""
    import xml.etree.ElementTree as ET

    ns = {"arxiv": "http://arxiv.org/schemas/atom", "dc": "http://purl.org/dc/elements/1.1/"}
    entries = []
    for item in ET.fromstring(rss).iter("item"):
        def text(tag: str, item: ET.Element = item) -> str:
            found = item.find(tag, ns)
            return escape(found.text or "") if found is not None else ""

        categories = "".join(f'<category term="{c.text}"/>' for c in item.findall("category"))
        entries.append(
            f"<entry><id>{text('guid')}</id><title>{text('title')}</title>"
            f'<link href="{text("link")}" rel="alternate" type="text/html"/>'
            f"<summary>{text('description')}</summary>{categories}"
            f"<published>{parsedate_to_datetime(text('pubDate')).isoformat()}</published>"
            f"<arxiv:announce_type>{text('arxiv:announce_type')}</arxiv:announce_type>"
            f"<dc:creator>{text('dc:creator')}</dc:creator></entry>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
            'xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            "<id>http://rss.arxiv.org/atom/math.OC</id><title>math.OC updates on arXiv.org</title>"
            + "".join(entries) + "</feed>").encode()


BLOG = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>My blog</title><link>https://blog.example.com</link><description>Posts</description>
<item><title>Ten tips for better sleep</title><link>https://blog.example.com/sleep</link>
<description>Sleep is important, and here are ten tips for better sleep at night.</description>
<pubDate>Mon, 06 Jan 2025 10:00:00 GMT</pubDate><guid>https://blog.example.com/sleep</guid></item>
</channel></rss>"""


def test_an_rss_feed_that_is_not_arxiv_is_not_a_listing_of_papers():
    """Any blog's or journal's RSS was stored as dated "papers" (and went into digests); an item must name its
    arXiv paper, as an Atom entry must."""
    with pytest.raises(ParseError, match=r"^blog.xml: item 0 has no arXiv id \('https://blog\.example\.com/sleep'\)$"):
        parse_listing(BLOG, where="blog.xml", today=TODAY)
    (arxiv,) = parse("arxiv_rss_item_from_spec.xml")
    guid_only = (FIXTURES / "arxiv_rss_item_from_spec.xml").read_text().replace(
        "<link>https://arxiv.org/abs/2203.01250</link>", "").replace("arXiv:2203.01250v3 Announce", "Announce")
    (paper,) = parse_listing(guid_only.encode(), where="rss", today=TODAY)  # the guid alone names it
    assert (paper.arxiv_id, paper.version) == (arxiv.arxiv_id, arxiv.version) == ("2203.01250", 3)


def test_arxiv_daily_feed_as_atom_reads_as_the_rss_does():
    """The Atom form of the daily feeds was refused whole ("no arXiv id ('oai:arXiv.org:…') at entry 0")."""
    rss = _rss_with(["new", "cross", "replace", "replace-cross"])
    atom = _as_atom(rss)
    assert b"<id>oai:arXiv.org:2203.01250v3</id>" in atom
    papers = parse_listing(atom, where="atom", today=TODAY)
    assert papers == parse_listing(rss, where="rss", today=TODAY)
    assert papers[0].abstract.startswith("We consider first order") and papers[0].authors == [
        "Antonin Monteil", "Paul Pegon"]
    assert [p.listed_on for p in papers] == [date(2024, 8, 23), date(2024, 8, 23), None, None]
    assert parse_arxiv_ref("oai:arXiv.org:hep-th/9901001v2") == parse_arxiv_ref("hep-th/9901001v2")


@pytest.mark.parametrize("prologue", ["<!-- saved by a feed reader -->\n", "<!DOCTYPE rss>\n", ""])
@pytest.mark.parametrize("name", ["arxiv_rss_item_from_spec.xml", "arxiv_query_sample.xml"])
def test_a_feed_without_an_xml_declaration_is_still_a_feed(name, prologue):
    """XML needs no declaration; a feed starting with a comment or DOCTYPE was 'not a paper listing'."""
    text = (FIXTURES / name).read_text()
    body = text.split("?>", 1)[1].lstrip()
    assert parse_listing((prologue + body).encode(), where=name, today=TODAY) == parse(name)


def test_xml_that_is_no_feed_says_what_it_is():
    with pytest.raises(ParseError, match=r"^notes.xml: unsupported XML document <note>$"):
        parse_listing(b"<!-- mine -->\n<note>milk, eggs</note>", where="notes.xml", today=TODAY)


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty"),
    (b"   \n\n", "empty"),
    (bytes(range(256)) * 4, "binary"),
    (b"\xfa\xff not utf8 at all \xff", "not UTF-8"),  # (starting \xff\xfe, it is UTF-16's byte-order mark)
    (b'[{"paper": {"id": "2410.17243", "title": "Breaking', "invalid JSON"),
    (b'{"error": "Invalid date"}', "error"),
    (b"<!DOCTYPE html><html><body>Daily Papers</body></html>", "HTML page"),
    (b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><entry>", "invalid XML"),
    (b"just some notes\nnot a listing\n", "not a paper listing"),
])
def test_malformed_input_is_one_clear_error(data, message):
    with pytest.raises(ParseError, match=message) as info:
        parse_listing(data, where="input", today=TODAY)
    assert "\n" not in str(info.value) and str(info.value).startswith("input")


ENCODED = ["arxiv_rss_item_from_spec.xml", "arxiv_query_sample_legacy_2025-08.xml",
           "hf_daily_papers_sample_2024-10.json"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig"])
@pytest.mark.parametrize("name", ENCODED)
def test_a_listing_saved_with_a_byte_order_mark_reads_as_in_utf8(name, encoding):
    """Windows PowerShell saves `curl … > papers.json` as UTF-16 with a byte-order mark (and leaves an XML
    declaration saying UTF-8): that was refused as 'binary data'."""
    text = (FIXTURES / name).read_text(encoding="utf-8")
    bom = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}.get(encoding, b"")
    data = bom + text.encode(encoding)
    assert parse_listing(data, where=name, today=TODAY) == parse(name)


@pytest.mark.parametrize("declared", ["ISO-8859-1", "latin-1", "windows-1252", "iso-8859-15"])
def test_an_xml_feed_in_the_encoding_it_declares(declared):
    """XML may declare another encoding than UTF-8; a feed in ISO-8859-1 was refused as 'not UTF-8 text'."""
    name = "arxiv_query_sample_legacy_2025-08.xml"  # has "Vuopionperä" in it
    text = (FIXTURES / name).read_text(encoding="utf-8")
    assert "ä" in text and text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    data = text.replace('encoding="UTF-8"', f'encoding="{declared}"', 1).encode(declared)
    assert parse_listing(data, where=name, today=TODAY) == parse(name)


@pytest.mark.parametrize(("data", "message"), [
    (b"<?xml version='1.0' encoding='klingon'?><rss/>", r"^f: an XML document in an unknown encoding \('klingon'\)$"),
    (b"<?xml version='1.0' encoding='windows-1252'?><rss>\x81</rss>",
     r"^f: not WINDOWS-1252 text \(bad byte at offset 50\)$"),
    ("\ufeff".encode("utf-16-le") + "[\ud800]".encode("utf-16-le", "surrogatepass"),
     r"^f: not UTF-16 text \(bad byte at offset 4\)$"),
    (" \n  ".encode("utf-16"), "^f: the file is empty$"),
    ("[{}]\x00".encode("utf-16"), "^f: binary data, not a paper listing$"),
])
def test_text_in_an_encoding_it_is_not_is_one_clear_error(data, message):
    with pytest.raises(ParseError, match=message):
        parse_listing(data, where="f", today=TODAY)


@pytest.mark.parametrize("data", [
    json.dumps({"error": "Invalid date \x1b[31mred\x1b]8;;http://evil.example\x07go\x1b]8;;\x07 \x9b2J\n!"}).encode(),
    (FIXTURES / "arxiv_error_feed.xml").read_bytes().replace(
        b"incorrect id format", b"incorrect &#x9b;2J id\n\n format &#x85;"),
])
def test_an_error_a_listing_reports_reaches_the_terminal_without_control_characters(data):
    """The reason an API error gives is the listing's text: an escape sequence in it recoloured the terminal or
    planted a link in the one-line error."""
    with pytest.raises(ParseError) as info:
        parse_listing(data, where="f", today=TODAY)
    message = str(info.value)
    assert message.isprintable()
    assert "Invalid date [31mred]8;;http://evil.examplego]8;; 2J !" in message or "incorrect 2J id format" in message


def test_arxiv_error_feed_is_an_error_not_a_paper():
    with pytest.raises(ParseError, match=r"arXiv reported an error: incorrect id format for 1234\.12345"):
        parse("arxiv_error_feed.xml")


@pytest.mark.parametrize(("text", "expected"), [
    ("2401.12345", ("2401.12345", None)),
    ("2401.12345v3", ("2401.12345", 3)),
    ("arXiv:2401.12345v2", ("2401.12345", 2)),
    ("https://arxiv.org/abs/2401.12345v2", ("2401.12345", 2)),
    ("https://arxiv.org/pdf/2401.12345.pdf", ("2401.12345", None)),
    ("https://huggingface.co/papers/2410.17243", ("2410.17243", None)),
    ("http://arxiv.org/abs/hep-th/9901001v1", ("hep-th/9901001", 1)),
    ("math.GT/0309136", ("math/0309136", None)),
    ("arXiv:2102.00018v1 [hep-ph]", ("2102.00018", 1)),  # arXiv's "Cite as" line
    ("arXiv:math/0309136 [math.GT]", ("math/0309136", None)),
    ("2102.00018 [cs.LG] and more", None),
    ("not an id", None),
    ("12345", None),
])
def test_arxiv_ids_people_paste(text, expected):
    ref = parse_arxiv_ref(text)
    assert (None if ref is None else (ref.arxiv_id, ref.version)) == expected


def test_title_normalisation_ignores_case_whitespace_and_punctuation():
    assert normalize_title("Attention  Is All\nYou Need!") == normalize_title("attention is all you need")
    assert normalize_title("GPT-4: A Report") == normalize_title("gpt 4 a report")
    assert normalize_title("Graph Nets") != normalize_title("Graph Networks")


@pytest.mark.parametrize("as_atom", [False, True], ids=["rss", "atom"])
def test_a_generational_suffix_stays_with_its_author(as_atom):
    """arXiv's daily feeds list authors in one comma-separated line, where "Martin Luther King, Jr." has a comma
    of its own: "Jr." was stored as an author (and counted) of its own."""
    creators = ("Martin Luther King, Jr., Paul Pegon, Ken Griffey Sr., Henry Ford, III, Jane Roe, ii, Al Gore, sr, "
                "Jean Valjean, IV")
    feed = (FIXTURES / "arxiv_rss_item_from_spec.xml").read_bytes().replace(
        b"Antonin Monteil, Paul Pegon", creators.encode())
    (paper,) = parse_listing(_as_atom(feed) if as_atom else feed, where="feed", today=TODAY)
    assert paper.authors == ["Martin Luther King, Jr.", "Paul Pegon", "Ken Griffey Sr.", "Henry Ford, III",
                             "Jane Roe, ii", "Al Gore, sr", "Jean Valjean, IV"]
    assert paper.author_count == 7


def test_an_hf_item_without_an_arxiv_id_is_skipped_not_stored_by_its_title():
    """Every Daily Papers item names its arXiv paper by `id` (all recorded payloads do, and HF takes only arXiv
    papers into Daily Papers); an item whose id is none was stored as a title-only "paper", which no later
    sighting could ever give an id. Like an arXiv entry without one, it is skipped with a reason."""
    from bot.ingestion.hf_json_parser import iter_hf_json

    items = [{"paper": {"id": "2401.10100", "title": "Kept", "summary": "An abstract."}},
             {"paper": {"id": "my-blog-post", "title": "Not a paper", "summary": "A blog post."}},
             {"paper": {"id": 2401.101, "title": "Lost its zeros", "summary": "A number, not the id 2401.10100."}}]
    skipped: list[str] = []
    papers = list(iter_hf_json([json.dumps(items)], where="day.json", skip=lambda bad: skipped.append(str(bad))))
    assert [p.arxiv_id for p in papers] == ["2401.10100"]
    assert skipped == ["day.json: item 1 has no arXiv id ('my-blog-post')",
                       "day.json: item 2 has no arXiv id ('2401.101')"]
    with pytest.raises(ParseError, match=r"^day.json: item 1 has no arXiv id \('my-blog-post'\)$"):
        parse_listing(json.dumps(items).encode(), where="day.json", today=TODAY)
