"""A fake OpenAI-compatible server (chat completions and embeddings) on 127.0.0.1, built on `FakeServer`.

The code under test talks to it through the real `openai.AsyncOpenAI` client over real HTTP, so the SDK's
own parsing, status handling and timeouts are exercised. By default it answers every request with a plausible
reply for the kind asked (read from the system prompt) and honest token counts; tests queue one-off replies
(429 with Retry-After, 500, a hang, malformed JSON, hostile text) or switch the default behaviour.

Embeddings are deterministic bags of words hashed into 64 dimensions, so texts sharing words are similar;
`same_meaning` teaches it synonyms, so a test can make a paper close to a topic without sharing its words.
"""

from __future__ import annotations

import base64
import json
import math
import re
import struct
import threading
import zlib
from collections.abc import Callable
from typing import Any

from tests.fakes.http_server import FakeServer, Recorded, Reply

PATH = "/v1/chat/completions"
EMBEDDINGS_PATH = "/v1/embeddings"
DIMENSIONS = 64
_WORD_RE = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset("a an and are as at be by for from in into is it its of on or that the their this to we with "
                       "our via using new".split())


def completion(text: str | None, *, prompt_tokens: int = 50, completion_tokens: int = 20,
               model: str = "fake-model", finish_reason: str = "stop") -> Reply:
    """A chat completion; `finish_reason="length"` is a reply the server cut at `max_tokens`."""
    body = {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 1_700_000_000, "model": model,
        "choices": [{"index": 0, "finish_reason": finish_reason, "message": {"role": "assistant", "content": text}}],
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


def embedding_reply(vectors: list[list[float]], *, encoding_format: str = "float", model: str = "fake-embed",
                    tokens: int = 1) -> Reply:
    """The body of an embeddings response; base64 is what the SDK asks for unless told otherwise."""
    data = []
    for index, vector in enumerate(vectors):
        payload: Any = vector
        if encoding_format == "base64":
            payload = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": payload})
    body = {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
    return Reply(200, json.dumps(body).encode())


def bag_of_words(text: str, meanings: dict[str, str] | None = None) -> list[float]:
    """A unit vector: each content word (plural "s" dropped, synonyms folded) hashed into one of 64 slots."""
    vector = [0.0] * DIMENSIONS
    for word in _WORD_RE.findall(text.lower()):
        if len(word) > 3 and word.endswith("s"):
            word = word[:-1]
        if word in _STOPWORDS:
            continue
        word = (meanings or {}).get(word, word)
        vector[zlib.crc32(word.encode()) % DIMENSIONS] += 1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


def expansion(description: str, *terms: str) -> Reply:
    """A topic expansion as the semantic layer asks for it."""
    return completion(json.dumps({"description": description, "related_terms": list(terms)}))


def request_topic(rec: Recorded) -> str:
    user = rec.json()["messages"][-1]["content"]
    return user.removeprefix("Topic: ").strip()


def request_kind(rec: Recorded) -> str:
    system = rec.json()["messages"][0]["content"]
    if "related_terms" in system:
        return "expansion"
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
    """Scripted replies first (in order), then the default behaviour for every further request.

    Chat completions and embeddings have separate scripts and defaults (`script`/`always` for chat,
    `script_embeddings`/`always_embeddings` for embeddings). Topic expansions answer from `expansions`
    (topic → related terms), or with no related terms for a topic it was not told about."""

    def __init__(self) -> None:
        self.server = FakeServer()
        # Poll for shutdown every 20 ms instead of 500 ms: tests start and stop many of these servers.
        self.server.thread = threading.Thread(target=self.server.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                              daemon=True)
        self._lock = threading.Lock()
        self._script: list[Reply | Callable[[Recorded], Reply]] = []
        self._embedding_script: list[Reply | Callable[[Recorded], Reply]] = []
        self.default: Callable[[Recorded], Reply] = self._default_chat
        self.embeddings_default: Callable[[Recorded], Reply] = self._default_embeddings
        self.expansions: dict[str, list[str]] = {}
        self.meanings: dict[str, str] = {}
        self.server.route("POST", PATH, self._handle)
        self.server.route("POST", EMBEDDINGS_PATH, self._handle_embeddings)

    def _default_chat(self, rec: Recorded) -> Reply:
        if request_kind(rec) != "expansion":
            return default_reply(rec)
        topic = request_topic(rec)
        return expansion(f"Research on {topic}.", *self.expansions.get(topic.lower(), []))

    def _default_embeddings(self, rec: Recorded) -> Reply:
        body = rec.json()
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        return embedding_reply([bag_of_words(t, self.meanings) for t in texts],
                               encoding_format=body.get("encoding_format") or "float", model=body.get("model", ""),
                               tokens=sum(len(t.split()) for t in texts))

    def same_meaning(self, *words: str) -> None:
        """Embed these words as one (the first): texts using any of them come out similar."""
        for word in words:
            self.meanings[word.lower()] = words[0].lower()

    def script_embeddings(self, *replies: Reply | Callable[[Recorded], Reply]) -> None:
        with self._lock:
            self._embedding_script.extend(replies)

    def always_embeddings(self, reply: Reply | Callable[[Recorded], Reply]) -> None:
        self.embeddings_default = reply if callable(reply) else (lambda _rec: reply)

    def _handle_embeddings(self, rec: Recorded) -> Reply:
        with self._lock:
            next_reply = self._embedding_script.pop(0) if self._embedding_script else self.embeddings_default
        return next_reply(rec) if callable(next_reply) else next_reply

    @property
    def embedding_calls(self) -> list[Recorded]:
        return self.server.calls(EMBEDDINGS_PATH)

    def embedded_texts(self) -> list[str]:
        """Every text sent for embedding, in order, over all calls."""
        texts: list[str] = []
        for rec in self.embedding_calls:
            given = rec.json()["input"]
            texts.extend(given if isinstance(given, list) else [given])
        return texts

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
