"""The 👍 Relevant / 👎 Not for us buttons on Slack ("Not for me" on a person's own list): the clicker's verdict
goes to the core, the message is updated in place to show the paper's counts, and the clicker gets a private
confirmation.

The buttons carry only the paper (their value) and the item's number (their action id), so they keep working
after a restart or on another replica: the core works out the topics from the channel's subscriptions. The
update edits the clicked message's own blocks (Slack sends them with the click): only the two labels of the
clicked paper change, everything else stays as posted. A list answered through `response_url` (a channel the bot
is not in, a private answer) is no message `chat.update` may edit: the click's own `response_url` replaces it.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncBoltContext
from slack_sdk.errors import SlackApiError

from adapters.slack.slack_poster import UNREACHABLE, failure_line
from adapters.slack.slack_renderer import ACTION_PREFIX, Block, truncate
from bot.commands.command_core import CommandCore
from bot.commands.context import ChatContext
from bot.commands.paper_items import NOT_FOR_ME_LABEL, NOT_RELEVANT_LABEL, RELEVANT_LABEL
from bot.feedback.feedback_commands import is_personal_ref
from bot.feedback.feedback_service import Votes
from bot.messages import ActionKind, Reply

log = logging.getLogger(__name__)

JUDGE_ACTION_RE = re.compile(rf"^{ACTION_PREFIX}(relevant|not_relevant):\d+$")
START_ACTION_RE = re.compile(rf"^{ACTION_PREFIX}start_topic:\d+$")
Respond = Callable[[str, Reply], Awaitable[None]]
Replace = Callable[[str, list[Block], str], Awaitable[None]]  # (response_url, blocks, text): replace_original


def labels(votes: Votes, *, personal: bool = False) -> dict[str, str]:
    """The two buttons' labels with the paper's counts in the list's scope ("👍 Relevant · 2"); on a person's own
    list the 👎 is theirs ("👎 Not for me · 1"), as it was posted."""
    down = NOT_FOR_ME_LABEL if personal else NOT_RELEVANT_LABEL
    return {ActionKind.RELEVANT.value: RELEVANT_LABEL + (f" · {votes.relevant}" if votes.relevant else ""),
            ActionKind.NOT_RELEVANT.value: down + (f" · {votes.not_relevant}" if votes.not_relevant else "")}


def relabel(blocks: list[Block], number: str, votes: Votes) -> list[Block] | None:
    """The message's blocks with paper `number`'s two judgement buttons relabelled; None if they are absent."""
    updated = copy.deepcopy(blocks)
    changed = False
    for block in updated:
        if block.get("type") != "actions":
            continue
        for element in block.get("elements", []):
            action = str(element.get("action_id") or "")
            if not action.startswith(ACTION_PREFIX) or not action.endswith(f":{number}"):
                continue
            kind = action[len(ACTION_PREFIX):].rsplit(":", 1)[0]
            wanted = labels(votes, personal=is_personal_ref(str(element.get("value") or "")))
            if kind in wanted and isinstance(element.get("text"), dict):
                element["text"]["text"] = truncate(wanted[kind], 70)
                changed = True
    return updated if changed else None


def click_context(body: dict[str, Any], context: AsyncBoltContext, platform: str) -> ChatContext:
    """Who clicked, where, under which message. A click in a DM (a `D…` channel) may be on the person's own
    digest: the core looks the message up to judge for the person instead of the conversation."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = str((body.get("channel") or {}).get("id") or container.get("channel_id") or "")
    team = str((body.get("team") or {}).get("id") or context.team_id or "")
    ts = message.get("ts") or container.get("message_ts")
    return ChatContext(platform, team, channel, str((body.get("user") or {}).get("id") or ""),
                       thread_ref=str(ts) if ts else None, direct=channel.startswith("D"))


async def on_start_topic(core: CommandCore, respond: Respond, ack: Callable[..., Awaitable[None]],
                         body: dict[str, Any], context: AsyncBoltContext, platform: str) -> None:
    """"Start a topic like this" under the note a 👍 on an unmatched paper got: the topic is started (once) and
    said where the judgement's scope sees it: the channel for a channel topic, privately for a personal one."""
    await ack()
    action = (body.get("actions") or [{}])[0]
    paper_ref = str(action.get("value") or "")
    if not START_ACTION_RE.match(str(action.get("action_id") or "")) or not paper_ref:
        return
    reply = await core.handle_start_topic(click_context(body, context, platform), paper_ref)
    await respond(str(body.get("response_url") or ""), reply)


async def on_judge(core: CommandCore, respond: Respond, replace: Replace, ack: Callable[..., Awaitable[None]],
                   body: dict[str, Any], context: AsyncBoltContext, platform: str) -> None:
    """The judgement is recorded, then the clicker is told (first: the counts on the message may wait behind a
    rate limit), then the counts are shown. However Slack answers the update, the click stays counted and
    answered: an apology would invite a second click, which withdraws the judgement."""
    await ack()
    action = (body.get("actions") or [{}])[0]
    action_id = str(action.get("action_id") or "")
    paper_ref = str(action.get("value") or "")
    if not JUDGE_ACTION_RE.match(action_id) or not paper_ref:
        return
    relevant = action_id.startswith(f"{ACTION_PREFIX}relevant:")
    container = body.get("container") or {}
    message = body.get("message") or {}
    ctx = click_context(body, context, platform)
    channel = ctx.channel
    reply, votes = await core.handle_judgement(ctx, paper_ref, relevant)
    ts = message.get("ts") or container.get("message_ts")
    blocks = message.get("blocks")
    response_url = str(body.get("response_url") or "")
    updated = relabel(blocks, action_id.rsplit(":", 1)[1], votes) \
        if votes is not None and ts and isinstance(blocks, list) else None
    await respond(response_url, reply)
    if updated is not None:
        text = str(message.get("text") or "Paperboy")
        if not await _update(context, channel, str(ts), updated, text, ephemeral=bool(container.get("is_ephemeral"))):
            await replace(response_url, updated, text)


async def _update(context: AsyncBoltContext, channel: str, ts: str, blocks: list[Block], text: str, *,
                  ephemeral: bool) -> bool:
    """Edit a bot message in place; False when it is none `chat.update` may edit (an ephemeral one, or one sent
    through a `response_url`: Slack answers `cant_update_message`, or `message_not_found`) or Slack did not take
    the edit (an old message, a rate limit, an outage): the click's `response_url` may still replace it.

    No `metadata` is sent: Slack keeps a message's metadata when chat.update leaves the field out (an empty
    object would erase it), so a digest stays findable by its tag after a click."""
    if ephemeral or context.client is None:
        return False
    try:
        await context.client.chat_update(channel=channel, ts=ts, blocks=blocks, text=text)
    except (SlackApiError, *UNREACHABLE) as exc:
        log.info("cannot edit %s in %s (%s); replacing it through the click's response_url", ts, channel,
                 failure_line(exc))
        return False
    return True
