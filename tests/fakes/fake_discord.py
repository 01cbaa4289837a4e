"""A fake Discord REST API on 127.0.0.1, built on `FakeServer`, plus the gateway-side payloads tests need.

Tests point `discord.http.Route.BASE` at it (interaction callbacks and follow-ups go through the same Route),
so discord.py's own HTTP client, JSON handling and error mapping run for real. Discord paths carry ids, so
routing is by regular expression; every request is recorded, and a test can queue failures for a route.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import threading
from collections.abc import Callable
from typing import Any

from tests.fakes.http_server import FakeServer, Recorded, Reply

API = "/api/v10"
BOT_ID = 900000000000000001
APP_ID = 900000000000000002
GUILD_ID = 910000000000000001
CHANNEL_ID = 920000000000000001
USER_ID = 930000000000000001
FIRST_ID = 960000000000000001  # the first id the fake hands out (messages, threads)
TIMESTAMP = "2026-04-22T10:00:00.000000+00:00"
SEND_MESSAGES = 1 << 11  # permission bits, as documented
MANAGE_CHANNELS = 1 << 4
VIEW_CHANNEL = 1 << 10
EMBED_LINKS = 1 << 14
READ_MESSAGE_HISTORY = 1 << 16
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38
# The bot's permissions in a channel when it has what its invite asks for (discord_setup.bot_permissions)
BOT_PERMISSIONS = (VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | READ_MESSAGE_HISTORY | CREATE_PUBLIC_THREADS
                   | SEND_MESSAGES_IN_THREADS)

DEFER = "defer"
FOLLOWUP = "followup"
DELETE_ORIGINAL = "delete-original"
EDIT_ORIGINAL = "edit-original"
MESSAGE = "message"
THREAD = "thread"
TYPING = "typing"
HISTORY = "history"
DM_OPEN = "dm-open"


def user(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {"id": str(user_id), "username": name, "discriminator": "0", "global_name": name, "avatar": None,
            "bot": bot}


def text_channel(channel_id: int = CHANNEL_ID, name: str = "papers") -> dict[str, Any]:
    return {"id": str(channel_id), "type": 0, "guild_id": str(GUILD_ID), "name": name, "position": 0,
            "permission_overwrites": [], "nsfw": False, "parent_id": None, "topic": None,
            "rate_limit_per_user": 0, "last_message_id": None}


def forum_channel(channel_id: int, name: str = "papers-forum", *, media: bool = False) -> dict[str, Any]:
    """A forum channel (type 15; a media channel is 16) as Get Channel and GUILD_CREATE describe it: it holds
    posts (threads) and takes no messages of its own."""
    return {"id": str(channel_id), "type": 16 if media else 15, "guild_id": str(GUILD_ID), "name": name,
            "position": 1, "permission_overwrites": [], "nsfw": False, "parent_id": None, "topic": None,
            "rate_limit_per_user": 0, "last_message_id": None, "flags": 0, "available_tags": [],
            "default_reaction_emoji": None, "default_thread_rate_limit_per_user": 0, "default_sort_order": None,
            "default_forum_layout": 0}


def thread_channel(thread_id: int, parent_id: int = CHANNEL_ID, name: str = "digest",
                   owner_id: int = BOT_ID) -> dict[str, Any]:
    return {"id": str(thread_id), "type": 11, "guild_id": str(GUILD_ID), "parent_id": str(parent_id),
            "owner_id": str(owner_id), "name": name, "member_count": 1, "message_count": 0, "rate_limit_per_user": 0,
            "thread_metadata": {"archived": False, "auto_archive_duration": 1440, "archive_timestamp": TIMESTAMP,
                                "locked": False}}


def message(message_id: int, channel_id: int, *, author: dict[str, Any] | None = None, content: str = "",
            embeds: list[Any] | None = None, mentions: list[dict[str, Any]] | None = None, flags: int = 0,
            reference: int | None = None, components: list[Any] | None = None,
            referenced: dict[str, Any] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(message_id), "channel_id": str(channel_id), "author": author or user(BOT_ID, "Paperboy", bot=True),
        "content": content, "timestamp": TIMESTAMP, "edited_timestamp": None, "tts": False,
        "mention_everyone": False, "mentions": mentions or [], "mention_roles": [], "attachments": [],
        "embeds": embeds or [], "pinned": False, "type": 19 if reference else 0, "flags": flags,
        "components": components or [],
    }
    if reference:
        data["message_reference"] = {"message_id": str(reference), "channel_id": str(channel_id)}
    if referenced is not None:  # a reply's MESSAGE_CREATE carries the message it replies to
        data["referenced_message"] = referenced
    return data


def dm_channel(channel_id: int, recipient: dict[str, Any]) -> dict[str, Any]:
    """A DM channel as Create DM returns it (type 1, the other person in `recipients`)."""
    return {"id": str(channel_id), "type": 1, "last_message_id": None, "recipients": [recipient]}


def interaction(command: str, options: list[dict[str, Any]] | None = None, *, subcommand: str | None = None,
                interaction_id: int = 940000000000000001, channel: dict[str, Any] | None = None,
                kind: int = 2, permissions: int = SEND_MESSAGES,
                app_permissions: int = BOT_PERMISSIONS) -> dict[str, Any]:
    """An APPLICATION_COMMAND (2) or autocomplete (4) interaction as the gateway delivers it. `permissions` are
    the member's computed permissions in the channel (`member.permissions`): a plain member by default;
    `app_permissions` the bot's there: what its invite asks for by default. `channel`: where it was run (a
    thread's `channel_id` is the thread's own)."""
    opts = options or []
    if subcommand:
        opts = [{"type": 1, "name": subcommand, "options": opts}]
    return {
        "id": str(interaction_id), "application_id": str(APP_ID), "type": kind, "token": f"tok-{interaction_id}",
        "version": 1, "guild_id": str(GUILD_ID), "channel_id": (channel or {}).get("id", str(CHANNEL_ID)),
        "channel": channel or text_channel(), "attachment_size_limit": 8_000_000, "locale": "en-US",
        "app_permissions": str(app_permissions),
        "member": {"user": user(USER_ID, "ada"), "roles": [], "joined_at": TIMESTAMP, "deaf": False, "mute": False,
                   "permissions": str(permissions), "flags": 0},
        "data": {"id": "950000000000000001", "name": command, "type": 1, "options": opts},
    }


def component_interaction(custom_id: str, clicked: dict[str, Any], *, user_id: int = USER_ID,
                          interaction_id: int = 941000000000000001, channel: dict[str, Any] | None = None,
                          app_permissions: int = BOT_PERMISSIONS) -> dict[str, Any]:
    """A MESSAGE_COMPONENT (3) interaction: a button with `custom_id` clicked on the message `clicked` (as the
    API returned it, components included), as the gateway delivers it; `channel` where the message is."""
    return {
        "id": str(interaction_id), "application_id": str(APP_ID), "type": 3, "token": f"tok-{interaction_id}",
        "version": 1, "guild_id": str(GUILD_ID), "channel_id": clicked["channel_id"],
        "channel": channel or text_channel(), "attachment_size_limit": 8_000_000, "locale": "en-US",
        "guild_locale": "en-US", "app_permissions": str(app_permissions),
        "member": {"user": user(user_id, f"user{user_id % 1000}"), "roles": [], "joined_at": TIMESTAMP,
                   "deaf": False, "mute": False, "permissions": "0", "flags": 0},
        "message": clicked, "data": {"custom_id": custom_id, "component_type": 2},
    }


def _json(body: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(body).encode())


def api_error(status: int, code: int, message: str) -> Reply:
    """An error as the REST API answers it (Reference → Error Messages): the HTTP status and a JSON body with
    Discord's own `code` and `message` (403 50001 "Missing Access", 404 10003 "Unknown Channel", …)."""
    return _json({"message": message, "code": code}, status)


