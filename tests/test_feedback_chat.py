"""Judging from chat through the console adapter: “more 3” / “less 3” under a listing, /papers feedback and its
reset, /subscribe like — on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest

from bot.papers import ParsedPaper
from storage.paper_store import find_paper, store_papers
from tests.chat_fixtures import TODAY, ingest_samples, make_bot


@pytest.fixture
async def loaded(db):
    await ingest_samples(db)
    return db


def _thread_line(bot) -> str:
    return bot.last().split("\n", 1)[1].strip()


async def test_more_and_less_under_a_listing_count_per_person_and_can_change_or_withdraw(loaded):
    ada = make_bot(loaded, channel="lab", user="ada")
    await ada.console.say("/subscribe mixture of experts")
    await ada.console.say("/papers today")
    assert ada.last().startswith("[#1] Papers of")
    await ada.console.say("less 2", thread=1)
    line = _thread_line(ada)
    assert line.startswith("Noted — not for us: “Scaling physics-informed hard constraints with mixture-of-experts” "
                           "for “mixture of experts” (👍 0 · 👎 1;")
    await ada.console.say("👍 2", thread=1)  # a second verdict by the same person replaces the first
    assert "(👍 1 · 👎 0;" in _thread_line(ada)
    grace = make_bot(loaded, channel="lab", user="grace")
    await grace.console.say("less 2", thread=1)
    assert "(👍 1 · 👎 1;" in _thread_line(grace)
    await grace.console.say("undo 2", thread=1)
    assert _thread_line(grace).startswith("Noted — withdrawn:") and "(👍 1 · 👎 0;" in _thread_line(grace)
    await ada.console.say("more 99", thread=1)
    assert _thread_line(ada) == "There is no paper 99 there; pick 1 to 10."
    await ada.console.say("more 4", thread=1)  # not matched by any topic: judged for "none" (more like this)
    assert "for no topic (listed for its upvotes)" in _thread_line(ada)
    await ada.console.say("summarize 1", thread=1)  # the other thread replies still work
    assert "Summary:" in ada.last()


async def test_several_papers_judged_in_one_reply_or_none_when_a_number_is_wrong(loaded):
    ada = make_bot(loaded, channel="lab", user="ada")
    await ada.console.say("/subscribe mixture of experts")
    await ada.console.say("/papers today")
    await ada.console.say("less 2 99", thread=1)  # 99 is not listed: 2 is not judged either
    assert _thread_line(ada) == "There is no paper 99 there; pick 1 to 10. Nothing was judged."
    await ada.console.say("/papers feedback")
    assert "Nothing yet" in ada.last()
    await ada.console.say("less 1, 2 and 2", thread=1)
    lines = ada.last().split("\n")[1:]
    assert [line.strip()[:24] for line in lines] == ["Noted — not for us: “A T", "Noted — not for us: “Sca"]
    assert "now learns from 2 judged papers" in lines[1]
    await ada.console.say("/papers feedback")
    assert "• mixture of experts: 👍 0 · 👎 2" in ada.last()


async def test_judgements_change_this_channels_listing_only_and_reset_forgets_them(loaded):
    lab = make_bot(loaded, channel="lab")
    other = make_bot(loaded, channel="other")
    for bot in (lab, other):
        await bot.console.say("/subscribe mixture of experts")
    await lab.console.say("/papers today")
    await lab.console.say("more 1", thread=1)
    await lab.console.say("less 2", thread=1)
    await lab.console.say("/papers today")
    taught = lab.last()
    assert "like 1 paper marked relevant here (“A Theoretical Framework for Auxiliary-Loss-Free Load" in taught
    assert "like 1 paper marked not for us here" in taught
    await other.console.say("/papers today")
    assert "marked" not in other.last()
    await lab.console.say("/papers feedback")
    summary = lab.last()
    assert "• mixture of experts: 👍 1 · 👎 1 · learned: load, auxiliary, moe, balancing" in summary
    await other.console.say("/papers feedback")
    assert "Nothing yet" in other.last()
    await lab.console.say("/papers feedback reset mixture of experts")
    assert lab.last() == "Forgot 2 judgements for “mixture of experts”: it matches as it did before anyone here " \
                         "judged it."
    await lab.console.say("/papers today")
    assert "marked" not in lab.last()
    await lab.console.say("/papers feedback reset mixture of experts")
    assert "has not judged any paper for “mixture of experts”" in lab.last()
    await lab.console.say("/papers feedback forget everything")
    assert "Usage: /papers feedback" in lab.last()


async def test_subscribe_like_starts_a_topic_from_example_papers(loaded):
    bot = make_bot(loaded, channel="lab")
    await bot.console.say("/subscribe like #5 #7")
    reply = bot.last()
    assert reply.startswith("Subscribed this channel to “") and "from 2 example papers" in reply
    topic = reply.split("“", 1)[1].split("”", 1)[0]
    await bot.console.say("/subscriptions")
    assert f"This channel follows: {topic}" in bot.last()
    await bot.console.say("/papers feedback")
    assert f"• {topic}: 👍 2 · 👎 0" in bot.last()
    await bot.console.say(f"/unsubscribe {topic}")
    assert bot.last() == f"Unsubscribed this channel from “{topic}”."
    await bot.console.say("/subscribe like #999999")
    assert "no stored paper '#999999'" in bot.last()
    await bot.console.say("/subscribe like")  # the papers forgotten: the usage, not a topic called "like"
    assert "Usage: /subscribe like PAPER_ID [PAPER_ID …] (1 to 10 papers)" in bot.last()
    await bot.console.say("/subscriptions")
    assert "This channel follows: nothing yet" in bot.last()


async def test_subscribe_like_counts_a_paper_named_twice_once(loaded):
    """"/subscribe like #23 #23" said "from 2 example papers" though one paper was judged once; so did a
    paper named by its #id and its arXiv id."""
    async with loaded.session() as session:
        await store_papers(session, [ParsedPaper(
            title="Feynman-Kac Steering of Diffusion Samplers", source="arxiv-api", arxiv_id="2604.09999",
            abstract="We propose Feynman-Kac steering for diffusion samplers.", listed_on=TODAY)])
        number = (await find_paper(session, "2604.09999")).id
    bot = make_bot(loaded, channel="lab")
    await bot.console.say(f"/subscribe like #{number} 2604.09999 #{number} https://arxiv.org/abs/2604.09999v2")
    reply = bot.last()
    assert reply.startswith("Subscribed this channel to “") and "from 1 example paper (marked" in reply
    topic = reply.split("“", 1)[1].split("”", 1)[0]
    await bot.console.say("/papers feedback")
    assert f"• {topic}: 👍 1 · 👎 0" in bot.last()


