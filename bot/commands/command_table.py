"""Every chat command, declared once. The grammar, the core's dispatch, `/papers help`, Slack's command list
(checked against `deploy/slack/manifest.yml` by a test) and Discord's app-command groups are derived from it.

Adding a command is one `CommandSpec` here plus its handler; see README "Layout".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.commands import command_hints, digest_commands, followup_commands, paper_commands, subscription_commands
from bot.commands.command_input import Command
from bot.commands.context import ChatContext
from bot.commands.services import CoreServices
from bot.feedback import feedback_commands
from bot.messages import Message, Reply, Visibility
from bot.personal import personal_commands
from bot.topics.subscriptions import MAX_TOPIC_CHARS

Handler = Callable[[CoreServices, ChatContext, Command], Awaitable[Reply]]


@dataclass(frozen=True)
class Argument:
    name: str
    description: str  # shown by Discord next to the option
    required: bool = False
    choices: tuple[str, ...] = ()  # accepted words; empty: free text
    default: str = ""
    suggest_followed_topics: bool = False  # platforms that autocomplete offer the topics followed here
    max_chars: int = 300
    # Other ways people write a choice ("on" for "me on", "enable" for "on"), each with the choice it means ("":
    # no argument, which shows the current setting). Platforms that offer the choices as a menu show only those.
    synonyms: tuple[tuple[str, str], ...] = ()

    def canonical(self, text: str) -> str:
        """The choice `text` means: itself (lowercased, spaces collapsed), or the one a synonym stands for."""
        said = " ".join(text.lower().split())
        return dict(self.synonyms).get(said, said)


_ON_WORDS = ("on", "yes", "enable", "enabled", "start")
_OFF_WORDS = ("off", "no", "disable", "disabled", "stop")


def _switch_synonyms(on: str, off: str, *, shown: str | None = None) -> tuple[tuple[str, str], ...]:
    """An on/off setting's natural spellings, with and without a leading "me" (`/papers mention on`, `… me enable`);
    `shown`: what a bare "me" means (the current setting), when the setting is a person's."""
    pairs = [(f"{me}{word}", choice) for choice, words in ((on, _ON_WORDS), (off, _OFF_WORDS))
             for word in words for me in ("", "me ")]
    if shown is not None:
        pairs.append(("me", shown))
    return tuple(pairs)


@dataclass(frozen=True)
class CommandSpec:
    name: str  # the slash command: papers, subscribe, …
    sub: str | None  # its subcommand (/papers today), or None
    usage: str  # as the grammar states it in usage errors ("/papers search QUERY")
    synopsis: str  # as `/papers help` lists it
    help: str  # what it does, for `/papers help`
    description: str  # what it does, for Discord's command picker (at most 100 characters)
    hint: str  # the part of Slack's usage hint for this entry ("search QUERY")
    handler: Handler
    arguments: tuple[Argument, ...] = ()
    private: Callable[[str], bool] = lambda _args: False  # answered privately (Discord defers ephemerally)
    who: str = "anyone in the channel"  # who may run it
    personal_option: str = ""  # the --me flag as a platform option, described so; empty: no such flag
    listed: bool = True  # a line of its own in `/papers help`
    # Whether these arguments change the channel for everyone (its digest, its topics): platforms with roles ask
    # for the right to manage the channel (Discord: Manage Channels) before the core sees the command.
    changes_channel: Callable[[str], bool] = lambda _args: False
    # Discord: a top-level command of its own, named after the subcommand (/digest), declared as needing Manage
    # Channels, so server admins can adjust who sees it in Integrations without hiding the rest of /papers.
    own_command: bool = False

    def option_synopsis(self) -> str:
        """The entry as a platform with typed options shows it: "/subscribe topic [personal]", "/digest [setting]"."""
        path = self.sub if self.own_command and self.sub else " ".join(p for p in (self.name, self.sub) if p)
        words = [f"/{path}"] + [a.name if a.required else f"[{a.name}]" for a in self.arguments]
        return " ".join(words + (["[personal]"] if self.personal_option else []))


@dataclass(frozen=True)
class SlashCommand:
    """A top-level slash command as Slack lists it, with its entries."""

    name: str
    slack_description: str
    entries: tuple[CommandSpec, ...]
    group_description: str = ""  # for Discord, when the entries are subcommands (a command group)

    @property
    def usage_hint(self) -> str:
        return " | ".join(entry.hint for entry in self.entries if entry.hint)


def _private_when_personal(args: str) -> bool:
    return args.split(" ", 1)[0] in ("--me", "-m")


def _private_when_asking(args: str) -> bool:
    return args.strip().lower() in ("", "preview")


def _private_when_asking_or_personal(args: str) -> bool:
    return _private_when_asking(args) or _private_when_personal(args)