def rate_limited(retry_after: float, *, scope: str = "user", via: bool = False) -> Reply:
    """A 429 as the Rate Limits page shows it: `Retry-After` (whole seconds) and the X-RateLimit-* headers, the
    body's `retry_after` (seconds, with decimals) and `global`; a global limit has `X-RateLimit-Global: true` and
    scope "global" and no bucket. `via`: the `Via` header Discord's edge adds, by which discord.py tells Discord's
    own 429 from a Cloudflare ban (without it, discord.py raises at once instead of waiting)."""
    is_global = scope == "global"
    headers = {"Retry-After": str(math.ceil(retry_after)), "X-RateLimit-Scope": scope}
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    else:
        headers.update({"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0",
                        "X-RateLimit-Reset": f"{1_776_852_000 + retry_after:.3f}",
                        "X-RateLimit-Reset-After": f"{retry_after:.3f}", "X-RateLimit-Bucket": "abcd1234"})
    if via:
        headers["Via"] = "1.1 google"
    body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}
    return Reply(429, json.dumps(body).encode(), headers)


class FakeDiscord(FakeServer):
    """Discord's REST API, as much of it as the adapter uses. `events` lists (kind, Recorded) in arrival order."""

    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._ids = itertools.count(FIRST_ID)
        self._failures: list[list[Any]] = []  # [pattern, reply, matching requests to let through first]
        self.events: list[tuple[str, Recorded]] = []
        self.app_flags = 0  # the application's flags: 1 << 19 (or 1 << 18) once the portal enables message content
        self.token: str | None = None  # when set, the only bot token accepted (others: 401, as Discord answers)
        self.channels: dict[int, dict[str, Any]] = {CHANNEL_ID: text_channel()}
        self.posted: dict[int, list[dict[str, Any]]] = {}  # channel → messages the bot posted there, in order
        self._nonces: dict[str, dict[str, Any]] = {}
        self.dms: dict[int, dict[str, Any]] = {}  # user id → their DM channel with the bot
        self.closed_dms: set[int] = set()  # users who closed DMs or left every shared server: sends get 50007
        self._patterns: list[tuple[str, re.Pattern[str], str, Callable[[Recorded, re.Match[str]], Reply]]] = [
            ("GET", re.compile(rf"^{API}/users/@me$"), "login", lambda r, m: _json(user(BOT_ID, "Paperboy", bot=True))),
            ("GET", re.compile(rf"^{API}/oauth2/applications/@me$"), "app", self._app),
            ("POST", re.compile(rf"^{API}/interactions/(\d+)/([^/]+)/callback$"), DEFER, self._callback),
            ("POST", re.compile(rf"^{API}/webhooks/(\d+)/([^/]+)$"), FOLLOWUP, self._followup),
            ("PATCH", re.compile(rf"^{API}/webhooks/(\d+)/([^/]+)/messages/@original$"), EDIT_ORIGINAL,
             self._edit_original),
            ("DELETE", re.compile(rf"^{API}/webhooks/(\d+)/([^/]+)/messages/@original$"), DELETE_ORIGINAL,
             lambda r, m: Reply(204, b"", {"Content-Type": "text/plain"})),
            ("POST", re.compile(rf"^{API}/channels/(\d+)/messages$"), MESSAGE, self._message),
            ("GET", re.compile(rf"^{API}/channels/(\d+)/messages$"), HISTORY, self._history),
            ("POST", re.compile(rf"^{API}/channels/(\d+)/messages/(\d+)/threads$"), THREAD, self._thread),
            ("POST", re.compile(rf"^{API}/channels/(\d+)/typing$"), TYPING,
             lambda r, m: Reply(204, b"", {"Content-Type": "text/plain"})),
            ("GET", re.compile(rf"^{API}/channels/(\d+)$"), "channel", self._channel),
            ("POST", re.compile(rf"^{API}/users/@me/channels$"), DM_OPEN, self._create_dm),
            ("PUT", re.compile(rf"^{API}/applications/(\d+)(?:/guilds/\d+)?/commands$"), "sync", self._sync),
        ]

    def next_id(self) -> int:
        return next(self._ids)

    def fail(self, path_regex: str, reply: Reply, *, after: int = 0) -> None:
        """The next request whose path matches (after `after` more such requests went through) gets `reply` (a 403,
        a 429 …) instead of the normal answer."""
        with self._lock:
            self._failures.append([re.compile(path_regex), reply, after])

    def _reply(self, rec: Recorded) -> Reply:
        with self._lock:
            self.requests.append(rec)
            if (self.token is not None and rec.path.startswith((f"{API}/users", f"{API}/oauth2", f"{API}/channels",
                                                                  f"{API}/applications"))
                    and rec.headers.get("Authorization") != f"Bot {self.token}"):
                return _json({"message": "401: Unauthorized", "code": 0}, 401)
            for i, (pattern, failure, through) in enumerate(self._failures):
                if pattern.search(rec.path):
                    if through:
                        self._failures[i][2] -= 1
                        break
                    del self._failures[i]
                    return failure
        for method, pattern, kind, handler in self._patterns:
            match = pattern.match(rec.path)
            if match and method == rec.method:
                with self._lock:
                    self.events.append((kind, rec))
                return handler(rec, match)
        return _json({"message": "404: Not Found", "code": 0}, 404)

    # -- handlers --------------------------------------------------------------------------------------------

    def _app(self, rec: Recorded, match: re.Match[str]) -> Reply:
        return _json({"id": str(APP_ID), "name": "Paperboy", "description": "", "icon": None, "bot_public": True,
                      "bot_require_code_grant": False, "owner": user(USER_ID, "ada"), "verify_key": "00",
                      "flags": self.app_flags})

    def _callback(self, rec: Recorded, match: re.Match[str]) -> Reply:
        flags = ((rec.json() or {}).get("data") or {}).get("flags", 0)
        return _json({"interaction": {"id": match.group(1), "type": 2, "response_message_loading": True,
                                      "response_message_ephemeral": bool(flags & 64)}})

    def _followup(self, rec: Recorded, match: re.Match[str]) -> Reply:
        body = rec.json() or {}
        if (refused := form_errors(body)) is not None:
            return refused
        return _json(message(self.next_id(), CHANNEL_ID, embeds=body.get("embeds"), content=body.get("content", ""),
                             flags=body.get("flags", 0), components=body.get("components")))

    def _edit_original(self, rec: Recorded, match: re.Match[str]) -> Reply:
        """Edit Original Interaction Response: for a component interaction, the message the button is on.
        Only `components` matter to the adapter here; the fake answers with them."""
        body = rec.json() or {}
        if (refused := form_errors(body)) is not None:
            return refused
        return _json(message(self.next_id(), CHANNEL_ID, embeds=body.get("embeds"), components=body.get("components")))

    def _message(self, rec: Recorded, match: re.Match[str]) -> Reply:
        """As documented for Create Message: with `enforce_nonce`, a nonce the same author used moments ago
        returns that message instead of creating another. The reply echoes the nonce; history never carries it
        (Discord keeps nonces only briefly)."""
        body = rec.json() or {}
        if (refused := form_errors(body)) is not None:
            return refused
        channel = int(match.group(1))
        nonce = str(body["nonce"]) if body.get("nonce") is not None else None
        with self._lock:
            dm = self.channels.get(channel) or {}
            if dm.get("type") == 1 and any(int(r["id"]) in self.closed_dms for r in dm.get("recipients", [])):
                return _json({"message": "Cannot send messages to this user", "code": 50007}, 403)
            if nonce is not None and body.get("enforce_nonce") and nonce in self._nonces:
                return _json(self._nonces[nonce])
            sent = message(self.next_id(), channel, embeds=body.get("embeds"), content=body.get("content", ""),
                           components=body.get("components"))
            self.posted.setdefault(channel, []).append(sent)
            if nonce is not None:
                self._nonces[nonce] = {**sent, "nonce": nonce}
        return _json({**sent, "nonce": nonce} if nonce is not None else sent)

    def _history(self, rec: Recorded, match: re.Match[str]) -> Reply:
        """GET channel messages: newest first; `after` gives the `limit` oldest messages after that id."""
        limit = int((rec.query.get("limit") or ["50"])[0])
        after = int((rec.query.get("after") or ["0"])[0])
        with self._lock:
            found = [dict(m) for m in self.posted.get(int(match.group(1)), []) if int(m["id"]) > after]
        page = found[:limit] if after else found[-limit:]
        return _json(list(reversed(page)))

    def _thread(self, rec: Recorded, match: re.Match[str]) -> Reply:
        thread = thread_channel(int(match.group(2)), int(match.group(1)), (rec.json() or {}).get("name", "t"))
        self.channels[int(match.group(2))] = thread
        with self._lock:
            for sent in self.posted.get(int(match.group(1)), []):
                if sent["id"] == match.group(2):
                    sent["thread"] = thread
        return _json(thread, 201)

    def _create_dm(self, rec: Recorded, match: re.Match[str]) -> Reply:
        """Create DM (POST /users/@me/channels with `recipient_id`): the existing DM channel with that user, or a
        new one. Sending there can still fail (403, code 50007) when the person closed their DMs or left."""
        recipient = str((rec.json() or {}).get("recipient_id") or "")
        if not recipient.isdigit():
            return _json({"message": "Invalid Form Body", "code": 50035}, 400)
        with self._lock:
            existing = self.dms.get(int(recipient))
            if existing is None:
                existing = dm_channel(self.next_id(), user(int(recipient), f"user{recipient[-3:]}"))
                self.dms[int(recipient)] = existing
                self.channels[int(existing["id"])] = existing
        return _json(existing)

    def _channel(self, rec: Recorded, match: re.Match[str]) -> Reply:
        found = self.channels.get(int(match.group(1)))
        return _json(found) if found else _json({"message": "Unknown Channel", "code": 10003}, 404)

    def _sync(self, rec: Recorded, match: re.Match[str]) -> Reply:
        commands = rec.json() or []
        return _json([{"default_member_permissions": None, "dm_permission": True, "nsfw": False, **c,
                       "id": str(self.next_id()), "application_id": str(APP_ID), "version": "1"}
                      for c in commands])

    # -- what tests look at ----------------------------------------------------------------------------------

    def of(self, kind: str) -> list[Recorded]:
        with self._lock:
            return [rec for k, rec in self.events if k == kind]

    def kinds(self) -> list[str]:
        with self._lock:
            return [k for k, _ in self.events]

    def sends(self) -> list[dict[str, Any]]:
        """The JSON body of every request that can carry text to users (messages, follow-ups)."""
        return [rec.json() for rec in self.of(MESSAGE) + self.of(FOLLOWUP)]

    def ping_problems(self) -> list[str]:
        """Every request that carried text to users and could have pinged someone it should not have: one without
        `allowed_mentions` (Discord then pings whatever the content mentions), one allowing @everyone, roles or
        the replied-to author, or one allowing a user its own content does not mention (`<@id>`); and every
        embed text with a link the renderer did not build (`link_problems`)."""
        problems = []
        for kind, rec in list(self.events):
            body = rec.json() if kind in (MESSAGE, FOLLOWUP, EDIT_ORIGINAL, DEFER) else None
            if kind == DEFER and isinstance(body, dict):
                body = body.get("data")
            if not isinstance(body, dict) or not (body.get("content") or body.get("embeds")):
                continue
            for embed in body.get("embeds") or []:
                for text in (embed.get("title"), embed.get("description")):
                    problems += [f"{kind} {rec.path}: {p}" for p in link_problems(str(text or ""))]
            allowed = body.get("allowed_mentions")
            named = set(re.findall(r"<@!?(\d+)>", str(body.get("content") or "")))
            if not isinstance(allowed, dict) or allowed.get("parse") != [] or allowed.get("roles") \
                    or allowed.get("replied_user") or not set(map(str, allowed.get("users") or [])) <= named:
                problems.append(f"{kind} {rec.path}: allowed_mentions={allowed!r}")
        return problems


