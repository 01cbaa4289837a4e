"""👍 / 👎 buttons under Discord lists: persistent `DynamicItem`s whose custom_id carries the verdict and the
paper, so a click works after a restart and on any process (discord.py matches the id against the template;
no view has to be remembered). The clicked message's buttons are relabelled with the paper's counts in the
channel; the clicker gets a private note.

One row of a view holds five buttons and a message five rows: the buttons (“👍 3”, “👎 3”) for up to twelve
papers go on the last message of a list, numbered like the papers.

Clicks in a DM (under the person's own digest) carry no server: the core finds the digest by the clicked message
and judges for the person. A 👍 on a paper no topic matched is answered with a "Start a topic like this" button
(also a `DynamicItem`); starting a channel topic that way needs Manage Channels and a channel that can take the
digest it brings (not a forum post; the bot may post embeds there), as `/subscribe` does.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord

from adapters.discord.discord_channels import Placement, digest_placement
from adapters.discord.discord_interactions import ANSWER_REFUSED, bound_waits
from adapters.discord.discord_renderer import escaped_within, truncate
from bot.commands.command_core import CommandCore
from bot.commands.context import ChatContext
from bot.feedback.feedback_commands import is_personal_ref
from bot.feedback.feedback_service import Votes
from bot.messages import ActionKind, PaperItem, Reply, Visibility

log = logging.getLogger(__name__)

PREFIX = "paperboy:judge"
TEMPLATE = re.compile(rf"^{PREFIX}:(?P<verdict>up|down):(?P<number>\d{{1,2}}):(?P<ref>[^\s]{{1,80}})$")
START_PREFIX = "paperboy:start"
START_TEMPLATE = re.compile(rf"^{START_PREFIX}:(?P<ref>[^\s]{{1,85}})$")
NEEDS_MANAGE_CHANNELS = ("Starting a topic for the whole channel needs the Manage Channels permission. To follow "
                         "papers like it just for yourself: /subscribe topic:like PAPER_ID personal:True.")
MAX_JUDGED_ITEMS = 12  # 24 buttons: within a message's 5 rows of 5
NO_MENTIONS = discord.AllowedMentions.none()


def custom_id(verdict: str, number: int, ref: str) -> str:
    return f"{PREFIX}:{verdict}:{number}:{ref}"


def label(verdict: str, number: int, count: int = 0) -> str:
    return f"{'👍' if verdict == 'up' else '👎'} {number}" + (f" · {count}" if count else "")


def judge_button_class(core: CommandCore, context_of: Any,
                       start_button: type[Any] | None = None) -> type[discord.ui.DynamicItem[discord.ui.Button[Any]]]:
    """The DynamicItem class for one core; register it with `client.add_dynamic_items` before connecting."""

    class JudgeButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
        def __init__(self, verdict: str, number: int, ref: str, count: int = 0) -> None:
            style = discord.ButtonStyle.success if verdict == "up" else discord.ButtonStyle.secondary
            super().__init__(discord.ui.Button(label=label(verdict, number, count), style=style,
                                               custom_id=custom_id(verdict, number, ref)))
            self.verdict, self.number, self.ref = verdict, number, ref

        @classmethod
        async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                                 match: re.Match[str], /) -> JudgeButton:
            return cls(match["verdict"], int(match["number"]), match["ref"])

        async def callback(self, interaction: discord.Interaction) -> None:
            await on_click(core, context_of(interaction), interaction, self.verdict, self.number, self.ref,
                           start_button)

    return JudgeButton


def start_button_class(core: CommandCore, context_of: Any) -> type[discord.ui.DynamicItem[discord.ui.Button[Any]]]:
    """The "Start a topic like this" DynamicItem for one core (the offer under a 👍 on an unmatched paper)."""

    class StartTopicButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=START_TEMPLATE):
        def __init__(self, ref: str, label: str = "Start a topic like this") -> None:
            super().__init__(discord.ui.Button(label=truncate(label, 80), style=discord.ButtonStyle.primary,
                                               custom_id=f"{START_PREFIX}:{ref}"))
            self.ref = ref

        @classmethod
        async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                                 match: re.Match[str], /) -> StartTopicButton:
            return cls(match["ref"])

        async def callback(self, interaction: discord.Interaction) -> None:
            await on_start(core, context_of(interaction), interaction, self.ref)

    return StartTopicButton


def start_view(button_class: type[Any] | None, reply: Reply) -> discord.ui.View | None:
    """The offer's button, when the reply makes one."""
    offers = [a for i in reply.message.items for a in i.actions if a.kind is ActionKind.START_TOPIC]
    if button_class is None or not offers or not START_TEMPLATE.match(f"{START_PREFIX}:{offers[0].paper_ref}"):
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(button_class(offers[0].paper_ref, offers[0].label))
    return view