def _always(_args: str) -> bool:
    return True


def _for_the_channel(args: str) -> bool:
    return not _private_when_personal(args)


def _setting_changed(args: str) -> bool:
    return not _private_when_asking(args)


def _channel_setting_changed(args: str) -> bool:
    """A digest setting of the channel's own (not --me, not a look at the current one): admins only on Discord."""
    return not _private_when_asking_or_personal(args)


async def _today(s: CoreServices, ctx: ChatContext, c: Command) -> Reply:
    return await paper_commands.today(s, ctx, c.args)


async def _top(s: CoreServices, ctx: ChatContext, c: Command) -> Reply:
    return await paper_commands.top(s, ctx, c.args)


async def _search(s: CoreServices, ctx: ChatContext, c: Command) -> Reply:
    return await paper_commands.search(s, ctx, c.args)


async def _show(s: CoreServices, ctx: ChatContext, c: Command) -> Reply:
    return await paper_commands.show(s, ctx, c.args)


async def _why(s: CoreServices, ctx: ChatContext, c: Command) -> Reply:
    return await paper_commands.why(s, ctx, c.args)


async def _digest(s: CoreServices, ctx: ChatContext, c: Command) -> Reply:
    if personal_commands.is_personal(c.args):
        return await personal_commands.personal_digest(s, ctx, c.args)
    return await digest_commands.digest(s, ctx, c.args)


async def _mention(s: CoreServices, ctx: ChatContext, c: Command) -> Reply:
    return await personal_commands.mention(s, ctx, c.args)


async def _followups(s: CoreServices, ctx: ChatContext, c: Command) -> Reply:
    return await followup_commands.followups(s, ctx, c.args)


async def _help(s: CoreServices, ctx: ChatContext, c: Command) -> Reply:
    return help_reply(ctx.platform)


async def _feedback(s: CoreServices, ctx: ChatContext, c: Command) -> Reply:
    return await feedback_commands.feedback(s, ctx, c.args)


async def _subscribe(s: CoreServices, ctx: ChatContext, c: Command) -> Reply:
    head, _, rest = c.args.partition(" ")
    # /subscribe like 2501.01234: a topic from example papers (a bare "like" gets the usage, not a topic "like")
    if head.lower() == "like":
        return await feedback_commands.subscribe_like(s, ctx, rest, personal="me" in c.flags)
    return await subscription_commands.do_subscribe(s, ctx, c.args, personal="me" in c.flags)


async def _unsubscribe(s: CoreServices, ctx: ChatContext, c: Command) -> Reply:
    return await subscription_commands.do_unsubscribe(s, ctx, c.args, personal="me" in c.flags)


async def _subscriptions(s: CoreServices, ctx: ChatContext, c: Command) -> Reply:
    return await subscription_commands.do_list(s, ctx)


PAPER_REF = Argument("paper", "arXiv id, URL or #id", required=True, max_chars=300)
TOPIC = Argument("topic", "A research topic, e.g. “diffusion models”", required=True, max_chars=MAX_TOPIC_CHARS)