# The links a renderer builds in embed text: a paper's linked title at the start of its block, released code as an
# autolink to a code host's page, and a follow-up's paper line as an autolink to the paper's arXiv page. Any other
# link (masked, autolinked or bare) came from outside text.
_TITLE_LINK = re.compile(r"(?m)^\*\*\d+\. \[(?:\\.|[^\\\]])*\]\(https?://[^()\s]+\)\*\*")
_CODE_LINK = re.compile(r"<https://(?:(?:github\.com|gitlab\.com|huggingface\.co|bitbucket\.org|codeberg\.org)"
                        r"(?:/[A-Za-z0-9_][A-Za-z0-9_.\-]*)+"
                        r"|arxiv\.org/abs/(?:[0-9]{4}\.[0-9]{4,5}|[a-z][a-z\-]+(?:\.[A-Z]{2})?/[0-9]{7})(?:v[0-9]+)?)>")
_LINKISH = re.compile(r"\]\(|<[a-z][a-z0-9+.-]*:|[a-z0-9+.-]://", re.IGNORECASE)


def link_problems(markdown: str) -> list[str]:
    """Links in Discord markdown other than the renderer's own (`_TITLE_LINK`, `_CODE_LINK`): a masked link
    `](`, an autolink `<scheme:` or a bare URL `://` whose characters are not escaped by a backslash."""
    rest = _CODE_LINK.sub(" ", _TITLE_LINK.sub(" ", markdown))
    found = []
    for match in _LINKISH.finditer(rest):
        start = match.start() + (1 if match.group().endswith("://") and not match.group().startswith(":") else 0)
        escaped = [rest[:i].endswith("\\") and (len(rest[:i]) - len(rest[:i].rstrip("\\"))) % 2 == 1
                   for i in range(start, match.end())]
        if not any(escaped):
            found.append(f"link {rest[max(0, match.start() - 20):match.end() + 20]!r}")
    return found


