"""What a reader can see changed about a paper since it was posted: pure functions over two snapshots.

Only links to known code hosts count as "code released" (`CODE_HOSTS`: GitHub, GitLab, Bitbucket, Codeberg,
Hugging Face models, datasets and spaces), rebuilt from their parts, so an arbitrary link in a comment or abstract
never reaches a channel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.messages import CODE_HOSTS
from bot.summaries.kinds import SummaryKind
from bot.summaries.output_cleaner import clean_output

RISE_FACTOR = 3
RISE_MIN_GAIN = 20
TOP_PLACES = 3
MAX_COMMENT_CHARS = 200

_PAGES_RE = re.compile(r"\b([0-9]{1,4})\s*(?:pages?|pp\.?)(?![a-z])", re.IGNORECASE)
_NAME = r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}"
# The hosts are `CODE_HOSTS`, the same list the renderers' `code_host_url` links: code found on any other host is
# never news, and code on one of them is never found but left unlinked.
_CODE_RE = re.compile(
    rf"(?<![\w./@-])(?:https?://)?(?:www\.)?(?P<host>{'|'.join(re.escape(h) for h in sorted(CODE_HOSTS))})/"
    rf"(?P<kind>(?:datasets|spaces)/)?(?P<owner>{_NAME})/(?P<repo>{_NAME})", re.IGNORECASE)
# Site pages on each host, not an owner's code (a host without an entry has none we know of).
_NOT_OWNERS = {"github.com": {"orgs", "topics", "features", "about", "login", "settings", "sponsors", "marketplace"},
               "gitlab.com": {"users", "explore", "help", "dashboard"},
               "huggingface.co": {"papers", "docs", "blog", "login", "join", "settings", "organizations", "collections",
                                  "models", "learn", "posts", "api", "tasks"},
               "bitbucket.org": {"account", "dashboard", "product", "blog", "support", "site", "repo", "workspace"},
               "codeberg.org": {"explore", "user", "org", "repo", "admin", "api", "assets", "notifications", "issues",
                                "pulls"}}


@dataclass(frozen=True)
class Snapshot:
    """The parts of a paper a reader can see, at one moment."""

    version: int | None
    title: str
    abstract_chars: int
    comment: str | None
    pages: int | None
    code_url: str | None
    upvotes: int | None
    day_rank: int | None = None


@dataclass
class Event:
    kind: str  # version | code | rising
    key: str
    detail: dict[str, Any] = field(default_factory=dict)


def pages_in(comment: str | None) -> int | None:
    """"12 pages, 4 figures" → 12."""
    if not comment:
        return None
    m = _PAGES_RE.search(comment)
    return int(m.group(1)) if m and 0 < int(m.group(1)) < 2000 else None


def code_link(text: str | None) -> str | None:
    """The first link to a known code host in `text`, as a clean https URL; None when there is none."""
    for m in _CODE_RE.finditer(text or ""):
        host = m.group("host").lower()
        owner, repo = m.group("owner"), m.group("repo").rstrip(".")
        if repo.lower().endswith(".git"):
            repo = repo[:-4]
        if not repo or owner.lower() in _NOT_OWNERS.get(host, set()):
            continue
        kind = (m.group("kind") or "").lower()
        if kind and host != "huggingface.co":
            continue
        return f"https://{host}/{kind}{owner}/{repo}"
    return None


def clean_comment(comment: str | None) -> str | None:
    """An arXiv comment line as it may be shown: the cleaning every paper text gets (no mentions, no links,
    no markup), one line, capped."""
    if not comment:
        return None
    cleaned = clean_output(" ".join(comment.split())[:1000], SummaryKind.ANSWER).text.rstrip(".")
    if len(cleaned) > MAX_COMMENT_CHARS:
        cleaned = cleaned[:MAX_COMMENT_CHARS - 1].rstrip() + "…"
    return cleaned or None


def snapshot(*, version: int | None, title: str, abstract: str, extra: dict[str, Any] | None,
             upvotes: int | None, day_rank: int | None = None) -> Snapshot:
    """A stored paper's visible state. Code is the HF `githubRepo` when it names a known host."""
    extra = extra or {}
    comment = extra.get("comment") if isinstance(extra.get("comment"), str) else None
    repo = extra.get("github_repo") if isinstance(extra.get("github_repo"), str) else None
    return Snapshot(version=version, title=" ".join(title.split()), abstract_chars=len(abstract), comment=comment,
                    pages=pages_in(comment), code_url=code_link(repo), upvotes=upvotes, day_rank=day_rank)


def detect(before: Snapshot, now: Snapshot, abstract: str) -> list[Event]:
    """The events between the baseline and now, in reading order: version, code, rising."""
    events: list[Event] = []
    # v1 after a sighting without a version (a Hugging Face listing) is the version readers saw, not news.
    new_version = now.version is not None and now.version > (before.version or 1)
    if new_version:
        detail: dict[str, Any] = {"version": now.version, "from": before.version}
        if now.title != before.title:
            detail["title"], detail["title_was"] = now.title, before.title
        if now.abstract_chars != before.abstract_chars:
            detail["abstract_chars"] = [before.abstract_chars, now.abstract_chars]
        if now.comment and now.comment != before.comment:
            detail["comment"] = clean_comment(now.comment)
        if now.pages is not None and now.pages != before.pages:
            detail["pages"] = [before.pages, now.pages]
        events.append(Event("version", f"version:{now.version}", detail))
    code = now.code_url
    if code is None and new_version:
        code = code_link(now.comment) or code_link(abstract)
    if before.code_url is None and code is not None:
        events.append(Event("code", "code", {"url": code}))
    rise = rising(before, now)
    if rise is not None:
        events.append(Event("rising", "rising", rise))
    return events


def rising(before: Snapshot, now: Snapshot) -> dict[str, Any] | None:
    """Rising: at least 3× and at least 20 more upvotes than when posted, or now in its day's top 3. A paper
    nobody upvoted has a place only by its id among the day's others, so it is in no top 3."""
    start, current = before.upvotes or 0, now.upvotes or 0
    by_votes = current >= RISE_FACTOR * start and current - start >= RISE_MIN_GAIN
    into_top = (current > 0 and now.day_rank is not None and now.day_rank <= TOP_PLACES
                and (before.day_rank is None or before.day_rank > TOP_PLACES))
    if not (by_votes or into_top):
        return None
    detail: dict[str, Any] = {"from": start, "to": current}
    if into_top:
        detail["rank"] = now.day_rank
    return detail
