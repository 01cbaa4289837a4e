"""Personal topics that reach the person, on the console (the same core Slack and Discord use): the "for you"
part of /papers today, personal digests by direct message exactly once, and opt-in mentions. SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import re

import pytest
from sqlalchemy import select

from adapters.console.console_poster import ConsolePoster
from bot.digests.digest_runner import DigestRunner, DigestSettings
from bot.errors import DeliveryError
from bot.feedback import feedback_service
from bot.topics.subscriptions import Scope
from storage.database import Database
from storage.delivery_store import get_delivery
from storage.models import Paper
from storage.paper_store import store_papers
from tests.chat_fixtures import ingest_samples, make_bot
from tests.cli_runner import paperboy
from tests.personal_fixtures import DAY1, DAY2, DIFFUSION, GNN, at, follow, gnn_papers, store_day

ML = "ml"


def you(user: str) -> Scope:
    return Scope.for_user("console", "local", user)


async def say(db: Database, text: str, *, user: str, channel: str = ML, now=None) -> str:
    bot = make_bot(db, channel=channel, user=user, **({"now": now} if now else {}))
    await bot.console.say(text)
    return bot.text()


class Printed:
    def __init__(self, db: Database) -> None:
        self.lines: list[str] = []
        self.poster = ConsolePoster(make_bot(db).core, write=self.lines.append)

    def to(self, where: str) -> list[str]:
        return [p for p in self.lines if p.startswith(f"— {where} —")]


def runner(db: Database, printed: Printed, now, *, owner: str = "proc-1", poster=None) -> DigestRunner:
    return DigestRunner(make_bot(db, now=now).core.services, {"console": poster or printed.poster}, owner=owner,
                        settings=DigestSettings(lease_seconds=300))


async def test_papers_today_adds_a_private_for_you_part_with_the_askers_own_matches(db):
    await store_day(db, DAY1)
    await say(db, f"/subscribe {DIFFUSION}", user="u9")
    await say(db, f"/subscribe --me {GNN}", user="u1")
    mine = await say(db, "/papers today", user="u1", now=at(DAY1, 10))
    channel_part, _, private = mine.partition("(only you can see this)\nFor you")
    assert channel_part.count("Diffusion models for image synthesis") == 10 and "Graph neural" not in channel_part
    assert private.count("Graph neural networks for molecules") == 3
    assert "why: graph neural networks:" in private and "Your topics: graph neural networks" in private
    # Someone without personal topics gets the channel's list only.
    theirs = await say(db, "/papers today", user="u2", now=at(DAY1, 10))
    assert "For you" not in theirs and "only you can see this" not in theirs


async def test_a_personal_digest_is_posted_once_by_dm_never_repeats_a_paper_and_catches_up(db):
    await store_day(db, DAY1)
    await follow(db, you("u1"), GNN)
    answer = await say(db, "/papers digest --me 08:00 Europe/Paris", user="u1")
    assert "(only you can see this)" in answer and "08:00 Europe/Paris" in answer
    printed = Printed(db)
    assert await runner(db, printed, at(DAY1, 5, 59)).run_due() == []  # 07:59 in Paris
    outcomes = await runner(db, printed, at(DAY1, 6)).run_due()
    assert [(o.destination, o.status) for o in outcomes] == [("console:local:@u1", "posted")]
    assert await runner(db, printed, at(DAY1, 7)).run_due() == []  # posted: not due again that day
    (dm,) = printed.to("@u1")
    assert "for you" in dm and dm.count("Graph neural networks for molecules") == 3
    assert "Diffusion" not in dm and "Your topics: graph neural networks" in dm
    # Next day: two new GNN papers and yesterday's three again (a re-listing): only the new ones, and a bot that
    # was down at 08:00 catches up within the grace period.
    await store_day(db, DAY2, gnn=2, start=100, diffusion=0)
    async with db.session() as s:  # yesterday's papers again, as a new arXiv version listed today
        await store_papers(s, [dataclasses.replace(p, version=2, listed_on=DAY2) for p in gnn_papers(DAY1)])
    await runner(db, printed, at(DAY2, 10)).run_due()
    second = printed.to("@u1")[1]
    assert second.count("Graph neural networks for molecules") == 2 and "study 21-100" in second
    assert "study 20-" not in second


async def test_personal_digest_off_preview_and_status(db):
    await store_day(db, DAY1)
    assert "no personal digest" in (await say(db, "/papers digest --me", user="u1"))
    assert "follow no topics" in (await say(db, "/papers digest --me preview", user="u1", now=at(DAY1, 9)))
    await follow(db, you("u1"), GNN)
    preview = await say(db, "/papers digest --me preview", user="u1", now=at(DAY1, 9))
    assert "(only you can see this)" in preview and preview.count("Graph neural networks for molecules") == 3
    await say(db, "/papers digest --me 07:30", user="u1")
    listing = await say(db, "/subscriptions", user="u1")
    assert "You follow: graph neural networks" in listing and "direct message: 07:30 UTC" in listing
    assert "off" in await say(db, "/papers digest --me off", user="u1")
    printed = Printed(db)
    assert await runner(db, printed, at(DAY1, 8)).run_due() == []
    assert "/papers digest --me HH:MM" in await say(db, "/subscriptions", user="u1")
    assert "comes by direct message at 07:30 UTC" in await say(db, "/papers digest --me on", user="u1")
    bad = await say(db, "/papers digest --me 25:99", user="u1")
    assert "not a time of day" in bad and "Traceback" not in bad


async def test_channel_digest_items_mention_only_opted_in_people_whose_topics_match(db):
    await store_day(db, DAY1, diffusion=2)
    channel = Scope.for_channel("console", "local", ML)
    await follow(db, channel, GNN)
    await follow(db, channel, DIFFUSION)
    await follow(db, you("u1"), GNN)  # opted in, matching: mentioned on the GNN items
    await follow(db, you("u2"), GNN)  # matching but not opted in: never mentioned
    await follow(db, you("u3"), "reinforcement learning")  # opted in, nothing matches
    await say(db, "/papers digest 09:00 UTC", user="u9")
    for user in ("u1", "u3"):
        assert "will mention you" in await say(db, "/papers mention me on", user=user)
    assert "Mentions for you here: on" in await say(db, "/subscriptions", user="u1")
    printed = Printed(db)
    await runner(db, printed, at(DAY1, 9)).run_due()
    (digest,) = printed.to(f"#{ML}")
    items = re.split(r"\n *\d+\. ", digest)[1:]
    gnn_items = [i for i in items if "Graph neural" in i]
    assert len(gnn_items) == 3 and all("\n    → @u1\n" in i + "\n" for i in gnn_items)
    assert "@u2" not in digest and "@u3" not in digest
    assert digest.count("→") == 3
    # Opting out: the next day's digest names nobody.
    assert "not be mentioned" in await say(db, "/papers mention me off", user="u1")
    await store_day(db, DAY2, diffusion=0, start=200)
    await runner(db, printed, at(DAY2, 9)).run_due()
    assert "→" not in printed.to(f"#{ML}")[1] and "Graph neural" in printed.to(f"#{ML}")[1]


async def test_mention_takes_only_me_on_or_off(db):
    for line in ("/papers mention everyone on", "/papers mention me sometimes", "/papers mention <@U1> on"):
        answer = await say(db, line, user="u1")
        assert "Usage" in answer and "Traceback" not in answer
    assert "are off" in await say(db, "/papers mention", user="u1")


async def test_mention_takes_the_natural_ways_of_saying_it_and_says_what_was_set(db):
    """`/papers mention me` and `/papers mention on` were refused with the usage line although people write them:
    the grammar knew only "me on" and "me off"."""
    await store_day(db, DAY1)
    await follow(db, you("u1"), GNN)
    await say(db, "/papers digest 09:00 UTC", user="u9")
    for line in ("/papers mention on", "/papers mention ME ON", "/papers mention me enable", "/papers mention yes"):
        answer = await say(db, line, user="u1")
        assert "Usage" not in answer and "Mentions for you in this channel are now on:" in answer, line
        assert "Mentions for you here: on" in await say(db, "/subscriptions", user="u1")
    for line in ("/papers mention me", "/papers mention"):
        assert "Mentions for you in this channel are on: digest items here" in await say(db, line, user="u1")
    for line in ("/papers mention off", "/papers mention me disable", "/papers mention no"):
        answer = await say(db, line, user="u1")
        assert "Usage" not in answer and "Mentions for you in this channel are now off:" in answer, line
        assert "Mentions for you here: off" in await say(db, "/subscriptions", user="u1")
    assert "are off" in await say(db, "/papers mention me", user="u1")


async def test_a_failing_dm_is_retried_with_backoff_and_never_blocks_the_others(db):
    await store_day(db, DAY1)
    for user in ("gone", "u1"):
        await follow(db, you(user), GNN)
        await say(db, "/papers digest --me 09:00", user=user)
    printed = Printed(db)

    class ClosedDms:
        async def post_digest(self, destination, message, *, tag=None):
            if destination.user == "gone":
                raise DeliveryError("the person left the workspace", permanent=True)
            return await printed.poster.post_digest(destination, message, tag=tag)

        async def find_digest(self, destination, tag):
            return await printed.poster.find_digest(destination, tag)

    first = await runner(db, printed, at(DAY1, 9), poster=ClosedDms()).run_due()
    assert {o.destination: o.status for o in first} == {"console:local:@gone": "failed", "console:local:@u1": "posted"}
    async with db.session() as s:
        failed = await get_delivery(s, "console:local:@gone", DAY1)
    assert failed is not None and failed.status == "failed" and failed.next_attempt_at is not None
    assert await runner(db, printed, at(DAY1, 9, 0), poster=ClosedDms()).run_due() == []  # backing off; u1's is done
    assert len(printed.to("@u1")) == 1 and printed.to("@gone") == []


def _store(db_env: dict[str, str]) -> None:
    async def go() -> None:
        database = Database(db_env["PAPERBOY_DATABASE_URL"], schema=db_env.get("PAPERBOY_DATABASE_SCHEMA"))
        try:
            await store_day(database, DAY1)
        finally:
            await database.dispose()

    asyncio.run(go())


def test_the_console_flow_posts_a_personal_digest_once(db_env):
    """The issue's own words, as a user types them: subscribe for yourself, ask for your digest, run the day."""
    env = {**db_env, "PAPERBOY_TIMEZONE": "UTC"}
    assert paperboy("ingest", "--sample", env=env).code == 0  # migrates, and papers of other days around
    _store(db_env)
    sub = paperboy("say", f"/subscribe --me {GNN}", "--channel", ML, "--user", "u1", env=env)
    assert sub.code == 0 and "Subscribed your personal list" in sub.out
    setting = paperboy("say", "/papers digest --me 08:00 UTC", "--channel", ML, "--user", "u1", env=env)
    assert "direct message at 08:00 UTC" in setting.out
    first = paperboy("digest", "run", "--date", DAY1.isoformat(), env=env)
    assert first.code == 0, first.err
    assert first.out.count("— @u1 —") == 1 and first.out.count("Graph neural networks for molecules") == 3
    assert "console:local:@u1 2026-04-20: posted" in first.out
    second = paperboy("digest", "run", "--date", DAY1.isoformat(), env=env)
    assert second.code == 0 and "— @u1 —" not in second.out and "skipped" in second.out