def form_errors(body: dict[str, Any]) -> Reply | None:
    """Discord's documented limits on a message body (Create Message, Embed Limits, Component Reference): over
    any of them the whole request is refused, 400 "Invalid Form Body" (50035), and nothing is sent."""
    problems: list[str] = []
    if len(str(body.get("content") or "")) > 2000:
        problems.append("content: over 2000 characters")
    if body.get("nonce") is not None and len(str(body["nonce"])) > 25:
        problems.append("nonce: over 25 characters")
    embeds = body.get("embeds") or []
    if len(embeds) > 10:
        problems.append("embeds: over 10")
    total = 0
    for n, embed in enumerate(embeds):
        for key, limit in (("title", 256), ("description", 4096)):
            if len(str(embed.get(key) or "")) > limit:
                problems.append(f"embeds.{n}.{key}: over {limit} characters")
        footer = str((embed.get("footer") or {}).get("text") or "")
        author = str((embed.get("author") or {}).get("name") or "")
        fields = embed.get("fields") or []
        if len(footer) > 2048 or len(author) > 256 or len(fields) > 25:
            problems.append(f"embeds.{n}: footer, author or fields over their limits")
        total += len(str(embed.get("title") or "")) + len(str(embed.get("description") or "")) + len(footer) + \
            len(author) + sum(len(str(f.get("name") or "")) + len(str(f.get("value") or "")) for f in fields)
    if total > 6000:
        problems.append("embeds: over 6000 characters together")
    rows = body.get("components") or []
    if len(rows) > 5:
        problems.append("components: over 5 action rows")
    for r, row in enumerate(rows):
        buttons = row.get("components") or []
        if len(buttons) > 5:
            problems.append(f"components.{r}: over 5 buttons")
        for b, button in enumerate(buttons):
            if len(str(button.get("custom_id") or "")) > 100 or len(str(button.get("label") or "")) > 80:
                problems.append(f"components.{r}.components.{b}: custom_id over 100 or label over 80 characters")
    if not problems:
        return None
    return _json({"message": "Invalid Form Body", "code": 50035, "errors": _nested(problems)}, 400)


