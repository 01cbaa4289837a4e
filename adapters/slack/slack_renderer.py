"""Core messages as Slack Block Kit, split into messages that stay well inside Slack's limits.

Every string that came from outside (titles, authors, abstracts, LLM output, user questions, topic names) goes
through `inert` before it is set in mrkdwn: escaped (`&`, `<`, `>`), so a title like `<!channel>` or
`<https://evil|click>` shows as text and can never ping anyone or smuggle a link; and with mrkdwn's formatting
markers shown as look-alikes, since mrkdwn has no escape for them. mrkdwn sections also carry `verbatim: true`,
which stops Slack from turning bare URLs, `@here` and `#channel` words into links or mentions on its own. The
plain-text fallback (`text`) is mrkdwn too as far as Slack is concerned, so it gets the same treatment. Header
and button texts are `plain_text`, which Slack never parses: they only lose line breaks and control characters.

Slack's documented limits are 50 blocks, 3000 characters per section and 150 per header, but Slack is known to
reject messages below them: we budget well under each and split long content across several messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.messages import (
    ActionKind,
    Link,
    Message,
    PaperItem,
    continued,
    displayable,
    http_url,
    link_url,
    one_line,
)

MAX_BLOCKS = 40  # Slack: 50
MAX_SECTION_CHARS = 2800  # Slack: 3000
MAX_HEADER_CHARS = 140  # Slack: 150
MAX_CONTEXT_ELEMENTS = 10  # Slack: 10
MAX_CONTEXT_CHARS = 1900  # Slack: 2000 per element
MAX_MESSAGE_CHARS = 11_000  # all text of one message together; long messages fail below the block limits
MAX_FALLBACK_CHARS = 3_500  # the notification text: long enough to be faithful, short enough to be read
MAX_BUTTON_VALUE = 1900  # Slack: 2000
ACTION_PREFIX = "paperboy:"  # action ids are "paperboy:summarize:3": unique per message, as Slack requires
ELLIPSIS = "…"
USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")  # a Slack user id: the only thing a mention is ever built from

Block = dict[str, Any]


@dataclass
class SlackMessage:
    """One chat.postMessage / response_url payload: blocks plus the plain-text fallback Slack always wants."""

    text: str
    blocks: list[Block] = field(default_factory=list)
    numbers: tuple[int, ...] = ()  # of the papers this message lists (a digest's parts say which they hold)
    paper_ids: tuple[int, ...] = ()  # theirs, in the same order

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


def escape(text: str) -> str:
    """Slack's own mrkdwn escaping: the only three characters that make control sequences."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# mrkdwn's formatting markers, which it has no escape for: `code` and ```blocks```, ~strike~, *bold*, _italic_. In
# outside text each is shown as its look-alike, so a topic named "graph *networks*", a LaTeX-quoted title
# ("``Naturalness''") or an author "_Bob_" reads as written instead of turning bold, code or italic (or, unbalanced,
# swallowing the renderer's own bold title). An underscore inside a word ("snake_case") is no marker and stays.
_MARKERS = str.maketrans({"`": "ˋ", "~": "∼", "*": "∗"})
_LOOSE_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
_QUOTE_START = re.compile(r"^(\s*)&gt;", re.MULTILINE)  # "> …" at a line's start is a quote, escaped or not


def inert(text: str, *, inline: bool = False) -> str:
    """Outside text as mrkdwn that shows exactly what it says: no control characters, `&<>` escaped, formatting
    markers as look-alikes, no quote at a line's start (a zero-width space before its `>`). `inline`: for a part
    the layout shows on one line (a title, a byline, small print), whose line breaks would break the layout."""
    text = one_line(text) if inline else displayable(text)
    text = _LOOSE_UNDERSCORE.sub("ˍ", escape(text).translate(_MARKERS))
    return _no_quote(text)  # inline too: a context element starts with its outside text


def _no_quote(text: str) -> str:
    """A zero-width space before a `>` that starts a line: shown the same, read as text, not as a quote."""
    return _QUOTE_START.sub("\\1\u200b&gt;", text)


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + ELLIPSIS


def _inert_within(text: str, limit: int, *, inline: bool = True) -> str:
    """`inert`, then cut to `limit` without leaving half an entity (`&am…`) behind."""
    out = inert(text, inline=inline)
    if len(out) <= limit:
        return out
    cut = out[: max(0, limit - 1)]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut.rstrip() + ELLIPSIS