async def test_why_says_what_the_channels_lists_decide_when_its_judgements_moved_the_line(loaded):
    """A channel that marked papers mentioning reinforcement learning once in passing "not for us" (and those about
    it relevant) no longer gets such papers listed; `/papers why` must say so too ("✗ … left out: …"), not
    contradict the list with the plain matcher's "✓"."""
    from sqlalchemy import select

    from bot.feedback import feedback_service
    from storage.models import Paper

    bot = make_bot(loaded, channel="rl")
    await bot.console.say("/subscribe reinforcement learning")
    await bot.console.say("/papers today")
    assert "Beyond Variance: Prompt-Efficient RLVR" in bot.last()  # one passing mention: listed plainly
    passing = ("CURE: Critical-Token-Guided", "Understanding the Performance Gap in Preference Learning",
               "Extended Inductive Reasoning for Personalized")
    about = ("Asymptotics of Language Model Alignment", "The Importance of Online Data",
             "Metis-SPECS: Decoupling Multimodal Learning")
    async with loaded.session() as s:
        papers = list((await s.execute(select(Paper))).scalars())
    scope = bot.console.context().channel_scope
    for starts, relevant in [(t, False) for t in passing] + [(t, True) for t in about]:
        (paper,) = [p for p in papers if p.title.startswith(starts)]
        async with loaded.session() as s:
            await feedback_service.judge(s, bot.core.services.matcher, scope, "reinforcement learning", paper,
                                         "ada", relevant)
    await bot.console.say("/papers today")
    items = re.split(r"\n\s*\d+\. ", bot.last())
    (item,) = [i for i in items if i.startswith("Beyond Variance: Prompt-Efficient RLVR")]
    assert "why: reinforcement learning" not in item  # listed after the matches, for its upvotes only
    (beyond,) = [p for p in papers if p.title.startswith("Beyond Variance: Prompt-Efficient RLVR")]
    await bot.console.say(f"/papers why #{beyond.id}")
    why = bot.last()
    assert "✗ reinforcement learning: " in why and "left out: this channel marked papers" in why
