"""Hugging Face and arXiv played by one local fake server, serving a recorded paper first as v1 without code and
then, after `to_v2()`, as v2 with a `githubRepo`, 40 more upvotes and a new comment line."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from typing import Any

from tests.conftest import FIXTURES
from tests.fakes.http_server import FakeServer, Recorded, Reply

ARXIV_ID = "2602.23229"
DAY_TEXT = "2026-03-06"
CODE = "https://github.com/marco-garosi/CIRCLE"
ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
HOSTILE_COMMENT = "Accepted at ICML 2026 <!channel> @everyone <@U123> [click](https://evil.example); 14 pages"

ET.register_namespace("", "http://www.w3.org/2005/Atom")
ET.register_namespace("arxiv", "http://arxiv.org/schemas/atom")
ET.register_namespace("opensearch", "http://a9.com/-/spec/opensearch/1.1/")


def hf_listing(*, upvotes: int, code: str | None) -> bytes:
    """The recorded HF daily-papers item, with its upvotes and `githubRepo` set as asked."""
    items = json.loads((FIXTURES / "hf_daily_papers_item_2026-03.json").read_text())
    item = copy.deepcopy(items[0])
    item["paper"]["upvotes"] = upvotes
    item["paper"].pop("githubRepo", None)
    if code:
        item["paper"]["githubRepo"] = code
    return json.dumps([item]).encode()


def arxiv_feed(*, version: int, title: str, abstract: str, comment: str) -> bytes:
    """A recorded arXiv `id_list` answer with its first entry rewritten as this paper at `version`."""
    root = ET.fromstring((FIXTURES / "arxiv_query_idlist_partial.xml").read_bytes())
    entries = root.findall(f"{ATOM}entry")
    for extra in entries[1:]:
        root.remove(extra)
    entry = entries[0]
    entry.find(f"{ATOM}id").text = f"http://arxiv.org/abs/{ARXIV_ID}v{version}"  # type: ignore[union-attr]
    entry.find(f"{ATOM}title").text = title  # type: ignore[union-attr]
    entry.find(f"{ATOM}summary").text = abstract  # type: ignore[union-attr]
    entry.find(f"{ARXIV}comment").text = comment  # type: ignore[union-attr]
    entry.find(f"{ATOM}published").text = "2026-02-26T17:08:18Z"  # type: ignore[union-attr]
    return ET.tostring(root, xml_declaration=True, encoding="utf-8")


class PaperSources:
    """The fake server plus the paper's state; requests are recorded (and counted) by the server."""

    def __init__(self, server: FakeServer, *, v2_comment: str = HOSTILE_COMMENT) -> None:
        self.server = server
        self.version = 1
        self.v2_comment = v2_comment
        items = json.loads((FIXTURES / "hf_daily_papers_item_2026-03.json").read_text())
        self.title = items[0]["paper"]["title"]
        self.abstract = items[0]["paper"]["summary"]
        server.route("GET", "/api/daily_papers", self._hf)
        server.route("GET", "/api/query", self._arxiv)

    def to_v2(self) -> None:
        self.version = 2

    def _hf(self, rec: Recorded) -> Reply:
        if rec.query.get("date") != [DAY_TEXT]:
            return Reply(body=b"[]")
        if self.version == 1:
            return Reply(body=hf_listing(upvotes=10, code=None))
        return Reply(body=hf_listing(upvotes=50, code=CODE))

    def _arxiv(self, rec: Recorded) -> Reply:
        headers = {"Content-Type": "application/atom+xml"}
        if self.version == 1:
            body = arxiv_feed(version=1, title=self.title, abstract=self.abstract, comment="9 pages")
        else:
            body = arxiv_feed(version=2, title=f"{self.title}, Revisited",
                              abstract=self.abstract + " We add results on ten more benchmarks.",
                              comment=self.v2_comment)
        return Reply(body=body, headers=headers)

    def arxiv_calls(self) -> list[dict[str, Any]]:
        return [{k: v[0] for k, v in c.query.items()} for c in self.server.calls("/api/query")]