def safe_url(url: str | None) -> str | None:
    """Only http(s) links, with the characters that end or split a Slack link (`<`, `>`, `|`, space) encoded."""
    return http_url(url, keep=":/?#[]@!$&'()*+,;=%~-._")


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text)}


def _header(text: str) -> Block:
    # plain_text is never parsed for mentions or links, so outside text is shown as is (no entities).
    return {"type": "header", "text": {"type": "plain_text", "text": truncate(one_line(text), MAX_HEADER_CHARS),
                                       "emoji": True}}


def _context(lines: list[str]) -> Block | None:
    """Small print as one context block. Slack drops elements past the tenth without a word and refuses an empty
    one, so blank lines are left out and the lines from the tenth on share the last element."""
    kept = [line for line in lines if line.strip()]
    if len(kept) > MAX_CONTEXT_ELEMENTS:
        kept[MAX_CONTEXT_ELEMENTS - 1:] = [" · ".join(one_line(line) for line in kept[MAX_CONTEXT_ELEMENTS - 1:])]
    elements = [_mrkdwn(_inert_within(line, MAX_CONTEXT_CHARS)) for line in kept]
    return {"type": "context", "elements": elements} if elements else None


def _paragraphs(text: str, limit: int) -> list[str]:
    """Long text cut at line breaks (or spaces) into `inert` pieces of at most `limit` characters each."""
    return _pack([inert(line) for line in text.splitlines() or [text]], limit)


def _linked_lines(parts: tuple[str | Link, ...]) -> list[str]:
    """A `linked_body` as mrkdwn lines: its text `inert`, each link `<url|label>` (label escaped) when it passes
    the core's `link_url`, and as inert text when it does not."""
    lines = [""]
    for part in parts:
        if isinstance(part, Link):
            url = safe_url(link_url(part))  # the core's rule, then the digests' own
            lines[-1] += f"<{url}|{inert(part.label, inline=True)}>" if url else inert(part.url, inline=True)
            continue
        first, *rest = part.split("\n")
        lines[-1] += inert(first)
        lines.extend(inert(line) for line in rest)
    return lines


def _pack(lines: list[str], limit: int) -> list[str]:
    """mrkdwn lines packed into pieces of at most `limit` characters, a very long line cut at a space (or hard),
    never inside an entity (`&amp;`) or a link of ours (`<url|label>`: outside text has no `<` left)."""
    pieces: list[str] = []
    current = ""
    for words in lines:
        while len(words) > limit:  # one very long line: cut at a space, or hard
            cut = words.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            amp = words.rfind("&", 0, cut)
            if amp != -1 and ";" not in words[amp:cut]:
                cut = amp
            link = words.rfind("<", 0, cut)
            if link > 0 and ">" not in words[link:cut]:
                cut = link
            if current:
                pieces.append(current)
                current = ""
            pieces.append(words[:cut].rstrip())
            words = _no_quote(words[cut:].lstrip())  # the rest starts a section of its own
        candidate = f"{current}\n{words}" if current else words
        if len(candidate) > limit:
            pieces.append(current)
            current = words
        else:
            current = candidate
    if current.strip():
        pieces.append(current)
    return [p for p in pieces if p.strip()]


def _in_italics(text: str) -> str:
    """`inert` text set inside mrkdwn's `_…_` (a byline, a why): every underscore in it, even one inside a word
    ("snake_case"), is shown as its look-alike, so none can end the italics early."""
    return text.replace("_", "ˍ")


def _item_text(item: PaperItem) -> str:
    title = _inert_within(item.title, 600)  # inside `*…*`: `inert` leaves no `*` in it
    url = safe_url(item.url)
    line = f"*{item.number}. <{url}|{title}>*" if url else f"*{item.number}. {title}*"
    if item.upvotes:
        line += f"  ▲{item.upvotes}"
    lines = [line]
    if item.byline:
        lines.append(f"_{_in_italics(_inert_within(item.byline, 200))}_")
    if item.tldr:
        lines.append(f"TL;DR: {_inert_within(item.tldr, 1400)}")
    if item.why:
        lines.append(f"_why: {_in_italics(_inert_within(item.why, 400))}_")
    text = truncate("\n".join(lines), MAX_SECTION_CHARS)
    mentions = mention_line(item)
    return f"{text}\n{mentions}" if mentions else text


