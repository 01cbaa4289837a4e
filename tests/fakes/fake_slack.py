"""A fake Slack on 127.0.0.1 (built on `FakeServer`): the Web API under /api/ and response_urls under /response/.

The adapter talks to it through slack_sdk's real `AsyncWebClient` and `AsyncWebhookClient`, so the SDK's own
request building, retry handlers and error parsing are exercised. Helpers build correctly signed (or forged)
requests the way Slack sends them, for `app.async_dispatch`.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlencode

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from tests.fakes.http_server import FakeServer, Recorded, Reply

TEAM = "T0PAPER"
BOT_USER = "UBOT"
BOT_ID = "BBOT"
SIGNING_SECRET = "8f742231b10e8888abcd99a0b1c2d385"  # the shape of a real one: 32 hex digits
RESPONSE_URL_USES = 5  # answers a response_url takes (in 30 minutes); Slack drops any more silently


def ok(**fields: Any) -> Reply:
    return Reply(200, json.dumps({"ok": True, **fields}).encode())


def slack_error(error: str, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps({"ok": False, "error": error}).encode(), headers or {})


def rate_limited(retry_after: int = 3) -> Reply:
    return slack_error("ratelimited", 429, {"Retry-After": str(retry_after)})


def missing_scope(needed: str, provided: str = "commands,chat:write") -> Reply:
    """As the Web API answers a call its token has no scope for (docs: "Scopes and permissions"): HTTP 200,
    `ok: false`, and which scope the method `needed` beside the ones the token has (`provided`)."""
    body = {"ok": False, "error": "missing_scope", "needed": needed, "provided": provided}
    return Reply(200, json.dumps(body).encode())


def unavailable(status: int = 503) -> Reply:
    """Slack down behind its load balancer: a 5xx with an HTML page, not the Web API's JSON."""
    page = b"<html><body><h1>Slack is temporarily unavailable</h1></body></html>"
    return Reply(status, page, {"Content-Type": "text/html; charset=utf-8"})


def block_errors(body: dict[str, Any]) -> Reply | None:
    """Block Kit's documented limits (reference: blocks, block elements, composition objects): a message over any
    of them is refused whole with `invalid_blocks`, as Slack does, and nothing is posted."""
    blocks = body.get("blocks") or []
    problems: list[str] = []
    if len(blocks) > 50:
        problems.append("more than 50 blocks")

    def text_of(obj: Any) -> str:
        return str(obj.get("text") or "") if isinstance(obj, dict) else ""

    for n, block in enumerate(blocks):
        kind = block.get("type")
        if len(str(block.get("block_id") or "")) > 255:
            problems.append(f"[{n}] block_id over 255")
        if kind == "section" and (len(text_of(block.get("text"))) > 3000 or len(block.get("fields") or []) > 10):
            problems.append(f"[{n}] section text over 3000 or more than 10 fields")
        if kind == "header" and len(text_of(block.get("text"))) > 150:
            problems.append(f"[{n}] header over 150")
        if kind == "context":
            elements = block.get("elements") or []
            if len(elements) > 10 or any(not text_of(e) and e.get("type") != "image" for e in elements):
                problems.append(f"[{n}] context: more than 10 elements, or an empty text")
        if kind == "actions":
            elements = block.get("elements") or []
            if len(elements) > 25:
                problems.append(f"[{n}] more than 25 elements")
            for e in elements:
                if len(text_of(e.get("text"))) > 75 or len(str(e.get("value") or "")) > 2000 \
                        or len(str(e.get("action_id") or "")) > 255:
                    problems.append(f"[{n}] a button's text over 75, value over 2000 or action_id over 255")
    if not problems:
        return None
    return Reply(200, json.dumps({"ok": False, "error": "invalid_blocks", "errors": problems}).encode())