@pytest.mark.parametrize("backend", ["postgresql"])
def test_three_concurrent_runs_on_postgresql_post_it_once(db_env):
    env = {**db_env, "PAPERBOY_TIMEZONE": "UTC"}
    assert paperboy("say", f"/subscribe --me {GNN}", "--user", "u1", "--channel", ML, env=env).code == 0
    _store(db_env)
    assert paperboy("say", "/papers digest --me 08:00 UTC", "--user", "u1", "--channel", ML, env=env).code == 0

    async def race() -> list[str]:
        runs = [asyncio.to_thread(paperboy, "digest", "run", "--date", DAY1.isoformat(), env=env) for _ in range(3)]
        return [r.out for r in await asyncio.gather(*runs)]

    outs = asyncio.run(race())
    assert sum(out.count("— @u1 —") for out in outs) == 1, outs
    assert sum(out.count("@u1 2026-04-20: posted") for out in outs) == 1



async def test_settings_without_personal_topics_say_that_nothing_comes_yet(db):
    """`/papers mention me on` and `/papers digest --me` for someone with no topics of their own confirmed
    mentions and a DM digest ("your digest will list them") that no digest would ever send."""
    mention = await say(db, "/papers mention me on", user="u1")
    assert mention == ("(only you can see this)\nMentions for you here are on, but you follow no topics of your own "
                       "yet: add one with /subscribe --me TOPIC.")
    assert "Mentions for you here: on" in await say(db, "/subscriptions", user="u1")
    await say(db, "/papers digest --me 07:30", user="u1")
    assert (await say(db, "/papers digest --me", user="u1")).endswith(
        "Your personal digest is on: 07:30 UTC (weekdays), by direct message. No message comes until you follow a "
        "topic of your own: /subscribe --me TOPIC.")
    await follow(db, you("u1"), GNN)
    assert (await say(db, "/papers digest --me", user="u1")).endswith(
        "Your personal digest is on: 07:30 UTC (weekdays), by direct message.")
    await say(db, "/papers digest 09:00 UTC", user="u9")  # the channel's, which mentions ride on
    assert "will mention you" in await say(db, "/papers mention me on", user="u1")


