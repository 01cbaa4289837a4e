"""Makes any generated or extracted text safe to post, whoever produced it.

Both the LLM's output and the abstract itself are untrusted: either can carry `@everyone`, a Slack
`<!channel>`, a Discord `<@&role>`, a phishing link, or markdown that wrecks a digest's layout. Everything a
user sees passes through `clean_output`, so no summarizer can forget a rule, and the length caps are
enforced here too.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.summaries.kinds import BULLET, MAX_BULLETS, WORD_LIMITS, SummaryKind
from bot.summaries.sentences import end_with_stop, split_sentences, trim_words, word_count

_I = re.IGNORECASE
_M = re.MULTILINE

# Slack `<!channel>`, `<!subteam^S1|x>`, `<@U123>`, `<#C123|general>`; Discord `<@123>`, `<@!123>`, `<@&123>`,
# `<#123>`, `</cmd:123>`, `<:emoji:123>`, `<t:123:R>`.
_ANGLE_MENTION_RE = re.compile(r"<\s*(?:[@#!]|/[^<>\s]+:\d|a?:\w+:\d|t:\d)[^<>]*>")
# Every pattern here is linear in the text: a match starts only at the start of a run ("@@@…", "a.b.c…") or
# scans a bounded stretch, so a hostile abstract of 50,000 "@" or "[" cannot hold the event loop for minutes.
_BROADCAST_RE = re.compile(r"(?<!@)@+\s?(?:everyone|here|channel|all|group|room)\b", _I)
# "@alice" loses its "@"; inside a word it is notation ("pass@32", "Recall@10") and stays. Broadcasts
# ("x@everyone") and e-mail addresses have their own patterns above.
_AT_WORD_RE = re.compile(r"(?<![\w.+\-])@(?=\w)")
_SLACK_LINK_RE = re.compile(r"<\s*((?:[a-z][a-z0-9+.\-]*:)[^<>|\s]*)\s*(?:\|([^<>]*))?>", _I)
_MD_IMAGE_RE = re.compile(r"!\[[^\[\]]*\]\([^()]*\)")
_MD_LINK_RE = re.compile(r"\[([^\[\]]*)\]\(\s*<?([^()\s>]*)>?(?:\s+[\"'(][^()]*)?\)")
_MD_REF_RE = re.compile(r"^[ \t]*\[[^\]]+\]:[ \t]*\S+.*$", _M)
_HTML_COMMENT_RE = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_HTML_TAG_RE = re.compile(r"</?[a-z][a-z0-9\-]*(?:\s[^<>]*)?/?>", _I)
_EMAIL_RE = re.compile(r"(?<![\w.+\-])[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+\b")
# No word boundary needed: "see_http://…", "1http://…" and "éhttp://…" are links to a chat client all the same
# (a scheme is at most 32 characters, so a long glued word loses only its tail).
_SCHEME_URL_RE = re.compile(r"[a-z][a-z0-9+.\-]{0,31}://[^\s<>\"'`]+|(?<![a-z0-9])www\.[^\s<>\"'`]+", _I)
_GTLDS = ("com|org|net|edu|gov|mil|int|io|ai|app|dev|co|me|info|biz|xyz|site|online|top|club|link|click|zip|mov|"
          "page|tech|cloud|store|shop|live|blog|news|wiki|pro|name|mobi|tv|cc|ly|gg|sh|to|so|ws|example|test|"
          "invalid|local|localhost|onion|lol|fun|win|bid|icu|buzz|work|website|space|email|art|fyi|gl|run|ninja|"
          "social|xxx|porn|sex|casino|bet|loan|money|finance|crypto|nft|eth|biz")
_CCTLDS = ("ac ad ae af ag al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bm bn bo br bs "
           "bt bw by bz ca cd cf cg ch ci ck cl cm cn cr cu cv cw cx cy cz de dj dk dm do dz ec ee eg "
           "er es et eu fi fj fk fm fo fr ga gd ge gf gh gi gm gn gp gq gr gs gt gu gw gy hk hm hn hr "
           "ht hu id ie il im in iq ir is it je jm jo jp ke kg kh ki km kn kp kr kw ky kz la lb lc li "
           "lk lr ls lt lu lv ma mc md mg mh mk ml mm mn mo mp mq mr ms mt mu mv mw mx my mz na nc ne "
           "nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt pw py qa re ro rs ru rw "
           "sa sb sc sd se sg si sk sl sm sn sr ss st su sv sx sy sz tc td tf tg th tj tk tl tm tn tr "
           "tt tw tz ua ug uk us uy uz va vc ve vg vi vn vu wf ye yt za zm zw").split()
# A bare host ("evil.example", "bit.ly/x", "EVIL.COM"): a known TLD written in one case, country codes only in
# lower case. A capitalised word after a full stop is never a TLD: abstracts often lack the space there
# ("natural languages.To begin", "results.In short"), and those are words to keep, not hosts to delete.
_BARE_HOST_RE = re.compile(
    rf"(?<![\w@./-])(?:[a-zA-Z0-9](?:[a-zA-Z0-9\-]{{0,61}}[a-zA-Z0-9])?\.)+"
    rf"(?:{_GTLDS}|{_GTLDS.upper()}|{'|'.join(_CCTLDS)})\b"
    r"(?:[/?#][^\s<>\"'`]*)?")
_TRAILING_PUNCT = ".,;:!?)]}'\""
_OWN_HOSTS = frozenset({"arxiv.org", "www.arxiv.org", "export.arxiv.org", "huggingface.co", "hf.co"})

_FENCE_RE = re.compile(r"^[ \t]*(```|~~~).*$", _M)
_HEADING_RE = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]*", _M)
_RULE_RE = re.compile(r"^[ \t]*(?:[-*_=][ \t]*){3,}$", _M)
_QUOTE_RE = re.compile(r"^[ \t]*(?:>[ \t]?)+", _M)
# Possessive: "[ \t]*" twice in a row (around an optional "|") tried every split of a line of 50,000 spaces.
_TABLE_SEP_RE = re.compile(r"^[ \t]*+\|?[ \t]*+:?-{2,}+:?[ \t]*+(?:\|[ \t]*+:?-{2,}+:?[ \t]*+)*+\|?[ \t]*+$", _M)
_TABLE_ROW_RE = re.compile(r"^[ \t]*\|(.*)\|[ \t]*$", _M)
_EMPHASIS_RE = re.compile(r"\*\*|__|~~|\|\||`+")
_STAR_EMPHASIS_RE = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
# Slack's italic and strike-through, which its renderer leaves active (only & < > are escaped there); inside a
# word ("snake_case", "~10x") they are not markup and stay.
_SINGLE_EMPHASIS_RE = re.compile(r"(?<![\w_~])([_~])(?=[^\s_~])([^_~\n]+?)(?<=\S)\1(?![\w_~])")
_LIST_MARK_RE = re.compile(r"^[ \t]*(?:[-*+•‣▪◦·]|\d{1,2}[.)])[ \t]+")
_DANGLING_WHERE_RE = re.compile(r"\b(available|released|found|hosted|published|accessible)\s+(?:at|on|in|from|via)"
                                r"(?:\s*:)?\s*(?=[.,;!?]|$)", _I | _M)
_SPACE_BEFORE_PUNCT_RE = re.compile(r"(?<![ \t])[ \t]+([.,;:!?])")
_EMPTY_BRACKETS_RE = re.compile(
    r"\((?:\s*(?:see|at|cf\.?|via|from|here|code|link|url|online))?\s*[,;:.]?\s*\)|\[\s*\]", _I)
_MAX_PASSES = 5
_KEEP_AS_IS = frozenset("…")  # NFKC would turn our own ellipsis into three dots


@dataclass(frozen=True)
class Cleaned:
    """Clean text, plus what had to be removed: a mention in an LLM's output is a sign it was hijacked."""

    text: str
    mentions_removed: int = 0
    links_removed: int = 0