TABLE: tuple[SlashCommand, ...] = (
    SlashCommand("papers", "Today's papers, top, search, show, why, digest settings", (
        CommandSpec("papers", "today", "/papers [today [PAGE]]", "/papers today [PAGE]",
                    "today's papers for this channel (matches first), ten a page",
                    "Today's papers for this channel, matches first", "today [PAGE]", _today,
                    (Argument("page", "Which ten: 2 for the 11th to 20th, … (default: 1)", max_chars=3),)),
        CommandSpec("papers", "top", "/papers top [day|week|month]", "/papers top [day|week|month]",
                    "most upvoted recently", "Most upvoted papers recently", "top [day|week|month]", _top,
                    (Argument("period", "How far back (default: week)", choices=("day", "week", "month"),
                              default="week"),)),
        CommandSpec("papers", "search", "/papers search QUERY [page N]", "/papers search QUERY [page N]",
                    "search titles, abstracts and authors, ten a page", "Search titles, abstracts and authors",
                    "search QUERY", _search,
                    (Argument("query", "Words to look for; end with “page 2” for the next ten", required=True,
                              max_chars=200),),
                    private=_always),
        CommandSpec("papers", "show", "/papers show ID_OR_URL", "/papers show ID_OR_URL",
                    "one paper with its TL;DR", "One paper with its TL;DR", "show ID", _show, (PAPER_REF,)),
        CommandSpec("papers", "why", "/papers why ID", "/papers why ID", "why a paper matches this channel",
                    "Why a paper matches this channel", "why ID", _why, (PAPER_REF,), private=_always),
        CommandSpec("papers", "digest", "/papers digest [--me] HH:MM [TIMEZONE] [DAYS] | on | off | preview",
                    "/papers digest [--me] HH:MM [TIMEZONE] [DAYS] | on | off | preview",
                    "the channel's daily digest, or your own by direct message; DAYS e.g. mon-sun (default mon-fri)",
                    "The daily digest: HH:MM [TIMEZONE] [DAYS], on, off, or preview", "digest [--me] HH:MM",
                    _digest, (Argument("setting", "HH:MM [TIMEZONE] [DAYS] | on | off | preview; empty shows the "
                                       "current setting", max_chars=100),), private=_private_when_asking_or_personal,
                    personal_option="Your own digest, by direct message (default: this channel's)",
                    changes_channel=_channel_setting_changed, own_command=True),
        CommandSpec("papers", "mention", "/papers mention me on|off", "/papers mention me on|off",
                    "mention you on this channel's digest items that match your own topics",
                    "Be mentioned on digest items here that match your own topics", "mention me on|off",
                    _mention, (Argument("setting", "me on, me off; empty shows yours", choices=("me on", "me off"),
                                        synonyms=_switch_synonyms("me on", "me off", shown="")),),
                    private=_always),
        CommandSpec("papers", "followups", "/papers followups [on|off]", "/papers followups [on|off]",
                    "news about posted papers in their digest thread (new version, code, rising)",
                    "Follow-ups in digest threads: on, off, or the recent ones", "followups [on|off]", _followups,
                    (Argument("setting", "on | off; empty lists the recent follow-ups", choices=("on", "off"),
                              synonyms=_switch_synonyms("on", "off")),),
                    private=_private_when_asking, changes_channel=_setting_changed),
        CommandSpec("papers", "feedback", "/papers feedback [--me] [reset TOPIC]",
                    "/papers feedback [--me] [reset TOPIC]",
                    "what this channel's 👍/👎 taught its topics (or yours); reset forgets one",
                    "What this channel's judgements taught its topics (reset TOPIC forgets one)",
                    "feedback [--me] [reset TOPIC]", _feedback,
                    (Argument("what", "Empty: what was taught; “reset TOPIC”: forget that topic's", max_chars=220),),
                    private=lambda args: not args.strip() or _private_when_personal(args),
                    personal_option="What your own judgements taught your topics (default: this channel's)",
                    changes_channel=lambda args: bool(args.strip()) and not _private_when_personal(args)),
        CommandSpec("papers", "help", "/papers help", "/papers help", "what Paperboy can do", "What Paperboy can do",
                    "help", _help, private=_always, listed=False),
    ), group_description="Today's research papers for this channel"),
    SlashCommand("subscribe", "Follow a topic in this channel (--me for yourself)", (
        CommandSpec("subscribe", None, "/subscribe TOPIC (for this channel) or /subscribe --me TOPIC (just for you)",
                    "/subscribe TOPIC, /subscribe --me TOPIC", "follow a topic",
                    "Follow a topic in this channel (or just for you)", "[--me] TOPIC", _subscribe, (TOPIC,),
                    private=_private_when_personal, personal_option="Only for you (default: the whole channel)",
                    changes_channel=_for_the_channel),
    )),
    SlashCommand("unsubscribe", "Stop following a topic", (
        CommandSpec("unsubscribe", None, "/unsubscribe TOPIC or /unsubscribe --me TOPIC", "/unsubscribe TOPIC",
                    "stop following a topic", "Stop following a topic", "[--me] TOPIC", _unsubscribe,
                    (Argument("topic", "One of the topics followed here", required=True, max_chars=MAX_TOPIC_CHARS,
                              suggest_followed_topics=True),),
                    private=_private_when_personal, personal_option="From your personal list",
                    changes_channel=_for_the_channel),
    )),
    SlashCommand("subscriptions", "The topics this channel follows", (
        CommandSpec("subscriptions", None, "/subscriptions", "/subscriptions", "the topics followed here",
                    "Topics this channel and you follow", "", _subscriptions, private=_always),
    )),
)

COMMANDS: tuple[str, ...] = tuple(command.name for command in TABLE)


def slash_command(name: str) -> SlashCommand | None:
    return next((command for command in TABLE if command.name == name), None)


# The entries that make Paperboy post in the channel later (digests), with the arguments that do: a channel
# subscription, a digest time. Platforms check that the bot may post there before the core records anything.
POSTS_HERE: dict[tuple[str, str | None], Callable[[str], bool]] = {
    ("subscribe", None): lambda args: not _private_when_personal(args),
    ("papers", "digest"): lambda args: (args.strip().lower() not in ("", "off", "preview")
                                        and not _private_when_personal(args)),
}


# The entries that turn on something riding on this channel's digest (follow-ups in its thread, mentions on its
# items): pointless where no digest can ever be posted, which platforms refuse as they refuse the digest itself.
RIDES_ON_DIGEST: dict[tuple[str, str | None], str] = {("papers", "followups"): "on", ("papers", "mention"): "me on"}


