"""Core messages as Discord embeds, split so that every message Discord receives is within its limits.

Discord rejects a whole message when any limit is exceeded (and discord.py does not check the 6000-character
total before sending), so the renderer packs conservatively and never relies on the server to truncate.
Everything that came from outside (titles, abstracts, LLM text, topic names) is escaped for Discord markdown
and has its mentions neutralised; embeds never ping, and senders also pass `AllowedMentions.none()`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import discord
from discord.utils import escape_mentions

from bot.messages import Link, Message, PaperItem, displayable, http_url, link_url, one_line

# Discord's documented limits.
MAX_EMBEDS = 10
MAX_MESSAGE_TOTAL = 6000
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FOOTER = 2048
MAX_CONTENT = 2000
MAX_THREAD_NAME = 100

# What we pack to: a margin below each limit, because a rejected digest is worse than one more message.
DESCRIPTION_BUDGET = 4000
MESSAGE_BUDGET = 5800
FOOTER_BUDGET = 1000
PAPER_BLOCK_BUDGET = 1800  # one paper never takes more than this, whatever its TL;DR
# Each in escaped characters, as sent.
TITLE_BUDGET = 400
BYLINE_BUDGET = 200
TLDR_BUDGET = 900
WHY_BUDGET = 300

COLOUR = discord.Colour(0xF5A623)
ELLIPSIS = "…"
_MENTION_LIKE = re.compile(r"<(?=[@#:/]|a:|t:)")
USER_ID = re.compile(r"[0-9]{15,21}")  # a Discord user id (snowflake): the only thing a mention is built from
MENTION = re.compile(r"<@([0-9]{15,21})>")
MAX_PINGS = 50  # people pinged by one message (each "<@id> " is at most 25 characters)
# Every character Discord's markdown gives a meaning to (emphasis, spoilers, code, quotes, headings, small print,
# lists, masked links, autolinked URLs through "://", mentions and timestamps through "<"), escaped with a
# backslash: Discord renders "\x" as a literal "x" for any punctuation x, so the text reads as it was written.
MARKDOWN_CHARS = "\\*_~`|<>#-+.[]():@"
_METACHAR = re.compile("([" + re.escape(MARKDOWN_CHARS) + "])")


def truncate(text: str, limit: int) -> str:
    """Cut to `limit` characters with an ellipsis; used only where splitting is impossible (a title)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def neutralise_mentions(text: str) -> str:
    """`@everyone`, `@here`, `<@123>`, `<@&456>`, `<#789>`, `</cmd:1>` become inert text: defence in depth on
    top of `AllowedMentions.none()`, so even a copied embed or a future content field cannot ping anyone."""
    return _MENTION_LIKE.sub("<\u200b", escape_mentions(text))


def escape(text: str) -> str:
    """Outside text as literal text in a markdown-rendering field: every metacharacter escaped one by one (not
    discord.py's `escape_markdown`, which leaves formatting between two masked links active), so no title can
    bold, hide, quote or link anything; bare URLs are not clickable either ("https\\://"), leaving the paper's
    own link the only link. Mentions are neutralised on top, control characters dropped (`displayable`)."""
    return neutralise_mentions(_METACHAR.sub(r"\\\1", displayable(text))) if text else ""


def escaped_within(text: str, limit: int) -> str:
    """`escape`, then cut to `limit` characters of the escaped text (the length Discord counts), never between a
    backslash and the character it escapes: cut there, the character would act ("# heading") and the backslash
    would escape the ellipsis instead."""
    out = escape(text)
    if len(out) <= limit:
        return out
    return out[: _escape_safe(out, max(0, limit - 1))].rstrip() + ELLIPSIS


def plain(text: str) -> str:
    """Outside text for fields Discord shows without markdown (footers, thread names): one line, with mentions
    neutralised and no control characters."""
    return neutralise_mentions(one_line(text))


def safe_url(url: str | None) -> str | None:
    """An http(s) URL safe inside `[text](url)`: parentheses, spaces and angle brackets percent-encoded."""
    return http_url(url, keep=":/?#[]@!$&'*+,;=%-._~")


