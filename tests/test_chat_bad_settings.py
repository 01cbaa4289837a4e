"""Settings a person makes in chat (digest times, zones, topics) that the bot cannot honour as meant: refused with
one clear line, and what was set before stays set."""

from __future__ import annotations

import pytest

from tests.chat_fixtures import make_bot

# Each is a name the zone database knows, and none is a place's clock: a fixed offset named like a region ("EST" is
# New York's winter only; "Etc/GMT+5" is UTC-5, its sign reversed by POSIX), the machine's own zone ("localtime":
# another host reads another zone), and files that are no zone at all ("posixrules", "Factory", "posix/…",
# "right/…" with leap seconds).
NOT_A_PLACE = ["EST", "MST", "HST", "Etc/GMT+5", "etc/gmt-14", "localtime", "posixrules", "Factory",
               "posix/Europe/Paris", "right/UTC"]
FIXED = {"EST", "MST", "HST", "Etc/GMT+5", "etc/gmt-14"}


@pytest.mark.parametrize("personal", [False, True])
async def test_a_zone_that_is_no_places_clock_is_refused_and_the_digest_keeps_its_own(db, personal):
    bot = make_bot(db)
    me = " --me" if personal else ""
    await bot.core.handle_text(bot.console.context(), "/subscribe --me gnn")
    set_up = await bot.core.handle_text(bot.console.context(), f"/papers digest{me} 07:30 Europe/Paris mon-fri")
    assert "07:30 Europe/Paris" in set_up.message.plain_text()
    for zone in NOT_A_PLACE:
        reply = await bot.core.handle_text(bot.console.context(), f"/papers digest{me} 10:00 {zone}")
        shown = reply.message.plain_text()
        assert ("fixed offset" if zone in FIXED else "unknown timezone") in shown, (zone, shown)
        assert "something went wrong" not in shown, (zone, shown)
    status = (await bot.core.handle_text(bot.console.context(), f"/papers digest{me}")).message.plain_text()
    assert "07:30 Europe/Paris" in status, status


async def test_zones_of_places_in_any_spelling_are_still_taken(db):
    bot = make_bot(db)
    for zone, stored in [("utc", "UTC"), ("Etc/UTC", "Etc/UTC"), ("GMT", "GMT"), ("Etc/GMT+0", "Etc/GMT+0"),
                         ("asia/kolkata", "Asia/Kolkata"), ("EST5EDT", "EST5EDT"), ("Japan", "Japan")]:
        reply = await bot.core.handle_text(bot.console.context(), f"/papers digest 09:00 {zone}")
        assert f"at 09:00 {stored} " in reply.message.plain_text(), reply.message.plain_text()


async def test_an_invisible_character_inside_a_word_leaves_the_word_whole(db):
    """A soft hyphen or zero-width space copied from a web page inside "attention" made the topic "atten tion",
    which no paper says, and a search for two words no paper has; the reader saw one word, so it is one word."""
    from tests.chat_fixtures import ingest_samples

    await ingest_samples(db)
    bot = make_bot(db)
    ctx = bot.console.context()
    plain = (await bot.core.handle_text(ctx, "/papers search diffusion")).message.plain_text()
    for hidden in ("\u00ad", "\u200b", "\u2060", "\ufeff", "\u200d"):
        found = (await bot.core.handle_text(ctx, f"/papers search dif{hidden}fusion")).message.plain_text()
        assert found.replace(hidden, "").replace("dif fusion", "diffusion") == plain, repr(hidden)
    assert "“diffusion models”" in (await bot.core.handle_text(ctx, "/subscribe diffusion\u200b mo\u00addels")
                                    ).message.plain_text()
    again = (await bot.core.handle_text(ctx, "/subscribe diff\u200busion models")).message.plain_text()
    assert again == "Already following “diffusion models” in this channel.", again


async def test_messages_printed_at_the_same_moment_in_one_console_channel_keep_their_own_numbers(db):
    """Two answers printed at once in a channel (the scheduler's digest and a command, two `say` scripts) were both
    numbered #1, and only the first was stored: "reply 1 summarize 1" under the other summarised a paper it never
    listed."""
    import asyncio

    from adapters.console.console_adapter import ConsoleAdapter
    from tests.chat_fixtures import ingest_samples

    await ingest_samples(db)
    bot = make_bot(db)
    outputs: list[list[str]] = [[] for _ in range(5)]
    consoles = [ConsoleAdapter(bot.core, channel="ml", user=f"u{i}", write=outputs[i].append) for i in range(5)]
    queries = ["diffusion", "reinforcement learning", "graph", "language models", "vision"]
    numbers = await asyncio.gather(*(c.say(f"/papers search {q}") for c, q in zip(consoles, queries, strict=True)))
    assert sorted(n for n in numbers if n is not None) == [1, 2, 3, 4, 5], numbers
    for number, output in zip(numbers, outputs, strict=True):
        first = next(line for line in output[0].splitlines() if line.startswith(" 1. "))
        title = first.removeprefix(" 1. ").split("  ")[0]
        reply = await bot.core.handle_thread_message(consoles[0].context(thread=number), "tl;dr 1")
        assert reply is not None and title[:40] in reply.message.plain_text(), (number, title)


