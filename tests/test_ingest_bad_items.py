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