class FakeSlack(FakeServer):
    """Serves auth.test, chat.postMessage (fresh ts each time), chat.postEphemeral and any response_url, and
    conversations.history over what was posted (newest first, `oldest`, `limit`, cursors; message metadata only
    with `include_all_metadata`, as Slack does) and conversations.replies for one thread."""

    def __init__(self) -> None:
        super().__init__()
        self.rejected_tokens: set[str] = set()  # tokens Slack answers `invalid_auth` for (revoked, mistyped)
        # tokens Slack answers another auth error for, as every Web API method does: token_revoked (the app was
        # removed), account_inactive (the bot user deactivated), token_expired
        self.token_errors: dict[str, str] = {}
        self.socket_url = "ws://127.0.0.1:9/link"  # what apps.connections.open hands out (a FakeSocketMode's)
        # Channels the bot is not in: public ones it can see (`is_member: false`, posting gives
        # `not_in_channel`) and private ones or other people's DMs it cannot (`channel_not_found`).
        self.not_member: set[str] = set()
        self.hidden: set[str] = set()
        # Channels only admins may post in (a member bot's chat.postMessage: restricted_action_read_only_channel)
        self.read_only: set[str] = set()
        self._ts = itertools.count(1)
        self._ts_lock = threading.Lock()
        self.history: dict[str, list[dict[str, Any]]] = {}
        self.departed: set[str] = set()  # users conversations.open answers `user_disabled` for (deactivated)
        self.route("GET", "/api/conversations.history", self._history)
        self.route("GET", "/api/conversations.replies", self._replies)
        self.route("POST", "/api/auth.test", ok(user_id=BOT_USER, bot_id=BOT_ID, team_id=TEAM, user="paperboy",
                                                team="Paper Team", url="https://paper.slack.com/"))
        self.route("POST", "/api/chat.postMessage", self._post)
        self.route("POST", "/api/chat.postEphemeral", self._ephemeral)
        self.route("POST", "/api/conversations.open", self._open)
        self.route("POST", "/api/chat.update", self._update)
        for n in range(1, 21):
            self.route("POST", f"/response/{n}", self._respond)
        self.route("POST", "/api/apps.connections.open", self._connections_open)
        self.route("GET", "/api/conversations.info", self._info)

    def _respond(self, rec: Recorded) -> Reply:
        """A response_url takes five answers (within 30 minutes); Slack drops the rest without telling: they are
        recorded (`responses`) but never shown (`shown`)."""
        return Reply(200, b"ok", {"Content-Type": "text/plain"})

    def shown(self, n: int = 1) -> list[dict[str, Any]]:
        """What the person sees of the answers sent to response_url `n`: the first five."""
        return self.responses(n)[:RESPONSE_URL_USES]

    def _ephemeral(self, rec: Recorded) -> Reply:
        """chat.postEphemeral: only where the bot may post (a channel it is not in: `not_in_channel`; one it cannot
        see: `channel_not_found`)."""
        channel = str(arguments(rec).get("channel") or "")
        if channel in self.hidden:
            return slack_error("channel_not_found")
        if channel in self.not_member:
            return slack_error("not_in_channel")
        return ok(message_ts="1700000000.999999")

    def ephemerals(self) -> list[dict[str, Any]]:
        return [arguments(r) for r in self.calls("/api/chat.postEphemeral")]

    def _token(self, rec: Recorded) -> str:
        auth = rec.headers.get("Authorization") or rec.headers.get("authorization") or ""
        return auth.removeprefix("Bearer ").strip()

    def _reply(self, rec: Recorded) -> Reply:
        """Any Web API method called with a revoked or mistyped token answers `invalid_auth`, as Slack does."""
        token = self._token(rec)
        if rec.path.startswith("/api/") and (token in self.rejected_tokens or token in self.token_errors):
            with self._lock:
                self.requests.append(rec)
            return slack_error(self.token_errors.get(token, "invalid_auth"))
        return super()._reply(rec)

    def _connections_open(self, rec: Recorded) -> Reply:
        """apps.connections.open takes only an app-level token (xapp-): a bot token is `not_allowed_token_type`."""
        token = self._token(rec)
        if not token:
            return slack_error("not_authed")
        if not token.startswith("xapp-"):
            return slack_error("not_allowed_token_type")
        return ok(url=self.socket_url)

    def _info(self, rec: Recorded) -> Reply:
        channel = (rec.query.get("channel") or [""])[0]
        if channel in self.hidden:
            return slack_error("channel_not_found")
        if channel.startswith("D"):  # a DM with the bot: no is_member field
            return ok(channel={"id": channel, "is_im": True, "user": "U1"})
        return ok(channel={"id": channel, "name": channel.lower(), "is_channel": True, "is_private": False,
                           "is_member": channel not in self.not_member})

    def _post(self, rec: Recorded) -> Reply:
        body = rec.json()
        if (refused := block_errors(body)) is not None:
            return refused
        if not str(body.get("text") or "").strip() and not body.get("blocks"):
            return slack_error("no_text")
        if len(str(body.get("text") or "")) > 40_000:  # chat.postMessage: "no more than 40,000 characters"
            return slack_error("msg_too_long")
        if body.get("channel") in self.hidden:
            return slack_error("channel_not_found")
        if body.get("channel") in self.not_member:
            return slack_error("not_in_channel")
        if body.get("channel") in self.read_only:
            return slack_error("restricted_action_read_only_channel")
        with self._ts_lock:
            ts = f"1700000000.{next(self._ts):06d}"
            item: dict[str, Any] = {"type": "message", "ts": ts, "text": body.get("text", ""), "user": BOT_USER,
                                    "bot_id": BOT_ID}
            if body.get("metadata"):
                item["metadata"] = body["metadata"]
            if body.get("thread_ts"):
                item["thread_ts"] = str(body["thread_ts"])
            self.history.setdefault(str(body.get("channel")), []).append(item)
        return ok(ts=ts, channel=body.get("channel"))

    def _open(self, rec: Recorded) -> Reply:
        """conversations.open with `users` (one user): that person's DM with the bot, the same id every time, as
        Slack documents it (`channel.id` "D…"); a deactivated user gets `user_disabled`."""
        users = str(arguments(rec).get("users") or "")
        if not users:
            return slack_error("users_list_not_supplied")
        if users in self.departed:
            return slack_error("user_disabled")
        if "," in users:
            return ok(channel={"id": "G" + users.replace(",", "")})
        return ok(channel={"id": f"D{users}"})

    def opens(self) -> list[str]:
        """The users conversations.open was called for, in order."""
        return [str(arguments(rec).get("users")) for rec in self.calls("/api/conversations.open")]

    def _update(self, rec: Recorded) -> Reply:
        """chat.update: the message must exist (Slack answers message_not_found otherwise). Its metadata is kept
        when the call leaves `metadata` out, replaced when it gives one, erased by an empty object (as the method's
        reference documents)."""
        body = rec.json()
        if (refused := block_errors(body)) is not None:
            return refused
        with self._ts_lock:
            found = next((m for m in self.history.get(str(body.get("channel")), []) if m["ts"] == body.get("ts")),
                         None)
            if found is None:
                return slack_error("message_not_found")
            found["text"] = body.get("text", found["text"])
            if "metadata" in body:
                if body["metadata"]:
                    found["metadata"] = body["metadata"]
                else:
                    found.pop("metadata", None)
        return ok(channel=body.get("channel"), ts=body.get("ts"), text=found["text"])

    def updates(self) -> list[dict[str, Any]]:
        return [r.json() for r in self.calls("/api/chat.update")]

    def _history(self, rec: Recorded) -> Reply:
        query = {k: v[0] for k, v in rec.query.items()}
        channel = query.get("channel", "")
        oldest = float(query.get("oldest") or 0)
        limit = int(query.get("limit") or 100)
        start = int(query.get("cursor") or 0)
        with self._ts_lock:
            found = [dict(m) for m in reversed(self.history.get(channel, [])) if float(m["ts"]) > oldest]
        if query.get("include_all_metadata") not in ("1", "true"):
            for m in found:
                m.pop("metadata", None)
        page = found[start:start + limit]
        more = start + limit < len(found)
        return ok(messages=page, has_more=more,
                  response_metadata={"next_cursor": str(start + limit) if more else ""})

    def _replies(self, rec: Recorded) -> Reply:
        """conversations.replies: the parent, then its thread's replies, oldest first; metadata only with
        `include_all_metadata`, cursors like history."""
        query = {k: v[0] for k, v in rec.query.items()}
        channel, ts = query.get("channel", ""), query.get("ts", "")
        limit = int(query.get("limit") or 100)
        start = int(query.get("cursor") or 0)
        with self._ts_lock:
            found = [dict(m) for m in self.history.get(channel, [])
                     if m["ts"] == ts or m.get("thread_ts") == ts]
        if not any(m["ts"] == ts for m in found):
            return slack_error("thread_not_found")
        if query.get("include_all_metadata") not in ("1", "true"):
            for m in found:
                m.pop("metadata", None)
        page = found[start:start + limit]
        more = start + limit < len(found)
        return ok(messages=page, has_more=more,
                  response_metadata={"next_cursor": str(start + limit) if more else ""})

    def history_calls(self) -> list[Recorded]:
        return self.calls("/api/conversations.history")

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    def response_url(self, n: int = 1) -> str:
        return f"{self.url}/response/{n}"

    def posts(self) -> list[dict[str, Any]]:
        return [r.json() for r in self.calls("/api/chat.postMessage")]

    def responses(self, n: int = 1) -> list[dict[str, Any]]:
        return [r.json() for r in self.calls(f"/response/{n}")]

    def ping_problems(self) -> list[str]:
        """Every message the bot sent that Slack would read as a mention or a link the renderer did not build:
        `<!channel>`, `<!here>`, `<#C…>`, a user mention outside the "→ <@U…>" line naming opted-in people, a link
        other than a paper's title, released code's (a code host's page labelled with its own address) or a follow-up's
        paper line's (its arXiv page, labelled the same way); or a
        mrkdwn text without `verbatim` (Slack then links bare URLs and turns `@here` into a mention by itself)."""
        with self._lock:
            sent = [r for r in self.requests if r.path in _SENDS or r.path.startswith("/response/")]
        problems = []
        for rec in sent:
            try:
                body = rec.json()
            except ValueError:
                continue
            for text, verbatim in _mrkdwn_texts(body if isinstance(body, dict) else {}):
                if not verbatim:
                    problems.append(f"{rec.path}: mrkdwn without verbatim: {text[:80]!r}")
                for line in text.split("\n"):
                    for n, tag in enumerate(re.findall(r"<([^<>]*)>", line)):
                        mention = line.startswith("→ ") and re.fullmatch(r"@[UW][A-Z0-9]+", tag)
                        title = n == 0 and re.match(r"\*\d+\. <", line) and re.fullmatch(r"https?://[^|\s]+\|.*", tag)
                        code = _CODE_LINK.fullmatch(tag)
                        if not (mention or title or (code and code.group(1) == code.group(2))):
                            problems.append(f"{rec.path}: <{tag[:60]}> in {line[:80]!r}")
        return problems

    def __exit__(self, *exc: object) -> None:
        """Whatever a test checks, nothing the bot sent during it may ping anyone or carry a link of its own."""
        super().__exit__(*exc)
        if exc[0] is None:
            problems = self.ping_problems()
            assert not problems, problems