def _nested(problems: list[str]) -> dict[str, Any]:
    """Problems ("embeds.0.description: over 4096 characters") as the API nests them (Error Messages, "Array
    Error" / "Object Error"): each path's keys as objects down to an `_errors` list of {code, message}."""
    errors: dict[str, Any] = {}
    for problem in problems:
        path, _, message = problem.partition(": ")
        node = errors
        for key in path.split("."):
            node = node.setdefault(key, {})
        node.setdefault("_errors", []).append({"code": "BASE_TYPE_MAX_LENGTH", "message": message or problem})
    return errors


# -- the gateway -----------------------------------------------------------------------------------------------

HELLO, IDENTIFY, RESUME, HEARTBEAT, HEARTBEAT_ACK, DISPATCH = 10, 2, 6, 1, 11, 0


def guild_create(channels: list[dict[str, Any]] | None = None,
                 threads: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The GUILD_CREATE payload the gateway sends for the fake's one server."""
    return {"id": str(GUILD_ID), "name": "Lab", "owner_id": str(USER_ID), "roles": [], "emojis": [], "stickers": [],
            "features": [], "member_count": 2, "members": [], "channels": channels or [text_channel()],
            "threads": threads or [], "unavailable": False, "joined_at": TIMESTAMP}


class FakeGateway:
    """Discord's gateway as documented (Gateway → Connection lifecycle), on a websocket at 127.0.0.1.

    HELLO, then IDENTIFY is answered by READY (and the server's GUILD_CREATE), RESUME by RESUMED, heartbeats by
    acks. A test can make the gateway close a session with a close code (4014: disallowed intents, 4004: bad
    token), drop every connection and refuse new ones (an outage), and dispatch events (MESSAGE_CREATE,
    INTERACTION_CREATE) to every identified connection. Sessions and their intents are recorded."""

    def __init__(self) -> None:
        import asyncio

        self._asyncio = asyncio
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._sockets: list[Any] = []
        self._lock = threading.Lock()
        self.identified: list[dict[str, Any]] = []  # the IDENTIFY payloads, in order
        self.resumed = 0
        self.close_code: int | None = None  # close every new session with this code after IDENTIFY
        self.refusing = False  # answer the websocket handshake with 503 (Discord down)
        self.threads: list[dict[str, Any]] = []  # sent in GUILD_CREATE
        self.channels: list[dict[str, Any]] = [text_channel()]  # sent in GUILD_CREATE
        self._seq = 0
        self.url = ""

    def __enter__(self) -> FakeGateway:
        self._thread.start()
        self._asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    async def _start(self) -> None:
        from aiohttp import web

        app = web.Application()
        app.router.add_get("/", self._session)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"ws://127.0.0.1:{port}/"

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    async def _session(self, request: Any) -> Any:
        from aiohttp import WSMsgType, web

        if self.refusing:
            return web.Response(status=503, text="gateway unavailable")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"op": HELLO, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                break
            payload = json.loads(msg.data)
            op = payload.get("op")
            if op == HEARTBEAT:
                await ws.send_json({"op": HEARTBEAT_ACK, "d": None, "s": None, "t": None})
            elif op == IDENTIFY:
                with self._lock:
                    self.identified.append(payload["d"])
                if self.close_code is not None:
                    await ws.close(code=self.close_code, message=b"closed by the fake gateway")
                    break
                await self._send(ws, "READY", {
                    "v": 10, "user": {**user(BOT_ID, "Paperboy", bot=True), "verified": True, "mfa_enabled": False},
                    "guilds": [{"id": str(GUILD_ID), "unavailable": True}], "session_id": "fake-session",
                    "resume_gateway_url": self.url, "application": {"id": str(APP_ID), "flags": 0},
                    "private_channels": [], "relationships": []})
                await self._send(ws, "GUILD_CREATE", guild_create(self.channels, threads=self.threads))
                with self._lock:
                    self._sockets.append(ws)
            elif op == RESUME:
                with self._lock:
                    self.resumed += 1
                    self._sockets.append(ws)
                await self._send(ws, "RESUMED", {})
        with self._lock:
            if ws in self._sockets:
                self._sockets.remove(ws)
        return ws

    async def _send(self, ws: Any, event: str, data: dict[str, Any]) -> None:
        await ws.send_json({"op": DISPATCH, "t": event, "s": self._next_seq(), "d": data})

    def _run(self, coro: Any) -> Any:
        return self._asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send an event to every live session (as Discord does to each shard that should see it)."""

        async def send() -> None:
            for ws in list(self._sockets):
                await self._send(ws, event, data)

        self._run(send())

    def drop(self, *, refuse: bool = True, code: int = 4000) -> None:
        """Close every session (an outage or a network cut); with `refuse`, new connections fail until `restore`."""
        self.refusing = refuse

        async def close() -> None:
            for ws in list(self._sockets):
                await ws.close(code=code, message=b"dropped by the fake gateway")

        self._run(close())

    def restore(self) -> None:
        self.refusing = False

    @property
    def sessions(self) -> int:
        with self._lock:
            return len(self._sockets)
