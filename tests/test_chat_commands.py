"""Every chat command through the console adapter (a real adapter over the core), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.topics.glossary import term_key
from bot.topics.subscriptions import clean_topic
from storage.subscription_store import add_subscription
from tests.chat_fixtures import NOW, ingest_samples, make_bot


@pytest.fixture
async def loaded(db):
    await ingest_samples(db)
    return db


async def test_today_without_topics_ranks_by_upvotes_and_says_which_day(loaded):
    bot = make_bot(loaded)
    await bot.console.say("/papers today")
    out = bot.last()
    assert out.startswith("[#1] Papers of Mon Apr 20, 2026")
    assert "Nothing new on Wed Apr 22, 2026; showing the latest day, Mon Apr 20, 2026." in out
    assert " 1. " in out and "TL;DR: " in out and "No topics yet: ranked by upvotes" in out
    assert out.count("TL;DR:") == 10
    plain = await bot.core.handle_text(bot.console.context(), "/papers")
    assert plain.message.header == "Papers of Mon Apr 20, 2026"
    await bot.console.say("/papers today 150")  # past the day's end: how many there are, not a grammar lesson
    assert bot.last().endswith("23 papers on Mon Apr 20, 2026: there is no page 150; the last is page 3.")


async def test_subscribe_previews_and_today_puts_matches_first_with_why(loaded):
    bot = make_bot(loaded)
    await bot.console.say("/subscribe mixture of experts")
    confirmation = bot.last()
    assert confirmation.startswith("Subscribed this channel to “mixture of experts”.")
    assert "It matches" in confirmation and "MoE" in confirmation
    await bot.console.say("/subscribe MIXTURE of   experts")
    assert "Already following “mixture of experts” in this channel." in bot.last()
    await bot.console.say("/papers today")
    today = bot.last()
    first = today.split("\n 2. ")[0]
    assert "Mixture-of-Experts" in first or "mixture-of-experts" in first
    assert "why: mixture of experts: " in first
    assert "of 23 papers match this channel's topics" in today


async def test_a_list_of_topics_is_followed_as_that_many_topics_all_or_none(loaded):
    """"/subscribe RLHF, agents; diffusion" follows three topics (as one topic it would match nothing, and
    /subscriptions, which separates topics with commas, could not show it apart). A bad part, or the topic limit
    reached halfway through a list, stores none of it; "/unsubscribe a, b" removes each."""
    bot = make_bot(loaded)
    await bot.console.say("/subscribe diffusion")
    await bot.console.say("/subscribe RLHF, agents; diffusion, rlhf")
    reply = bot.last()
    assert reply.startswith("Subscribed this channel to “RLHF”, “agents”.")
    assert "• “RLHF”: " in reply and "stored papers, e.g. " in reply and "Already followed: “diffusion”." in reply
    await bot.console.say("/subscribe world models, the")  # "the" alone is no topic: "world models" waits too
    assert "'the' has no words to match papers with" in bot.last()
    await bot.console.say("/subscriptions")
    assert "This channel follows: diffusion, RLHF, agents\n" in bot.last()
    for n in range(5):  # up to 49 of the 50 a channel may follow
        await bot.console.say("/subscribe " + ", ".join(f"topic{n}x{m}" for m in range(10 if n < 4 else 6)))
    await bot.console.say("/subscribe vision transformers, speculative decoding")  # the 50th and the 51st
    assert "already follows 50 topics" in bot.last()
    await bot.console.say("/subscriptions")
    assert "vision transformers" not in bot.last() and "topic4x5" in bot.last()
    await bot.console.say("/subscribe " + ",".join(["x"] * 11))
    assert "follow at most 10 at once" in bot.last()
    await bot.console.say("/unsubscribe agents, world models")
    assert bot.last() == "Unsubscribed this channel from “agents”. It did not follow “world models”."
    await bot.console.say("/subscriptions")
    assert "agents" not in bot.last() and "RLHF" in bot.last()


async def test_a_topic_stored_with_a_comma_is_still_removed_as_it_is_shown(db):
    """Before lists were split, "/subscribe vision, language" stored one topic; /unsubscribe with the same words
    removes it, not two topics it never had."""
    bot = make_bot(db)
    async with db.session() as s:
        shown, key = clean_topic("vision, language")
        await add_subscription(s, bot.console.context().channel_scope, shown, key, limit=50)
    await bot.console.say("/unsubscribe vision, language")
    assert bot.last() == "Unsubscribed this channel from “vision, language”."


async def test_personal_subscriptions_and_listing(loaded):
    bot = make_bot(loaded)
    await bot.console.say("/subscribe --me knowledge distillation")
    assert bot.last().startswith("(only you can see this)\nSubscribed your personal list to “knowledge distillation”")
    await bot.console.say("/subscribe gnn")
    await bot.console.say("/subscriptions")
    assert "This channel follows: gnn" in bot.last() and "You follow: knowledge distillation" in bot.last()
    await bot.console.say("/unsubscribe GNN")
    assert bot.last() == "Unsubscribed this channel from “gnn”."
    await bot.console.say("/unsubscribe gnn")
    assert "does not follow “gnn”" in bot.last()
    other = make_bot(loaded, user="grace")
    await other.console.say("/subscriptions")
    assert "You follow: nothing yet" in other.last()


async def test_top_search_show_why_help(loaded):
    bot = make_bot(loaded)
    await bot.console.say("/papers top month")
    assert bot.last().startswith("[#1] Top papers this month")
    await bot.console.say("/papers top day")  # nothing on Wed Apr 22: the latest day that has papers
    top_day = bot.last()
    assert "] Top papers of Mon Apr 20, 2026\n 1. " in top_day and "2026-04-20, by upvotes" in top_day
    assert "Nothing stored for today (2026-04-22); showing Mon Apr 20, 2026." in top_day
    later = make_bot(loaded, now=NOW + timedelta(days=40))
    await later.console.say("/papers top")
    top_week = later.last()
    assert "] Top papers of the week to Mon Apr 20, 2026\n 1. " in top_week and "\n10. " in top_week
    assert "Nothing stored for this week (2026-05-26 to 2026-06-01); showing the week to" in top_week
    assert "2026-04-14 to 2026-04-20, by upvotes" in top_week
    await bot.console.say("/papers search mixture experts")
    assert "Search: mixture experts" in bot.last() and "Mixture-of-Experts" in bot.last()
    await bot.console.say("/papers search zzzzqqq")
    assert "Nothing found for “zzzzqqq”." in bot.last()
    await bot.console.say("/papers show #1")
    assert "CLASSP" in bot.last() and "TL;DR:" in bot.last()
    await bot.console.say("/papers show 2499.99999")
    assert "no stored paper matches “2499.99999”" in bot.last()
    await bot.console.say("/papers why #1")
    assert "follows no topics yet" in bot.last()
    await bot.console.say("/subscribe continual learning")
    await bot.console.say("/papers why #1")
    assert "✓ continual learning: “Continual Learning” in title" in bot.last()
    await bot.console.say("/papers help")
    assert "/papers search QUERY" in bot.last() and "summarize 3" in bot.last()


async def test_thread_replies_refer_to_the_stored_order_even_after_a_restart(loaded):
    bot = make_bot(loaded)
    await bot.console.say("/papers today")
    listing = bot.last()
    second_title = listing.split("\n 2. ")[1].split("\n")[0].split("  ▲")[0]
    restarted = make_bot(loaded)  # a new process: nothing in memory
    await restarted.console.say("summarize 2", thread=1)
    answer = restarted.last()
    assert answer.lstrip().startswith("↳ in the thread of #1")
    assert f"Summary: {second_title}" in answer and "•" in answer
    await restarted.console.say("tl;dr 2", thread=1)
    assert f"TL;DR: {second_title}" in restarted.last()
    await restarted.console.say("summarize 42", thread=1)
    assert "no paper 42 there; pick 1 to 10" in restarted.last()
    await restarted.console.say("@paperboy what dataset do they use?", thread=1)
    assert "Which one?" in restarted.last()
    await restarted.console.say("2: what dataset do they use?", thread=1)
    assert "Q: what dataset do they use?" in restarted.last()
    await restarted.console.say("nice paper everyone", thread=1)
    assert "no answer" in restarted.last()


async def test_a_request_for_one_paper_in_any_usual_spelling_is_answered_and_several_get_a_hint(loaded):
    """"summarize paper #2", "summerize 2", "tl-dr 2" got the generic "(no answer: …)", and so did "summarize 1 2"
    or "summarize all", which ask for more than the thread answers at once: one paper is answered in every
    usual spelling, several papers are told to ask one at a time, with the request as they wrote it."""
    bot = make_bot(loaded)
    await bot.console.say("/papers today")
    second = bot.last().split("\n 2. ")[1].split("\n")[0].split("  ▲")[0]
    for said in ("summarise 2", "summary 2", "summarize #2", "summarize paper 2", "summarize paper #2",
                 "summarize paper no. 2", "summarize the paper 2 please", "summerize 2", "sumarize 2",
                 "summarize number 2", "summarize: #2!"):
        await bot.console.say(said, thread=1)
        assert f"Summary: {second}" in bot.last(), (said, bot.last())
    for said in ("tldr 2", "tl;dr #2", "tl dr paper 2", "tl-dr 2", "TL;DR: 2"):
        await bot.console.say(said, thread=1)
        assert f"TL;DR: {second}" in bot.last(), (said, bot.last())
    for said, first, then in (("summarize 1 2", "summarize 1", "summarize 2"),
                              ("summarize 1, 3 and 4", "summarize 1", "summarize 3"),
                              ("summarise papers 2 & 5", "summarize 2", "summarize 5"),
                              ("tldr 1-3", "tl;dr 1", "tl;dr 2"),
                              ("tl;dr #4 #1", "tl;dr 4", "tl;dr 1"),
                              ("summarize all", "summarize 1", "summarize 2"),
                              ("summarize them all please", "summarize 1", "summarize 2"),
                              ("summarize both", "summarize 1", "summarize 2"),
                              ("summarize 1 " + "9" * 1900, "summarize 1", "summarize 999999999999…")):
        await bot.console.say(said, thread=1)
        shown = bot.last()
        assert f"One paper at a time: “{first}”, then “{then}”." in shown, (said, shown)
        assert "no answer" not in shown and "Summary:" not in shown, (said, shown)
    assert "One paper at a time" in (await bot.core.handle_thread_message(
        bot.console.context(thread=1), "summarize 1 and 2")).message.plain_text()  # no mention needed
    await bot.console.say("summary: this thread is great", thread=1)  # chatter that starts like a request
    assert "no answer" in bot.last()
    for said, first, then in (("why 1 2", "why 1", "why 2"), ("why papers #3 and #1", "why 3", "why 1"),
                              ("like 1 and 2", "like 1", "like 2")):
        await bot.console.say(said, thread=1)
        assert f"One paper at a time: “{first}”, then “{then}”." in bot.last(), (said, bot.last())
    await bot.console.say("why 2", thread=1)
    why_two = bot.last()
    assert "follows no topics yet" in why_two, why_two
    await bot.console.say("why paper #2", thread=1)
    assert bot.last() == why_two
    await bot.console.say("like 2 of them said", thread=1)  # people talking: no topic started
    assert "no answer" in bot.last()


async def test_a_question_naming_its_paper_in_passing_is_answered_about_that_paper(loaded):
    """People ask "what dataset does 2 use?", not "2: what dataset…": a paper named once in the question is the
    one asked about; a quantity ("with 2 GPUs") or two papers ("compare 2 and 3?") still asks which one. "why 3"
    says why the paper was listed; "@paperboy help" says what the thread takes, instead of "Which one?"."""
    bot = make_bot(loaded)
    await bot.console.say("/subscribe reinforcement learning")
    await bot.console.say("/papers today")
    listing = bot.last()
    titles = {n: listing.split(f"\n {n}. ")[1].split("\n")[0].split("  ▲")[0] for n in (2, 3)}
    for question, paper in (("what dataset does 2 use?", 2), ("@paperboy code for #3?", 3),
                            ("is paper 2 open source?", 2)):
        await bot.console.say(question, thread=1)
        answer = bot.last()
        assert "Which one?" not in answer and f"From the title and abstract of “{titles[paper]}”" in answer, question
    for question in ("what dataset with 2 GPUs?", "compare 2 and 3?"):
        await bot.console.say(question, thread=1)
        assert "Which one? Reply with a number from 1 to 10" in bot.last(), question
    await bot.console.say("why 3", thread=1)
    assert "reinforcement learning: " in bot.last() and ("✓" in bot.last() or "✗" in bot.last())
    await bot.console.say("@paperboy help", thread=1)
    assert "Reply here with “summarize 2”" in bot.last() and "“why 2”" in bot.last()


async def test_thread_on_a_single_paper_understands_summary_please(loaded):
    bot = make_bot(loaded)
    await bot.console.say("/papers show #5")
    await bot.console.say("summary please", thread=1)
    assert "Summary: " in bot.last()
    await bot.console.say("what problem does it solve?", thread=1)
    assert "Q: what problem does it solve?" in bot.last()


async def test_digest_settings_and_preview(loaded):
    bot = make_bot(loaded)
    await bot.console.say("/papers digest")
    assert "No digest set up here yet" in bot.last()
    await bot.console.say("/papers digest 8:30 Europe/Paris")
    assert bot.last() == "Daily digest for this channel at 08:30 Europe/Paris (weekdays)."
    await bot.console.say("/papers digest")
    assert "Daily digest is on: 08:30 Europe/Paris (weekdays)." in bot.last()
    await bot.console.say("/papers digest preview")
    assert "Paperboy · Mon Apr 20, 2026" in bot.last() and "Preview: only you see this" in bot.last()
    await bot.console.say("/papers digest off")
    assert bot.last().startswith("Daily digest turned off")
    for bad, message in (("25:61", "is not a time of day"), ("08:30 Mars/Olympus", "unknown timezone"),
                         ("08:30 UTC extra", "Usage: /papers digest")):
        await bot.console.say(f"/papers digest {bad}")
        assert message in bot.last()
    await bot.console.say("/papers digest")
    assert "Daily digest is off: 08:30 Europe/Paris" in bot.last()  # the bad inputs changed nothing
    await bot.console.say("/papers digest on")  # back at the time it had
    assert bot.last() == "Daily digest for this channel at 08:30 Europe/Paris (weekdays)."
    await bot.console.say("/papers digest")
    assert "Daily digest is on: 08:30 Europe/Paris (weekdays)." in bot.last()


async def test_digest_days_and_zones_are_taken_as_people_write_them(loaded):
    """The confirmation says "(weekdays)" and "(every day)": repeating those back, a phone's en dash, full day
    names and a zone typed in lower case all set the digest; a fixed offset is refused with what to use instead
    (it would post an hour off for half the year), and the refusal changes nothing."""
    bot = make_bot(loaded)
    for typed, confirmed in (("09:00 UTC weekends", "09:00 UTC (weekends)"),
                             ("09:00 utc every day", "09:00 UTC (every day)"),
                             ("08:30 europe/paris Mon–Fri", "08:30 Europe/Paris (weekdays)"),
                             ("07:00 weekdays America/New_York", "07:00 America/New_York (weekdays)"),
                             ("07:15 UTC tuesday,thurs", "07:15 UTC (tue,thu)")):
        await bot.console.say(f"/papers digest {typed}")
        assert bot.last() == f"Daily digest for this channel at {confirmed}.", typed
    for offset in ("UTC+2", "+05:30", "GMT-4"):
        await bot.console.say(f"/papers digest 06:00 {offset}")
        assert f"'{offset}' is a fixed offset; use your region's zone name" in bot.last()
    await bot.console.say("/papers digest 06:00 UTC someday")
    assert "Usage: /papers digest" in bot.last()
    await bot.console.say("/papers digest 06:00 weekdays weekends")  # which? (not "unknown timezone 'weekends'")
    assert "Usage: /papers digest" in bot.last()
    await bot.console.say("/papers digest")
    assert "Daily digest is on: 07:15 UTC (tue,thu)." in bot.last()


@pytest.mark.parametrize("me", ["", " --me"])
async def test_digest_days_are_stored_and_shown_in_one_order_without_repeats(loaded, me, db_env):
    """"sat,sat,sun" was stored and echoed as typed (and "fri,mon,wed,mon" in the order typed): the days are now
    one list, each day once, Monday first, runs as ranges, the usual ones by name; a list stored as typed before
    is shown the same way."""
    from storage.destination_store import ensure_destination

    bot = make_bot(loaded)
    if me:
        await bot.console.say("/subscribe --me gnn")
    for typed, shown in (("sat,sat,sun", "weekends"), ("fri,mon,wed,mon", "mon,wed,fri"),
                         ("Friday,thu,wed,tue,mon", "weekdays"), ("fri-mon", "mon,fri-sun"),
                         ("mon-wed,tue-thu", "mon-thu"), ("sun,mon-sat", "every day"), ("tue,wed", "tue-wed")):
        await bot.console.say(f"/papers digest{me} 09:00 UTC {typed}")
        assert f"09:00 UTC ({shown})" in bot.last(), (typed, bot.last())
        await bot.console.say(f"/papers digest{me}")
        assert f"09:00 UTC ({shown})" in bot.last(), (typed, bot.last())
    if me:
        return
    async with loaded.session() as s:  # as typed, by an earlier version
        (await ensure_destination(s, "console", "local", "general")).digest_days = "sun,sat,sat"
    await bot.console.say("/papers digest")
    assert "09:00 UTC (weekends)" in bot.last(), bot.last()
    from tests.cli_runner import paperboy

    status = paperboy("digest", "status", env=db_env)
    assert status.code == 0 and "console:local:general  [on] 09:00 UTC sat-sun\n" in status.out, status.out


async def test_a_later_page_numbers_papers_as_the_days_list_and_replies_follow_its_numbers(loaded):
    """`/papers today 2` shows the day's 11th to 20th papers numbered 11 to 20 (as its header and the first
    page's "13 more" say), and "summarize 12" in its thread is the paper shown as 12, not a refusal. Numbers
    it does not show are refused, 1 to 10 too: the first page may never have been posted in this channel, and
    "more 3" must not teach the channel about a paper nobody here saw."""
    bot = make_bot(loaded)
    await bot.console.say("/papers today 2")
    page = bot.last()
    assert "Papers of Mon Apr 20, 2026 (11–20)" in page and "\n11. " in page and "\n20. " in page
    assert "\n 1. " not in page
    twelfth = page.split("\n12. ")[1].split("\n")[0].split("  ▲")[0]
    await bot.console.handle_line("reply 1 summarize 12")
    assert "↳ in the thread of #1" in bot.last() and twelfth[:40] in bot.last()
    await bot.console.handle_line("reply 1 summarize 21")
    assert "There is no paper 21 there; pick 11 to 20." in bot.last()
    await bot.console.handle_line("reply 1 more 3")
    assert "There is no paper 3 there; pick 11 to 20." in bot.last()
    await bot.console.handle_line("reply 1 summarize 3")
    assert "There is no paper 3 there; pick 11 to 20." in bot.last()
    await bot.console.handle_line("reply 1 more 12")
    assert "Noted — " in bot.last()
    await bot.console.say("/papers feedback")
    assert "👍 1 · 👎 0" in bot.last()  # the one judgement: 3 changed nothing


async def test_thread_requests_with_a_question_mark_or_any_number_are_answered(loaded):
    """"summarize 2?" names paper 2 (it asked "Which one?"), and a number of any length is a request too:
    `/papers today 101` numbers papers from 1001 on a big day, so "summarize 1005" must not be dropped as chatter
    (Slack and Discord said nothing at all); one the list does not have is refused with the list's range."""
    bot = make_bot(loaded)
    await bot.console.say("/papers today")
    second = bot.last().split("\n 2. ")[1].split("\n")[0].split("  ▲")[0]
    await bot.console.handle_line("reply 1 can you summarize 2?")
    assert "↳ in the thread of #1" in bot.last() and second[:40] in bot.last()
    for reply in ("summarize 1005", "more 1005", "like 1005", "tl;dr 99999999999999999999999999"):
        await bot.console.handle_line(f"reply 1 {reply}")
        assert "There is no paper " in bot.last() and "there; pick 1 to 10." in bot.last(), (reply, bot.last())
    assert "There is no paper 999999999999… there" in bot.last()  # a huge number is shown cut