_SENDS = ("/api/chat.postMessage", "/api/chat.postEphemeral", "/api/chat.update")
# A link to released code (https on a code host, a plain path) or a follow-up's link to a paper's arXiv page,
# labelled with its own address (no other label).
_CODE_LINK = re.compile(r"https://((?:github\.com|gitlab\.com|huggingface\.co|bitbucket\.org|codeberg\.org)"
                        r"(?:/[A-Za-z0-9_][A-Za-z0-9_.\-]*)+"
                        r"|arxiv\.org/abs/(?:[0-9]{4}\.[0-9]{4,5}|[a-z][a-z\-]+(?:\.[A-Z]{2})?/[0-9]{7})(?:v[0-9]+)?)"
                        r"\|([^<>|]*)")


def _mrkdwn_texts(body: dict[str, Any]) -> list[tuple[str, bool]]:
    """The texts of a message payload Slack reads as mrkdwn, each with whether it is `verbatim` (the top-level
    `text` beside blocks, the notification's, counts as verbatim: notifications link nothing)."""
    found = [(str(body["text"]), bool(body.get("blocks")))] if isinstance(body.get("text"), str) else []
    for block in body.get("blocks") or []:
        parts = [block.get("text")] if block.get("type") == "section" else []
        parts += block.get("elements") or [] if block.get("type") == "context" else []
        found += [(str(p.get("text") or ""), bool(p.get("verbatim"))) for p in parts
                  if isinstance(p, dict) and p.get("type") == "mrkdwn"]
    return found