def is_own_link(url: str, arxiv_id: str | None) -> bool:
    """The paper's own pages (arXiv abstract/PDF, its Hugging Face page) are the only links allowed through."""
    if not arxiv_id:
        return False
    candidate = url if "://" in url else f"https://{url}"
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or (parts.hostname or "") not in _OWN_HOSTS:
        return False
    if parts.username or parts.password or parts.port not in (None, 80, 443):
        return False
    path = parts.path.rstrip("/")
    return any(path == f"/{prefix}/{arxiv_id}" or path.startswith(f"/{prefix}/{arxiv_id}v")
               for prefix in ("abs", "pdf", "html", "papers"))


def _strip_invisible(text: str) -> str:
    """NFKC folds look-alikes ("＠everyone") into what platforms act on; format and control characters
    (zero-width joiners, bidi overrides) go, so "@\u200beveryone" cannot slip past the patterns."""
    text = "".join(ch if ch in _KEEP_AS_IS else unicodedata.normalize("NFKC", ch) for ch in text)
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Co", "Cs"))


class _Pass:
    """One sweep over the text; repeated until nothing changes, so removing one construct cannot assemble
    another ("<!chan@everyonenel>" → "<!channel>")."""

    def __init__(self, arxiv_id: str | None) -> None:
        self.arxiv_id = arxiv_id
        self.mentions = 0
        self.links = 0

    def _mention(self, _m: re.Match[str]) -> str:
        self.mentions += 1
        return ""

    def _url(self, m: re.Match[str]) -> str:
        url = m.group(0)
        core = url.rstrip(_TRAILING_PUNCT)
        tail = url[len(core):]
        if is_own_link(core, self.arxiv_id):
            return url
        self.links += 1
        return tail

    def _slack_link(self, m: re.Match[str]) -> str:
        target, label = m.group(1), m.group(2)
        if label is not None and label.strip():
            if not is_own_link(target, self.arxiv_id):
                self.links += 1
            return label
        return target  # a bare <url>: the URL rules below decide

    def _md_link(self, m: re.Match[str]) -> str:
        if not is_own_link(m.group(2), self.arxiv_id):
            self.links += 1
        return m.group(1)

    def run(self, text: str) -> str:
        text = _strip_invisible(html.unescape(text))
        text = _HTML_COMMENT_RE.sub("", text)
        text = _ANGLE_MENTION_RE.sub(self._mention, text)
        text = _SLACK_LINK_RE.sub(self._slack_link, text)
        text = _HTML_TAG_RE.sub("", text)
        text = _MD_IMAGE_RE.sub("", text)
        text = _MD_LINK_RE.sub(self._md_link, text)
        text = _MD_REF_RE.sub("", text)
        text = _BROADCAST_RE.sub(self._mention, text)
        text = _EMAIL_RE.sub(self._url, text)
        text = _SCHEME_URL_RE.sub(self._url, text)
        text = _BARE_HOST_RE.sub(self._url, text)
        text = _AT_WORD_RE.sub("", text)
        return _strip_markdown(text)