def thread_name(message: Message) -> str:
    """A digest thread's name: its header, within Discord's 100 characters."""
    return named_thread(message.header)


def named_thread(text: str | None) -> str:
    """A thread's name from text as written (not escaped: Discord shows thread names without markdown, so every
    backslash would show): one line, no mentions, within 100 characters."""
    return truncate(plain(text or ""), MAX_THREAD_NAME) or "Paperboy digest"


_ESCAPED = re.compile(r"\\([" + re.escape(MARKDOWN_CHARS) + "])")


def unescape(markdown: str) -> str:
    """Text `escape` made, as it was written (less control characters): for what is read back from Discord, such
    as a posted digest's title, and shown where markdown is not (a thread's name)."""
    return _ESCAPED.sub(r"\1", markdown)


# "**3. [title](url)**" (the title escaped one character at a time, the link with no parenthesis or space)
_LISTED_RE = re.compile(r"^\*\*(\d{1,4})\. (?:\[(?:\\.|[^\\\]])*\]\(([^()\s]+)\))?", re.MULTILINE)


def listed_papers(embeds: Any) -> dict[int, str | None]:
    """The numbers a posted message lists, each with its paper's link (None: a paper without one), read back
    from its embeds (as the REST API returns them) in the form `paper_block` writes: a takeover posts the papers a
    failed attempt did not get out, and knows them by their links should the digest rank differently by then."""
    found: dict[int, str | None] = {}
    for embed in embeds if isinstance(embeds, list) else []:
        description = embed.get("description") if isinstance(embed, dict) else None
        if isinstance(description, str):
            found.update((int(n), url or None) for n, url in _LISTED_RE.findall(description))
    return found


def paper_block(item: PaperItem) -> str:
    """One paper as markdown: the linked title, votes, byline, TL;DR and why it matched. Every budget counts
    escaped characters (escaping can double a title full of "." and "-"), and the TL;DR gets what the other lines
    leave of the block's, so the why line, last, is never the one cut."""
    title = escaped_within(one_line(item.title), TITLE_BUDGET)
    url = safe_url(item.url)
    head = f"**{item.number}. [{title}]({url})**" if url else f"**{item.number}. {title}**"
    if item.upvotes:
        head += f" · ▲{item.upvotes}"
    lines = [head]
    if item.byline:
        lines.append(f"*{escaped_within(one_line(item.byline), BYLINE_BUDGET)}*")
    why = f"-# why: {escaped_within(one_line(item.why), WHY_BUDGET)}" if item.why else None
    if item.tldr:
        room = PAPER_BLOCK_BUDGET - sum(len(line) + 1 for line in [*lines, why] if line is not None)
        if room > 1:
            lines.append(escaped_within(one_line(item.tldr), min(TLDR_BUDGET, room)))
    if why is not None:
        lines.append(why)
    text = truncate("\n".join(lines), PAPER_BLOCK_BUDGET)  # only ever cuts a paper whose link alone is that long
    users = mentioned_users(item)
    return text + "\n→ " + " ".join(f"<@{u}>" for u in users) if users else text


def mentioned_users(item: PaperItem) -> list[str]:
    """The people this item is routed to, as Discord ids: only stored ids of a snowflake's shape, never text
    (all outside text goes through `neutralise_mentions`, so `<@…>` in a message can only come from here)."""
    return [u for u in item.mentions if USER_ID.fullmatch(u)]


def batch_mentions(batch: list[discord.Embed], message: Message) -> list[str]:
    """Whom one message of a split digest mentions: the routed people whose items it carries. An embed mention
    never pings, so the sender puts these in the message content with `allowed_mentions` listing exactly them."""
    routed = {u for item in message.items for u in mentioned_users(item)}
    found: list[str] = []
    for embed in batch:
        for user in MENTION.findall(embed.description or ""):
            if user in routed and user not in found:
                found.append(user)
    return found[:MAX_PINGS]  # the content line stays far below 2000 characters