def mention_line(item: PaperItem) -> str | None:
    """"→ <@U…>" for the people this item is routed to (opted in, matching topic): built here from stored user
    ids of Slack's shape only, never from text, so nothing else in a message can become a mention."""
    users = [u for u in item.mentions if USER_ID.fullmatch(u)]
    return "→ " + " ".join(f"<@{u}>" for u in users) if users else None


def _item_actions(item: PaperItem) -> Block | None:
    buttons = []
    for action in item.actions:
        if not action.paper_ref or len(action.paper_ref) > MAX_BUTTON_VALUE:
            continue
        buttons.append({
            "type": "button",
            "text": {"type": "plain_text", "text": truncate(one_line(action.label), 70), "emoji": True},
            "action_id": action_id(action.kind, item.number),
            "value": action.paper_ref,
        })
    return {"type": "actions", "elements": buttons[:5]} if buttons else None


def action_id(kind: ActionKind, number: int) -> str:
    return f"{ACTION_PREFIX}{kind.value}:{number}"


def parse_action_id(value: str) -> ActionKind | None:
    """"paperboy:summarize:3" → SUMMARIZE; anything else is not one of our buttons."""
    if not value.startswith(ACTION_PREFIX):
        return None
    kind = value[len(ACTION_PREFIX):].split(":", 1)[0]
    try:
        return ActionKind(kind)
    except ValueError:
        return None


def _block_chars(block: Block) -> int:
    if block["type"] == "context":
        return sum(len(e["text"]) for e in block["elements"])
    if block["type"] == "actions":
        return 40 * len(block["elements"])
    return len(block["text"]["text"])


def _fallback(message: Message, items: list[PaperItem], *, first: bool, last: bool) -> str:
    part = Message(header=message.header, text=message.text if first else None,
                   body=message.body if first else None, items=items, context=message.context if last else [])
    text = _inert_within(part.plain_text() or (message.header or "Paperboy"), MAX_FALLBACK_CHARS, inline=False)
    mentions = [line for line in (mention_line(item) for item in items) if line]
    return "\n".join([text, *mentions]) if mentions else text  # notifications name the same people


def render_message(message: Message) -> list[SlackMessage]:
    """One core message as one or more Slack messages, each within the budgets above, in reading order.

    Papers are never split across messages (a paper's section and its buttons travel together), and every
    message after the first repeats the header with "(continued)" so each stands on its own in the channel.
    """
    intro: list[Block] = []
    if message.text:
        intro.extend(_section(p) for p in _paragraphs(message.text, MAX_SECTION_CHARS))
    if message.linked_body:
        intro.extend(_section(p) for p in _pack(_linked_lines(message.linked_body), MAX_SECTION_CHARS))
    elif message.body:
        intro.extend(_section(p) for p in _paragraphs(message.body, MAX_SECTION_CHARS))
    groups: list[tuple[PaperItem | None, list[Block]]] = [(None, [b]) for b in intro]
    for paper in message.items:
        paper_blocks = [_section(_item_text(paper))]
        buttons = _item_actions(paper)
        if buttons is not None:
            paper_blocks.append(buttons)
        groups.append((paper, paper_blocks))
    context = _context(message.context)

    chunks: list[tuple[list[Block], list[PaperItem]]] = []
    blocks: list[Block] = []
    items: list[PaperItem] = []
    chars = 0
    reserve_blocks = 2 + (1 if context else 0)  # header + context (+1 slack for the divider-free layout)
    reserve_chars = MAX_HEADER_CHARS + (_block_chars(context) if context else 0)
    for member, group in groups:
        size = sum(_block_chars(b) for b in group)
        if blocks and (len(blocks) + len(group) + reserve_blocks > MAX_BLOCKS
                       or chars + size + reserve_chars > MAX_MESSAGE_CHARS):
            chunks.append((blocks, items))
            blocks, items, chars = [], [], 0
        blocks.extend(group)
        chars += size
        if member is not None:
            items.append(member)
    if blocks or not chunks:
        chunks.append((blocks, items))

    out: list[SlackMessage] = []
    for index, (body_blocks, chunk_items) in enumerate(chunks):
        first, last = index == 0, index == len(chunks) - 1
        result: list[Block] = []
        if message.header:
            result.append(_header(message.header if first else continued(message.header)))
        result.extend(body_blocks)
        if last and context is not None:
            result.append(context)
        if not result:
            result.append(_section(ELLIPSIS))
        out.append(SlackMessage(_fallback(message, chunk_items, first=first, last=last), result,
                                tuple(item.number for item in chunk_items),
                                tuple(item.paper_id for item in chunk_items)))
    return out