@pytest.mark.parametrize("bad_channel", ["", "   ", "a:b", "x" * 129])
async def test_a_stored_channel_no_scope_can_name_fails_alone_and_every_other_digest_goes_out(db, bad_channel):
    """A console channel stored before its name was checked (`say --channel ""`, `--channel a:b`) made every digest
    run stop at "invalid user ''": no channel got its digest, on schedule or by `digest run`."""
    from storage.destination_store import ensure_destination
    from storage.paper_store import store_papers
    from tests.test_digests import DAY1, Posts, at, papers_for, runner_for, setup_channels

    if db.is_postgres and len(bad_channel) > 100:
        pytest.skip("PostgreSQL never stored such a key: its column refuses more than 128 characters")
    async with db.session() as s:
        await store_papers(s, papers_for(DAY1, 5, "Monday"))
        bad = await ensure_destination(s, "console", "local", bad_channel)
        bad.digest_time, bad.timezone = "09:00", "UTC"
    await setup_channels(db, {"utc": ("09:00", "UTC")})
    posts = Posts(db)
    due = await runner_for(db, posts, at(DAY1, 9)).run_due()
    assert {o.destination: o.status for o in due} == {"console:local:utc": "posted",
                                                       f"console:local:{bad_channel}": "failed"}
    assert len(posts.to("utc")) == 1
    failed = next(o for o in due if o.status == "failed")
    assert failed.detail.startswith("invalid channel "), failed.detail  # "invalid user ''" named the wrong thing
    by_hand = await runner_for(db, posts, at(DAY1, 10)).run_for(DAY1)
    assert {o.destination: o.status for o in by_hand}["console:local:utc"] == "skipped"  # posted once, above


async def test_a_platform_error_with_terminal_escapes_is_stored_and_shown_inert(db, db_env):
    """A platform's error text is stored with a failed delivery and printed by `paperboy digest status`: an escape
    sequence in it (a hyperlink, a cleared screen) reached the operator's terminal as it came."""
    from bot.errors import DeliveryError
    from storage.paper_store import store_papers
    from tests.cli_runner import paperboy
    from tests.test_digests import DAY1, Posts, at, papers_for, runner_for, setup_channels

    async with db.session() as s:
        await store_papers(s, papers_for(DAY1, 3, "Monday"))
    await setup_channels(db, {"utc": ("09:00", "UTC")})

    class Refusing:
        async def post_digest(self, destination, message, *, tag=None):
            raise DeliveryError("refused \x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\ \x1b[2J\x07done")

        async def find_digest(self, destination, tag):
            return None

    outcomes = await runner_for(db, Posts(db), at(DAY1, 9), poster=Refusing()).run_due()
    assert [o.status for o in outcomes] == ["failed"]
    status = paperboy("digest", "status", env=db_env)
    assert status.code == 0 and "refused" in status.out and "done" in status.out, status
    assert "\x1b" not in status.out and "\x07" not in status.out, status.out


async def test_a_digest_and_a_command_printed_by_two_processes_at_once_keep_their_own_numbers(db, db_env):
    """`paperboy digest run` and `paperboy say` at the same moment, each its own process with its own connection:
    the digest read the same free number the command did (the digest logs its number apart from the messages
    commands record), both were printed as #1, and the digest's papers were never stored under it, so
    "reply 1 summarize 1" under the digest summarised the command's first paper."""
    import asyncio
    from datetime import date

    from adapters.console.console_poster import ConsolePoster
    from bot.destination import Destination, destination_key
    from bot.digests.poster import DigestTag
    from bot.messages import Message, PaperItem
    from storage.database import Database
    from tests.chat_fixtures import ingest_samples

    await ingest_samples(db)
    other = Database(db_env["PAPERBOY_DATABASE_URL"], schema=db_env.get("PAPERBOY_DATABASE_SCHEMA"))
    try:
        say_bot, digest_bot = make_bot(db, channel="ml"), make_bot(other, channel="ml")
        found = (await say_bot.core.handle_text(say_bot.console.context(), "/papers search vision")).message.items
        listed = (await say_bot.core.handle_text(say_bot.console.context(), "/papers search diffusion")).message.items
        assert found and listed and found[0].paper_id != listed[0].paper_id
        key = destination_key("console", "local", "ml")
        destination = Destination(key=key, platform="console", workspace="local", channel="ml", name="ml",
                                  timezone="UTC", user=None)
        printed: list[str] = []
        poster = ConsolePoster(digest_bot.core, write=printed.append)
        digest = Message(header="Today's papers", items=[PaperItem(number=n, paper_id=item.paper_id, title=item.title)
                                                        for n, item in enumerate(listed, 1)])
        for day in range(1, 6):
            tag = DigestTag(key, date(2026, 3, day))
            posted, said = await asyncio.gather(poster.post_digest(destination, digest, tag=tag),
                                                say_bot.console.say("/papers search vision"))
            assert said is not None and posted.message_ref != str(said), (day, posted, said)
            under_digest = await say_bot.core.handle_thread_message(
                say_bot.console.context(thread=int(posted.message_ref)), "tl;dr 1")
            under_command = await say_bot.core.handle_thread_message(
                say_bot.console.context(thread=said), "tl;dr 1")
            assert under_digest is not None and under_command is not None, (day, posted, said)
            assert listed[0].title[:40] in under_digest.message.plain_text(), day
            assert found[0].title[:40] in under_command.message.plain_text(), day
    finally:
        await other.dispose()
