"""Plain-text tools the summarizers and the cleaner share: sentences, words, and trimming that reads well.

Abstracts are full of abbreviations ("e.g.", "et al.", "Fig. 3") and decimals, so a naive split on ". "
breaks sentences in the middle; and a summary cut mid-clause ("…trained with the") reads as a bug. These
helpers exist so every producer of text trims the same, clean way.
"""

from __future__ import annotations

import re

from bot.papers import collapse

_BOUNDARY_RE = re.compile(r"[.!?][\"'”’)\]]*\s+")
# "…in natural languages.To begin, we…": a full stop after a lowercase word, glued to a capitalised word.
_GLUED_STOP_RE = re.compile(r"(?<=[a-z]{3})([.!?])(?=[A-Z][a-z]+\b)")
_ABBREVIATIONS = frozenset({
    "e.g", "i.e", "al", "vs", "fig", "figs", "eq", "eqs", "cf", "approx", "resp", "sec", "no", "dr",
    "mr", "ms", "prof", "w.r.t", "a.k.a", "incl", "ca", "st", "u.s", "ref", "refs", "viz", "tab", "vol", "pp",
})
# Words that begin a sentence but are nobody's surname: "…a matrix A. We show…" ends a sentence at "A.".
_OPENERS = frozenset({
    "we", "our", "this", "these", "the", "in", "it", "its", "to", "for", "on", "as", "a", "an", "here", "then",
    "thus", "hence", "finally", "moreover", "furthermore", "however", "additionally", "specifically", "experiments",
    "results", "numerical", "empirical", "extensive", "such", "both", "all", "each", "when", "if", "under", "using",
    "unlike", "while", "with", "by", "from", "at", "there", "they", "one", "two", "first", "second", "overall",
})
# Words after which a capital letter and a full stop are an initial: "by J. Smith", "and A. Doe".
_NAME_LEADS = frozenset({"by", "and", "of", "from", "with", "to", "de", "van", "von", "der", "da", "di", "du", "le",
                         "la", "et", "&", "cf.", "see"})
_STOPS = ".!?…"
_CLOSERS = "\"'”’)]"
# Words a cut text must not end on: "…trained with the…" reads broken, "…trained…" does not.
_DANGLING = frozenset({
    "a", "an", "the", "of", "and", "or", "to", "with", "for", "in", "on", "at", "by", "via", "from", "as",
    "that", "which", "who", "whose", "its", "their", "our", "his", "her", "is", "are", "was", "were", "be",
    "we", "it", "this", "these", "those", "than", "into", "onto", "over", "under", "between", "such", "both",
    "while", "whereas", "where", "when", "e.g.", "i.e.", "but", "nor", "not", "can", "will", "may", "also",
    "using", "based", "through", "across", "toward", "towards", "without", "within", "upon", "each", "every",
})
# After ", " these words start a new clause, so cutting before them leaves a complete sentence.
_CLAUSE_STARTS = frozenset({
    "which", "where", "while", "whereas", "thereby", "enabling", "allowing", "making", "leading", "resulting",
    "yielding", "achieving", "outperforming", "improving", "reducing", "thus", "and", "but", "demonstrating",
    "showing", "surpassing", "offering", "providing", "setting", "establishing", "with",
})
STOPWORDS = frozenset({
    "a", "an", "the", "of", "and", "or", "to", "with", "for", "in", "on", "at", "by", "via", "from", "as", "that",
    "which", "who", "whom", "whose", "what", "when", "where", "why", "how", "its", "their", "our", "is", "are",
    "was", "were", "be", "been", "being", "we", "it", "this", "these", "those", "than", "into", "such", "do",
    "does", "did", "doing", "done", "can", "could", "will", "would", "should", "may", "might", "must", "shall",
    "has", "have", "had", "not", "no", "but", "if", "then", "so", "also", "use", "used", "uses", "using", "they",
    "them", "paper", "papers", "author", "authors", "study", "work", "method", "approach", "propose", "proposed",
    "about", "any", "some", "there", "here", "i", "you", "your", "me", "my", "he", "she", "his", "her", "one",
    "more", "most", "other", "while", "each", "all", "both", "between", "over", "only", "very",
    "tell", "say", "says", "said", "show", "shows", "new", "based", "get", "got", "much", "many",
})
_TOKEN_RE = re.compile(r"[a-z0-9][a-z0-9\-]*")
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "es", "ed", "s", "ly")


