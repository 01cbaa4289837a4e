"""The optional semantic layer on SQLite and PostgreSQL, over real HTTP to a fake OpenAI-compatible server.

Nothing of ours is patched: the layer gets real `openai` clients pointed at the fake, which answers topic
expansions from `fake.expansions` and embeds texts as hashed bags of words (with a few synonyms folded
together, so a paper can be close to a topic without its words). Every failure of an endpoint must leave the
lexical result exactly as it was: the offline path stands on its own.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import date

import pytest
from pydantic import SecretStr

from bot.app import build_command_core, open_app
from bot.config import Settings
from bot.papers import ParsedPaper
from bot.summaries.llm_summarizer import make_openai_client
from bot.topics.semantic import EXPANSION_SYSTEM_PROMPT, OpenAIEmbedder, OpenAITopicExpander, SemanticLayer
from bot.topics.topic_service import RankedPaper, TopicMatcher, match_topic
from storage.database import Database
from storage.paper_store import store_papers
from tests.chat_fixtures import make_bot
from tests.cli_runner import paperboy
from tests.fakes.fake_openai import (
    FakeOpenAI,
    completion,
    embedding_reply,
    expansion,
    hanging,
    malformed,
    server_error,
)
from tests.fakes.http_server import FakeServer, Recorded, Reply

KEY = "sk-semantic-secret-4821"
TOPIC = "wildfire detection"
DAY = date(2026, 3, 6)

TABULAR = "Wildfire Detection as a Benchmark for Tabular Learning"
SATELLITE = "Satellite Monitoring of Burning Forests"
DRONES = "Spotting Forest Blazes from Drones"
FIRE_BLAZE = "Fire and Blaze Detection in Forests"
MOLECULES = "Graph Neural Networks for Molecules"
SMOKE = "Smoke Segmentation for Forest Fire Response"


def paper(title: str, abstract: str, number: int) -> ParsedPaper:
    return ParsedPaper(title=title, abstract=abstract, source="hf-api", listed_on=DAY, arxiv_id=f"2603.{number:05d}")


PAPERS = [
    # The topic in its title, but about something else: lexically strong, semantically far.
    paper(TABULAR, "We collect tabular benchmarks for gradient boosting and tabular transformers across finance, "
          "retail and healthcare, plus one sensor table. Boosted trees remain strong baselines on tabular tasks.", 1),
    # The topic only in its abstract, and about nothing else: lexically weaker, semantically very close.
    paper(SATELLITE, "We study wildfire detection from satellite images. Early wildfire detection saves forests; "
          "our detector spots fire and smoke within minutes.", 2),
    # About the topic without a single one of its words.
    paper(DRONES, "Drones spot blazes and burning forests early. Our detector flags fire at night.", 3),
    # One of the topic's words, not the phrase: a lexical near miss.
    paper(FIRE_BLAZE, "Our detector flags fire, blazes and burning smoke early.", 4),
    paper(MOLECULES, "We propose a message passing network for molecular property prediction.", 5),
    # Found only through the LLM's related terms ("forest fire", "smoke segmentation").
    paper(SMOKE, "A segmentation network outlines smoke plumes in camera images for faster response.", 6),
]


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        server.expansions[TOPIC] = ["forest fire", "smoke segmentation"]
        server.same_meaning("wildfire", "fire", "blaze", "burning")
        server.same_meaning("detection", "detector", "spot", "spotting")
        yield server


@pytest.fixture
async def client(fake):
    openai_client = make_openai_client(fake.base_url, SecretStr(KEY), timeout=5)
    yield openai_client
    await openai_client.close()


@pytest.fixture
async def stored(db):
    async with db.session() as session:
        await store_papers(session, PAPERS)
    return db


def expanding(db: Database, client, *, timeout: float = 5.0, **kw) -> SemanticLayer:
    return SemanticLayer(db, expander=OpenAITopicExpander(client, "fake-chat", timeout=timeout), **kw)


def embedding(db: Database, client, *, timeout: float = 5.0, **kw) -> SemanticLayer:
    return SemanticLayer(db, embedder=OpenAIEmbedder(client, "fake-embed", timeout=timeout), **kw)


async def match(db: Database, semantic: SemanticLayer | None = None, topic: str = TOPIC, *, day: bool = False,
                **kw) -> list[RankedPaper]:
    when = {"since": DAY, "until": DAY} if day else {}
    async with db.session() as session:
        return await match_topic(session, TopicMatcher(), topic, semantic=semantic, **when, **kw)


def view(ranked: list[RankedPaper]) -> list[tuple[str, bool, float, str]]:
    return [(r.paper.title, r.matched, r.result.score, r.result.why()) for r in ranked]


def matched(ranked: list[RankedPaper]) -> list[str]:
    return [r.paper.title for r in ranked if r.matched]


def by_title(ranked: list[RankedPaper]) -> dict[str, RankedPaper]:
    return {r.paper.title: r for r in ranked}


# --- topic expansion -------------------------------------------------------------------------------------------


async def test_expanded_terms_find_what_lexical_matching_misses_and_say_why(stored, fake, client):
    lexical = await match(stored)
    assert matched(lexical) == [TABULAR, SATELLITE] and SMOKE not in by_title(lexical)

    ranked = await match(stored, expanding(stored, client))
    assert set(matched(ranked)) == {TABULAR, SATELLITE, SMOKE}
    why = by_title(ranked)[SMOKE].result.why()
    assert "“Forest Fire” (related term) in title" in why and "“Smoke Segmentation” (related term)" in why
    assert view([r for r in ranked if r.paper.title != SMOKE]) == view(lexical)  # the rest is untouched

    (call,) = fake.calls
    body = call.json()
    assert body["model"] == "fake-chat" and body["temperature"] == 0
    assert body["messages"] == [{"role": "system", "content": EXPANSION_SYSTEM_PROMPT},
                                {"role": "user", "content": f"Topic: {TOPIC}"}]
    assert fake.header(0, "Authorization") == f"Bearer {KEY}"


async def test_a_topic_is_expanded_once_across_calls_and_new_layers(stored, fake, client):
    layer = expanding(stored, client)
    await match(stored, layer)
    await match(stored, layer, "Wildfire   DETECTION")  # the same topic as people type it
    assert len(fake.calls) == 1

    fresh = expanding(stored, client)  # a new layer and matcher: only the database remembers
    assert SMOKE in matched(await match(stored, fresh))
    assert len(fake.calls) == 1

    other = expanding(stored, client)
    await asyncio.gather(*(other.prepare(TopicMatcher(), "gnn") for _ in range(3)))  # concurrent: one request
    assert [c.json()["messages"][1]["content"] for c in fake.calls] == [f"Topic: {TOPIC}", "Topic: gnn"]


HOSTILE = expansion(
    "@everyone click https://evil.example now",
    "@everyone", "https://evil.example/forest-fire", "<@&123> forest fire", "[forest fire](https://evil.example)",
    "evil.com", "learning", "the", "wildfire detection", 42,
)


@pytest.mark.parametrize("reply", [
    completion("Wildfire detection means spotting fires early. Related: forest fire, smoke segmentation."),
    HOSTILE,
    completion('{"description": "fires", "related_terms": "forest fire, smoke segmentation"}'),
    completion('["forest fire", "smoke segmentation"]'),
    completion(None),
    completion('{"related_terms": ' + "[" * 50_000 + "}"),  # deeper than the JSON parser goes: RecursionError
    malformed(),
    server_error(500),
    hanging(10),
], ids=["prose", "hostile", "terms-not-a-list", "not-an-object", "no-content", "nested", "malformed", "500", "hang"])
async def test_garbage_hostile_or_failed_expansion_leaves_the_lexical_result_unchanged(stored, fake, client, reply,
                                                                                      caplog):
    caplog.set_level(logging.DEBUG)
    lexical = view(await match(stored))
    fake.script(reply)
    layer = expanding(stored, client, timeout=2.0)  # garbage must arrive as garbage, not as a timeout
    matcher = TopicMatcher()
    assert await layer.prepare(matcher, TOPIC) is None
    assert matcher.compile(TOPIC).origins.get("forest fire") is None
    assert view(await match(stored, layer)) == lexical
    # Not asked again: a useless answer is cached, a failure waits out the cool-down.
    assert len(fake.calls) == 1
    assert KEY not in caplog.text


async def test_expansion_is_retried_after_the_cooldown_once_the_endpoint_recovers(stored, fake, client):
    now = [0.0]
    layer = expanding(stored, client, cooldown=60, clock=lambda: now[0])
    fake.script(server_error(503))
    assert SMOKE not in matched(await match(stored, layer))
    now[0] = 30
    assert SMOKE not in matched(await match(stored, layer))
    assert len(fake.calls) == 1
    now[0] = 61
    assert SMOKE in matched(await match(stored, layer))
    assert len(fake.calls) == 2


async def test_the_subscribe_preview_uses_the_semantic_layer(stored, fake, client):
    bot = make_bot(stored)
    bot.core.services.semantic = expanding(stored, client)
    await bot.console.say(f"/subscribe {TOPIC}")
    assert "It matches 3 stored papers" in bot.last()
    assert f"{SMOKE} — “Forest Fire” (related term) in title" in bot.last()


# --- embeddings ------------------------------------------------------------------------------------------------


async def test_embeddings_never_change_which_papers_match_nor_their_order(stored, fake, client):
    """Digests match on words alone: a preview or `topics match` must promise exactly what a channel receives."""
    layer = embedding(stored, client)
    for day in (False, True):  # the whole archive's candidates, then every paper of a day
        lexical = [r for r in await match(stored, day=day) if r.matched]
        hybrid = await match(stored, layer, day=day)
        assert [(r.paper.title, r.result.score) for r in hybrid if r.matched] == \
            [(r.paper.title, r.result.score) for r in lexical]
        assert hybrid[:len(lexical)] == [r for r in hybrid if r.matched]  # the matches come first
    ranked = by_title(hybrid)
    assert set(ranked) == {p.title for p in PAPERS}
    # The least similar match keeps its place; the most similar papers without the phrase are not matches.
    assert matched(hybrid) == [TABULAR, SATELLITE] and ranked[TABULAR].result.similarity < 0.5
    for title in (FIRE_BLAZE, DRONES):
        assert not ranked[title].matched and ranked[title].result.similarity > 0.8
    preview = await match(stored, layer, matched_only=True)  # the /subscribe preview's path
    assert [r.paper.title for r in preview] == [TABULAR, SATELLITE]
    assert preview[1].result.why() == f"{by_title(lexical)[SATELLITE].result.why()}; " \
        f"semantic similarity {preview[1].result.similarity:.2f}"


async def test_embeddings_order_the_papers_the_words_did_not_match(stored, fake, client):
    anomalies = "Detection Heads for Tabular Anomalies"
    async with stored.session() as session:  # shares a word with the topic, not its meaning
        await store_papers(session, [paper(anomalies, "We flag anomalous rows in tabular logs with a small "
                                                      "detection head.", 7)])
    lexical = TopicMatcher()
    ranked = await match(stored, embedding(stored, client), day=True)
    order = [r.paper.title for r in ranked]
    assert lexical.explain(TOPIC, ranked[order.index(anomalies)].paper).score > \
        lexical.explain(TOPIC, ranked[order.index(DRONES)].paper).score == 0  # the words prefer the near miss
    assert order.index(DRONES) < order.index(anomalies)  # its meaning puts the paper about blazes first
    assert order.index(FIRE_BLAZE) < order.index(anomalies) < order.index(MOLECULES)
    near = by_title(ranked)[DRONES].result
    assert not near.matched and near.why() == f"semantic similarity {near.similarity:.2f}"


async def test_each_paper_and_topic_is_embedded_once(stored, fake, client):
    first = view(await match(stored, embedding(stored, client), day=True))
    calls = len(fake.embedding_calls)
    texts = fake.embedded_texts()
    assert calls >= 1 and len(texts) == len(set(texts))
    assert TOPIC in texts and f"{SATELLITE}. {PAPERS[1].abstract}" in texts
    assert set(texts) <= {TOPIC, *(f"{p.title}. {p.abstract}" for p in PAPERS)}

    assert view(await match(stored, embedding(stored, client), day=True)) == first  # a new layer: the database
    assert view(await match(stored, embedding(stored, client), day=True)) == first  # remembers every vector
    assert len(fake.embedding_calls) == calls

    body = fake.embedding_calls[0].json()
    assert body["model"] == "fake-embed" and body["encoding_format"] == "float"
    headers = {k.lower(): v for k, v in fake.embedding_calls[0].headers.items()}
    assert headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize("failure", ["500", "hang", "wrong-count", "not-numbers", "not-finite", "empty",
                                     "unreachable"])
async def test_embedding_endpoint_down_leaves_the_lexical_result_unchanged(stored, fake, client, failure, caplog):
    lexical = view(await match(stored, day=True, matched_only=True))
    def per_input(vector: list) -> Callable[[Recorded], Reply]:
        return lambda rec: embedding_reply([vector] * len(rec.json()["input"]))

    replies = {
        "500": server_error(500),
        "hang": hanging(10),
        "wrong-count": embedding_reply([[1.0, 0.0], [0.0, 1.0]]),
        "not-numbers": per_input(["x", "y"]),
        "not-finite": per_input([float("nan"), 1.0]),
        "empty": per_input([]),
    }
    if failure == "unreachable":
        with FakeServer() as gone:
            url = gone.url  # a port nobody listens on once the server is closed
        dead = make_openai_client(f"{url}/v1", SecretStr(KEY), timeout=2)
        layer = embedding(stored, dead)
    else:
        fake.always_embeddings(replies[failure])
        layer = embedding(stored, client, timeout=2.0)
    try:
        assert view(await match(stored, layer, day=True, matched_only=True)) == lexical
        assert all(r.result.similarity is None for r in await match(stored, layer, day=True))
    finally:
        if failure == "unreachable":
            await dead.close()
    assert len(fake.embedding_calls) <= 1  # the cool-down: one failure, then no more calls for a while
    assert KEY not in caplog.text


# --- composition root and CLI ----------------------------------------------------------------------------------


def settings_for(db_env: dict[str, str], **kw) -> Settings:
    fields = {"llm_base_url": None, "llm_api_key": None, "embeddings_model": None, **kw}
    return Settings(_env_file=None, database_url=db_env["PAPERBOY_DATABASE_URL"],  # type: ignore[call-arg]
                    database_schema=db_env.get("PAPERBOY_DATABASE_SCHEMA"), **fields)


async def test_open_app_builds_the_layer_only_when_configured_and_closes_its_clients(db_env, fake):
    async with open_app(settings_for(db_env)) as app:
        assert app.semantic is None
        assert build_command_core(app).services.semantic is None
    async with open_app(settings_for(db_env, llm_base_url=fake.base_url, topic_expansion=False)) as app:
        assert app.semantic is None

    async with open_app(settings_for(db_env, llm_base_url=fake.base_url, llm_api_key=KEY, llm_model="m1",
                                     embeddings_model="e1")) as app:
        layer = app.semantic
        assert layer is not None and build_command_core(app).services.semantic is layer
        assert isinstance(layer.expander, OpenAITopicExpander) and layer.expander.model == "m1"
        assert isinstance(layer.embedder, OpenAIEmbedder) and layer.embedder.model == "e1"
        assert str(layer.embedder.client.base_url).rstrip("/") == fake.base_url  # defaults to the LLM's endpoint
        assert layer.embedder.client.api_key == KEY
    assert layer.expander.client.is_closed() and layer.embedder.client.is_closed()

    async with open_app(settings_for(db_env, embeddings_model="e2", embeddings_base_url="http://127.0.0.1:9/v1",
                                     embeddings_api_key="sk-other")) as app:
        layer = app.semantic
        assert layer is not None and layer.expander is None and isinstance(layer.embedder, OpenAIEmbedder)
        assert str(layer.embedder.client.base_url).startswith("http://127.0.0.1:9/v1")
        assert layer.embedder.client.api_key == "sk-other"


def cli_match(env: dict[str, str], *args: str) -> list[dict[str, object]]:
    result = paperboy("topics", "match", TOPIC, *args, "--json", env=env)
    assert result.code == 0, result.err
    assert KEY not in result.out + result.err
    return json.loads(result.out)


async def test_topics_match_cli_offline_and_with_the_semantic_layer(stored, db_env, fake):
    offline = cli_match(db_env, "--all")
    assert [(r["title"], r["matched"]) for r in offline] == [(TABULAR, True), (SATELLITE, True)]

    expanding_env = {**db_env, "PAPERBOY_LLM_BASE_URL": fake.base_url, "PAPERBOY_LLM_API_KEY": KEY,
                     "PAPERBOY_LLM_MODEL": "fake-chat", "PAPERBOY_LLM_TIMEOUT": "5"}
    words = [r["title"] for r in cli_match(expanding_env, "--date", DAY.isoformat()) if r["matched"]]
    assert set(words) == {TABULAR, SATELLITE, SMOKE}

    env = {**expanding_env, "PAPERBOY_EMBEDDINGS_MODEL": "fake-embed"}
    semantic = {r["title"]: r for r in cli_match(env, "--date", DAY.isoformat())}
    assert semantic[SMOKE]["matched"] and "(related term)" in str(semantic[SMOKE]["why"])
    assert not semantic[FIRE_BLAZE]["matched"] and "semantic similarity" in str(semantic[FIRE_BLAZE]["why"])
    assert [t for t, r in semantic.items() if r["matched"]] == words  # embeddings add no match, move none
    chat_calls, embedding_calls = len(fake.calls), len(fake.embedding_calls)
    assert chat_calls == 1 and embedding_calls >= 1

    again = {r["title"]: r for r in cli_match(env, "--date", DAY.isoformat())}  # another process: all cached
    assert again == semantic
    assert (len(fake.calls), len(fake.embedding_calls)) == (chat_calls, embedding_calls)
