"""The neutral message model: what commands and digests say, before any platform decides how it looks.

Commands return `Reply`s; each adapter renders them (plain text in the console, Block Kit on Slack, embeds
on Discord). Text fields here are plain and untrusted-safe only in the sense that the core never puts
markup in them: every renderer must still escape them for its own platform.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import quote, urlsplit

from bot.papers import ARXIV_ID_RE, paper_url


class Visibility(StrEnum):
    CHANNEL = "channel"  # everyone in the channel sees it
    EPHEMERAL = "ephemeral"  # only the person who asked


class ActionKind(StrEnum):
    SUMMARIZE = "summarize"
    WHY = "why"
    RELEVANT = "relevant"  # 👍: this paper is for us (bot.feedback learns from it)
    NOT_RELEVANT = "not_relevant"  # 👎: not for us
    START_TOPIC = "start_topic"  # confirms the offer a 👍 on a paper no topic matched makes (bot.feedback)


@dataclass(frozen=True)
class Action:
    """A button an adapter may render under a paper; `paper_ref` is what the core needs to act on it."""

    kind: ActionKind
    label: str
    paper_ref: str


@dataclass(frozen=True)
class PaperItem:
    number: int  # 1-based position in its message: "summarize 3" refers to this
    paper_id: int
    title: str
    url: str | None = None
    arxiv_id: str | None = None
    tldr: str | None = None
    upvotes: int | None = None
    authors: tuple[str, ...] = ()
    author_count: int | None = None
    organization: str | None = None
    why: str | None = None
    actions: tuple[Action, ...] = ()
    # Platform user ids to mention after the item ("→ @u1"): set only by the digest runner, from people who
    # opted in (`/papers mention me on`) and follow a matching topic; never from paper or LLM text. Renderers
    # build the mention from these ids, and only from ids of their platform's shape.
    mentions: tuple[str, ...] = ()

    @property
    def byline(self) -> str | None:
        """"A. Author, B. Author +7" or the organisation: short enough for one line in any renderer."""
        if self.authors:
            shown = ", ".join(self.authors[:2])
            extra = (self.author_count or len(self.authors)) - min(len(self.authors), 2)
            return f"{shown} +{extra}" if extra > 0 else shown
        if self.organization:
            return self.organization
        if self.author_count:
            return plural(self.author_count, "author")
        return None


def plural(count: int, noun: str) -> str:
    """"1 paper", "2 papers", "1,200 papers": a count as a reply says it."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


CODE_HOSTS = frozenset({"github.com", "gitlab.com", "huggingface.co", "bitbucket.org", "codeberg.org"})
_CODE_PATH = re.compile(r"(?:/[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}){1,8}")
MAX_CODE_URL = 300


def code_host_url(url: str | None) -> str | None:
    """The one rule for a link to code (`Link`): a plain https URL on a known code host, normalised (lower-case
    host without "www.", no query, fragment or trailing slash), or None. The URL comes from untrusted data (the
    Hugging Face API, a paper's text), so anything else — userinfo ("https://github.com@evil.example"), a port,
    another host, a path with characters a platform's link syntax or a reader could misread — is never a link.
    Both chat renderers ask it again before they emit a link, whoever built the `Link`."""
    if not isinstance(url, str) or len(url) > MAX_CODE_URL:
        return None
    text = url.strip()
    if not text.isascii() or not text.isprintable() or " " in text:
        return None
    parts = urlsplit(text)
    if parts.scheme.lower() != "https" or "@" in parts.netloc or ":" in parts.netloc:
        return None
    host = parts.netloc.lower().removeprefix("www.")
    path = parts.path.rstrip("/")
    if host not in CODE_HOSTS or not _CODE_PATH.fullmatch(path):
        return None
    return f"https://{host}{path}"


ARXIV_PAGE = "https://arxiv.org/abs/"


def arxiv_page_url(url: str | None) -> str | None:
    """The one rule for a link to a paper (`Link.paper`): arXiv's abstract page (`bot.papers.paper_url`, the page
    digests link a title to) of something that is an arXiv id, or None. Ids are stored from outside data, so one
    that is not shaped like an arXiv id (a row stored before the checks, an API that changed) is never a link."""
    if not isinstance(url, str) or not url.startswith(ARXIV_PAGE):
        return None
    arxiv_id = url.removeprefix(ARXIV_PAGE)
    return url if ARXIV_ID_RE.fullmatch(arxiv_id) and paper_url(arxiv_id) == url else None


class LinkKind(StrEnum):
    CODE = "code"  # released code: `code_host_url`
    PAPER = "paper"  # a paper's arXiv page: `arxiv_page_url`


