"""Untrusted text (paper titles and authors, topic names people typed, LLM answers, names the platforms give) on
every render path: what reaches Slack, Discord or the terminal shows as the text it is. No formatting of its own
(bold, code, strike-through, quotes), no line breaks where a renderer builds one line, and no control characters
that reorder what is shown around them or drive a terminal."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import SecretStr

from adapters.console.console_renderer import render_reply
from adapters.discord.discord_adapter import DiscordPoster
from adapters.slack.slack_poster import SlackPoster, make_web_client
from adapters.slack.slack_renderer import render_message as slack_render
from adapters.slack.slack_runtime import SlackCredentials, build_slack_app
from bot.destination import Destination
from bot.digests.digest_runner import DigestRunner, DigestSettings
from bot.messages import Action, ActionKind, Message, PaperItem, Reply
from bot.papers import ParsedPaper
from storage.database import Database
from storage.destination_store import ensure_destination
from storage.paper_store import store_papers
from tests.chat_fixtures import NOW, TODAY, make_bot
from tests.fakes import fake_discord as fd
from tests.fakes.fake_discord import FakeDiscord
from tests.fakes.fake_slack import SIGNING_SECRET, TEAM, FakeSlack, command_request
from tests.fakes.fake_time import Sleeps
from tests.waiting import wait_for

# What stays after ingestion's cleaning (it keeps punctuation and line breaks): LaTeX quotes are backticks,
# and the rest is what anyone can put in a title, an author list or a topic name.
FORMATTED = "On the ``Naturalness'' of *software* in ~10x _fast_ `code` ```blocks```"
QUOTED = "Results\n> quoted: all of it\n>>> the rest"
# Control characters no input path should let through; the renderers must not pass them on if one does.
CONTROLS = "\x1b[2J\x1b]8;;https://evil.example\x07click\x1b]8;;\x07\r\x08\u202eevil\u2066"
UNSHOWABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def hostile_item(n: int = 1) -> PaperItem:
    return PaperItem(number=n, paper_id=n, title=f"{FORMATTED}\n> {n} quoted {CONTROLS}",
                     url=f"https://arxiv.org/abs/2604.{n:05d}", arxiv_id=f"2604.{n:05d}", upvotes=3,
                     tldr=f"{FORMATTED}\n> quoted", authors=(f"Ada\n> Lovelace {FORMATTED}", "B. *Bold*"),
                     why=f"graph *networks*: {FORMATTED}\nnext",
                     actions=(Action(ActionKind.SUMMARIZE, f"Sum\nmarize {CONTROLS}", f"2604.{n:05d}"),))


def hostile_message() -> Message:
    return Message(header=f"Paperboy · {FORMATTED}\n{CONTROLS}", text=f"{QUOTED}\n{FORMATTED}",
                   body=f"{QUOTED}\n{CONTROLS}", items=[hostile_item(1), hostile_item(2)],
                   context=[f"Topics: graph *networks*, {FORMATTED}", f"{QUOTED} {CONTROLS}", "> a quote"])


# -- Slack -----------------------------------------------------------------------------------------------------


def mrkdwn_of(payload: dict[str, Any]) -> list[str]:
    """Every text of a chat.postMessage or response_url payload that Slack reads as mrkdwn."""
    texts = [payload["text"]]
    for block in payload.get("blocks") or []:
        if block["type"] == "section":
            texts.append(block["text"]["text"])
        if block["type"] == "context":
            texts.extend(e["text"] for e in block["elements"] if e["type"] == "mrkdwn")
    return texts


# The renderer's own mrkdwn: "*N. <url|title>*  ▲n" heading a paper, "_byline_", "_why: …_", "→ <@U…>".
OWN_MARKUP = re.compile(r"^\*\d+\. (<https://[^|>\s]+\|)?|>?\*(  ▲\d+)?$|^_(why: )?|_$", re.MULTILINE)


def assert_inert_mrkdwn(payload: dict[str, Any]) -> None:
    """No formatting Slack would apply to outside text: no code or strike-through marker at all (the renderer
    writes none), no bold or italic marker beyond the renderer's own, no line that starts a quote."""
    for text in mrkdwn_of(payload):
        assert not UNSHOWABLE.search(text), text
        rest = OWN_MARKUP.sub("", text)
        for marker in ("`", "~", "*"):
            assert marker not in rest, (marker, text)
        assert not re.search(r"(?<![^\W_])_|_(?![^\W_])", rest), text  # "snake_case" is no italic marker
        assert not re.search(r"^\s*(&gt;|>)", text, re.MULTILINE), text


def assert_one_line_titles(payload: dict[str, Any]) -> None:
    """A paper's title, byline, TL;DR and why are one line each, as the layout has them."""
    for block in payload["blocks"]:
        text = block.get("text", {}).get("text", "") if block["type"] == "section" else ""
        if text.startswith("*") and re.match(r"\*\d+\. ", text):
            lines = text.split("\n")
            assert len(lines) == 4, lines  # title, byline, TL;DR, why
            assert re.fullmatch(r"\*\d+\. <https://arxiv\.org/abs/[\d.]+\|[^\n]+>\*  ▲3", lines[0]), lines[0]
            assert lines[1].startswith("_") and lines[1].endswith("_") and lines[3].startswith("_why: ")


