"""A fake OpenAI-compatible chat-completions server on 127.0.0.1, built on `FakeServer`.

The code under test talks to it through the real `openai.AsyncOpenAI` client over real HTTP, so the SDK's
own parsing, status handling and timeouts are exercised. By default it answers every request with a plausible
reply for the kind asked (read from the system prompt) and honest token counts; tests queue one-off replies
(429 with Retry-After, 500, a hang, malformed JSON, hostile text) or switch the default behaviour.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from tests.fakes.http_server import FakeServer, Recorded, Reply

PATH = "/v1/chat/completions"


def completion(text: str | None, *, prompt_tokens: int = 50, completion_tokens: int = 20,
               model: str = "fake-model") -> Reply:
    body = {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 1_700_000_000, "model": model,
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }
    return Reply(200, json.dumps(body).encode())


def rate_limited(retry_after: str | None = "7") -> Reply:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    body = {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}
    return Reply(429, json.dumps(body).encode(), headers)


def server_error(status: int = 500) -> Reply:
    return Reply(status, json.dumps({"error": {"message": "The server had an error", "type": "server_error"}}).encode())


def hanging(seconds: float = 30.0) -> Reply:
    return Reply(200, completion("too late").body, delay=seconds)


def malformed() -> Reply:
    return Reply(200, b'{"id": "chatcmpl-fake", "choices": [{"message": {"content": "unterminated')


def request_kind(rec: Recorded) -> str:
    system = rec.json()["messages"][0]["content"]
    if "3 or 4 bullets" in system:
        return "summary"
    if "question" in system and "Answer the reader's question" in system:
        return "answer"
    return "tldr"


def request_title(rec: Recorded) -> str:
    user = rec.json()["messages"][-1]["content"]
    for line in user.splitlines():
        if line.startswith("Title: "):
            return line[len("Title: "):]
    return "the paper"


def default_reply(rec: Recorded) -> Reply:
    """A well-formed answer of the kind asked, with token counts that depend on the request, like a real model."""
    kind = request_kind(rec)
    title = request_title(rec)
    if kind == "summary":
        text = (f"- Problem: what {title} addresses.\n- Method: a new technique.\n- Result: it beats baselines.\n"
                "- Why it matters: cheaper training.")
    elif kind == "answer":
        text = f"According to the abstract, {title} uses a new technique."
    else:
        text = f"{title} proposes a new technique that beats strong baselines."
    prompt_tokens = len(json.dumps(rec.json()["messages"]).split())
    return completion(text, prompt_tokens=prompt_tokens, completion_tokens=len(text.split()))


class FakeOpenAI:
    """Scripted replies first (in order), then the default behaviour for every further request."""

    def __init__(self) -> None:
        self.server = FakeServer()
        # Poll for shutdown every 20 ms instead of 500 ms: tests start and stop many of these servers.
        self.server.thread = threading.Thread(target=self.server.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                              daemon=True)
        self._lock = threading.Lock()
        self._script: list[Reply | Callable[[Recorded], Reply]] = []
        self.default: Callable[[Recorded], Reply] = default_reply
        self.server.route("POST", PATH, self._handle)

    @property
    def base_url(self) -> str:
        return f"{self.server.url}/v1"

    def script(self, *replies: Reply | Callable[[Recorded], Reply]) -> None:
        with self._lock:
            self._script.extend(replies)

    def always(self, reply: Reply | Callable[[Recorded], Reply]) -> None:
        self.default = reply if callable(reply) else (lambda _rec: reply)

    def _handle(self, rec: Recorded) -> Reply:
        with self._lock:
            next_reply = self._script.pop(0) if self._script else self.default
        return next_reply(rec) if callable(next_reply) else next_reply

    @property
    def calls(self) -> list[Recorded]:
        return self.server.calls(PATH)

    def header(self, index: int, name: str) -> str | None:
        """A header of the index-th call, whatever case the client sent it in."""
        headers = {k.lower(): v for k, v in self.calls[index].headers.items()}
        return headers.get(name.lower())

    def bodies(self) -> list[dict[str, Any]]:
        return [rec.json() for rec in self.calls]

    def __enter__(self) -> FakeOpenAI:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)