def _strip_markdown(text: str) -> str:
    text = _FENCE_RE.sub("", text)
    text = _TABLE_SEP_RE.sub("", text)
    text = _TABLE_ROW_RE.sub(lambda m: "; ".join(c.strip() for c in m.group(1).split("|") if c.strip()), text)
    text = _HEADING_RE.sub("", text)
    text = _RULE_RE.sub("", text)
    text = _QUOTE_RE.sub("", text)
    text = _STAR_EMPHASIS_RE.sub(r"\1", text)
    text = _SINGLE_EMPHASIS_RE.sub(r"\2", text)
    return _EMPHASIS_RE.sub("", text)


def _tidy(line: str) -> str:
    line = _DANGLING_WHERE_RE.sub(r"\1", line)
    line = _EMPTY_BRACKETS_RE.sub("", line)
    line = " ".join(line.split())
    line = _SPACE_BEFORE_PUNCT_RE.sub(r"\1", line)
    return line.strip(" ,;:-–—").strip()


def _bullets(text: str) -> list[str]:
    """Bullet lines, whatever marker the writer used; a single paragraph becomes one bullet per sentence."""
    lines = [_tidy(_LIST_MARK_RE.sub("", line)) for line in text.splitlines()]
    lines = [line for line in lines if word_count(line) >= 2]
    if len(lines) == 1:
        lines = split_sentences(lines[0])
    return lines[:MAX_BULLETS]


def _shape(text: str, kind: SummaryKind) -> str:
    limit = WORD_LIMITS[kind]
    if kind is SummaryKind.SUMMARY:
        bullets = _bullets(text)
        if not bullets:
            return ""
        per_bullet = min(WORD_LIMITS[SummaryKind.TLDR], limit // len(bullets))
        return "\n".join(f"{BULLET} {trim_words(b, per_bullet)}" for b in bullets)
    flat = _tidy(" ".join(_LIST_MARK_RE.sub("", line) for line in text.splitlines()))
    return trim_words(flat, limit) if flat else ""


def clean_output(text: str, kind: SummaryKind, *, arxiv_id: str | None = None) -> Cleaned:
    """Text safe for Slack and Discord: no mentions, no links but the paper's own, no layout-breaking
    markdown, within the length cap of its kind. Idempotent, so cached text can be cleaned again on the way out."""
    sweep = _Pass(arxiv_id)
    for _ in range(_MAX_PASSES):
        cleaned = sweep.run(text)
        if cleaned == text:
            break
        text = cleaned
    else:
        text = re.sub(r"[<>@]", "", text)  # still changing after several passes: someone is playing games
    shaped = _shape(text, kind)
    if shaped and not any(ch.isalnum() for ch in shaped):
        shaped = ""
    return Cleaned(end_with_stop(shaped) if kind is not SummaryKind.SUMMARY else shaped,
                   sweep.mentions, sweep.links)