async def u1_dm_digest(db) -> tuple[str, Printed]:
    """Day 1 stored, the channel following diffusion and u1 graph neural networks by DM at 08:00: u1's DM digest,
    as printed."""
    await store_day(db, DAY1)
    await say(db, f"/subscribe {DIFFUSION}", user="u9")
    await say(db, f"/subscribe --me {GNN}", user="u1")
    await say(db, "/papers digest --me 08:00 UTC", user="u1")
    printed = Printed(db)
    await runner(db, printed, at(DAY1, 9)).run_due()
    (dm,) = printed.to("@u1")
    return dm, printed


async def test_why_under_your_own_digest_explains_your_topics(db):
    """`why 2` under the person's DM digest went to the LLM as a question ("Q: why 2"), and the thread's help
    left it out: it now says why the paper was listed, with the person's own topics."""
    dm, _ = await u1_dm_digest(db)
    found = re.search(r"\[#(\d+)\]", dm)
    assert found, dm
    u1 = make_bot(db, channel=ML, user="u1", now=at(DAY1, 10))
    await u1.console.say("why 2", thread=int(found.group(1)), dm=True)
    assert "Why: Graph neural networks for molecules" in u1.last() and "✓ graph neural networks:" in u1.last()
    assert "diffusion" not in u1.last() and "Q:" not in u1.last()
    await u1.console.say("help", thread=int(found.group(1)), dm=True)
    assert "“why 2” for why it was listed" in u1.last()