def test_slack_shows_outside_formatting_as_written_and_keeps_its_own():
    chunks = slack_render(hostile_message())
    for chunk in chunks:
        payload = chunk.payload()
        assert_inert_mrkdwn(payload)
        assert_one_line_titles(payload)
        for block in payload["blocks"]:
            if block["type"] == "header":
                assert "\n" not in block["text"]["text"] and not UNSHOWABLE.search(block["text"]["text"])
            for element in block.get("elements", []) if block["type"] == "actions" else []:
                assert "\n" not in element["text"]["text"] and not UNSHOWABLE.search(element["text"]["text"])
    section = chunks[0].blocks[3]["text"]["text"]  # the first paper
    # Readable as written: look-alikes stand in for the markers, words and order unchanged.
    assert "On the ˋˋNaturalness'' of ∗software∗ in ∼10x ˍfastˍ ˋcodeˋ ˋˋˋblocksˋˋˋ" in section


async def test_a_slack_digest_of_formatted_titles_and_topics_is_inert(db: Database):
    """Through the whole path: stored papers and a typed topic, ranked by the digest runner, posted by the
    SlackPoster to a fake Slack."""
    bot = make_bot(db)
    async with db.session() as s:
        await store_papers(s, [ParsedPaper(title=f"Graph networks {FORMATTED}\n> quoted {n}", source="hf-api",
                                           abstract=f"Graph networks again. {QUOTED}", arxiv_id=f"2604.3000{n}",
                                           authors=[f"Ada *{n}*", "_Bob_"], listed_on=TODAY, upvotes=n)
                               for n in range(1, 4)])
    with FakeSlack() as fake:
        runtime = build_slack_app(bot.core, SlackCredentials(bot_token=SecretStr("xoxb-test"),
                                                              signing_secret=SecretStr(SIGNING_SECRET),
                                                              api_base_url=fake.api_url), sleep=Sleeps())
        for n, text in enumerate(["graph *networks* `x` ~y~ _z_", "papers digest 09:00 UTC"], start=1):
            command, _, args = text.partition(" ") if text.startswith("papers") else ("subscribe", "", text)
            await runtime.app.async_dispatch(command_request(f"/{command}", args, fake.response_url(n)))
            await wait_for(lambda n=n: fake.responses(n))
        await runtime.app.async_dispatch(command_request("/subscriptions", "", fake.response_url(3)))
        (listed,) = await wait_for(lambda: fake.responses(3))
        async with db.session() as s:
            destination = await ensure_destination(s, "slack", TEAM, "C1")
        poster = SlackPoster(make_web_client(SecretStr("xoxb-test"), base_url=fake.api_url), sleep=Sleeps())
        runner = DigestRunner(bot.core.services, {"slack": poster}, owner="w", settings=DigestSettings(),
                              clock=lambda: NOW)
        assert (await runner.run_one(destination, TODAY, now=NOW)).status == "posted"
        (digest,) = fake.posts()
        answers = [r for n in (1, 2) for r in fake.responses(n)]
    for payload in [listed, digest, *answers]:
        assert_inert_mrkdwn(payload)
    assert_one_line_titles(digest)
    assert "graph ∗networks∗ ˋxˋ ∼y∼ ˍzˍ" in "\n".join(mrkdwn_of(listed))  # the topic, as typed
    assert "graph ∗networks∗" in "\n".join(mrkdwn_of(digest))


