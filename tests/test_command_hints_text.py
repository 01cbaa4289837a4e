"""The console's (and Slack's) spelling of the hints about feedback and topics started from papers: `--me` for a
person's own topics, words after the command; and a DM digest's overflow line, which names no command."""

from __future__ import annotations

from bot.commands.context import ChatContext
from tests.chat_fixtures import make_bot
from tests.personal_fixtures import DAY1, DIFFUSION, at, store_day
from tests.test_personal import Printed, runner, say


async def test_personal_hints_say_me_and_the_dm_digest_offers_no_channel_page(db):
    await store_day(db, DAY1)  # twelve diffusion papers and three on graph networks
    assert "Nothing yet. Reply “more 3” or “less 3” under a listing" in await say(db, "/papers feedback --me",
                                                                                 user="u1")
    await say(db, f"/subscribe --me {DIFFUSION}", user="u1")
    await say(db, "/papers digest --me 08:00 UTC", user="u1")
    preview = await say(db, "/papers digest --me preview", user="u1")  # reads as the DM will
    assert "2 more match your topics." in preview and "/papers today" not in preview
    printed = Printed(db)
    await runner(db, printed, at(DAY1, 9)).run_due()
    (dm,) = printed.to("@u1")
    assert "2 more match your topics." in dm and "/papers today" not in dm
    assert "Usage: /papers feedback [--me] · /papers feedback [--me] reset TOPIC" in await say(
        db, "/papers feedback --me forget it", user="u1")
    started = await say(db, "/subscribe --me like 2604.20001", user="u1")
    assert " and /subscribe --me NEW NAME." in started and "Rename it with /unsubscribe --me " in started
    assert "/papers feedback --me reset TOPIC forgets" in await say(db, "/papers feedback --me", user="u1")
    # Slack takes /papers in a DM, but there it is the DM's own list (no topics: by upvotes), not her matches:
    # why her DM digest does not offer it.
    slack_dm = ChatContext("slack", "T1", "D1", "u1")
    page = await make_bot(db, now=at(DAY1, 10)).core.handle_command(slack_dm, "papers", "today 2")
    assert "No topics yet: ranked by upvotes." in page.message.context[0]