async def test_console_loop_lines(loaded):
    bot = make_bot(loaded)
    assert await bot.console.handle_line("/papers today")
    assert await bot.console.handle_line("reply 1 summarize 1")
    assert "↳ in the thread of #1" in bot.last()
    assert await bot.console.handle_line("reply x")
    assert bot.last().startswith("Usage: reply N TEXT")
    assert not await bot.console.handle_line("quit")


async def test_numbers_and_times_take_the_digits_0_to_9_only(loaded):
    """`int()` reads "٠٩" as 9, so "/papers digest ٠٩:٣٠" used to store "09:٣٠"; every number a user types is
    refused with a hint when written in other digits, and nothing changes."""
    bot = make_bot(loaded)
    await bot.console.say("/papers digest 08:30 UTC")
    for line in ("/papers digest ٠٩:٣٠", "/papers digest 09:٣٠", "/papers digest ０９:３０", "/papers digest 9:3²"):
        await bot.console.say(line)
        assert "please write numbers with the digits 0-9, e.g. /papers digest 09:30" in bot.last(), line
    await bot.console.say("/papers digest")
    assert "Daily digest is on: 08:30 UTC" in bot.last()
    for line in ("/papers show #٥", "/papers why #٥", "/papers show ٢٦٠٤.٠١٢٣٤"):
        await bot.console.say(line)
        assert "please write numbers with the digits 0-9" in bot.last(), line
    await bot.console.say("/papers show #5")
    assert "1. " in bot.last()
    await bot.console.say("/papers today")
    await bot.console.say("summarize ٢", thread=1)
    assert "please write numbers with the digits 0-9, e.g. “summarize 2”" in bot.last()
    await bot.console.say("٢: what dataset do they use?", thread=1)
    assert "please write numbers with the digits 0-9, e.g. “2: your question”" in bot.last()
    assert await bot.console.handle_line("reply ١ summarize 1")
    assert bot.last().startswith("Usage: reply N TEXT")
    assert await bot.console.handle_line("reply ² summarize 1")  # isdigit() but not int(): was a traceback
    assert bot.last().startswith("Usage: reply N TEXT")


