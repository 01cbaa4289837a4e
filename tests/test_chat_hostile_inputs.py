"""Hostile and malformed input through the command layer: every line gets a helpful reply, nothing raises,
and read-only commands change nothing in the database."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import text

from bot.messages import Reply
from tests.chat_fixtures import ingest_samples, make_bot

TABLES = ("papers", "subscriptions", "destinations", "posted_messages", "summaries")

BASE = [
    "", " ", "/", "//", "/papers", "/papers ", "/papers  today  ", "/PAPERS TODAY", "/papers tomorrow",
    "/papers today extra", "/papers top year", "/papers top week month", "/papers search", "/papers show",
    "/papers why", "/papers why ''", "/papers show 0000.00000", "/papers show http://evil.example/2401.1",
    "/papers show #99999999999999999999", "/papers show #99999999999", "/papers show #-1", "/papers search ' OR 1=1 --",
    "/papers search \"; DROP TABLE papers; --", "/papers search ) OR (", "/papers search * NEAR ( AND",
    "/papers search title:abc", "/papers search ^foo", "/papers --help", "/papers -x today", "/papers today --me",
    "/subscribe", "/subscribe --me", "/subscribe --you gnn", "/unsubscribe", "/unsubscribe --me",
    "/subscriptions extra", "/unknown", "/papersx", "/papers digest 25:61", "/papers digest 24:00",
    "/papers digest 9", "/papers digest 9:5", "/papers digest -1:00", "/papers digest 08:30 Not/AZone",
    "/papers digest 08:30 ../../etc/passwd", "/papers digest 08:30 UTC UTC", "/papers digest offf",
    "/papers digest preview now", "/papers digest ９:３０", "/papers digest 08:30 " + "Z" * 300,
    "<!channel> @everyone <@U123>", "/papers search <!here>", "\u202e/papers today", "/papers \u202etoday",
    "/papers search مرحبا بالعالم", "/papers search 你好", "/papers search 🤖🧪", "\x00\x01\x02", "/papers\x00today",
    "/papers search \x1b[31mred\x1b[0m", "/papers search " + "a" * 1999, "/papers search " + "x" * 10_000,
    "x" * 2_000_000, "/subscribe " + "y" * 101, "/subscribe " + "\u200b" * 50, "/subscribe !!!",
    "/unsubscribe never followed", "reply 1 hi", "summarize 3", "tl;dr", "@paperboy what?", "\t\n\r",
    "/subscribe ,,,,", "/subscribe ;", "/subscribe a, ,b", "/subscribe " + ",".join(["x"] * 600),
    "/subscribe gnn, " + "z" * 150, "/unsubscribe ,", "/unsubscribe a;b;c", "/papers digest 08:00 weekdays weekends",
    "/papers digest 08:00 UTC+99", "/papers digest 08:00 mon–", "why 99999999999", "what does 0 use?",
]


def generated(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 /-:;'\"<>@#!?*()[]{}\\|&^%$~`\x00\x07\u202e\u200b\u0645é漢🙂"
    heads = ["/papers", "/papers search", "/papers show", "/papers why", "/papers top", "/papers digest",
             "/subscribe", "/unsubscribe", "/subscriptions", "/papers today", "", "/x"]
    lines = []
    for _ in range(count):
        tail = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        lines.append(f"{rng.choice(heads)} {tail}")
    return lines


INPUTS = BASE + generated(7, 200 - len(BASE) + 40)
READ_ONLY_HEADS = ("/papers search", "/papers show", "/papers why", "/papers top", "/papers help", "/subscriptions")


async def snapshot(db) -> dict[str, list[tuple]]:
    async with db.session() as s:
        return {t: [tuple(r) for r in (await s.execute(text(f"SELECT * FROM {t} ORDER BY id"))).all()]
                for t in TABLES}


def is_read_only(line: str) -> bool:
    return line.strip().lower().startswith(READ_ONLY_HEADS) or not line.strip().lower().startswith(
        ("/papers", "/subscribe", "/unsubscribe", "papers", "subscribe", "unsubscribe"))


@pytest.fixture
async def loaded(db):
    await ingest_samples(db)
    return db


async def test_at_least_200_hostile_inputs_get_a_helpful_reply_and_change_nothing(loaded):
    assert len(INPUTS) >= 200
    bot = make_bot(loaded)
    for line in INPUTS:
        read_only = is_read_only(line)
        before = await snapshot(loaded) if read_only else None
        reply = await bot.core.handle_text(bot.console.context(), line)
        assert isinstance(reply, Reply), line
        shown = reply.message.plain_text()
        assert shown.strip(), f"empty reply for {line[:60]!r}"
        assert "Traceback" not in shown and "Error:" not in shown
        assert "something went wrong" not in shown, f"unexpected failure for {line[:80]!r}"
        assert len(shown) < 20_000
        if read_only:
            assert await snapshot(loaded) == before, line[:80]


async def test_slash_commands_as_platforms_deliver_them(loaded):
    bot = make_bot(loaded)
    ctx = bot.console.context()
    for name, args in [("papers", "x" * 5000), ("subscribe", ""), ("papers", "digest 99:99"), ("nope", "today"),
                       ("subscriptions", "please"), ("unsubscribe", "--bogus topic")]:
        reply = await bot.core.handle_command(ctx, name, args)
        assert reply.message.plain_text().strip()
        assert "something went wrong" not in reply.message.plain_text()


async def test_hostile_thread_replies(loaded):
    bot = make_bot(loaded)
    await bot.console.say("/papers today")
    ctx = bot.console.context(thread=1)
    for line in ["summarize 0", "summarize -1", "summarize 99999999", "tl;dr " + "9" * 50, "x" * 2_000_000,
                 "<@U123> <!channel>?", "\u202e?", "summarize 1; DROP TABLE papers", "?" * 3000]:
        reply = await bot.core.handle_thread_message(ctx, line)
        assert reply is None or reply.message.plain_text().strip()
    unknown_thread = bot.console.context(thread=999)
    assert await bot.core.handle_thread_message(unknown_thread, "summarize 1") is None
