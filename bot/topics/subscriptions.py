"""Who subscribed to what: the rules (limits, normalisation, friendly no-ops), independent of any platform."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import UsageError
from bot.papers import INVISIBLE_RE
from bot.scope import Scope
from bot.topics.glossary import term_key
from bot.topics.text_analysis import STOPWORDS, tokenize
from bot.topics.topic_query import looks_like_acronym, normalize_topic
from storage import subscription_store
from storage.subscription_store import SubscribeOutcome

MAX_TOPICS_PER_SCOPE = 50
MAX_TOPIC_CHARS = 100
MAX_TOPICS_AT_ONCE = 10
_LIST_SEPARATORS = re.compile(r"[,;、，；]")

__all__ = ["MAX_TOPICS_PER_SCOPE", "Scope", "clean_new_topic", "clean_topic", "split_topics", "subscribe",
           "unsubscribe"]


def clean_topic(raw: str) -> tuple[str, str]:
    """The topic as shown and its matching key; a clear `UsageError` for anything unusable."""
    if len(raw) > 4 * MAX_TOPIC_CHARS:
        raise UsageError(f"that topic is too long ({len(raw)} characters; at most {MAX_TOPIC_CHARS})")
    # Fullwidth and other compatibility forms ("ＧＮＮ", "ﬁne-tuning") are the same words as typed plainly, and a
    # paper never spells them so: read as plain, they share the plain topic's key and match its papers.
    # Characters no reader sees are dropped first, as `sanitize` does: inside a word they would split it.
    text = unicodedata.normalize("NFKC", INVISIBLE_RE.sub("", raw))
    text = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text)
    text = text.strip().strip("\"'“”‘’`").strip()
    if not text:
        # Names no command: this rule serves /unsubscribe and topics started from papers too, on every platform.
        raise UsageError("say which topic, e.g. “diffusion models”")
    if len(text) > MAX_TOPIC_CHARS:
        raise UsageError(f"that topic is too long ({len(text)} characters; at most {MAX_TOPIC_CHARS})")
    shown = normalize_topic(text)
    key = term_key(shown)
    if not key:
        raise UsageError(f"{shown[:40]!r} has no words to match papers with")
    return shown, key


def clean_new_topic(raw: str) -> tuple[str, str]:
    """`clean_topic`, also refusing a topic of only stopwords ("the", "of the"): the matcher skips those words
    inside a phrase, but alone they are the whole topic and match nearly every paper. Only new topics are
    refused: one stored before this rule must stay keyed the same, so it can still be unsubscribed and judged."""
    shown, key = clean_topic(raw)
    # An acronym in capitals ("OR", "IT") matches only that spelling, so it is a word of its own.
    if all(w.lower() in STOPWORDS and not looks_like_acronym(w) for w in tokenize(shown)):
        raise UsageError(f"{shown[:40]!r} has no words to match papers with, only common ones like “the”")
    return shown, key


def split_topics(raw: str, clean: Callable[[str], tuple[str, str]] = clean_new_topic) -> list[str]:
    """"diffusion, RLHF; agents" is three topics, as people list them (one topic "diffusion, RLHF, agents" would
    match nothing, and `/subscriptions`, which lists topics with commas, could not show it apart). Each part is
    cleaned and checked before anything is stored; the same topic twice counts once."""
    if len(raw) > 4 * MAX_TOPIC_CHARS * MAX_TOPICS_AT_ONCE:
        raise UsageError(f"that is too long ({len(raw):,} characters) for a topic or a list of topics")
    parts = [part for part in _LIST_SEPARATORS.split(raw) if part.strip()]
    if len(parts) <= 1:
        return [raw]
    if len(parts) > MAX_TOPICS_AT_ONCE:
        raise UsageError(f"that is {len(parts)} topics; follow at most {MAX_TOPICS_AT_ONCE} at once")
    by_key: dict[str, str] = {}
    for part in parts:
        shown, key = clean(part)
        by_key.setdefault(key, shown)
    return list(by_key.values())


async def subscribe(session: AsyncSession, scope: Scope, raw_topic: str, by: str | None = None) -> SubscribeOutcome:
    """Follow a topic as typed: cleaned and keyed here (the matcher's rules), stored by `storage/`."""
    topic, key = clean_new_topic(raw_topic)
    return await subscription_store.add_subscription(session, scope, topic, key, by=by, limit=MAX_TOPICS_PER_SCOPE)


async def unsubscribe(session: AsyncSession, scope: Scope, raw_topic: str) -> str | None:
    """The topic removed, or None when the scope did not follow it."""
    _, key = clean_topic(raw_topic)
    removed = await subscription_store.remove_subscription(session, scope, key)
    if removed is None and (unnormalized := term_key(raw_topic)) != key:
        # A topic stored before compatibility forms were normalised ("ＧＮＮ") is keyed by its own spelling.
        removed = await subscription_store.remove_subscription(session, scope, unnormalized)
    return removed