async def test_replies_under_your_digest_preview_in_the_console_teach_your_topics(db):
    """The preview was numbered as a channel message (#N), so `reply N less 1` under it taught the channel;
    it is numbered among the person's own messages now, like the "for you" part."""
    await store_day(db, DAY1)
    await say(db, f"/subscribe {DIFFUSION}", user="u9")
    await say(db, f"/subscribe --me {GNN}", user="u1")
    u1 = make_bot(db, channel=ML, user="u1", now=at(DAY1, 10))
    await u1.console.say("/papers digest --me preview")
    found = re.search(r"\[@(\d+)\] reply @\1 more 2", u1.last())
    assert found and "[#" not in u1.last(), u1.last()
    await u1.console.say("less 1", thread=int(found.group(1)), dm=True)
    assert "Noted — not for you:" in u1.last() and "your “graph neural networks”" in u1.last()
    await u1.console.say("/papers feedback --me")
    assert "• graph neural networks: 👍 0 · 👎 1" in u1.last()
    await u1.console.say("/papers feedback")
    assert "Nothing yet" in u1.last()


async def test_after_unsubscribing_everything_the_settings_say_that_nothing_comes(db):
    """/subscriptions listed "Your digest by direct message: 07:30 UTC" and "Mentions for you here: on" to
    someone who had unsubscribed every topic of their own, and `/papers mention` said items "name you": none
    would ever come."""
    await follow(db, you("u1"), GNN)
    await say(db, "/papers digest --me 07:30", user="u1")
    await say(db, "/papers mention me on", user="u1")
    await say(db, f"/unsubscribe --me {GNN}", user="u1")
    listing = await say(db, "/subscriptions", user="u1")
    assert ("Your digest by direct message: 07:30 UTC (weekdays) — nothing comes until you follow a topic of your "
            "own") in listing
    assert "Mentions for you here: on — none until you follow a topic of your own" in listing
    assert "are on, but you follow no topics of your own, so none will (/subscribe --me TOPIC)" in \
        await say(db, "/papers mention", user="u1")
    await follow(db, you("u1"), DIFFUSION)
    listing = await say(db, "/subscriptions", user="u1")
    assert "Your digest by direct message: 07:30 UTC (weekdays)\n" in listing and "nothing comes" not in listing
    assert "Mentions for you here: on\n" in listing + "\n" and "none until" not in listing
    assert "name you" in await say(db, "/papers mention", user="u1")