async def test_a_topic_of_only_stopwords_is_refused_and_one_stored_before_can_still_be_dropped(loaded):
    """"/subscribe the" used to be accepted and match every stored paper (why: “The” in title); a topic of only
    common words is refused, while real topics with such a word inside keep working."""
    bot = make_bot(loaded)
    for line in ("/subscribe the", "/subscribe of the", "/subscribe --me A", "/subscribe “and”"):
        await bot.console.say(line)
        assert "has no words to match papers with, only common ones like “the”" in bot.last(), line
    await bot.console.say("/subscriptions")
    assert "This channel follows: nothing yet" in bot.last() and "You follow: nothing yet" in bot.last()
    for topic, shown in (("theory of mind", "theory of mind"), ("AI for science", "AI for science"),
                         ("learning to rank", "learning to rank"), ("RL", "RL"), ("3D", "3d"), ("C++", "c++"),
                         ("OR", "OR")):
        await bot.console.say(f"/subscribe {topic}")
        assert bot.last().startswith(f"Subscribed this channel to “{shown}”."), topic
    async with loaded.session() as session:  # a channel that followed "the" before the rule
        await add_subscription(session, bot.console.context().channel_scope, *clean_topic("the"), limit=50)
    await bot.console.say("/unsubscribe the")
    assert bot.last() == "Unsubscribed this channel from “the”."


