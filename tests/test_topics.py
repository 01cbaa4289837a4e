"""Subscriptions and topic matching through the database, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from bot.errors import UsageError
from bot.papers import ParsedPaper
from bot.topics.glossary import default_glossary
from bot.topics.matcher import match_paper
from bot.topics.subscriptions import MAX_TOPICS_PER_SCOPE, Scope, subscribe, unsubscribe
from bot.topics.text_analysis import AnalyzedPaper
from bot.topics.topic_query import compile_topic
from bot.topics.topic_service import TopicMatcher, match_topic, search_papers
from storage.paper_store import store_papers
from storage.subscription_store import list_topics

CHANNEL = Scope.for_channel("slack", "T1", "C1")
OTHER = Scope.for_channel("slack", "T1", "C2")
PERSON = Scope.for_user("slack", "T1", "U1")
DAY = date(2026, 3, 6)


def paper(title: str, abstract: str, **kw) -> ParsedPaper:
    return ParsedPaper(title=title, abstract=abstract, source="hf-api", listed_on=kw.pop("listed_on", DAY), **kw)


PAPERS = [
    paper("Message Passing with GNNs for Molecules", "We propose a new GNN architecture for molecular property "
          "prediction. Our GNN beats prior work.", arxiv_id="2603.00001", upvotes=5),
    paper("Scaling Graph Neural Networks", "Graph neural networks are hard to scale. We introduce a sampler.",
          arxiv_id="2603.00002", upvotes=1),
    paper("Efficient Networks for Vision", "We design convolutional networks. Networks are everywhere; graphs are "
          "not studied here.", arxiv_id="2603.00003", upvotes=50),
    paper("Pruning Large Models", "We prune transformers by magnitude; pruned models keep accuracy.",
          arxiv_id="2603.00004", upvotes=3),
    paper("A Survey of Optimizers", "We survey optimizers. Unlike pruning methods, optimizers change training.",
          arxiv_id="2603.00005", upvotes=9),
    paper("Retrieval-Augmented Generation at Scale", "We study retrieval augmented generation with long contexts. "
          "Retrieval augmented generation helps factuality.", arxiv_id="2603.00006"),
    paper("Average Rag Doll Physics", "We simulate a rag doll and average its motion over many rag-doll trials.",
          arxiv_id="2603.00007"),
    paper("Vision Transformers Revisited", "We train ViT models on ImageNet. ViTs are data hungry.",
          arxiv_id="2603.00008"),
    paper("Inviting Views of Saliency", "We study saliency maps; invitations to revisit viewpoints.",
          arxiv_id="2603.00009"),
    paper("Old Paper on Pruning", "Pruning neural networks, revisited.", arxiv_id="2401.00010",
          listed_on=date(2024, 1, 10)),
]


@pytest.fixture
async def stored(db):
    async with db.session() as s:
        await store_papers(s, PAPERS)
    return db


async def titles(db, topic, **kw):
    async with db.session() as s:
        ranked = await match_topic(s, TopicMatcher(), topic, **kw)
    return [(r.paper.title, r.matched) for r in ranked]


async def matched(db, topic, **kw):
    return [t for t, m in await titles(db, topic, **kw) if m]


async def test_abbreviation_and_full_name_match_each_other(stored):
    assert set(await matched(stored, "gnn")) == {"Message Passing with GNNs for Molecules",
                                                  "Scaling Graph Neural Networks"}
    assert set(await matched(stored, "graph neural networks")) == set(await matched(stored, "GNN"))
    assert await matched(stored, "RAG") == ["Retrieval-Augmented Generation at Scale"]
    assert await matched(stored, "retrieval-augmented generation") == ["Retrieval-Augmented Generation at Scale"]


async def test_an_acronym_written_only_in_the_plural_is_found_on_both_databases(stored):
    """"MDPs", "LLMs": the matcher reads them as the acronym, and the full-text engine must offer such papers too
    (PostgreSQL's English stemmer keeps the s of "mdps", so asking it for "mdp" found nothing: topic previews and
    `topics match` missed them there, not on SQLite)."""
    async with stored.session() as s:
        await store_papers(s, [paper("Regret Bounds for Contextual Decision Processes",
                                     "We study contextual MDPs with function approximation; our bounds for MDPs "
                                     "are tight.", arxiv_id="2603.00011")])
    assert await matched(stored, "MDP") == ["Regret Bounds for Contextual Decision Processes"]
    async with stored.session() as s:  # "gpus" keeps its s too: a vowel comes right before it
        await store_papers(s, [paper("Fast Kernels", "Our kernels run on GPUs.", arxiv_id="2603.00013")])
    assert await matched(stored, "GPU") == ["Fast Kernels"]
    assert "Regret Bounds for Contextual Decision Processes" in await matched(stored, "markov decision process")


async def test_phrases_stay_phrases_and_short_topics_respect_word_boundaries(stored):
    assert "Efficient Networks for Vision" not in await matched(stored, "graph neural networks")
    assert await matched(stored, "vit") == ["Vision Transformers Revisited"]  # not "Inviting Views"


async def test_inflections_and_title_weight(stored):
    found = await titles(stored, "pruning", since=DAY, until=DAY)
    assert found[0] == ("Pruning Large Models", True)
    # A passing mention in the abstract is ranked below and not delivered.
    assert ("A Survey of Optimizers", False) in found
    assert await matched(stored, "prune", since=DAY, until=DAY) == ["Pruning Large Models"]
    assert set(await matched(stored, "pruned")) == {"Pruning Large Models", "Old Paper on Pruning"}


async def test_upvotes_break_ties_but_never_make_a_match(stored):
    found = await titles(stored, "gnn")
    assert found[0][0] == "Message Passing with GNNs for Molecules"
    assert all(title != "Efficient Networks for Vision" for title, _ in found)


async def test_every_match_explains_itself_in_the_papers_own_words(stored):
    async with stored.session() as s:
        gnn = await match_topic(s, TopicMatcher(), "graph neural network", limit=5)
    scaling = next(r for r in gnn if r.paper.title.startswith("Scaling"))
    # the words found, as the paper writes them, so a false match is visible at once
    assert scaling.result.why().startswith("“Graph Neural Networks” in title")
    molecules = next(r for r in gnn if r.paper.title.startswith("Message Passing"))
    assert "“GNNs” (synonym) in title" in molecules.result.why()


def test_why_quotes_the_paper_not_the_topic():
    glossary = default_glossary()
    paper = AnalyzedPaper.of("Efficient Optimization of Sparse Transformers",
                             "We study bi-level Optimisation. Our optimizer, a second-order method, trains faster.")
    why = match_paper(compile_topic("optimizers", glossary), paper).why()
    assert "“optimizer”" in why and "Optimization" not in why
    kd = match_paper(compile_topic("knowledge distillation", glossary),
                     AnalyzedPaper.of("Distilling Reasoning into Small Models",
                                      "We distill a teacher into student models. The student model matches it.")).why()
    assert "“Distilling” (the topic's head word) in title" in kd


async def test_search_titles_abstracts_and_filters(stored):
    async with stored.session() as s:
        m = TopicMatcher()
        found = await search_papers(s, m, "retrieval generation")
        assert found[0].paper.title == "Retrieval-Augmented Generation at Scale"
        assert [r.paper.title for r in await search_papers(s, m, "pruning", since=date(2025, 1, 1))] == [
            "Pruning Large Models", "A Survey of Optimizers"]
        assert [r.paper.title for r in await search_papers(s, m, "pruning", min_upvotes=5)] == [
            "A Survey of Optimizers"]
        assert await search_papers(s, m, "'; DROP TABLE papers; --") == []
        # an acronym the paper writes only in the plural is found on both databases (PostgreSQL keeps "llms")
        await store_papers(s, [paper("Tool Use for Agents", "We build agents on top of LLMs.", arxiv_id="2603.00012")])
        assert [r.paper.title for r in await search_papers(s, m, "LLM agents")] == ["Tool Use for Agents"]
        await store_papers(s, [paper("Fast Kernels", "Our kernels run on GPUs.", arxiv_id="2603.00013")])
        assert [r.paper.title for r in await search_papers(s, m, "GPU kernels")] == ["Fast Kernels"]  # "gpus" too
        assert await search_papers(s, m, "\"unbalanced quote AND OR NOT (") == []


async def test_subscriptions_per_channel_and_person(db):
    async with db.session() as s:
        assert (await subscribe(s, CHANNEL, "  Diffusion   Models ")).added
        again = await subscribe(s, CHANNEL, "diffusion models")
        assert not again.added and again.topic == "diffusion models"
        assert (await subscribe(s, CHANNEL, "LoRA")).topic == "LoRA"
        assert (await subscribe(s, PERSON, "diffusion models")).added
        assert (await subscribe(s, OTHER, "gnn")).added
    async with db.session() as s:
        assert await list_topics(s, CHANNEL) == ["diffusion models", "LoRA"]
        assert await list_topics(s, PERSON) == ["diffusion models"]
        assert await unsubscribe(s, CHANNEL, "DIFFUSION models") == "diffusion models"
        assert await unsubscribe(s, CHANNEL, "never subscribed") is None
        assert await list_topics(s, CHANNEL) == ["LoRA"]
        assert await list_topics(s, OTHER) == ["gnn"]


@pytest.mark.parametrize("bad", ["", "   ", "\x00\x07", "x" * 101, "x" * 2_000_000, "!!!", "the", "of the"])
async def test_bad_topics_are_refused_and_change_nothing(db, bad):
    async with db.session() as s:
        with pytest.raises(UsageError):
            await subscribe(s, CHANNEL, bad)
    async with db.session() as s:
        assert await list_topics(s, CHANNEL) == []


async def test_topic_limit_per_scope(db):
    async with db.session() as s:
        for i in range(MAX_TOPICS_PER_SCOPE):
            await subscribe(s, CHANNEL, f"topic number {i}")
        with pytest.raises(UsageError, match="already follows 50 topics"):
            await subscribe(s, CHANNEL, "one too many")
        assert (await subscribe(s, PERSON, "one too many")).added