def split_sentences(text: str) -> list[str]:
    """Sentences of prose, not fooled by "e.g.", "et al.", initials, list numbers ("ingredients: 1. Smoothness…;
    2. Bregman…") or a lowercase word after a period."""
    text = _GLUED_STOP_RE.sub(r"\1 ", collapse(text))
    sentences: list[str] = []
    start = 0
    for m in _BOUNDARY_RE.finditer(text):
        following = text[m.end():m.end() + 1]
        if not following or following.islower():
            continue
        if text[m.start()] == "." and not _ends_at_full_stop(text, start, m.start(), m.end()):
            continue
        sentences.append(text[start:m.end()].strip())
        start = m.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def _ends_at_full_stop(text: str, start: int, stop: int, after: int) -> bool:
    """Whether the full stop at `stop` ends the sentence begun at `start` (`text` is collapsed, `after` is where
    the next word starts). Only the words next to the stop decide, so a long sentence is never read again."""
    space = text.rfind(" ", start, stop)
    word = text[max(space + 1, start):stop].lstrip("([\"'“")
    if word.lower() in _ABBREVIATIONS:
        return False
    before = text[max(text.rfind(" ", start, space) + 1, start):space] if space > start else ""
    if word.isdigit() and word.isascii() and len(word) <= 2:
        # "1." opening a sentence or after "ingredients:" / "…capacity;" numbers a list item, which follows
        return bool(before) and not before.endswith((":", ";"))
    if len(word) != 1 or not word.isalpha():
        return True
    if not ("A" <= word <= "Z"):
        return True  # "in x.", "labels 𝒜.", "by λ.": maths, where no one has an initial
    end = text.find(" ", after, after + 40)
    if text[after:end if end != -1 else after + 40].strip(_CLOSERS + ",;:").lower() in _OPENERS:
        return True  # "a matrix A. We show…"
    # An initial follows a name, another initial or a word that introduces names ("by J. Smith"); a symbol
    # follows a noun ("a matrix A. Extensive experiments…").
    return bool(before) and before[0].islower() and before.lower() not in _NAME_LEADS


def word_count(text: str) -> int:
    return len(text.split())


def end_with_stop(text: str) -> str:
    """A sentence that ends in a full stop (or its own ! ? …), never in a comma, colon or nothing."""
    text = text.strip()
    if not text:
        return text
    core = text.rstrip(_CLOSERS)
    if core and core[-1] in _STOPS:
        return text
    stripped = text.rstrip(",;:-–— ")
    return stripped + "." if stripped else stripped


def _clause_cut(words: list[str], limit: int) -> list[str] | None:
    """The longest prefix within `limit` words that ends at a clause boundary, if one leaves most of the text."""
    for k in range(min(limit, len(words) - 1), max(limit * 3 // 5, 1) - 1, -1):
        last, following = words[k - 1], words[k].lower().strip("(\"'“")
        if last.endswith((";", ":")) or (last.endswith(",") and following in _CLAUSE_STARTS) or following in (
                "—", "–", "-"):
            return words[:k]
    return None


def _balanced(words: list[str]) -> list[str]:
    """Drop an unclosed parenthesis and what follows it, so a cut never leaves "(see" hanging."""
    text = " ".join(words)
    if text.count("(") <= text.count(")"):
        return words
    for k in range(len(words) - 1, 0, -1):
        if "(" in words[k] and ")" not in words[k][words[k].index("("):]:
            return words[:k]
    return words


def trim_words(text: str, limit: int) -> str:
    """At most `limit` words, cut at a word boundary: at a clause end when one is close (ending in a full
    stop), otherwise mid-clause with an ellipsis so the reader knows the sentence went on."""
    words = text.split()
    if len(words) <= limit:
        return end_with_stop(" ".join(words))
    clause = _clause_cut(words, limit)
    if clause is not None:
        return end_with_stop(" ".join(clause).rstrip(",;:-–— "))
    head = _balanced(words[:limit])
    while len(head) > 1 and (head[-1].lower().rstrip(",;:") in _DANGLING or not any(c.isalnum() for c in head[-1])):
        head.pop()
    return " ".join(head).rstrip(",;:-–—(/ ") + "…"


def stem(word: str) -> str:
    """A crude stem, the same on both sides of a comparison, which is all overlap counting needs."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
    return word


def content_words(text: str) -> set[str]:
    """The stems that carry meaning: no stopwords, no question words, no "paper" or "authors"."""
    return {stem(t) for t in _TOKEN_RE.findall(text.lower()) if t not in STOPWORDS and len(t) > 1}