def strings(value: Any) -> list[str]:
    """Every string in a JSON body (keys and values)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*strings(k), *strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


async def test_a_slack_dm_digest_names_a_hostile_workspace_as_text(db: Database):
    """The workspace's name (auth.test's, as its admins set it) in a DM digest's header: plain text in the header,
    inert in the notification text."""
    from tests.fakes.fake_slack import BOT_ID, BOT_USER, ok
    from tests.personal_fixtures import DAY1, GNN, store_day
    from tests.test_personal_slack import command, run_digests, runtime

    await store_day(db, DAY1)
    with FakeSlack() as fake:
        fake.route("POST", "/api/auth.test", ok(user_id=BOT_USER, bot_id=BOT_ID, team_id=TEAM, user="paperboy",
                                                 team="<!channel> *Paper*\n> `Team` \u202eevil"))
        rt = runtime(db, fake)
        await command(rt, fake, f"/subscribe --me {GNN}", user="U1", n=1)
        await command(rt, fake, "/papers digest --me 08:00 UTC", user="U1", n=2)
        assert [o.status for o in await run_digests(db, rt).run_due()] == ["posted"]
        (post,) = fake.posts()
    header = post["blocks"][0]["text"]
    assert header["type"] == "plain_text"  # never parsed: shown as the name is
    assert header["text"].endswith(" · for you in <!channel> *Paper* > `Team` evil")
    assert_inert_mrkdwn(post)
    assert "for you in &lt;!channel&gt; ∗Paper∗ &gt; ˋTeamˋ evil" in post["text"]


# -- Discord ---------------------------------------------------------------------------------------------------


def shown(markdown: str) -> str:
    """What Discord displays for escaped text: a backslash before punctuation is dropped, the character kept."""
    return re.sub(r"\\([^0-9A-Za-z\s])", r"\1", markdown)


async def test_discord_paper_blocks_keep_one_line_per_part_and_no_control_characters(api: FakeDiscord, client):
    destination = Destination(key=f"discord:{fd.GUILD_ID}:{fd.CHANNEL_ID}", platform="discord",
                              workspace=str(fd.GUILD_ID), channel=str(fd.CHANNEL_ID), name="papers")
    await DiscordPoster(client, interval=0).post_digest(destination, hostile_message())
    bodies = api.sends()
    assert bodies
    for body in bodies:
        assert body.get("allowed_mentions") == {"parse": []}
        assert not [t for t in strings(body) if UNSHOWABLE.search(t)]
        for embed in body.get("embeds", []):
            for block in embed.get("description", "").split("\n\n"):
                if re.match(r"\*\*\d+\. \[", block):
                    lines = block.split("\n")
                    assert len(lines) == 4, lines  # title, byline, TL;DR, why
                    assert lines[1].startswith("*") and lines[1].endswith("*")
                    assert "Ada > Lovelace" in shown(lines[1])
    threads = api.of(fd.THREAD)
    assert threads and not UNSHOWABLE.search(threads[0].json()["name"])


# -- console ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("thread", [None, 3])
def test_the_console_prints_no_control_characters(thread: int | None):
    shown_text = render_reply(Reply(hostile_message()), 1, thread)
    assert not UNSHOWABLE.search(shown_text), repr(shown_text)
    assert "evil" in shown_text and "click" in shown_text  # the text itself is all there


# -- secrets ---------------------------------------------------------------------------------------------------

# Credentials in the shapes the platforms issue them, none of them configured (a token of another install, one a
# library quoted): what the log filter and a stored delivery error must mask by shape alone.
LEAKED = {
    "xoxb-1234567890-9876543210-abcdefghijklmnopqrstuvwx": "a Slack bot token",
    "xoxe-1-My0xLTEyMzQ1Njc4OTAtYWJjZGVmZ2hpams": "a Slack refresh token (token rotation)",
    "xapp-1-A0PAPER-1234567890-abcdefabcdef": "a Slack app-level token",
    "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB": "a Discord bot token",
    "OTk5ODg4Nzc3NjY2NTU1NDQ0.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB": "a Discord token of a 2021 bot",
    "sk-proj-ABCDEFGHIJKLMNOPQRSTUVWX": "an OpenAI key",
    "sk-ant-api03-ABCDEFGHIJKLMNOPQRSTUVWX": "an Anthropic key",
    "hunter2hunter2": "a password in a URL",
    "abcdefghijklmnopqrstuvwxyz0123": "a bearer token",
    "QWERTYUIOPASDFGH": "an api_key in a query string",
}
LEAKY_LINE = ("request failed: {} {} {} {} {} key {} or {}; postgresql://app:{}@db/x; "
              "Authorization: Bearer {}; GET https://api.example/v1/embed?model=m&api_key={}").format(*LEAKED)


def test_the_log_and_stored_errors_mask_every_credential_by_its_shape():
    import logging

    from bot.logging_setup import SecretFilter
    from storage.delivery_store import short_error

    record = logging.LogRecord("httpx", logging.WARNING, __file__, 1, LEAKY_LINE, None, None)
    assert SecretFilter([]).filter(record)
    for where, text in [("log", record.getMessage()), ("stored error", short_error(LEAKY_LINE))]:
        shown = [what for secret, what in LEAKED.items() if secret[:12] in text]
        assert not shown, (where, shown, text)
        assert text.startswith("request failed: ")
    # What only reads like one stays: an operator needs the reason.
    prose = "Discord rejected the bot token: Unauthorized (401); check the signing secret: it must be 32 characters"
    record = logging.LogRecord("bot", logging.ERROR, __file__, 1, prose, None, None)
    assert SecretFilter([]).filter(record) and record.getMessage() == prose
    assert short_error(prose) == prose


def test_a_long_slack_line_split_before_a_quote_mark_starts_no_quote():
    """A line longer than a section is cut at a space: the piece after the cut starts a section of its own, and
    a `>` there would quote it."""
    for text in ["a" * 2795 + " > quoted " + "b " * 100, "a" * 5 + " " + "c" * 2790 + " >>> rest"]:
        chunks = slack_render(Message(header="Answer", body=text))
        sections = [b["text"]["text"] for c in chunks for b in c.blocks if b["type"] == "section"]
        assert len(sections) > 1
        for chunk in chunks:
            assert_inert_mrkdwn(chunk.payload())