async def test_your_own_lists_speak_of_your_judgements_not_the_channels(db):
    """After a person's 👎s, their DM digest's why lines read "like 3 papers marked not for us here" (the words
    of a channel's list) and `why` "this channel marked papers…": the judgements are theirs."""
    await store_day(db, DAY1)
    await follow(db, Scope.for_channel("console", "local", ML), DIFFUSION)
    await follow(db, you("u1"), GNN)
    await say(db, "/papers digest --me 08:00 UTC", user="u1")
    printed = Printed(db)
    await runner(db, printed, at(DAY1, 9)).run_due()
    u1 = make_bot(db, channel=ML, user="u1", now=at(DAY2, 10))
    found = re.search(r"\[#(\d+)\]", printed.to("@u1")[0])
    assert found
    await u1.console.say("less 1 2 3", thread=int(found.group(1)), dm=True)
    await store_day(db, DAY2, gnn=2, start=100)
    await runner(db, printed, at(DAY2, 9)).run_due()
    second = printed.to("@u1")[1]
    assert "study 21-100" in second and "like 3 papers marked not for you here" in second
    assert "for us" not in second and "this channel" not in second
    await u1.console.say("/papers today")
    assert "like 3 papers marked not for you here" in u1.last().split("For you", 1)[1]
    await u1.console.say("/papers digest --me preview")
    assert "for us" not in u1.last() and "this channel" not in u1.last()


async def test_mentions_in_a_channel_without_a_digest_say_that_none_will_come(db):
    """`/papers mention me on` promised "This channel's digest will mention you" where the channel had no digest,
    or had turned it off: no mention could come."""
    await follow(db, you("u1"), GNN)
    never = await say(db, "/papers mention me on", user="u1")
    assert "gets no daily digest, so none will come until it does (/papers digest HH:MM)" in never
    assert "will mention you" not in never
    await say(db, "/papers digest 09:00 UTC", user="u9")
    assert "will mention you" in await say(db, "/papers mention me on", user="u1")
    await say(db, "/papers digest off", user="u9")
    assert "gets no daily digest, so none will come until it does (/papers digest on)" in \
        await say(db, "/papers mention me on", user="u1")


async def test_a_paper_you_taught_your_topic_to_leave_out_does_not_mention_you(db):
    """Mentions matched the person's topics plainly: a paper their own 👎s taught their topic to leave out (one
    passing mention of it, like papers they marked not for them) still named them on the channel's digest,
    though their own digest would not list it."""
    await ingest_samples(db)
    rl = "reinforcement learning"
    await say(db, f"/subscribe {rl}", user="u9", channel="rl")
    await say(db, "/papers digest 09:00 UTC", user="u9", channel="rl")
    await say(db, f"/subscribe --me {rl}", user="u1", channel="rl")
    assert "will mention you" in await say(db, "/papers mention me on", user="u1", channel="rl")
    async with db.session() as s:
        papers = list((await s.execute(select(Paper))).scalars())
    (beyond,) = [p for p in papers if p.title.startswith("Beyond Variance: Prompt-Efficient RLVR")]
    passing = ("CURE: Critical-Token-Guided", "Understanding the Performance Gap in Preference Learning",
               "Extended Inductive Reasoning for Personalized")
    about = ("Asymptotics of Language Model Alignment", "The Importance of Online Data",
             "Metis-SPECS: Decoupling Multimodal Learning")
    core = make_bot(db).core
    for starts, relevant in [(t, False) for t in passing] + [(t, True) for t in about]:
        (paper,) = [p for p in papers if p.title.startswith(starts)]
        async with db.session() as s:  # as u1's "less N" / "more N" under their own lists record them
            await feedback_service.judge(s, core.services.matcher, you("u1"), rl, paper, "u1", relevant)
    printed = Printed(db)
    assert beyond.listed_on is not None
    (outcome,) = await runner(db, printed, at(beyond.listed_on, 9)).run_for(beyond.listed_on, "console:local:rl")
    assert outcome.status == "posted"
    (digest,) = printed.to("#rl")
    items = re.split(r"\n *\d+\. ", digest)[1:]
    (item,) = [i for i in items if i.startswith("Beyond Variance: Prompt-Efficient RLVR")]
    assert "→ @u1" not in item  # listed for the channel, which taught nothing
    assert any("→ @u1" in i for i in items)  # the papers about it still name u1


async def test_for_you_on_a_later_page_does_not_offer_the_earlier_pages_again(db):
    """On `/papers today 2`, "for you" listed the papers of page 1 that match the asker's topics (the channel's
    own matches, first on page 1) as if they were beyond the channel's list."""
    await store_day(db, DAY1)
    await say(db, f"/subscribe {GNN}", user="u9")
    await say(db, f"/subscribe --me {GNN}", user="u1")
    first = await say(db, "/papers today", user="u1", now=at(DAY1, 10))
    assert first.split("For you", 1)[0].count("Graph neural networks for molecules") == 3
    assert "Nothing beyond the list above matches your topics today." in first
    second = await say(db, "/papers today 2", user="u1", now=at(DAY1, 10))
    assert "Graph neural networks for molecules" not in second
    assert "Nothing beyond the list above matches your topics today." in second