async def test_fullwidth_topics_are_the_plain_topic(loaded):
    """"/subscribe ＲＬ" used to store a topic of its own, beside "rl", that never matched a paper; it is RL."""
    bot = make_bot(loaded)
    await bot.console.say("/subscribe ＲＬ")

    assert bot.last().startswith("Subscribed this channel to “RL”.\nIt matches 42 stored papers"), bot.last()
    await bot.console.say("/subscribe RL")
    assert "Already following “RL” in this channel." in bot.last()
    await bot.console.say("/subscribe ｍｉｘｔｕｒｅ ｏｆ ｅｘｐｅｒｔｓ")
    assert bot.last().startswith("Subscribed this channel to “mixture of experts”.\nIt matches")
    await bot.console.say("/unsubscribe ＭＩＸＴＵＲＥ of experts")
    assert bot.last() == "Unsubscribed this channel from “mixture of experts”."
    await bot.console.say("/unsubscribe RL")
    other = make_bot(loaded, channel="older")  # a topic stored in fullwidth before it was normalised
    async with loaded.session() as session:
        await add_subscription(session, other.console.context().channel_scope, "ＲＬ", term_key("ＲＬ"), limit=50)
    await other.console.say("/papers today")
    assert "why: ＲＬ: “Reinforcement Learning” (synonym) in title" in other.last()
    await other.console.say("/unsubscribe ＲＬ")
    assert other.last() == "Unsubscribed this channel from “ＲＬ”."


