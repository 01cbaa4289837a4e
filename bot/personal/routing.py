"""What a digest run does with personal topics: the scope a destination's digest matches (a channel's topics,
or a person's for their DM digest), and the "→ @person" mentions on channel digest items.

Mentions are data (`PaperItem.mentions`, platform user ids), never text: they come only from the people who
opted in to mentions in that channel and follow a topic the paper matches, so no paper title, abstract or LLM
reply can add one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from bot.commands.command_hints import command_hint
from bot.digests.digest_composer import rank_for_topics
from bot.feedback import feedback_commands, feedback_service
from bot.feedback.feedback_ranking import LearnedRanking
from bot.feedback.learned_model import LearnedModel
from bot.messages import Message
from bot.scope import Scope
from bot.topics.topic_service import TopicMatcher
from storage.destination_models import Destination
from storage.models import Paper

MAX_MENTIONS_PER_ITEM = 10  # a paper many people follow names the first ten who opted in, not a wall of pings
NOTHING_NEW_FOR_YOU = "No new papers for your topics today."


def digest_scope(destination: Destination) -> Scope:
    """Whose topics a destination's digest matches: the channel's, or the person's for a DM digest."""
    if destination.user_id:
        return Scope.for_user(destination.platform, destination.workspace, destination.user_id)
    return Scope.for_channel(destination.platform, destination.workspace, destination.channel)


def no_personal_topics(platform: str) -> str:
    return (f"You follow no topics of your own yet: {command_hint(platform, 'subscribe', value='TOPIC', personal=True)}"
            ", and your digest will list them.")


def nothing_new(destination: Destination, topics: Sequence[str], default: str) -> str:
    if not destination.user_id:
        return default
    return NOTHING_NEW_FOR_YOU if topics else no_personal_topics(destination.platform)


def personalize(destination: Destination, message: Message) -> Message:
    """A DM digest says it is the person's own: "for you" in the header, "Your topics" in the small print.

    Its "N more" line names no command: none lists the rest of a person's matches. `/papers today 2` is a
    channel's list: on Discord commands do not exist in DMs at all ("server channels only"), and on Slack it runs
    in the DM but pages through the DM's own list, which follows no topics (the day by upvotes)."""
    if not destination.user_id:
        return message
    if message.header:
        message.header = f"{message.header} · for you"
    # its buttons judge (and Why explains) for the person's own topics, whatever the DM lookup can tell
    message.items = feedback_commands.personal_items(message.items, destination.workspace)
    message.context = personal_context(destination.platform, message.context)
    stop = command_hint(destination.platform, "papers", "digest", value="off", personal=True)
    message.context.append(f"Your personal digest: {stop} stops it.")
    return message


def from_workspace(message: Message, name: str | None) -> Message:
    """A DM digest's header with the server (workspace) whose topics it follows: "… · for you in Lab". Discord has
    one DM per person and bot, so someone with a digest in two servers got two messages with the same header.
    Adapters call it with the name their platform gives (None: unknown; the header stays as it is)."""
    shown = " ".join((name or "").split())[:80]
    if not shown or not message.header:
        return message
    return replace(message, header=f"{message.header} in {shown}")


def personal_context(platform: str, context: list[str]) -> list[str]:
    """A digest's small print for a person's own list: "Your topics", and "N more match your topics." where a
    channel's digest points at `/papers today 2`, which pages a channel's list, never the person's."""
    more = f" more — {command_hint(platform, 'papers', 'today', value='2')}"
    lines = []
    for line in context:
        count = line.removesuffix(more)
        if line.startswith("Topics: "):
            line = "Your topics: " + line.removeprefix("Topics: ")
        elif count != line and count.isdigit():
            line = f"{count} more match your topics."
        lines.append(line)
    return lines


def mention_scopes(destination: Destination, opted_in: Sequence[str]) -> list[str]:
    """The scope keys of the people opted in to mentions on a channel's digest: their models must be loaded, so
    that what they taught decides what names them, as it decides their own digest."""
    if destination.user_id:
        return []
    return [Scope.for_user(destination.platform, destination.workspace, user).key for user in opted_in]


def with_mentions(matcher: TopicMatcher, destination: Destination, message: Message, papers: Sequence[Paper],
                  opted_in: Sequence[str], topics_by_scope: Mapping[str, Sequence[str]],
                  models: Mapping[tuple[str, str], LearnedModel] | None = None,
                  ranking: LearnedRanking | None = None) -> Message:
    """A channel digest whose items name the opted-in people whose own topics they match ("→ @u1"), as each
    person's judgements decide it (`models`): a paper they taught their topic to leave out does not name them."""
    if destination.user_id or not opted_in or not message.items:
        return message
    wanted: dict[int, list[str]] = {}
    for user in opted_in:
        scope = Scope.for_user(destination.platform, destination.workspace, user)
        topics = topics_by_scope.get(scope.key, [])
        if not topics:
            continue
        match = (feedback_service.day_match(models, scope.key, topics, ranking)
                 if models is not None and ranking is not None else None)
        for item, _topic in rank_for_topics(matcher, topics, papers, match=match):
            people = wanted.setdefault(item.paper.id, [])
            if user not in people and len(people) < MAX_MENTIONS_PER_ITEM:
                people.append(user)
    if wanted:
        message.items = [replace(item, mentions=tuple(wanted.get(item.paper_id, ()))) for item in message.items]
    return message
