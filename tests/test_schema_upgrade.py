"""Every start upgrades the schema: a database behind is brought to the newest migration, one already there is
left as it is (without Alembic: that took a third of a second of every command), on both backends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.engine import Connection

from bot.papers import ParsedPaper
from bot.scope import Scope
from bot.topics.subscriptions import subscribe, unsubscribe
from storage import feedback_store, subscription_store
from storage.database import Database, alembic_config, head_revision
from storage.delivery_models import Delivery
from storage.destination_models import PostedMessage
from storage.feedback_models import FeedbackModel, ModelChange, ModelGeneration, PaperJudgement
from storage.models import Paper
from storage.paper_store import find_paper, store_papers
from storage.subscription_models import Subscription
from tests.merge_fixtures import assert_references_moved, plant_references


def test_the_newest_migration_file_is_alembics_only_head():
    assert ScriptDirectory.from_config(alembic_config()).get_heads() == [head_revision()]


def _downgrade_one(connection: Connection) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.downgrade(cfg, "-1")


def _state(connection: Connection) -> tuple[list[str], set[tuple[str, str]]]:
    """The revision and every (table, column): what any migration changes."""
    versions = list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    schema = inspect(connection)
    return versions, {(table, c["name"]) for table in schema.get_table_names() for c in schema.get_columns(table)}


async def test_a_database_one_migration_behind_is_upgraded_and_one_at_the_head_kept(db: Database):
    async with db.engine.begin() as conn:
        at_head = await conn.run_sync(_state)
        await conn.run_sync(_downgrade_one)
        behind, columns_behind = await conn.run_sync(_state)
    assert behind != [head_revision()] and columns_behind <= at_head[1]  # a migration may change only data
    await db.upgrade()
    async with db.engine.begin() as conn:
        assert await conn.run_sync(_state) == at_head
    await db.upgrade()  # at the head: nothing to do, nothing lost
    async with db.engine.begin() as conn:
        assert (await conn.run_sync(_state))[0] == [head_revision()]


def _downgrade_to(revision: str) -> Callable[[Connection], None]:
    def run(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)
    return run


async def _at_revision(db: Database, revision: str) -> None:
    """The database as a bot of that revision left it (the tests' databases start at the head)."""
    async with db.engine.begin() as conn:
        await conn.run_sync(_downgrade_to(revision))


def _paper(title: str, key: str, **kw: Any) -> dict[str, Any]:
    row = {"arxiv_id": None, "version": None, "title": title, "title_key": key, "abstract": f"About {title}.",
           "authors": None, "author_count": None, "organization": None, "published_on": None, "listed_on": None,
           "upvotes": None, "sources": ["hf-page"], "extra": {}, "compounds": ""}
    return {**row, **kw}


async def _stored(s: Any, db: Database, rows: dict[str, dict[str, Any]]) -> dict[str, int]:
    """The papers inserted as an older bot left them (ids by name), with SQLite's full-text index filled as the
    store fills it (its triggers keep it current from here on)."""
    ids = {name: (await s.execute(insert(Paper).values(**row).returning(Paper.id))).scalar_one()
           for name, row in rows.items()}
    if db.dialect == "sqlite":
        await s.execute(text("INSERT INTO papers_fts(rowid, title, abstract, compounds, authors) "
                             "SELECT id, title, abstract, compounds, authors FROM papers"))
    return ids


async def test_papers_keyed_with_invisible_characters_are_rekeyed_and_merged_keeping_what_points_at_them(db):
    """Migration 0017. Before it, a title with a soft hyphen or a zero-width space kept them in its key: the page's
    title-only sighting and the API's sighting with the arXiv id were two records, each with its own summaries,
    votes, follow-ups and places in posted digests. After it they are one paper, and nothing is lost."""
    await _at_revision(db, "0016")
    async with db.session() as s:
        ids = await _stored(s, db, {
            "api": _paper("Attention Is All You Need", "attention is all you need", arxiv_id="1706.03762",
                          version=2, authors=["A. Vaswani"], upvotes=10, sources=["hf-api"],
                          listed_on=date(2026, 4, 21), extra={"hf_id": "1706.03762"}),
            "page": _paper("Atten\u00adtion Is All You Need", "atten\u00adtion is all you need", author_count=8,
                           organization="Google", upvotes=50, listed_on=date(2026, 4, 20), extra={"note": 1}),
            "zw": _paper("Scaling\u200b Laws", "scaling\u200b laws", upvotes=3),
            "plain": _paper("Scaling Laws", "scaling laws", upvotes=1),
            "alone": _paper("\ufeffLonely Paper", "\ufefflonely paper"),
            "twin1": _paper("Shared Title", "shared title", arxiv_id="2401.00001", sources=["arxiv-api"]),
            "twin2": _paper("Shared Title", "shared title", arxiv_id="2401.00002", sources=["arxiv-api"]),
            "twin?": _paper("Shared\u2060 Title", "shared\u2060 title"),
        })
        api, page = ids["api"], ids["page"]
        events = await plant_references(s, api, page, baseline_title="Atten\u00adtion")
        s.add_all([
            PostedMessage(destination_key="console:local:main", message_ref="7", kind="digest",
                          paper_ids=[ids["alone"], page, ids["zw"], api]),
            Delivery(destination_key="console:local:main", digest_day=date(2026, 4, 20), status="posted",
                     paper_ids=[page, ids["plain"]]),
        ])
    await db.upgrade()

    async with db.session() as s:
        papers = {p.id: p for p in (await s.execute(select(Paper))).scalars()}
        assert set(papers) == {api, ids["zw"], ids["alone"], ids["twin1"], ids["twin2"], ids["twin?"]}
        merged = papers[api]
        assert (merged.title, merged.version, merged.authors, merged.author_count) == (
            "Attention Is All You Need", 2, ["A. Vaswani"], 1)
        assert (merged.organization, merged.upvotes, merged.listed_on) == ("Google", 50, date(2026, 4, 20))
        assert merged.sources == ["hf-api", "hf-page"] and merged.extra == {"hf_id": "1706.03762", "note": 1}
        assert papers[ids["zw"]].upvotes == 3 and papers[ids["zw"]].title_key == "scaling laws"  # the older stays
        assert papers[ids["alone"]].title_key == "lonely paper"
        assert papers[ids["twin?"]].title_key == "shared title"  # two papers have that title: which one is unknown
        await assert_references_moved(s, api, page, events)
        assert (await s.execute(select(PostedMessage.paper_ids))).scalar_one() == [ids["alone"], api, ids["zw"], api]
        assert (await s.execute(select(Delivery.paper_ids))).scalar_one() == [api, ids["zw"]]
        # What users see: the page's title finds the one paper, and the page again adds nothing.
        found = await find_paper(s, "Atten\u00adtion Is All You Need")
        assert found is not None and found.id == api
        counts = await store_papers(s, [ParsedPaper(title="Scaling Laws", abstract="x", source="hf-page"),
                                        ParsedPaper(title="Attention Is All You Need", abstract="x", source="hf-page")])
        assert (counts.new, counts.paper_ids) == (0, [ids["zw"], api])
        if db.dialect == "sqlite":  # the full-text index lost the merged records with them
            rows = (await s.execute(text("SELECT rowid FROM papers_fts WHERE papers_fts MATCH 'scaling'"))).all()
            assert rows == [(ids["zw"],)]


async def test_topics_keyed_before_nfkc_are_rekeyed_and_doubles_merged_keeping_votes_and_models(db):
    """Migration 0018. A topic stored before topics were NFKC-normalised ("ＬＬＭ") kept its fullwidth key, so
    following "LLM" later added a second row: the channel saw both, and its votes and learned model split."""
    await _at_revision(db, "0017")
    scope, other = Scope.for_channel("console", "local", "a"), Scope.for_channel("console", "local", "b")
    t0 = datetime(2026, 11, 1, 9, tzinfo=UTC)
    async with db.session() as s:
        paper_id = (await s.execute(insert(Paper).values(**_paper("LLMs", "llms")).returning(Paper.id))).scalar_one()
        common = {"platform": "console", "workspace": "local"}
        s.add_all([
            Subscription(scope=scope.key, channel="a", topic="ＬＬＭ", topic_key="ｌｌｍ", created_by="U1", **common),
            Subscription(scope=scope.key, channel="a", topic="LLM", topic_key="llm", created_by="U2", **common),
            Subscription(scope=scope.key, channel="a", topic="diffusion", topic_key="diffus", **common),
            Subscription(scope=other.key, channel="b", topic="ＬｏＲＡ", topic_key="ｌｏｒａ", **common),
        ])
        for key, topic, user, relevant, at in (("ｌｌｍ", "ＬＬＭ", "U1", True, t0),
                                                ("ｌｌｍ", "ＬＬＭ", "U2", True, t0),
                                                ("llm", "LLM", "U1", False, t0 + timedelta(hours=1)),
                                                ("none", "none", "U3", True, t0)):
            s.add(PaperJudgement(scope=scope.key, topic_key=key, topic=topic, paper_id=paper_id, user_id=user,
                                 relevant=relevant, judged_at=at))
        s.add_all([FeedbackModel(scope=scope.key, topic_key="ｌｌｍ", topic="ＬＬＭ", judgements=2,
                                 model={"fit": "old"}, stamp="a" * 32),
                   FeedbackModel(scope=scope.key, topic_key="llm", topic="LLM", judgements=1, model={"fit": "new"},
                                 stamp="b" * 32)])
    async with db.session() as s:
        generation_before = await s.scalar(select(ModelGeneration.value))
    await db.upgrade()

    async with db.session() as s:
        assert await subscription_store.list_topics(s, scope) == ["LLM", "diffusion"]
        assert await subscription_store.list_topics(s, other) == ["LoRA"]
        first = (await s.execute(select(Subscription).where(Subscription.scope == scope.key,
                                                            Subscription.topic_key == "llm"))).scalar_one()
        assert first.created_by == "U1"  # the older subscription stands
        assert sorted((u, r) for _p, r, u in await feedback_store.judgements(s, scope.key, "llm")) == [
            ("U1", False), ("U2", True)]  # U1 changed their mind later
        assert [u for _p, _r, u in await feedback_store.judgements(s, scope.key, "none")] == ["U3"]
        assert await feedback_store.load_model(s, scope.key, "llm") == {"fit": "old"}  # fit on more judgements
        (stamp,) = (await s.execute(select(FeedbackModel.stamp))).scalars()
        assert stamp != "a" * 32
        assert await s.scalar(select(ModelGeneration.value)) == generation_before + 1
        assert await s.scalar(select(ModelChange.scope).order_by(ModelChange.generation.desc()).limit(1)) == scope.key
        # What the channel does next: the plain topic is already followed, and either spelling unfollows it.
        assert (await subscribe(s, scope, "LLM")).added is False
        assert (await subscribe(s, other, "lora")).added is False
        assert await unsubscribe(s, scope, "ＬＬＭ") == "LLM"
        assert await subscription_store.list_topics(s, scope) == ["diffusion"]


async def test_every_stored_paper_is_found_by_its_title_after_title_keys_are_remembered(db):
    """Migration 0019. The store finds records by every title key they were seen under: their current one, and
    those they had before (aliases). Papers stored before were only ever known by their current key, so there is
    no alias to fill, and nothing is stored twice."""
    await _at_revision(db, "0018")
    async with db.session() as s:
        ids = await _stored(s, db, {
            "twin1": _paper("Shared Title", "shared title", arxiv_id="2401.00001", sources=["arxiv-api"]),
            "twin2": _paper("Shared Title", "shared title", arxiv_id="2401.00002", sources=["arxiv-api"]),
            "page": _paper("Lonely Paper", "lonely paper"),
            "retitled": _paper("Sparse Attention for Very Long Documents",
                               "sparse attention for very long documents", arxiv_id="2501.01234", version=2,
                               sources=["arxiv-api"]),
            # The HF page's record of the same paper under its first title: listed twice until now.
            "old page": _paper("Sparse Attention for Long Documents", "sparse attention for long documents",
                               upvotes=7),
        })
        s.add(PostedMessage(destination_key="console:local:main", message_ref="7", kind="digest",
                            paper_ids=[ids["old page"], ids["page"]]))
    await db.upgrade()

    async with db.session() as s:
        assert (await s.execute(text("SELECT title_key, paper_id FROM paper_title_keys"))).all() == []
        counts = await store_papers(s, [
            ParsedPaper(title="Lonely paper", abstract="x", source="hf-page"),
            ParsedPaper(title="Shared title", abstract="x", source="hf-page"),
            ParsedPaper(title="Sparse Attention for Long Documents", abstract="x", source="hf-api",
                        arxiv_id="2501.01234"),
        ])
        assert (counts.new, counts.paper_ids) == (0, [ids["page"], ids["twin1"], ids["retitled"]])
    async with db.session() as s:  # HF's sighting with the id merged the old page's record into the paper
        assert {p.id for p in (await s.execute(select(Paper))).scalars()} == set(ids.values()) - {ids["old page"]}
        assert (await s.get(Paper, ids["retitled"])).upvotes == 7  # type: ignore[union-attr]
        assert (await s.execute(select(PostedMessage.paper_ids))).scalar_one() == [ids["retitled"], ids["page"]]
        assert (await s.execute(text("SELECT title_key, paper_id FROM paper_title_keys"))).all() == [
            ("sparse attention for long documents", ids["retitled"])]  # the merged record's title: an alias
    async with db.session() as s:  # the title HF used finds the paper, and its page adds nothing
        found = await find_paper(s, "Sparse Attention for Long Documents")
        assert found is not None and found.id == ids["retitled"]
        counts = await store_papers(s, [ParsedPaper(title="Sparse Attention for Long Documents", abstract="x",
                                                    source="hf-page")])
        assert (counts.new, counts.paper_ids) == (0, [ids["retitled"]])


async def test_stored_papers_lose_invisible_characters_and_rss_name_suffixes_rejoin_their_author(db):
    """Migration 0020. Papers stored before ingestion dropped invisible characters kept them: a soft hyphen in
    "Atten\u00adtion" hid the paper from topics and search. And arXiv's daily feeds had split "Martin Luther King,
    Jr." into two authors, "Jr." one of them."""
    from bot.topics.topic_service import TopicMatcher, search_papers

    await _at_revision(db, "0019")
    async with db.session() as s:
        ids = await _stored(s, db, {
            "hyphen": _paper("Sparse Atten\u00adtion\u200b for Long Documents", "sparse attention for long documents",
                             abstract="Sparse atten\u00adtion scales; \u2067\u05e2\u05d1\u05e8\u05d9\u05ea\u2069 and "
                                      "\U0001f469\u200d\U0001f4bb stay readable."),
            "plain": _paper("Dense Retrieval", "dense retrieval", abstract="Dense vectors."),
            "rss": _paper("Dreams", "dreams", arxiv_id="2401.00001", sources=["arxiv-rss"], author_count=5,
                          authors=["Martin Luther King", "Jr.", "Henry Ford", "III", "Ann Lee"]),
            "first": _paper("Odd list", "odd list", arxiv_id="2401.00002", sources=["arxiv-rss"],
                            authors=["Jr.", "Bo Li"], author_count=2),
            "api": _paper("Kings", "kings", arxiv_id="2401.00003", sources=["arxiv-api"], authors=["Ann", "II"],
                          author_count=2),
        })
        assert await search_papers(s, TopicMatcher(), "attention") == []
    await db.upgrade()

    async with db.session() as s:
        papers = {p.id: p for p in (await s.execute(select(Paper))).scalars()}
        hyphen = papers[ids["hyphen"]]
        assert hyphen.title == "Sparse Attention for Long Documents"
        assert hyphen.abstract == ("Sparse attention scales; \u05e2\u05d1\u05e8\u05d9\u05ea and "
                                   "\U0001f469\u200d\U0001f4bb stay readable.")
        assert hyphen.title_key == "sparse attention for long documents"
        assert [r.paper.id for r in await search_papers(s, TopicMatcher(), "attention")] == [ids["hyphen"]]
        assert papers[ids["plain"]].abstract == "Dense vectors."
        rss = papers[ids["rss"]]
        assert (rss.authors, rss.author_count) == (["Martin Luther King, Jr.", "Henry Ford, III", "Ann Lee"], 3)
        assert papers[ids["first"]].authors == ["Jr.", "Bo Li"]  # nobody before it to join
        assert papers[ids["api"]].authors == ["Ann", "II"]  # not from the daily feeds: names given one by one


async def test_author_lists_stored_escaped_are_rewritten_so_every_name_is_found(db):
    """Migration 0021. Author lists were stored as JSON with non-ASCII escaped ("Sch\\u00f6lkopf"), and both
    databases index that text: nobody named with an accent, an umlaut or another script could be found."""
    from bot.topics.topic_service import TopicMatcher, search_papers

    await _at_revision(db, "0020")
    escaped = '["Bernhard Sch\\u00f6lkopf", "J\\u00fcrgen Schmid\\u00adhuber", "\\u674e\\u98de"]'
    async with db.session() as s:
        row = _paper("Kernel Methods Revisited", "kernel methods revisited", arxiv_id="2401.00009")
        row.pop("authors")
        pk = (await _stored(s, db, {"paper": row}))["paper"]
        cast = "CAST(:a AS JSON)" if db.dialect == "postgresql" else ":a"  # as the old engine wrote it
        await s.execute(text(f"UPDATE papers SET authors = {cast} WHERE id = :pk"), {"a": escaped, "pk": pk})
        assert await search_papers(s, TopicMatcher(), "Schölkopf") == []
    await db.upgrade()

    async with db.session() as s:
        paper = await s.get(Paper, pk)
        assert paper is not None and paper.authors == ["Bernhard Schölkopf", "Jürgen Schmidhuber", "李飞"]
        for name in ("Schölkopf", "Jürgen Schmidhuber", "李飞"):
            assert [r.paper.id for r in await search_papers(s, TopicMatcher(), name)] == [pk], name


async def test_papers_stored_before_accents_were_folded_are_found_without_them(db):
    """Migration 0022. PostgreSQL's search vector kept accents, so "Schrodinger" missed "Schrödinger" and "Lopez"
    missed "López" there (SQLite's index folds them). Papers already stored are found too, on both engines."""
    from bot.topics.topic_service import TopicMatcher, search_papers

    await _at_revision(db, "0021")
    async with db.session() as s:
        pk = (await _stored(s, db, {"paper": _paper(
            "Neural Solvers for the Schrödinger Equation", "neural solvers for the schrödinger equation",
            abstract="We solve the Schrödinger equation.", authors=["María López"], author_count=1)}))["paper"]
    await db.upgrade()

    async with db.session() as s:
        for query in ("Schrodinger", "Lopez", "Maria Lopez", "Schrödinger", "López"):
            assert [r.paper.id for r in await search_papers(s, TopicMatcher(), query)] == [pk], query


async def test_stored_papers_lose_their_typographic_ligatures_and_are_found_by_the_words_typed(db):
    """Migration 0023. Ingestion stores "ﬁne-tuning" (its "fi" ligature, as text copied from a PDF carries it) as
    "fine-tuning" since a8e5cd7; papers stored before kept the ligatures, and neither "fine-tuning" nor "efficient"
    nor "Steffen" found them."""
    from bot.topics.topic_service import TopicMatcher, search_papers

    await _at_revision(db, "0022")
    async with db.session() as s:
        ids = await _stored(s, db, {
            "pdf": _paper("Eﬃcient ﬁne-tuning of ﬂow models", "efficient fine-tuning of flow models",
                          abstract="We study ﬁne-tuning; the ﬀ, ﬄ and ﬆ ligatures go too.",
                          authors=["Steﬀen Müller", "Ada Lovelace"], author_count=2),
            "plain": _paper("Dense Retrieval", "dense retrieval", abstract="Dense vectors.", authors=["Bo Li"]),
            "page": _paper("Oﬄine RL", "offline rl", abstract="No authors known."),
        })
        assert await search_papers(s, TopicMatcher(), "efficient") == []
    await db.upgrade()

    async with db.session() as s:
        papers = {p.id: p for p in (await s.execute(select(Paper))).scalars()}
        pdf = papers[ids["pdf"]]
        assert (pdf.title, pdf.title_key) == ("Efficient fine-tuning of flow models",
                                              "efficient fine-tuning of flow models")
        assert pdf.abstract == "We study fine-tuning; the ff, ffl and st ligatures go too."
        assert pdf.authors == ["Steffen Müller", "Ada Lovelace"] and pdf.compounds == "finetuning"
        assert (papers[ids["plain"]].title, papers[ids["plain"]].authors) == ("Dense Retrieval", ["Bo Li"])
        assert (papers[ids["page"]].title, papers[ids["page"]].authors) == ("Offline RL", None)
        for query in ("efficient", "fine-tuning", "finetuning", "flow models", "Steffen"):
            assert [r.paper.id for r in await search_papers(s, TopicMatcher(), query)] == [ids["pdf"]], query


async def test_digest_days_stored_as_typed_are_rewritten_in_their_one_spelling(db):
    """Migration 0024. `/papers digest 09:00 sat,sat,sun` stored the days as typed (repeats, the order typed, full
    names); they are now stored as `normal_days` writes them, and a value no longer understood is left alone."""
    from storage.destination_models import Destination

    await _at_revision(db, "0023")
    typed = {"a": "sat,sat,sun", "b": "fri,mon,wed,mon", "c": "Friday,thu,wed,tue,mon", "d": "fri-mon",
             "e": "mon-fri", "f": "mon–fri", "g": "weekends", "h": "every-day", "i": "funday", "j": "tuesday,thurs"}
    async with db.session() as s:
        for name, days in typed.items():
            await s.execute(insert(Destination).values(key=f"console:local:{name}", platform="console",
                                                       workspace="local", channel=name, digest_time="09:00",
                                                       digest_enabled=True, digest_days=days))
    await db.upgrade()
    async with db.session() as s:
        stored = {d.channel: d.digest_days for d in (await s.execute(select(Destination))).scalars()}
    assert stored == {"a": "sat-sun", "b": "mon,wed,fri", "c": "mon-fri", "d": "mon,fri-sun", "e": "mon-fri",
                      "f": "mon-fri", "g": "sat-sun", "h": "mon-sun", "i": "funday", "j": "tue,thu"}