async def test_help_and_refusals_state_what_the_commands_take(loaded):
    """`/papers top day` works and channel digests take days, but help and refusals said `top [week|month]` and
    no DAYS; `/papers search --me` answered with the whole `/papers` usage instead of search's."""
    bot = make_bot(loaded)
    await bot.console.say("/papers help")
    assert "• /papers top [day|week|month] — most upvoted recently" in bot.last()
    assert "• /papers digest [--me] HH:MM [TIMEZONE] [DAYS] | on | off | preview — " in bot.last()
    assert "DAYS e.g. mon-sun (default mon-fri)" in bot.last()
    assert "· /papers top [day|week|month] ·" in bot.last()
    await bot.console.say("/papers top year")
    assert bot.last().endswith("\nUsage: /papers top [day|week|month]")
    await bot.console.say("/papers search --me")
    assert bot.last().endswith("\nunknown option --me. Usage: /papers search QUERY [page N]")
    await bot.console.say("/papers digest 07:00 Europe/Paris mon-wed")
    assert bot.last() == "Daily digest for this channel at 07:00 Europe/Paris (mon-wed)."


async def test_counts_of_one_are_singular(loaded):
    """"1 authors" under a paper and "It matches 1 stored papers" after /subscribe."""
    bot = make_bot(loaded)
    await bot.console.say("/subscribe feynman kac")
    assert bot.last().startswith("Subscribed this channel to “feynman kac”.\nIt matches 1 stored paper:\n• ")
    await bot.console.say("/subscribe curriculum learning")
    assert "\nIt matches 2 stored papers, e.g.:\n• " in bot.last()
    await bot.console.say("/papers search ghosts softmax")
    assert "1. Ghosts of Softmax: Complex Singularities" in bot.last() and "\n    1 author\n" in bot.last()