class FakeSocketMode:
    """Slack's Socket Mode endpoint on 127.0.0.1: a WebSocket that greets with `hello`, delivers envelopes the test
    pushes, records the client's acknowledgements, and can drop every connection or refuse new ones (an outage)."""

    def __init__(self) -> None:
        from aiohttp import web

        self.sockets: list[Any] = []
        self.acks: list[dict[str, Any]] = []
        self.connections = 0
        self.refusing = False
        self._web = web
        app = web.Application()
        app.router.add_get("/link", self._link)
        self._runner = web.AppRunner(app)
        self.url = ""

    async def __aenter__(self) -> FakeSocketMode:
        await self._runner.setup()
        site = self._web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"ws://127.0.0.1:{port}/link"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.drop()
        await self._runner.cleanup()

    async def _link(self, request: Any) -> Any:
        if self.refusing:
            return self._web.Response(status=503)
        ws = self._web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        self.sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"},
                            "debug_info": {"host": "fake"}})
        async for message in ws:
            if message.type == self._web.WSMsgType.TEXT:
                self.acks.append(json.loads(message.data))
        if ws in self.sockets:
            self.sockets.remove(ws)
        return ws

    async def drop(self) -> None:
        """Close every open connection from Slack's side (as on a network cut or a Slack refresh)."""
        for ws in list(self.sockets):
            await ws.close()
        self.sockets.clear()

    async def send(self, envelope: dict[str, Any]) -> None:
        for ws in self.sockets:
            await ws.send_json(envelope)