async def on_start(core: CommandCore, ctx: ChatContext | None, interaction: discord.Interaction, ref: str) -> None:
    """Start the topic (the core makes it once), and say so: to the channel for a channel topic."""
    bound_waits(interaction)
    try:
        await interaction.response.defer(ephemeral=True, thinking=True)
    except ANSWER_REFUSED as exc:
        log.warning("could not acknowledge a start-topic click: %s", exc)
        return
    if ctx is None:
        return
    for_channel = not is_personal_ref(ref) and not ctx.direct
    placement = Placement()
    if for_channel and interaction.permissions.manage_channels:  # a channel topic brings the channel a digest
        placement = await digest_placement(interaction.client, interaction.channel, interaction.app_permissions)
    if for_channel and not interaction.permissions.manage_channels:
        text = NEEDS_MANAGE_CHANNELS
    elif placement.refusal is not None:
        text = placement.refusal
    else:
        reply = await core.handle_start_topic(ctx, ref)
        text = reply.message.plain_text()
        if placement.note is not None and reply.visibility is not Visibility.EPHEMERAL:
            text = f"{text}\n\n{placement.note}"
    try:
        await interaction.followup.send(escaped_within(text, 2000), ephemeral=True, allowed_mentions=NO_MENTIONS)
    except ANSWER_REFUSED as exc:
        log.warning("could not answer a start-topic click: %s", exc)


def judge_view(button_class: type[Any], items: list[PaperItem]) -> discord.ui.View | None:
    """The 👍/👎 buttons for a list's papers (those with a judging action), or None when there are none."""
    judged = [i for i in items if any(a.kind is ActionKind.RELEVANT for a in i.actions)][:MAX_JUDGED_ITEMS]
    if not judged:
        return None
    view = discord.ui.View(timeout=None)
    for item in judged:
        ref = next(a.paper_ref for a in item.actions if a.kind is ActionKind.RELEVANT)
        if not TEMPLATE.match(custom_id("up", item.number, ref)) or len(custom_id("down", item.number, ref)) > 100:
            continue  # a reference too long for a custom_id (Discord: 100 characters): judged with “more N”
        for verdict in ("up", "down"):
            view.add_item(button_class(verdict, item.number, ref))
    return view if view.children else None


def relabelled(message: discord.Message | None, number: int, votes: Votes) -> discord.ui.View | None:
    """The clicked message's buttons, with paper `number`'s two labels showing its counts."""
    if message is None:
        return None
    view = discord.ui.View.from_message(message, timeout=None)
    counts = {"up": votes.relevant, "down": votes.not_relevant}
    for child in view.children:
        match = TEMPLATE.match(getattr(child, "custom_id", None) or "")
        if isinstance(child, discord.ui.Button) and match and int(match["number"]) == number:
            child.label = label(match["verdict"], number, counts[match["verdict"]])
    return view


async def on_click(core: CommandCore, ctx: ChatContext | None, interaction: discord.Interaction, verdict: str,
                   number: int, ref: str, start_button: type[Any] | None = None) -> None:
    """Acknowledge at once (the 3-second rule), judge, then relabel the message and tell the clicker. The
    judgement stands whatever Discord does with the two answers; each failure is one log line."""
    bound_waits(interaction)
    try:
        await interaction.response.defer()  # an update of the clicked message follows
    except ANSWER_REFUSED as exc:
        log.warning("could not acknowledge a judgement click: %s", exc)
        return
    if ctx is None:
        return
    reply, votes = await core.handle_judgement(ctx, ref, verdict == "up")
    if votes is not None and (view := relabelled(interaction.message, number, votes)) is not None:
        try:
            await interaction.edit_original_response(view=view, allowed_mentions=NO_MENTIONS)
        except ANSWER_REFUSED as exc:
            log.warning("could not show the counts on the clicked message: %s", exc)
        finally:
            # Only for showing the labels: discord.py keeps a view it edited in (persistent, per message),
            # which would hold every clicked message's buttons for good and hand later clicks to its
            # callback-less copies too; the DynamicItems answer them.
            view.stop()
    extra: dict[str, Any] = {}
    if (offer := start_view(start_button, reply)) is not None:
        extra["view"] = offer
    text = reply.message.text or reply.message.plain_text()  # the offer's paper is the one just judged
    try:
        await interaction.followup.send(escaped_within(text, 2000), ephemeral=True,
                                        allowed_mentions=NO_MENTIONS, **extra)
    except ANSWER_REFUSED as exc:
        log.warning("could not tell the clicker their judgement was noted: %s", exc)