def _entry_and_args(name: str, args: str) -> tuple[CommandSpec, str] | None:
    """The table entry `/name args` runs and its own arguments; None for an unknown command or subcommand."""
    command = slash_command(name.lstrip("/").lower())
    if command is None:
        return None
    words = args.strip()
    entry = command.entries[0]
    if any(e.sub is not None for e in command.entries):
        sub, _, rest = words.partition(" ")
        found = next((e for e in command.entries if e.sub == sub.lower()), None) if sub else entry
        if found is None:
            return None
        entry, words = found, (rest.strip() if sub else "")
    return entry, words


def posts_here(name: str, args: str) -> bool:
    """Whether `/name args` asks Paperboy to post in this channel later (see POSTS_HERE). False for anything
    the grammar would refuse."""
    found = _entry_and_args(name, args)
    check = POSTS_HERE.get((found[0].name, found[0].sub)) if found is not None else None
    return found is not None and check is not None and check(found[1])


def rides_on_digest(name: str, args: str) -> bool:
    """Whether `/name args` turns on something that needs this channel's digest (see RIDES_ON_DIGEST), in any of
    the ways the grammar takes it ("/papers mention on")."""
    found = _entry_and_args(name, args)
    if found is None or (wanted := RIDES_ON_DIGEST.get((found[0].name, found[0].sub))) is None:
        return False
    entry, words = found
    return (entry.arguments[0].canonical(words) if entry.arguments else words) == wanted


def spec(name: str, sub: str | None = None) -> CommandSpec:
    """The entry for /name [sub]; KeyError for anything not in the table (the grammar has refused it already)."""
    command = slash_command(name)
    found = next((e for e in command.entries if e.sub == sub), None) if command is not None else None
    if found is None:
        raise KeyError(f"/{name} {sub or ''}".strip())
    return found


def usage_line(name: str) -> str:
    """"Usage: /papers [today] · /papers top [day|week|month] · …": every entry of a command, as the grammar says."""
    command = slash_command(name)
    assert command is not None
    return "Usage: " + " · ".join(entry.usage for entry in command.entries)


# Platforms whose commands take typed options (Discord's app commands) rather than a line of text.
OPTION_PLATFORMS = ("discord",)


def help_text(platform: str = "console") -> str:
    """`/papers help` as true for the platform asking: typed syntax (--me) for the console and Slack, option
    names for Discord, where channel settings are a command of their own and threads need a mention."""
    options = platform in OPTION_PLATFORMS
    lines = ["Paperboy posts the day's research papers matched to this channel's topics."]
    others = []
    for command in TABLE:
        for entry in command.entries:
            synopsis = entry.option_synopsis() if options else entry.synopsis
            if options and entry.own_command:
                detail = f" ({entry.arguments[0].description})" if entry.arguments else ""
                lines.append(f"• {synopsis} — {entry.help}{detail}")
            elif entry.sub is None:
                others.append(synopsis)
            elif entry.listed:
                lines.append(f"• {synopsis} — {entry.help}")
    lines.append("• " + ", ".join(others))
    if options:
        lines.append("In a thread under my posts, mention me: “@Paperboy summarize 3”, “@Paperboy tl;dr 2”, or "
                     "“@Paperboy 2: which dataset?”.")
        lines.append("Changing the channel's digest or topics needs the Manage Channels permission; "
                     "personal subscriptions do not.")
        lines.append("Teach a topic with the 👍 / 👎 buttons under a listing; /subscribe topic:like PAPER_ID "
                     "starts a topic from example papers.")
    else:
        lines.append("In a thread under my posts: “summarize 3”, “tl;dr 2”, or @mention me with a question.")
        lines.append("Teach a topic: “more 3” / “less 3” (or 👍 3 / 👎 3) under a listing; /subscribe like PAPER_ID "
                     "starts a topic from example papers.")
    return "\n".join(lines)


def help_reply(platform: str = "console") -> Reply:
    footer = ("Type / and pick a Paperboy command: Discord shows each option."
              if platform in OPTION_PLATFORMS else usage_line("papers"))
    return Reply(Message(header="Paperboy help", body=help_text(platform), context=[footer]), Visibility.EPHEMERAL)


def invocation(platform: str, name: str, sub: str | None = None) -> str:
    """How a user types an entry on a platform: "/papers digest", or "/digest" where it is a command of its own."""
    entry = spec(name, sub)
    if platform in OPTION_PLATFORMS and entry.own_command and entry.sub:
        return f"/{entry.sub}"
    return " ".join(["/" + entry.name] + ([entry.sub] if entry.sub else []))


command_hints.use_table(spec, invocation, OPTION_PLATFORMS)