def _split_long(text: str, budget: int) -> list[str]:
    """A long body as chunks within `budget`, cut at line ends where possible (then at spaces, then anywhere)."""
    chunks: list[str] = []
    current = ""
    for line in text.splitlines():
        while len(line) > budget:
            cut = line.rfind(" ", 0, budget)
            cut = cut if cut > budget // 2 else _escape_safe(line, budget)
            link = line.rfind("<https://", 0, cut)  # ours: escaped text has no unescaped ":"
            if link > 0 and line.find(">", link) >= cut:
                cut = link
            piece, line = line[:cut], line[cut:].lstrip()
            if current:
                chunks.append(current)
                current = ""
            chunks.append(piece)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > budget:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current:
        chunks.append(current)
    return [c for c in chunks if c.strip()]


def _linked(parts: tuple[str | Link, ...]) -> str:
    """A `linked_body` as markdown: its text escaped, each link that passes the core's `link_url` as an
    autolink `<url>` (shown whole, so what it opens is what it says; in an embed it unfurls nothing), and any other
    as escaped text."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, Link):
            url = safe_url(link_url(part))  # the core's rule, then the digests' own
            out.append(f"<{url}>" if url else escape(part.url))
        else:
            out.append(escape(part))
    return "".join(out)


def _escape_safe(escaped: str, cut: int) -> int:
    """A cut at or before `cut` that does not separate an escaping backslash from its character: else the next
    chunk would start with live markdown ("# heading") and this one end in a stray backslash."""
    backslashes = len(escaped[:cut]) - len(escaped[:cut].rstrip("\\"))
    return cut - 1 if backslashes % 2 else cut


def _blocks(message: Message) -> list[str]:
    """The description pieces, in order; each fits one embed description on its own."""
    blocks: list[str] = []
    if message.text:
        blocks += _split_long(escape(message.text), DESCRIPTION_BUDGET)
    if message.linked_body:
        blocks += _split_long(_linked(message.linked_body), DESCRIPTION_BUDGET)
    elif message.body:
        blocks += _split_long(escape(message.body), DESCRIPTION_BUDGET)
    blocks += [paper_block(item) for item in message.items]
    return blocks


def _footer(context: Iterable[str]) -> str | None:
    lines = [plain(line) for line in context if line and line.strip()]
    return truncate("\n".join(lines), FOOTER_BUDGET) if lines else None


def render_message(message: Message) -> list[list[discord.Embed]]:
    """A core message as one or more Discord messages' worth of embeds, each message within every limit.

    One greedy pass: paper blocks fill an embed's description up to its budget, and embeds fill a message up to
    the 6000-character total (with margin), so a 60-paper digest takes as few messages as the limits allow.
    The footer (small print) goes on the very last embed; its size is reserved in every message so adding it
    can never push the last message over."""
    footer = _footer(message.context)
    reserve = len(footer or "")
    batches: list[list[discord.Embed]] = []
    batch: list[discord.Embed] = []
    embed = discord.Embed(colour=COLOUR)
    if message.header:
        embed.title = escaped_within(one_line(message.header), MAX_TITLE)
    description = ""
    done = 0  # characters of the finished embeds in `batch`

    def close_embed() -> None:
        nonlocal embed, description, done
        if description:
            embed.description = description
        if description or embed.title:
            batch.append(embed)
            done += len(embed)
        embed, description = discord.Embed(colour=COLOUR), ""

    for block in _blocks(message):
        candidate = f"{description}\n\n{block}" if description else block
        title = len(embed.title or "")
        if len(candidate) <= DESCRIPTION_BUDGET and done + title + len(candidate) + reserve <= MESSAGE_BUDGET:
            description = candidate
            continue
        close_embed()
        if len(batch) >= MAX_EMBEDS or done + len(block) + reserve > MESSAGE_BUDGET:
            batches.append(batch)
            batch, done = [], 0
        description = block
    close_embed()
    if not batch and not batches:
        batch.append(discord.Embed(colour=COLOUR, description="\u200b"))
    if batch:
        batches.append(batch)
    if footer:
        batches[-1][-1].set_footer(text=footer)
    return batches
