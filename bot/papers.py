"""The paper record every source is parsed into, and the rules that make two sightings one paper.

A paper can reach us from a Hugging Face page (no arXiv id, only a title), the HF JSON API, the arXiv API or
RSS, and in several arXiv versions. Identity therefore rests on the bare arXiv id when one is known and on a
normalised title otherwise; both rules live here so that parsers and storage cannot disagree about them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

# New-style ids (0704.0001 onwards, 4+4 or 4+5 digits) and old-style archive ids (hep-th/9901001).
# Digits are 0-9 only: `\d` also matches ٢٤٠١, which no arXiv id contains.
_NEW_ID = r"[0-9]{4}\.[0-9]{4,5}"
_OLD_ID = r"[a-z][a-z\-]+(?:\.[A-Z]{2})?/[0-9]{7}"
ARXIV_ID_RE = re.compile(rf"(?P<id>{_NEW_ID}|{_OLD_ID})(?:v(?P<version>[0-9]+))?")
_ID_IN_TEXT_RE = re.compile(
    rf"(?:arxiv\.org/(?:abs|pdf|html)/|huggingface\.co/papers/|alphaxiv\.org/(?:abs|overview|pdf)/"
    rf"|ar5iv\.org/(?:abs|html)/|10\.48550/arxiv\.|oai:arxiv\.org:|arxiv:\s*|^)\s*"
    rf"(?P<id>{_NEW_ID}|{_OLD_ID})(?:v(?P<version>[0-9]+))?(?:\.pdf)?/?"
    r"(?:\s*\[[a-z][a-z\-]*(?:\.[a-z\-]+)?\])?\s*$",  # "arXiv:2401.12345 [cs.LG]", as arXiv's "Cite as" prints it
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ArxivRef:
    """A bare arXiv id plus the version it was seen at (None when the source gave no version)."""

    arxiv_id: str
    version: int | None = None


def parse_arxiv_ref(text: str) -> ArxivRef | None:
    """Accept what people paste: `2401.12345`, `2401.12345v2`, `arXiv:2401.12345` (also with its category, as
    arXiv cites it: `arXiv:2401.12345 [cs.LG]`), abs/pdf/HF/alphaXiv/ar5iv URLs, the DOI arXiv registers
    (`10.48550/arXiv.2401.12345`), the OAI identifier arXiv's feeds carry (`oai:arXiv.org:2401.12345v2`), and a
    link in angle brackets, as Discord users wrap one to hide its preview (Slack's `<url|label>` too)."""
    candidate = text.strip()
    if not candidate or len(candidate) > 300:
        return None
    if candidate[0] == "<" and candidate[-1] == ">":
        candidate = candidate[1:-1].split("|", 1)[0].strip()
    candidate = candidate.split("?", 1)[0].split("#", 1)[0]
    m = _ID_IN_TEXT_RE.search(candidate)
    if not m:
        return None
    arxiv_id = m.group("id")
    if "/" in arxiv_id:
        archive, number = arxiv_id.split("/", 1)
        # `math.GT/0309136` is `math/0309136`: the subject class is not part of an old-style id.
        arxiv_id = f"{archive.split('.')[0].lower()}/{number}"
    version = int(m.group("version")) if m.group("version") else None
    return ArxivRef(arxiv_id, version)


# Every character `str.split()` splits on except the space (tests/test_feed_parsers.py checks the list).
SPACES_BUT_BLANK_RE = re.compile(
    "[\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")


def collapse(text: str) -> str:
    """Hard line wraps and runs of whitespace become one space; the words themselves stay exactly as given."""
    if "  " not in text and text[:1] != " " and text[-1:] != " " and not SPACES_BUT_BLANK_RE.search(text):
        return text  # already collapsed: checked at C speed, without splitting into words (the common case)
    return " ".join(text.split())


_PUNCT_CATEGORIES = ("P", "S")
_ASCII_PUNCT = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})


# Unicode's Default_Ignorable_Code_Point: characters no reader sees (zero-width space, soft hyphen, byte order mark,
# joiners, direction marks, variation selectors, tags …). A title copied from a web page often carries some, and
# the same paper from a source without them must still be the same paper.
INVISIBLE_RE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e0fff]")


def normalize_title(title: str) -> str:
    """The identity of a paper without an arXiv id: case, whitespace, punctuation and invisible characters do not
    count. Invisible characters go first, so that NFKC composes what they kept apart ("e", ZWSP, U+0301 is "é")."""
    if not title.isascii():
        title = INVISIBLE_RE.sub("", title)
    folded = unicodedata.normalize("NFKC", title).casefold().translate(_ASCII_PUNCT)
    if not folded.isascii():
        folded = "".join(" " if unicodedata.category(ch)[0] in _PUNCT_CATEGORIES else ch for ch in folded)
    return " ".join(folded.split())


@dataclass
class ParsedPaper:
    """One sighting of a paper as a source describes it; unknown fields stay None rather than guessed."""

    title: str
    abstract: str
    source: str
    arxiv_id: str | None = None
    version: int | None = None
    authors: list[str] | None = None
    author_count: int | None = None
    organization: str | None = None
    published_on: date | None = None
    listed_on: date | None = None
    upvotes: int | None = None
    extra: dict[str, object] = field(default_factory=dict)
    title_key: str = field(init=False)

    def __post_init__(self) -> None:
        self.title = collapse(self.title)
        self.abstract = collapse(self.abstract)
        self.title_key = normalize_title(self.title)
        if not self.authors:
            self.authors = None  # an empty list names nobody: the authors are unknown, not zero of them
        elif self.author_count is None:
            self.author_count = len(self.authors)


def paper_url(arxiv_id: str | None) -> str | None:
    """The link we show people: arXiv's abstract page, the one place every paper with an id has."""
    return f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else None