async def test_on_off_settings_take_the_usual_ways_of_saying_on_and_off(loaded):
    """An on/off setting declared once in the command table takes "enable", "yes", "stop" … on every platform
    (the grammar maps them to the table's choices), and refuses anything else with the usage line."""
    bot = make_bot(loaded)
    await bot.console.say("/papers followups disable")
    assert "Follow-ups are off for this channel." in bot.last()
    await bot.console.say("/papers followups  Enable ")
    assert "Follow-ups are on:" in bot.last()
    await bot.console.say("/papers followups sometimes")
    assert "Usage" in bot.last() and "Follow-ups are" not in bot.last()


# The spellings of one paper a summary request takes ("summarize the paper #2"): every thread reply that names a
# paper takes the same ones.
PAPER_TWO = ("2", "#2", "# 2", "paper 2", "paper #2", "the paper 2", "the paper #2", "paper no. 2", "no. 2",
             "number 2")


async def test_every_thread_reply_naming_a_paper_takes_the_same_spellings_of_it(loaded):
    """"like 2" started a topic from paper 2 but "like paper #2" and "like the paper 2" got "(no answer: …)", and
    "more"/"less"/"why" each took their own handful of spellings: now all take a summary request's."""
    bot = make_bot(loaded)
    await bot.console.say("/papers today")
    second = bot.last().split("\n 2. ")[1].split("\n")[0].split("  ▲")[0]
    for spelling in PAPER_TWO:
        for verb, answer in (("more", "Noted — relevant: “"), ("less", "Noted — not for us: “"),
                             ("undo", "Noted — withdrawn: “"), ("👍", "Noted — relevant: “")):
            await bot.console.say(f"{verb} {spelling}", thread=1)
            assert f"{answer}{second[:40]}" in bot.last(), (verb, spelling, bot.last())
        await bot.console.say("why 2", thread=1)
        why_two = bot.last()
        await bot.console.say(f"why {spelling}", thread=1)
        assert bot.last() == why_two, spelling
        await bot.console.say(f"like {spelling}", thread=1)  # the first starts the topic, the others find it
        assert "no answer" not in bot.last() and "Which one?" not in bot.last(), (spelling, bot.last())
        assert "Subscribed this channel" in bot.last() or "already follows" in bot.last(), (spelling, bot.last())
        await bot.console.say(f"{spelling}: what dataset do they use?", thread=1)  # a question to one paper
        answer = bot.last()
        assert "Which one?" not in answer and f"From the title and abstract of “{second}”" in answer, (spelling, answer)
    for chatter in ("like the paper", "like the paper says", "like paper 2 says", "more than 2", "less of them",
                    "like 2 of them said", "i like paper 2"):
        await bot.console.say(chatter, thread=1)
        assert "no answer" in bot.last(), (chatter, bot.last())