@dataclass(frozen=True)
class Link:
    """A link inside a message's `linked_body`, rendered as each platform's link only when its kind's rule
    (`link_url`) accepts it, and as plain text otherwise: the only way a core message asks for a link outside a
    paper item's title."""

    url: str
    kind: LinkKind = LinkKind.CODE

    @classmethod
    def paper(cls, arxiv_id: str | None) -> Link | None:
        """A paper's page, built from its id as digests build theirs (None: a paper without an id)."""
        url = paper_url(arxiv_id)
        return cls(url, LinkKind.PAPER) if url else None

    @property
    def label(self) -> str:
        """What a reader sees: the address without its scheme ("github.com/org/repo", "arxiv.org/abs/…")."""
        return (link_url(self) or self.url).removeprefix("https://")


def link_url(link: Link) -> str | None:
    """Where a `Link` may point, by the rule for its kind, or None (then it is shown as text). Both chat renderers
    ask it before they emit a link, whoever built the `Link`."""
    return arxiv_page_url(link.url) if link.kind is LinkKind.PAPER else code_host_url(link.url)


def unlinked(parts: Sequence[str | Link]) -> str:
    """`linked_body` as plain text, each link as its address: the console's, and every notification's."""
    return "".join(part if isinstance(part, str) else part.url for part in parts)


@dataclass
class Message:
    """One chat message: a header, optional body text, paper items, and context lines (small print)."""

    header: str | None = None
    text: str | None = None
    items: list[PaperItem] = field(default_factory=list)
    context: list[str] = field(default_factory=list)
    # Long bodies (a summary, an answer) that renderers must not reflow into a paper list.
    body: str | None = None
    # The body again, as text and `Link`s, for renderers that can show links (`body` is then `unlinked` of it).
    linked_body: tuple[str | Link, ...] = ()

    def plain_text(self) -> str:
        """A faithful text-only version: the fallback every platform needs (notifications, screen readers)."""
        lines: list[str] = []
        if self.header:
            lines.append(self.header)
        if self.text:
            lines.append(self.text)
        if self.body:
            lines.append(self.body)
        for item in self.items:
            votes = f" (▲{item.upvotes})" if item.upvotes else ""
            lines.append(f"{item.number}. {item.title}{votes}" + (f" — {item.url}" if item.url else ""))
            if item.tldr:
                lines.append(f"   {item.tldr}")
            if item.why:
                lines.append(f"   why: {item.why}")
        lines.extend(self.context)
        return "\n".join(lines)


@dataclass
class Reply:
    """A message plus where it goes: the channel or only the asker, and in a thread or not."""

    message: Message
    visibility: Visibility = Visibility.CHANNEL
    in_thread: bool = False  # answer in the thread the request came from
    # A second message only the asker sees, sent after this one (the "for you" list under `/papers today`).
    private: Message | None = None
    # What its numbers count, from 1, when its items do not start at 1: `/papers today 2` lists the day's 11th to
    # 20th papers as 11 to 20, so a reply "summarize 12" under it must find the twelfth, and 0 stands for the
    # numbers it does not show (None: its own items).
    listing: list[int] | None = None

    @property
    def paper_ids(self) -> list[int]:
        """The papers "summarize N" under this message picks from: the N-th is the one numbered N."""
        return list(self.listing) if self.listing is not None else [item.paper_id for item in self.message.items]


CONTINUED = " (continued)"


def continued(header: str) -> str:
    """The header of a message that goes on from an earlier one (marked once, however many follow)."""
    return header if header.endswith(CONTINUED) else header + CONTINUED


def http_url(url: str | None, *, keep: str) -> str | None:
    """A link a renderer may emit: http(s) with a host only, everything outside `keep` percent-encoded.

    Each platform's link syntax breaks on different characters (Slack on `<>|`, Discord markdown on `()`), so
    renderers pass the characters their syntax tolerates; the scheme check is the same everywhere.
    """
    if not url:
        return None
    cleaned = url.strip()
    parts = urlsplit(cleaned)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return quote(cleaned, safe=keep)


# C0 and C1 control characters other than line feed and tab (escape sequences, carriage return, backspace, bell),
# and the bidi embeddings, overrides and isolates.
_UNSHOWABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def displayable(text: str) -> str:
    """Outside text without the characters that act instead of showing: on a terminal an escape sequence can clear
    the screen, recolour it or plant a hidden link, a carriage return overwrite a line; in any client a bidi override
    reverses what follows it (a title reading one way and meaning another). Inputs are cleaned where they come in
    (ingestion, typed commands, LLM output); every renderer still passes its text through here, so a path that
    forgot, or a row stored before the rules, cannot reach a screen."""
    return _UNSHOWABLE.sub("", text) if not (text.isascii() and text.isprintable()) else text


def one_line(text: str) -> str:
    """Outside text for a part the layout shows on one line (a title, a byline, a why, small print): line breaks
    in it would break the layout, or on Slack and Discord start a quote or a heading."""
    return " ".join(displayable(text).split())