def signed(body: str, *, content_type: str, secret: str = SIGNING_SECRET, timestamp: int | None = None,
           extra: dict[str, str] | None = None) -> AsyncBoltRequest:
    ts = str(timestamp if timestamp is not None else int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    headers: dict[str, str] = {"content-type": content_type, "x-slack-request-timestamp": ts,
                               "x-slack-signature": str(signature), **(extra or {})}
    return AsyncBoltRequest(body=body, headers={k: [v] for k, v in headers.items()})


def command_request(command: str, text: str, response_url: str, *, channel: str = "C1", user: str = "U1",
                    **kw: Any) -> AsyncBoltRequest:
    body = urlencode({"token": "legacy", "team_id": TEAM, "team_domain": "paper", "channel_id": channel,
                      "channel_name": "general", "user_id": user, "user_name": "ada", "command": command,
                      "text": text, "api_app_id": "A1", "response_url": response_url, "trigger_id": "1.2.3"})
    return signed(body, content_type="application/x-www-form-urlencoded", **kw)


def event_request(event: dict[str, Any], *, event_id: str = "Ev1", retry: int | None = None,
                  **kw: Any) -> AsyncBoltRequest:
    body = json.dumps({"token": "legacy", "team_id": TEAM, "api_app_id": "A1", "event": event,
                       "type": "event_callback", "event_id": event_id, "event_time": int(time.time()),
                       "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}]})
    extra = {"x-slack-retry-num": str(retry), "x-slack-retry-reason": "http_timeout"} if retry else None
    return signed(body, content_type="application/json", extra=extra, **kw)


def action_request(action_id: str, value: str, *, message_ts: str, channel: str = "C1", user: str = "U1",
                   response_url: str = "", thread_ts: str | None = None,
                   action_ts: str = "1700000001.000000",
                   blocks: list[dict[str, Any]] | None = None, ephemeral: bool = False) -> AsyncBoltRequest:
    """A block_actions payload as Slack sends it; `blocks` is the clicked message's blocks (Slack includes
    them in `message`)."""
    message: dict[str, Any] = {"type": "message", "ts": message_ts, "user": BOT_USER, "text": "digest"}
    if blocks is not None:
        message["blocks"] = blocks
    if thread_ts:
        message["thread_ts"] = thread_ts
    payload = {"type": "block_actions", "team": {"id": TEAM, "domain": "paper"}, "user": {"id": user},
               "api_app_id": "A1", "token": "legacy", "trigger_id": "1.2.3", "response_url": response_url,
               "container": {"type": "message", "message_ts": message_ts, "channel_id": channel,
                             "is_ephemeral": ephemeral},
               "channel": {"id": channel, "name": "general"}, "message": message,
               "actions": [{"type": "button", "action_id": action_id, "block_id": "b1", "value": value,
                            "action_ts": action_ts, "text": {"type": "plain_text", "text": "Summarize"}}]}
    body = urlencode({"payload": json.dumps(payload)})
    return signed(body, content_type="application/x-www-form-urlencoded")


def form(rec: Recorded) -> dict[str, list[str]]:
    return parse_qs(rec.body.decode())


def arguments(rec: Recorded) -> dict[str, Any]:
    """A Web API call's arguments, wherever the client put them: Slack reads the query string, a form body or a
    JSON body alike."""
    found: dict[str, Any] = {k: v[0] for k, v in rec.query.items()}
    if rec.body.startswith(b"{"):
        found.update(rec.json() or {})
    elif rec.body:
        found.update({k: v[0] for k, v in form(rec).items()})
    return found
